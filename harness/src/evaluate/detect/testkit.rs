//! Test-only helpers for detector tests: a seeded xorshift generator (no `rand` crate, so
//! series are identical on every machine), synthetic series shapes and sample builders.

use super::{Alarm, Detector};
use crate::sample::{metric, Sample};
use std::collections::BTreeMap;

/// Sampling interval of every synthetic series, seconds (the scenarios' default).
pub const DT: f64 = 0.5;
/// Samples per synthetic series: 90 s.
pub const N: usize = 180;
/// When the synthetic change happens, seconds.
pub const CHANGE_S: f64 = 30.0;

/// xorshift64* (Vigna 2016): tiny, seeded, good enough for test noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `(0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The shape of a synthetic series, on top of a base level, before noise.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Flat,
    /// Linear growth at `per_s` units per second from `from_s` on: a leak.
    Ramp {
        from_s: f64,
        per_s: f64,
    },
    /// A one-time jump of `height` at `at_s`, flat after: a pool warming up.
    Step {
        at_s: f64,
        height: f64,
    },
    /// Growth at `per_s` from `from_s` until `until_s`, flat after: slow growth to a plateau.
    Plateau {
        from_s: f64,
        per_s: f64,
        until_s: f64,
    },
    /// A sawtooth rising `amplitude` over each `period_s`, then dropping: the GC cycle.
    Sawtooth {
        period_s: f64,
        amplitude: f64,
    },
}

impl Shape {
    pub fn at(self, t: f64) -> f64 {
        match self {
            Shape::Flat => 0.0,
            Shape::Ramp { from_s, per_s } => (t - from_s).max(0.0) * per_s,
            Shape::Step { at_s, height } => {
                if t >= at_s {
                    height
                } else {
                    0.0
                }
            }
            Shape::Plateau {
                from_s,
                per_s,
                until_s,
            } => (t.min(until_s) - from_s).max(0.0) * per_s,
            Shape::Sawtooth {
                period_s,
                amplitude,
            } => (t % period_s) / period_s * amplitude,
        }
    }
}

/// `N` points `(t, level + shape(t) + noise)` at `DT` spacing, noise Gaussian with `noise_sd`.
pub fn series(shape: Shape, level: f64, noise_sd: f64, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = Rng::new(seed);
    (0..N)
        .map(|i| {
            let t = i as f64 * DT;
            (t, level + shape.at(t) + noise_sd * rng.normal())
        })
        .collect()
}

/// A sample carrying the given runtime/metrics values.
pub fn with_metrics(t: f64, kv: &[(&str, f64)]) -> Sample {
    let m: BTreeMap<String, f64> = kv.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    Sample {
        t,
        metrics: Some(m),
        ..Default::default()
    }
}

/// Goroutine-count samples (rounded to whole goroutines).
pub fn goroutine_samples(pts: &[(f64, f64)]) -> Vec<Sample> {
    pts.iter()
        .map(|&(t, v)| with_metrics(t, &[(metric::GOROUTINES, v.round().max(0.0))]))
        .collect()
}

/// Heap samples where every sample sees a new GC cycle, `live` the post-GC live heap and the
/// allocated heap `live + sawtooth`.
pub fn heap_samples(live: &[(f64, f64)], sawtooth: Shape) -> Vec<Sample> {
    live.iter()
        .enumerate()
        .map(|(i, &(t, v))| {
            with_metrics(
                t,
                &[
                    (metric::HEAP_LIVE, v),
                    (metric::HEAP_OBJECTS_BYTES, v + sawtooth.at(t)),
                    (metric::GC_CYCLES, i as f64),
                ],
            )
        })
        .collect()
}

/// The detector's first alarm over every sample (no warm-up). The synthetic series' times
/// strictly increase, so this is what a [`super::Feeder`] with no warm-up would return; it
/// takes the detector itself so tests can try parameters no registry entry has.
pub fn run(mut det: Box<dyn Detector>, samples: &[Sample]) -> Option<Alarm> {
    samples.iter().find_map(|s| det.observe(s))
}

/// Asserts an alarm at or after `change_s` and no later than `change_s + max_latency_s`.
pub fn assert_detects(
    what: &str,
    alarm: Option<Alarm>,
    change_s: f64,
    max_latency_s: f64,
) -> Alarm {
    let a = alarm.unwrap_or_else(|| panic!("{what}: no alarm"));
    assert!(
        a.t >= change_s && a.t <= change_s + max_latency_s,
        "{what}: alarm at {} s, want within [{change_s}, {}] ({})",
        a.t,
        change_s + max_latency_s,
        a.detail
    );
    assert!(
        (0.0..=1.0).contains(&a.confidence),
        "{what}: confidence {}",
        a.confidence
    );
    a
}

/// Asserts no alarm.
pub fn assert_silent(what: &str, alarm: Option<Alarm>) {
    if let Some(a) = alarm {
        panic!("{what}: unexpected alarm at {} s: {}", a.t, a.detail);
    }
}
