//! All integration tests, in one binary (so the harness and fixtures build once).
//! Each module is one concern; they share helpers in `support`.

mod support;
mod classes;
mod bad_input;
mod faults;
mod orphans;
mod resume;
mod security;
mod replay_gate;
mod regress;
mod detectors_on_traces;
