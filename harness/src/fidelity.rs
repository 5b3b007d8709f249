//! Sample fidelity: how well a repetition's samples kept their schedule, and whether they kept
//! it well enough to judge a detector on them.
//!
//! A repetition is sampled every `interval_s` ([`crate::record::ticker`]); a sample is stamped
//! when its last probe answered. On a machine short of CPU the harness ticks late, or a
//! fixture answers late, and the samples space out: a detector then sees the leak later than
//! it would have, and its latency measures the machine, not the detector. [`Fidelity`] states
//! it per repetition, from the samples detectors are fed (those from the scenario's warm-up
//! on): the gaps between consecutive samples (median, 99th percentile, longest) and how many
//! samples the schedule intended over that span but did not get.
//!
//! **The rule** ([`Fidelity::too_late`]): a repetition is not judged when its p99 gap passes
//! [`MAX_P99_GAP_INTERVALS`] intervals (2) or it missed more than [`MAX_MISSED_FRACTION`] of
//! its samples (5 %). Why those numbers is said at each constant.
//!
//! The recorder stores the figures in `end.json` ([`crate::trace::RepEnd::fidelity`]);
//! repetitions recorded before that are not refused: their figures are derived from their
//! sample times, the same computation ([`of_trace`]).
//!
//! Per run, [`RepFidelity`] rows are `fidelity.csv` ([`to_csv`]; written by
//! [`crate::evaluate::replay`] beside `scores.csv`) and [`RunFidelity`] their aggregate, the
//! `fidelity` object of `summary.json`.
//!
//! Owns the figures, their computation, the rule, and the bytes of `fidelity.csv`. Must not
//! sample, write files or score: [`crate::evaluate::score`] turns a failed rule into a row
//! that is not judged, and hands over its verdict on each repetition.

use crate::stats;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};

/// `fidelity.csv`: named by [`crate::run_dir`], which owns the run directory's layout.
pub use crate::run_dir::FIDELITY_CSV;

/// Largest p99 gap between samples, in intervals, that is still judged: past it, more than one
/// gap in a hundred lost a whole sample or more.
///
/// Measured with `cargo run --release -p leakbench --example thin_samples -- RUN` on two
/// recordings of the default matrix (138 repetitions, 22 at once on 2 shared cores, 1932
/// judged rows each), re-scored after dropping every n-th sample from warm-up on: 1 in 50
/// (p99 gap 1.3-1.6 intervals) changed 0 and 3 outcomes; 1 in 20 (p99 about 2 intervals,
/// 4.5-5.7 % missed) changed 6 and 7 (at most 0.4 %), the latencies that moved by up to one
/// interval at the 90th percentile; 1 in 10 changed 19 (1 %) and moved the 90th percentile
/// by 1.6-3 s. Samples that are late but present move an alarm by at most their lateness,
/// less than a dropped sample does.
pub const MAX_P99_GAP_INTERVALS: f64 = 2.0;

/// Largest fraction of the intended samples that may be missing and still be judged: the
/// 1-in-20 level of the measurement at [`MAX_P99_GAP_INTERVALS`], the last one where no more
/// than 0.4 % of outcomes changed and latencies moved by an interval or less at p90.
pub const MAX_MISSED_FRACTION: f64 = 0.05;

/// How well one repetition kept its sampling schedule, over the samples from warm-up on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// The scheduled interval, seconds.
    pub interval_s: f64,
    /// Samples taken from warm-up on.
    pub samples: u64,
    /// Samples the schedule intended over the span from the first of them to the last and did
    /// not get: `round(span / interval) + 1 − samples`, at least 0. Ticks that come late are
    /// not fired to catch up, so every interval of lateness is one sample fewer.
    pub missed: u64,
    /// Median gap between consecutive samples, seconds (`None` with fewer than 2 samples).
    pub gap_p50_s: Option<f64>,
    /// 99th percentile of the gaps, seconds.
    pub gap_p99_s: Option<f64>,
    /// Longest gap, seconds.
    pub gap_max_s: Option<f64>,
}

