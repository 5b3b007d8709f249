//! Building blocks several detectors share: a sliding time window of points, the robust
//! trend rule (Mann-Kendall + Theil-Sen + persistence), and the post-GC live-heap filter.
//!
//! Owns these three mechanisms only; thresholds belong to the detectors that use them.

use crate::sample::{metric, Sample};
use crate::stats;
use std::collections::VecDeque;

/// The `(t, value)` points of the last `span_s` seconds (inclusive of the edge).
#[derive(Debug, Clone)]
pub struct TimeWindow {
    span_s: f64,
    pts: VecDeque<(f64, f64)>,
}

impl TimeWindow {
    pub fn new(span_s: f64) -> Self {
        TimeWindow {
            span_s,
            pts: VecDeque::new(),
        }
    }

    /// Adds a point (times must increase) and drops the points older than the span.
    pub fn push(&mut self, t: f64, v: f64) {
        self.pts.push_back((t, v));
        // A small slack so a window of exactly `span_s` keeps its edge sample despite rounding.
        let oldest = t - self.span_s - 1e-9;
        while self.pts.front().is_some_and(|p| p.0 < oldest) {
            self.pts.pop_front();
        }
    }

    pub fn points(&mut self) -> &[(f64, f64)] {
        self.pts.make_contiguous()
    }

    pub fn len(&self) -> usize {
        self.pts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pts.is_empty()
    }

    /// Seconds between the oldest and the newest point.
    pub fn covered_s(&self) -> f64 {
        match (self.pts.front(), self.pts.back()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0.0,
        }
    }

    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.pts.iter().map(|p| p.1)
    }
}

/// The robust trend rule: a window's points show a leak-like trend when
/// 1. Mann-Kendall says the series increases (`z ≥ z_min`), and
/// 2. the Theil-Sen slope reaches a floor, `max(min_slope_per_s, min_rel_slope_per_s·|median|)`,
///    so a tiny but significant drift on a flat series does not count, and
/// 3. the growth persists: each third of the window increases by Mann-Kendall at
///    [`Z_SEGMENT`] with a Theil-Sen slope of at least half the floor and a third of the
///    whole window's slope (growth spread over the window, not one jump). A leak grows
///    throughout; a one-time step (a pool warming up, a cache filling in a burst) lies in at
///    most one third (or on a boundary), and the two other thirds are flat: both would have to
///    look like a trend by chance (≈ 0.05² per test). With halves instead of thirds, the one
///    flat half passes by chance often enough to fire on a few percent of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendRule {
    /// Window length, seconds.
    pub window_s: f64,
    /// Fewest points in the window before the rule is tested.
    pub min_points: usize,
    /// One-sided Mann-Kendall normal score required.
    pub z_min: f64,
    /// Absolute slope floor, units per second.
    pub min_slope_per_s: f64,
    /// Slope floor relative to the window's median level, per second (0.01 = 1 %/s).
    pub min_rel_slope_per_s: f64,
}

/// What the rule saw when it fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Theil-Sen slope over the window, units per second.
    pub slope_per_s: f64,
    /// The slope floor it reached, units per second.
    pub floor_per_s: f64,
    pub z: f64,
    /// One-sided p-value of the Mann-Kendall test.
    pub p: f64,
    /// Median level in the window.
    pub level: f64,
}

/// One-sided normal score for α = 0.001. Each window is tested at every sample, so tests
/// repeat a few hundred times per run on overlapping (correlated) windows; 0.001 keeps the
/// chance of a false alarm on a flat series small over a run.
pub const Z_ALPHA_0_001: f64 = 3.090_232;

/// One-sided normal score each third of the window must reach (α = 0.05): a weaker test,
/// because it only confirms that the trend the whole window shows is present throughout.
pub const Z_SEGMENT: f64 = 1.644_854;

impl TrendRule {
    /// Scales the slope floors (the rule's primary threshold); `z_min` stays.
    pub fn scaled(self, scale: f64) -> Self {
        TrendRule {
            min_slope_per_s: self.min_slope_per_s * scale,
            min_rel_slope_per_s: self.min_rel_slope_per_s * scale,
            ..self
        }
    }

