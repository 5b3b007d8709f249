//! What the report says, as a [`Doc`]: written for a reader who never saw the code.

use super::charts::{self, chart_outcome};
use super::doc::Doc;
use super::load::RunView;
use crate::evaluate::detect;
use crate::evaluate::score::{self, Aggregate, Outcome, ScoreRow};
use crate::evaluate::sweep::SWEEP_CSV;
use crate::leak_class::join;
use crate::present::plot::heatmap::ratio_text;
use crate::present::plot::{tick, ChartOutcome};
use crate::scenario::Scenario;
use crate::stats;
use std::collections::BTreeSet;

/// Chart file stems, shared with [`super::generate`].
pub const MATRIX: &str = "detection-matrix";
pub const HEATMAP: &str = "latency-heatmap";
pub const SWEEP: &str = "threshold-sweep";
pub const OVERHEAD: &str = "overhead";

/// The file stem of a scenario's timeline.
pub fn timeline_stem(scenario: &str) -> String {
    format!("timeline-{scenario}")
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn secs(v: Option<f64>) -> String {
    v.map(|x| format!("{} s", tick(x)))
        .unwrap_or_else(|| "–".into())
}

fn times(v: Option<f64>) -> String {
    v.map(|x| format!("{}×", ratio_text(x)))
        .unwrap_or_else(|| "–".into())
}

fn frac(k: usize, n: usize) -> String {
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

/// The whole report. `has_overhead`: the overhead chart was drawn.
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
    intro(&mut d, v);
    environment(&mut d, v);
    let summary = score::summarize(&v.scores);
    by_detector(&mut d, v, &summary.by_detector);
    by_class(&mut d, v, &summary.by_detector_class);
    d.h(1, "Latency");
    d.p("Each cell is the median, over the repetitions where the detector found the leak, of its latency divided by the oracle bound: the delay the best possible detector watching the same metric would need at the same false-alarm rate, computed from the noise of the non-leaking twin (Lorden's bound for a change in mean). 1× is optimal; 10× is ten times slower than optimal. Below 1× the detector beat the bound, which its assumptions (Gaussian, independent increments; the same false-alarm rate as CUSUM's) do not allow: read it as a detector that fires more readily than the bound assumes, or a metric the twin's noise describes badly. Misses, false alarms and correct silence are marked with words, not shades.");
    d.chart(HEATMAP, "Latency heatmap: scenario × detector");
    d.h(1, "Threshold sweep");
    if v.sweep.is_some() {
        d.p("Every detector has one primary threshold. Scaling it trades sensitivity for false alarms. These curves replay the recorded traces at each scale (no new runs); 1× is the default used everywhere else in this report.");
        d.chart(SWEEP, "Threshold sweep per detector");
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
        d.p("What sampling costs the program: each fixture's non-leaking twin runs as fast as it can, alternating windows without and with sampling; the ratio is its throughput while sampled over unsampled (100% = free). Raw rows: `overhead.csv`.");
        d.chart(OVERHEAD, "Sampling overhead");
    }
    scenarios(&mut d, v);
    d.h(1, "Files");
    d.list(vec![
        "`scores.csv`: one row per scenario × detector × repetition (outcome, alarm time, latency, oracle bound, blamed site).".into(),
        "`summary.json`, `summary.md`: the aggregates per detector and per detector × class.".into(),
        format!("`{SWEEP_CSV}`: recall and false-alarm rate per detector at each threshold scale (the threshold sweep)."),
        "`plots/`: every chart as SVG and PNG. `leakbench plot DIR` redraws them and this report from the files above and the traces.".into(),
        "`traces/<scenario>/rep-<k>/`: the samples (`trace.jsonl`), the settings (`meta.json`), how the repetition ended (`end.json`) and the fixture's output.".into(),
    ]);
    d
}

fn intro(d: &mut Doc, v: &RunView) {
    let scs = charts::scenarios(v);
    let reps = v.traces.len();
    let leaks = scs.iter().filter(|s| s.truth.leaking).count();
    d.p(format!(
        "leakbench runs small Go programs (fixtures) that each leak in one known way (goroutines blocked forever, maps that only grow, contexts never cancelled, finalizers that pin memory, C memory never freed), together with their non-leaking twins (the same program with the bug fixed) and hard negatives (programs whose memory moves like a leak but does not leak). While they run it samples them (goroutine and heap profiles, runtime/metrics, process memory) into traces, and each fixture records when its leak really started: the measured onset. Leak detectors then read the traces; a detector's first alarm is scored against that truth. This run: {} scenarios ({leaks} leaking, {} not), {reps} repetitions in all, {} detectors.",
        scs.len(),
        scs.len() - leaks,
        charts::detectors(v).len()
    ));
    d.h(1, "How to read it");
    d.list(vec![
        "**detected** (TP): a leaking scenario, first alarm at or after the measured onset; **in time** when within the scenario's tolerance, else **late**.".into(),
        "**missed** (FN): a leaking scenario, no alarm.".into(),
        "**false alarm** (FP): any alarm on a scenario that does not leak, or an alarm before the onset on one that does.".into(),
        "**quiet** (TN): no alarm on a scenario that does not leak: correct.".into(),
        "**not judged** (NA): the repetition did not finish, or a leaking trace has no measured onset. Never counted as correct.".into(),
        "**latency**: first alarm − measured onset, seconds. **÷ bound**: latency over the oracle bound (see Latency).".into(),
        "**recall**: detected ÷ judged leaking repetitions. **false-alarm rate**: false alarms ÷ judged non-leaking repetitions.".into(),
        "**right site** / **right class**: among detections, how often the detector blamed the leaking function / saw grow what the leak grows (its class, in the detectors' words: goroutines, Go heap, C memory, finalizer queue). Detectors that watch one number (a count, a byte total) name no site, so their right-site rate is 0%.".into(),
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
    d.table(&["setting", "value"], &[false, false], rows);
    let bad: Vec<String> = v
        .traces
        .iter()
        .filter_map(|t| {
            score::unscorable(t).map(|why| {
                format!(
                    "`{}` repetition {}: {why}",
                    t.meta.scenario.name, t.meta.rep
                )
            })
        })
        .collect();
    if !bad.is_empty() {
        d.p("Repetitions not scored (their rows are NA):");
        d.list(bad);
    }
}

fn by_detector(d: &mut Doc, v: &RunView, aggs: &[Aggregate]) {
    d.h(1, "Summary by detector");
    let order = charts::detectors(v);
    let mut rows = Vec::new();
    for name in &order {
        let Some(a) = aggs.iter().find(|a| &a.detector == name) else {
            continue;
        };
        let watches = detect::by_name(name)
            .map(|s| s.watches.to_string())
            .unwrap_or_default();
        let leaking = a.tp + a.fn_ + a.fp_early;
        let negative = a.fp - a.fp_early + a.tn;
        rows.push(vec![
            format!("`{name}`"),
            watches,
            format!("{} ({})", pct(a.recall), frac(a.tp, leaking)),
            format!(
                "{} ({})",
                pct(a.false_alarm_rate),
                frac(a.fp - a.fp_early, negative)
            ),
            a.fp_early.to_string(),
            secs(a.latency_median_s),
            times(a.latency_over_oracle_median),
            pct(a.timely_rate),
            pct(a.site_ok_rate),
            pct(a.class_ok_rate),
        ]);
    }
    d.table(
        &[
            "detector",
            "watches",
            "recall",
            "false-alarm rate",
            "alarms before onset",
            "median latency",
            "÷ bound",
            "in time",
            "right site",
            "right class",
        ],
        &[false, false, true, true, true, true, true, true, true, true],
        rows,
    );
    window_caveat(d, v, &order);
    let mut clean: Vec<&Aggregate> = aggs
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

/// Says which detectors judge a trend over a window longer than the leaks in this run lasted:
/// their misses may be the matrix's, not theirs.
fn window_caveat(d: &mut Doc, v: &RunView, order: &[String]) {
    let spans: Vec<f64> = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.truth.leaking)
        .filter_map(|t| Some(t.samples.last()?.t - t.onset_s()?))
        .collect();
    let Some(median) = crate::stats::median(&spans) else {
        return;
    };
    let long: Vec<String> = order
        .iter()
        .filter_map(|name| {
            let w = detect::by_name(name).ok()?.window_s?;
            (w >= median).then(|| format!("`{name}` ({w:.0} s)"))
        })
        .collect();
    let (lo, hi) = spans
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let mut text = if hi - lo < 0.05 {
        format!("The leaks were watched for {median:.1} s after their measured onset.")
    } else {
        format!(
            "The leaks were watched for {lo:.1}–{hi:.1} s after their measured onset (median {median:.1} s)."
        )
    };
    if !long.is_empty() {
        text.push_str(&format!(
            " {} judge a trend over a window at least that long: for them a miss or a late alarm here may mean the runs were too short rather than that the leak is invisible to them; a run with a longer `duration_s` tells the two apart.",
            long.join(", ")
        ));
    }
    d.p(text);
}

fn by_class(d: &mut Doc, v: &RunView, aggs: &[Aggregate]) {
    d.h(1, "Summary by leak class");
    d.p("Twins and hard negatives count under the class they imitate. A detector is **clean** on a class when it found every leaking repetition after its onset and raised no false alarm.");
    let mut rows = Vec::new();
    for c in charts::classes(v) {
        let of: Vec<&ScoreRow> = v.scores.iter().filter(|r| r.class == c).collect();
        let grows: BTreeSet<String> = v
            .traces
            .iter()
            .filter(|t| t.meta.scenario.truth.class == c)
            .map(|t| join(&t.meta.scenario.truth.grows))
            .collect();
        let reps = |leaking: bool| {
            of.iter()
                .filter(|r| r.leaking == leaking && r.outcome != Outcome::Na)
                .map(|r| (&r.scenario, r.rep))
                .collect::<BTreeSet<_>>()
                .len()
        };
        let in_class: Vec<&Aggregate> = aggs
            .iter()
            .filter(|a| a.class.as_ref() == Some(&c))
            .collect();
        let clean: Vec<String> = charts::detectors(v)
            .into_iter()
            .filter(|n| {
                in_class
                    .iter()
                    .any(|a| &a.detector == n && a.fp == 0 && a.fn_ == 0 && a.tp > 0)
            })
            .map(|n| format!("`{n}`"))
            .collect();
        let fastest = in_class
            .iter()
            .filter(|a| a.recall.is_some_and(|r| r >= 0.5))
            .filter_map(|a| Some((a.latency_median_s?, a)))
            .min_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(l, a)| format!("`{}` ({} s, recall {})", a.detector, tick(l), pct(a.recall)))
            .unwrap_or_else(|| "–".into());
        rows.push(vec![
            c.to_string(),
            grows.into_iter().collect::<Vec<_>>().join(", "),
            reps(true).to_string(),
            reps(false).to_string(),
            if clean.is_empty() {
                "none".into()
            } else {
                clean.join(", ")
            },
            fastest,
        ]);
    }
    d.table(
        &[
            "class",
            "grows",
            "leaking repetitions",
            "non-leaking repetitions",
            "clean detectors",
            "fastest with recall ≥ 50% (median latency)",
        ],
        &[false, false, true, true, false, false],
        rows,
    );
    d.chart(MATRIX, "Detection matrix: outcomes per detector and class");
}

/// One repetition's outcome for the per-scenario table.
fn cell(r: &ScoreRow) -> String {
    match (chart_outcome(r), r.outcome) {
        (Some(ChartOutcome::InTime | ChartOutcome::Late), _) => {
            let mut s = format!(
                "{} +{}",
                if chart_outcome(r) == Some(ChartOutcome::Late) {
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
        (Some(ChartOutcome::Missed), _) => "missed".into(),
        (Some(ChartOutcome::FalseAlarm), _) => format!("false alarm at {}", secs(r.alarm_s)),
        (Some(ChartOutcome::Quiet), _) => "quiet".into(),
        (None, _) => format!("not judged: {}", r.note),
    }
}

fn scenarios(d: &mut Doc, v: &RunView) {
    d.h(1, "Scenarios");
    d.p("One section per scenario: what it is, each detector's outcome per repetition, and a timeline of one repetition (the watched metrics, the measured onset, and each detector's first alarm).");
    let dets = charts::detectors(v);
    for sc in charts::scenarios(v) {
        scenario(d, v, &sc, &dets);
    }
}

fn scenario(d: &mut Doc, v: &RunView, sc: &Scenario, dets: &[String]) {
    d.h(2, &sc.name);
    let onsets: Vec<f64> = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.name == sc.name)
        .filter_map(|t| t.onset_s())
        .collect();
    let mut facts = vec![
        format!("class **{}**", sc.truth.class),
        format!("grows **{}**", join(&sc.truth.grows)),
        format!("**{}**", sc.role()),
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
            "leak starts at {} s by design, measured onset {} (median)",
            tick(sc.leak.onset_s),
            secs(stats::median(&onsets))
        ));
        facts.push(format!("leaking site `{}`", sc.truth.site));
        facts.push(format!("tolerance {} s", tick(sc.truth.tolerance_s)));
    }
    let desc = if sc.description.is_empty() {
        String::new()
    } else {
        format!("{}. ", sc.description.trim_end_matches('.'))
    };
    d.p(format!("{desc}{}.", facts.join(" · ")));
    let reps: Vec<u32> = v
        .scores
        .iter()
        .filter(|r| r.scenario == sc.name)
        .map(|r| r.rep)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut head: Vec<String> = vec!["detector".into()];
    head.extend(reps.iter().map(|r| format!("rep {r}")));
    head.push("blamed site".into());
    let mut rows = Vec::new();
    for det in dets {
        let mine: Vec<&ScoreRow> = v
            .scores
            .iter()
            .filter(|r| r.scenario == sc.name && &r.detector == det)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut row = vec![format!("`{det}`")];
        for rep in &reps {
            row.push(
                mine.iter()
                    .find(|r| r.rep == *rep)
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
    if charts::timeline_trace(v, &sc.name).is_some() {
        d.chart(timeline_stem(&sc.name), format!("Timeline of {}", sc.name));
    }
}
