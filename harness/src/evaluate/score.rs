//! Scoring: one detector's first alarm on one repetition against the scenario's ground truth
//! ([`score_row`] → [`ScoreRow`]), and the aggregates over rows ([`summarize`] → [`Summary`]).
//!
//! Outcome rules (design notes, "Ground truth and scoring"):
//! - leaking scenario, alarm at or after the measured onset → **TP**; latency = alarm − onset;
//! - leaking, no alarm → **FN**;
//! - leaking, alarm before the onset → **FP** (a false alarm that also missed the leak);
//! - non-leaking, any alarm → **FP**; no alarm → **TN**;
//! - **NA** when the row cannot be judged: a leaking trace without a measured onset, a
//!   repetition that did not produce a usable trace (unfinished, not ready, harness error), or
//!   a detector that did not alarm on a trace without the scalar it watches
//!   ([`watched_absent`]: its probe is missing, so its silence is no evidence), or a
//!   repetition whose samples came too late to trust ([`crate::fidelity::Fidelity::too_late`]:
//!   the p99 gap between samples past 2 intervals, or more than 5 % of the samples missed).
//!   Never a silent TN; the note says why.
//!
//! Localization is scored on TPs only: `site_ok` (the reported site matches the scenario's
//! `truth.site` regex; no site is not ok), `class_ok` (what the alarm saw grow is among what
//! the scenario's `truth.grows` says grows; nothing named is not ok). Classes are the
//! scenarios' free text; the observables are what detectors and scenarios share, so the
//! class is judged on them. `timely`: latency within the scenario's `tolerance_s`.
//!
//! Owns outcome rules and aggregates; must not run detectors, read files or format output.

use crate::axes::AxisValues;
use crate::evaluate::detect::{Alarm, Watched};
use crate::fidelity;
use crate::scenario::{LeakClass, Observable, Role};
use crate::stats;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Spelled `TP`, `FN`, `FP`, `TN`, `NA` everywhere: in `scores.csv`, in saved baselines, in
/// [`fmt::Display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Outcome {
    #[serde(rename = "TP")]
    Tp,
    #[serde(rename = "FN")]
    Fn,
    #[serde(rename = "FP")]
    Fp,
    #[serde(rename = "TN")]
    Tn,
    #[serde(rename = "NA")]
    Na,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Tp => "TP",
            Outcome::Fn => "FN",
            Outcome::Fp => "FP",
            Outcome::Tn => "TN",
            Outcome::Na => "NA",
        }
    }

    pub const ALL: [Outcome; 5] = [
        Outcome::Tp,
        Outcome::Fn,
        Outcome::Fp,
        Outcome::Tn,
        Outcome::Na,
    ];

    /// The inverse of [`Outcome::as_str`].
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scenario × detector × repetition. Times are seconds since spawn; `None` is "not
/// applicable" (no alarm, no onset, not a TP, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    pub scenario: String,
    /// The scenario's class (also for its twin and hard negatives: the class they mimic).
    pub class: LeakClass,
    pub role: Role,
    pub leaking: bool,
    pub detector: String,
    pub rep: u32,
    /// The matrix point of the repetition (empty when the run sweeps no axis): with the
    /// scenario, the cell's identity.
    #[serde(skip_serializing_if = "AxisValues::is_empty")]
    pub axes: AxisValues,
    pub outcome: Outcome,
    /// The fixture's measured onset.
    pub onset_s: Option<f64>,
    /// The first alarm's time.
    pub alarm_s: Option<f64>,
    /// First alarm − onset, TPs only.
    pub latency_s: Option<f64>,
    /// The oracle bound on the detector's watched scalar (leaking traces with an onset only).
    pub oracle_s: Option<f64>,
    /// The site the alarm blamed.
    pub site: Option<String>,
    pub site_ok: Option<bool>,
    /// What the alarm saw grow is among what the scenario grows (TPs only).
    pub class_ok: Option<bool>,
    /// What the alarm saw grow: its class, in the detectors' vocabulary.
    pub alarm_class: Option<Observable>,
    pub confidence: Option<f64>,
    /// Latency ≤ the scenario's `tolerance_s` (TPs only).
    pub timely: Option<bool>,
    /// Why a row is NA, or other remarks; empty otherwise.
    pub note: String,
}

/// Why a trace cannot be scored at all, if it cannot: it did not finish usably, or its
/// samples were too late to judge a detector on.
pub fn unscorable(trace: &Trace) -> Option<String> {
    unfinished(trace).or_else(|| fidelity::of_trace(trace).too_late())
}

