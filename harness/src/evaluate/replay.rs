//! Replay: score recorded traces. [`score_traces`] is the pure core (traces + detectors →
//! sorted [`ScoreRow`]s, with one oracle bound per leaking scenario, shared by every row of
//! it), reusable by regression gates and shard merges; [`score_set`] is the same with external
//! detectors too; [`replay_run`] loads a run directory, scores it with every registered
//! detector and writes `scores.csv`, `summary.json` (with the run's sample fidelity),
//! `summary.md`, the threshold sweep's `sweep.csv` ([`crate::evaluate::sweep`], built-in
//! detectors only) and `fidelity.csv` ([`crate::fidelity`]) into it, and, when a repetition
//! was killed at its memory cap, the time-to-OOM forecasts ([`crate::evaluate::forecast`]).
//!
//! Detectors are fed through [`crate::evaluate::detect::first_alarm`], which skips each scenario's
//! warm-up, exactly as during a live run; external ones through
//! [`crate::evaluate::detect::external`], which shows them the same samples. A detector
//! silent on a trace without the scalar it watches is not judged ([`score::judge`]).
//! Deterministic: same traces, same bytes (for an external detector: as deterministic as the
//! program).
//! Must not sample processes; owns no format (see [`crate::present::export`]).

use crate::axes::AxisValues;
use crate::evaluate::detect::external::{self, Verdict};
use crate::evaluate::detect::{self, DetectorSet, DetectorSpec, Params};
use crate::evaluate::forecast;
use crate::evaluate::oracle;
use crate::evaluate::score::{self, ScoreRow};
use crate::evaluate::sweep;
use crate::fidelity;
use crate::fsio;
use crate::present::export;
use crate::run_dir::RunDir;
use crate::trace::{self, Trace};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySummary {
    /// Repetitions loaded.
    pub traces: usize,
    /// Rows scored (traces × detectors).
    pub rows: usize,
    /// Rows that could not be judged (see [`score::Outcome::Na`]).
    pub na: usize,
    /// Detectors scored, built-in and external.
    pub detectors: usize,
    /// The files written.
    pub written: Vec<PathBuf>,
    /// The aggregates written to `summary.json`, for a caller that shows them.
    pub summary: score::Summary,
}

/// Runs every detector in `specs` (made with `params`) over every trace and scores the first
/// alarms. Every row of a leaking scenario carries the scenario's one oracle bound
/// ([`oracle::scenario_bound`], from its judged repetitions and its twins), whichever detector
/// and repetition it is. Rows are sorted by scenario, detector, repetition.
pub fn score_traces(traces: &[Trace], specs: &[DetectorSpec], params: &Params) -> Vec<ScoreRow> {
    score_with(traces, specs, &[], params)
}

/// [`score_traces`] with every detector of `set`: the external ones run as processes over the
/// traces that can be scored, and their rows judged like the built-in ones'. A detector's
/// fault on a trace makes its row NA with the fault as the note.
pub fn score_set(traces: &[Trace], set: &DetectorSet, params: &Params) -> Vec<ScoreRow> {
    score_with(traces, &set.builtin, &set.external, params)
}

