//! The run directory: where every file of a run lives.
//!
//! ```text
//! RUN_DIR/
//!   run.json        what was run ([`RunInfo`]): written by `run` and `merge`, read after
//!   merge.json      a merged run only: where its repetitions came from (`merge`)
//!   traces/<cell>/rep-<k>/   <cell> is the scenario's name, or `<scenario>@<axes>` in a run
//!                            that sweeps axes (`goroutine-x@go=go1.27.3,GOGC=50`)
//!     meta.json     written before the first sample (atomically): scenario, Go version, GOGC, …
//!                   (a live recording's: where and how it was read, and no scenario)
//!     trace.jsonl   one Sample per line, appended and flushed as each is taken
//!     end.json      written last (atomically): how the repetition ended
//!     fixture.log   the fixture's stdout and stderr (16 MiB per start, then a cut marker)
//!   scores.csv      one row per scenario × detector × repetition (replay)
//!   alarms.csv      a live recording's instead: each detector's first alarm, unjudged (replay)
//!   summary.json    the aggregates, machine-readable (replay)
//!   summary.md      the aggregates as Markdown tables (replay)
//!   sweep.csv       the threshold sweep: recall and false alarms per threshold scale (replay)
//!   fidelity.csv    per repetition: how well its samples kept their schedule, judged or not (replay)
//!   plots/          every chart, SVG and PNG (report)
//!   report.md       the report, charts as PNG images (report)
//!   report.html     the report, charts inline as SVG (report)
//!   overhead.csv    optional: the overhead study's rows, when it was pointed here
//!   goker/          run-all's GoKer section: a GoKer output directory (`leakbench goker`'s
//!                   layout, [`crate::goker::command`]), or `not-run.txt`, one line saying why
//! ```
//! A repetition is finished when `end.json` exists; a crash leaves a trace without it, which
//! `run --resume` redoes (as it redoes one the harness cut short). Every `meta.json` names its
//! trace format; a repetition in another format than [`TRACE_FORMAT`] is refused at one gate
//! ([`RepDir::read_meta_json`]), for loading and merging alike. [`RunDir::open`] and
//! [`RunDir::open_recorded`] refuse a path that is no run directory, in one line.
//!
//! Owns the layout (every file name and path of a run), `run.json` ([`RunInfo`]) and the trace
//! format version. Must not say what a repetition's files hold ([`crate::trace`]) or what a
//! result file holds ([`crate::present::export`], [`crate::evaluate::sweep`],
//! [`crate::fidelity`], [`crate::present::report`]); must not sample, score or draw.

use crate::axes::{AxisValues, Grid};
use crate::bad_input::BadInput;
use crate::fsio::{self, FsError};
use crate::record::probe::ProbeSet;
use crate::record::run::{Machine, Shard};
use crate::scenario::Scenario;
use crate::trace::TraceError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The trace format this leakbench writes and reads; bumped when a repetition's files change
/// incompatibly.
pub const TRACE_FORMAT: u32 = 1;

/// What was run: [`RunInfo`].
pub const RUN_JSON: &str = "run.json";
/// A merged run's inputs.
pub const MERGE_JSON: &str = "merge.json";
/// The repetitions, one directory per scenario × repetition below it.
pub const TRACES_DIR: &str = "traces";
/// A repetition's settings, fixed before it starts.
pub const META_JSON: &str = "meta.json";
/// A repetition's samples, one per line.
pub const TRACE_JSONL: &str = "trace.jsonl";
/// How a repetition ended; its presence marks the repetition finished.
pub const END_JSON: &str = "end.json";
/// The fixture's stdout and stderr.
pub const FIXTURE_LOG: &str = "fixture.log";
/// One row per scenario × detector × repetition.
pub const SCORES_CSV: &str = "scores.csv";
/// The aggregates, machine-readable.
pub const SUMMARY_JSON: &str = "summary.json";
/// The aggregates as Markdown tables.
pub const SUMMARY_MD: &str = "summary.md";
/// The threshold sweep: recall and false-alarm rate per detector and threshold scale.
pub const SWEEP_CSV: &str = "sweep.csv";
/// Time-to-OOM forecasts per killed repetition and forecaster, and every forecast made.
pub const FORECAST_CSV: &str = "forecast.csv";
pub const FORECAST_POINTS_CSV: &str = "forecast-points.csv";
/// Per repetition: sample fidelity and whether it was judged.
pub const FIDELITY_CSV: &str = "fidelity.csv";
/// Every chart, SVG and PNG.
pub const PLOTS_DIR: &str = "plots";
/// The report as Markdown, charts as PNG images.
pub const REPORT_MD: &str = "report.md";
/// The report as one self-contained page, charts inline as SVG.
pub const REPORT_HTML: &str = "report.html";
/// The overhead study's throughput rows, if it was pointed at the run directory.
pub const OVERHEAD_CSV: &str = "overhead.csv";
/// `run-all`'s GoKer section ([`crate::goker::section`]).
pub const GOKER_DIR: &str = "goker";
/// In [`GOKER_DIR`], when the section was not run: why, in one line.
pub const GOKER_NOT_RUN: &str = "not-run.txt";
/// A live recording's replay: every detector's first alarm, not judged (no ground truth).
pub const ALARMS_CSV: &str = "alarms.csv";

