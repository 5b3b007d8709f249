//! The report of a live recording (`leakbench record`, then `replay`): where and how the
//! service was read, which detectors would have fired and when (from `alarms.csv`, as
//! [`crate::evaluate::alarms`] wrote it), the probes the service does not serve, and one
//! timeline per recording with every first alarm marked, unjudged.
//!
//! No ground truth, so no outcome: no matrix, heatmap, sweep or scenario page (they all show
//! verdicts), and the timeline's alarms are drawn in neutral ink. Must not run a detector:
//! a recording not replayed yet is refused with the command to run.

use super::doc::Doc;
use super::{names, plot_bar, render_all, AnyChart, Generated, REPORT_HTML, REPORT_MD};
use crate::axes::AxisValues;
use crate::evaluate::alarms::{self, AlarmRecord};
use crate::fsio;
use crate::present::plot::tick;
use crate::present::plot::timeline::{AlarmRow, Timeline};
use crate::present::report::panels;
use crate::run_dir::{RunDir, ALARMS_CSV, PLOTS_DIR};
use crate::scenario::Observable;
use crate::trace::{self, Recording};
use anyhow::Context;
use indicatif::MultiProgress;
use std::collections::BTreeMap;
use std::path::Path;

/// Draws the timelines and writes `report.md` / `report.html` of the live recordings in
/// `run_dir`, from its traces and `alarms.csv`.
pub fn generate(run_dir: &Path, mp: &MultiProgress) -> anyhow::Result<Generated> {
    let run = RunDir::new(run_dir);
    let path = run.alarms_csv();
    if !path.exists() {
        return Err(crate::bad_input::BadInput(format!(
            "{}: no {ALARMS_CSV} there, the recording was not replayed (fix: `leakbench replay {}` first)",
            run_dir.display(),
            run_dir.display()
        ))
        .into());
    }
    let rows = alarms::parse_csv(&fsio::read_to_string(&path)?).with_context(|| {
        format!(
            "{}: not an {ALARMS_CSV} (fix: regenerate it with `leakbench replay {}`)",
            path.display(),
            run_dir.display()
        )
    })?;
    let recs = trace::load_recordings(run_dir)
        .with_context(|| format!("could not load the recordings of {}", run_dir.display()))?;
    let todo: Vec<(String, AnyChart)> = recs
        .iter()
        .map(|r| {
            (
                names::timeline_stem(&r.meta.name, &AxisValues::default(), r.meta.rep),
                AnyChart::Timeline(timeline(r, &rows)),
            )
        })
        .collect();
    let bar = plot_bar(mp, todo.len());
    let rendered = render_all(todo, &run_dir.join(PLOTS_DIR), &bar)?;
    bar.finish_with_message("done");
    let mut svgs = BTreeMap::new();
    let mut charts = Vec::new();
    for (stem, inline, paths) in rendered {
        svgs.insert(stem, inline);
        charts.extend(paths);
    }
    let doc = report(&recs, &rows);
    let report_md = run_dir.join(REPORT_MD);
    fsio::write_atomic(&report_md, doc.markdown().as_bytes())?;
    let report_html = run_dir.join(REPORT_HTML);
    fsio::write_atomic(&report_html, doc.html(|s| svgs.get(s).cloned()).as_bytes())?;
    Ok(Generated {
        report_md,
        report_html,
        pages: Vec::new(),
        charts,
    })
}

/// The rows of `alarms.csv` about `r`.
fn rows_of<'a>(r: &'a Recording, rows: &'a [AlarmRecord]) -> impl Iterator<Item = &'a AlarmRecord> {
    rows.iter()
        .filter(move |x| x.recording == r.meta.name && x.rep == r.meta.rep)
}

