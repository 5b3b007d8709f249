//! `goleak`: the detector Go developers use most ([go.uber.org/goleak]), graded as a peer.
//! The program takes goleak's snapshot (`IgnoreCurrent`) at start-up; at each probe goleak's
//! `Find` lists the goroutines started since that are still there after its retries (20,
//! over about 0.43 s, while any remain). This detector fires at the first sample whose list
//! ([`Sample::goleak`]) holds at least [`MIN_LEAKED`] goroutines, and blames the site most
//! of them share.
//!
//! Site as for `goroutineleak-profile`: the site is a group's blocking site (the probe names
//! it by the profiles' rule), summed over groups that share it, so two stacks blocking in one
//! function count as one site. Reports goroutines grew, whatever blocked them.
//!
//! Samples without a goleak verdict (the program does not serve one, or no verdict
//! finished since the last sample: goleak is asked at most every
//! [`crate::record::probe::GOLEAK_PERIOD`], so its alarms come on that cadence) are
//! skipped; a trace with none is not judged (NA), by the scoring of detectors whose watched
//! scalar is absent.
//!
//! [go.uber.org/goleak]: https://github.com/uber-go/goleak

use super::{confidence_past, Alarm, Detector, DetectorSpec, Params, Watched};
use crate::sample::Sample;
use std::collections::BTreeMap;

/// Goroutines reported. One is enough, at the first sample that reports it: goleak's retries
/// already require a goroutine to outlive 0.43 s of re-checks, and measured on every twin
/// (9 of them, 40 verdicts each over 20 s at 2 Hz) it reported nothing once, while transient
/// goroutines (each batch's workers in the global-workers twin) came and went. Asking for a
/// second sample would add a whole verdict (about 1 s while goroutines are found) to every
/// detection and remove no false alarm seen.
pub const MIN_LEAKED: f64 = 1.0;

pub const SPEC: DetectorSpec = DetectorSpec {
    name: "goleak",
    watches: Watched::Goleak,
    threshold: "goroutines goleak reports ≥ 1",
    window_s: None,
    make,
};

fn make(p: &Params) -> Box<dyn Detector> {
    Box::new(Goleak::new(
        (MIN_LEAKED * p.threshold_scale).ceil().max(1.0),
    ))
}

pub struct Goleak {
    min_leaked: f64,
}

impl Goleak {
    pub fn new(min_leaked: f64) -> Self {
        Goleak { min_leaked }
    }
}

impl Detector for Goleak {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let groups = s.goleak.as_ref()?;
        let mut by_site: BTreeMap<&str, u64> = BTreeMap::new();
        for g in groups {
            *by_site.entry(&g.site).or_default() += g.count;
        }
        let total: u64 = by_site.values().sum();
        if (total as f64) < self.min_leaked {
            return None;
        }
        // Most goroutines first; ties by site (the first in order) so the choice is
        // deterministic.
        let (site, n) = by_site
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))?;
        Some(Alarm {
            t: s.t,
            grew: SPEC.watches.observable(),
            site: Some(site.to_string()),
            // Past its retries goleak does not waver: certain once past the threshold.
            confidence: confidence_past(total as f64 + 1.0, self.min_leaked).max(0.5),
            detail: format!(
                "goleak: {total} goroutines outlived its retries (≥ {}); most at {site} × {n}",
                self.min_leaked
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::*;
    use crate::sample::StackGroup;
    use crate::scenario::Observable;

    fn group(count: u64, site: &str, caller: &str) -> StackGroup {
        StackGroup {
            count,
            wait: "chan send".into(),
            site: site.into(),
            frames: vec![site.into(), caller.into()],
        }
    }

    /// goleak verdicts every other sample (a verdict takes longer than an interval while it
    /// finds goroutines), `None` in between; from `from_s` on, 10 `main.sendResult`
    /// goroutines a second in two stacks (two callers), and after 1 s one `main.other`
    /// group larger than either stack alone.
    fn leak_samples(from_s: f64, absent: bool) -> Vec<Sample> {
        (0..N)
            .map(|i| {
                let t = i as f64 * DT;
                let n = if t >= from_s {
                    ((t - from_s) * 10.0) as u64 + 2
                } else {
                    0
                };
                let mut groups = vec![];
                if n > 0 {
                    groups.push(group(n / 2, "main.sendResult", "main.handleA"));
                    groups.push(group(n - n / 2, "main.sendResult", "main.handleB"));
                }
                if t >= from_s + 1.0 {
                    groups.push(group(n / 2 + 2, "main.other", "main.start"));
                }
                Sample {
                    t,
                    goleak: (!absent && i % 2 == 0).then_some(groups),
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn fires_at_the_first_verdict_with_goroutines_and_names_the_commonest_site() {
        // The leak starts at a sample without a verdict: the alarm is at the next one.
        let from = CHANGE_S + DT;
        let samples = leak_samples(from, false);
        assert!(samples.iter().any(|s| s.t == from && s.goleak.is_none()));
        let a = assert_detects("leak", run(make(&Params::default()), &samples), from, DT);
        assert_eq!(a.t, from + DT);
        assert_eq!(a.site.as_deref(), Some("main.sendResult"));
        assert_eq!(a.grew, Some(Observable::Goroutines));
        // Later, `main.other`'s one group outnumbers each `main.sendResult` stack, not
        // their sum: the site is counted over stacks.
        let mut d = make(&Params::default());
        let late = samples
            .iter()
            .filter(|s| s.t >= from + 2.0 && s.goleak.is_some())
            .find_map(|s| d.observe(s))
            .unwrap();
        assert_eq!(
            late.site.as_deref(),
            Some("main.sendResult"),
            "{}",
            late.detail
        );
    }

    #[test]
    fn a_context_watcher_is_a_goroutine_that_grew_with_its_site() {
        let s = Sample {
            t: 1.0,
            goleak: Some(vec![group(
                3,
                "context.(*cancelCtx).propagateCancel.func2",
                "context.(*cancelCtx).propagateCancel",
            )]),
            ..Default::default()
        };
        let a = make(&Params::default()).observe(&s).unwrap();
        assert_eq!(
            (a.site.as_deref(), a.grew),
            (
                Some("context.(*cancelCtx).propagateCancel.func2"),
                Some(Observable::Goroutines)
            )
        );
    }

    #[test]
    fn never_fires_where_goleak_is_absent_or_finds_nothing() {
        assert_silent(
            "absent",
            run(make(&Params::default()), &leak_samples(CHANGE_S, true)),
        );
        assert_silent(
            "empty",
            run(make(&Params::default()), &leak_samples(1e9, false)),
        );
    }

    #[test]
    fn threshold_scale_raises_the_count_needed() {
        // Verdicts at CHANGE_S (2 goroutines) and CHANGE_S + 1 s (20): 6 needed waits for
        // the second.
        let samples = leak_samples(CHANGE_S, false);
        let at = |scale: f64| {
            run(
                make(&Params {
                    threshold_scale: scale,
                }),
                &samples,
            )
            .unwrap()
            .t
        };
        assert_eq!(at(1.0), CHANGE_S);
        assert_eq!(at(6.0), CHANGE_S + 1.0);
    }
}
