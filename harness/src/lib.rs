//! leakbench: a benchmark for Go leak detectors.
//!
//! The pipeline, one module a stage: scenarios ([`scenario`]) → build ([`fixture_build`]) →
//! launch ([`launch`]) → sample ([`probe`], [`sampler`]) → trace ([`trace`]) → detect
//! ([`detect`]) → score ([`score`], [`oracle`]) → export ([`export`]).
//! Detectors read traces, never live processes: record once, evaluate many times.

pub mod bad_input;
pub mod clock;
pub mod detect;
pub mod export;
pub mod fixture_build;
pub mod fixture_log;
pub mod fsio;
pub mod launch;
pub mod merge;
pub mod oracle;
pub mod overhead;
pub mod plot;
pub mod pprof;
pub mod probe;
pub mod regress;
pub mod replay;
pub mod report;
pub mod run;
pub mod sample;
pub mod sampler;
pub mod scenario;
pub mod score;
pub mod stats;
pub mod trace;
