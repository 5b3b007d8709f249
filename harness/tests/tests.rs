//! All integration tests, in one binary (so the harness and fixtures build once).
//! Each module is one concern; they share helpers in `support`.

mod axes;
mod bad_input;
mod browser;
mod byo;
mod classes;
mod conventions;
mod detectors_on_traces;
mod external_detectors;
mod faults;
mod go_matrix;
mod goker;
mod goleak;
mod matrix_length;
mod oom;
mod orphans;
mod record_live;
mod regress;
mod replay_gate;
mod resume;
mod security;
mod shapes;
mod support;