/// One recording's timeline: goroutines, the Go heap and process memory (what a service's
/// standard endpoints and `/proc` give), and every detector's first alarm, unjudged.
pub fn timeline(r: &Recording, rows: &[AlarmRecord]) -> Timeline {
    let mut sub = vec![
        format!("recorded live from {}", r.meta.live.url),
        "no ground truth: alarms not judged".to_string(),
    ];
    if let Some(e) = &r.end {
        sub.push(format!("ended {}: {}", e.status, e.reason));
    }
    let end_s = r
        .end
        .as_ref()
        .map(|e| e.ended_s)
        .unwrap_or(r.meta.duration_s)
        .max(r.samples.last().map_or(0.0, |s| s.t));
    Timeline {
        title: format!("{} (recorded live)", r.meta.name),
        subtitle: sub.join(" · "),
        end_s,
        warmup_s: r.meta.warmup_s,
        onset_s: None,
        panels: panels::timeline_panels(
            &[
                Observable::Goroutines,
                Observable::GoHeap,
                Observable::CMemory,
            ],
            &r.samples,
        ),
        alarms: rows_of(r, rows)
            .filter(|x| x.state != "not-applicable")
            .map(|x| AlarmRow {
                detector: x.detector.clone(),
                t_s: x.alarm_s,
                outcome: None,
            })
            .collect(),
        since: "the recording started",
    }
}

/// The report's text.
fn report(recs: &[Recording], rows: &[AlarmRecord]) -> Doc {
    let mut d = Doc {
        title: "leakbench: live recording".into(),
        ..Doc::default()
    };
    d.p(
        "**No ground truth.** Nobody declared whether this service leaks, nor since when, so \
         nothing is scored: no true or false alarms, no recall, no latency. What follows is \
         which detectors would have fired, and when, in seconds since the recording started. \
         A detector whose probe the service does not serve cannot say (not applicable).",
    );
    for r in recs {
        d.h(1, format!("{} (repetition {})", r.meta.name, r.meta.rep));
        let l = &r.meta.live;
        let pid = l
            .pid
            .map(|p| format!(", RSS from process {p}"))
            .unwrap_or_default();
        d.p(format!(
            "Recorded from `{}` (address {}{pid}), starting {}, a sample every {} s: {} samples.",
            l.url,
            l.addr,
            r.meta.started,
            tick(r.meta.interval_s),
            r.samples.len()
        ));
        d.p(match &r.end {
            Some(e) => format!("Ended **{}**: {}.", e.status, e.reason),
            None => "Unfinished: the harness stopped before writing `end.json`.".into(),
        });
        let mut fired: Vec<&AlarmRecord> =
            rows_of(r, rows).filter(|x| x.state == "fired").collect();
        fired.sort_by(|a, b| {
            a.alarm_s
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.alarm_s.unwrap_or(f64::INFINITY))
        });
        d.h(2, "Detectors that fired");
        if fired.is_empty() {
            d.p("None.");
        } else {
            d.table(
                &["detector", "first alarm (s)", "what grew", "site", "detail"],
                &[false, true, false, false, false],
                fired
                    .iter()
                    .map(|x| {
                        vec![
                            format!("`{}`", x.detector),
                            x.alarm_s.map(tick).unwrap_or_default(),
                            x.grew.clone().unwrap_or_default(),
                            x.site
                                .as_ref()
                                .map(|s| format!("`{s}`"))
                                .unwrap_or_default(),
                            x.detail.clone(),
                        ]
                    })
                    .collect(),
            );
        }
        let silent: Vec<String> = rows_of(r, rows)
            .filter(|x| x.state == "silent")
            .map(|x| format!("`{}`", x.detector))
            .collect();
        d.h(2, "Silent");
        d.p(if silent.is_empty() {
            "None.".to_string()
        } else {
            silent.join(", ")
        });
        let na: Vec<String> = rows_of(r, rows)
            .filter(|x| x.state == "not-applicable")
            .map(|x| format!("`{}`: {}", x.detector, x.detail))
            .collect();
        if !na.is_empty() {
            d.h(2, "Not applicable");
            d.list(na);
        }
        d.h(2, "Probes not served");
        let missing = missing_probes(r);
        if missing.is_empty() {
            d.p("None: every probe answered at every sample.");
        } else {
            d.list(missing);
        }
        d.h(2, "Timeline");
        let stem = names::timeline_stem(&r.meta.name, &AxisValues::default(), r.meta.rep);
        d.chart(&stem, format!("timeline of {}", r.meta.name));
    }
    d
}

/// Each probe missing at some sample: how often, and its first reason.
fn missing_probes(r: &Recording) -> Vec<String> {
    let mut by: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for m in r.samples.iter().flat_map(|s| s.missing.iter()) {
        by.entry(&m.probe).or_insert((0, &m.reason)).0 += 1;
    }
    by.into_iter()
        .map(|(p, (n, why))| {
            format!(
                "`{p}`: missing at {n} of {} samples ({why})",
                r.samples.len()
            )
        })
        .collect()
}
