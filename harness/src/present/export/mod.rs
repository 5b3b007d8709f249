//! Exporters: scores and summaries turned into bytes, one file per format (`csv`, `json`,
//! `markdown`), and [`write_outputs`], which writes them into a run directory (at the paths
//! [`crate::run_dir::RunDir`] names) through [`crate::fsio::write_atomic`].
//!
//! Output is deterministic: rows come sorted, maps are ordered, floats are printed with fixed
//! precision, and nothing carries a timestamp, so the same scores give byte-identical files.
//! Owns formats only; must not compute scores.

pub mod csv;
pub mod json;
pub mod markdown;

use crate::evaluate::score::{ScoreRow, Summary};
use crate::fsio::{self, FsError};
use crate::run_dir::RunDir;
use std::path::{Path, PathBuf};

/// The files [`write_outputs`] writes: named by [`crate::run_dir`], which owns the layout.
pub use crate::run_dir::{SCORES_CSV, SUMMARY_JSON, SUMMARY_MD};

/// Writes `scores.csv`, `summary.json` and `summary.md` into `run_dir` (each atomically) and
/// returns their paths.
pub fn write_outputs(
    run_dir: &Path,
    rows: &[ScoreRow],
    summary: &Summary,
) -> Result<Vec<PathBuf>, FsError> {
    let run = RunDir::new(run_dir);
    let files = [
        (run.scores_csv(), csv::scores(rows)),
        (run.summary_json(), json::summary(summary)),
        (run.summary_md(), markdown::summary(summary)),
    ];
    let mut out = Vec::new();
    for (path, bytes) in files {
        fsio::write_atomic(&path, &bytes)?;
        out.push(path);
    }
    Ok(out)
}

/// A float with `decimals` places, or the empty string.
pub(crate) fn fixed(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}
