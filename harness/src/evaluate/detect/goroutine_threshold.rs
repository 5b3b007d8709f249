//! `goroutine-threshold`: the practitioners' baseline, "alert when there are too many
//! goroutines". Fires when the goroutine count exceeds the count at the first sample after
//! warm-up by more than a margin, or exceeds an absolute cap.
//!
//! Known weakness, kept on purpose: any lasting rise past the margin fires, a pool that grows
//! under load as much as a leak. It sees goroutines grow and cannot name a site.
//! A program that already runs more goroutines than the absolute cap alarms on its first
//! sample, as a fixed alert threshold would in production.

use super::{confidence_past, Alarm, Detector, DetectorSpec, Params, Watched};
use crate::sample::Sample;

/// Goroutines above the post-warm-up baseline. 100 is a common rule-of-thumb margin: well
/// above the jitter of a server's handful of request goroutines, reached within 10 s by a
/// leak of 10 goroutines per second.
pub const MARGIN: f64 = 100.0;
/// Absolute cap, goroutines: the "more than 10k goroutines" alert many dashboards carry.
pub const ABSOLUTE: f64 = 10_000.0;

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "goroutine-threshold",
    watches: Watched::Goroutines,
    threshold:
        "goroutines above the first post-warm-up count (margin 100) and absolute cap (10000)",
    window_s: None,
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(GoroutineThreshold::new(
        MARGIN * p.threshold_scale,
        ABSOLUTE * p.threshold_scale,
    ))
}

pub struct GoroutineThreshold {
    margin: f64,
    absolute: f64,
    baseline: Option<f64>,
}

impl GoroutineThreshold {
    pub fn new(margin: f64, absolute: f64) -> Self {
        GoroutineThreshold {
            margin,
            absolute,
            baseline: None,
        }
    }
}

impl Detector for GoroutineThreshold {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let n = s.goroutine_count()?;
        let base = *self.baseline.get_or_insert(n);
        let limit = (base + self.margin).min(self.absolute);
        (n > limit).then(|| Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: None,
            confidence: confidence_past(n - base, limit - base),
            detail: format!(
                "{n} goroutines > limit {limit} (baseline {base} + {})",
                self.margin
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::scenario::Observable;

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn fires_once_a_leak_passes_the_margin() {
        // 10 goroutines/s from 30 s: the margin of 100 is passed 10 s after the change.
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 10.0,
            },
            20.0,
            1.0,
            1,
        ));
        let a = assert_detects("ramp", run(det(), &s), CHANGE_S, 11.0);
        assert_eq!(a.grew, Some(Observable::Goroutines));
    }

    #[test]
    fn silent_on_flat_noise_and_small_plateau() {
        assert_silent(
            "flat",
            run(
                det(),
                &goroutine_samples(&series(Shape::Flat, 20.0, 3.0, 2)),
            ),
        );
        let plateau = Shape::Plateau {
            from_s: 10.0,
            per_s: 1.0,
            until_s: 60.0,
        };
        assert_silent(
            "plateau of 50",
            run(det(), &goroutine_samples(&series(plateau, 20.0, 1.0, 3))),
        );
    }

    /// Its known weakness: a pool that steps up by more than the margin and stays is an alarm.
    #[test]
    fn fires_on_a_large_step() {
        let s = goroutine_samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 150.0,
            },
            20.0,
            1.0,
            4,
        ));
        assert_detects("step", run(det(), &s), CHANGE_S, DT);
        let s = goroutine_samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 50.0,
            },
            20.0,
            1.0,
            4,
        ));
        assert_silent("step below margin", run(det(), &s));
    }
}
