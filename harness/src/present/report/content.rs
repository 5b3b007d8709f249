//! What the main page says, as a [`Doc`]: findings first, then a linked table of contents, the
//! summaries, the charts over the whole run, and an index of scenarios whose detail lives on
//! their own pages ([`super::scenario_page`]). Written for a reader who never saw the code.

use super::charts;
use super::doc::Doc;
use super::findings::{self, acceptable, join_and, leaking, negative, pct};
use super::load::RunView;
use super::names;
use super::visible::{self, Visibility};
use crate::evaluate::detect;
use crate::evaluate::score::{self, Aggregate, Outcome, ScoreRow, Summary};
use crate::evaluate::sweep::SWEEP_CSV;
use crate::leak_class::join;
use crate::present::plot::heatmap::ratio_text;
use crate::present::plot::tick;
use std::collections::BTreeSet;

/// Chart file stems, shared with [`super::generate`].
pub const MATRIX: &str = "detection-matrix";
pub const HEATMAP: &str = "latency-heatmap";
pub const SWEEP: &str = "threshold-sweep";
pub const OVERHEAD: &str = "overhead";

pub fn secs(v: Option<f64>) -> String {
    v.map(|x| format!("{} s", tick(x)))
        .unwrap_or_else(|| "–".into())
}

fn times(v: Option<f64>) -> String {
    v.map(|x| format!("{}×", ratio_text(x)))
        .unwrap_or_else(|| "–".into())
}

pub fn frac(k: usize, n: usize) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{k}/{n}")
    }
}

