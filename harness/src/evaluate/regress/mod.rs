//! Regression of detectors against a saved baseline: did a detector change make anything
//! worse? [`compare()`] is the pure core, over two score sets (a saved [`Baseline`] and the
//! current rows turned into one with [`Baseline::from_rows`]); [`render()`] turns the
//! [`Comparison`] into a table of what got worse and better; [`run()`] is the whole use case
//! of `leakbench regress` over a run directory.
//!
//! Per scenario × detector cell (repetitions pooled, so runs with different repetition counts
//! compare), a cell is **worse** when
//! - **detection**: the fraction of judged leaking repetitions caught (TP) fell (a leak that
//!   was caught is now missed);
//! - **false alarm**: the fraction of judged repetitions with a false alarm (FP) rose;
//! - **localization**: the fraction of TPs whose blamed site matches the truth fell (both
//!   sides with at least one TP);
//! - **latency**: the TP latencies are later with statistical support: a one-sided
//!   Mann-Whitney U test ([`crate::stats::mann_whitney_greater`], current later than
//!   baseline) at `p ≤ alpha`, with at least [`MIN_REPS`] TP latencies on each side, **and**
//!   the median grew by more than both the relative and the absolute tolerance. A latency
//!   change past the tolerance without that support (too few repetitions, or `p > alpha`) is
//!   reported as "no statistical support" and does not fail.
//!
//! NA repetitions (unusable traces) are not judged; a change in how many there are is
//! reported, not failed. Cells present on one side only are counted, not failed (a shard or
//! a subset of scenarios is a legitimate run to compare).
//!
//! Files: [`baseline`](mod@baseline) (the saved file), [`compare`](mod@compare) (the rules),
//! [`render`](mod@render) (the text), [`run`](mod@run) (the use case); the thresholds are here.
//!
//! Owns the baseline file format and the comparison rules. Only [`run()`] reads traces (and
//! scores them with [`crate::evaluate::replay::score_traces`]) and writes a file (the saved
//! baseline); the rest is pure and returns values or bytes.

pub mod baseline;
pub mod compare;
pub mod render;
pub mod run;

pub use baseline::{Baseline, BaselineCell, RepResult, BASELINE_FORMAT};
pub use compare::{compare, Aspect, Change, Comparison, Direction};
pub use render::render;
pub use run::{run, run_with, RegressOutcome};

use crate::bad_input::BadInput;

/// Significance level of the latency test: benchstat's default.
pub const ALPHA: f64 = 0.05;
/// Minimum TP latencies per side for a latency verdict. With 3 against 3, complete
/// separation gives the smallest one-sided exact p-value, 1/C(6,3) = 0.05 = [`ALPHA`]; fewer
/// can never reach significance.
pub const MIN_REPS: usize = 3;
/// A latency regression must grow the median by more than this fraction...
pub const LATENCY_REL: f64 = 0.20;
/// ...and by more than this many seconds: one or two sampling intervals of jitter is not a
/// regression.
pub const LATENCY_ABS_S: f64 = 1.0;

/// When a latency change counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Significance level of the one-sided Mann-Whitney U test.
    pub alpha: f64,
    /// Minimum TP latencies per side for a latency verdict.
    pub min_reps: usize,
    /// Relative growth of the median latency that counts (0.2 = 20%).
    pub latency_rel: f64,
    /// Absolute growth of the median latency that counts, seconds.
    pub latency_abs_s: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            alpha: ALPHA,
            min_reps: MIN_REPS,
            latency_rel: LATENCY_REL,
            latency_abs_s: LATENCY_ABS_S,
        }
    }
}

impl Tolerance {
    /// Bad input unless `alpha` is in (0, 1), both latency tolerances are ≥ 0 and `min_reps`
    /// ≥ 1. The message names the `leakbench regress` flags that set them.
    pub fn check(&self) -> Result<(), BadInput> {
        if self.alpha > 0.0
            && self.alpha < 1.0
            && self.latency_rel >= 0.0
            && self.latency_abs_s >= 0.0
            && self.min_reps > 0
        {
            return Ok(());
        }
        Err(BadInput(
            "--alpha must be in (0, 1), --latency-rel and --latency-abs >= 0, --min-reps >= 1 (fix: e.g. --alpha 0.05 --latency-rel 0.2 --latency-abs 1 --min-reps 3)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_check_refuses_what_no_test_can_use() {
        assert!(Tolerance::default().check().is_ok());
        for bad in [
            Tolerance {
                alpha: 1.0,
                ..Tolerance::default()
            },
            Tolerance {
                latency_rel: -0.1,
                ..Tolerance::default()
            },
            Tolerance {
                min_reps: 0,
                ..Tolerance::default()
            },
            Tolerance {
                alpha: f64::NAN,
                ..Tolerance::default()
            },
        ] {
            let e = bad.check().unwrap_err().to_string();
            assert!(e.contains("--alpha") && !e.contains('\n'), "{e}");
        }
    }
}
