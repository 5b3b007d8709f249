//! External detectors: programs in any language, declared in a detectors file
//! ([`declaration`]), spoken to in versioned JSON lines ([`protocol`], documented for their
//! authors in `docs/detector-protocol.md`), one process per trace ([`session`]).
//!
//! An external detector is scored exactly like a built-in one: it is shown the same samples
//! (the [`crate::evaluate::detect::Gate`]: after warm-up, increasing times), its first alarm
//! is judged by the same rules, against the same oracle bound on the series it declares it
//! watches. What differs is that it is untrusted: it runs with a time limit per sample and
//! per trace, capped output, a minimal environment, an empty temporary working directory and
//! its own process group, killed on every exit path. Whatever it does wrong (invalid JSON,
//! exiting early, hanging, flooding stdout, an alarm at a time that is not its sample's) is a
//! [`Fault`]: the row is "not judged" (NA) with the fault as its note, never a miss, and the
//! run goes on. Nothing recorded is touched.
//!
//! Not in the threshold sweep: one process per trace at its own threshold (a sweep would start
//! one per trace per scale, and the scale means nothing to a program that did not ask for it).
//!
//! Owns the declared detector ([`External`]), its faults, and running it over traces
//! ([`first_alarms`]). Must not score (that is [`crate::evaluate::score`]).

pub mod declaration;
pub mod protocol;
pub mod session;

use crate::evaluate::detect::{Alarm, Watched};
use crate::trace::Trace;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use declaration::load;

/// The protocol version this leakbench speaks. A detectors file declares the version each
/// detector speaks; another version is refused when the file is read.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest answer line, bytes: an alarm is a few hundred bytes; a detector writing more
/// without a newline is flooding.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most bytes a detector may write to stdout over one trace: one answer per sample needs a
/// few kilobytes.
pub const MAX_STDOUT_BYTES: u64 = 4 * 1024 * 1024;
/// The end of its stderr kept for the reason of a fault, bytes.
pub const STDERR_KEEP_BYTES: usize = 4096;

/// A detector declared in a detectors file.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    /// Its name in scores and reports (checked: no built-in has it).
    pub name: String,
    /// The series it says it watches: a trace without it scores the detector "not applicable"
    /// (the oracle bound of its rows is the scenario's, as for every detector).
    pub watches: Watched,
    /// What its threshold is, in words (`leakbench detectors`).
    pub threshold: String,
    /// The trend window it judges over, if it says it has one.
    pub window_s: Option<f64>,
    /// The program, resolved (absolute, or as found on `PATH`).
    pub program: PathBuf,
    /// Its arguments: an argument vector, never seen by a shell.
    pub args: Vec<String>,
    /// Variables added to its minimal environment.
    pub env: BTreeMap<String, String>,
    pub limits: Limits,
    /// The detectors file it came from.
    pub declared_in: PathBuf,
}

impl External {
    /// A detector running `program args` with a per-sample limit of `sample_s`, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(program: &str, args: &[&str], sample_s: f64) -> External {
        External {
            name: "t".into(),
            watches: Watched::Goroutines,
            threshold: String::new(),
            window_s: None,
            program: PathBuf::from(program),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            limits: Limits {
                sample: Duration::from_secs_f64(sample_s),
                trace: Duration::from_secs(30),
            },
            declared_in: PathBuf::from("t.toml"),
        }
    }
}

/// How long a detector may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// From writing a sample to reading its answer (the first one includes start-up).
    pub sample: Duration,
    /// From starting the process to its last answer.
    pub trace: Duration,
}

/// What an external detector did wrong on one trace.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultKind {
    #[error("could not start `{program}`: {error}")]
    Spawn { program: String, error: String },
    #[error("answered the sample at t={t:.3} s with invalid JSON ({error}): `{line}`")]
    InvalidJson { t: f64, error: String, line: String },
    #[error("answered the sample at t={t:.3} s against the protocol: {problem}")]
    BadAnswer { t: f64, problem: String },
    #[error("answered the sample at t={t:.3} s with an alarm at t_s={t_s} s: time went backwards")]
    Backwards { t: f64, t_s: f64 },
    #[error(
        "answered the sample at t={t:.3} s with an alarm at t_s={t_s} s: not the sample's time"
    )]
    NotSampleTime { t: f64, t_s: f64 },
    #[error("exited early ({status}) after answering {answered} of the {sent} samples sent")]
    ExitedEarly {
        status: String,
        answered: usize,
        sent: usize,
    },
    #[error("no answer to the sample at t={t:.3} s within the per-sample limit of {limit_s} s")]
    SampleTimeout { t: f64, limit_s: f64 },
    #[error("not done within the per-trace limit of {limit_s} s ({answered} samples answered)")]
    TraceTimeout { limit_s: f64, answered: usize },
    #[error("flooded stdout: a line longer than {max} bytes")]
    LongLine { max: usize },
    #[error("flooded stdout: more than {max} bytes")]
    Flood { max: u64 },
    #[error("wrote a line no sample asked for (one answer per sample): `{line}`")]
    Unasked { line: String },
    #[error("could not talk to it: {0}")]
    Io(String),
}

/// A fault, with the end of what the detector wrote to stderr: the reason its rows are not
/// judged. One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The last lines of its stderr, joined with ` | `; empty if it wrote none.
    pub stderr: String,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; killed", self.kind)?;
        if !self.stderr.is_empty() {
            write!(f, "; stderr: {}", self.stderr)?;
        }
        Ok(())
    }
}

impl std::error::Error for Fault {}

/// One detector on one trace: its first alarm (`None`: it never alarmed), or its fault.
pub type Verdict = Result<Option<Alarm>, Fault>;

/// Every detector of `externals` on every trace of `traces`: `[trace][detector]`. One
/// process per pair, as many at once as the machine has cores (a detector mostly waits for
/// its next sample, but its start-up is work). The verdicts do not depend on that order.
pub fn first_alarms(externals: &[External], traces: &[&Trace]) -> Vec<Vec<Verdict>> {
    let jobs: Vec<(usize, usize)> = (0..traces.len())
        .flat_map(|i| (0..externals.len()).map(move |j| (i, j)))
        .collect();
    let done: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; jobs.len()]);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, j)) = jobs.get(k) else {
                    break;
                };
                // The process is started from this thread, which outlives it: its
                // parent-death signal fires only if the harness itself dies.
                let v = session::first_alarm(&externals[j], traces[i]);
                done.lock().expect("no worker panics holding it")[k] = Some(v);
            });
        }
    });
    let mut done = done.into_inner().expect("workers joined").into_iter();
    traces
        .iter()
        .map(|_| {
            externals
                .iter()
                .map(|_| done.next().flatten().expect("every job ran"))
                .collect()
        })
        .collect()
}
