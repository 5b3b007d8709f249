//! GoKer: ground truth nobody here wrote. The Go toolchain ships its own goroutine leak test
//! programs — 62 GoKer kernels of real blocking bugs (cockroach, etcd, grpc, hugo, istio,
//! kubernetes, moby, serving, syncthing; from the GoBench suite) and the runtime's micro,
//! stress and pattern cases — with the expected answer of each. `leakbench goker` runs them as
//! fixtures and grades every goroutine detector by those answers, beside the published
//! figures.
//!
//! The pipeline, one file per stage:
//! [`cases`] (read the cases from the GOROOT and wrap the programs, through the Go helper
//! `go-fixtures/tools/goker`) → [`plan`] (scenarios per mode, synthesized in memory) →
//! recording by [`crate::record::run`] (ordinary run directories) → [`judge`] (Go's answers
//! against each detector's first alarm) → [`tally`] (recall, precision, latency) →
//! [`report`] (Markdown, CSV, JSON), against [`reference`] (GoBench's list, published
//! figures); [`command`] is the `leakbench goker` use case that strings them together, and
//! [`section`] the small subset `run-all` records into its run directory.
//!
//! Nothing of Go's files is copied into this repository: they are read at run time, and the
//! wrapped copies live in `.cache/goker/<go version>/`. Must not change how the main matrix
//! is recorded or scored: it reuses the recording stage and the detectors as they are.

pub mod cases;
pub mod command;
pub mod judge;
pub mod plan;
pub mod reference;
pub mod report;
pub mod section;
pub mod tally;

pub use command::{run, Args};
