//! Which leaks each watched series can show: a detector that watches goroutines cannot see a
//! map that grows, and its recall over every class says more about the matrix than about it.
//! So the report gives, beside a detector's overall recall, its recall on the leaks whose
//! growth its series shows, judged from the recorded samples, not from the class's name (a
//! context leak grows goroutines in one fixture and only the heap in another).
//!
//! A series **shows** a leaking repetition when, after the measured onset, it ends clearly
//! above where it was before: the median of the last quarter of its post-onset points exceeds
//! the median of its pre-onset points (after warm-up) by more than the pre-onset range and by
//! more than 5 % of that level. It shows a scenario when it shows most of its repetitions.
//! Descriptive only: no detector runs and nothing is scored here.

use super::load::RunView;
use crate::evaluate::detect::Watched;
use crate::stats;
use std::collections::{BTreeMap, BTreeSet};

/// Every series a report may ask about, in a fixed order.
pub const SERIES: [Watched; 8] = [
    Watched::Goroutines,
    Watched::GoroutineLeakProfile,
    Watched::HeapAlloc,
    Watched::HeapLive,
    Watched::HeapProfile,
    Watched::Rss,
    Watched::CGap,
    Watched::FinalizerBacklog,
];

/// The smallest growth, as a fraction of the pre-onset level, that counts as showing a leak.
const MIN_RELATIVE_GROWTH: f64 = 0.05;

/// For each leaking scenario, the series that show its leak.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visibility {
    pub by_scenario: BTreeMap<String, BTreeSet<Watched>>,
}

impl Visibility {
    /// Does `w` show the leak of `scenario`? `false` for scenarios that do not leak.
    pub fn shows(&self, scenario: &str, w: Watched) -> bool {
        self.by_scenario
            .get(scenario)
            .is_some_and(|s| s.contains(&w))
    }
}

/// Judges every leaking scenario of the run (repetitions with a measured onset).
pub fn visibility(v: &RunView) -> Visibility {
    let mut votes: BTreeMap<&str, (usize, BTreeMap<Watched, usize>)> = BTreeMap::new();
    for t in &v.traces {
        let sc = &t.meta.scenario;
        let Some(onset) = t.onset_s().filter(|_| sc.truth.leaking) else {
            continue;
        };
        let e = votes.entry(&sc.name).or_default();
        e.0 += 1;
        for w in SERIES {
            if grew(&w.series(&t.samples), sc.warmup_s, onset) {
                *e.1.entry(w).or_default() += 1;
            }
        }
    }
    Visibility {
        by_scenario: votes
            .into_iter()
            .map(|(name, (reps, grew))| {
                let shown = grew
                    .into_iter()
                    .filter(|(_, k)| 2 * k > reps)
                    .map(|(w, _)| w)
                    .collect();
                (name.to_string(), shown)
            })
            .collect(),
    }
}

/// Did the series `(t, value)` grow after `onset_s`, beyond its own pre-onset noise? Points
/// before `warmup_s` are ignored; without pre-onset points the first post-onset one is the
/// baseline.
pub fn grew(points: &[(f64, f64)], warmup_s: f64, onset_s: f64) -> bool {
    let pre: Vec<f64> = points
        .iter()
        .filter(|(t, _)| *t >= warmup_s && *t < onset_s)
        .map(|p| p.1)
        .collect();
    let post: Vec<f64> = points
        .iter()
        .filter(|(t, _)| *t >= onset_s)
        .map(|p| p.1)
        .collect();
    if post.len() < 2 {
        return false;
    }
    let (level, noise) = match stats::median(&pre) {
        Some(m) => {
            let (lo, hi) = pre
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            (m, hi - lo)
        }
        None => (post[0], 0.0),
    };
    let tail = &post[post.len() - (post.len() / 4).max(1)..];
    let Some(end) = stats::median(tail) else {
        return false;
    };
    let growth = end - level;
    growth > noise && growth > MIN_RELATIVE_GROWTH * level.abs() && growth > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(pre: &[f64], post: &[f64]) -> Vec<(f64, f64)> {
        pre.iter()
            .chain(post)
            .enumerate()
            .map(|(i, &v)| (i as f64, v))
            .collect()
    }

    #[test]
    fn growth_beyond_the_noise_shows_and_a_sawtooth_does_not() {
        // Onset at t = 4: four pre-onset points (after a warm-up of 0).
        let ramp = series(&[20.0, 21.0, 20.0, 22.0], &[30.0, 40.0, 50.0, 60.0, 70.0]);
        assert!(grew(&ramp, 0.0, 4.0));
        let flat = series(&[20.0, 21.0, 20.0, 22.0], &[21.0, 20.0, 22.0, 21.0, 20.0]);
        assert!(!grew(&flat, 0.0, 4.0));
        // A sawtooth whose swings dwarf a small rise: not shown.
        let saw = series(&[1e6, 9e6, 1e6, 9e6], &[2e6, 9.5e6, 2e6, 9.5e6, 2e6, 9.5e6]);
        assert!(!grew(&saw, 0.0, 4.0));
        // Warm-up points do not count as the baseline.
        let warm = series(&[500.0, 20.0, 20.0, 20.0], &[30.0, 40.0, 50.0, 60.0]);
        assert!(grew(&warm, 1.0, 4.0));
        assert!(!grew(&[(5.0, 1.0)], 0.0, 4.0), "one point is no growth");
    }
}
