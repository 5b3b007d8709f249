//! The verdicts the report opens with, and the per-class judgements the summary table shares
//! with them: which detector is best for each leak class at an acceptable false-alarm rate,
//! which ones cry wolf, which leaks nobody catches, how long leaks were watched, and how well
//! the samples kept their schedule. Generated from `scores.csv` (through
//! [`score::summarize`]) and the traces; nothing is re-scored.
//!
//! "Acceptable" is one number, [`ACCEPTABLE_FALSE_ALARMS`] (5 %), the same the threshold-sweep
//! chart shades: a detector with more false alarms on a class's non-leaking repetitions is
//! never named best or fastest for it, however high its recall.

use super::charts;
use super::content;
use super::doc::Block;
use super::load::RunView;
use super::names;
use crate::evaluate::detect;
use crate::evaluate::score::{Aggregate, Outcome, Summary};
use crate::fidelity;
use crate::present::plot::tick;
use crate::scenario::LeakClass;
use std::cmp::Ordering;
use std::collections::BTreeSet;

pub use crate::present::plot::sweep::ACCEPTABLE_FALSE_ALARMS;

/// A percentage without decimals; `–` for none.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// Acceptable on its rows: a false-alarm rate measured, and at most 5 %.
pub fn acceptable(a: &Aggregate) -> bool {
    a.false_alarm_rate
        .is_some_and(|r| r <= ACCEPTABLE_FALSE_ALARMS + 1e-9)
}

/// Judged leaking repetitions of an aggregate (detected, missed, alarmed before onset).
pub fn leaking(a: &Aggregate) -> usize {
    a.tp + a.fn_ + a.fp_early
}

/// Judged non-leaking repetitions of an aggregate.
pub fn negative(a: &Aggregate) -> usize {
    a.fp - a.fp_early + a.tn
}

/// What the report says about one leak class.
#[derive(Debug, Clone)]
pub struct ClassVerdict<'a> {
    pub class: LeakClass,
    /// The acceptable detectors with the highest recall (> 0), fastest first.
    pub best: Vec<&'a Aggregate>,
    /// The fastest acceptable detector with recall ≥ 50 %.
    pub fastest: Option<&'a Aggregate>,
    /// Found every leaking repetition after its onset, no false alarm.
    pub clean: Vec<&'a Aggregate>,
}

fn by_latency(a: &&Aggregate, b: &&Aggregate) -> Ordering {
    let l = |x: &Aggregate| x.latency_median_s.unwrap_or(f64::INFINITY);
    l(a).total_cmp(&l(b)).then(a.detector.cmp(&b.detector))
}

/// The verdict for every class of the run, in report order.
pub fn classes<'a>(v: &RunView, s: &'a Summary) -> Vec<ClassVerdict<'a>> {
    let order = charts::detectors(v);
    charts::classes(v)
        .into_iter()
        .map(|class| {
            let mut of: Vec<&Aggregate> = s
                .by_detector_class
                .iter()
                .filter(|a| a.class.as_ref() == Some(&class))
                .collect();
            of.sort_by_key(|a| order.iter().position(|d| *d == a.detector));
            let ok: Vec<&Aggregate> = of.iter().copied().filter(|a| acceptable(a)).collect();
            let top = ok.iter().filter_map(|a| a.recall).fold(0.0f64, f64::max);
            let mut best: Vec<&Aggregate> = ok
                .iter()
                .copied()
                .filter(|a| top > 0.0 && a.recall == Some(top))
                .collect();
            best.sort_by(by_latency);
            let fastest = ok
                .iter()
                .copied()
                .filter(|a| a.recall.is_some_and(|r| r >= 0.5) && a.latency_median_s.is_some())
                .min_by(by_latency);
            let clean = of
                .iter()
                .copied()
                .filter(|a| a.fp == 0 && a.fn_ == 0 && a.tp > 0)
                .collect();
            ClassVerdict {
                class,
                best,
                fastest,
                clean,
            }
        })
        .collect()
}

