//! Threshold sweep: how each detector's recall and false-alarm rate move as its primary
//! threshold is scaled ([`Params::threshold_scale`], 1 = the default). [`sweep`] is the pure
//! core (traces + detectors + scales → one [`SweepRow`] per detector × scale); [`to_csv`] and
//! [`parse_csv`] are its file, `sweep.csv`, which [`crate::evaluate::replay::replay_run`]
//! writes beside `scores.csv` so the report draws the sweep without running a detector.
//!
//! `sweep.csv` columns, named so the file reads without this doc:
//! `detector,threshold_scale,leaking_reps,detected,alarmed_before_onset,recall,`
//! `non_leaking_reps,false_alarms,false_alarm_rate`. Rates with 4 decimals, empty when their
//! denominator is 0. Readers take columns by name, so columns may be added.
//!
//! Owns the sweep's computation and its file format. Must not sample processes, draw, or
//! compute oracle bounds (recall and false-alarm rate do not need them, and they are the
//! expensive part of scoring).

use crate::evaluate::detect::{self, DetectorSpec, Params};
use crate::evaluate::score::{self, ScoreRow};
use crate::trace::Trace;
use serde::Deserialize;

/// `sweep.csv`: named by [`crate::run_dir`], which owns the run directory's layout.
pub use crate::run_dir::SWEEP_CSV;

/// Threshold scales swept: powers of 2 from 1/16 to 16. Wide on purpose: the robust detectors'
/// leaks sit far above their slope floors, so a narrow sweep shows nothing.
pub const SCALES: [f64; 9] = [0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// One detector at one threshold scale, over every judged repetition of a run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SweepRow {
    pub detector: String,
    /// Multiplier of the detector's default primary threshold (> 0; 1 = default).
    pub threshold_scale: f64,
    /// Judged repetitions of leaking scenarios.
    pub leaking_reps: usize,
    /// Of those, first alarm at or after the measured onset.
    pub detected: usize,
    /// Of those, first alarm before the measured onset: a false alarm, and not a detection.
    pub alarmed_before_onset: usize,
    /// `detected ÷ leaking_reps`, in `0..=1`; `None` without leaking repetitions.
    pub recall: Option<f64>,
    /// Judged repetitions of non-leaking scenarios.
    pub non_leaking_reps: usize,
    /// Of those, with any alarm.
    pub false_alarms: usize,
    /// `false_alarms ÷ non_leaking_reps`, in `0..=1`; `None` without non-leaking repetitions.
    pub false_alarm_rate: Option<f64>,
}

/// The column names of `sweep.csv`, in order.
pub const HEADER: [&str; 9] = [
    "detector",
    "threshold_scale",
    "leaking_reps",
    "detected",
    "alarmed_before_onset",
    "recall",
    "non_leaking_reps",
    "false_alarms",
    "false_alarm_rate",
];

/// Runs every detector in `specs` at every scale in `scales` over every trace and counts the
/// outcomes of the first alarms, judged as the scores are ([`score::judge`]: warm-up skipped,
/// unfinished repetitions and missing probes not judged). Rows in `specs` order, then `scales` order.
pub fn sweep(traces: &[Trace], specs: &[DetectorSpec], scales: &[f64]) -> Vec<SweepRow> {
    let scorable: Vec<&Trace> = traces
        .iter()
        .filter(|t| score::unscorable(t).is_none())
        .collect();
    let mut out = Vec::with_capacity(specs.len() * scales.len());
    for spec in specs {
        for &scale in scales {
            let params = Params {
                threshold_scale: scale,
            };
            let rows: Vec<ScoreRow> = scorable
                .iter()
                .map(|t| {
                    let alarm =
                        detect::first_alarm(spec, &params, &t.samples, t.meta.scenario.warmup_s);
                    score::judge(t, spec, alarm.as_ref(), None)
                })
                .collect();
            let refs: Vec<&ScoreRow> = rows.iter().collect();
            let a = score::aggregate(spec.name, None, &refs);
            out.push(SweepRow {
                detector: spec.name.to_string(),
                threshold_scale: scale,
                leaking_reps: a.tp + a.fn_ + a.fp_early,
                detected: a.tp,
                alarmed_before_onset: a.fp_early,
                recall: a.recall,
                non_leaking_reps: a.fp - a.fp_early + a.tn,
                false_alarms: a.fp - a.fp_early,
                false_alarm_rate: a.false_alarm_rate,
            });
        }
    }
    out
}