impl Fidelity {
    /// The figures of samples stamped at `times` (seconds since spawn, in the order taken) on
    /// a schedule of `interval_s`; samples before `warmup_s` are left out, as detectors leave
    /// them out. Times that do not increase are skipped, as the detectors' feeder skips them.
    pub fn of(times: impl IntoIterator<Item = f64>, interval_s: f64, warmup_s: f64) -> Self {
        let mut kept: Vec<f64> = Vec::new();
        for t in times {
            if t >= warmup_s && kept.last().is_none_or(|&l| t > l) {
                kept.push(t);
            }
        }
        let gaps: Vec<f64> = kept.windows(2).map(|w| w[1] - w[0]).collect();
        let missed = match (kept.first(), kept.last()) {
            (Some(a), Some(b)) if interval_s > 0.0 => {
                let intended = ((b - a) / interval_s).round() as u64 + 1;
                intended.saturating_sub(kept.len() as u64)
            }
            _ => 0,
        };
        Fidelity {
            interval_s,
            samples: kept.len() as u64,
            missed,
            gap_p50_s: stats::median(&gaps),
            gap_p99_s: stats::quantile(&gaps, 0.99),
            gap_max_s: gaps.iter().copied().reduce(f64::max),
        }
    }

    /// Missed samples as a fraction of those intended (0 without samples).
    pub fn missed_fraction(&self) -> f64 {
        let intended = self.samples + self.missed;
        if intended == 0 {
            0.0
        } else {
            self.missed as f64 / intended as f64
        }
    }

    /// Why these samples are too late to judge a detector on, if they are (see the module's
    /// rule); one line naming the figure and its limit.
    pub fn too_late(&self) -> Option<String> {
        let limit = MAX_P99_GAP_INTERVALS * self.interval_s;
        if let Some(p99) = self.gap_p99_s.filter(|p| *p > limit) {
            return Some(format!(
                "samples too late to judge: p99 gap {p99:.3} s > {MAX_P99_GAP_INTERVALS} × the {} s interval",
                self.interval_s
            ));
        }
        let missed = self.missed_fraction();
        if missed > MAX_MISSED_FRACTION {
            return Some(format!(
                "samples too late to judge: {} of {} intended samples missed ({:.1} % > {:.0} %)",
                self.missed,
                self.samples + self.missed,
                missed * 100.0,
                MAX_MISSED_FRACTION * 100.0
            ));
        }
        None
    }
}

/// A repetition's fidelity: as its `end.json` states it, or, for a repetition recorded
/// before `end.json` held it (or unfinished), derived from its sample times.
pub fn of_trace(t: &Trace) -> Fidelity {
    t.end.as_ref().and_then(|e| e.fidelity).unwrap_or_else(|| {
        Fidelity::of(
            t.samples.iter().map(|s| s.t),
            t.meta.interval_s,
            t.meta.scenario.warmup_s,
        )
    })
}

/// One repetition's fidelity and whether it was judged: a row of `fidelity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RepFidelity {
    pub scenario: String,
    /// The cell's axis values ([`crate::axes`]); empty in a run that sweeps none.
    pub axes: crate::axes::AxisValues,
    pub rep: u32,
    /// How it ended, as `end.json` spells it (`None`: unfinished).
    pub status: Option<crate::trace::EndStatus>,
    pub fidelity: Fidelity,
    /// From the measured onset to the last sample, seconds: how long a detector watched the
    /// leak (leaking repetitions with an onset only).
    pub watched_after_onset_s: Option<f64>,
    /// Why it was not judged (empty when it was): scoring's verdict, which includes this
    /// module's rule.
    pub not_judged: String,
}

impl RepFidelity {
    /// The row of `t`, with scoring's reason for not judging it, if any.
    pub fn of(t: &Trace, not_judged: Option<String>) -> Self {
        let sc = &t.meta.scenario;
        RepFidelity {
            scenario: sc.name.clone(),
            axes: t.meta.axes.clone(),
            rep: t.meta.rep,
            status: t.end.as_ref().map(|e| e.status),
            fidelity: of_trace(t),
            watched_after_onset_s: sc
                .truth
                .leaking
                .then(|| Some(t.samples.last()?.t - t.onset_s()?))
                .flatten(),
            not_judged: not_judged.unwrap_or_default(),
        }
    }
}

/// The column names of `fidelity.csv`, in order.
pub const HEADER: [&str; 12] = [
    "scenario",
    "rep",
    "status",
    "interval_s",
    "samples",
    "missed",
    "gap_p50_s",
    "gap_p99_s",
    "gap_max_s",
    "watched_after_onset_s",
    "judged",
    "note",
];

