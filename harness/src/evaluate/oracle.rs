//! The oracle bound: the fastest any detector could be on a leaking scenario's leak, at a
//! given false-alarm rate. Every detector's latency on that scenario is reported as a ratio to
//! this one number, so the ratios of two detectors on a scenario compare like with like, and a
//! ratio below 1× says a detector beat what the model allows (worth a sentence, not an
//! everyday sight).
//!
//! Lorden's bound (attained asymptotically by CUSUM): for a change from distribution `P0` to
//! `P1` in i.i.d. observations, any procedure whose false alarms are at least `ARL₀`
//! observations apart needs, in the worst case, about `ln(ARL₀) / KL(P1 ‖ P0)` observations
//! after the change to detect it. Here the observations are the *increments* of a series
//! between consecutive points. The scenario's bound is computed on every candidate series
//! ([`candidates`]: each scalar a shipped detector watches, and the goroutines and in-use heap
//! at the scenario's own leak site) and is the smallest of them ([`scenario_bound`]): the
//! series where the leak shows most clearly. The site series use the ground truth (the
//! scenario's `truth.site`), which no detector has: an oracle may know where to look, and a
//! detector that watches one site rather than a sum over all of them is then measured
//! against what watching the right site allows.
//!
//! Assumptions, stated because the bound is only as good as they are:
//! - increments are i.i.d. Gaussian with the same variance before and after the change, so
//!   `KL = (μ1 − μ0)² / (2σ0²)` per increment (a mean shift);
//! - `μ0`, `σ0` come from the non-leaking twin's increments after warm-up (the scenario with
//!   the same fixture and `leak.fixed = true`; all its judged repetitions pooled), or, without
//!   a twin, from the leaky repetitions' own increments between warm-up and onset;
//! - `μ1` is the mean increment of the leaky repetitions (judged ones, pooled) from the onset
//!   to the last sample where the fixture's leaked-unit count grew (after that a bounded leak
//!   has stopped);
//! - `ARL₀` is [`ARL0`], the rate CUSUM detectors are set for, so the bound is "at the same
//!   false-alarm rate" as they are; other detectors' rates differ, and a detector that fires
//!   more readily can beat the bound;
//! - evidence accrues with the time the leak has run: `ln(ARL₀)/KL` increments are that many
//!   median spacings of leak after the onset (the *exposure*, which may be less than one
//!   spacing for a leak far above the noise). A detector only sees the series at its points,
//!   so in a repetition whose first point comes `φ` after the onset the bound is the first
//!   point at or after the exposure: `φ + ⌈(exposure − φ)/spacing⌉·spacing` (`φ` when the
//!   exposure fits before the first point);
//! - a scalar the twin holds perfectly flat (`σ0 = 0`) has no Gaussian noise to speak of: the
//!   best detector alarms at the first point whose increment differs from the twin's, and
//!   that is the repetition's bound (a scalar that only blips under the leak does not pass
//!   for a clean signal);
//! - the scenario's bound on a scalar is the median of its repetitions' bounds.
//!
//! Owns this computation only; must not run detectors or score.

use crate::evaluate::detect::{self, Watched, CUSUM_ARL0};
use crate::sample::Sample;
use crate::stats;
use crate::trace::Trace;
use regex::Regex;
use serde::Serialize;

/// The in-control average run length, in increments, at which the bound is computed.
pub const ARL0: f64 = CUSUM_ARL0;

/// Where the pre-change noise was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseSource {
    /// The non-leaking twin's traces.
    Twin,
    /// The leaky traces' samples between warm-up and onset.
    PreOnset,
}

/// A series a bound is computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Candidate {
    /// A scalar some detector watches.
    Scalar(Watched),
    /// Goroutines whose blocking site matches the scenario's `truth.site`.
    GoroutinesAtSite,
    /// In-use heap bytes at allocation sites matching the scenario's `truth.site`.
    HeapAtSite,
}

