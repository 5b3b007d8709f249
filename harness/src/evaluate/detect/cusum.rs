//! `cusum-goroutines`, `cusum-heap`: Page's one-sided CUSUM on a metric's increments
//! (goroutine count per sample; post-GC live heap per GC cycle).
//!
//! The pre-change mean `μ0` and scale `σ0` of the increments are estimated from the
//! detector's first [`CALIBRATION_INCREMENTS`] increments after warm-up: `μ0` their mean (the
//! median of integer increments such as goroutine counts is quantized to whole units and
//! biases the chart), `σ0` the larger of their standard deviation and 1.4826·MAD, floored so a
//! perfectly flat series does not divide by zero. Estimating from few increments makes the
//! real in-control run length shorter than the nominal ARL₀ (a known effect of estimated
//! parameters); erring on the larger `σ0` keeps false alarms rare. Then, per increment `x`,
//! `S ← max(0, S + clip((x − μ0)/σ0, ±CLIP) − K)`, alarm when `S > h`.
//! `h` is set from a target in-control average run length ARL₀ by Siegmund's approximation
//! for a standardized Gaussian CUSUM with reference `K`:
//! `ARL₀ ≈ (e^{2Kb} − 2Kb − 1)/(2K²)`, `b = h + 1.166`.
//! Clipping each standardized increment at `CLIP` makes a one-time step (a pool warming up)
//! add at most `CLIP − K` to `S`, less than `h`: only a sustained shift fires.
//!
//! Assumes the leak starts after calibration (onset ≥ warm-up + 11 samples at the scenario's
//! interval); a leak already under way during calibration is taken for the normal state.
//! Reports what its scalar shows growing (goroutines; the Go heap). No site.

use super::{Alarm, Detector, DetectorSpec, Extractor, Params, Watched};
use crate::sample::Sample;
use crate::stats;

/// Target in-control average run length, in increments: 10 000 samples (83 min at 0.5 s), so
/// a run of a few minutes false-alarms with probability of order 1 %.
pub const ARL0: f64 = 10_000.0;
/// Reference value in σ units: half the shift the chart is tuned for (1 σ per increment),
/// the classic choice.
pub const K: f64 = 0.5;
/// Standardized increments are clipped to ±2.5 σ (Huber-style), see the module doc.
pub const CLIP: f64 = 2.5;
/// Increments used to estimate `μ0`, `σ0`: 10 (5 s at 0.5 s): fewer make `σ0` too noisy
/// (with 6, about one flat series in ten false-alarmed), more would overlap leaks that start
/// soon after warm-up.
pub const CALIBRATION_INCREMENTS: usize = 10;
/// Floor on `σ0` for goroutine increments: one goroutine per sample.
pub const GOROUTINE_SIGMA_FLOOR: f64 = 1.0;
/// Floor on `σ0` for live-heap increments: 4 KiB per cycle.
pub const HEAP_SIGMA_FLOOR: f64 = 4.0 * 1024.0;

pub const GOROUTINES: DetectorSpec = DetectorSpec {
    name: "cusum-goroutines",
    watches: Watched::Goroutines,
    threshold:
        "CUSUM decision interval h on goroutine increments (h ≈ 7.35 σ for ARL₀ = 10000, K = 0.5)",
    window_s: None,
    make: make_goroutines,
};

pub const HEAP: DetectorSpec = DetectorSpec {
    name: "cusum-heap",
    watches: Watched::HeapLive,
    threshold: "CUSUM decision interval h on post-GC live-heap increments (h ≈ 7.35 σ for ARL₀ = 10000, K = 0.5)",
    window_s: None,
    make: make_heap,
};

fn make_goroutines(p: &Params) -> Box<dyn Detector> {
    Box::new(Cusum::new(
        &GOROUTINES,
        siegmund_h(ARL0, K) * p.threshold_scale,
        GOROUTINE_SIGMA_FLOOR,
    ))
}

fn make_heap(p: &Params) -> Box<dyn Detector> {
    Box::new(Cusum::new(
        &HEAP,
        siegmund_h(ARL0, K) * p.threshold_scale,
        HEAP_SIGMA_FLOOR,
    ))
}

/// Siegmund's approximation of the in-control ARL of a one-sided standardized Gaussian
/// CUSUM with reference `k` and decision interval `h`.
pub fn siegmund_arl0(h: f64, k: f64) -> f64 {
    let b = h + 1.166;
    ((2.0 * k * b).exp() - 2.0 * k * b - 1.0) / (2.0 * k * k)
}

