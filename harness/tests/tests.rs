//! All integration tests, in one binary (so the harness and fixtures build once).
//! Each module is one concern; they share helpers in `support`.

mod support;
mod classes;