impl Candidate {
    /// The `(t, value)` points of this series over samples in time order; `site` is the
    /// leaking scenario's site (its twin's samples are read at the same site).
    pub fn series(self, samples: &[Sample], site: &Regex) -> Vec<(f64, f64)> {
        let points = |value: &dyn Fn(&Sample) -> Option<f64>| -> Vec<(f64, f64)> {
            samples
                .iter()
                .filter_map(|s| value(s).map(|v| (s.t, v)))
                .collect()
        };
        match self {
            Candidate::Scalar(w) => w.series(samples),
            Candidate::GoroutinesAtSite => points(&|s| {
                let groups = s.goroutines.as_ref()?;
                let at = groups.iter().filter(|g| site.is_match(&g.site));
                Some(at.map(|g| g.count as f64).sum())
            }),
            Candidate::HeapAtSite => points(&|s| {
                let sites = s.heap.as_ref()?;
                let at = sites.iter().filter(|h| site.is_match(&h.site));
                Some(at.map(|h| h.inuse_bytes as f64).sum())
            }),
        }
    }
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Candidate::Scalar(w) => w.fmt(f),
            Candidate::GoroutinesAtSite => f.write_str("goroutines-at-site"),
            Candidate::HeapAtSite => f.write_str("heap-at-site"),
        }
    }
}

/// The bound for one leaking scenario on one series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OracleBound {
    pub on: Candidate,
    /// The bound, seconds after onset: the median over the repetitions.
    pub delay_s: f64,
    /// The evidence needed, in increments of leak after the onset (`ln(ARL₀)/KL`); 0 on a
    /// flat scalar, where the first difference tells.
    pub exposure_increments: f64,
    /// `KL(P1 ‖ P0)` per increment, nats (infinite on a flat scalar).
    pub kl_per_increment: f64,
    /// Pre-change mean and standard deviation of the increments, units per increment.
    pub mu0: f64,
    pub sigma0: f64,
    /// Post-change mean increment.
    pub mu1: f64,
    /// Median spacing of the post-onset points, seconds.
    pub interval_s: f64,
    /// Median over the repetitions of the time from the onset to the first point after it.
    pub first_point_s: f64,
    /// Leaky repetitions pooled.
    pub reps: usize,
    pub source: NoiseSource,
}

/// Lorden's delay in increments for a Gaussian mean shift `μ0 → μ1` with noise `σ0 > 0`, at
/// in-control run length `arl0`: `ln(arl0) / ((μ1 − μ0)²/(2σ0²))`, not rounded (a shift far
/// above the noise needs less than one increment of it). `None` when the mean does not
/// increase (nothing to detect upward) or `σ0` is not positive.
pub fn lorden_delay_increments(arl0: f64, mu0: f64, sigma0: f64, mu1: f64) -> Option<f64> {
    if mu1 <= mu0 || arl0 <= 1.0 || sigma0 <= 0.0 {
        return None;
    }
    let kl = (mu1 - mu0).powi(2) / (2.0 * sigma0 * sigma0);
    Some(arl0.ln() / kl)
}

/// The first point at or after `exposure_s` of leak, for a repetition whose first point
/// after the onset comes `first_point_s` after it and the next ones `spacing_s` apart.
pub fn first_point_after(exposure_s: f64, first_point_s: f64, spacing_s: f64) -> f64 {
    let more = ((exposure_s - first_point_s).max(0.0) / spacing_s).ceil();
    first_point_s + more * spacing_s
}

/// Differences between consecutive values of a series.
pub fn increments(pts: &[(f64, f64)]) -> Vec<f64> {
    pts.windows(2).map(|w| w[1].1 - w[0].1).collect()
}

/// The series a bound is computed on: every scalar some shipped detector watches, once, in
/// [`Watched`] order, then the two series at the leak's site. The registry's, not the
/// detectors being scored: a scenario's bound does not depend on which detectors are asked
/// about it.
pub fn candidates() -> Vec<Candidate> {
    let mut w: Vec<Watched> = detect::registry().iter().map(|d| d.watches).collect();
    w.sort();
    w.dedup();
    w.into_iter()
        .map(Candidate::Scalar)
        .chain([Candidate::GoroutinesAtSite, Candidate::HeapAtSite])
        .collect()
}

