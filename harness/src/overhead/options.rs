//! What `leakbench overhead` is asked to do: the studies, the probe sets by name, and every
//! setting with its defaults ([`OverheadOptions::standard`], [`OverheadOptions::quick`]) and
//! checks ([`OverheadOptions::validate`]).
//!
//! Owns the options and their names. Must not start, probe or measure anything.

use crate::record::probe::ProbeSet;
use serde::Serialize;
use std::path::PathBuf;

/// The neutral fixture: parks idle goroutines beside the kit's workload, never leaks.
pub const NEUTRAL_FIXTURE: &str = "idle-goroutines";

/// Goroutine counts of the scale study: the orders of magnitude from a small service (100)
/// to a large one (100k).
pub const SCALE_GOROUTINES: [u64; 4] = [100, 1_000, 10_000, 100_000];

/// The studies `leakbench overhead` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Study {
    Throughput,
    Scale,
    Harness,
    Fidelity,
}

impl std::str::FromStr for Study {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "throughput" => Ok(Study::Throughput),
            "scale" => Ok(Study::Scale),
            "harness" => Ok(Study::Harness),
            "fidelity" => Ok(Study::Fidelity),
            _ => Err(format!(
                "`{s}` is not a study; use throughput, scale, harness or fidelity"
            )),
        }
    }
}

/// The probe sets by name: `default` is what `leakbench run` records; the others are one
/// probe each (`heap-gc` is the heap profile with a forced GC, `?gc=1`).
pub const PROBE_SET_NAMES: [&str; 7] = [
    "default",
    "goroutine",
    "heap",
    "heap-gc",
    "metrics",
    "proc",
    "goroutineleak",
];

/// The probe set named `name` (see [`PROBE_SET_NAMES`]).
pub fn probe_set(name: &str) -> Option<ProbeSet> {
    let one = ProbeSet::none();
    Some(match name {
        "default" => ProbeSet::default(),
        "goroutine" => ProbeSet {
            goroutine: true,
            ..one
        },
        "heap" => ProbeSet { heap: true, ..one },
        "heap-gc" => ProbeSet {
            heap: true,
            heap_gc: true,
            ..one
        },
        "metrics" => ProbeSet {
            metrics: true,
            ..one
        },
        "proc" => ProbeSet { proc: true, ..one },
        "goroutineleak" => ProbeSet {
            goroutineleak: true,
            ..one
        },
        _ => return None,
    })
}

/// Options of `leakbench overhead`. Seconds are seconds; every list is non-empty for the
/// studies that use it.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadOptions {
    pub out: PathBuf,
    pub studies: Vec<Study>,
    /// Fixtures of the throughput study (names under `go-fixtures/cmd/`), run as twins.
    pub fixtures: Vec<String>,
    /// Extra flags for every throughput fixture.
    pub fixture_args: Vec<String>,
    /// Probe sets of the throughput study (names from [`PROBE_SET_NAMES`]).
    pub probe_sets: Vec<String>,
    /// Sampling intervals for the `default` set.
    pub intervals_s: Vec<f64>,
    /// Sampling interval for every other set.
    pub probe_interval_s: f64,
    pub reps: u32,
    /// Length of each A or B window.
    pub window_s: f64,
    /// Work before the first window (the heap and GC pacing settle).
    pub warmup_s: f64,
    pub scale_goroutines: Vec<u64>,
    /// Probes of the scale study (probe set names, one probe each).
    pub scale_probes: Vec<String>,
    /// Pause between probes in a scale B window (probes back to back would measure a
    /// fixture that does nothing but answer profiles).
    pub scale_gap_s: f64,
    /// Fixtures sampled at once in the harness study.
    pub harness_fixtures: usize,
    /// How long each phase of the harness study runs its fixtures after readiness (the
    /// repetitions' `duration_s`); longer than its 1 s interval.
    pub harness_window_s: f64,
    /// Fixtures recorded at once at each level of the fidelity study, in run order.
    pub fidelity_jobs: Vec<usize>,
    /// Each fidelity repetition's `duration_s`: long enough for the p99 of its gaps to mean
    /// something (a 20 s window at 0.5 s is 36 gaps after a 2 s warm-up).
    pub fidelity_window_s: f64,
    /// The default matrix the fidelity study records: `scenarios/`, beside `fixtures_dir`
    /// (`go-fixtures/`) in the repository.
    #[serde(skip)]
    pub scenarios_dir: PathBuf,
    #[serde(skip)]
    pub go: PathBuf,
    #[serde(skip)]
    pub fixtures_dir: PathBuf,
    #[serde(skip)]
    pub cache_dir: PathBuf,
}

impl OverheadOptions {
    /// The full study: a few minutes per fixture on a quiet machine.
    pub fn standard(out: PathBuf, go: PathBuf, fixtures_dir: PathBuf, cache_dir: PathBuf) -> Self {
        OverheadOptions {
            out,
            studies: vec![
                Study::Throughput,
                Study::Scale,
                Study::Harness,
                Study::Fidelity,
            ],
            fixtures: vec![NEUTRAL_FIXTURE.into()],
            fixture_args: vec![],
            probe_sets: PROBE_SET_NAMES.iter().map(|s| s.to_string()).collect(),
            intervals_s: vec![5.0, 1.0, 0.25],
            probe_interval_s: 1.0,
            reps: 3,
            window_s: 5.0,
            warmup_s: 3.0,
            scale_goroutines: SCALE_GOROUTINES.to_vec(),
            scale_probes: vec!["goroutine".into(), "goroutineleak".into()],
            scale_gap_s: 0.25,
            harness_fixtures: 4,
            harness_window_s: 15.0,
            // From the recorder's old default (6) to the whole default matrix at once (66).
            fidelity_jobs: vec![6, 12, 22, 33, 44, 66],
            fidelity_window_s: 20.0,
            go,
            scenarios_dir: fixtures_dir.with_file_name("scenarios"),
            fixtures_dir,
            cache_dir,
        }
    }