/// The rows as `fidelity.csv` bytes, in the order given. Seconds with 3 decimals; not
/// applicable is the empty field; `note` says why a repetition was not judged. A run that
/// sweeps axes has one more column per axis after `note`, as `scores.csv` has
/// ([`crate::present::export::csv`]), so the cells of a sweep stay apart.
pub fn to_csv(rows: &[RepFidelity]) -> Vec<u8> {
    let secs = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
    let axes = crate::axes::columns(rows.iter().map(|r| &r.axes));
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER.iter().copied().chain(axes.iter().map(|a| a.name())))
        .expect("writing to memory");
    for r in rows {
        let f = &r.fidelity;
        w.write_record(
            [
                r.scenario.clone(),
                r.rep.to_string(),
                r.status.map(|s| s.to_string()).unwrap_or_default(),
                f.interval_s.to_string(),
                f.samples.to_string(),
                f.missed.to_string(),
                secs(f.gap_p50_s),
                secs(f.gap_p99_s),
                secs(f.gap_max_s),
                secs(r.watched_after_onset_s),
                r.not_judged.is_empty().to_string(),
                r.not_judged.clone(),
            ]
            .into_iter()
            .chain(r.axes.fields(&axes)),
        )
        .expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

/// A run's fidelity in a few figures: the `fidelity` object of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFidelity {
    pub reps: usize,
    /// Repetitions not judged because their samples were too late ([`Fidelity::too_late`]).
    pub too_late: usize,
    /// Median and largest over the repetitions of their p99 gap, seconds.
    pub gap_p99_median_s: Option<f64>,
    pub gap_p99_max_s: Option<f64>,
    /// The longest gap of any repetition, seconds.
    pub gap_max_s: Option<f64>,
    /// Samples missed and intended, over every repetition.
    pub missed: u64,
    pub intended: u64,
    /// The shortest time a leak was watched after its measured onset, seconds.
    pub watched_after_onset_min_s: Option<f64>,
}