/// The rows as `sweep.csv` bytes, in the order given.
pub fn to_csv(rows: &[SweepRow]) -> Vec<u8> {
    let rate = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("writing to memory");
    for r in rows {
        w.write_record([
            r.detector.clone(),
            // Shortest text that reads back to the same float: the scales are exact.
            r.threshold_scale.to_string(),
            r.leaking_reps.to_string(),
            r.detected.to_string(),
            r.alarmed_before_onset.to_string(),
            rate(r.recall),
            r.non_leaking_reps.to_string(),
            r.false_alarms.to_string(),
            rate(r.false_alarm_rate),
        ])
        .expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

/// Parses `sweep.csv` text (columns by name).
pub fn parse_csv(text: &str) -> Result<Vec<SweepRow>, ::csv::Error> {
    ::csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::metric;

    /// A finished 20 s trace (warm-up skipped by the test scenario) whose goroutine count is
    /// `count(t)`; leaking ones have a measured onset at 5 s.
    fn trace(leaking: bool, count: impl Fn(f64) -> f64) -> Trace {
        let mut t = score::tests::trace(leaking, leaking.then_some(5.0));
        for s in &mut t.samples {
            s.metrics = Some([(metric::GOROUTINES.to_string(), count(s.t))].into());
        }
        t
    }

    /// goroutine-threshold (margin 100 at 1×) on a leak of 10 goroutines/s from 5 s and on a
    /// pool that steps up by 50 at 8 s: the leak is caught at 1/4× and 1×, not at 16×; the
    /// pool fires only at 1/4×.
    #[test]
    fn scaling_the_threshold_trades_recall_for_false_alarms() {
        let leak = trace(true, |t| 20.0 + 10.0 * (t - 5.0).max(0.0));
        let pool = trace(false, |t| if t >= 8.0 { 70.0 } else { 20.0 });
        let rows = sweep(
            &[leak, pool],
            &[*detect::by_name("goroutine-threshold").unwrap()],
            &[0.25, 1.0, 16.0],
        );
        let got: Vec<(f64, Option<f64>, Option<f64>)> = rows
            .iter()
            .map(|r| (r.threshold_scale, r.recall, r.false_alarm_rate))
            .collect();
        assert_eq!(
            got,
            vec![
                (0.25, Some(1.0), Some(1.0)),
                (1.0, Some(1.0), Some(0.0)),
                (16.0, Some(0.0), Some(0.0)),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.leaking_reps == 1 && r.non_leaking_reps == 1));
    }

    /// At 1× the sweep agrees with the scores `leakbench replay` writes, on the committed
    /// replay-gate traces, for every detector.
    #[test]
    fn at_the_default_scale_the_sweep_matches_the_scores() {
        let run = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/replay/run");
        let traces = crate::trace::load_run(&run).unwrap();
        let specs = detect::registry();
        let rows = sweep(&traces, specs, &[1.0]);
        let scores = crate::evaluate::replay::score_traces(&traces, specs, &Params::default());
        assert_eq!(rows.len(), specs.len());
        for r in &rows {
            let mine: Vec<&ScoreRow> = scores.iter().filter(|s| s.detector == r.detector).collect();
            let a = score::aggregate(&r.detector, None, &mine);
            assert_eq!(
                (r.recall, r.false_alarm_rate, r.detected, r.false_alarms),
                (a.recall, a.false_alarm_rate, a.tp, a.fp - a.fp_early),
                "{}",
                r.detector
            );
        }
    }

    #[test]
    fn csv_round_trips_and_reads_columns_by_name() {
        let rows = vec![
            SweepRow {
                detector: "det-a".into(),
                threshold_scale: 0.0625,
                leaking_reps: 3,
                detected: 2,
                alarmed_before_onset: 1,
                recall: Some(2.0 / 3.0),
                non_leaking_reps: 0,
                false_alarms: 0,
                false_alarm_rate: None,
            },
            SweepRow {
                detector: "det-a".into(),
                threshold_scale: 16.0,
                leaking_reps: 3,
                detected: 0,
                alarmed_before_onset: 0,
                recall: Some(0.0),
                non_leaking_reps: 0,
                false_alarms: 0,
                false_alarm_rate: None,
            },
        ];
        let text = String::from_utf8(to_csv(&rows)).unwrap();
        assert_eq!(
            text,
            "detector,threshold_scale,leaking_reps,detected,alarmed_before_onset,recall,non_leaking_reps,false_alarms,false_alarm_rate\n\
             det-a,0.0625,3,2,1,0.6667,0,0,\n\
             det-a,16,3,0,0,0.0000,0,0,\n"
        );
        let back = parse_csv(&text).unwrap();
        assert_eq!(back[0].recall, Some(0.6667));
        assert_eq!(back[1], rows[1]);
        // A reader of an older or newer file: columns reordered, one added.
        let shuffled = "extra,recall,detector,threshold_scale,leaking_reps,detected,alarmed_before_onset,non_leaking_reps,false_alarms,false_alarm_rate\n\
                        x,0.0000,det-a,16,3,0,0,0,0,\n";
        assert_eq!(parse_csv(shuffled).unwrap(), vec![rows[1].clone()]);
    }
}