/// Why a repetition did not finish usably, if it did not: no `end.json`, or an end whose
/// status cannot be scored. The first half of [`unscorable`]; GoKer's judging takes only this
/// half (its own reason is in `goker::judge`).
pub fn unfinished(trace: &Trace) -> Option<String> {
    match &trace.end {
        None => Some("repetition unfinished (no end.json)".to_string()),
        Some(e) if !e.status.scorable() => {
            Some(format!("repetition ended {}: {}", e.status, e.reason))
        }
        Some(_) => None,
    }
}

/// Why a detector that did not alarm on a scorable trace is not judged there, if it is not:
/// the scalar it watches is absent from every sample it was shown (after the warm-up). Its
/// probe is missing (a program that does not serve it, a Go version without it, a trace
/// recorded before the probe existed), so its silence is neither a miss nor a true negative.
pub fn watched_absent(trace: &Trace, watched: Watched) -> Option<String> {
    (!watched_seen(&trace.samples, trace.meta.scenario.warmup_s, watched))
        .then(|| format!("no {watched} data in this trace (its probe is missing)"))
}

/// Whether any sample from `warmup_s` on holds the scalar `watched`: the test behind
/// [`watched_absent`], shared with live recordings (`evaluate::alarms`), which have samples
/// and a warm-up but no scenario.
pub fn watched_seen(samples: &[crate::sample::Sample], warmup_s: f64, watched: Watched) -> bool {
    watched.series(samples).iter().any(|(t, _)| *t >= warmup_s)
}

/// Judges one detector on one trace: [`score_row`], except that a silent detector whose
/// watched scalar is absent is not judged ([`watched_absent`]). The one judgement both the
/// scores and the threshold sweep use.
pub fn judge(
    trace: &Trace,
    spec: &crate::evaluate::detect::DetectorSpec,
    alarm: Option<&Alarm>,
    oracle_s: Option<f64>,
) -> ScoreRow {
    let mut row = score_row(trace, spec.name, alarm, oracle_s);
    if alarm.is_none() && unscorable(trace).is_none() {
        if let Some(why) = watched_absent(trace, spec.watches) {
            (row.outcome, row.note) = (Outcome::Na, why);
        }
    }
    row
}

/// Scores one detector's first alarm (if any) on one trace. `oracle_s` is passed through.
pub fn score_row(
    trace: &Trace,
    detector: &str,
    alarm: Option<&Alarm>,
    oracle_s: Option<f64>,
) -> ScoreRow {
    let sc = &trace.meta.scenario;
    let onset_s = trace.onset_s();
    let mut row = ScoreRow {
        scenario: sc.name.clone(),
        class: sc.truth.class.clone(),
        role: sc.role(),
        leaking: sc.truth.leaking,
        detector: detector.to_string(),
        rep: trace.meta.rep,
        axes: trace.meta.axes.clone(),
        outcome: Outcome::Na,
        onset_s,
        alarm_s: alarm.map(|a| a.t),
        latency_s: None,
        oracle_s,
        site: alarm.and_then(|a| a.site.clone()),
        site_ok: None,
        class_ok: None,
        alarm_class: alarm.and_then(|a| a.grew),
        confidence: alarm.map(|a| a.confidence),
        timely: None,
        note: String::new(),
    };
    if let Some(why) = unscorable(trace) {
        row.note = why;
        return row;
    }
    row.outcome = match (sc.truth.leaking, onset_s, alarm) {
        (true, None, _) => {
            row.note = "leaking scenario but the trace has no measured onset".to_string();
            Outcome::Na
        }
        (true, Some(_), None) => Outcome::Fn,
        (true, Some(onset), Some(a)) if a.t < onset => {
            row.note = "alarm before onset".to_string();
            Outcome::Fp
        }
        (true, Some(onset), Some(a)) => {
            let latency = a.t - onset;
            row.latency_s = Some(latency);
            row.timely = Some(latency <= sc.truth.tolerance_s);
            row.site_ok = Some(
                a.site
                    .as_deref()
                    .is_some_and(|s| sc.site_regex().is_match(s)),
            );
            row.class_ok = Some(a.grew.is_some_and(|g| sc.truth.grows.contains(&g)));
            Outcome::Tp
        }
        (false, _, Some(_)) => Outcome::Fp,
        (false, _, None) => Outcome::Tn,
    };
    if sc.truth.leaking && trace.onset_declared() {
        let sep = if row.note.is_empty() { "" } else { "; " };
        row.note = format!("{}{sep}onset declared, not measured", row.note);
    }
    row
}

