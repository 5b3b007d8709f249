//! The use cases behind each command, callable from tests without spawning the binary.
//!
//! `main.rs` parses flags into the request types here and prints what these functions return;
//! everything between (finding the checkout, choosing scenarios, resuming, recording then
//! scoring then reporting) lives here. A use case returns what happened as data
//! ([`record::RunOutcome`], …) and does not print results: the command line decides how to
//! show them (progress bars go through the caller's [`indicatif::MultiProgress`]).
//!
//! Owns the order of the stages for each command and the checks on the command line's
//! values. Must not hold stage logic itself: recording is [`crate::record`], scoring
//! [`crate::evaluate`], charts and reports [`crate::present`].

pub mod listing;
pub mod record;
pub mod record_live;
pub mod workspace;

pub use workspace::Workspace;

/// The async runtime for commands that start fixtures, with the reaper forked first (while
/// this process still has one thread, so call it before anything starts a thread).
pub fn fixture_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    if let Err(e) = crate::record::launch::start_reaper() {
        eprintln!(
            "warning: no reaper process ({e}); fixtures' own children may outlive a killed harness"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))
}
