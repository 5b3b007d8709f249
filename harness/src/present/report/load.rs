//! Reads what the report needs from a run directory, and nothing else: `run.json`,
//! `scores.csv` (written by [`crate::present::export`]), the traces, `sweep.csv` (written by
//! [`crate::evaluate::sweep`]) if the evaluation wrote one, and `overhead.csv` if the overhead
//! study wrote one there. Where each is, is [`crate::run_dir`]'s.

use crate::axes::{Axis, AxisValues};
use crate::evaluate::score::{Outcome, ScoreRow};
use crate::evaluate::sweep::{self, SweepRow};
use crate::fsio;
use crate::run_dir::{RunDir, RunInfo, OVERHEAD_CSV, SCORES_CSV, SWEEP_CSV};
use crate::scenario::{LeakClass, Observable, Role};
use crate::trace::{self, Trace};
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything about a finished run that the charts and the report show.
#[derive(Debug, Clone)]
pub struct RunView {
    pub dir: PathBuf,
    /// `None` for a run directory without `run.json` (hand-assembled traces).
    pub info: Option<RunInfo>,
    /// Every repetition, sorted by scenario then repetition.
    pub traces: Vec<Trace>,
    pub scores: Vec<ScoreRow>,
    /// Rows of `sweep.csv`; `None` for a run scored before leakbench wrote it.
    pub sweep: Option<Vec<SweepRow>>,
    /// Rows of `overhead.csv`, if present.
    pub overhead: Option<Vec<OverheadRecord>>,
}

/// A row of `scores.csv`, as written by [`crate::present::export::csv`] (columns by name, so added
/// columns do not break it).
#[derive(Debug, Deserialize)]
struct ScoreRecord {
    scenario: String,
    class: String,
    leaking: bool,
    detector: String,
    rep: u32,
    outcome: String,
    onset_s: Option<f64>,
    alarm_s: Option<f64>,
    latency_s: Option<f64>,
    oracle_s: Option<f64>,
    site: Option<String>,
    site_ok: Option<bool>,
    role: String,
    class_ok: Option<bool>,
    alarm_class: Option<String>,
    confidence: Option<f64>,
    timely: Option<bool>,
    #[serde(default)]
    note: String,
    /// The axis columns of a sweep ([`crate::axes`]), absent otherwise.
    #[serde(default, rename = "go")]
    ax_go: Option<String>,
    #[serde(default, rename = "GOGC")]
    ax_gogc: Option<String>,
    #[serde(default, rename = "GOMEMLIMIT")]
    ax_gomemlimit: Option<String>,
    #[serde(default, rename = "GOMAXPROCS")]
    ax_gomaxprocs: Option<String>,
}

impl ScoreRecord {
    fn axes(&self) -> AxisValues {
        let mut out = AxisValues::default();
        for (a, v) in [
            (Axis::Go, &self.ax_go),
            (Axis::Gogc, &self.ax_gogc),
            (Axis::Gomemlimit, &self.ax_gomemlimit),
            (Axis::Gomaxprocs, &self.ax_gomaxprocs),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                out.insert(a, v);
            }
        }
        out
    }
}

/// The columns of `overhead.csv` the chart needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OverheadRecord {
    pub fixture: String,
    pub probe_set: String,
    pub interval_s: f64,
    pub rep: u32,
    /// Throughput sampled ÷ unsampled; empty when a window was empty.
    pub ratio: Option<f64>,
}

/// What an alarm class in a `scores.csv` scored before alarms said what grew means: the
/// observable its class grows when that is one thing (`goroutine`: goroutines), unknown when
/// it is two (`context`); `None` when the name is no such class.
fn legacy_alarm_class(c: &str) -> Option<Option<Observable>> {
    let grows = LeakClass::parse(c).ok()?.legacy_grows()?;
    Some((grows.len() == 1).then(|| grows[0]))
}