fn score_with(
    traces: &[Trace],
    specs: &[DetectorSpec],
    externals: &[external::External],
    params: &Params,
) -> Vec<ScoreRow> {
    let bounds = scenario_bounds(traces);
    let mut rows = Vec::with_capacity(traces.len() * (specs.len() + externals.len()));
    let scorable: Vec<&Trace> = traces
        .iter()
        .filter(|t| score::unscorable(t).is_none())
        .collect();
    let mut verdicts = external::first_alarms(externals, &scorable).into_iter();
    for t in traces {
        let scorable = score::unscorable(t).is_none();
        let bound = bounds
            .get(&(t.meta.scenario.name.as_str(), &t.meta.axes))
            .copied()
            .flatten();
        for spec in specs {
            let alarm = scorable
                .then(|| detect::first_alarm(spec, params, &t.samples, t.meta.scenario.warmup_s))
                .flatten();
            rows.push(score::judge(t, spec, alarm.as_ref(), bound));
        }
        let judged: Vec<Verdict> = if scorable {
            verdicts.next().expect("a verdict per scorable trace")
        } else {
            Vec::new()
        };
        for (i, ext) in externals.iter().enumerate() {
            rows.push(match judged.get(i) {
                Some(Err(fault)) => {
                    let mut row = score::score_row(t, &ext.name, None, bound);
                    row.outcome = score::Outcome::Na;
                    row.note = format!("detector fault: {fault}");
                    row
                }
                Some(Ok(alarm)) => {
                    let mut row = score::score_row(t, &ext.name, alarm.as_ref(), bound);
                    // As [`score::judge`] rules for a built-in detector.
                    if let (None, Some(why)) = (alarm, score::watched_absent(t, ext.watches)) {
                        (row.outcome, row.note) = (score::Outcome::Na, why);
                    }
                    row
                }
                // Not run: the trace cannot be scored, and the row says why.
                None => score::score_row(t, &ext.name, None, bound),
            });
        }
    }
    score::sort_rows(&mut rows);
    rows
}

/// The oracle bound of each leaking cell (scenario × matrix point) among `traces`, seconds
/// (`None` where none could be computed), from the cell's judged repetitions and its twins'
/// judged ones at the same point.
fn scenario_bounds(traces: &[Trace]) -> BTreeMap<(&str, &AxisValues), Option<f64>> {
    let mut leaky: BTreeMap<(&str, &AxisValues), Vec<&Trace>> = BTreeMap::new();
    for t in traces.iter().filter(|t| t.meta.scenario.truth.leaking) {
        let judged = score::unscorable(t).is_none();
        let reps = leaky
            .entry((t.meta.scenario.name.as_str(), &t.meta.axes))
            .or_default();
        if judged {
            reps.push(t);
        }
    }
    leaky
        .into_iter()
        .map(|(name, reps)| {
            let twins = reps
                .first()
                .map(|t| oracle::twins_of(t, traces))
                .unwrap_or_default();
            let bound = oracle::scenario_bound(&reps, &twins).map(|b| b.delay_s);
            (name, bound)
        })
        .collect()
}

/// Loads every repetition under `run_dir/traces`, scores it with every registered detector at
/// default parameters, and writes the outputs into `run_dir`.
pub fn replay_run(run_dir: &Path) -> anyhow::Result<ReplaySummary> {
    replay_run_with(run_dir, &DetectorSet::registry())
}