/// The decision interval `h` whose Siegmund ARL₀ is `arl0` (bisection; ARL₀ increases in h).
pub fn siegmund_h(arl0: f64, k: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 200.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if siegmund_arl0(mid, k) < arl0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

pub struct Cusum {
    spec: &'static DetectorSpec,
    h: f64,
    sigma_floor: f64,
    read: Extractor,
    prev: Option<f64>,
    calibration: Vec<f64>,
    /// `(μ0, σ0)` once calibrated.
    baseline: Option<(f64, f64)>,
    s: f64,
}

impl Cusum {
    pub fn new(spec: &'static DetectorSpec, h: f64, sigma_floor: f64) -> Self {
        Cusum {
            spec,
            h,
            sigma_floor,
            read: spec.watches.extractor(),
            prev: None,
            calibration: Vec::new(),
            baseline: None,
            s: 0.0,
        }
    }
}

impl Detector for Cusum {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let v = self.read.next(s)?;
        let x = v - self.prev.replace(v)?;
        let Some((mu0, sigma0)) = self.baseline else {
            self.calibration.push(x);
            if self.calibration.len() >= CALIBRATION_INCREMENTS {
                let mu0 = stats::mean(&self.calibration)?;
                let sigma0 = (1.4826 * stats::mad(&self.calibration)?)
                    .max(stats::std_dev(&self.calibration)?)
                    .max(self.sigma_floor);
                self.baseline = Some((mu0, sigma0));
            }
            return None;
        };
        let z = ((x - mu0) / sigma0).clamp(-CLIP, CLIP);
        self.s = (self.s + z - K).max(0.0);
        (self.s > self.h).then(|| Alarm {
            t: s.t,
            grew: self.spec.watches.observable(),
            site: None,
            // How far past h, on the same 1 − h/S scale as the thresholds.
            confidence: (1.0 - self.h / self.s).clamp(0.0, 1.0),
            detail: format!(
                "{}: CUSUM S = {:.2} > h = {:.2} (μ0 = {mu0:.3}, σ0 = {sigma0:.3} per increment)",
                self.spec.watches, self.s, self.h
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

    #[test]
    fn siegmund_h_inverts_the_arl_and_matches_the_known_value() {
        let h = siegmund_h(ARL0, K);
        assert!((siegmund_arl0(h, K) - ARL0).abs() / ARL0 < 1e-9);
        // ARL₀ = 10⁴, k = 0.5: 2(e^b − b − 1) = 10⁴ → b ≈ 8.52, h ≈ 7.35.
        assert!((h - 7.35).abs() < 0.02, "h = {h}");
    }

    /// 5 goroutines per sample against σ0 = 1 clips at 2.5 σ: S grows by 2 a sample, so
    /// S > h ≈ 7.35 on the 4th increment after onset (2 s).
    #[test]
    fn goroutines_detect_a_leak_within_a_few_samples() {
        let s = goroutine_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 10.0,
            },
            30.0,
            0.3,
            1,
        ));
        let a = assert_detects(
            "ramp",
            run(make_goroutines(&Params::default()), &s),
            CHANGE_S,
            4.0 * DT + DT,
        );
        assert_eq!(a.grew, Some(Observable::Goroutines));
    }

    #[test]
    fn goroutines_silent_on_flat_noise_and_a_step() {
        for seed in 1..=5 {
            let s = goroutine_samples(&series(Shape::Flat, 30.0, 1.0, seed));
            assert_silent("flat", run(make_goroutines(&Params::default()), &s));
            let s = goroutine_samples(&series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 200.0,
                },
                30.0,
                0.3,
                seed,
            ));
            assert_silent("step", run(make_goroutines(&Params::default()), &s));
        }
    }

    /// Known weakness, kept visible: slow growth to a plateau is a sustained shift while it
    /// lasts, and CUSUM fires on it.
    #[test]
    fn goroutines_fire_on_sustained_growth_to_a_plateau() {
        let p = Shape::Plateau {
            from_s: CHANGE_S,
            per_s: 4.0,
            until_s: 60.0,
        };
        let s = goroutine_samples(&series(p, 30.0, 0.3, 3));
        assert!(run(make_goroutines(&Params::default()), &s).is_some());
    }

    #[test]
    fn heap_detects_a_leak_and_ignores_sawtooth_and_step() {
        let saw = Shape::Sawtooth {
            period_s: 3.0,
            amplitude: 16.0 * MIB,
        };
        // 64 KiB/s = 32 KiB per cycle against σ0 ≈ 16 KiB·√2 (increments of noise σ 16 KiB).
        let live = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 64.0 * KIB,
            },
            8.0 * MIB,
            16.0 * KIB,
            4,
        );
        assert_detects(
            "heap ramp",
            run(make_heap(&Params::default()), &heap_samples(&live, saw)),
            CHANGE_S,
            10.0,
        );
        for seed in 1..=5 {
            let flat = series(Shape::Flat, 8.0 * MIB, 16.0 * KIB, seed);
            assert_silent(
                "sawtooth",
                run(make_heap(&Params::default()), &heap_samples(&flat, saw)),
            );
            let step = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 4.0 * MIB,
                },
                8.0 * MIB,
                16.0 * KIB,
                seed,
            );
            assert_silent(
                "step",
                run(make_heap(&Params::default()), &heap_samples(&step, saw)),
            );
        }
    }
}
