//! `stack-growth`: goroutine-profile stack groups that keep growing, the way production
//! goroutine-leak finders work: group goroutines by where they block (site, wait reason), and
//! alarm on a group whose count rises throughout a window ([`TrendRule`] on that group's
//! count). Reports the group's site.
//!
//! Reports goroutines grew, whatever the group (a context's watcher goroutine
//! `context.(*cancelCtx).propagateCancel.func2` is a goroutine too; the site tells the rest).

use super::window::Z_ALPHA_0_001;
use super::{confidence_from_p, Alarm, Detector, DetectorSpec, Params, Trend, TrendRule, Watched};
use crate::sample::Sample;
use std::collections::{BTreeMap, VecDeque};

/// 10 s windows (20 profiles at 0.5 s); a group must grow by at least 0.5 goroutines a
/// second (5 over the window) and 1 %/s of its size, so a large pool breathing by a few
/// goroutines does not count.
pub const RULE: TrendRule = TrendRule {
    window_s: 10.0,
    min_points: 10,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 0.5,
    min_rel_slope_per_s: 0.01,
};

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "stack-growth",
    watches: Watched::Goroutines,
    threshold: "Theil-Sen slope floor per stack group (site, wait): max(0.5/s, 1 %/s), with Mann-Kendall z ≥ 3.09 over 10 s",
    window_s: Some(RULE.window_s),
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(StackGrowth::new(RULE.scaled(p.threshold_scale)))
}

/// `(site, wait reason)`.
type Key = (String, String);

pub struct StackGrowth {
    rule: TrendRule,
    /// Times of the goroutine profiles in the window.
    times: VecDeque<f64>,
    /// Per group, its count at each of `times` (0 where the group was absent).
    counts: BTreeMap<Key, VecDeque<f64>>,
}

impl StackGrowth {
    pub fn new(rule: TrendRule) -> Self {
        StackGrowth {
            rule,
            times: VecDeque::new(),
            counts: BTreeMap::new(),
        }
    }

    fn push(&mut self, t: f64, now: BTreeMap<Key, f64>) {
        let before = self.times.len();
        self.times.push_back(t);
        // A group new in this profile had no goroutines at the earlier profiles.
        for k in now.keys() {
            self.counts
                .entry(k.clone())
                .or_insert_with(|| std::iter::repeat_n(0.0, before).collect());
        }
        for (k, series) in self.counts.iter_mut() {
            series.push_back(now.get(k).copied().unwrap_or(0.0));
        }
        let oldest = t - self.rule.window_s - 1e-9;
        while self.times.front().is_some_and(|&x| x < oldest) {
            self.times.pop_front();
            for series in self.counts.values_mut() {
                series.pop_front();
            }
        }
        self.counts.retain(|_, s| s.iter().any(|&c| c > 0.0));
    }
}

impl Detector for StackGrowth {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let groups = s.goroutines.as_ref()?;
        let mut now: BTreeMap<Key, f64> = BTreeMap::new();
        for g in groups {
            *now.entry((g.site.clone(), g.wait.clone())).or_insert(0.0) += g.count as f64;
        }
        self.push(s.t, now);
        let times: Vec<f64> = self.times.iter().copied().collect();
        let mut best: Option<(&Key, Trend)> = None;
        for (k, series) in &self.counts {
            let pts: Vec<(f64, f64)> = times.iter().copied().zip(series.iter().copied()).collect();
            if let Some(tr) = self.rule.test(&pts) {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| tr.slope_per_s > b.slope_per_s)
                {
                    best = Some((k, tr));
                }
            }
        }
        let ((site, wait), tr) = best?;
        Some(Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: Some(site.clone()),
            confidence: confidence_from_p(tr.p),
            detail: format!(
                "stack group {site} [{wait}] grows {:.2}/s (floor {:.2}/s, Mann-Kendall z = {:.2}), now {}",
                tr.slope_per_s,
                tr.floor_per_s,
                tr.z,
                self.counts[&(site.clone(), wait.clone())].back().copied().unwrap_or(0.0)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::StackGroup;
    use crate::scenario::Observable;

    fn group(site: &str, wait: &str, count: f64) -> StackGroup {
        StackGroup {
            count: count.round().max(0.0) as u64,
            wait: wait.into(),
            site: site.into(),
            frames: vec![site.into()],
        }
    }

    /// Profiles with a steady background (`main.worker` idling, `net/http` serving) plus the
    /// group under test, whose count follows `pts`.
    fn profiles(site: &str, wait: &str, pts: &[(f64, f64)], seed: u64) -> Vec<Sample> {
        let mut rng = Rng::new(seed);
        pts.iter()
            .map(|&(t, v)| {
                let mut g = vec![
                    group("main.worker", "chan receive", 4.0),
                    group(
                        "net/http.(*conn).serve",
                        "IO wait",
                        3.0 + (rng.uniform() * 3.0).floor(),
                    ),
                ];
                if v >= 0.5 {
                    g.push(group(site, wait, v));
                }
                Sample {
                    t,
                    goroutines: Some(g),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn reports_the_growing_group_site_and_that_goroutines_grew() {
        let pts = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 5.0,
            },
            0.0,
            0.0,
            1,
        );
        let a = assert_detects(
            "leak",
            run(det(), &profiles("main.sendResult", "chan send", &pts, 1)),
            CHANGE_S,
            RULE.window_s + 2.0,
        );
        assert_eq!(a.site.as_deref(), Some("main.sendResult"));
        assert_eq!(a.grew, Some(Observable::Goroutines));
        let watcher = "context.(*cancelCtx).propagateCancel.func2";
        let a = run(det(), &profiles(watcher, "select", &pts, 2)).unwrap();
        assert_eq!(
            (a.site.as_deref(), a.grew),
            (Some(watcher), Some(Observable::Goroutines))
        );
    }

    #[test]
    fn silent_on_noise_and_on_a_pool_that_steps_up() {
        for seed in 1..=5 {
            let noise = series(Shape::Flat, 10.0, 2.0, seed);
            assert_silent(
                "flat",
                run(det(), &profiles("main.pool", "chan receive", &noise, seed)),
            );
            let step = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 40.0,
                },
                10.0,
                0.5,
                seed,
            );
            assert_silent(
                "step",
                run(det(), &profiles("main.pool", "chan receive", &step, seed)),
            );
        }
    }

    #[test]
    fn silent_without_goroutine_profiles() {
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 5.0,
            },
            0.0,
            0.0,
            1,
        ));
        assert_silent("metrics only", run(det(), &s));
    }
}