/// Aggregates over a set of rows (one detector; one class or all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    pub detector: String,
    /// `None`: all classes.
    pub class: Option<LeakClass>,
    pub rows: usize,
    pub tp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// All false alarms: on non-leaking scenarios and before onset on leaking ones.
    pub fp: usize,
    /// The false alarms before onset on leaking scenarios (included in `fp`).
    pub fp_early: usize,
    pub tn: usize,
    pub na: usize,
    /// TP / (TP + FP).
    pub precision: Option<f64>,
    /// TP / judged leaking rows (TP + FN + early FP).
    pub recall: Option<f64>,
    /// False alarms on non-leaking rows / judged non-leaking rows.
    pub false_alarm_rate: Option<f64>,
    /// Over TP latencies, seconds.
    pub latency_median_s: Option<f64>,
    pub latency_p90_s: Option<f64>,
    /// Median over TPs with an oracle bound of latency / oracle.
    pub latency_over_oracle_median: Option<f64>,
    /// Fractions of TPs with the right class, site, and within tolerance.
    pub class_ok_rate: Option<f64>,
    pub site_ok_rate: Option<f64>,
    pub timely_rate: Option<f64>,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The aggregate of `rows` (callers select them), labelled with `detector` and `class`.
pub fn aggregate(detector: &str, class: Option<LeakClass>, rows: &[&ScoreRow]) -> Aggregate {
    let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
    let (tp, fn_, fp, tn, na) = (
        count(Outcome::Tp),
        count(Outcome::Fn),
        count(Outcome::Fp),
        count(Outcome::Tn),
        count(Outcome::Na),
    );
    let fp_early = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Fp && r.leaking)
        .count();
    let tps: Vec<&&ScoreRow> = rows.iter().filter(|r| r.outcome == Outcome::Tp).collect();
    let latencies: Vec<f64> = tps.iter().filter_map(|r| r.latency_s).collect();
    let over_oracle: Vec<f64> = tps
        .iter()
        .filter_map(|r| Some(r.latency_s? / r.oracle_s.filter(|o| *o > 0.0)?))
        .collect();
    let rate = |f: fn(&ScoreRow) -> Option<bool>| {
        ratio(tps.iter().filter(|r| f(r) == Some(true)).count(), tps.len())
    };
    Aggregate {
        detector: detector.to_string(),
        class,
        rows: rows.len(),
        tp,
        fn_,
        fp,
        fp_early,
        tn,
        na,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_ + fp_early),
        false_alarm_rate: ratio(fp - fp_early, fp - fp_early + tn),
        latency_median_s: stats::median(&latencies),
        latency_p90_s: stats::quantile(&latencies, 0.9),
        latency_over_oracle_median: stats::median(&over_oracle),
        class_ok_rate: rate(|r| r.class_ok),
        site_ok_rate: rate(|r| r.site_ok),
        timely_rate: rate(|r| r.timely),
    }
}

/// Aggregates per detector and per detector × class, sorted by detector then class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub na: usize,
    pub by_detector: Vec<Aggregate>,
    pub by_detector_class: Vec<Aggregate>,
    /// How well the repetitions' samples kept their schedule: set by replay, which has the
    /// traces ([`summarize`] sees only rows); absent from `summary.json` when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<fidelity::RunFidelity>,
}

pub fn summarize(rows: &[ScoreRow]) -> Summary {
    let mut by_det: BTreeMap<&str, Vec<&ScoreRow>> = BTreeMap::new();
    let mut by_det_class: BTreeMap<(&str, &LeakClass), Vec<&ScoreRow>> = BTreeMap::new();
    for r in rows {
        by_det.entry(&r.detector).or_default().push(r);
        by_det_class
            .entry((&r.detector, &r.class))
            .or_default()
            .push(r);
    }
    Summary {
        rows: rows.len(),
        na: rows.iter().filter(|r| r.outcome == Outcome::Na).count(),
        by_detector: by_det
            .iter()
            .map(|(d, rs)| aggregate(d, None, rs))
            .collect(),
        by_detector_class: by_det_class
            .iter()
            .map(|((d, c), rs)| aggregate(d, Some((*c).clone()), rs))
            .collect(),
        fidelity: None,
    }
}

