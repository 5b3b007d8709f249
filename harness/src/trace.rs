//! Traces on disk: one directory per scenario × repetition.
//!
//! ```text
//! RUN_DIR/traces/<scenario>/rep-<k>/
//!   meta.json     written before the first sample (atomically): scenario, Go version, GOGC, …
//!   trace.jsonl   one Sample per line, appended and flushed as each is taken
//!   end.json      written last (atomically): how the repetition ended
//!   fixture.log   the fixture's stdout and stderr (16 MiB per start, then a cut marker)
//! ```
//! A repetition is finished when `end.json` exists; a crash leaves a trace without it, which
//! `run --resume` redoes. A torn last line (crash mid-append) is ignored on load.
//! Owns this layout and its (de)serialization; must not sample, detect or score.

use crate::fsio::{self, FsError};
use crate::sample::Sample;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bumped when the trace layout changes incompatibly.
pub const TRACE_FORMAT: u32 = 1;

/// Everything about a repetition that is fixed before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepMeta {
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
}

/// Where a repetition's files live.
pub fn rep_dir(run_dir: &Path, scenario: &str, rep: u32) -> PathBuf {
    run_dir
        .join("traces")
        .join(scenario)
        .join(format!("rep-{rep}"))
}

/// Appends samples to `trace.jsonl`, one flushed line each, so a crash loses at most the
/// sample being written.
pub struct TraceWriter {
    dir: PathBuf,
    file: std::fs::File,
    samples: u64,
}

impl TraceWriter {
    /// Creates the repetition directory, writes `meta.json` and opens an empty trace,
    /// discarding any unfinished attempt at this repetition.
    pub fn create(dir: &Path, meta: &RepMeta) -> Result<Self, FsError> {
        fsio::create_dir_all(dir)?;
        let _ = std::fs::remove_file(dir.join("end.json"));
        let json = serde_json::to_vec_pretty(meta).expect("meta serializes");
        fsio::write_atomic(&dir.join("meta.json"), &json)?;
        let path = dir.join("trace.jsonl");
        let file =
            std::fs::File::create(&path).map_err(|e| FsError::new("could not create", &path, e))?;
        Ok(TraceWriter {
            dir: dir.to_path_buf(),
            file,
            samples: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn append(&mut self, s: &Sample) -> Result<(), FsError> {
        let mut line = serde_json::to_vec(s).expect("sample serializes");
        line.push(b'\n');
        let path = self.dir.join("trace.jsonl");
        self.file
            .write_all(&line)
            .and_then(|_| self.file.flush())
            .map_err(|e| FsError::new("could not append to", &path, e))?;
        self.samples += 1;
        Ok(())
    }

    /// Writes `end.json`: the repetition is finished.
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
        };
        let _ = self.file.sync_all();
        fsio::write_atomic(
            &self.dir.join("end.json"),
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
}

impl Trace {
    /// The measured onset: the first sample's truth that has one.
    pub fn onset_s(&self) -> Option<f64> {
        self.samples.iter().find_map(|s| s.truth.as_ref()?.onset_s)
    }
}

/// Loads one repetition directory.
pub fn load(dir: &Path) -> Result<Trace, TraceError> {
    let meta_path = dir.join("meta.json");
    let meta_text = fsio::read_to_string(&meta_path)?;
    let version: serde_json::Value =
        serde_json::from_str(&meta_text).map_err(|e| TraceError::Format {
            path: meta_path.clone(),
            msg: e.to_string(),
        })?;
    let found = version.get("format").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if found != TRACE_FORMAT {
        return Err(TraceError::Version {
            path: meta_path,
            found,
        });
    }
    let meta: RepMeta = serde_json::from_value(version).map_err(|e| TraceError::Format {
        path: meta_path.clone(),
        msg: e.to_string(),
    })?;
    let end_path = dir.join("end.json");
    let end = if end_path.exists() {
        let t = fsio::read_to_string(&end_path)?;
        Some(serde_json::from_str(&t).map_err(|e| TraceError::Format {
            path: end_path.clone(),
            msg: e.to_string(),
        })?)
    } else {
        None
    };
    let trace_path = dir.join("trace.jsonl");
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
    Ok(Trace {
        dir: dir.to_path_buf(),
        meta,
        end,
        samples,
    })
}

/// Every repetition directory under `run_dir/traces`, sorted by scenario then repetition.
pub fn list_reps(run_dir: &Path) -> Result<Vec<PathBuf>, FsError> {
    let traces = run_dir.join("traces");
    let mut out = Vec::new();
    let rd = std::fs::read_dir(&traces)
        .map_err(|e| FsError::new("could not read run directory", &traces, e))?;
    for sc in rd.flatten() {
        let Ok(reps) = std::fs::read_dir(sc.path()) else {
            continue;
        };
        for r in reps.flatten() {
            if r.path().join("meta.json").exists() {
                out.push(r.path());
            }
        }
    }
    out.sort_by_key(|p| {
        let rep = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("rep-"))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(u32::MAX);
        (p.parent().map(Path::to_path_buf), rep)
    });
    Ok(out)
}

/// Loads every repetition of a run.
pub fn load_run(run_dir: &Path) -> Result<Vec<Trace>, TraceError> {
    list_reps(run_dir)?.iter().map(|d| load(d)).collect()
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
        }
    }

    #[test]
    fn write_then_load_round_trips_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let rep = rep_dir(dir.path(), "t", 0);
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
            .open(rep.join("trace.jsonl"))
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
    fn finished_rep_has_end_and_wrong_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rep = rep_dir(dir.path(), "t", 1);
        let w = TraceWriter::create(&rep, &meta()).unwrap();
        w.finish(EndStatus::KilledAtCap, "rss 1.1 GiB > cap 1 GiB", 4.0)
            .unwrap();
        let t = load(&rep).unwrap();
        assert_eq!(t.end.unwrap().status, EndStatus::KilledAtCap);
        let m = std::fs::read_to_string(rep.join("meta.json")).unwrap();
        std::fs::write(
            rep.join("meta.json"),
            m.replace("\"format\": 1", "\"format\": 99"),
        )
        .unwrap();
        let e = load(&rep).unwrap_err();
        assert!(e.to_string().contains("format 99"), "{e}");
    }
}