/// The twins of a leaky trace among `all`: non-leaking runs of the same fixture with
/// `leak.fixed = true`, in the order given.
pub fn twins_of<'a>(leaky: &Trace, all: &'a [Trace]) -> Vec<&'a Trace> {
    let sc = &leaky.meta.scenario;
    all.iter()
        .filter(|t| {
            let o = &t.meta.scenario;
            // Only usable twins sampled at the same interval: increments at another interval
            // are another noise.
            o.fixture == sc.fixture
                // A twin at another matrix point (Go, GOGC, ...) is another noise.
                && t.meta.axes == leaky.meta.axes
                && o.leak.fixed
                && !o.truth.leaking
                && o.interval_s == sc.interval_s
                && crate::evaluate::score::unscorable(t).is_none()
        })
        .collect()
}

/// Pre-change increments from the twins (after their warm-up), pooled.
fn twin_increments(on: Candidate, site: &Regex, twins: &[&Trace]) -> Vec<f64> {
    twins
        .iter()
        .flat_map(|t| {
            let pts: Vec<(f64, f64)> = on
                .series(&t.samples, site)
                .into_iter()
                .filter(|p| p.0 >= t.meta.scenario.warmup_s)
                .collect();
            increments(&pts)
        })
        .collect()
}

/// The last time the fixture's leaked-unit count grew, or the end of the trace if it never
/// reported units.
fn leak_active_until(trace: &Trace) -> f64 {
    let mut last_units: Option<u64> = None;
    let mut until = None;
    for s in &trace.samples {
        if let Some(tr) = &s.truth {
            if last_units.is_some_and(|u| tr.units > u) {
                until = Some(s.t);
            }
            last_units = Some(tr.units);
        }
    }
    until.unwrap_or_else(|| trace.samples.last().map_or(0.0, |s| s.t))
}

/// One leaky repetition's part of the bound on one scalar.
struct LeakyPart {
    /// Increments between warm-up and onset.
    pre: Vec<f64>,
    /// Increments from the onset while the leak grew.
    post: Vec<f64>,
    /// Spacings of the post-onset points.
    spacing: Vec<f64>,
    /// From the onset to the first point at or after it.
    first_point_s: f64,
    /// The post-onset points (the one before the onset first, when there is one), for the
    /// first difference on a flat scalar.
    around: Vec<(f64, f64)>,
    onset_s: f64,
}

impl LeakyPart {
    /// From the onset to the first point at or after it whose increment is not `mu0`.
    fn first_difference_s(&self, mu0: f64) -> Option<f64> {
        self.around
            .windows(2)
            .find(|w| w[1].0 >= self.onset_s && w[1].1 - w[0].1 != mu0)
            .map(|w| w[1].0 - self.onset_s)
    }
}

fn leaky_part(on: Candidate, site: &Regex, t: &Trace) -> Option<LeakyPart> {
    let onset = t.onset_s()?;
    let series = on.series(&t.samples, site);
    let warmup = t.meta.scenario.warmup_s;
    let pre_pts: Vec<(f64, f64)> = series
        .iter()
        .copied()
        .filter(|p| p.0 >= warmup && p.0 < onset)
        .collect();
    let until = leak_active_until(t);
    let post_pts: Vec<(f64, f64)> = series
        .iter()
        .copied()
        .filter(|p| p.0 >= onset && p.0 <= until)
        .collect();
    let around: Vec<(f64, f64)> = pre_pts
        .last()
        .into_iter()
        .chain(&post_pts)
        .copied()
        .collect();
    Some(LeakyPart {
        pre: increments(&pre_pts),
        post: increments(&post_pts),
        spacing: post_pts.windows(2).map(|w| w[1].0 - w[0].0).collect(),
        first_point_s: post_pts.first()?.0 - onset,
        around,
        onset_s: onset,
    })
}

