//! The comparison of two score sets ([`compare`] → [`Comparison`]): per scenario × detector
//! cell, what got worse, better, or changed without statistical support (the rules are in
//! [`super`]'s doc).
//!
//! Owns the rules only. Must not read or write files, nor format the result as a table (that
//! is [`super::render()`]).

use super::{BaselineCell, Tolerance};
use crate::evaluate::regress::Baseline;
use crate::evaluate::score::Outcome;
use crate::stats;
use std::collections::BTreeMap;
use std::fmt;

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aspect {
    Detection,
    FalseAlarm,
    Localization,
    Latency,
    Judged,
}

impl Aspect {
    pub fn as_str(self) -> &'static str {
        match self {
            Aspect::Detection => "detection",
            Aspect::FalseAlarm => "false alarms",
            Aspect::Localization => "localization",
            Aspect::Latency => "latency",
            Aspect::Judged => "judged reps",
        }
    }
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a cell moved against the baseline. Only [`Direction::Worse`] fails a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Worse,
    Better,
    /// A latency change past the tolerance that the test does not support.
    Unsupported,
    /// Neither better nor worse (e.g. more NA repetitions).
    Neutral,
}

impl Direction {
    /// As the table's `verdict` column spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Worse => "WORSE",
            Direction::Better => "better",
            Direction::Unsupported => "no statistical support",
            Direction::Neutral => "changed",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One changed aspect of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub scenario: String,
    pub detector: String,
    pub aspect: Aspect,
    pub direction: Direction,
    /// The baseline's figure, e.g. `3/3 caught`.
    pub baseline: String,
    /// The current figure.
    pub current: String,
    /// Why, in words: `leak now missed`, `p = 0.050, median +2.1 s`.
    pub why: String,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Sorted by [`Direction`] (worse, better, unsupported, neutral); then scenario,
    /// detector, aspect.
    pub changes: Vec<Change>,
    /// Cells on both sides.
    pub compared: usize,
    /// Cells of the baseline missing from the current set, as `scenario/detector`.
    pub only_baseline: Vec<String>,
    /// Cells of the current set missing from the baseline.
    pub only_current: Vec<String>,
    pub tolerance: Tolerance,
}

impl Comparison {
    /// Whether anything got worse: the exit status of `leakbench regress`.
    /// Worse somewhere, or nothing compared at all (a gate that checked nothing must not pass).
    pub fn regressed(&self) -> bool {
        self.compared == 0 || self.count(Direction::Worse) > 0
    }

    /// How many changes went this way.
    pub fn count(&self, d: Direction) -> usize {
        self.changes.iter().filter(|c| c.direction == d).count()
    }
}

/// What one cell's repetitions add up to.
#[derive(Debug, Default)]
struct CellCounts {
    judged: usize,
    judged_leaking: usize,
    tp: usize,
    fp: usize,
    site_ok: usize,
    latencies: Vec<f64>,
}

impl CellCounts {
    fn of(c: &BaselineCell) -> CellCounts {
        let mut t = CellCounts::default();
        for r in c.reps.iter().filter(|r| r.outcome != Outcome::Na) {
            t.judged += 1;
            if c.leaking {
                t.judged_leaking += 1;
            }
            match r.outcome {
                Outcome::Tp => {
                    t.tp += 1;
                    t.site_ok += usize::from(r.site_ok == Some(true));
                    t.latencies.extend(r.latency_s);
                }
                Outcome::Fp => t.fp += 1,
                Outcome::Fn | Outcome::Tn | Outcome::Na => {}
            }
        }
        t
    }
}

/// `a/b` compared to `c/d` as exact fractions: `Less` when `a/b < c/d`.
fn cmp_frac(a: usize, b: usize, c: usize, d: usize) -> std::cmp::Ordering {
    (a * d).cmp(&(c * b))
}

