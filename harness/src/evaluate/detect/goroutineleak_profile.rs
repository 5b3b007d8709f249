//! `goroutineleak-profile`: Go's own leak report. The `goroutineleak` profile lists the
//! goroutines the GC proved can never run again (blocked on a channel or lock no running
//! goroutine can reach). This detector fires once the profile reports at least
//! [`MIN_LEAKED`] goroutines, and blames the largest group's site.
//!
//! Where the profile is absent (a Go version without it, or a failed probe) it never fires:
//! it produces no alarm rather than guessing; a trace without it at all is not judged (NA).
//! Class by the site's package, as for `stack-growth`: package `context` → context, else
//! goroutine.

use super::{confidence_past, is_context_site, Alarm, Detector, DetectorSpec, Params, Watched};
use crate::sample::Sample;
use crate::scenario::LeakClass;

/// Goroutines reported. One is enough: the profile reports only goroutines proven stuck
/// forever, so it has no noise to filter.
pub const MIN_LEAKED: f64 = 1.0;

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "goroutineleak-profile",
    watches: Watched::GoroutineLeakProfile,
    threshold: "goroutines in the goroutineleak profile ≥ 1",
    window_s: None,
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(GoroutineLeakProfile::new(
        (MIN_LEAKED * p.threshold_scale).ceil().max(1.0),
    ))
}

pub struct GoroutineLeakProfile {
    min_leaked: f64,
}

impl GoroutineLeakProfile {
    pub fn new(min_leaked: f64) -> Self {
        GoroutineLeakProfile { min_leaked }
    }
}

impl Detector for GoroutineLeakProfile {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let groups = s.goroutine_leak.as_ref()?;
        let total: f64 = groups.iter().map(|g| g.count as f64).sum();
        if total < self.min_leaked {
            return None;
        }
        // Largest group first; ties by site so the choice is deterministic.
        let top = groups
            .iter()
            .max_by(|a, b| a.count.cmp(&b.count).then_with(|| b.site.cmp(&a.site)))?;
        let class = if is_context_site(&top.site) {
            LeakClass::Context
        } else {
            LeakClass::Goroutine
        };
        Some(Alarm {
            t: s.t,
            class: Some(class),
            site: Some(top.site.clone()),
            // Proven leaks: certain once past the threshold.
            confidence: confidence_past(total + 1.0, self.min_leaked).max(0.5),
            detail: format!(
                "goroutineleak profile: {total} leaked goroutines (≥ {}); top group {} [{}] × {}",
                self.min_leaked, top.site, top.wait, top.count
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::StackGroup;

    fn leak_samples(from_s: f64, absent: bool) -> Vec<Sample> {
        (0..N)
            .map(|i| {
                let t = i as f64 * DT;
                let n = if t >= from_s {
                    ((t - from_s) * 10.0) as u64 + 1
                } else {
                    0
                };
                let mut groups = vec![];
                if n > 0 {
                    groups.push(StackGroup {
                        count: n,
                        wait: "chan send".into(),
                        site: "main.sendResult".into(),
                        frames: vec![],
                    });
                }
                if t >= from_s + 1.0 {
                    groups.push(StackGroup {
                        count: 1,
                        wait: "chan receive".into(),
                        site: "main.other".into(),
                        frames: vec![],
                    });
                }
                Sample {
                    t,
                    goroutine_leak: (!absent).then_some(groups),
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn fires_at_the_first_report_and_names_the_top_site() {
        let a = assert_detects(
            "leak",
            run(make(&Params::default()), &leak_samples(CHANGE_S, false)),
            CHANGE_S,
            DT,
        );
        assert_eq!(a.site.as_deref(), Some("main.sendResult"));
        assert_eq!(a.class, Some(LeakClass::Goroutine));
    }

    #[test]
    fn never_fires_where_the_profile_is_absent_or_empty() {
        assert_silent(
            "absent",
            run(make(&Params::default()), &leak_samples(CHANGE_S, true)),
        );
        assert_silent(
            "empty",
            run(make(&Params::default()), &leak_samples(1e9, false)),
        );
    }

    #[test]
    fn threshold_scale_raises_the_count_needed() {
        // 20 needed: the leak adds 10/s, so about 2 s after onset.
        let a = run(
            make(&Params {
                threshold_scale: 20.0,
            }),
            &leak_samples(CHANGE_S, false),
        )
        .unwrap();
        assert!(a.t > CHANGE_S + 1.0 && a.t <= CHANGE_S + 2.0, "{}", a.t);
    }
}
