//! The report's "Matrix axes" section and its chart, for a run that swept axes (Go
//! toolchains, GOGC, GOMEMLIMIT, GOMAXPROCS): each detector's recall, false-alarm rate and
//! median latency at each value of each axis (rows of `scores.csv` pooled over the scenarios
//! and the other axes' values), whether the fixtures' own runtime reported the values set,
//! and a chart of how latency moves along each axis. A run without axes gets neither.
//!
//! Owns this section's words and the chart's data. Must not score (it aggregates the rows
//! of `scores.csv`), nor lay out the rest of the report.

use super::charts;
use super::content::{frac, secs};
use super::doc::Doc;
use super::findings::{leaking, negative, pct};
use super::load::RunView;
use crate::axes::{self, Axis};
use crate::evaluate::score::{self, ScoreRow};
use crate::present::plot::axes::{AxisLatency, AxisLine, AxisPanel};
use std::collections::BTreeSet;

/// The chart's file stem under `plots/`.
pub const STEM: &str = "latency-by-axis";

/// The axes the run's rows have, and each one's values in reading order.
fn axes_of(rows: &[ScoreRow]) -> Vec<(Axis, Vec<String>)> {
    axes::columns(rows.iter().map(|r| &r.axes))
        .into_iter()
        .map(|a| {
            let vals: BTreeSet<String> = rows
                .iter()
                .filter_map(|r| r.axes.get(a).map(String::from))
                .collect();
            let mut vals: Vec<String> = vals.into_iter().collect();
            axes::sort_values(a, &mut vals);
            (a, vals)
        })
        .collect()
}

/// The chart and the section, or `None` when no row has an axis.
pub fn section(v: &RunView) -> Option<(AxisLatency, Doc)> {
    let axes = axes_of(&v.scores);
    if axes.is_empty() {
        return None;
    }
    let detectors = charts::detectors(v);
    let at = |d: &str, a: Axis, val: &str| {
        let rows: Vec<&ScoreRow> = v
            .scores
            .iter()
            .filter(|r| r.detector == d && r.axes.get(a) == Some(val))
            .collect();
        score::aggregate(d, None, &rows)
    };
    let mut doc = Doc::default();
    doc.h(1, "Matrix axes");
    let swept: Vec<String> = axes
        .iter()
        .map(|(a, vals)| format!("`{a}` = {}", vals.join(", ")))
        .collect();
    doc.p(format!(
        "This run swept {}: every scenario and repetition ran at every combination, each a cell of its own (`traces/<scenario>@<axes>/`, a column per axis in `scores.csv`). Below, each detector at each value of each axis, pooled over the scenarios and the other axes' values: recall (leaks caught after their onset), false-alarm rate (alarms on runs that do not leak) and median latency after the onset.",
        swept.join("; ")
    ));
    doc.p(readback(v));
    let mut panels = Vec::new();
    for (a, vals) in &axes {
        doc.h(2, format!("By {a}"));
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for d in &detectors {
            let aggs: Vec<_> = vals.iter().map(|val| at(d, *a, val)).collect();
            if aggs.iter().all(|g| g.rows == 0) {
                continue;
            }
            for (val, g) in vals.iter().zip(&aggs) {
                rows.push(vec![
                    format!("`{d}`"),
                    format!("`{val}`"),
                    format!("{} ({})", pct(g.recall), frac(g.tp, leaking(g))),
                    format!(
                        "{} ({})",
                        pct(g.false_alarm_rate),
                        frac(g.fp - g.fp_early, negative(g))
                    ),
                    secs(g.latency_median_s),
                ]);
            }
            let medians: Vec<Option<f64>> = aggs.iter().map(|g| g.latency_median_s).collect();
            if medians.iter().any(Option::is_some) {
                lines.push(AxisLine {
                    detector: d.clone(),
                    medians,
                });
            }
        }
        doc.table(
            &[
                "detector",
                a.name(),
                "recall",
                "false alarms",
                "median latency",
            ],
            &[false, false, true, true, true],
            rows,
        );
        panels.push(AxisPanel {
            axis: a.name().to_string(),
            values: vals.clone(),
            lines,
        });
    }
    doc.chart(STEM, "Median latency of each detector along each axis");
    let chart = AxisLatency {
        title: "Latency along each matrix axis".into(),
        subtitle: "each detector's median latency after the onset at each value (no point: it caught nothing there)".into(),
        panels,
    };
    Some((chart, doc))
}

