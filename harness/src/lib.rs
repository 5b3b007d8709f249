//! leakbench: a benchmark for Go leak detectors.
//!
//! The folders follow the pipeline, so a reader finds a stage by its name, and a stage's
//! imports only point backwards:
//!
//! ```text
//! scenario ──► record/ ──► run directory ──► evaluate/ ──► present/
//!  (input)    build, launch,   (run_dir: where;  detect, score,    export, plot,
//!             probe, record    trace, sample:    oracle, replay,   report
//!                              what)             regress
//! ```
//!
//! - [`scenario`], [`sample`], [`trace`] and [`run_dir`] are the data that crosses the seams
//!   (what to run, one sample, what a repetition's files hold, and where every file of a run
//!   lives, with `run.json` and the trace format version); they sit at the top because every
//!   stage reads them.
//! - [`record`] touches live processes and nothing later; [`evaluate`] is pure over recorded
//!   traces (record once, evaluate many times); [`present`] draws and lays out what evaluation
//!   wrote.
//! - [`overhead`] is a separate study that uses the recording stage on purpose-run fixtures;
//!   [`merge`] combines run directories.
//! - [`app`] holds each command's use case (what `main.rs` dispatches to), so tests call
//!   commands without spawning the binary.
//! - [`bad_input`], [`clock`], [`fsio`], [`stats`] and [`table`] (the one Markdown table
//!   writer) are small shared utilities.
//!
//! Why folders rather than a flat crate: with thirty modules a flat list hid which stage a
//! module belongs to, and a stage folder's `mod.rs` is where its "owns / must not" rule lives.

pub mod app;
pub mod bad_input;
pub mod clock;
pub mod evaluate;
pub mod fsio;
pub mod merge;
pub mod overhead;
pub mod present;
pub mod record;
pub mod run_dir;
pub mod sample;
pub mod scenario;
pub mod stats;
pub mod table;
pub mod trace;