/// [`replay_run`] with a chosen set of detectors (external ones too; the sweep covers the
/// built-in ones).
pub fn replay_run_with(run_dir: &Path, set: &DetectorSet) -> anyhow::Result<ReplaySummary> {
    let run = RunDir::new(run_dir);
    let traces = trace::load_run(run_dir).with_context(|| {
        format!(
            "could not load the traces of run directory '{}'",
            run_dir.display()
        )
    })?;
    if traces.is_empty() {
        anyhow::bail!(
            "no traces under '{}' (fix: point at a run directory written by `leakbench run`)",
            run.traces_dir().display()
        );
    }
    let rows = score_set(&traces, set, &Params::default());
    let reps: Vec<fidelity::RepFidelity> = traces
        .iter()
        .map(|t| fidelity::RepFidelity::of(t, score::unscorable(t)))
        .collect();
    let summary = score::Summary {
        fidelity: Some(fidelity::summarize(&reps)),
        ..score::summarize(&rows)
    };
    let mut written = export::write_outputs(run_dir, &rows, &summary)
        .with_context(|| format!("could not write the scores into '{}'", run_dir.display()))?;
    let sweep_csv = run.sweep_csv();
    fsio::write_atomic(
        &sweep_csv,
        &sweep::to_csv(&sweep::sweep(&traces, &set.builtin, &sweep::SCALES)),
    )?;
    written.push(sweep_csv);
    // Only a run with a repetition killed at its cap has a time of death to forecast.
    let forecasts = forecast::score(&traces);
    if !forecasts.is_empty() {
        for (path, text) in [
            (run.forecast_csv(), forecast::summary_csv(&forecasts)),
            (run.forecast_points_csv(), forecast::points_csv(&forecasts)),
        ] {
            fsio::write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
    }
    let fidelity_csv = run.fidelity_csv();
    fsio::write_atomic(&fidelity_csv, &fidelity::to_csv(&reps))?;
    written.push(fidelity_csv);
    Ok(ReplaySummary {
        traces: traces.len(),
        rows: rows.len(),
        na: summary.na,
        detectors: set.len(),
        written,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::Rng;
    use crate::evaluate::score::Outcome;
    use crate::sample::{metric, Sample, StackGroup, Truth};
    use crate::trace::{EndStatus, TraceWriter};
    use std::collections::BTreeMap as Map;

    /// Writes one repetition: 40 s at 0.5 s, goroutines flat at 20 (± noise) and, if
    /// `leaking`, growing 10/s from onset 15.1 s in a `main.f` stack group (between two
    /// samples, as a measured onset is: a sample that sees the leak was stamped after it).
    fn write_rep(run: &Path, name: &str, leaking: bool, fixed: bool, rep: u32) {
        write_rep_every(run, name, leaking, fixed, rep, 0.5);
    }

    /// [`write_rep`] with samples `every` seconds on its 0.5 s schedule (later: late samples).
    fn write_rep_every(run: &Path, name: &str, leaking: bool, fixed: bool, rep: u32, every: f64) {
        let mut meta = crate::trace::tests::meta();
        meta.scenario.name = name.into();
        meta.scenario.truth.leaking = leaking;
        meta.scenario.leak.fixed = fixed;
        meta.scenario.warmup_s = 2.0;
        meta.rep = rep;
        let mut w = TraceWriter::create(&RunDir::new(run).rep(name, rep), &meta).unwrap();
        let mut rng = Rng::new(7 + rep as u64 + 100 * leaking as u64);
        let onset = 15.1;
        for i in 0..80 {
            let t = i as f64 * every;
            let leaked = if leaking && t >= onset {
                ((t - onset) * 10.0) as u64 + 1
            } else {
                0
            };
            let base = 20 + (rng.uniform() * 3.0) as u64;
            let mut m = Map::new();
            m.insert(metric::GOROUTINES.to_string(), (base + leaked) as f64);
            let mut groups = vec![StackGroup {
                count: base,
                wait: "IO wait".into(),
                site: "net/http.(*conn).serve".into(),
                frames: vec![],
            }];
            if leaked > 0 {
                groups.push(StackGroup {
                    count: leaked,
                    wait: "chan send".into(),
                    site: "main.f".into(),
                    frames: vec![],
                });
            }
            w.append(&Sample {
                t,
                metrics: Some(m),
                goroutines: Some(groups),
                truth: Some(Truth {
                    onset_s: (leaked > 0).then_some(onset),
                    units: leaked,
                    site: "main.f".into(),
                }),
                ..Default::default()
            })
            .unwrap();
        }
        w.finish(EndStatus::Completed, "done", 40.0).unwrap();
    }

    #[test]
    fn replay_is_deterministic_and_scores_leak_and_twin() {
        let dir = tempfile::tempdir().unwrap();
        for rep in 0..2 {
            write_rep(dir.path(), "leak", true, false, rep);
            write_rep(dir.path(), "leak-fixed", false, true, rep);
        }
        let first = replay_run(dir.path()).unwrap();
        assert_eq!(first.traces, 4);
        assert_eq!(first.rows, 4 * detect::registry().len());
        let run = RunDir::new(dir.path());
        assert_eq!(
            first.written,
            [
                run.scores_csv(),
                run.summary_json(),
                run.summary_md(),
                run.sweep_csv(),
                run.fidelity_csv()
            ]
        );
        let csv1 = std::fs::read(run.scores_csv()).unwrap();
        let json1 = std::fs::read(run.summary_json()).unwrap();
        let again = replay_run(dir.path()).unwrap();
        assert_eq!(again, first);
        assert_eq!(std::fs::read(run.scores_csv()).unwrap(), csv1);
        assert_eq!(std::fs::read(run.summary_json()).unwrap(), json1);
        assert!(run.summary_md().exists());
        let sweep_rows =
            sweep::parse_csv(&std::fs::read_to_string(run.sweep_csv()).unwrap()).unwrap();
        assert_eq!(
            sweep_rows.len(),
            detect::registry().len() * sweep::SCALES.len()
        );

        let traces = trace::load_run(dir.path()).unwrap();
        let rows = score_traces(
            &traces,
            &[*detect::by_name("stack-growth").unwrap()],
            &Params::default(),
        );
        let leak: Vec<&ScoreRow> = rows.iter().filter(|r| r.leaking).collect();
        assert!(leak.iter().all(|r| r.outcome == Outcome::Tp), "{leak:?}");
        assert!(leak
            .iter()
            .all(|r| r.site_ok == Some(true) && r.oracle_s.is_some()));
        assert!(rows
            .iter()
            .filter(|r| !r.leaking)
            .all(|r| r.outcome == Outcome::Tn));
        // Sorted: scenario, then detector, then repetition.
        let keys: Vec<(String, u32)> = rows.iter().map(|r| (r.scenario.clone(), r.rep)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    /// Every row of a leaking scenario, whatever its detector or repetition, carries the same
    /// oracle bound; rows of non-leaking scenarios carry none.
    #[test]
    fn the_bound_is_one_number_per_scenario() {
        let dir = tempfile::tempdir().unwrap();
        for rep in 0..3 {
            write_rep(dir.path(), "leak", true, false, rep);
            write_rep(dir.path(), "leak-fixed", false, true, rep);
        }
        let traces = trace::load_run(dir.path()).unwrap();
        let rows = score_traces(&traces, detect::registry(), &Params::default());
        let leak: std::collections::BTreeSet<Option<u64>> = rows
            .iter()
            .filter(|r| r.scenario == "leak")
            .map(|r| r.oracle_s.map(f64::to_bits))
            .collect();
        assert_eq!(leak.len(), 1, "{leak:?}");
        let bound = f64::from_bits(leak.into_iter().next().unwrap().expect("a bound"));
        assert!(bound > 0.0);
        assert!(rows
            .iter()
            .filter(|r| r.scenario == "leak-fixed")
            .all(|r| r.oracle_s.is_none()));
        // Latency ÷ bound: every TP of the scenario divides by that one number.
        let tps: Vec<&ScoreRow> = rows.iter().filter(|r| r.outcome == Outcome::Tp).collect();
        assert!(tps.len() >= 3 && tps.iter().all(|r| r.oracle_s == Some(bound)));
    }

    /// A repetition whose samples came 0.6 s apart on a 0.5 s schedule (one in six missed) is
    /// not judged, with the reason, whether `end.json` states its fidelity or it is derived
    /// from the sample times (a repetition recorded before `end.json` held it); the others
    /// are judged and still share the scenario's bound.
    #[test]
    fn a_repetition_with_late_samples_is_not_judged() {
        let dir = tempfile::tempdir().unwrap();
        for rep in 0..3 {
            let every = if rep == 1 { 0.6 } else { 0.5 };
            write_rep_every(dir.path(), "leak", true, false, rep, every);
            write_rep(dir.path(), "leak-fixed", false, true, rep);
        }
        let late = RunDir::new(dir.path()).rep("leak", 1);
        let end: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(late.end_json()).unwrap()).unwrap();
        assert_eq!(end["fidelity"]["missed"], 15, "{end}");
        let check = |why: &str| {
            let traces = trace::load_run(dir.path()).unwrap();
            let rows = score_traces(&traces, detect::registry(), &Params::default());
            let leak: Vec<&ScoreRow> = rows.iter().filter(|r| r.scenario == "leak").collect();
            for r in &leak {
                if r.rep == 1 {
                    assert_eq!(r.outcome, Outcome::Na, "{why}: {r:?}");
                    assert!(
                        r.note
                            .starts_with("samples too late to judge: 15 of 91 intended"),
                        "{why}: {}",
                        r.note
                    );
                } else {
                    assert!(!r.note.starts_with("samples too late"), "{why}: {r:?}");
                }
                assert_eq!(r.oracle_s, leak[0].oracle_s, "{why}");
            }
            assert!(leak[0].oracle_s.is_some());
        };
        check("stated in end.json");
        let mut old = end.clone();
        old.as_object_mut().unwrap().remove("fidelity");
        std::fs::write(late.end_json(), serde_json::to_vec(&old).unwrap()).unwrap();
        check("derived from the sample times");
    }

    #[test]
    fn a_silent_detector_without_its_scalar_in_the_trace_is_not_judged() {
        let dir = tempfile::tempdir().unwrap();
        write_rep(dir.path(), "leak", true, false, 0);
        write_rep(dir.path(), "leak-fixed", false, true, 0);
        let mut traces = trace::load_run(dir.path()).unwrap();
        let specs = [
            *detect::by_name("goleak").unwrap(),
            *detect::by_name("goroutineleak-profile").unwrap(),
            *detect::by_name("goroutine-threshold").unwrap(),
        ];
        // These traces carry no goleak verdict and no goroutineleak profile: NA on the leak
        // and on the twin (neither a miss nor a true negative), while the goroutine count,
        // which they carry, is judged.
        for r in score_traces(&traces, &specs, &Params::default()) {
            let judged = r.detector == "goroutine-threshold";
            assert_eq!(r.outcome == Outcome::Na, !judged, "{r:?}");
            if !judged {
                assert!(r.note.contains(&format!("no {} data", r.detector)), "{r:?}");
            }
        }
        // An empty verdict after the warm-up is data: the twin's goleak row is a TN. One
        // before the warm-up is not shown to the detector, so it does not count.
        let twin = traces
            .iter_mut()
            .find(|t| !t.meta.scenario.truth.leaking)
            .unwrap();
        twin.samples[0].goleak = Some(vec![]);
        let row = |traces: &[Trace]| {
            score_traces(traces, &specs[..1], &Params::default())
                .into_iter()
                .find(|r| !r.leaking)
                .unwrap()
                .outcome
        };
        assert_eq!(row(&traces), Outcome::Na);
        let twin = traces
            .iter_mut()
            .find(|t| !t.meta.scenario.truth.leaking)
            .unwrap();
        twin.samples[10].goleak = Some(vec![]);
        assert_eq!(row(&traces), Outcome::Tn);
    }

    #[test]
    fn an_external_fault_is_na_with_its_reason_and_unusable_traces_are_not_run() {
        let dir = tempfile::tempdir().unwrap();
        write_rep(dir.path(), "leak", true, false, 0);
        write_rep(dir.path(), "leak-fixed", false, true, 0);
        let mut traces = trace::load_run(dir.path()).unwrap();
        traces[1].end = None;
        let builtin = vec![*detect::by_name("stack-growth").unwrap()];
        let set = DetectorSet {
            builtin: builtin.clone(),
            // Exits at once, without answering.
            external: vec![external::External::for_test("/bin/true", &[], 5.0)],
        };
        let rows = score_set(&traces, &set, &Params::default());
        assert_eq!(rows.len(), 4);
        let quits: Vec<&ScoreRow> = rows.iter().filter(|r| r.detector == "t").collect();
        assert_eq!(quits[0].scenario, "leak");
        assert_eq!(quits[0].outcome, Outcome::Na);
        assert!(
            quits[0]
                .note
                .starts_with("detector fault: exited early (exit status 0) after answering 0"),
            "{}",
            quits[0].note
        );
        // An unfinished repetition is NA for its own reason, and nothing was started for it.
        assert_eq!(quits[1].outcome, Outcome::Na);
        assert_eq!(quits[1].note, "repetition unfinished (no end.json)");
        let others: Vec<ScoreRow> = rows.iter().filter(|r| r.detector != "t").cloned().collect();
        assert_eq!(others, score_traces(&traces, &builtin, &Params::default()));
    }

    #[test]
    fn an_empty_run_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = replay_run(dir.path()).unwrap_err();
        assert!(
            format!("{e:#}").contains(&dir.path().display().to_string()),
            "{e:#}"
        );
    }
}
