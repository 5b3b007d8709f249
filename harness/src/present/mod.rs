//! Presentation: scores and summaries turned into files a person reads.
//!
//! [`export`] writes scores as CSV / JSON / Markdown; [`plot`] draws charts from plain numbers;
//! [`report`] reads a scored run directory and lays out `report.md` / `report.html` with its
//! charts, and one page per scenario under `scenarios/`; [`console`] is the results table a
//! command prints; [`compare`] sets two scored runs side by side.
//!
//! Owns formats, charts and layout. Must not run fixtures, run detectors or score: what it
//! shows was written by [`crate::evaluate`].

pub mod compare;
pub mod console;
pub mod export;
pub mod plot;
pub mod report;
