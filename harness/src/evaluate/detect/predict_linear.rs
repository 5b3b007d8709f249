//! `predict-linear`: the Prometheus alert rule
//! `predict_linear(process_resident_memory_bytes[window], horizon) > limit`: extrapolates
//! the least-squares line through the RSS of the last window to `horizon` seconds ahead and
//! fires if it passes a memory limit.
//!
//! The scenario's RSS cap is not visible to detectors (they see samples only, as a
//! production alert sees metrics only), so the limit is a fixed parameter. It watches RSS,
//! so it covers Go and C memory alike, and cannot tell which grew (reported unknown) or a site.

use super::{confidence_past, Alarm, Detector, DetectorSpec, Params, TimeWindow, Watched};
use crate::sample::Sample;
use crate::stats;

/// Window, seconds: as for `deriv` (20 points at 0.5 s, like `[5m]` at a 15 s scrape).
pub const WINDOW_S: f64 = 10.0;
/// Evaluate only once the window covers this fraction of its span.
pub const MIN_COVERAGE: f64 = 0.5;
/// How far ahead to extrapolate, seconds: "will we run out within the hour", the usual rule.
pub const HORIZON_S: f64 = 3600.0;
/// The memory limit, bytes: 1 GiB, the harness's default RSS cap (`rss_cap_mib = 1024`).
pub const LIMIT_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "predict-linear",
    watches: Watched::Rss,
    threshold: "RSS extrapolated 3600 s ahead (least squares over 10 s) > limit 1 GiB",
    window_s: Some(WINDOW_S),
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(PredictLinear::new(
        LIMIT_BYTES * p.threshold_scale,
        HORIZON_S,
    ))
}

pub struct PredictLinear {
    limit_bytes: f64,
    horizon_s: f64,
    window: TimeWindow,
}

impl PredictLinear {
    pub fn new(limit_bytes: f64, horizon_s: f64) -> Self {
        PredictLinear {
            limit_bytes,
            horizon_s,
            window: TimeWindow::new(WINDOW_S),
        }
    }
}

impl Detector for PredictLinear {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let rss = s.proc_mem?.rss_bytes as f64;
        self.window.push(s.t, rss);
        if self.window.covered_s() < MIN_COVERAGE * WINDOW_S {
            return None;
        }
        let line = stats::least_squares(self.window.points())?;
        let predicted = line.at(s.t + self.horizon_s);
        (predicted > self.limit_bytes).then(|| Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: None,
            confidence: confidence_past(predicted, self.limit_bytes),
            detail: format!(
                "RSS predicted at +{}s = {:.1} MiB > limit {:.1} MiB (slope {:.1} KiB/s)",
                self.horizon_s,
                predicted / 1048576.0,
                self.limit_bytes / 1048576.0,
                line.slope / 1024.0
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::ProcMem;

    const MIB: f64 = 1024.0 * 1024.0;

    fn rss_samples(pts: &[(f64, f64)]) -> Vec<Sample> {
        pts.iter()
            .map(|&(t, v)| Sample {
                t,
                proc_mem: Some(ProcMem {
                    rss_bytes: v as u64,
                    anon_bytes: v as u64,
                }),
                ..Default::default()
            })
            .collect()
    }

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn fires_when_growth_would_reach_the_limit_within_the_horizon() {
        // 1 MiB/s from 50 MiB reaches 1 GiB in ~1000 s < 3600 s: fires once the window's
        // slope exceeds (1024 − 50) MiB / 3600 s ≈ 0.27 MiB/s, a few seconds after onset.
        let s = rss_samples(&series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: MIB,
            },
            50.0 * MIB,
            64.0 * 1024.0,
            1,
        ));
        assert_detects("fast leak", run(det(), &s), CHANGE_S, 5.0);
    }

    /// Its known blind spot: a slow leak that would take more than the horizon to reach the
    /// limit is never an alarm, however long it runs.
    #[test]
    fn silent_on_flat_noise_and_on_a_slow_leak() {
        assert_silent(
            "flat",
            run(
                det(),
                &rss_samples(&series(Shape::Flat, 50.0 * MIB, MIB, 2)),
            ),
        );
        let slow = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 64.0 * 1024.0,
            },
            50.0 * MIB,
            64.0 * 1024.0,
            3,
        );
        assert_silent("slow leak", run(det(), &rss_samples(&slow)));
    }

    #[test]
    fn a_large_step_reads_as_a_slope_while_in_the_window() {
        // A step of D centred in a window of W seconds has a least-squares slope of 1.5·D/W:
        // 20 MiB reads as 3 MiB/s (fires), 0.5 MiB as 0.075 MiB/s (270 MiB an hour: silent).
        let s = rss_samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 20.0 * MIB,
            },
            50.0 * MIB,
            64.0 * 1024.0,
            4,
        ));
        assert_detects("step", run(det(), &s), CHANGE_S, WINDOW_S);
        let s = rss_samples(&series(
            Shape::Step {
                at_s: CHANGE_S,
                height: 0.5 * MIB,
            },
            50.0 * MIB,
            64.0 * 1024.0,
            4,
        ));
        assert_silent("small step", run(det(), &s));
    }
}