/// Compares the current score set with the baseline (see the module doc for the rules).
pub fn compare(baseline: &Baseline, current: &Baseline, tol: &Tolerance) -> Comparison {
    // A cell is its scenario and matrix point: a run's GOGC=50 is never judged by GOGC=100.
    let key = |c: &BaselineCell| (c.label(), c.detector.clone());
    let base: BTreeMap<_, _> = baseline.cells.iter().map(|c| (key(c), c)).collect();
    let cur: BTreeMap<_, _> = current.cells.iter().map(|c| (key(c), c)).collect();
    let mut changes = Vec::new();
    let mut compared = 0;
    for (k, b) in &base {
        let Some(c) = cur.get(k) else {
            // A scenario this run has, without a detector the baseline scored: the detector was
            // removed or renamed, and its verdicts are lost. (A whole scenario missing is a
            // partial run, e.g. one shard: reported below, not a failure.)
            if cur.keys().any(|(s, _)| *s == k.0) {
                changes.push(Change {
                    scenario: b.label(),
                    detector: b.detector.clone(),
                    aspect: Aspect::Judged,
                    direction: Direction::Worse,
                    baseline: format!("{} reps", b.reps.len()),
                    current: "not scored".into(),
                    why: "detector missing from this run".into(),
                });
            }
            continue;
        };
        compared += 1;
        cell_changes(b, c, tol, &mut changes);
    }
    let name = |(s, d): &(String, String)| format!("{s}/{d}");
    changes.sort_by(|a, b| {
        (a.direction, &a.scenario, &a.detector, a.aspect).cmp(&(
            b.direction,
            &b.scenario,
            &b.detector,
            b.aspect,
        ))
    });
    Comparison {
        changes,
        compared,
        only_baseline: base
            .keys()
            .filter(|k| !cur.contains_key(*k))
            .map(name)
            .collect(),
        only_current: cur
            .keys()
            .filter(|k| !base.contains_key(*k))
            .map(name)
            .collect(),
        tolerance: *tol,
    }
}

fn cell_changes(b: &BaselineCell, c: &BaselineCell, tol: &Tolerance, out: &mut Vec<Change>) {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (tb, tc) = (CellCounts::of(b), CellCounts::of(c));
    let mut push = |aspect, direction, baseline: String, current: String, why: &str| {
        out.push(Change {
            scenario: b.label(),
            detector: b.detector.clone(),
            aspect,
            direction,
            baseline,
            current,
            why: why.to_string(),
        })
    };
    if tb.judged != tc.judged {
        push(
            Aspect::Judged,
            // Every repetition unjudgeable hides every other check: that is a failure.
            if tc.judged == 0 {
                Direction::Worse
            } else {
                Direction::Neutral
            },
            format!("{}/{}", tb.judged, b.reps.len()),
            format!("{}/{}", tc.judged, c.reps.len()),
            "repetitions that could be judged (the rest are NA)",
        );
    }
    // A rate `hits/of` per side, written `hits/of unit`; `worse_if` is the way the current
    // rate moves when the cell got worse.
    let mut rate = |aspect, unit: &str, (bh, bn), (ch, cn), worse_if, worse: &str, better: &str| {
        let (direction, why) = match cmp_frac(ch, cn, bh, bn) {
            Equal => return,
            moved if moved == worse_if => (Direction::Worse, worse),
            _ => (Direction::Better, better),
        };
        push(
            aspect,
            direction,
            format!("{bh}/{bn} {unit}"),
            format!("{ch}/{cn} {unit}"),
            why,
        );
    };
    if b.leaking && tb.judged_leaking > 0 && tc.judged_leaking > 0 {
        rate(
            Aspect::Detection,
            "caught",
            (tb.tp, tb.judged_leaking),
            (tc.tp, tc.judged_leaking),
            Less,
            "leak now missed",
            "leak now caught",
        );
    }
    if tb.judged > 0 && tc.judged > 0 {
        let what = if b.leaking {
            "alarm before the onset"
        } else {
            "alarm on a scenario that does not leak"
        };
        rate(
            Aspect::FalseAlarm,
            "false",
            (tb.fp, tb.judged),
            (tc.fp, tc.judged),
            Greater,
            &format!("new false alarm ({what})"),
            "fewer false alarms",
        );
    }
    if tb.tp > 0 && tc.tp > 0 {
        rate(
            Aspect::Localization,
            "site ok",
            (tb.site_ok, tb.tp),
            (tc.site_ok, tc.tp),
            Less,
            "localization lost: blames the wrong site",
            "localization gained",
        );
    }
    if let Some((direction, why)) = latency_change(&tb.latencies, &tc.latencies, tol) {
        let fig = |xs: &[f64]| {
            format!(
                "median {:.2} s (n={})",
                stats::median(xs).unwrap_or(f64::NAN),
                xs.len()
            )
        };
        push(
            Aspect::Latency,
            direction,
            fig(&tb.latencies),
            fig(&tc.latencies),
            &why,
        );
    }
}