    /// A smoke test of every study in well under a minute: numbers too noisy to quote.
    pub fn quick(self) -> Self {
        OverheadOptions {
            probe_sets: vec!["default".into(), "goroutine".into()],
            intervals_s: vec![1.0],
            reps: 1,
            window_s: 1.0,
            warmup_s: 0.5,
            scale_goroutines: vec![100, 10_000],
            scale_probes: vec!["goroutine".into()],
            harness_fixtures: 2,
            harness_window_s: 2.0,
            fidelity_jobs: vec![2, 4],
            fidelity_window_s: 3.0,
            ..self
        }
    }

    /// (probe set name, interval) pairs of the throughput study, in run order.
    pub fn combos(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for name in &self.probe_sets {
            if name == "default" {
                out.extend(self.intervals_s.iter().map(|&i| (name.clone(), i)));
            } else {
                out.push((name.clone(), self.probe_interval_s));
            }
        }
        out
    }

    /// Checks every name and number; the message names the flag to fix.
    pub fn validate(&self) -> Result<(), String> {
        for p in self.probe_sets.iter().chain(&self.scale_probes) {
            if probe_set(p).is_none() {
                return Err(format!(
                    "probe set `{p}` is unknown (fix: --probe-sets/--scale-probes take {})",
                    PROBE_SET_NAMES.join(", ")
                ));
            }
        }
        for f in &self.fixtures {
            if !self.fixtures_dir.join("cmd").join(f).is_dir() {
                return Err(format!(
                    "fixture `{f}`: no {} (fix: name a directory under go-fixtures/cmd/)",
                    self.fixtures_dir.join("cmd").join(f).display()
                ));
            }
        }
        let pos = |x: f64| x.is_finite() && x > 0.0;
        if !self.intervals_s.iter().all(|&x| pos(x)) || !pos(self.probe_interval_s) {
            return Err("intervals must be positive seconds (fix: --intervals 5,1,0.25)".into());
        }
        let warmup_ok = self.warmup_s.is_finite() && self.warmup_s >= 0.0;
        if !(pos(self.window_s) && pos(self.harness_window_s) && warmup_ok) {
            return Err(
                "--window and --harness-window must be positive, --warmup not negative".into(),
            );
        }
        if self.harness_window_s <= super::harness_cost::INTERVAL_S {
            return Err(format!(
                "--harness-window must be longer than the harness study's {} s sampling interval",
                super::harness_cost::INTERVAL_S
            ));
        }
        if self.reps == 0 || self.harness_fixtures == 0 {
            return Err("--reps and --harness-fixtures must be at least 1".into());
        }
        if self.fidelity_jobs.is_empty() || self.fidelity_jobs.contains(&0) {
            return Err(
                "--fidelity-jobs takes fixture counts of at least 1 (fix: --fidelity-jobs 6,22,44)"
                    .into(),
            );
        }
        if !(self.fidelity_window_s.is_finite() && self.fidelity_window_s > 1.0) {
            return Err(
                "--fidelity-window must be longer than 1 s (fix: --fidelity-window 20)".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> OverheadOptions {
        OverheadOptions::standard("o".into(), "go".into(), "f".into(), "c".into())
    }

    #[test]
    fn combos_put_the_default_set_at_every_interval() {
        let c = opts().combos();
        assert_eq!(c.len(), 3 + 6);
        assert_eq!(c[0], ("default".to_string(), 5.0));
        assert_eq!(c[3], ("goroutine".to_string(), 1.0));
        assert_eq!(opts().quick().combos().len(), 2);
    }

    #[test]
    fn a_harness_window_must_hold_more_than_one_interval() {
        let mut o = opts();
        o.fixtures.clear(); // no go-fixtures/ here
        assert_eq!(o.validate(), Ok(()));
        o.harness_window_s = 1.0;
        let e = o.validate().unwrap_err();
        assert!(e.contains("--harness-window"), "{e}");
    }

    #[test]
    fn fidelity_levels_are_counts_and_the_matrix_sits_beside_the_fixtures() {
        let mut o = opts();
        o.fixtures.clear();
        assert!(o.studies.contains(&Study::Fidelity));
        assert_eq!("fidelity".parse::<Study>(), Ok(Study::Fidelity));
        assert_eq!(
            OverheadOptions::standard("o".into(), "go".into(), "/r/go-fixtures".into(), "c".into())
                .scenarios_dir,
            PathBuf::from("/r/scenarios")
        );
        o.fidelity_jobs = vec![6, 0];
        assert!(o.validate().unwrap_err().contains("--fidelity-jobs"));
        o.fidelity_jobs = vec![6];
        o.fidelity_window_s = 0.5;
        assert!(o.validate().unwrap_err().contains("--fidelity-window"));
    }

    #[test]
    fn probe_sets_are_single_probes_except_default() {
        assert_eq!(probe_set("default"), Some(ProbeSet::default()));
        let g = probe_set("heap-gc").unwrap();
        assert!(g.heap && g.heap_gc && !g.goroutine && !g.metrics && !g.truth);
        assert!(probe_set("nope").is_none());
        for n in PROBE_SET_NAMES {
            assert!(probe_set(n).is_some(), "{n}");
        }
    }
}
