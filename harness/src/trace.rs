//! What a repetition's files hold, and writing and reading them: [`RepMeta`] (`meta.json`,
//! fixed before the first sample but for what only the running fixture can say: its declared
//! onset and its runtime's [`RuntimeFacts`], rewritten once it is ready), one [`Sample`] per line of `trace.jsonl` (appended and
//! flushed as each is taken, so a crash loses at most the sample being written; a torn last
//! line is ignored on load) and [`RepEnd`] (`end.json`, written last, with the samples'
//! [`Fidelity`] to their schedule).
//!
//! A service recorded live (`leakbench record`) writes the same three files with a
//! [`LiveMeta`] in place of [`RepMeta`]: it has no scenario and so no ground truth. It loads
//! as a [`Recording`] ([`load_recording`]), never as a [`Trace`] ([`load`] refuses it with
//! [`TraceError::NoTruth`]), so code that scores cannot be handed one.
//!
//! Owns these formats and their (de)serialization. Where the files are, which trace format
//! this leakbench reads and whether a repetition is finished is [`crate::run_dir`]'s; must
//! not name a path, sample, detect or score.

use crate::axes::{Axis, AxisValues};
use crate::fidelity::Fidelity;
use crate::fsio::{self, FsError};
use crate::record::probe::ProbeSet;
use crate::run_dir::{RepDir, RunDir, TRACE_FORMAT};
use crate::sample::Sample;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Everything about a repetition that is fixed before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepMeta {
    /// [`TRACE_FORMAT`] when written.
    pub format: u32,
    pub harness_version: String,
    pub scenario: Scenario,
    pub rep: u32,
    pub seed: u64,
    /// `go version` output, e.g. `go1.26.8`.
    pub go_version: String,
    pub goexperiment: String,
    pub gogc: String,
    pub gomemlimit: String,
    pub gomaxprocs: String,
    /// Hash of the fixture sources and build settings.
    pub fixture_hash: String,
    pub interval_s: f64,
    /// The fixture's argument vector.
    pub args: Vec<String>,
    /// Whether the `goroutineleak` profile is probed.
    pub goroutineleak: bool,
    /// goleak's cadence: the least time between two of its requests, seconds, when goleak is
    /// probed ([`crate::record::probe::ProbeSet::goleak_period_ms`]; 0: whenever none was in
    /// flight). Absent when it is not probed, and from traces recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goleak_period_s: Option<f64>,
    /// The onset the scenario declares (`truth.declared_onset_s` after readiness), on the
    /// trace's axis: set once the program is ready. Declared, not measured: used only when no
    /// sample has a measured onset ([`Trace::onset_s`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_onset_s: Option<f64>,
    /// The run's matrix point this repetition belongs to (its cell is scenario × axes).
    /// Empty, and absent from `meta.json`, when the run swept no axis (and in repetitions
    /// recorded before axes existed).
    #[serde(default, skip_serializing_if = "AxisValues::is_empty")]
    pub axes: AxisValues,
    /// What the fixture's own runtime said it runs with, read once after readiness; absent
    /// for programs that do not serve it (no kit) and in older repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeFacts>,
}

/// The fixture's runtime settings as the Go runtime reports them (the kit's
/// `/leakbench/runtime`): what it actually runs with, not what the harness meant to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeFacts {
    /// `runtime.Version()`, e.g. `go1.27.3`, or `go1.26.8-X:goroutineleakprofile` when built
    /// with an experiment.
    pub go_version: String,
    /// `runtime.GOMAXPROCS(0)`.
    pub gomaxprocs: u32,
    /// `debug.SetGCPercent` read back: an integer, or `off`.
    pub gogc: String,
    /// `debug.SetMemoryLimit(-1)` in bytes, or `off` (no limit: math.MaxInt64).
    pub gomemlimit: String,
}

