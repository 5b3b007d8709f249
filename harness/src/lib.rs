//! leakbench: a benchmark for Go leak detectors.
//!
//! The folders follow the pipeline, so a reader finds a stage by its name, and a stage's
//! imports only point backwards:
//!
//! ```text
//! scenario ──► record/ ──► run directory ──► evaluate/ ──► present/
//!  (input)    build, launch,   (trace, sample,   detect, score,    export, plot,
//!             probe, record    run.json, end)    oracle, replay,   report
//!                                                regress
//! ```
//!
//! - [`scenario`], [`sample`] and [`trace`] are the data that crosses the seams (what to run,
//!   one sample, the files of a repetition); they sit at the top because every stage reads them.
//! - [`record`] touches live processes and nothing later; [`evaluate`] is pure over recorded
//!   traces (record once, evaluate many times); [`present`] draws and lays out what evaluation
//!   wrote.
//! - [`overhead`] is a separate study that uses the recording stage on purpose-run fixtures;
//!   [`merge`] combines run directories.
//! - [`bad_input`], [`clock`], [`fsio`] and [`stats`] are small shared utilities.
//!
//! Why folders rather than a flat crate: with thirty modules a flat list hid which stage a
//! module belongs to, and a stage folder's `mod.rs` is where its "owns / must not" rule lives.

pub mod bad_input;
pub mod clock;
pub mod evaluate;
pub mod fsio;
pub mod goker;
pub mod merge;
pub mod overhead;
pub mod present;
pub mod record;
pub mod sample;
pub mod scenario;
pub mod stats;
pub mod trace;
