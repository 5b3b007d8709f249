//! `finalizer-backlog`: finalizers and cleanups queued but not yet run
//! ([`Sample::finalizer_backlog`](crate::sample::Sample::finalizer_backlog): queued minus executed totals). All finalizers run on one
//! goroutine; when they are slower than the rate objects die, the backlog grows and every
//! queued object stays in memory. Fires when the backlog keeps growing ([`TrendRule`]) or
//! stays above [`MAX_BACKLOG`] for two samples in a row. Reports the finalizer queue grew; no
//! site (the metrics do not name the finalizer).
//!
//! A finalizer that can never run (an object in a cycle with itself) never enters the queue:
//! that leak shows only as heap growth, not here.

use super::window::Z_ALPHA_0_001;
use super::{
    confidence_from_p, confidence_past, Alarm, Detector, DetectorSpec, Params, TimeWindow,
    TrendRule, Watched,
};
use crate::sample::Sample;

/// 10 s windows; at least 5 objects per second more queued than run, and 1 %/s of the
/// backlog: a healthy queue drains within a GC cycle, so its level hovers near zero.
pub const RULE: TrendRule = TrendRule {
    window_s: 10.0,
    min_points: 10,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 5.0,
    min_rel_slope_per_s: 0.01,
};

/// Objects: a backlog of a thousand finalizers is seconds of work for a fast finalizer
/// queue; one that stays there is not draining.
pub const MAX_BACKLOG: f64 = 1000.0;

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "finalizer-backlog",
    watches: Watched::FinalizerBacklog,
    threshold: "finalizer+cleanup backlog: Theil-Sen slope floor max(5/s, 1 %/s) with Mann-Kendall z ≥ 3.09 over 10 s, or ≥ 1000 objects twice in a row",
    window_s: Some(RULE.window_s),
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(FinalizerBacklog::new(
        RULE.scaled(p.threshold_scale),
        MAX_BACKLOG * p.threshold_scale,
    ))
}

pub struct FinalizerBacklog {
    rule: TrendRule,
    max_backlog: f64,
    window: TimeWindow,
    above: u32,
}

impl FinalizerBacklog {
    pub fn new(rule: TrendRule, max_backlog: f64) -> Self {
        FinalizerBacklog {
            rule,
            max_backlog,
            window: TimeWindow::new(rule.window_s),
            above: 0,
        }
    }
}

impl Detector for FinalizerBacklog {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let q = s.finalizer_backlog()?;
        self.window.push(s.t, q);
        self.above = if q >= self.max_backlog {
            self.above + 1
        } else {
            0
        };
        let alarm = |confidence, detail| Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: None,
            confidence,
            detail,
        };
        if let Some(tr) = self.rule.test(self.window.points()) {
            return Some(alarm(
                confidence_from_p(tr.p),
                format!(
                    "finalizer backlog grows {:.1}/s (floor {:.1}/s, Mann-Kendall z = {:.2}), now {q}",
                    tr.slope_per_s, tr.floor_per_s, tr.z
                ),
            ));
        }
        (self.above >= 2).then(|| {
            alarm(
                confidence_past(q, self.max_backlog),
                format!(
                    "finalizer backlog {q} ≥ {} for {} samples",
                    self.max_backlog, self.above
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::metric;
    use crate::sample::metric::{CLEANUPS_EXECUTED, FINALIZERS_EXECUTED};
    use crate::scenario::Observable;

    /// Samples whose finalizer backlog follows `pts`; finalizers are queued at 200/s and run
    /// at 200/s minus the backlog's growth; cleanups run as fast as they are queued.
    fn samples(pts: &[(f64, f64)]) -> Vec<Sample> {
        pts.iter()
            .map(|&(t, backlog)| {
                let queued = 200.0 * t + backlog.round().max(0.0);
                with_metrics(
                    t,
                    &[
                        (metric::FINALIZERS_QUEUED, queued),
                        (FINALIZERS_EXECUTED, 200.0 * t),
                        (metric::CLEANUPS_QUEUED, 50.0 * t),
                        (CLEANUPS_EXECUTED, 50.0 * t),
                    ],
                )
            })
            .collect()
    }

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn detects_a_growing_backlog() {
        let s = samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 30.0,
            },
            5.0,
            3.0,
            1,
        ));
        let a = assert_detects(
            "slow finalizer",
            run(det(), &s),
            CHANGE_S,
            RULE.window_s + 2.0,
        );
        assert_eq!(a.grew, Some(Observable::FinalizerQueue));
    }

    #[test]
    fn silent_on_a_healthy_queue_and_a_one_time_burst_below_the_cap() {
        for seed in 1..=5 {
            assert_silent(
                "flat",
                run(det(), &samples(&series(Shape::Flat, 5.0, 3.0, seed))),
            );
            let burst = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 500.0,
                },
                5.0,
                3.0,
                seed,
            );
            assert_silent("step", run(det(), &samples(&burst)));
        }
    }

    /// A backlog that jumps past the cap and stays is an alarm even without a trend.
    #[test]
    fn fires_on_a_backlog_stuck_above_the_cap() {
        let s = samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 5000.0,
            },
            5.0,
            3.0,
            2,
        ));
        assert_detects("stuck", run(det(), &s), CHANGE_S, 2.0 * DT);
    }
}