/// The bound for a leaking scenario on one series, from its leaky repetitions (pooled) and its
/// twins' noise; `None` without leaky repetitions, when none has a measured onset, with too
/// few increments on either side (fewer than 2), or when the series does not rise.
pub fn bound(on: Candidate, leaky: &[&Trace], twins: &[&Trace]) -> Option<OracleBound> {
    let site = leaky.first()?.meta.scenario.site_regex();
    let parts: Vec<LeakyPart> = leaky
        .iter()
        .filter_map(|t| leaky_part(on, &site, t))
        .collect();
    let twin = twin_increments(on, &site, twins);
    let (pre, source) = if twin.len() >= 2 {
        (twin, NoiseSource::Twin)
    } else {
        let own = parts.iter().flat_map(|p| p.pre.iter().copied()).collect();
        (own, NoiseSource::PreOnset)
    };
    let post: Vec<f64> = parts.iter().flat_map(|p| p.post.iter().copied()).collect();
    if pre.len() < 2 || post.len() < 2 {
        return None;
    }
    let mu0 = stats::mean(&pre)?;
    let sigma0 = stats::std_dev(&pre)?;
    let mu1 = stats::mean(&post)?;
    if mu1 <= mu0 {
        return None;
    }
    let spacing: Vec<f64> = parts
        .iter()
        .flat_map(|p| p.spacing.iter().copied())
        .collect();
    let interval_s = stats::median(&spacing)?;
    let (exposure_increments, kl, per_rep): (f64, f64, Vec<f64>) = if sigma0 > 0.0 {
        let e = lorden_delay_increments(ARL0, mu0, sigma0, mu1)?;
        let per_rep = parts
            .iter()
            .map(|p| first_point_after(e * interval_s, p.first_point_s, interval_s))
            .collect();
        (e, (mu1 - mu0).powi(2) / (2.0 * sigma0 * sigma0), per_rep)
    } else {
        let per_rep = parts
            .iter()
            .filter_map(|p| p.first_difference_s(mu0))
            .collect();
        (0.0, f64::INFINITY, per_rep)
    };
    let first: Vec<f64> = parts.iter().map(|p| p.first_point_s).collect();
    Some(OracleBound {
        on,
        delay_s: stats::median(&per_rep)?,
        exposure_increments,
        kl_per_increment: kl,
        mu0,
        sigma0,
        mu1,
        interval_s,
        first_point_s: stats::median(&first)?,
        reps: parts.len(),
        source,
    })
}