/// A repetition's directory is `rep-<k>` below its cell's.
const REP_PREFIX: &str = "rep-";

/// Between a scenario's name and its matrix point in a cell's directory name (scenario names
/// never hold it).
const CELL_SEP: char = '@';

/// What `run.json` records about a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub harness_version: String,
    pub go_version: String,
    pub scenarios: Vec<String>,
    /// The scenarios as loaded, so `--resume` completes the same definitions, even those
    /// given as paths outside `scenarios/`. Absent in runs recorded before it existed.
    #[serde(default)]
    pub scenario_defs: Vec<Scenario>,
    pub reps: u32,
    pub shard: Option<Shard>,
    pub jobs: usize,
    pub probes: ProbeSet,
    pub machine: Machine,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
    /// The axes swept (`--matrix`, `--matrix-file`), `go` values as paths; absent when none.
    #[serde(default, skip_serializing_if = "Grid::is_empty")]
    pub matrix: Grid,
}

/// A run directory, existing or to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run directory at `root`, whether or not anything is there yet (for writers).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunDir { root: root.into() }
    }

    /// An existing run directory: one holding `run.json` or `traces/`. Anything else is bad
    /// input, in one line naming the path and the fix.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BadInput> {
        let run = RunDir::new(root);
        if run.run_json().exists() || run.traces_dir().is_dir() {
            return Ok(run);
        }
        Err(BadInput(format!(
            "{}: no {RUN_JSON} or {TRACES_DIR}/ there, not a run directory (fix: pass a directory written by `leakbench run`)",
            run.root.display()
        )))
    }

    /// An existing run directory with repetitions on disk (`traces/` is there): what scoring
    /// needs, where [`RunDir::open`] also takes a run that has recorded nothing yet.
    pub fn open_recorded(root: impl Into<PathBuf>) -> Result<Self, BadInput> {
        let run = RunDir::new(root);
        if run.traces_dir().is_dir() {
            return Ok(run);
        }
        Err(BadInput(format!(
            "{}: no {TRACES_DIR}/ there, not a run directory (fix: pass a directory written by `leakbench run`)",
            run.root.display()
        )))
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn run_json(&self) -> PathBuf {
        self.root.join(RUN_JSON)
    }

    pub fn merge_json(&self) -> PathBuf {
        self.root.join(MERGE_JSON)
    }

    pub fn traces_dir(&self) -> PathBuf {
        self.root.join(TRACES_DIR)
    }

    pub fn scores_csv(&self) -> PathBuf {
        self.root.join(SCORES_CSV)
    }

    pub fn summary_json(&self) -> PathBuf {
        self.root.join(SUMMARY_JSON)
    }

    pub fn summary_md(&self) -> PathBuf {
        self.root.join(SUMMARY_MD)
    }

    pub fn sweep_csv(&self) -> PathBuf {
        self.root.join(SWEEP_CSV)
    }

    /// Time-to-OOM forecasts, one row per killed repetition and forecaster.
    pub fn forecast_csv(&self) -> PathBuf {
        self.root.join(FORECAST_CSV)
    }

    /// Every time-to-OOM forecast, for the chart.
    pub fn forecast_points_csv(&self) -> PathBuf {
        self.root.join(FORECAST_POINTS_CSV)
    }

    pub fn fidelity_csv(&self) -> PathBuf {
        self.root.join(FIDELITY_CSV)
    }

    /// `run-all`'s GoKer section.
    pub fn goker_dir(&self) -> PathBuf {
        self.root.join(GOKER_DIR)
    }

    pub fn plots_dir(&self) -> PathBuf {
        self.root.join(PLOTS_DIR)
    }

    pub fn report_md(&self) -> PathBuf {
        self.root.join(REPORT_MD)
    }

    pub fn report_html(&self) -> PathBuf {
        self.root.join(REPORT_HTML)
    }

    pub fn overhead_csv(&self) -> PathBuf {
        self.root.join(OVERHEAD_CSV)
    }

    /// A live recording's first alarms, unjudged.
    pub fn alarms_csv(&self) -> PathBuf {
        self.root.join(ALARMS_CSV)
    }

    /// Repetition `rep` of `scenario` in a run without axes.
    pub fn rep(&self, scenario: &str, rep: u32) -> RepDir {
        self.cell_rep(scenario, &AxisValues::default(), rep)
    }

    /// Repetition `rep` of the cell `scenario` × `axes`: `traces/<scenario>/rep-<k>` without
    /// axes, `traces/<scenario>@<axes label>/rep-<k>` with them, so cells never share a
    /// directory.
    pub fn cell_rep(&self, scenario: &str, axes: &AxisValues, rep: u32) -> RepDir {
        let cell = if axes.is_empty() {
            scenario.to_string()
        } else {
            format!("{scenario}{CELL_SEP}{}", axes.label())
        };
        RepDir::at(
            self.traces_dir()
                .join(cell)
                .join(format!("{REP_PREFIX}{rep}")),
        )
    }

    /// Every repetition on disk (each with a `meta.json`, finished or not), sorted by scenario
    /// then repetition number.
    pub fn reps(&self) -> Result<Vec<RepDir>, FsError> {
        let traces = self.traces_dir();
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&traces)
            .map_err(|e| FsError::new("could not read run directory", &traces, e))?;
        for sc in rd.flatten() {
            let Ok(reps) = std::fs::read_dir(sc.path()) else {
                continue;
            };
            for r in reps.flatten() {
                let rep = RepDir::at(r.path());
                if rep.meta_json().exists() {
                    out.push(rep);
                }
            }
        }
        out.sort_by_key(|r| {
            (
                r.path.parent().map(Path::to_path_buf),
                r.rep().unwrap_or(u32::MAX),
            )
        });
        Ok(out)
    }

    /// Whether `run.json` is there (a run directory assembled by hand may lack one).
    pub fn has_info(&self) -> bool {
        self.run_json().exists()
    }

    /// Reads `run.json`. A missing, unreadable or malformed one is bad input.
    pub fn load_info(&self) -> Result<RunInfo, BadInput> {
        let p = self.run_json();
        let bad = |problem: String| {
            BadInput(format!(
                "{}: {problem} (fix: point at a run directory written by `leakbench run`)",
                p.display()
            ))
        };
        let text = std::fs::read_to_string(&p).map_err(|e| bad(format!("cannot read: {e}")))?;
        serde_json::from_str(&text).map_err(|e| bad(format!("not a leakbench run.json: {e}")))
    }

    /// Writes `run.json` (atomically).
    pub fn save_info(&self, info: &RunInfo) -> Result<(), FsError> {
        let json = serde_json::to_vec_pretty(info).expect("run info serializes");
        fsio::write_atomic(&self.run_json(), &json)
    }
}

