//! `deriv-goroutines`, `deriv-heap`: the Prometheus alert rule
//! `deriv(metric[window]) > threshold`: the least-squares slope of the metric over a sliding
//! window, compared with a fixed rate.
//!
//! A practitioners' baseline, kept faithful: the heap variant watches the allocated heap
//! (`go_memstats_heap_alloc_bytes`, with its GC sawtooth), as dashboards do; least squares
//! follows every tooth and every step. Reports what its scalar shows growing (goroutines; the
//! Go heap). No site.

use super::{
    confidence_past, Alarm, Detector, DetectorSpec, Extractor, Params, TimeWindow, Watched,
};
use crate::sample::Sample;
use crate::stats;

/// Window, seconds: 20 points at the default 0.5 s interval, as many as `[5m]` holds at
/// Prometheus's default 15 s scrape interval.
pub const WINDOW_S: f64 = 10.0;
/// A slope is only evaluated once the window covers this fraction of its span, so the
/// first evaluations are not two-point slopes.
pub const MIN_COVERAGE: f64 = 0.5;
/// Goroutines per second: 60 a minute is a leak on any steady server.
pub const GOROUTINES_PER_S: f64 = 1.0;
/// Bytes per second: 1 MiB per minute of allocated-heap growth.
pub const HEAP_BYTES_PER_S: f64 = 16.0 * 1024.0;

pub const GOROUTINES: DetectorSpec = DetectorSpec {
    name: "deriv-goroutines",
    watches: Watched::Goroutines,
    threshold: "least-squares slope of goroutines over 10 s > 1 goroutine/s",
    window_s: Some(WINDOW_S),
    make: make_goroutines,
};

pub const HEAP: DetectorSpec = DetectorSpec {
    name: "deriv-heap",
    watches: Watched::HeapAlloc,
    threshold: "least-squares slope of the allocated heap over 10 s > 16 KiB/s",
    window_s: Some(WINDOW_S),
    make: make_heap,
};

fn make_goroutines(p: &Params) -> Box<dyn Detector> {
    Box::new(Deriv::new(
        &GOROUTINES,
        GOROUTINES_PER_S * p.threshold_scale,
    ))
}

fn make_heap(p: &Params) -> Box<dyn Detector> {
    Box::new(Deriv::new(&HEAP, HEAP_BYTES_PER_S * p.threshold_scale))
}

pub struct Deriv {
    spec: &'static DetectorSpec,
    threshold_per_s: f64,
    read: Extractor,
    window: TimeWindow,
}

impl Deriv {
    pub fn new(spec: &'static DetectorSpec, threshold_per_s: f64) -> Self {
        Deriv {
            spec,
            threshold_per_s,
            read: spec.watches.extractor(),
            window: TimeWindow::new(WINDOW_S),
        }
    }
}

impl Detector for Deriv {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let v = self.read.next(s)?;
        self.window.push(s.t, v);
        if self.window.covered_s() < MIN_COVERAGE * WINDOW_S {
            return None;
        }
        let slope = stats::least_squares(self.window.points())?.slope;
        (slope > self.threshold_per_s).then(|| Alarm {
            t: s.t,
            grew: self.spec.watches.observable(),
            site: None,
            confidence: confidence_past(slope, self.threshold_per_s),
            detail: format!(
                "deriv({}[{WINDOW_S}s]) = {slope:.3}/s > {:.3}/s",
                self.spec.watches, self.threshold_per_s
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::scenario::Observable;

    const MIB: f64 = 1024.0 * 1024.0;

    #[test]
    fn goroutines_fire_after_a_leak_starts() {
        // 5 goroutines/s over noise σ = 1: the window's slope passes 1/s within a few
        // seconds of the change (a ramp of 5/s needs only ~1/5 of the window to pass 1/s).
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 5.0,
            },
            20.0,
            1.0,
            1,
        ));
        let a = assert_detects(
            "ramp",
            run(make_goroutines(&Params::default()), &s),
            CHANGE_S,
            5.0,
        );
        assert_eq!(a.grew, Some(Observable::Goroutines));
    }

    #[test]
    fn goroutines_silent_on_flat_noise() {
        let s = goroutine_samples(&series(Shape::Flat, 20.0, 2.0, 2));
        assert_silent("flat", run(make_goroutines(&Params::default()), &s));
    }

    /// Known weaknesses of least squares over a window: a step up reads as a slope while it
    /// is in the window, and so does the growth phase of a plateau.
    #[test]
    fn goroutines_fire_on_a_step_and_on_slow_growth_to_a_plateau() {
        let s = goroutine_samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 30.0,
            },
            20.0,
            1.0,
            3,
        ));
        assert_detects(
            "step",
            run(make_goroutines(&Params::default()), &s),
            CHANGE_S,
            WINDOW_S,
        );
        let p = Shape::Plateau {
            from_s: CHANGE_S,
            per_s: 2.0,
            until_s: 60.0,
        };
        let s = goroutine_samples(&series(p, 20.0, 1.0, 3));
        assert_detects(
            "plateau",
            run(make_goroutines(&Params::default()), &s),
            CHANGE_S,
            WINDOW_S,
        );
    }

    #[test]
    fn heap_fires_on_a_leak_under_a_gentle_sawtooth() {
        // 100 KiB/s on a 20 MiB heap whose sawtooth (256 KiB per 2 s) is small.
        let live = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 100.0 * 1024.0,
            },
            20.0 * MIB,
            8.0 * 1024.0,
            4,
        );
        let s = heap_samples(
            &live,
            Shape::Sawtooth {
                period_s: 2.0,
                amplitude: 256.0 * 1024.0,
            },
        );
        let a = assert_detects(
            "heap ramp",
            run(make_heap(&Params::default()), &s),
            CHANGE_S,
            5.0,
        );
        assert_eq!(a.grew, Some(Observable::GoHeap));
    }

    #[test]
    fn heap_silent_on_flat_noise() {
        let s = heap_samples(
            &series(Shape::Flat, 20.0 * MIB, 4.0 * 1024.0, 5),
            Shape::Flat,
        );
        assert_silent("flat", run(make_heap(&Params::default()), &s));
    }

    /// Its known weakness: on the allocated heap, a GC sawtooth whose period is close to the
    /// window reads as a slope on every rising edge.
    #[test]
    fn heap_fires_on_a_gc_sawtooth_without_a_leak() {
        let live = series(Shape::Flat, 20.0 * MIB, 4.0 * 1024.0, 6);
        let s = heap_samples(
            &live,
            Shape::Sawtooth {
                period_s: 20.0,
                amplitude: 8.0 * MIB,
            },
        );
        assert!(run(make_heap(&Params::default()), &s).is_some());
    }
}