/// The aggregate of `rows`.
pub fn summarize(rows: &[RepFidelity]) -> RunFidelity {
    let p99: Vec<f64> = rows.iter().filter_map(|r| r.fidelity.gap_p99_s).collect();
    let max = |xs: &mut dyn Iterator<Item = f64>| xs.reduce(f64::max);
    RunFidelity {
        reps: rows.len(),
        too_late: rows
            .iter()
            .filter(|r| r.fidelity.too_late().is_some())
            .count(),
        gap_p99_median_s: stats::median(&p99),
        gap_p99_max_s: max(&mut p99.iter().copied()),
        gap_max_s: max(&mut rows.iter().filter_map(|r| r.fidelity.gap_max_s)),
        missed: rows.iter().map(|r| r.fidelity.missed).sum(),
        intended: rows
            .iter()
            .map(|r| r.fidelity.samples + r.fidelity.missed)
            .sum(),
        watched_after_onset_min_s: rows
            .iter()
            .filter_map(|r| r.watched_after_onset_s)
            .reduce(f64::min),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(interval: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| 0.02 + i as f64 * interval).collect()
    }

    #[test]
    fn a_kept_schedule_has_interval_gaps_and_misses_nothing() {
        let f = Fidelity::of(every(0.5, 100), 0.5, 0.0);
        assert_eq!((f.samples, f.missed), (100, 0));
        for g in [f.gap_p50_s, f.gap_p99_s, f.gap_max_s] {
            assert!((g.unwrap() - 0.5).abs() < 1e-9, "{f:?}");
        }
        assert_eq!(f.too_late(), None);
    }

    #[test]
    fn warm_up_and_non_increasing_times_are_left_out() {
        let mut t = every(0.5, 20);
        t.insert(5, t[4]);
        let f = Fidelity::of(t, 0.5, 2.0);
        // 0.02 … 1.52 are warm-up (4 samples); the duplicate is skipped.
        assert_eq!((f.samples, f.missed), (16, 0));
    }

    /// Two stalls of 3 s (six intervals each) in 100 samples: the schedule restarts after
    /// each, so ten intended samples are missing, and the p99 gap (type 7 over 99 gaps: between
    /// the two longest) is 3 s. One stall alone is not past the p99 (0.55 s) nor 5 % missed.
    #[test]
    fn stalls_are_missed_samples_and_long_gaps() {
        let stalled = |at: &[usize]| {
            let mut t = every(0.5, 100);
            for &k in at {
                for x in t.iter_mut().skip(k) {
                    *x += 2.5;
                }
            }
            Fidelity::of(t, 0.5, 0.0)
        };
        let f = stalled(&[30, 60]);
        assert_eq!((f.samples, f.missed), (100, 10));
        assert!((f.gap_max_s.unwrap() - 3.0).abs() < 1e-9);
        assert!((f.gap_p99_s.unwrap() - 3.0).abs() < 1e-9);
        assert!((f.gap_p50_s.unwrap() - 0.5).abs() < 1e-9);
        let why = f.too_late().expect("too late");
        assert!(
            why.contains("p99 gap 3.000 s > 2 × the 0.5 s interval"),
            "{why}"
        );
        let one = stalled(&[50]);
        assert_eq!(one.missed, 5);
        assert!((one.gap_p99_s.unwrap() - 0.55).abs() < 1e-9);
        assert_eq!(one.too_late(), None);
    }

    #[test]
    fn many_slightly_late_samples_fail_on_missed_samples() {
        // Every gap 0.56 s: p99 well under 1 s, but 12 % of the schedule lost.
        let t: Vec<f64> = (0..100).map(|i| i as f64 * 0.56).collect();
        let f = Fidelity::of(t, 0.5, 0.0);
        assert!(f.gap_p99_s.unwrap() < 1.0);
        assert_eq!(f.missed, 12);
        let why = f.too_late().expect("too late");
        assert!(why.contains("12 of 112 intended samples missed"), "{why}");
        // 4 % lost is still judged.
        let t: Vec<f64> = (0..100).map(|i| i as f64 * 0.52).collect();
        assert_eq!(Fidelity::of(t, 0.5, 0.0).too_late(), None);
    }

    #[test]
    fn too_few_samples_have_no_gaps_and_are_judged() {
        for n in [0, 1] {
            let f = Fidelity::of(every(0.5, n), 0.5, 0.0);
            assert_eq!((f.samples, f.missed, f.gap_p99_s), (n as u64, 0, None));
            assert_eq!(f.too_late(), None);
        }
    }

    #[test]
    fn csv_rows_and_the_run_summary() {
        let mut t = crate::evaluate::score::tests::trace(true, Some(5.0));
        t.meta.interval_s = 0.5;
        let kept = RepFidelity::of(&t, None);
        // The test trace: 40 samples 0.5 s apart from 0 s, warm-up 0, onset 5 s.
        assert_eq!((kept.fidelity.samples, kept.fidelity.missed), (40, 0));
        assert_eq!(kept.watched_after_onset_s, Some(14.5));
        for s in t.samples.iter_mut().skip(20) {
            s.t += 3.0;
        }
        for s in t.samples.iter_mut().skip(30) {
            s.t += 3.0;
        }
        let late = RepFidelity::of(&t, of_trace(&t).too_late());
        let csv = String::from_utf8(to_csv(&[kept.clone(), late.clone()])).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "t,0,completed,0.5,40,0,0.500,0.500,0.500,14.500,true,"
        );
        assert!(
            lines[2].starts_with("t,0,completed,0.5,40,12,0.500,3.500,3.500,20.500,false,samples too late to judge: p99 gap 3.500 s"),
            "{}",
            lines[2]
        );
        // A sweep's cells stay apart: one column per axis swept, after `note`.
        let mut swept = kept.clone();
        swept.axes.insert(crate::axes::Axis::Gogc, "50");
        let csv = String::from_utf8(to_csv(&[kept.clone(), swept])).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], format!("{},GOGC", HEADER.join(",")));
        assert!(lines[1].ends_with("true,,"), "{}", lines[1]);
        assert!(lines[2].ends_with("true,,50"), "{}", lines[2]);
        let s = summarize(&[kept, late]);
        assert_eq!((s.reps, s.too_late, s.missed, s.intended), (2, 1, 12, 92));
        assert_eq!((s.gap_p99_max_s, s.gap_max_s), (Some(3.5), Some(3.5)));
        assert_eq!(s.watched_after_onset_min_s, Some(14.5));
    }
}