impl RuntimeFacts {
    /// Whether the runtime's value of `axis` is `value` (GOMEMLIMIT compared in bytes; `go`
    /// by version).
    pub fn agrees(&self, axis: Axis, value: &str) -> bool {
        match axis {
            // The release, without the experiments a 1.26 build names after it.
            Axis::Go => self.go_version.split("-X:").next() == Some(value),
            Axis::Gogc => self.gogc == value,
            Axis::Gomaxprocs => self.gomaxprocs.to_string() == value,
            Axis::Gomemlimit => {
                value == self.gomemlimit
                    || crate::axes::parse_byte_count(value).map(|b| b.to_string())
                        == Some(self.gomemlimit.clone())
            }
        }
    }
}

/// Where a live recording was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSource {
    /// The service's base URL as given, e.g. `http://127.0.0.1:6060`.
    pub url: String,
    /// The address it was read at (the URL's host resolved).
    pub addr: String,
    /// The process whose `/proc/PID/status` gave the RSS, if one was named (`--pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// `meta.json` of a service recorded live by `leakbench record`: how it was sampled, and
/// nothing about whether it leaks.
///
/// Why its own type, rather than a [`RepMeta`] whose scenario's truth is optional or filled
/// in: nobody declared what this service is, whether it leaks, where or since when. A truth
/// filled in (`leaking = false`) would turn every alarm into a "false alarm"; a truth made
/// optional in [`Scenario`] would make every module that scores, bounds, sweeps or reports
/// (they all read `scenario.truth`) rule on its absence, each in its own words. As a type
/// of its own, a recording cannot reach them: [`load`] refuses it ([`TraceError::NoTruth`]),
/// and only the code that shows alarms without judging them ([`crate::evaluate::alarms`],
/// [`crate::present::report::live`]) reads it, through [`load_recording`]. The samples and the
/// end are the same types as a scenario's, so detectors read them as they read any trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveMeta {
    /// [`TRACE_FORMAT`] when written.
    pub format: u32,
    pub harness_version: String,
    /// Its presence marks the repetition as a live recording.
    pub live: LiveSource,
    /// The recording's name: the directory above `rep-<k>`.
    pub name: String,
    pub rep: u32,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`: when the first sample was due. The trace's `t = 0` is that
    /// moment, not the service's start (which the harness does not know).
    pub started: String,
    pub interval_s: f64,
    /// How long the recording was asked to last, seconds.
    pub duration_s: f64,
    /// Detectors see every sample: a live service was started long before, there is no
    /// start-up to skip.
    pub warmup_s: f64,
    pub probes: ProbeSet,
}

/// How a repetition ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndStatus {
    /// Ran its full duration.
    Completed,
    /// Killed by the watchdog because its RSS passed the scenario's cap.
    KilledAtCap,
    /// The fixture exited on its own before the end.
    Crashed,
    /// Never printed its readiness line in time.
    NotReady,
    /// The harness was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
    /// The harness failed around it (spawn failure, disk error, ...).
    Error,
}

impl EndStatus {
    /// Whether the trace is usable for scoring.
    pub fn scorable(self) -> bool {
        matches!(
            self,
            EndStatus::Completed | EndStatus::KilledAtCap | EndStatus::Crashed
        )
    }
}

/// The same spelling as in `end.json` (`killed_at_cap`, …), so messages and files agree.
impl std::fmt::Display for EndStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndStatus::Completed => "completed",
            EndStatus::KilledAtCap => "killed_at_cap",
            EndStatus::Crashed => "crashed",
            EndStatus::NotReady => "not_ready",
            EndStatus::Interrupted => "interrupted",
            EndStatus::Error => "error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepEnd {
    pub status: EndStatus,
    /// Human-readable why (exit code, RSS at kill, readiness timeout, ...).
    pub reason: String,
    pub samples: u64,
    /// Seconds since spawn at which the repetition ended.
    pub ended_s: f64,
    /// How well the samples kept their schedule, from warm-up on. Absent in repetitions
    /// recorded before it was written: [`crate::fidelity::of_trace`] derives it then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<Fidelity>,
}

/// Appends samples to `trace.jsonl`, one flushed line each, so a crash loses at most the
/// sample being written. Keeps the sample times, for the fidelity `end.json` states.
pub struct TraceWriter {
    rep: RepDir,
    /// `None` for a live recording (no onset to declare).
    meta: Option<RepMeta>,
    file: std::fs::File,
    samples: u64,
    times: Vec<f64>,
    interval_s: f64,
    warmup_s: f64,
}

impl TraceWriter {
    /// Creates the repetition directory, writes `meta.json` and opens an empty trace,
    /// discarding any unfinished attempt at this repetition.
    pub fn create(rep: &RepDir, meta: &RepMeta) -> Result<Self, FsError> {
        let json = serde_json::to_vec_pretty(meta).expect("meta serializes");
        let mut w = TraceWriter::open(rep, &json, meta.interval_s, meta.scenario.warmup_s)?;
        w.meta = Some(meta.clone());
        Ok(w)
    }

    /// As [`TraceWriter::create`], for a live recording.
    pub fn create_live(rep: &RepDir, meta: &LiveMeta) -> Result<Self, FsError> {
        let json = serde_json::to_vec_pretty(meta).expect("meta serializes");
        TraceWriter::open(rep, &json, meta.interval_s, meta.warmup_s)
    }

    fn open(
        rep: &RepDir,
        meta_json: &[u8],
        interval_s: f64,
        warmup_s: f64,
    ) -> Result<Self, FsError> {
        fsio::create_dir_all(rep.path())?;
        let _ = std::fs::remove_file(rep.end_json());
        fsio::write_atomic(&rep.meta_json(), meta_json)?;
        let path = rep.trace_jsonl();
        let file =
            std::fs::File::create(&path).map_err(|e| FsError::new("could not create", &path, e))?;
        Ok(TraceWriter {
            rep: rep.clone(),
            meta: None,
            file,
            samples: 0,
            times: Vec::new(),
            interval_s,
            warmup_s,
        })
    }

    pub fn dir(&self) -> &RepDir {
        &self.rep
    }

    /// Records the declared onset (seconds since spawn) in `meta.json`, rewritten atomically.
    /// A live recording has no onset: nothing is written.
    pub fn declare_onset(&mut self, onset_s: f64) -> Result<(), FsError> {
        let Some(meta) = &mut self.meta else {
            return Ok(());
        };
        meta.declared_onset_s = Some(onset_s);
        self.rewrite_meta()
    }

    /// Records what the fixture's runtime reports in `meta.json`, rewritten atomically. A
    /// live recording has no fixture: nothing is written.
    pub fn record_runtime(&mut self, facts: RuntimeFacts) -> Result<(), FsError> {
        let Some(meta) = &mut self.meta else {
            return Ok(());
        };
        meta.runtime = Some(facts);
        self.rewrite_meta()
    }

    fn rewrite_meta(&self) -> Result<(), FsError> {
        let Some(meta) = &self.meta else {
            return Ok(());
        };
        let json = serde_json::to_vec_pretty(meta).expect("meta serializes");
        fsio::write_atomic(&self.rep.meta_json(), &json)
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn append(&mut self, s: &Sample) -> Result<(), FsError> {
        let mut line = serde_json::to_vec(s).expect("sample serializes");
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.flush())
            .map_err(|e| FsError::new("could not append to", &self.rep.trace_jsonl(), e))?;
        self.samples += 1;
        self.times.push(s.t);
        Ok(())
    }

    /// Writes `end.json`: the repetition is finished, with the fidelity of the samples written.
    pub fn finish(
        self,
        status: EndStatus,
        reason: impl Into<String>,
        ended_s: f64,
    ) -> Result<RepEnd, FsError> {
        let end = RepEnd {
            status,
            reason: reason.into(),
            samples: self.samples,
            ended_s,
            fidelity: Some(Fidelity::of(
                self.times.iter().copied(),
                self.interval_s,
                self.warmup_s,
            )),
        };
        let _ = self.file.sync_all();
        fsio::write_atomic(
            &self.rep.end_json(),
            &serde_json::to_vec_pretty(&end).expect("end serializes"),
        )?;
        Ok(end)
    }
}

/// A repetition loaded from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub dir: PathBuf,
    pub meta: RepMeta,
    /// `None` when the repetition never finished (the harness died).
    pub end: Option<RepEnd>,
    pub samples: Vec<Sample>,
}

/// Why a trace could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{path}: not a leakbench trace file: {msg} (fix: point at a run directory written by `leakbench run`)")]
    Format { path: PathBuf, msg: String },
    #[error("{path}: trace format {found} but this leakbench reads format {TRACE_FORMAT} (fix: re-run the scenarios with this version)")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: a service recorded live (`leakbench record`) has no ground truth to score (fix: `leakbench replay` and `leakbench plot` show its alarms unjudged)")]
    NoTruth { path: PathBuf },
}

/// A live recording loaded from disk: a [`Trace`] without a scenario ([`LiveMeta`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub dir: PathBuf,
    pub meta: LiveMeta,
    /// `None` when the recording never finished (the harness died).
    pub end: Option<RepEnd>,
    pub samples: Vec<Sample>,
}

impl Trace {
    /// The onset: the first sample's measured truth that has one, else the declared one
    /// ([`RepMeta::declared_onset_s`]).
    pub fn onset_s(&self) -> Option<f64> {
        self.measured_onset_s().or(self.meta.declared_onset_s)
    }

    /// The onset the program measured: the first sample's truth that has one.
    pub fn measured_onset_s(&self) -> Option<f64> {
        self.samples.iter().find_map(|s| s.truth.as_ref()?.onset_s)
    }

    /// Whether [`Trace::onset_s`] is the scenario's declaration rather than a measurement.
    pub fn onset_declared(&self) -> bool {
        self.measured_onset_s().is_none() && self.meta.declared_onset_s.is_some()
    }
}

/// Loads a repetition's `meta.json`, behind [`RepDir::read_meta_json`]'s format gate. A live
/// recording's is [`TraceError::NoTruth`].
pub fn load_meta(rep: &RepDir) -> Result<RepMeta, TraceError> {
    let value = rep.read_meta_json()?;
    if value.get(LIVE_KEY).is_some() {
        return Err(TraceError::NoTruth {
            path: rep.meta_json(),
        });
    }
    serde_json::from_value(value).map_err(|e| TraceError::Format {
        path: rep.meta_json(),
        msg: e.to_string(),
    })
}

/// The key of `meta.json` that marks a live recording ([`LiveMeta::live`]).
const LIVE_KEY: &str = "live";

/// Whether the repetition is a live recording (its `meta.json` says so; an unreadable one is
/// not).
pub fn is_live(rep: &RepDir) -> bool {
    rep.read_meta_json()
        .is_ok_and(|v| v.get(LIVE_KEY).is_some())
}

/// Whether any repetition under `run_dir` is a live recording.
pub fn holds_live(run_dir: &Path) -> bool {
    RunDir::new(run_dir)
        .reps()
        .is_ok_and(|reps| reps.iter().any(is_live))
}

/// Loads a live recording; a scenario's repetition is [`TraceError::Format`].
pub fn load_recording(rep: &RepDir) -> Result<Recording, TraceError> {
    let meta: LiveMeta =
        serde_json::from_value(rep.read_meta_json()?).map_err(|e| TraceError::Format {
            path: rep.meta_json(),
            msg: format!("not a live recording: {e}"),
        })?;
    Ok(Recording {
        dir: rep.path().to_path_buf(),
        meta,
        end: load_end(rep)?,
        samples: load_samples(rep)?,
    })
}

/// Loads every live recording of the run directory `run_dir`, in [`RunDir::reps`] order;
/// any other repetition there is [`TraceError::Format`] (a run is one kind or the other).
pub fn load_recordings(run_dir: &Path) -> Result<Vec<Recording>, TraceError> {
    RunDir::new(run_dir)
        .reps()?
        .iter()
        .map(load_recording)
        .collect()
}

/// Loads a repetition's `end.json`; `None` while it is unfinished.
pub fn load_end(rep: &RepDir) -> Result<Option<RepEnd>, TraceError> {
    if !rep.is_finished() {
        return Ok(None);
    }
    let path = rep.end_json();
    let text = fsio::read_to_string(&path)?;
    let end = serde_json::from_str(&text).map_err(|e| TraceError::Format {
        path,
        msg: e.to_string(),
    })?;
    Ok(Some(end))
}

/// Loads one repetition.
pub fn load(rep: &RepDir) -> Result<Trace, TraceError> {
    let meta = load_meta(rep)?;
    let end = load_end(rep)?;
    Ok(Trace {
        dir: rep.path().to_path_buf(),
        meta,
        end,
        samples: load_samples(rep)?,
    })
}

/// The samples of `trace.jsonl`, a torn last line left out.
fn load_samples(rep: &RepDir) -> Result<Vec<Sample>, TraceError> {
    let trace_path = rep.trace_jsonl();
    let text = fsio::read_to_string(&trace_path)?;
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let complete = if text.ends_with('\n') {
        lines.len()
    } else {
        lines.len().saturating_sub(1)
    };
    for (i, line) in lines.iter().take(complete).enumerate() {
        let s: Sample = serde_json::from_str(line).map_err(|e| TraceError::Format {
            path: trace_path.clone(),
            msg: format!("line {}: {e}", i + 1),
        })?;
        samples.push(s);
    }
    Ok(samples)
}

/// Loads every repetition of the run directory `run_dir`, in [`RunDir::reps`] order.
pub fn load_run(run_dir: &Path) -> Result<Vec<Trace>, TraceError> {
    RunDir::new(run_dir).reps()?.iter().map(load).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sample::Truth;

    #[test]
    fn end_status_displays_as_end_json_spells_it() {
        for s in [
            EndStatus::Completed,
            EndStatus::KilledAtCap,
            EndStatus::Crashed,
            EndStatus::NotReady,
            EndStatus::Interrupted,
            EndStatus::Error,
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }

    pub(crate) fn meta() -> RepMeta {
        let text = r#"
fixture = "fx"
duration_s = 10.0
[leak]
onset_s = 2.0
[truth]
leaking = true
class = "map"
site = 'main\.f'
"#;
        let scenario = crate::scenario::parse(Path::new("scenarios/t.toml"), text, None).unwrap();
        RepMeta {
            format: TRACE_FORMAT,
            harness_version: "test".into(),
            args: scenario.fixture_args(0),
            scenario,
            rep: 0,
            seed: 1,
            go_version: "go1.26.8".into(),
            goexperiment: "goroutineleakprofile".into(),
            gogc: "100".into(),
            gomemlimit: "off".into(),
            gomaxprocs: "2".into(),
            fixture_hash: "abc".into(),
            interval_s: 0.5,
            goroutineleak: true,
            goleak_period_s: None,
            declared_onset_s: None,
            axes: Default::default(),
            runtime: None,
        }
    }

    #[test]
    fn a_meta_without_axes_writes_and_reads_as_before() {
        let m = meta();
        let json = serde_json::to_value(&m).unwrap();
        // No axes, no runtime facts: the keys are absent, so older readers and the replay
        // gate's traces see the same file.
        assert!(
            json.get("axes").is_none() && json.get("runtime").is_none(),
            "{json}"
        );
        let back: RepMeta = serde_json::from_value(json).unwrap();
        assert!(back.axes.is_empty() && back.runtime.is_none());
    }

    #[test]
    fn runtime_facts_agree_with_the_values_set() {
        let f = RuntimeFacts {
            go_version: "go1.26.8-X:goroutineleakprofile".into(),
            gomaxprocs: 2,
            gogc: "off".into(),
            gomemlimit: (64u64 << 20).to_string(),
        };
        assert!(f.agrees(Axis::Go, "go1.26.8"));
        assert!(!f.agrees(Axis::Go, "go1.27.3"));
        assert!(f.agrees(Axis::Gogc, "off") && !f.agrees(Axis::Gogc, "100"));
        assert!(f.agrees(Axis::Gomemlimit, "64MiB") && !f.agrees(Axis::Gomemlimit, "off"));
        assert!(f.agrees(Axis::Gomaxprocs, "2") && !f.agrees(Axis::Gomaxprocs, "1"));
    }

    #[test]
    fn write_then_load_round_trips_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let rep = RunDir::new(dir.path()).rep("t", 0);
        let mut w = TraceWriter::create(&rep, &meta()).unwrap();
        for i in 0..3 {
            let s = Sample {
                t: i as f64,
                truth: Some(Truth {
                    onset_s: (i > 0).then_some(1.5),
                    units: i,
                    site: "main.f".into(),
                }),
                ..Default::default()
            };
            w.append(&s).unwrap();
        }
        // Unfinished: no end.json; a torn line at the end.
        std::fs::OpenOptions::new()
            .append(true)
            .open(rep.trace_jsonl())
            .unwrap()
            .write_all(b"{\"t\": 3.0, \"metr")
            .unwrap();
        let t = load(&rep).unwrap();
        assert_eq!(t.samples.len(), 3);
        assert!(t.end.is_none());
        assert_eq!(t.onset_s(), Some(1.5));
        assert_eq!(t.meta, meta());
        assert_eq!(load_run(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn a_live_recording_loads_only_as_a_recording() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let live = LiveMeta {
            format: TRACE_FORMAT,
            harness_version: "test".into(),
            live: LiveSource {
                url: "http://localhost:6060".into(),
                addr: "127.0.0.1:6060".into(),
                pid: Some(7),
            },
            name: "svc".into(),
            rep: 0,
            started: "2026-01-01T00:00:00Z".into(),
            interval_s: 0.5,
            duration_s: 10.0,
            warmup_s: 0.0,
            probes: ProbeSet::default(),
        };
        let rep = run.rep("svc", 0);
        let mut w = TraceWriter::create_live(&rep, &live).unwrap();
        w.declare_onset(3.0).unwrap(); // nothing to declare: meta.json is unchanged
        w.append(&Sample {
            t: 0.1,
            ..Default::default()
        })
        .unwrap();
        w.finish(EndStatus::Crashed, "the service went away", 0.2)
            .unwrap();
        let r = load_recording(&rep).unwrap();
        assert_eq!((r.meta, r.samples.len()), (live, 1));
        assert_eq!(r.end.unwrap().status, EndStatus::Crashed);
        assert!(is_live(&rep) && holds_live(dir.path()));
        match load(&rep) {
            Err(TraceError::NoTruth { path }) => assert_eq!(path, rep.meta_json()),
            other => panic!("{other:?}"),
        }
        // A scenario's repetition is not a recording.
        let other = run.rep("t", 0);
        TraceWriter::create(&other, &meta()).unwrap();
        assert!(!is_live(&other));
        assert!(matches!(
            load_recording(&other),
            Err(TraceError::Format { .. })
        ));
    }

    #[test]
    fn finished_rep_has_end_and_wrong_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rep = RunDir::new(dir.path()).rep("t", 1);
        let w = TraceWriter::create(&rep, &meta()).unwrap();
        w.finish(EndStatus::KilledAtCap, "rss 1.1 GiB > cap 1 GiB", 4.0)
            .unwrap();
        let t = load(&rep).unwrap();
        assert_eq!(t.end.unwrap().status, EndStatus::KilledAtCap);
        let m = std::fs::read_to_string(rep.meta_json()).unwrap();
        std::fs::write(
            rep.meta_json(),
            m.replace("\"format\": 1", "\"format\": 99"),
        )
        .unwrap();
        let e = load(&rep).unwrap_err();
        assert!(e.to_string().contains("format 99"), "{e}");
    }
}
