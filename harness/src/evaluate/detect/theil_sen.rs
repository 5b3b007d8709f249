//! `theil-sen-goroutines`, `theil-sen-heap`: a robust trend test on one scalar, the
//! [`TrendRule`] (Mann-Kendall significance with tie correction, a Theil-Sen slope floor,
//! growth in both halves of the window).
//!
//! The heap variant watches the post-GC live heap ([`Watched::HeapLive`]: one value per GC
//! cycle), so the allocation sawtooth never enters the series. Reports what its scalar shows
//! growing (goroutines; the Go heap, which a map, a context or a finalizer cycle all grow
//! alike). No site.

use super::window::Z_ALPHA_0_001;
use super::{
    confidence_from_p, Alarm, Detector, DetectorSpec, Extractor, Params, TimeWindow, TrendRule,
    Watched,
};
use crate::sample::Sample;

/// Goroutines: 10 s windows (20 points at 0.5 s); a leak must add at least 0.5 goroutines
/// per second (30 a minute) and 1 % of the current count per second, so a server drifting
/// by a goroutine now and then does not count however significant the drift.
pub const GOROUTINE_RULE: TrendRule = TrendRule {
    window_s: 10.0,
    min_points: 10,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 0.5,
    min_rel_slope_per_s: 0.01,
};

/// Live heap: 20 s windows, because GC cycles may be rarer than samples and each cycle gives
/// one point; the slope floor is 2 KiB/s (a leak of two 1 KiB entries a second) and 0.1 % of
/// the live heap per second (7 % growth a minute).
pub const HEAP_RULE: TrendRule = TrendRule {
    window_s: 20.0,
    min_points: 8,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 2.0 * 1024.0,
    min_rel_slope_per_s: 0.001,
};

pub const GOROUTINES: DetectorSpec = DetectorSpec {
    name: "theil-sen-goroutines",
    watches: Watched::Goroutines,
    threshold: "Theil-Sen slope floor on goroutines: max(0.5/s, 1 %/s of level), with Mann-Kendall z ≥ 3.09 over 10 s",
    window_s: Some(GOROUTINE_RULE.window_s),
    make: make_goroutines,
};

pub const HEAP: DetectorSpec = DetectorSpec {
    name: "theil-sen-heap",
    watches: Watched::HeapLive,
    threshold: "Theil-Sen slope floor on post-GC live heap: max(2 KiB/s, 0.1 %/s of level), with Mann-Kendall z ≥ 3.09 over 20 s",
    window_s: Some(HEAP_RULE.window_s),
    make: make_heap,
};

fn make_goroutines(p: &Params) -> Box<dyn Detector> {
    Box::new(TheilSen::new(
        &GOROUTINES,
        GOROUTINE_RULE.scaled(p.threshold_scale),
    ))
}

fn make_heap(p: &Params) -> Box<dyn Detector> {
    Box::new(TheilSen::new(&HEAP, HEAP_RULE.scaled(p.threshold_scale)))
}

pub struct TheilSen {
    spec: &'static DetectorSpec,
    rule: TrendRule,
    read: Extractor,
    window: TimeWindow,
}

impl TheilSen {
    pub fn new(spec: &'static DetectorSpec, rule: TrendRule) -> Self {
        TheilSen {
            spec,
            rule,
            read: spec.watches.extractor(),
            window: TimeWindow::new(rule.window_s),
        }
    }
}

impl Detector for TheilSen {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let v = self.read.next(s)?;
        self.window.push(s.t, v);
        let tr = self.rule.test(self.window.points())?;
        Some(Alarm {
            t: s.t,
            grew: self.spec.watches.observable(),
            site: None,
            confidence: confidence_from_p(tr.p),
            detail: format!(
                "{}: Theil-Sen slope {:.3}/s ≥ floor {:.3}/s, Mann-Kendall z = {:.2} (p = {:.2e}) over {} points",
                self.spec.watches,
                tr.slope_per_s,
                tr.floor_per_s,
                tr.z,
                tr.p,
                self.window.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::scenario::Observable;

    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;

    fn g() -> Box<dyn Detector> {
        make_goroutines(&Params::default())
    }
    fn h() -> Box<dyn Detector> {
        make_heap(&Params::default())
    }

    /// A leak fills half a window before both halves slope upward: latency ≤ the window
    /// plus a few samples.
    #[test]
    fn goroutines_detect_a_leak_within_a_window() {
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 5.0,
            },
            30.0,
            2.0,
            1,
        ));
        let a = assert_detects(
            "ramp",
            run(g(), &s),
            CHANGE_S,
            GOROUTINE_RULE.window_s + 2.0,
        );
        assert_eq!(a.grew, Some(Observable::Goroutines));
        assert!(a.confidence > 0.99);
    }

    #[test]
    fn goroutines_silent_on_flat_noise_step_and_drift() {
        for seed in 1..=5 {
            let s = goroutine_samples(&series(Shape::Flat, 30.0, 2.0, seed));
            assert_silent("flat", run(g(), &s));
            let s = goroutine_samples(&series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 40.0,
                },
                30.0,
                1.0,
                seed,
            ));
            assert_silent("step", run(g(), &s));
        }
        // A significant but tiny drift (0.05 goroutines/s) stays under the slope floor.
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: 0.0,
                per_s: 0.05,
            },
            30.0,
            0.3,
            9,
        ));
        assert_silent("drift", run(g(), &s));
    }

    #[test]
    fn heap_detects_a_leak_and_ignores_the_sawtooth() {
        let saw = Shape::Sawtooth {
            period_s: 3.0,
            amplitude: 16.0 * MIB,
        };
        let live = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 40.0 * KIB,
            },
            8.0 * MIB,
            16.0 * KIB,
            2,
        );
        let a = assert_detects(
            "heap ramp",
            run(h(), &heap_samples(&live, saw)),
            CHANGE_S,
            HEAP_RULE.window_s + 2.0,
        );
        assert_eq!(a.grew, Some(Observable::GoHeap), "the live heap grew");
        for seed in 1..=5 {
            let flat = series(Shape::Flat, 8.0 * MIB, 16.0 * KIB, seed);
            assert_silent("sawtooth", run(h(), &heap_samples(&flat, saw)));
            let step = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 4.0 * MIB,
                },
                8.0 * MIB,
                16.0 * KIB,
                seed,
            );
            assert_silent("heap step", run(h(), &heap_samples(&step, saw)));
        }
    }

    #[test]
    fn heap_uses_only_values_from_new_gc_cycles() {
        // A live-heap value that changes while the GC cycle counter stands still is not a
        // new measurement: the detector keeps only the first, so it never has enough points.
        let s: Vec<Sample> = (0..N)
            .map(|i| {
                let t = i as f64 * DT;
                with_metrics(
                    t,
                    &[
                        (
                            crate::sample::metric::HEAP_LIVE,
                            8.0 * MIB + t * 100.0 * KIB,
                        ),
                        (crate::sample::metric::GC_CYCLES, 7.0),
                    ],
                )
            })
            .collect();
        assert_silent("one GC cycle", run(h(), &s));
    }
}