impl AsRef<Path> for RunDir {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}

/// One repetition's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepDir {
    path: PathBuf,
}

impl RepDir {
    /// A repetition's directory wherever it is (inside a run directory, ask
    /// [`RunDir::rep`]; a benchmark's copied trace may stand alone).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        RepDir { path: path.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta_json(&self) -> PathBuf {
        self.path.join(META_JSON)
    }

    pub fn trace_jsonl(&self) -> PathBuf {
        self.path.join(TRACE_JSONL)
    }

    pub fn end_json(&self) -> PathBuf {
        self.path.join(END_JSON)
    }

    pub fn fixture_log(&self) -> PathBuf {
        self.path.join(FIXTURE_LOG)
    }

    /// Every file a repetition may hold, in the order they are first written.
    pub fn files(&self) -> [PathBuf; 4] {
        [
            self.meta_json(),
            self.trace_jsonl(),
            self.fixture_log(),
            self.end_json(),
        ]
    }

    /// Finished: `end.json` is there (whatever the ending). A crash leaves it out.
    pub fn is_finished(&self) -> bool {
        self.end_json().exists()
    }

    /// The scenario it belongs to: the name of the directory above it, up to its matrix
    /// point if any.
    pub fn scenario(&self) -> String {
        let cell = self.cell();
        match cell.split_once(CELL_SEP) {
            Some((s, _)) => s.to_string(),
            None => cell,
        }
    }

    /// Its cell's directory name: the scenario, with its matrix point if any.
    pub fn cell(&self) -> String {
        file_name(self.path.parent())
    }

    /// The matrix point its directory names (empty without one, or if the name is no
    /// label): where it sits, which `meta.json`'s `axes` states.
    pub fn axes(&self) -> AxisValues {
        self.cell()
            .split_once(CELL_SEP)
            .and_then(|(_, l)| AxisValues::parse_label(l))
            .unwrap_or_default()
    }

    /// Its own directory name, `rep-<k>`.
    pub fn name(&self) -> String {
        file_name(Some(&self.path))
    }

    /// The repetition number `k`, if the directory is named `rep-<k>`.
    pub fn rep(&self) -> Option<u32> {
        self.name().strip_prefix(REP_PREFIX)?.parse().ok()
    }

    /// The same repetition's place in another run directory (for copying it there).
    pub fn in_run(&self, run: &RunDir) -> RepDir {
        RepDir::at(run.traces_dir().join(self.cell()).join(self.name()))
    }

    /// `meta.json` as JSON, once its `format` key says this leakbench reads the repetition:
    /// the one trace-format gate. Not JSON is [`TraceError::Format`]; another format (or
    /// none) is [`TraceError::Version`].
    pub fn read_meta_json(&self) -> Result<serde_json::Value, TraceError> {
        let path = self.meta_json();
        let text = fsio::read_to_string(&path)?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| TraceError::Format {
                path: path.clone(),
                msg: e.to_string(),
            })?;
        let found = value.get("format").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        if found != TRACE_FORMAT {
            return Err(TraceError::Version { path, found });
        }
        Ok(value)
    }
}

