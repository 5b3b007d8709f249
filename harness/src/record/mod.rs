//! Recording: everything that touches a live Go program, and nothing after it.
//!
//! The stage's pipeline: build the fixture ([`fixture_build`]) → start it on a loopback port in
//! its own process group ([`launch`], its log through [`fixture_log`]) → read it at every tick
//! ([`probe`], decoding profiles with [`pprof`]; a program without our kit through
//! [`std_metrics`], checked by [`listeners`] to listen on loopback only) on the schedule of
//! [`ticker`] → record one repetition into its trace ([`repetition`]) → record the whole
//! matrix into a run directory ([`run`]). A service already running, not ours, is recorded
//! by [`live`] on the same probes and schedule.
//!
//! Owns processes, probes and the tick loop. Must not score or draw: what it leaves behind is
//! a run directory, read by [`crate::evaluate`]. (A run feeds its samples to the detectors
//! live, only to show first alarms in its progress display; scores come from the trace.)

pub mod fixture_build;
pub mod fixture_log;
pub mod launch;
pub mod listeners;
pub mod live;
pub mod pprof;
pub mod probe;
pub mod repetition;
pub mod run;
pub mod std_metrics;
pub mod ticker;
