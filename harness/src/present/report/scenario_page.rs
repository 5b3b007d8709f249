//! A scenario's own page (`scenarios/<name>.md` and `.html`): what it is, every detector's
//! outcome in every repetition, the timeline of every repetition and its trace files, linked
//! back to the main page and to the scenarios before and after it.

use super::charts::{self, chart_outcome};
use super::content::secs;
use super::doc::Doc;
use super::load::RunView;
use super::names;
use super::visible::{self, Visibility};
use crate::axes::AxisValues;
use crate::evaluate::score::ScoreRow;
use crate::present::plot::heatmap::ratio_text;
use crate::present::plot::{tick, ChartOutcome};
use crate::scenario::Scenario;
use crate::stats;
use std::collections::BTreeSet;

/// The main page, from a scenario page.
const BACK: &str = "../report.md";

/// A link from one scenario page to another (pages sit side by side).
fn sibling(name: &str) -> String {
    format!("[{name}]({name}.md)")
}

/// One repetition's outcome for the per-scenario table.
fn cell(r: &ScoreRow) -> String {
    match chart_outcome(r) {
        Some(o @ (ChartOutcome::InTime | ChartOutcome::Late)) => {
            let mut s = format!(
                "{} +{}",
                if o == ChartOutcome::Late {
                    "late"
                } else {
                    "in time"
                },
                secs(r.latency_s)
            );
            if let (Some(l), Some(o)) = (r.latency_s, r.oracle_s.filter(|o| *o > 0.0)) {
                s.push_str(&format!(" ({}×)", ratio_text(l / o)));
            }
            s
        }
        Some(ChartOutcome::Missed) => "missed".into(),
        Some(ChartOutcome::FalseAlarm) => format!("false alarm at {}", secs(r.alarm_s)),
        Some(ChartOutcome::Quiet) => "quiet".into(),
        None => format!("not judged: {}", r.note),
    }
}

/// The page of `sc`; `prev` and `next` are its neighbours in report order.
pub fn page(
    v: &RunView,
    sc: &Scenario,
    seen: &Visibility,
    prev: Option<&str>,
    next: Option<&str>,
) -> Doc {
    let mut d = Doc {
        title: format!("Scenario {}", sc.name),
        root: "../".into(),
        ..Default::default()
    };
    let mut nav = vec![
        format!("[← the report]({BACK})"),
        format!("[all scenarios]({BACK}#scenarios)"),
    ];
    if let Some(p) = prev {
        nav.push(format!("previous: {}", sibling(p)));
    }
    if let Some(n) = next {
        nav.push(format!("next: {}", sibling(n)));
    }
    let nav = nav.join(" · ");
    d.p(nav.clone());
    if !sc.description.is_empty() {
        d.p(format!("{}.", sc.description.trim_end_matches('.')));
    }
    facts(&mut d, v, sc, seen);
    d.contents(false);
    outcomes(&mut d, v, sc);
    let traces: Vec<&crate::trace::Trace> = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.name == sc.name)
        .collect();
    d.h(1, "Timelines");
    d.p("One per repetition: the metrics its class makes telling, the measured onset (dashed), the warm-up (shaded; detectors do not see it), and each detector's first alarm.");
    for t in &traces {
        let name = names::repetition(&t.meta.axes, t.meta.rep);
        let mut title = name.clone();
        // `Repetition 2`; a sweep's `go=go1.27.3 repetition 2` keeps the axis as spelled.
        if t.meta.axes.is_empty() {
            title[..1].make_ascii_uppercase();
        }
        d.h(2, title);
        d.chart(
            names::timeline_stem(&sc.name, &t.meta.axes, t.meta.rep),
            format!("Timeline of {}, {name}", sc.name),
        );
    }
    d.h(1, "Files");
    let mut files = Vec::new();
    for t in &traces {
        // Where the trace was loaded from, relative to the run: the run directory's layout
        // is [`crate::run_dir`]'s, not spelled here.
        let dir = t
            .dir
            .strip_prefix(&v.dir)
            .unwrap_or(&t.dir)
            .display()
            .to_string();
        let links: Vec<String> = ["trace.jsonl", "meta.json", "end.json", "fixture.log"]
            .iter()
            .filter(|f| v.dir.join(&dir).join(f).exists())
            .map(|f| format!("[`{f}`](../{dir}/{f})"))
            .collect();
        if !links.is_empty() {
            files.push(format!(
                "{}: {}",
                names::repetition(&t.meta.axes, t.meta.rep),
                links.join(", ")
            ));
        }
    }
    files.push(format!(
        "every repetition's scores: rows `{}` of [`scores.csv`](../scores.csv)",
        sc.name
    ));
    d.list(files);
    d.p(nav);
    d
}