/// Sorts rows by scenario, matrix point, detector, repetition: the order of `scores.csv`
/// (without axes: scenario, detector, repetition).
pub fn sort_rows(rows: &mut [ScoreRow]) {
    rows.sort_by(|a, b| {
        a.scenario
            .cmp(&b.scenario)
            .then_with(|| a.axes.cmp(&b.axes))
            .then_with(|| a.detector.cmp(&b.detector))
            .then_with(|| a.rep.cmp(&b.rep))
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sample::{Sample, Truth};
    use crate::trace::{EndStatus, RepEnd};

    /// A finished trace of the test scenario (`map`, site `main\.f`, tolerance 10 s) with
    /// the given truth; `onset` is recorded from its time on.
    pub(crate) fn trace(leaking: bool, onset: Option<f64>) -> Trace {
        let mut meta = crate::trace::tests::meta();
        meta.scenario.truth.leaking = leaking;
        let samples = (0..40)
            .map(|i| {
                let t = i as f64 * 0.5;
                Sample {
                    t,
                    truth: Some(Truth {
                        onset_s: onset.filter(|o| t >= *o),
                        units: 0,
                        site: "main.f".into(),
                    }),
                    ..Default::default()
                }
            })
            .collect();
        Trace {
            dir: "t".into(),
            meta,
            end: Some(RepEnd {
                status: EndStatus::Completed,
                reason: String::new(),
                samples: 40,
                ended_s: 20.0,
                fidelity: None,
            }),
            samples,
        }
    }

    pub(crate) fn alarm(t: f64, grew: Option<Observable>, site: Option<&str>) -> Alarm {
        Alarm {
            t,
            grew,
            site: site.map(str::to_string),
            confidence: 0.9,
            detail: String::new(),
        }
    }

    #[test]
    fn outcomes_follow_the_rules() {
        let leak = trace(true, Some(5.0));
        let a = alarm(7.5, Some(Observable::GoHeap), Some("main.f"));
        let r = score_row(&leak, "d", Some(&a), Some(2.0));
        assert_eq!(r.outcome, Outcome::Tp);
        assert_eq!((r.latency_s, r.timely), (Some(2.5), Some(true)));
        assert_eq!((r.site_ok, r.class_ok), (Some(true), Some(true)));
        assert_eq!(score_row(&leak, "d", None, None).outcome, Outcome::Fn);
        let early = score_row(&leak, "d", Some(&alarm(4.0, None, None)), None);
        assert_eq!((early.outcome, early.latency_s), (Outcome::Fp, None));
        assert_eq!(early.note, "alarm before onset");
        // At the onset exactly is a TP.
        assert_eq!(
            score_row(&leak, "d", Some(&alarm(5.0, None, None)), None).outcome,
            Outcome::Tp
        );
        let late = score_row(&leak, "d", Some(&alarm(16.0, None, None)), None);
        assert_eq!(late.timely, Some(false));
        let neg = trace(false, None);
        assert_eq!(score_row(&neg, "d", Some(&a), None).outcome, Outcome::Fp);
        assert_eq!(score_row(&neg, "d", None, None).outcome, Outcome::Tn);
    }

    #[test]
    fn missing_onset_or_unusable_trace_is_na_with_a_note() {
        let r = score_row(&trace(true, None), "d", None, None);
        assert_eq!(r.outcome, Outcome::Na);
        assert!(r.note.contains("no measured onset"), "{}", r.note);
        let mut t = trace(false, None);
        t.end = None;
        let r = score_row(&t, "d", None, None);
        assert_eq!(r.outcome, Outcome::Na);
        assert!(r.note.contains("unfinished"));
        t.end = Some(RepEnd {
            status: EndStatus::NotReady,
            reason: "no READY line".into(),
            samples: 0,
            ended_s: 1.0,
            fidelity: None,
        });
        assert_eq!(score_row(&t, "d", None, None).outcome, Outcome::Na);
    }

    /// The test scenario's class is `map`, which grows the Go heap.
    #[test]
    fn site_regex_and_class_are_checked_on_tps() {
        let leak = trace(true, Some(5.0));
        let check = |site: Option<&str>, grew| {
            let r = score_row(&leak, "d", Some(&alarm(6.0, grew, site)), None);
            (r.site_ok, r.class_ok)
        };
        assert_eq!(
            check(Some("main.f"), Some(Observable::GoHeap)),
            (Some(true), Some(true))
        );
        // `main\.f` is unanchored: it matches inside a longer name, and not `mainxf`.
        assert_eq!(check(Some("main.fill"), None), (Some(true), Some(false)));
        assert_eq!(
            check(Some("mainxf"), Some(Observable::Goroutines)),
            (Some(false), Some(false))
        );
        assert_eq!(check(None, None), (Some(false), Some(false)));
    }

    /// A class is any name; what it grows decides: an alarm is of the right class when what
    /// it saw grow is one of the things the scenario grows.
    #[test]
    fn the_class_is_judged_on_what_grows() {
        let mut leak = trace(true, Some(5.0));
        leak.meta.scenario.truth.class = LeakClass::parse("http-body").unwrap();
        leak.meta.scenario.truth.grows = vec![Observable::Goroutines, Observable::GoHeap];
        let ok = |grew| score_row(&leak, "d", Some(&alarm(6.0, grew, None)), None).class_ok;
        assert_eq!(ok(Some(Observable::Goroutines)), Some(true));
        assert_eq!(ok(Some(Observable::GoHeap)), Some(true));
        assert_eq!(ok(Some(Observable::CMemory)), Some(false));
        assert_eq!(ok(None), Some(false));
        let r = score_row(
            &leak,
            "d",
            Some(&alarm(6.0, Some(Observable::GoHeap), None)),
            None,
        );
        assert_eq!(
            (r.class.as_str(), r.alarm_class),
            ("http-body", Some(Observable::GoHeap))
        );
    }

    fn row(outcome: Outcome, leaking: bool, latency: Option<f64>, oracle: Option<f64>) -> ScoreRow {
        ScoreRow {
            scenario: "s".into(),
            class: LeakClass::parse("map").unwrap(),
            role: if leaking { Role::Leak } else { Role::Twin },
            leaking,
            detector: "d".into(),
            rep: 0,
            axes: AxisValues::default(),
            outcome,
            onset_s: None,
            alarm_s: None,
            latency_s: latency,
            oracle_s: oracle,
            site: None,
            site_ok: latency.map(|l| l < 3.0),
            class_ok: latency.map(|_| true),
            alarm_class: None,
            confidence: None,
            timely: latency.map(|_| true),
            note: String::new(),
        }
    }

    /// By hand: 4 TPs with latencies 1, 2, 3, 10 (oracle 1 s each), 1 FN, 1 early FP,
    /// 2 FPs and 3 TNs on non-leaking runs, 1 NA.
    /// precision = 4/(4+3) = 0.5714; recall = 4/(4+1+1) = 0.6667; FA = 2/(2+3) = 0.4;
    /// median latency = 2.5; p90 = 3 + 0.7·(10 − 3) = 7.9 (type 7: position 2.7);
    /// site_ok: latencies < 3 → 2 of 4.
    #[test]
    fn aggregates_match_hand_computation() {
        let mut rows = vec![];
        for l in [1.0, 2.0, 3.0, 10.0] {
            rows.push(row(Outcome::Tp, true, Some(l), Some(1.0)));
        }
        rows.push(row(Outcome::Fn, true, None, None));
        rows.push(row(Outcome::Fp, true, None, None));
        rows.push(row(Outcome::Fp, false, None, None));
        rows.push(row(Outcome::Fp, false, None, None));
        for _ in 0..3 {
            rows.push(row(Outcome::Tn, false, None, None));
        }
        rows.push(row(Outcome::Na, true, None, None));
        let refs: Vec<&ScoreRow> = rows.iter().collect();
        let a = aggregate("d", None, &refs);
        assert_eq!(
            (a.tp, a.fn_, a.fp, a.fp_early, a.tn, a.na, a.rows),
            (4, 1, 3, 1, 3, 1, 12)
        );
        let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-12;
        assert!(close(a.precision, 4.0 / 7.0));
        assert!(close(a.recall, 4.0 / 6.0));
        assert!(close(a.false_alarm_rate, 0.4));
        assert!(close(a.latency_median_s, 2.5));
        assert!(close(a.latency_p90_s, 7.9));
        assert!(close(a.latency_over_oracle_median, 2.5));
        assert!(close(a.site_ok_rate, 0.5));
        assert!(close(a.class_ok_rate, 1.0));
        let s = summarize(&rows);
        assert_eq!(
            (s.rows, s.na, s.by_detector.len(), s.by_detector_class.len()),
            (12, 1, 1, 1)
        );
        assert_eq!(s.by_detector[0], a);
        // Nothing to divide by: None, not NaN.
        let empty = aggregate("d", None, &[]);
        assert_eq!(
            (empty.precision, empty.recall, empty.latency_median_s),
            (None, None, None)
        );
    }
}