/// Distinct values, joined: one value when every repetition agrees.
fn distinct<'a>(vals: impl Iterator<Item = &'a str>) -> String {
    let s: BTreeSet<&str> = vals.collect();
    if s.is_empty() {
        "–".into()
    } else {
        s.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// Leaves out columns whose every cell is `0` or `–` (after the first `keep` columns): they
/// take width and say nothing.
pub fn drop_empty_columns(
    head: &[&str],
    right: &[bool],
    rows: Vec<Vec<String>>,
    keep: usize,
) -> (Vec<String>, Vec<bool>, Vec<Vec<String>>) {
    let empty = |j: usize| {
        j >= keep
            && rows
                .iter()
                .all(|r| r.get(j).is_none_or(|c| c == "0" || c == "–"))
    };
    let cols: Vec<usize> = (0..head.len()).filter(|&j| !empty(j)).collect();
    (
        cols.iter().map(|&j| head[j].to_string()).collect(),
        cols.iter().map(|&j| right.get(j) == Some(&true)).collect(),
        rows.into_iter()
            .map(|r| cols.iter().filter_map(|&j| r.get(j).cloned()).collect())
            .collect(),
    )
}

fn table(d: &mut Doc, head: &[&str], right: &[bool], rows: Vec<Vec<String>>) {
    let (head, right, rows) = drop_empty_columns(head, right, rows, 1);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    d.table(&head, &right, rows);
}

/// The main page. `has_overhead`: the overhead chart was drawn.
pub fn report(v: &RunView, has_overhead: bool) -> Doc {
    let name = v
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| v.dir.display().to_string());
    let mut d = Doc {
        title: format!("leakbench report: {name}"),
        ..Default::default()
    };
    let summary = score::summarize(&v.scores);
    let seen = visible::visibility(v);
    let scs = charts::scenarios(v);
    let leaks = scs.iter().filter(|s| s.truth.leaking).count();
    d.p(format!(
        "Go leak detectors scored against leaks whose onset the leaking program measured itself. This run: {} scenarios ({leaks} leaking, {} not: twins with the bug fixed and hard negatives that only look like leaks), {} repetitions, {} detectors. Terms: [How to read it](#how-to-read-it).",
        scs.len(),
        scs.len() - leaks,
        v.traces.len(),
        charts::detectors(v).len()
    ));
    // The heading stays outside the frame so it gets an anchor like any other.
    d.h(1, "Findings");
    d.callout(findings::findings(v, &summary));
    d.contents(false);
    by_detector(&mut d, v, &summary, &seen);
    by_class(&mut d, v, &summary);
    d.h(1, "Latency");
    d.p("Each cell is the median, over the repetitions where the detector found the leak, of its latency divided by the scenario's oracle bound: one number per scenario, the delay the best possible detector would need at the same false-alarm rate on whichever candidate series shows the leak soonest (every scalar a shipped detector watches, and the goroutines and heap at the leak's own site), computed from the noise of the non-leaking twin (Lorden's bound for a change in mean). Every detector on a scenario is divided by the same number. 1× is optimal; 10× is ten times slower than optimal. Below 1× the detector beat the bound, which its assumptions (Gaussian, independent increments; the same false-alarm rate as CUSUM's) do not allow: read it as a detector that fires more readily than the bound assumes, or a metric the twin's noise describes badly. Misses, false alarms and correct silence are marked with words, not shades. A row's name leads to the scenario's page (in the HTML report; here, through [Scenarios](#scenarios)).");
    d.chart(HEATMAP, "Latency heatmap: scenario × detector");
    d.h(1, "Threshold sweep");
    if v.sweep.is_some() {
        d.p(format!("Every detector has one primary threshold; scaling it trades recall for false alarms. Each panel replays the recorded traces at nine scales of one detector's threshold (1/16× to 16×, no new runs) and plots its recall against its false-alarm rate, ROC-style: up and to the left is better, the diagonal is chance, the triangle is the default threshold used everywhere else in this report, and the shaded band is at most {} false alarms. A detector whose threshold changes nothing is a single point. Raw numbers: [`{SWEEP_CSV}`]({SWEEP_CSV}).", pct(Some(findings::ACCEPTABLE_FALSE_ALARMS))));
        d.chart(
            SWEEP,
            "Recall against false-alarm rate as each detector's threshold is scaled",
        );
    } else {
        d.p(format!("No threshold sweep: this run directory has no `{SWEEP_CSV}` (it was scored by an older leakbench; `leakbench replay` on it writes one)."));
    }
    d.table(
        &["detector", "what the scale multiplies"],
        &[false, false],
        detect::registry()
            .iter()
            .filter(|s| v.scores.iter().any(|r| r.detector == s.name))
            .map(|s| vec![format!("`{}`", s.name), s.threshold.to_string()])
            .collect(),
    );
    if has_overhead {
        d.h(1, "Overhead");
        d.p("What sampling costs the program: each fixture's non-leaking twin runs as fast as it can, alternating windows without and with sampling; the ratio is its throughput while sampled over unsampled (100% = free). Raw rows: [`overhead.csv`](overhead.csv).");
        d.chart(OVERHEAD, "Sampling overhead");
    }
    scenario_index(&mut d, v, &seen);
    glossary(&mut d);
    environment(&mut d, v);
    files(&mut d, v, has_overhead);
    d
}

fn glossary(d: &mut Doc) {
    d.h(1, "How to read it");
    d.p("leakbench runs small Go programs (fixtures) that each leak in one known way (goroutines blocked forever, maps that only grow, contexts never cancelled, finalizers that pin memory, C memory never freed), together with their non-leaking twins (the same program with the bug fixed) and hard negatives (programs whose memory moves like a leak but does not leak). While they run it samples them (goroutine and heap profiles, runtime/metrics, process memory) into traces, and each fixture records when its leak really started: the measured onset. Leak detectors then read the traces; a detector's first alarm is scored against that truth.");
    d.list(vec![
        "**detected** (TP): a leaking scenario, first alarm at or after the measured onset; **in time** when within the scenario's tolerance, else **late**.".into(),
        "**missed** (FN): a leaking scenario, no alarm.".into(),
        "**false alarm** (FP): any alarm on a scenario that does not leak, or an alarm before the onset on one that does.".into(),
        "**quiet** (TN): no alarm on a scenario that does not leak: correct.".into(),
        "**not judged** (NA): the repetition did not finish, or a leaking trace has no measured onset. Never counted as correct.".into(),
        "**latency**: first alarm − measured onset, seconds. **÷ bound**: latency over the oracle bound (see [Latency](#latency)).".into(),
        "**recall**: detected ÷ judged leaking repetitions. **precision**: detected ÷ all alarms (detections and false alarms). **false-alarm rate**: false alarms ÷ judged non-leaking repetitions.".into(),
        "**recall where its metric grew**: recall over the leaks whose growth the detector's watched series shows (after the onset it ends above its pre-onset level by more than its pre-onset range and 5%, in most repetitions): a goroutine counter is not blamed for missing a map that grows.".into(),
        format!("**best** / **fastest** for a class: only among detectors with at most {} false alarms on that class's non-leaking repetitions.", pct(Some(findings::ACCEPTABLE_FALSE_ALARMS))),
        "**right site** / **right class**: among detections, how often the detector blamed the leaking function / saw grow what the leak grows (its class, in the detectors' words: goroutines, Go heap, C memory, finalizer queue). **n/a**: the detector names no site (it watches one number, a count or a byte total).".into(),
    ]);
}

fn environment(d: &mut Doc, v: &RunView) {
    d.h(1, "Environment");
    let m = |f: fn(&crate::trace::RepMeta) -> &str| distinct(v.traces.iter().map(|t| f(&t.meta)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut kv = |k: &str, val: String| rows.push(vec![k.to_string(), val]);
    if let Some(i) = &v.info {
        kv("started (UTC)", i.started.clone());
        kv("leakbench", i.harness_version.clone());
        kv(
            "machine",
            format!(
                "{} CPUs, {}, Linux {}",
                i.machine.cpus, i.machine.arch, i.machine.kernel
            ),
        );
        kv("repetitions per scenario", i.reps.to_string());
        kv("fixtures run at once", i.jobs.to_string());
    }
    kv("Go", m(|x| &x.go_version));
    kv("GOEXPERIMENT", m(|x| &x.goexperiment));
    kv("GOGC", m(|x| &x.gogc));
    kv("GOMEMLIMIT", m(|x| &x.gomemlimit));
    kv("GOMAXPROCS", m(|x| &x.gomaxprocs));
    let ivs: Vec<String> = v
        .traces
        .iter()
        .map(|t| format!("{} s", tick(t.meta.interval_s)))
        .collect();
    kv(
        "sampling interval",
        distinct(ivs.iter().map(String::as_str)),
    );
    let leak = |b: bool| if b { "probed" } else { "not probed" };
    let gl: Vec<&str> = v
        .traces
        .iter()
        .map(|t| leak(t.meta.goroutineleak))
        .collect();
    kv("goroutineleak profile", distinct(gl.into_iter()));
    // goleak is polled on its own cadence: its latency includes up to a period of waiting.
    let goleak: Vec<String> = v
        .traces
        .iter()
        .map(|t| match t.meta.goleak_period_s {
            Some(p) if p > 0.0 => format!("polled every {} s", tick(p)),
            Some(_) => "polled whenever no request was in flight".into(),
            None if t.samples.iter().any(|s| s.goleak.is_some()) => {
                "polled whenever no request was in flight".into()
            }
            None => "not probed".into(),
        })
        .collect();
    // The cadence kept, from the request times the traces record.
    let asked_gaps: Vec<f64> = v
        .traces
        .iter()
        .flat_map(|t| {
            let asked: Vec<f64> = t.samples.iter().filter_map(|s| s.goleak_asked_s).collect();
            asked.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        })
        .collect();
    let kept = crate::stats::median(&asked_gaps)
        .map(|m| format!(" (requests a median {} s apart)", tick(m)))
        .unwrap_or_default();
    kv(
        "goleak",
        format!("{}{kept}", distinct(goleak.iter().map(String::as_str))),
    );
    d.table(&["setting", "value"], &[false, false], rows);
    let bad: Vec<String> = v
        .traces
        .iter()
        .filter_map(|t| {
            score::unscorable(t).map(|why| {
                let cell = if t.meta.axes.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", t.meta.axes.label())
                };
                format!(
                    "[`{}`]({}){cell} repetition {}: {why}",
                    t.meta.scenario.name,
                    names::scenario_page(&t.meta.scenario.name),
                    t.meta.rep
                )
            })
        })
        .collect();
    if !bad.is_empty() {
        d.p("Repetitions not scored (their rows are NA):");
        d.list(bad);
    }
}

fn files(d: &mut Doc, v: &RunView, has_overhead: bool) {
    d.h(1, "Files");
    // `./`: a file to open as it is, not a page of the report (see `doc`).
    let link = |f: &str| {
        if v.dir.join(f).exists() {
            format!("[`{f}`](./{f})")
        } else {
            format!("`{f}`")
        }
    };
    let mut items = vec![
        format!("{}: one row per scenario × detector × repetition (outcome, alarm time, latency, oracle bound, blamed site).", link("scores.csv")),
        format!("{}, {}: the aggregates per detector and per detector × class.", link("summary.json"), link("summary.md")),
        format!("{}: recall and false-alarm rate per detector at each threshold scale (the threshold sweep).", link(SWEEP_CSV)),
    ];
    if has_overhead {
        items.push(format!(
            "{}: the overhead study's rows.",
            link("overhead.csv")
        ));
    }
    items.extend([
        "`plots/`: every chart as SVG and PNG. `leakbench plot DIR` redraws them and this report from the files above and the traces.".into(),
        format!("`{}/`: one page per scenario (its table, timelines and trace files), in Markdown and HTML.", names::SCENARIOS_DIR),
        "`traces/<scenario>/rep-<k>/`: the samples (`trace.jsonl`), the settings (`meta.json`), how the repetition ended (`end.json`) and the fixture's output; each scenario's page links its own.".into(),
    ]);
    d.list(items);
}

/// Did this detector name a site in any alarm of the run? A detector that raised alarms and
/// never named one cannot: its right-site rate is "n/a", not 0%.
fn names_sites(v: &RunView, detector: &str) -> bool {
    v.scores
        .iter()
        .any(|r| r.detector == detector && r.site.is_some())
}

fn by_detector(d: &mut Doc, v: &RunView, s: &Summary, seen: &Visibility) {
    d.h(1, "Summary by detector");
    d.p(format!("Recall beside precision and false alarms; **recall where its metric grew** counts only the leaks whose growth the series the detector watches shows (a goroutine counter is not blamed for missing a map). Per class: [Summary by leak class](#summary-by-leak-class); the detectors' thresholds: [Threshold sweep](#threshold-sweep). A false-alarm rate above {} is in bold.", pct(Some(findings::ACCEPTABLE_FALSE_ALARMS))));
    let order = charts::detectors(v);
    let mut rows = Vec::new();
    for name in &order {
        let Some(a) = s.by_detector.iter().find(|a| &a.detector == name) else {
            continue;
        };
        let watched = detect::by_name(name).ok().map(|s| s.watches);
        let visible = watched.map(|w| {
            let mine: Vec<&ScoreRow> = v
                .scores
                .iter()
                .filter(|r| &r.detector == name && r.leaking && seen.shows(&r.scenario, w))
                .collect();
            score::aggregate(name, None, &mine)
        });
        let fa = format!(
            "{} ({})",
            pct(a.false_alarm_rate),
            frac(a.fp - a.fp_early, negative(a))
        );
        rows.push(vec![
            format!("`{name}`"),
            watched.map(|w| w.to_string()).unwrap_or_default(),
            format!("{} ({})", pct(a.recall), frac(a.tp, leaking(a))),
            match &visible {
                Some(x) if leaking(x) > 0 => {
                    format!("{} ({})", pct(x.recall), frac(x.tp, leaking(x)))
                }
                Some(_) => "no such leak".into(),
                None => "–".into(),
            },
            pct(a.precision),
            if a.false_alarm_rate.is_some() && !acceptable(a) {
                format!("**{fa}**")
            } else {
                fa
            },
            a.fp_early.to_string(),
            secs(a.latency_median_s),
            times(a.latency_over_oracle_median),
            pct(a.timely_rate),
            if a.tp > 0 && !names_sites(v, name) {
                "n/a".into()
            } else {
                pct(a.site_ok_rate)
            },
            pct(a.class_ok_rate),
        ]);
    }
    table(
        d,
        &[
            "detector",
            "watches",
            "recall",
            "recall where its metric grew",
            "precision",
            "false-alarm rate",
            "alarms before onset",
            "median latency",
            "÷ bound",
            "in time",
            "right site",
            "right class",
        ],
        &[
            false, false, true, true, true, true, true, true, true, true, true, true,
        ],
        rows,
    );
    let mut clean: Vec<&Aggregate> = s
        .by_detector
        .iter()
        .filter(|a| a.fp == 0 && a.recall.is_some())
        .collect();
    clean.sort_by(|a, b| {
        b.recall
            .partial_cmp(&a.recall)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.detector.cmp(&b.detector))
    });
    if clean.is_empty() {
        d.p("Every detector raised at least one false alarm in this run.");
    } else {
        d.p(format!(
            "Without a single false alarm, by recall: {}.",
            clean
                .iter()
                .map(|a| format!("`{}` {}", a.detector, pct(a.recall)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

fn by_class(d: &mut Doc, v: &RunView, s: &Summary) {
    d.h(1, "Summary by leak class");
    let ok = pct(Some(findings::ACCEPTABLE_FALSE_ALARMS));
    d.p(format!("Twins and hard negatives count under the class they imitate. **Best** and **fastest** consider only detectors with at most {ok} false alarms on the class's non-leaking repetitions, so a detector that alarms on everything is never named. A detector is **clean** on a class when it found every leaking repetition after its onset and raised no false alarm."));
    let mut rows = Vec::new();
    for c in findings::classes(v, s) {
        let of: Vec<&ScoreRow> = v.scores.iter().filter(|r| r.class == c.class).collect();
        let grows: BTreeSet<String> = v
            .traces
            .iter()
            .filter(|t| t.meta.scenario.truth.class == c.class)
            .map(|t| join(&t.meta.scenario.truth.grows))
            .collect();
        let reps = |leaking: bool| {
            of.iter()
                .filter(|r| r.leaking == leaking && r.outcome != Outcome::Na)
                .map(|r| (&r.scenario, &r.axes, r.rep))
                .collect::<BTreeSet<_>>()
                .len()
        };
        let best = if c.best.is_empty() {
            "none".to_string()
        } else {
            let names: Vec<String> = c.best.iter().map(|a| format!("`{}`", a.detector)).collect();
            format!("{} (recall {})", join_and(&names), pct(c.best[0].recall))
        };
        let fastest = c
            .fastest
            .map(|a| {
                format!(
                    "`{}` ({}, recall {})",
                    a.detector,
                    secs(a.latency_median_s),
                    pct(a.recall)
                )
            })
            .unwrap_or_else(|| "none".into());
        rows.push(vec![
            c.class.to_string(),
            grows.into_iter().collect::<Vec<_>>().join(", "),
            reps(true).to_string(),
            reps(false).to_string(),
            best,
            fastest,
            if c.clean.is_empty() {
                "none".into()
            } else {
                c.clean
                    .iter()
                    .map(|a| format!("`{}`", a.detector))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ]);
    }
    d.table(
        &[
            "class",
            "grows",
            "leaking repetitions",
            "non-leaking repetitions",
            &format!("best at ≤ {ok} false alarms"),
            &format!("fastest at ≤ {ok} false alarms, recall ≥ 50% (median latency)"),
            "clean detectors",
        ],
        &[false, false, true, true, false, false, false],
        rows,
    );
    d.chart(MATRIX, "Detection matrix: outcomes per detector and class");
}

/// The index of scenario pages: every scenario reachable from the main page.
fn scenario_index(d: &mut Doc, v: &RunView, seen: &Visibility) {
    d.h(1, "Scenarios");
    d.p("Each scenario has its own page: what it is, every detector's outcome in every repetition, the timeline of every repetition (the watched metrics, the measured onset, each detector's first alarm) and its trace files.");
    let dets = charts::detectors(v);
    let mut rows = Vec::new();
    for sc in charts::scenarios(v) {
        let mine: Vec<&ScoreRow> = v.scores.iter().filter(|r| r.scenario == sc.name).collect();
        let with = |o: Outcome| {
            mine.iter()
                .filter(|r| r.outcome == o)
                .map(|r| r.detector.as_str())
                .collect::<BTreeSet<_>>()
                .len()
        };
        let shows: Vec<&str> = visible::SERIES
            .iter()
            .filter(|w| seen.shows(&sc.name, **w))
            .map(|w| w.as_str())
            .collect();
        rows.push(vec![
            format!("[{}]({})", sc.name, names::scenario_page(&sc.name)),
            sc.truth.class.to_string(),
            sc.role().to_string(),
            names::leaking_function(v, &sc)
                .map(|f| format!("`{f}`"))
                .unwrap_or_else(|| "–".into()),
            if sc.truth.leaking {
                format!("{}/{}", with(Outcome::Tp), dets.len())
            } else {
                "–".into()
            },
            format!("{}/{}", with(Outcome::Fp), dets.len()),
            if sc.truth.leaking {
                if shows.is_empty() {
                    "none".into()
                } else {
                    shows.join(", ")
                }
            } else {
                "–".into()
            },
        ]);
    }
    d.table(
        &[
            "scenario",
            "class",
            "role",
            "leaking function",
            "detectors that found it",
            "detectors with a false alarm",
            "series that show its growth",
        ],
        &[false, false, false, false, true, true, false],
        rows,
    );
}
