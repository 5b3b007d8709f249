//! Chart data from a [`RunView`]: which rows go into which cell, in which order. The charts
//! themselves ([`crate::present::plot`]) only draw.

use super::load::RunView;
use super::names;
use super::panels;
use crate::evaluate::detect;
use crate::evaluate::score::{self, Outcome, ScoreRow};
use crate::evaluate::sweep::SweepRow;
use crate::leak_class::join;
use crate::present::plot::heatmap::{HeatCell, Heatmap};
use crate::present::plot::matrix::{DetectionMatrix, MatrixCell};
use crate::present::plot::overhead::{Overhead, OverheadRow};
use crate::present::plot::sweep::{Sweep, SweepCurve, SweepPoint};
use crate::present::plot::timeline::{AlarmRow, Timeline};
use crate::present::plot::{tick, ChartOutcome};
use crate::scenario::{LeakClass, Role, Scenario};
use crate::stats;
use crate::trace::Trace;
use std::collections::{BTreeMap, BTreeSet};

/// The chart words for a scored row; `None` for NA rows (not judged).
pub fn chart_outcome(r: &ScoreRow) -> Option<ChartOutcome> {
    match r.outcome {
        Outcome::Tp if r.timely == Some(false) => Some(ChartOutcome::Late),
        Outcome::Tp => Some(ChartOutcome::InTime),
        Outcome::Fn => Some(ChartOutcome::Missed),
        Outcome::Fp => Some(ChartOutcome::FalseAlarm),
        Outcome::Tn => Some(ChartOutcome::Quiet),
        Outcome::Na => None,
    }
}

/// Detector names in registry (report) order, those the run scored; unknown names after.
pub fn detectors(v: &RunView) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for d in detect::registry() {
        if v.scores.iter().any(|r| r.detector == d.name) {
            seen.push(d.name.to_string());
        }
    }
    for r in &v.scores {
        if !seen.contains(&r.detector) {
            seen.push(r.detector.clone());
        }
    }
    seen
}

fn role_rank(r: Role) -> u8 {
    match r {
        Role::Leak => 0,
        Role::Twin => 1,
        Role::HardNegative => 2,
    }
}

/// Scenarios of the run (from the traces' metadata), by class, then role, then name.
pub fn scenarios(v: &RunView) -> Vec<Scenario> {
    let mut by_name: BTreeMap<String, Scenario> = BTreeMap::new();
    for t in &v.traces {
        by_name
            .entry(t.meta.scenario.name.clone())
            .or_insert_with(|| t.meta.scenario.clone());
    }
    let mut out: Vec<Scenario> = by_name.into_values().collect();
    out.sort_by(|a, b| {
        (&a.truth.class, role_rank(a.role()), &a.name).cmp(&(
            &b.truth.class,
            role_rank(b.role()),
            &b.name,
        ))
    });
    out
}

/// Classes present in the run's scores, by name: whatever the scenarios call them.
pub fn classes(v: &RunView) -> Vec<LeakClass> {
    let set: BTreeSet<&LeakClass> = v.scores.iter().map(|r| &r.class).collect();
    set.into_iter().cloned().collect()
}

pub fn matrix(v: &RunView) -> DetectionMatrix {
    let dets = detectors(v);
    let classes = classes(v);
    let mut cells = vec![vec![MatrixCell::default(); classes.len()]; dets.len()];
    for r in &v.scores {
        let (Some(i), Some(j), Some(outcome)) = (
            dets.iter().position(|d| *d == r.detector),
            classes.iter().position(|c| *c == r.class),
            chart_outcome(r),
        ) else {
            continue;
        };
        let c = &mut cells[i][j];
        if r.leaking {
            c.leaking.add(outcome);
        } else {
            c.negative.add(outcome);
        }
    }
    DetectionMatrix {
        title: "Outcomes by detector and leak class (all repetitions)".into(),
        rows: dets,
        cols: classes.iter().map(|c| c.to_string()).collect(),
        cells,
    }
}

pub fn heatmap(v: &RunView) -> Heatmap {
    let dets = detectors(v);
    let scs = scenarios(v);
    let mut cells = vec![vec![HeatCell::default(); dets.len()]; scs.len()];
    let mut ratios: BTreeMap<(usize, usize), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in &v.scores {
        let (Some(i), Some(j), Some(outcome)) = (
            scs.iter().position(|s| s.name == r.scenario),
            dets.iter().position(|d| *d == r.detector),
            chart_outcome(r),
        ) else {
            continue;
        };
        cells[i][j].counts.add(outcome);
        if let Some(l) = r.latency_s {
            let e = ratios.entry((i, j)).or_default();
            e.1.push(l);
            if let Some(o) = r.oracle_s.filter(|o| *o > 0.0) {
                e.0.push(l / o);
            }
        }
    }
    for ((i, j), (rs, ls)) in ratios {
        cells[i][j].ratio = stats::median(&rs);
        cells[i][j].latency_s = stats::median(&ls);
    }
    let reps = v.info.as_ref().map(|i| i.reps).unwrap_or(1);
    Heatmap {
        title: format!(
            "Detection latency ÷ oracle bound, per scenario and detector (median over {reps} repetition{})",
            if reps == 1 { "" } else { "s" }
        ),
        rows: scs.iter().map(|s| (s.name.clone(), s.role().to_string())).collect(),
        row_links: scs
            .iter()
            .map(|s| Some(names::scenario_html(&s.name)))
            .collect(),
        cols: dets,
        cells,
    }
}