impl AsRef<Path> for RepDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

fn file_name(p: Option<&Path>) -> String {
    p.and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bad_input::is_bad_input;
    use crate::trace::{tests::meta, EndStatus, TraceWriter};

    fn info() -> RunInfo {
        let m = meta();
        RunInfo {
            harness_version: m.harness_version,
            go_version: m.go_version,
            scenarios: vec![m.scenario.name.clone()],
            scenario_defs: vec![m.scenario],
            reps: 2,
            shard: Some(Shard { index: 1, count: 2 }),
            jobs: 1,
            probes: ProbeSet::default(),
            machine: Machine::this(),
            started: "2025-01-01T00:00:00Z".into(),
            matrix: Grid::default(),
        }
    }

    #[test]
    fn layout() {
        let run = RunDir::new("/r");
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(run.path(), Path::new("/r"));
        assert_eq!(run.run_json(), p("/r/run.json"));
        assert_eq!(run.merge_json(), p("/r/merge.json"));
        assert_eq!(run.traces_dir(), p("/r/traces"));
        assert_eq!(run.scores_csv(), p("/r/scores.csv"));
        assert_eq!(run.summary_json(), p("/r/summary.json"));
        assert_eq!(run.summary_md(), p("/r/summary.md"));
        assert_eq!(run.sweep_csv(), p("/r/sweep.csv"));
        assert_eq!(run.fidelity_csv(), p("/r/fidelity.csv"));
        assert_eq!(run.plots_dir(), p("/r/plots"));
        assert_eq!(run.report_md(), p("/r/report.md"));
        assert_eq!(run.report_html(), p("/r/report.html"));
        assert_eq!(run.overhead_csv(), p("/r/overhead.csv"));
        assert_eq!(run.alarms_csv(), p("/r/alarms.csv"));
        let rep = run.rep("map-leak", 3);
        assert_eq!(rep.path(), Path::new("/r/traces/map-leak/rep-3"));
        assert_eq!(
            rep.files(),
            [
                p("/r/traces/map-leak/rep-3/meta.json"),
                p("/r/traces/map-leak/rep-3/trace.jsonl"),
                p("/r/traces/map-leak/rep-3/fixture.log"),
                p("/r/traces/map-leak/rep-3/end.json"),
            ]
        );
        assert_eq!(
            (rep.scenario(), rep.name(), rep.rep()),
            ("map-leak".into(), "rep-3".into(), Some(3))
        );
        assert_eq!(
            rep.in_run(&RunDir::new("/m")),
            RunDir::new("/m").rep("map-leak", 3)
        );
        assert_eq!(RepDir::at("/x/weird").rep(), None);
        assert_eq!(rep.cell(), "map-leak");
        assert!(rep.axes().is_empty());
    }

    #[test]
    fn cells_of_a_sweep_keep_apart() {
        let run = RunDir::new("/r");
        let mut a = AxisValues::default();
        a.insert(crate::axes::Axis::Gogc, "50");
        let rep = run.cell_rep("map-leak", &a, 1);
        assert_eq!(rep.path(), Path::new("/r/traces/map-leak@GOGC=50/rep-1"));
        assert_eq!(
            (rep.scenario(), rep.cell(), rep.axes()),
            ("map-leak".into(), "map-leak@GOGC=50".into(), a.clone())
        );
        assert_ne!(rep, run.rep("map-leak", 1));
        assert_eq!(
            rep.in_run(&RunDir::new("/m")),
            RunDir::new("/m").cell_rep("map-leak", &a, 1)
        );
    }

    #[test]
    fn open_refuses_a_directory_that_is_not_a_run_in_one_line() {
        let t = tempfile::tempdir().unwrap();
        for missing in [t.path().join("nope"), t.path().to_path_buf()] {
            let e = RunDir::open(&missing).unwrap_err();
            let s = e.to_string();
            assert!(
                s.contains(&missing.display().to_string())
                    && s.contains("not a run directory")
                    && s.contains("fix: pass a directory written by `leakbench run`")
                    && !s.contains('\n'),
                "{s}"
            );
            assert!(is_bad_input(&anyhow::Error::new(e)));
        }
        // Either mark makes a run directory: run.json (a run that has recorded nothing yet)
        // or traces/ (assembled by hand).
        let with_info = t.path().join("a");
        RunDir::new(&with_info).save_info(&info()).unwrap();
        assert_eq!(RunDir::open(&with_info).unwrap().path(), with_info);
        let with_traces = t.path().join("b");
        std::fs::create_dir_all(with_traces.join("traces")).unwrap();
        assert!(RunDir::open(&with_traces).is_ok());
        // Scoring needs repetitions: run.json alone is not enough.
        assert!(RunDir::open_recorded(&with_traces).is_ok());
        let e = RunDir::open_recorded(&with_info).unwrap_err().to_string();
        assert!(
            e.contains(&with_info.display().to_string())
                && e.contains("no traces/ there")
                && e.contains("fix: pass a directory written by `leakbench run`"),
            "{e}"
        );
    }

    #[test]
    fn run_json_round_trips_and_a_bad_one_is_bad_input() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::new(t.path());
        assert!(!run.has_info());
        assert!(run
            .load_info()
            .unwrap_err()
            .to_string()
            .contains("run.json"));
        run.save_info(&info()).unwrap();
        assert!(run.has_info());
        let back = run.load_info().unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(info()).unwrap()
        );
        std::fs::write(run.run_json(), "{\"harness_version\": 1").unwrap();
        let e = run.load_info().unwrap_err().to_string();
        assert!(
            e.contains("not a leakbench run.json") && e.contains("fix: point at a run directory"),
            "{e}"
        );
    }

    #[test]
    fn lists_finished_and_unfinished_repetitions_in_order() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::new(t.path());
        let mut m = meta();
        // rep-10 sorts after rep-2 (by number, not by name).
        for (scenario, rep, finish) in [("b", 10, true), ("b", 2, false), ("a", 0, true)] {
            m.scenario.name = scenario.into();
            m.rep = rep;
            let w = TraceWriter::create(&run.rep(scenario, rep), &m).unwrap();
            if finish {
                w.finish(EndStatus::Completed, "done", 1.0).unwrap();
            }
        }
        // A directory without meta.json is no repetition.
        std::fs::create_dir_all(run.traces_dir().join("b/rep-5")).unwrap();
        let reps = run.reps().unwrap();
        let seen: Vec<(String, Option<u32>, bool)> = reps
            .iter()
            .map(|r| (r.scenario(), r.rep(), r.is_finished()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("a".into(), Some(0), true),
                ("b".into(), Some(2), false),
                ("b".into(), Some(10), true),
            ]
        );
        assert!(RunDir::new(t.path().join("none")).reps().is_err());
    }

    #[test]
    fn another_trace_format_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let rep = RunDir::new(t.path()).rep("t", 0);
        TraceWriter::create(&rep, &meta()).unwrap();
        assert_eq!(rep.read_meta_json().unwrap()["format"], TRACE_FORMAT);
        let text = std::fs::read_to_string(rep.meta_json()).unwrap();
        std::fs::write(
            rep.meta_json(),
            text.replace("\"format\": 1", "\"format\": 99"),
        )
        .unwrap();
        match rep.read_meta_json() {
            Err(TraceError::Version { path, found: 99 }) => assert_eq!(path, rep.meta_json()),
            other => panic!("{other:?}"),
        }
        std::fs::write(rep.meta_json(), "not json").unwrap();
        assert!(matches!(
            rep.read_meta_json(),
            Err(TraceError::Format { .. })
        ));
    }
}
