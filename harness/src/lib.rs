//! leakbench: a benchmark for Go leak detectors.
//!
//! The folders follow the pipeline, so a reader finds a stage by its name:
//!
//! ```text
//! scenario ──► record/ ──► run directory ──► evaluate/ ──► present/
//!  (input)    build, launch,   (run_dir: where;  detect, score,    export, plot,
//!             probe, ticker,   trace, sample:    oracle, sweep,    report, console,
//!             record, live     what)             forecast, replay, compare
//!                                                regress, alarms
//! ```
//!
//! Imports point backwards, with exceptions kept on purpose: a run feeds samples to the
//! detectors live (through [`evaluate::detect::Feeder`]) only to show first alarms in its
//! progress display; [`evaluate::replay`] writes its scores through [`present::export`]'s
//! formats; [`trace`] and [`run_dir`] record the [`record::probe::ProbeSet`] and run settings a
//! repetition was sampled with; and [`axes`] reads a Go version as [`record::fixture_build`]
//! parses it.
//!
//! - [`scenario`], [`sample`], [`trace`] and [`run_dir`] are the data that crosses the seams
//!   (what to run, one sample, what a repetition's files hold, and where every file of a run
//!   lives, with `run.json` and the trace format version); they sit at the top because every
//!   stage reads them. [`leak_class`] is their vocabulary for what a leak is: its class (the
//!   cause, free text) and what it grows (an observable, the detectors' words).
//!   [`fidelity`] sits there too: how well a repetition's samples kept their schedule, stated by
//!   the recorder and judged by scoring. [`axes`] is what a run sweeps besides scenarios
//!   (Go toolchains, GOGC, GOMEMLIMIT, GOMAXPROCS): a cell is a scenario at one point.
//! - [`record`] touches live processes and nothing later; [`evaluate`] is pure over recorded
//!   traces (record once, evaluate many times); [`present`] draws and lays out what evaluation
//!   wrote.
//! - [`overhead`] is a separate study that uses the recording stage on purpose-run fixtures;
//!   [`merge`] combines run directories; [`goker`] runs the Go toolchain's own leak test
//!   programs through the recording stage and judges them against Go's expected answers
//!   (`leakbench goker`, and a small subset at the end of `run-all`).
//! - [`app`] holds each command's use case (what `main.rs` dispatches to), so tests call
//!   commands without spawning the binary.
//! - [`bad_input`], [`clock`], [`fsio`], [`stats`] and [`table`] (the one table writer,
//!   Markdown and terminal text) are small shared utilities.
//!
//! Why folders rather than a flat crate: with thirty modules a flat list hid which stage a
//! module belongs to, and a stage folder's `mod.rs` is where its "owns / must not" rule lives.

pub mod app;
pub mod axes;
pub mod bad_input;
pub mod clock;
pub mod evaluate;
pub mod fidelity;
pub mod fsio;
pub mod goker;
pub mod leak_class;
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