/// The scenario's bound: the smallest of [`bound`] over the [`candidates`], or `None` when
/// no scalar gives one.
pub fn scenario_bound(leaky: &[&Trace], twins: &[&Trace]) -> Option<OracleBound> {
    candidates()
        .into_iter()
        .filter_map(|w| bound(w, leaky, twins))
        .min_by(|a, b| a.delay_s.total_cmp(&b.delay_s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::{goroutine_samples, Rng, DT};
    use crate::evaluate::detect::{by_name, first_alarm, Params};
    use crate::sample::{metric, Truth};

    /// A trace of a random walk whose increments are N(μ0, σ²) before `onset` and
    /// N(μ1, σ²) after (the first increment of the leak is the one that starts at or after
    /// the onset), as goroutine counts (unrounded), with truth units growing after onset.
    fn walk(
        mu0: f64,
        mu1: f64,
        sigma: f64,
        onset: f64,
        n: usize,
        seed: u64,
        leaking: bool,
    ) -> Trace {
        let mut rng = Rng::new(seed);
        let mut v = 1000.0;
        let mut samples = Vec::new();
        for i in 0..n {
            let t = i as f64 * DT;
            let mu = if leaking && t - DT >= onset { mu1 } else { mu0 };
            if i > 0 {
                v += mu + sigma * rng.normal();
            }
            let mut s = goroutine_samples(&[(t, 0.0)]).remove(0);
            s.metrics
                .as_mut()
                .unwrap()
                .insert(metric::GOROUTINES.into(), v);
            s.truth = Some(Truth {
                onset_s: (leaking && t >= onset).then_some(onset),
                units: if leaking && t >= onset { i as u64 } else { 0 },
                site: "main.f".into(),
            });
            samples.push(s);
        }
        let mut meta = crate::trace::tests::meta();
        meta.scenario.warmup_s = 0.0;
        meta.scenario.truth.leaking = leaking;
        meta.scenario.leak.fixed = !leaking;
        let ended_s = samples.last().map_or(0.0, |s| s.t);
        Trace {
            dir: "t".into(),
            meta,
            end: Some(crate::trace::RepEnd {
                status: crate::trace::EndStatus::Completed,
                reason: String::new(),
                samples: samples.len() as u64,
                ended_s,
                fidelity: None,
            }),
            samples,
        }
    }

    /// `into` with the goroutine counts of `from` copied in as the allocated heap: a second
    /// scalar on the same samples.
    fn with_heap_from(mut into: Trace, from: &Trace) -> Trace {
        for (s, f) in into.samples.iter_mut().zip(&from.samples) {
            let v = f.metric(metric::GOROUTINES).unwrap();
            s.metrics
                .as_mut()
                .unwrap()
                .insert(metric::HEAP_OBJECTS_BYTES.into(), v);
        }
        into
    }

    #[test]
    fn lorden_formula_and_edge_cases() {
        // μ shift of 0.5σ: KL = 0.125, ln(10⁴)/0.125 = 73.68 increments.
        let d = lorden_delay_increments(1e4, 0.0, 1.0, 0.5).unwrap();
        assert!((d - 1e4f64.ln() / 0.125).abs() < 1e-9);
        assert_eq!(lorden_delay_increments(1e4, 0.0, 1.0, -1.0), None);
        assert_eq!(lorden_delay_increments(1e4, 0.0, 0.0, 1.0), None);
        let far = lorden_delay_increments(1e4, 0.0, 1.0, 100.0).unwrap();
        assert!(
            (far - 1e4f64.ln() / 5000.0).abs() < 1e-12,
            "not rounded up: {far}"
        );
    }

    #[test]
    fn the_bound_waits_for_the_first_point_at_or_after_the_exposure() {
        // Exposure within the first point's reach: the first point.
        assert_eq!(first_point_after(0.004, 0.3, 0.5), 0.3);
        assert_eq!(first_point_after(0.3, 0.3, 0.5), 0.3);
        // 1.2 s of leak needed, first point at 0.3 s: the points at 0.8, then 1.3.
        assert!((first_point_after(1.2, 0.3, 0.5) - 1.3).abs() < 1e-12);
        assert!((first_point_after(1.3, 0.3, 0.5) - 1.3).abs() < 1e-12);
    }

    /// On a synthetic Gaussian mean shift, the bound computed from a twin's noise and the
    /// leaky repetitions' post-onset increments matches ln(ARL₀)/KL of the true parameters
    /// within the estimation error (~15 % pooled over 20 repetitions, ~35 % from one), and
    /// CUSUM tuned for ARL₀ takes at least roughly that long. The onset falls on a sample, so
    /// the bound is the first sample after ln(ARL₀)/KL increments of leak.
    #[test]
    fn bound_matches_the_gaussian_formula_and_cusum_does_not_beat_it() {
        let (mu0, mu1, sigma) = (0.0, 1.0, 1.0);
        let onset = 10.0;
        let truth = lorden_delay_increments(ARL0, mu0, sigma, mu1)
            .unwrap()
            .ceil()
            * DT;
        let twin = walk(mu0, mu1, sigma, onset, 4000, 99, false);
        let leaky: Vec<Trace> = (1..=20)
            .map(|seed| walk(mu0, mu1, sigma, onset, 400, seed, true))
            .collect();
        let mut cusum_delays = Vec::new();
        for t in &leaky {
            let b = bound(Candidate::Scalar(Watched::Goroutines), &[t], &[&twin]).unwrap();
            assert_eq!(
                (b.source, b.reps, b.first_point_s),
                (NoiseSource::Twin, 1, 0.0)
            );
            assert!(
                (b.delay_s - truth).abs() / truth < 0.35,
                "bound {} vs {truth}",
                b.delay_s
            );
            let cusum = by_name("cusum-goroutines").unwrap();
            let a = first_alarm(cusum, &Params::default(), &t.samples, 0.0)
                .expect("CUSUM detects a 1σ shift");
            cusum_delays.push(a.t - onset);
        }
        let all: Vec<&Trace> = leaky.iter().collect();
        let pooled = bound(Candidate::Scalar(Watched::Goroutines), &all, &[&twin]).unwrap();
        assert_eq!(pooled.reps, 20);
        assert!(
            (pooled.delay_s - truth).abs() / truth < 0.15,
            "pooled bound {} vs {truth}",
            pooled.delay_s
        );
        let median_delay = stats::median(&cusum_delays).unwrap();
        // ln(10⁴)/0.5 = 18.4 increments: the sample at 9.5 s after the onset. The bound is
        // first-order in ln(ARL₀): at finite ARL₀ an ideal CUSUM with known parameters
        // averages ~15 increments (Siegmund), ~20 % under it; ours estimates σ0 and clips.
        assert!(
            median_delay >= 0.8 * truth,
            "CUSUM {median_delay} s vs bound {truth} s"
        );
    }

    /// Two scalars on the same samples, one shifting by 2σ and one by 0.5σ: the scenario's
    /// bound is the smaller, on the scalar where the leak shows most clearly.
    #[test]
    fn the_scenario_bound_is_the_smallest_over_the_candidate_scalars() {
        let (onset, n) = (10.0, 200);
        let strong = walk(0.0, 2.0, 1.0, onset, n, 3, true);
        let weak = walk(0.0, 0.5, 1.0, onset, n, 4, true);
        let leaky = with_heap_from(strong, &weak);
        let twin = with_heap_from(
            walk(0.0, 0.0, 1.0, onset, 2000, 5, false),
            &walk(0.0, 0.0, 1.0, onset, 2000, 6, false),
        );
        let g = bound(Candidate::Scalar(Watched::Goroutines), &[&leaky], &[&twin]).unwrap();
        let h = bound(Candidate::Scalar(Watched::HeapAlloc), &[&leaky], &[&twin]).unwrap();
        assert!(g.delay_s < h.delay_s, "{g:?} {h:?}");
        let s = scenario_bound(&[&leaky], &[&twin]).unwrap();
        assert_eq!(
            (s.on, s.delay_s),
            (Candidate::Scalar(Watched::Goroutines), g.delay_s)
        );
        assert!(candidates().contains(&Candidate::Scalar(Watched::HeapAlloc)));
        assert!(candidates().windows(2).all(|w| w[0] < w[1]), "once each");
    }

    /// Goroutines at the leak's site, where the whole count is noisy: the site's series is
    /// the clearer one, and the scenario's bound is computed on it.
    #[test]
    fn the_leak_site_is_a_candidate() {
        use crate::sample::StackGroup;
        let onset = 10.0;
        let with_groups = |seed: u64, leaking: bool| {
            let mut t = walk(0.0, 0.0, 0.0, onset, 200, seed, leaking);
            let mut rng = Rng::new(seed);
            for (i, s) in t.samples.iter_mut().enumerate() {
                let at_site = if leaking && s.t > onset {
                    i as u64 - 20
                } else {
                    0
                };
                let busy = (200.0 + 30.0 * rng.normal()).max(0.0) as u64;
                s.goroutines = Some(vec![
                    StackGroup {
                        count: busy,
                        wait: "IO wait".into(),
                        site: "net/http.(*conn).serve".into(),
                        frames: vec![],
                    },
                    StackGroup {
                        count: at_site,
                        wait: "chan send".into(),
                        site: "main.f".into(),
                        frames: vec![],
                    },
                ]);
                s.metrics.as_mut().unwrap().remove(metric::GOROUTINES);
            }
            t
        };
        let (leaky, twin) = (with_groups(1, true), with_groups(2, false));
        let all = bound(Candidate::Scalar(Watched::Goroutines), &[&leaky], &[&twin]).unwrap();
        let site = bound(Candidate::GoroutinesAtSite, &[&leaky], &[&twin]).unwrap();
        // One goroutine per sample at the site, against ±30 in the whole count.
        assert!(site.delay_s < all.delay_s, "{site:?} {all:?}");
        assert_eq!((site.sigma0, site.delay_s), (0.0, 0.5));
        let s = scenario_bound(&[&leaky], &[&twin]).unwrap();
        assert_eq!(s.on, Candidate::GoroutinesAtSite);
        assert_eq!(s.on.to_string(), "goroutines-at-site");
        assert!(candidates().ends_with(&[Candidate::GoroutinesAtSite, Candidate::HeapAtSite]));
    }

    /// A scalar the twin holds flat: the first increment off it tells. Here only every fourth
    /// of the leak's increments differs, the first at 12 s: 2 s after the onset, not at the
    /// first point after it.
    #[test]
    fn a_flat_twin_scalar_takes_the_wait_for_the_first_difference() {
        let onset = 10.0;
        let twin = walk(0.0, 0.0, 0.0, onset, 200, 1, false);
        let mut leaky = walk(0.0, 0.0, 0.0, onset, 200, 1, true);
        let mut v = 1000.0;
        for (i, s) in leaky.samples.iter_mut().enumerate() {
            if s.t > onset && i % 4 == 0 {
                v += 1.0;
            }
            let m = s.metrics.as_mut().unwrap();
            m.insert(metric::GOROUTINES.into(), v);
        }
        let b = bound(Candidate::Scalar(Watched::Goroutines), &[&leaky], &[&twin]).unwrap();
        assert_eq!((b.sigma0, b.kl_per_increment), (0.0, f64::INFINITY));
        assert_eq!((b.exposure_increments, b.delay_s), (0.0, 2.0), "{b:?}");
        // Flat after as well: nothing to detect.
        let flat = walk(0.0, 0.0, 0.0, onset, 200, 1, true);
        assert_eq!(
            bound(Candidate::Scalar(Watched::Goroutines), &[&flat], &[&twin]),
            None
        );
    }

    #[test]
    fn the_first_point_after_the_onset_starts_the_count() {
        // The onset between two samples: nothing is seen before the sample after it.
        let twin = walk(0.0, 0.0, 1.0, 10.2, 2000, 7, false);
        let leaky = walk(0.0, 50.0, 1.0, 10.2, 200, 8, true);
        let b = bound(Candidate::Scalar(Watched::Goroutines), &[&leaky], &[&twin]).unwrap();
        assert!(b.exposure_increments < 0.01, "{b:?}");
        assert!((b.first_point_s - 0.3).abs() < 1e-9 && (b.delay_s - 0.3).abs() < 1e-9);
    }

    #[test]
    fn without_a_twin_the_pre_onset_noise_is_used_and_no_onset_means_no_bound() {
        let leaky = walk(0.0, 2.0, 1.0, 30.0, 200, 5, true);
        let b = bound(Candidate::Scalar(Watched::Goroutines), &[&leaky], &[]).unwrap();
        assert_eq!(b.source, NoiseSource::PreOnset);
        assert!((b.mu1 - 2.0).abs() < 0.3, "{}", b.mu1);
        let mut none = leaky.clone();
        for s in &mut none.samples {
            s.truth = None::<Truth>;
        }
        assert_eq!(
            bound(Candidate::Scalar(Watched::Goroutines), &[&none], &[]),
            None
        );
        assert_eq!(scenario_bound(&[&none], &[]), None);
    }

    #[test]
    fn twins_are_fixed_runs_of_the_same_fixture() {
        let leaky = walk(0.0, 1.0, 1.0, 5.0, 20, 1, true);
        let twin = walk(0.0, 1.0, 1.0, 5.0, 20, 1, false);
        let mut other = twin.clone();
        other.meta.scenario.fixture = "other".into();
        let mut unfinished = twin.clone();
        unfinished.end = None;
        let mut slower = twin.clone();
        slower.meta.scenario.interval_s *= 2.0;
        let all = vec![leaky.clone(), twin, other, unfinished, slower];
        assert_eq!(twins_of(&leaky, &all).len(), 1);
    }
}