/// Parses `scores.csv` text back into rows.
pub fn parse_scores(path: &Path, text: &str) -> anyhow::Result<Vec<ScoreRow>> {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rd.deserialize::<ScoreRecord>().enumerate() {
        let line = i + 2;
        let bad = |what: &str, v: &str| {
            anyhow::anyhow!(
                "{}: line {line}: unknown {what} `{v}` (fix: regenerate it with `leakbench replay`)",
                path.display()
            )
        };
        let r = rec.with_context(|| format!("{}: line {line}", path.display()))?;
        out.push(ScoreRow {
            axes: r.axes(),
            class: LeakClass::parse(&r.class).map_err(|_| bad("class", &r.class))?,
            role: Role::parse(&r.role).ok_or_else(|| bad("role", &r.role))?,
            outcome: Outcome::parse(&r.outcome).ok_or_else(|| bad("outcome", &r.outcome))?,
            alarm_class: match r.alarm_class.as_deref() {
                None | Some("") => None,
                Some(c) => match Observable::parse(c) {
                    Some(o) => Some(o),
                    None => legacy_alarm_class(c).ok_or_else(|| bad("alarm class", c))?,
                },
            },
            scenario: r.scenario,
            leaking: r.leaking,
            detector: r.detector,
            rep: r.rep,
            onset_s: r.onset_s,
            alarm_s: r.alarm_s,
            latency_s: r.latency_s,
            oracle_s: r.oracle_s,
            site: r.site.filter(|s| !s.is_empty()),
            site_ok: r.site_ok,
            class_ok: r.class_ok,
            confidence: r.confidence,
            timely: r.timely,
            note: r.note,
        });
    }
    Ok(out)
}

/// Loads a run directory for the report. Needs `scores.csv` and the traces.
pub fn load(dir: &Path) -> anyhow::Result<RunView> {
    let run = RunDir::new(dir);
    let scores_path = run.scores_csv();
    if !scores_path.exists() {
        return Err(crate::bad_input::BadInput(format!(
            "{}: no {SCORES_CSV} there, the run was not scored (fix: `leakbench replay {}` first, \
             or point at a directory written by `leakbench run-all`)",
            dir.display(),
            dir.display()
        ))
        .into());
    }
    let scores = parse_scores(&scores_path, &fsio::read_to_string(&scores_path)?)?;
    let info = if run.has_info() {
        Some(run.load_info()?)
    } else {
        None
    };
    let traces = trace::load_run(dir)
        .with_context(|| format!("could not load the traces of {}", dir.display()))?;
    let overhead_path = run.overhead_csv();
    let overhead = if overhead_path.exists() {
        let text = fsio::read_to_string(&overhead_path)?;
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        Some(
            rd.deserialize::<OverheadRecord>()
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{}: not an {OVERHEAD_CSV}", overhead_path.display()))?,
        )
    } else {
        None
    };
    Ok(RunView {
        dir: dir.to_path_buf(),
        info,
        traces,
        scores,
        sweep: load_sweep(dir)?,
        overhead,
    })
}

/// The rows of `dir/sweep.csv`, or `None` if there is none (a run scored by an older leakbench).
pub fn load_sweep(dir: &Path) -> anyhow::Result<Option<Vec<SweepRow>>> {
    let path = RunDir::new(dir).sweep_csv();
    if !path.exists() {
        return Ok(None);
    }
    let rows = sweep::parse_csv(&fsio::read_to_string(&path)?).with_context(|| {
        format!(
            "{}: not a {SWEEP_CSV} (fix: regenerate it with `leakbench replay {}`)",
            path.display(),
            dir.display()
        )
    })?;
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score::score_row;
    use crate::evaluate::score::tests::{alarm, trace};

    #[test]
    fn scores_csv_round_trips() {
        let leak = trace(true, Some(5.0));
        let rows = vec![
            score_row(
                &leak,
                "det-a",
                Some(&alarm(
                    7.25,
                    Some(Observable::GoHeap),
                    Some("main.f, \"x\""),
                )),
                Some(0.25),
            ),
            score_row(&trace(false, None), "det-a", None, None),
        ];
        let text = String::from_utf8(crate::present::export::csv::scores(&rows)).unwrap();
        let back = parse_scores(Path::new(SCORES_CSV), &text).unwrap();
        assert_eq!(back, rows);
    }

    /// Runs scored before alarms said what grew wrote a class in `alarm_class`.
    #[test]
    fn old_alarm_classes_read_as_what_they_grew() {
        let text = String::from_utf8(crate::present::export::csv::scores(&[score_row(
            &trace(true, Some(5.0)),
            "det-a",
            Some(&alarm(7.25, Some(Observable::Goroutines), None)),
            None,
        )]))
        .unwrap();
        let read = |c: &str| {
            let old = text.replace(",goroutines,", &format!(",{c},"));
            parse_scores(Path::new(SCORES_CSV), &old).map(|r| r[0].alarm_class)
        };
        assert_eq!(read("goroutine").unwrap(), Some(Observable::Goroutines));
        assert_eq!(read("cgo").unwrap(), Some(Observable::CMemory));
        assert_eq!(read("context").unwrap(), None);
        assert!(read("thread").is_err());
    }
}
