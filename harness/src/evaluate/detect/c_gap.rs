//! `c-gap`: memory outside the Go runtime. The gap between RSS and the memory the Go runtime
//! has mapped and not released ([`Sample::c_gap_bytes`]) is what C allocations (cgo
//! `C.malloc`, C libraries) occupy; Go profiles cannot see it. Fires when the gap keeps
//! growing ([`TrendRule`]) and reports C memory grew. No site: nothing in the samples names
//! the C caller.

use super::window::Z_ALPHA_0_001;
use super::{
    confidence_from_p, Alarm, Detector, DetectorSpec, Params, TimeWindow, TrendRule, Watched,
};
use crate::sample::Sample;

/// 10 s windows; the gap must grow by at least 16 KiB/s (about 1 MiB a minute: a few C
/// buffers a second), so page-level jitter between RSS and the runtime's own accounting
/// does not count. No relative floor: the gap's level is near zero or even negative.
pub const RULE: TrendRule = TrendRule {
    window_s: 10.0,
    min_points: 10,
    z_min: Z_ALPHA_0_001,
    min_slope_per_s: 16.0 * 1024.0,
    min_rel_slope_per_s: 0.0,
};

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "c-gap",
    watches: Watched::CGap,
    threshold: "Theil-Sen slope floor on RSS − Go runtime memory: 16 KiB/s, with Mann-Kendall z ≥ 3.09 over 10 s",
    window_s: Some(RULE.window_s),
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(CGap::new(RULE.scaled(p.threshold_scale)))
}

pub struct CGap {
    rule: TrendRule,
    window: TimeWindow,
}

impl CGap {
    pub fn new(rule: TrendRule) -> Self {
        CGap {
            rule,
            window: TimeWindow::new(rule.window_s),
        }
    }
}

impl Detector for CGap {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let gap = s.c_gap_bytes()?;
        self.window.push(s.t, gap);
        let tr = self.rule.test(self.window.points())?;
        Some(Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: None,
            confidence: confidence_from_p(tr.p),
            detail: format!(
                "RSS − Go runtime memory grows {:.1} KiB/s (floor {:.1} KiB/s, Mann-Kendall z = {:.2}), now {:.1} MiB",
                tr.slope_per_s / 1024.0,
                tr.floor_per_s / 1024.0,
                tr.z,
                gap / 1048576.0
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::{metric, ProcMem};
    use crate::scenario::Observable;

    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;

    /// Samples whose Go runtime memory follows a GC-like sawtooth and whose RSS is that plus
    /// the C memory in `c`.
    fn samples(c: &[(f64, f64)]) -> Vec<Sample> {
        let saw = Shape::Sawtooth {
            period_s: 4.0,
            amplitude: 8.0 * MIB,
        };
        c.iter()
            .map(|&(t, cv)| {
                let go = 30.0 * MIB + saw.at(t);
                let mut s = with_metrics(
                    t,
                    &[
                        (metric::MEM_TOTAL, go + 2.0 * MIB),
                        (metric::MEM_RELEASED, 2.0 * MIB),
                    ],
                );
                s.proc_mem = Some(ProcMem {
                    rss_bytes: (go + cv) as u64,
                    anon_bytes: (go + cv) as u64,
                });
                s
            })
            .collect()
    }

    fn det() -> Box<dyn Detector> {
        make(&Params::default())
    }

    #[test]
    fn detects_growing_c_memory_behind_a_go_sawtooth() {
        let c = series(
            Shape::Ramp {
                from_s: CHANGE_S,
                per_s: 100.0 * KIB,
            },
            4.0 * MIB,
            32.0 * KIB,
            1,
        );
        let a = assert_detects(
            "cgo",
            run(det(), &samples(&c)),
            CHANGE_S,
            RULE.window_s + 2.0,
        );
        assert_eq!(a.grew, Some(Observable::CMemory));
    }

    #[test]
    fn silent_on_flat_noisy_and_stepped_c_memory() {
        for seed in 1..=5 {
            assert_silent(
                "flat",
                run(
                    det(),
                    &samples(&series(Shape::Flat, 4.0 * MIB, 64.0 * KIB, seed)),
                ),
            );
            let step = series(
                Shape::Step {
                    at_s: CHANGE_S,
                    height: 8.0 * MIB,
                },
                4.0 * MIB,
                32.0 * KIB,
                seed,
            );
            assert_silent("step (a C library's arena)", run(det(), &samples(&step)));
        }
    }
}