/// Which way one cell's latency moved, and why, if its median moved past the tolerance.
fn latency_change(base: &[f64], cur: &[f64], tol: &Tolerance) -> Option<(Direction, String)> {
    let (mb, mc) = (stats::median(base)?, stats::median(cur)?);
    let delta = mc - mb;
    let past = |d: f64| d > tol.latency_abs_s && d > tol.latency_rel * mb;
    let later = past(delta);
    let earlier = past(-delta);
    if !later && !earlier {
        return None;
    }
    let word = if later { "later" } else { "earlier" };
    if base.len() < tol.min_reps || cur.len() < tol.min_reps {
        return Some((
            Direction::Unsupported,
            format!(
                "median {delta:+.2} s ({word}), but n={} vs {}: the test needs ≥ {} TP reps per side",
                base.len(),
                cur.len(),
                tol.min_reps
            ),
        ));
    }
    let test = if later {
        stats::mann_whitney_greater(cur, base)?
    } else {
        stats::mann_whitney_greater(base, cur)?
    };
    let how = if test.exact {
        "exact"
    } else {
        "normal approx."
    };
    if test.p <= tol.alpha {
        let d = if later {
            Direction::Worse
        } else {
            Direction::Better
        };
        Some((
            d,
            format!(
                "median {delta:+.2} s ({word}); Mann-Whitney U one-sided p = {:.3} ≤ α = {} ({how})",
                test.p, tol.alpha
            ),
        ))
    } else {
        Some((
            Direction::Unsupported,
            format!(
                "median {delta:+.2} s ({word}), but Mann-Whitney U one-sided p = {:.3} > α = {} ({how})",
                test.p, tol.alpha
            ),
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evaluate::regress::{RepResult, BASELINE_FORMAT};

    pub(crate) fn rep(
        rep: u32,
        outcome: Outcome,
        latency: Option<f64>,
        site_ok: Option<bool>,
    ) -> RepResult {
        RepResult {
            rep,
            outcome,
            latency_s: latency,
            site_ok,
        }
    }

    pub(crate) fn cell(
        scenario: &str,
        detector: &str,
        leaking: bool,
        reps: Vec<RepResult>,
    ) -> BaselineCell {
        BaselineCell {
            scenario: scenario.into(),
            axes: Default::default(),
            detector: detector.into(),
            leaking,
            reps,
        }
    }

    pub(crate) fn set(cells: Vec<BaselineCell>) -> Baseline {
        Baseline {
            format: BASELINE_FORMAT,
            harness_version: "test".into(),
            detectors: vec!["d".into()],
            cells,
        }
    }

    /// Three TPs with these latencies.
    pub(crate) fn tps(lat: [f64; 3], site: bool) -> Vec<RepResult> {
        (0..3)
            .map(|i| rep(i, Outcome::Tp, Some(lat[i as usize]), Some(site)))
            .collect()
    }

    /// A leaking cell caught three times, and a twin that stays quiet three times.
    pub(crate) fn leak_and_twin() -> Baseline {
        set(vec![
            cell("leak", "d", true, tps([2.0, 2.5, 3.0], true)),
            cell(
                "twin",
                "d",
                false,
                (0..3).map(|i| rep(i, Outcome::Tn, None, None)).collect(),
            ),
        ])
    }

    #[test]
    fn identical_sets_pass_and_each_aspect_can_fail() {
        let base = leak_and_twin();
        let tol = Tolerance::default();
        let same = compare(&base, &base, &tol);
        assert!(!same.regressed() && same.changes.is_empty(), "{same:?}");
        assert_eq!(same.compared, 2);

        let mut missed = base.clone();
        missed.cells[0].reps[1] = rep(1, Outcome::Fn, None, None);
        let c = compare(&base, &missed, &tol);
        assert!(c.regressed());
        assert_eq!(
            (
                c.changes[0].aspect,
                c.changes[0].baseline.as_str(),
                c.changes[0].current.as_str()
            ),
            (Aspect::Detection, "3/3 caught", "2/3 caught")
        );
        // ... and the reverse direction is better, not worse.
        let back = compare(&missed, &base, &tol);
        assert!(!back.regressed() && back.count(Direction::Better) == 1);

        let mut fa = base.clone();
        fa.cells[1].reps[2] = rep(2, Outcome::Fp, None, None);
        let c = compare(&base, &fa, &tol);
        assert!(c.regressed());
        assert_eq!(c.changes[0].aspect, Aspect::FalseAlarm);
        assert!(c.changes[0].why.contains("new false alarm"), "{c:?}");

        let mut lost = base.clone();
        lost.cells[0].reps[0].site_ok = Some(false);
        let c = compare(&base, &lost, &tol);
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].direction),
            (Aspect::Localization, Direction::Worse)
        );

        let mut slow = base.clone();
        slow.cells[0].reps = tps([6.0, 6.5, 7.0], true);
        let c = compare(&base, &slow, &tol);
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].direction),
            (Aspect::Latency, Direction::Worse),
            "{c:?}"
        );
    }

    #[test]
    fn latency_needs_tolerance_and_statistical_support() {
        let tol = Tolerance::default();
        let base = set(vec![cell("leak", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let with = |lat: Vec<f64>| {
            let reps = lat
                .iter()
                .enumerate()
                .map(|(i, l)| rep(i as u32, Outcome::Tp, Some(*l), Some(true)))
                .collect();
            compare(&base, &set(vec![cell("leak", "d", true, reps)]), &tol)
        };
        // Separated but within 1 s: not a change.
        assert!(with(vec![3.1, 3.2, 3.3]).changes.is_empty());
        // Median +4 s but overlapping (p = 0.35 > 0.05): no support, no failure.
        let c = with(vec![1.0, 6.5, 7.0]);
        assert!(!c.regressed());
        assert_eq!(c.changes[0].direction, Direction::Unsupported, "{c:?}");
        // Too few reps: no support, and it says how many are needed.
        let c = with(vec![9.0]);
        assert_eq!(c.changes[0].direction, Direction::Unsupported);
        assert!(
            c.changes[0].why.contains("≥ 3 TP reps"),
            "{}",
            c.changes[0].why
        );
        // Faster with support: better.
        let base_slow = set(vec![cell("leak", "d", true, tps([8.0, 9.0, 10.0], true))]);
        let c = compare(&base_slow, &base, &tol);
        assert_eq!(c.changes[0].direction, Direction::Better, "{c:?}");
    }

    #[test]
    fn na_reps_and_one_sided_cells_are_reported_not_failed() {
        let base = set(vec![
            cell("leak", "d", true, tps([2.0, 2.5, 3.0], true)),
            cell("other", "d", true, tps([2.0, 2.5, 3.0], true)),
        ]);
        let mut na = base.clone();
        na.cells[0].reps[2] = rep(2, Outcome::Na, None, None);
        let c = compare(&base, &na, &Tolerance::default());
        assert!(!c.regressed());
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].direction),
            (Aspect::Judged, Direction::Neutral)
        );
        // A whole scenario missing (a partial run, e.g. one shard) is reported, not failed.
        let shard = set(vec![base.cells[0].clone()]);
        let c = compare(&base, &shard, &Tolerance::default());
        assert!(!c.regressed(), "{c:?}");
        assert_eq!(
            (c.compared, c.only_baseline),
            (1, vec!["other/d".to_string()])
        );
    }

    #[test]
    fn cells_are_keyed_on_scenario_and_axes() {
        let mut at50 = cell("leak", "d", true, tps([2.0, 2.5, 3.0], true));
        at50.axes.insert(crate::axes::Axis::Gogc, "50");
        let mut at100 = at50.clone();
        at100.axes.insert(crate::axes::Axis::Gogc, "100");
        at100.reps = vec![rep(0, Outcome::Fn, None, None); 3];
        let base = set(vec![at50.clone(), at100.clone()]);
        // The same run: nothing changed, although GOGC=100 missed what GOGC=50 caught.
        let c = compare(&base, &base, &Tolerance::default());
        assert_eq!((c.compared, c.regressed()), (2, false), "{c:?}");
        // GOGC=50 now misses: a regression, named by its cell.
        let mut worse = base.clone();
        worse.cells[0].reps = at100.reps.clone();
        let c = compare(&base, &worse, &Tolerance::default());
        assert!(c.regressed());
        assert_eq!(c.changes[0].scenario, "leak@GOGC=50");
        // A run without axes is not compared with cells that have them.
        let plain = set(vec![cell("leak", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let c = compare(&base, &plain, &Tolerance::default());
        assert_eq!(c.compared, 0);
        assert_eq!(c.only_current, vec!["leak/d".to_string()]);
    }

    /// A gate that compared nothing, lost a detector, or could judge nothing must not pass.
    #[test]
    fn nothing_compared_a_lost_detector_or_all_na_fails() {
        let base = set(vec![cell("leak", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let mut renamed = base.clone();
        renamed.cells[0].detector = "e".into();
        let c = compare(&base, &renamed, &Tolerance::default());
        assert!(c.regressed());
        assert!(
            c.changes
                .iter()
                .any(|ch| ch.why == "detector missing from this run"),
            "{c:?}"
        );
        let elsewhere = set(vec![cell(
            "unrelated",
            "d",
            true,
            tps([2.0, 2.5, 3.0], true),
        )]);
        let c = compare(&base, &elsewhere, &Tolerance::default());
        assert!(c.regressed() && c.compared == 0);
        let mut all_na = base.clone();
        for r in &mut all_na.cells[0].reps {
            r.outcome = Outcome::Na;
        }
        let c = compare(&base, &all_na, &Tolerance::default());
        assert!(c.regressed(), "{c:?}");
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].direction),
            (Aspect::Judged, Direction::Worse)
        );
    }
}