/// What the fixtures' own runtime said, against the values set: a setting that did not reach
/// the program would make every figure above a lie.
fn readback(v: &RunView) -> String {
    let (mut agree, mut checked, mut unread) = (0, 0, 0);
    let mut wrong: Vec<String> = Vec::new();
    for t in v.traces.iter().filter(|t| !t.meta.axes.is_empty()) {
        let Some(facts) = &t.meta.runtime else {
            unread += 1;
            continue;
        };
        checked += 1;
        let off: Vec<String> = t
            .meta
            .axes
            .iter()
            .filter(|(a, val)| !facts.agrees(*a, val))
            .map(|(a, val)| format!("{a}={val}"))
            .collect();
        if off.is_empty() {
            agree += 1;
        } else if wrong.len() < 5 {
            wrong.push(format!(
                "`{}` {} (set {}; it ran with Go {}, GOGC={}, GOMEMLIMIT={}, GOMAXPROCS={})",
                t.meta.scenario.name,
                super::names::repetition(&t.meta.axes, t.meta.rep),
                off.join(", "),
                facts.go_version,
                facts.gogc,
                facts.gomemlimit,
                facts.gomaxprocs
            ));
        }
    }
    let mut out = format!(
        "Read back from each fixture's own runtime (`runtime.Version()`, `GOMAXPROCS(0)`, GOGC and GOMEMLIMIT as `runtime/debug` returns them, in `meta.json`'s `runtime`): {agree} of {checked} repetitions ran with every value set."
    );
    if unread > 0 {
        out.push_str(&format!(
            " {unread} did not say (a program without the fixture kit)."
        ));
    }
    if !wrong.is_empty() {
        out.push_str(&format!(" **Not as set:** {}.", wrong.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score::tests::trace;
    use crate::trace::RuntimeFacts;

    fn view(traces: Vec<crate::trace::Trace>) -> RunView {
        let rows = traces
            .iter()
            .map(|t| {
                let alarm = crate::evaluate::score::tests::alarm(
                    t.onset_s().unwrap_or(0.0)
                        + if t.meta.axes.get(Axis::Gogc) == Some("50") {
                            1.0
                        } else {
                            3.0
                        },
                    None,
                    None,
                );
                score::score_row(
                    t,
                    "det-a",
                    t.meta.scenario.truth.leaking.then_some(&alarm),
                    None,
                )
            })
            .collect();
        RunView {
            dir: "/nowhere".into(),
            info: None,
            traces,
            scores: rows,
            sweep: None,
            overhead: None,
        }
    }

    fn at(gogc: &str, leaking: bool, ran_with: &str) -> crate::trace::Trace {
        let mut t = trace(leaking, leaking.then_some(5.0));
        t.meta.axes.insert(Axis::Gogc, gogc);
        t.meta.runtime = Some(RuntimeFacts {
            go_version: "go1.26.8".into(),
            gomaxprocs: 2,
            gogc: ran_with.into(),
            gomemlimit: "off".into(),
        });
        t
    }

    #[test]
    fn no_axes_no_section() {
        assert!(section(&view(vec![trace(true, Some(5.0))])).is_none());
    }

    #[test]
    fn each_value_gets_its_recall_and_latency_and_a_wrong_readback_shows() {
        let v = view(vec![
            at("50", true, "50"),
            at("off", true, "100"),
            at("50", false, "50"),
        ]);
        let (chart, doc) = section(&v).unwrap();
        assert_eq!(chart.panels.len(), 1);
        let p = &chart.panels[0];
        assert_eq!(p.values, ["50", "off"]);
        assert_eq!(p.lines[0].medians, vec![Some(1.0), Some(3.0)]);
        let md = doc.markdown();
        assert!(md.contains("## By GOGC"), "{md}");
        assert!(md.contains("| `det-a` | `50` | 100% (1/1) |"), "{md}");
        assert!(
            md.contains("2 of 3 repetitions ran with every value set"),
            "{md}"
        );
        assert!(md.contains("set GOGC=off"), "{md}");
    }
}