/// The findings block: a few generated sentences, each a verdict with its numbers.
pub fn findings(v: &RunView, s: &Summary) -> Vec<Block> {
    let mut items = Vec::new();
    for c in classes(v, s) {
        let of_class = s
            .by_detector_class
            .iter()
            .find(|a| a.class.as_ref() == Some(&c.class));
        let (n_leak, n_neg) = of_class.map_or((0, 0), |a| (leaking(a), negative(a)));
        if n_leak == 0 {
            continue;
        }
        let text = match c.best.first() {
            None => format!(
                "**{}** ({n_leak} leaking repetitions): no detector with at most {} false alarms found any.",
                c.class,
                pct(Some(ACCEPTABLE_FALSE_ALARMS))
            ),
            Some(top) => {
                let names: Vec<String> = c
                    .best
                    .iter()
                    .take(3)
                    .map(|a| match a.latency_median_s {
                        Some(l) => format!("`{}` (median {} s after onset)", a.detector, tick(l)),
                        None => format!("`{}`", a.detector),
                    })
                    .collect();
                let more = c.best.len().saturating_sub(3);
                let who = if more > 0 {
                    format!("{} and {more} more", names.join(", "))
                } else {
                    join_and(&names)
                };
                let fa = top.fp - top.fp_early;
                format!(
                    "**{}**: {who} found {}/{} leaking repetitions ({}), with {} false alarm{} on {n_neg} non-leaking {}.",
                    c.class,
                    top.tp,
                    leaking(top),
                    pct(top.recall),
                    if fa == 0 { "no".to_string() } else { fa.to_string() },
                    if fa == 1 { "" } else { "s" },
                    if n_neg == 1 { "one" } else { "ones" }
                )
            }
        };
        items.push(text);
    }
    let mut blocks = vec![Block::Para(format!(
        "**Best detector per leak class**: the highest recall among detectors with at most {} false alarms on the class's non-leaking repetitions (twins and hard negatives).",
        pct(Some(ACCEPTABLE_FALSE_ALARMS))
    ))];
    blocks.push(Block::List(items));
    let mut more = Vec::new();
    let mut wolves: Vec<&Aggregate> = s
        .by_detector
        .iter()
        .filter(|a| a.false_alarm_rate.is_some() && !acceptable(a))
        .collect();
    wolves.sort_by(|a, b| {
        b.false_alarm_rate
            .unwrap_or(0.0)
            .total_cmp(&a.false_alarm_rate.unwrap_or(0.0))
            .then(a.detector.cmp(&b.detector))
    });
    if wolves.is_empty() {
        more.push(format!(
            "**Nobody cries wolf**: every detector raised false alarms on at most {} of the non-leaking repetitions.",
            pct(Some(ACCEPTABLE_FALSE_ALARMS))
        ));
    } else {
        more.push(format!(
            "**Cry wolf** (false alarms on more than {} of non-leaking repetitions): {}. Their detections say little.",
            pct(Some(ACCEPTABLE_FALSE_ALARMS)),
            wolves
                .iter()
                .map(|a| format!(
                    "`{}` {}/{} ({})",
                    a.detector,
                    a.fp - a.fp_early,
                    negative(a),
                    pct(a.false_alarm_rate)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    more.push(nobody(v, s));
    if let Some(w) = watched_sentence(v, &charts::detectors(v)) {
        more.push(w);
    }
    if let Some(f) = sampling_sentence(v) {
        more.push(f);
    }
    blocks.push(Block::List(more));
    blocks
}

/// Leaking scenarios no detector found, and those only detectors that cry wolf found.
fn nobody(v: &RunView, s: &Summary) -> String {
    let wolf: BTreeSet<&str> = s
        .by_detector
        .iter()
        .filter(|a| a.false_alarm_rate.is_some() && !acceptable(a))
        .map(|a| a.detector.as_str())
        .collect();
    let mut none = Vec::new();
    let mut wolves_only = Vec::new();
    for sc in charts::scenarios(v).iter().filter(|s| s.truth.leaking) {
        let finders: BTreeSet<&str> = v
            .scores
            .iter()
            .filter(|r| r.scenario == sc.name && r.outcome == Outcome::Tp)
            .map(|r| r.detector.as_str())
            .collect();
        let link = format!("[`{}`]({})", sc.name, names::scenario_page(&sc.name));
        if finders.is_empty() {
            none.push(link);
        } else if finders.iter().all(|d| wolf.contains(d)) {
            wolves_only.push(link);
        }
    }
    let mut text = if none.is_empty() {
        "**Every leak was found** by at least one detector in at least one repetition.".to_string()
    } else {
        format!(
            "**Nobody catches** {}: no detector found it in any repetition.",
            join_and(&none)
        )
    };
    if !wolves_only.is_empty() {
        text.push_str(&format!(
            " Only detectors that cry wolf found {}.",
            join_and(&wolves_only)
        ));
    }
    text
}

/// How long leaks were watched after their onset, and which detectors judge a trend over a
/// window at least that long (their misses may be the run's, not theirs).
pub fn watched_sentence(v: &RunView, order: &[String]) -> Option<String> {
    let spans: Vec<f64> = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.truth.leaking)
        .filter_map(|t| Some(t.samples.last()?.t - t.onset_s()?))
        .collect();
    let median = crate::stats::median(&spans)?;
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
        format!("**Watched**: the leaks were watched for {median:.1} s after their measured onset.")
    } else {
        format!(
            "**Watched**: the leaks were watched for {lo:.1}–{hi:.1} s after their measured onset (median {median:.1} s)."
        )
    };
    if !long.is_empty() {
        text.push_str(&format!(
            " {} judge a trend over a window at least that long: for them a miss or a late alarm here may mean the runs were too short rather than that the leak is invisible to them; a run with a longer `duration_s` tells the two apart.",
            join_and(&long)
        ));
    }
    Some(text)
}

/// How well the recording kept its sampling schedule ([`crate::fidelity`]): the interval, the
/// p99 gap between samples (median and worst over the repetitions), the longest gap, the
/// samples missed, and how many repetitions were not judged because their samples came too
/// late. A verdict on a detector is only as good as the samples it was given.
pub fn sampling_sentence(v: &RunView) -> Option<String> {
    let rows: Vec<fidelity::RepFidelity> = v
        .traces
        .iter()
        .map(|t| fidelity::RepFidelity::of(t, None))
        .collect();
    let f = fidelity::summarize(&rows);
    let intervals: BTreeSet<String> = rows
        .iter()
        .map(|r| content::secs(Some(r.fidelity.interval_s)))
        .collect();
    let (p99, worst, longest) = (f.gap_p99_median_s?, f.gap_p99_max_s?, f.gap_max_s?);
    let late = match f.too_late {
        0 => "no repetition was refused for late samples".to_string(),
        1 => "1 repetition was not judged because its samples came too late".to_string(),
        n => format!("{n} repetitions were not judged because their samples came too late"),
    };
    Some(format!(
        "**Sampling**: every {} as scheduled; the p99 gap between samples was {} (median over {} repetitions, worst {}), the longest gap {}, and {} of {} intended samples were missed; {late} (a p99 gap past {} intervals or over {} missed; per repetition in `{}`).",
        join_and(&intervals.into_iter().collect::<Vec<_>>()),
        content::secs(Some(p99)),
        f.reps,
        content::secs(Some(worst)),
        content::secs(Some(longest)),
        f.missed,
        f.intended,
        fidelity::MAX_P99_GAP_INTERVALS,
        pct(Some(fidelity::MAX_MISSED_FRACTION)),
        fidelity::FIDELITY_CSV,
    ))
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(join_and(&[]), "");
        assert_eq!(join_and(&["a".into()]), "a");
        assert_eq!(
            join_and(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
