//! Detectors on real recorded traces (the replay gate's committed run): what each robust
//! detector must do there, stated as expectations, not as a snapshot. The replay gate pins the
//! exact scores; this says which of them matter and why.

use crate::support::root;
use leakbench::evaluate::detect::{registry, Params};
use leakbench::evaluate::replay::score_traces;
use leakbench::evaluate::score::{Outcome, ScoreRow};
use leakbench::trace;

/// The robust detectors: those that must never alarm on a twin or on a GC sawtooth. The
/// practitioners' baselines (threshold, deriv, predict-linear) are left out on purpose: their
/// false alarms are what the benchmark exists to show.
const ROBUST: &[&str] = &[
    "theil-sen-goroutines",
    "theil-sen-heap",
    "cusum-goroutines",
    "cusum-heap",
    "stack-growth",
    "goroutineleak-profile",
    "heap-site-growth",
    "c-gap",
    "finalizer-backlog",
];

/// (scenario, detector): must catch every repetition after the onset and name the right site.
const MUST_CATCH_AT_SITE: &[(&str, &str)] = &[
    ("goroutine-abandoned-sender", "stack-growth"),
    ("goroutine-abandoned-sender", "goroutineleak-profile"),
    ("map-unbounded-cache", "heap-site-growth"),
];

fn rows() -> Vec<ScoreRow> {
    let run = root().join("harness/testdata/replay/run");
    let traces = trace::load_run(&run).unwrap();
    assert!(traces.len() >= 10, "{} traces", traces.len());
    score_traces(&traces, registry(), &Params::default())
}

#[test]
fn class_detectors_catch_recorded_leaks_at_the_right_site() {
    let rows = rows();
    for (scenario, detector) in MUST_CATCH_AT_SITE {
        let mine: Vec<&ScoreRow> = rows
            .iter()
            .filter(|r| r.scenario == *scenario && r.detector == *detector)
            .collect();
        assert!(
            mine.len() >= 3,
            "{scenario}/{detector}: {} reps",
            mine.len()
        );
        for r in mine {
            assert_eq!(
                r.outcome,
                Outcome::Tp,
                "{scenario}/{detector} rep {}",
                r.rep
            );
            assert!(r.latency_s.unwrap() >= 0.0);
            assert_eq!(
                r.site_ok,
                Some(true),
                "{scenario}/{detector} rep {}: site {:?}",
                r.rep,
                r.site
            );
        }
    }
}

#[test]
fn robust_detectors_stay_silent_on_twins_and_the_gc_sawtooth() {
    let rows = rows();
    let quiet: Vec<String> = rows
        .iter()
        .filter(|r| !r.leaking && ROBUST.contains(&r.detector.as_str()))
        .filter(|r| r.outcome != Outcome::Tn)
        .map(|r| {
            format!(
                "{}/{} rep {}: {:?}",
                r.scenario, r.detector, r.rep, r.outcome
            )
        })
        .collect();
    assert!(
        quiet.is_empty(),
        "robust detectors alarmed on non-leaking traces:\n{}",
        quiet.join("\n")
    );
    let judged = rows
        .iter()
        .filter(|r| !r.leaking && ROBUST.contains(&r.detector.as_str()))
        .count();
    assert!(
        judged >= 3 * 3 * ROBUST.len(),
        "only {judged} non-leaking rows judged"
    );
}
