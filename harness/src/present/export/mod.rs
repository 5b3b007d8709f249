//! Exporters: scores and summaries turned into bytes, one file per format (`csv`, `json`,
//! `markdown`), and [`write_outputs`], which writes them into a run directory through
//! [`crate::fsio::write_atomic`].
//!
//! Output is deterministic: rows come sorted, maps are ordered, floats are printed with fixed
//! precision, and nothing carries a timestamp, so the same scores give byte-identical files.
//! Owns formats only; must not compute scores.

pub mod csv;
pub mod json;
pub mod markdown;

use crate::evaluate::score::{ScoreRow, Summary};
use crate::fsio::{self, FsError};
use std::path::{Path, PathBuf};

/// One row per scenario × detector × repetition.
pub const SCORES_CSV: &str = "scores.csv";
/// The aggregates, machine-readable.
pub const SUMMARY_JSON: &str = "summary.json";
/// The aggregates as Markdown tables.
pub const SUMMARY_MD: &str = "summary.md";

/// Writes `scores.csv`, `summary.json` and `summary.md` into `run_dir` (each atomically) and
/// returns their paths.
pub fn write_outputs(
    run_dir: &Path,
    rows: &[ScoreRow],
    summary: &Summary,
) -> Result<Vec<PathBuf>, FsError> {
    let files = [
        (SCORES_CSV, csv::scores(rows)),
        (SUMMARY_JSON, json::summary(summary)),
        (SUMMARY_MD, markdown::summary(summary)),
    ];
    let mut out = Vec::new();
    for (name, bytes) in files {
        let path = run_dir.join(name);
        fsio::write_atomic(&path, &bytes)?;
        out.push(path);
    }
    Ok(out)
}

/// A float with `decimals` places, or the empty string.
pub(crate) fn fixed(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}
