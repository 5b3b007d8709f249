//! `heap-site-growth`: per-allocation-site growth of in-use heap from the heap profile
//! ([`TrendRule`] on each site's `inuse_bytes`). Reports the fastest-growing site.
//!
//! The heap profile is truncated to its largest sites: a site missing from a profile is
//! *unknown* at that tick (it may have fallen below the cut), not zero, so each site's series
//! holds only the ticks where it was listed. The aggregated remainder (`(other)`) is no site.
//!
//! Reports the Go heap grew; the site tells where (a map, a context or a finalizer cycle all
//! grow it alike, and the profile's sites are summarized past runtime frames such as
//! `runtime.mapassign`).

use super::window::Z_ALPHA_0_001;
use super::{
    confidence_from_p, Alarm, Detector, DetectorSpec, Params, TimeWindow, Trend, TrendRule, Watched,
};
use crate::record::pprof::OTHER_SITE;
use crate::sample::Sample;
use std::collections::BTreeMap;

/// 20 s windows (the profile's in-use figures change only at GC cycles, so a site's series is
/// a staircase; a longer window holds more steps); the floor is 2 KiB/s and 1 %/s of the
/// site's in-use bytes, so a site that fluctuates at a stable size does not count.
pub const RULE: TrendRule = TrendRule {
    window_s: 20.0,
    min_points: 8,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 2.0 * 1024.0,
    min_rel_slope_per_s: 0.01,
};

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "heap-site-growth",
    watches: Watched::HeapProfile,
    threshold: "Theil-Sen slope floor per heap site: max(2 KiB/s, 1 %/s of its in-use bytes), with Mann-Kendall z ≥ 3.09 over 20 s",
    window_s: Some(RULE.window_s),
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(HeapSiteGrowth::new(RULE.scaled(p.threshold_scale)))
}

pub struct HeapSiteGrowth {
    rule: TrendRule,
    sites: BTreeMap<String, TimeWindow>,
}

impl HeapSiteGrowth {
    pub fn new(rule: TrendRule) -> Self {
        HeapSiteGrowth {
            rule,
            sites: BTreeMap::new(),
        }
    }
}

impl Detector for HeapSiteGrowth {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let heap = s.heap.as_ref()?;
        for h in heap.iter().filter(|h| h.site != OTHER_SITE) {
            self.sites
                .entry(h.site.clone())
                .or_insert_with(|| TimeWindow::new(self.rule.window_s))
                .push(s.t, h.inuse_bytes as f64);
        }
        // Forget sites not listed for a whole window.
        let oldest = s.t - self.rule.window_s;
        self.sites
            .retain(|_, w| w.points().last().is_some_and(|p| p.0 >= oldest));
        let mut best: Option<(&String, Trend)> = None;
        for (site, w) in self.sites.iter_mut() {
            if let Some(tr) = self.rule.test(w.points()) {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| tr.slope_per_s > b.slope_per_s)
                {
                    best = Some((site, tr));
                }
            }
        }
        let (site, tr) = best?;
        Some(Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: Some(site.clone()),
            confidence: confidence_from_p(tr.p),
            detail: format!(
                "heap site {site} grows {:.1} KiB/s (floor {:.1} KiB/s, Mann-Kendall z = {:.2}), median {:.1} KiB in use",
                tr.slope_per_s / 1024.0,
                tr.floor_per_s / 1024.0,
                tr.z,
                tr.level / 1024.0
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::HeapSite;
    use crate::scenario::Observable;

    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;

    /// Heap profiles: a churning background site (noisy, flat), the remainder, and the site
    /// under test following `pts` (absent while below 1 byte, as a profile would omit it).
    fn profiles(site: &str, pts: &[(f64, f64)], seed: u64) -> Vec<Sample> {
        let mut rng = Rng::new(seed);
        pts.iter()
            .map(|&(t, v)| {
                let mut h = vec![
                    HeapSite {
                        site: "main.handle".into(),
                        inuse_bytes: (2.0 * MIB + 256.0 * KIB * rng.normal()) as u64,
                        inuse_objects: 1000,
                    },
                    HeapSite {
                        site: OTHER_SITE.into(),
                        inuse_bytes: (1.0 * MIB + t * 10.0 * KIB) as u64,
                        inuse_objects: 10,
                    },
                ];
                if v >= 1.0 {
                    h.push(HeapSite {
                        site: site.into(),
                        inuse_bytes: v as u64,
                        inuse_objects: 1,
                    });
                }
                Sample {
                    t,
                    heap: Some(h),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn reports_the_growing_site_and_that_the_heap_grew() {
        let pts = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 10.0 * KIB,
            },
            0.0,
            0.0,
            1,
        );
        let a = assert_detects(
            "map leak",
            run(det(), &profiles("main.cacheResult", &pts, 1)),
            CHANGE_S,
            RULE.window_s,
        );
        assert_eq!(a.site.as_deref(), Some("main.cacheResult"));
        assert_eq!(a.grew, Some(Observable::GoHeap));
        let a = run(det(), &profiles("context.WithCancel", &pts, 2)).unwrap();
        assert_eq!(
            (a.site.as_deref(), a.grew),
            (Some("context.WithCancel"), Some(Observable::GoHeap))
        );
    }

    #[test]
    fn silent_on_stable_sites_a_filled_cache_and_the_remainder() {
        for seed in 1..=5 {
            let flat = series(Shape::Flat, 512.0 * KIB, 32.0 * KIB, seed);
            assert_silent("flat", run(det(), &profiles("main.cachePut", &flat, seed)));
            let step = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 4.0 * MIB,
                },
                512.0 * KIB,
                8.0 * KIB,
                seed,
            );
            assert_silent("step", run(det(), &profiles("main.cachePut", &step, seed)));
        }
    }

    /// Known limit: a cache filling to its bound for longer than a window is growth at a
    /// site while it fills, indistinguishable from a leak (the bounded-cache hard negative).
    #[test]
    fn a_cache_filling_for_longer_than_a_window_fires_while_it_fills() {
        let p = Shape::Plateau {
            from_s: CHANGE_S,
            per_s: 10.0 * KIB,
            until_s: 60.0,
        };
        let a = run(
            det(),
            &profiles("main.cachePut", &series(p, 0.0, 0.0, 3), 3),
        )
        .unwrap();
        assert!(a.t > CHANGE_S && a.t <= 60.0, "{}", a.t);
    }
}