    /// Tests points in time order; `Some` when all three conditions hold.
    pub fn test(&self, pts: &[(f64, f64)]) -> Option<Trend> {
        let n = pts.len();
        if n < self.min_points.max(9) {
            return None;
        }
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let mk = stats::mann_kendall(&ys)?;
        if mk.z < self.z_min {
            return None;
        }
        let slope = stats::theil_sen_slope(pts)?;
        let level = stats::median(&ys)?;
        let floor = self
            .min_slope_per_s
            .max(self.min_rel_slope_per_s * level.abs());
        if slope < floor {
            return None;
        }
        let segment_ok = |h: &[(f64, f64)]| {
            let ys: Vec<f64> = h.iter().map(|p| p.1).collect();
            stats::mann_kendall(&ys).is_some_and(|m| m.z >= Z_SEGMENT)
                && stats::theil_sen_slope(h).is_some_and(|s| s >= (floor / 2.0).max(slope / 3.0))
        };
        let (a, rest) = pts.split_at(n / 3);
        let (b, c) = rest.split_at(n / 3);
        if !(segment_ok(a) && segment_ok(b) && segment_ok(c)) {
            return None;
        }
        Some(Trend {
            slope_per_s: slope,
            floor_per_s: floor,
            z: mk.z,
            p: mk.p_increasing,
            level,
        })
    }
}

/// Passes `/gc/heap/live:bytes` on only when `/gc/cycles/total:gc-cycles` has advanced since
/// the last value passed: the live heap is what the last GC marked, so between cycles it
/// repeats itself, and a value per cycle is immune to the allocation sawtooth. Without the
/// cycle counter every value passes.
#[derive(Debug, Clone, Default)]
pub struct PostGcLive {
    last_cycles: Option<f64>,
}

impl PostGcLive {
    pub fn next(&mut self, s: &Sample) -> Option<f64> {
        let live = s.metric(metric::HEAP_LIVE)?;
        match s.metric(metric::GC_CYCLES) {
            None => Some(live),
            Some(c) if self.last_cycles.is_none_or(|l| c > l) => {
                self.last_cycles = Some(c);
                Some(live)
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> TrendRule {
        TrendRule {
            window_s: 10.0,
            min_points: 8,
            z_min: Z_ALPHA_0_001,
            min_slope_per_s: 1.0,
            min_rel_slope_per_s: 0.0,
        }
    }

    #[test]
    fn window_keeps_its_span() {
        let mut w = TimeWindow::new(2.0);
        for i in 0..10 {
            w.push(i as f64 * 0.5, i as f64);
        }
        assert_eq!(w.len(), 5);
        assert_eq!(w.covered_s(), 2.0);
        assert_eq!(w.points()[0], (2.5, 5.0));
    }

    #[test]
    fn rule_fires_on_a_ramp_not_on_a_centred_step_or_a_shallow_ramp() {
        let ramp: Vec<(f64, f64)> = (0..20).map(|i| (i as f64 * 0.5, i as f64 * 2.0)).collect();
        let t = rule().test(&ramp).unwrap();
        assert!((t.slope_per_s - 4.0).abs() < 1e-9);
        // A step in the middle: Mann-Kendall and the overall slope both say "up", but the
        // thirds before and after it are flat.
        let step: Vec<(f64, f64)> = (0..20)
            .map(|i| (i as f64 * 0.5, if i < 10 { 0.0 } else { 50.0 }))
            .collect();
        assert!(
            stats::mann_kendall(&step.iter().map(|p| p.1).collect::<Vec<_>>())
                .unwrap()
                .z
                > 3.1
        );
        assert!(rule().test(&step).is_none());
        let shallow: Vec<(f64, f64)> = (0..20).map(|i| (i as f64 * 0.5, i as f64 * 0.1)).collect();
        assert!(
            rule().test(&shallow).is_none(),
            "significant but below the slope floor"
        );
        assert!(rule().scaled(0.1).test(&shallow).is_some());
    }
}