pub fn timeline(v: &RunView, t: &Trace) -> Timeline {
    let sc = &t.meta.scenario;
    let rep = t.meta.rep;
    let alarms = detectors(v)
        .into_iter()
        .map(|d| {
            let row = v.scores.iter().find(|r| {
                r.scenario == sc.name && r.rep == rep && r.axes == t.meta.axes && r.detector == d
            });
            AlarmRow {
                t_s: row.and_then(|r| r.alarm_s),
                outcome: Some(row.and_then(chart_outcome).unwrap_or(ChartOutcome::Missed)),
                detector: d,
            }
        })
        .collect();
    let onset = t.onset_s();
    let mut sub = vec![
        format!("class {}", sc.truth.class),
        format!("grows {}", join(&sc.truth.grows)),
        sc.role().to_string(),
        match onset {
            Some(o) => format!("measured onset {} s", tick(o)),
            None if sc.truth.leaking => "no measured onset".into(),
            None => "does not leak".into(),
        },
    ];
    if let Some(f) = names::leaking_function(v, sc) {
        sub.push(format!("leaking function {f}"));
    }
    if let Some(e) = &t.end {
        if e.status != crate::trace::EndStatus::Completed {
            sub.push(format!("ended: {}", e.reason));
        }
    }
    let end_s = t
        .end
        .as_ref()
        .map(|e| e.ended_s)
        .unwrap_or(sc.duration_s)
        .max(t.samples.last().map_or(0.0, |s| s.t));
    Timeline {
        title: format!("{} (repetition {rep})", sc.name),
        subtitle: sub.join(" · "),
        end_s,
        warmup_s: sc.warmup_s,
        onset_s: onset,
        panels: panels::timeline_panels(&sc.truth.grows, &t.samples),
        alarms,
        since: crate::present::plot::timeline::FIXTURE_START,
    }
}

/// The sweep chart from `sweep.csv` as the evaluation wrote it; `None` when the run has none
/// (scored by an older leakbench). One curve per detector with rows, in report order; scales
/// without a recall (no leaking repetition) are left out.
pub fn sweep(v: &RunView) -> Option<Sweep> {
    let rows = v.sweep.as_ref()?;
    let scorable = v.traces.iter().filter(|t| score::unscorable(t).is_none());
    let (reps, leaking) = scorable.fold((0, 0), |(n, l), t| {
        (n + 1, l + usize::from(t.meta.scenario.truth.leaking))
    });
    let curves = detectors(v)
        .into_iter()
        .filter_map(|name| {
            let mut mine: Vec<&SweepRow> = rows.iter().filter(|r| r.detector == name).collect();
            if mine.is_empty() {
                return None;
            }
            mine.sort_by(|a, b| a.threshold_scale.total_cmp(&b.threshold_scale));
            let points = mine
                .into_iter()
                .filter_map(|r| {
                    Some(SweepPoint {
                        scale: r.threshold_scale,
                        recall: r.recall?,
                        false_alarm_rate: r.false_alarm_rate.unwrap_or(0.0),
                    })
                })
                .collect();
            Some(SweepCurve {
                detector: name,
                points,
            })
        })
        .collect();
    Some(Sweep {
        title: "Threshold sweep: recall against false-alarm rate as each detector's threshold is scaled".into(),
        subtitle: format!(
            "Replayed from the recorded traces ({reps} repetitions, {leaking} leaking) at scales 1/16× to 16×, no new runs. \
             Recall counts alarms before onset as misses; the false-alarm rate is over the {} non-leaking repetitions.",
            reps - leaking
        ),
        curves,
    })
}

/// The overhead chart, if the run directory has `overhead.csv` with ratios.
pub fn overhead(v: &RunView) -> Option<Overhead> {
    let recs = v.overhead.as_ref()?;
    let mut groups: Vec<((String, String, u64), Vec<f64>)> = Vec::new();
    for r in recs {
        let Some(ratio) = r.ratio else { continue };
        let key = (
            r.fixture.clone(),
            r.probe_set.clone(),
            r.interval_s.to_bits(),
        );
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(ratio),
            None => groups.push((key, vec![ratio])),
        }
    }
    let rows: Vec<OverheadRow> = groups
        .into_iter()
        .filter_map(|((fixture, set, iv), rs)| {
            Some(OverheadRow {
                label: format!("{fixture} · {set} · every {} s", tick(f64::from_bits(iv))),
                reps: rs.len(),
                min: rs.iter().copied().fold(f64::INFINITY, f64::min),
                median: stats::median(&rs)?,
                max: rs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            })
        })
        .collect();
    (!rows.is_empty()).then(|| Overhead {
        title: "Sampling overhead: the fixture's throughput while sampled ÷ unsampled".into(),
        rows,
        target: Some(crate::overhead::files::TARGET_RATIO),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweep chart is `sweep.csv` redrawn: an edited value shows up as written, and a run
    /// without the file gets no chart (never a re-scoring).
    #[test]
    fn the_sweep_chart_draws_sweep_csv_and_nothing_without_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plot-run");
        let mut v = super::super::load(&dir).unwrap();
        let rows = v.sweep.as_mut().expect("the committed run has a sweep.csv");
        let edited = rows
            .iter_mut()
            .min_by(|a, b| a.threshold_scale.total_cmp(&b.threshold_scale))
            .unwrap();
        edited.recall = Some(0.375);
        let det = edited.detector.clone();
        let s = sweep(&v).unwrap();
        assert_eq!(
            s.curves.iter().map(|c| &c.detector).collect::<Vec<_>>(),
            detectors(&v).iter().collect::<Vec<_>>()
        );
        let c = s.curves.iter().find(|c| c.detector == det).unwrap();
        assert_eq!((c.points[0].scale, c.points[0].recall), (0.0625, 0.375));
        assert_eq!(c.points.len(), crate::evaluate::sweep::SCALES.len());
        v.sweep = None;
        assert!(sweep(&v).is_none());
    }
}
