//! Evaluation: recorded traces in, judgements out. Pure over files; the only processes it
//! starts are external detectors the user declared ([`detect::external`]), each fed a
//! recorded trace.
//!
//! Detectors ([`detect`]) read a trace's samples; [`score`] judges each first alarm against
//! the measured ground truth; [`oracle`] bounds how fast any detector could have been;
//! [`replay`] runs all of it over a run directory and writes the scores; [`sweep`] scores it
//! again at scaled thresholds (written beside the scores); [`regress`] compares scores with a
//! saved baseline; [`forecast`] predicts when a
//! repetition killed at its memory cap would die and scores that against the kill. A service
//! recorded live has no ground truth: [`alarms`] shows which detectors fire on it, and when,
//! judging nothing.
//!
//! Owns detection and scoring. Must not sample processes (that is [`crate::record`]) nor
//! draw or lay out reports (that is [`crate::present`]).

pub mod alarms;
pub mod detect;
pub mod forecast;
pub mod oracle;
pub mod regress;
pub mod replay;
pub mod score;
pub mod sweep;