fn facts(d: &mut Doc, v: &RunView, sc: &Scenario, seen: &Visibility) {
    let onsets: Vec<f64> = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.name == sc.name)
        .filter_map(|t| t.onset_s())
        .collect();
    let mut facts = vec![
        format!(
            "class **{}** (grows {}), **{}**",
            sc.truth.class,
            crate::leak_class::join(&sc.truth.grows),
            sc.role()
        ),
        format!("fixture `{}`", sc.fixture),
        format!(
            "{} s, sampled every {} s, warm-up {} s",
            tick(sc.duration_s),
            tick(sc.interval_s),
            tick(sc.warmup_s)
        ),
    ];
    if sc.truth.leaking {
        facts.push(format!(
            "the leak starts at {} s by design; measured onset {} (median over repetitions); a detection counts as in time within {} s of it",
            tick(sc.leak.onset_s),
            secs(stats::median(&onsets)),
            tick(sc.truth.tolerance_s)
        ));
        if let Some(f) = names::leaking_function(v, sc) {
            facts.push(format!(
                "leaking function `{f}` (a blamed site is right when it matches the regex `{}`)",
                sc.truth.site
            ));
        }
        let shows: Vec<String> = visible::SERIES
            .iter()
            .filter(|w| seen.shows(&sc.name, **w))
            .map(|w| format!("`{w}`"))
            .collect();
        facts.push(if shows.is_empty() {
            "no watched series grows clearly after the onset".into()
        } else {
            format!("series that show its growth: {}", shows.join(", "))
        });
    } else {
        facts.push("does not leak: any alarm is a false alarm".into());
    }
    d.list(facts);
}

fn outcomes(d: &mut Doc, v: &RunView, sc: &Scenario) {
    d.h(1, "Outcomes");
    d.p("Each detector's first alarm in each repetition: latency after the measured onset (and ÷ the oracle bound), or what happened instead; the sites it blamed (✓: the leaking function).");
    let reps: Vec<(&AxisValues, u32)> = v
        .scores
        .iter()
        .filter(|r| r.scenario == sc.name)
        .map(|r| (&r.axes, r.rep))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut head: Vec<String> = vec!["detector".into()];
    head.extend(reps.iter().map(|(a, r)| {
        if a.is_empty() {
            format!("rep {r}")
        } else {
            format!("{a} rep {r}")
        }
    }));
    head.push("blamed site".into());
    let mut rows = Vec::new();
    for det in charts::detectors(v) {
        let mine: Vec<&ScoreRow> = v
            .scores
            .iter()
            .filter(|r| r.scenario == sc.name && r.detector == det)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut row = vec![format!("`{det}`")];
        for rep in &reps {
            row.push(
                mine.iter()
                    .find(|r| (&r.axes, r.rep) == (rep.0, rep.1))
                    .map(|r| cell(r))
                    .unwrap_or_else(|| "–".into()),
            );
        }
        let sites: BTreeSet<String> = mine
            .iter()
            .filter_map(|r| {
                let s = r.site.as_ref()?;
                Some(match r.site_ok {
                    Some(true) => format!("`{s}` ✓"),
                    _ => format!("`{s}`"),
                })
            })
            .collect();
        row.push(if sites.is_empty() {
            "–".into()
        } else {
            sites.into_iter().collect::<Vec<_>>().join(", ")
        });
        rows.push(row);
    }
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    d.table(&head_refs, &vec![false; head.len()], rows);
}
