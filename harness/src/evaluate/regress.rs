//! Regression of detectors against a saved baseline: did a detector change make anything
//! worse? [`compare`] is the pure core, over two score sets (a saved [`Baseline`] and the
//! current rows turned into one with [`Baseline::from_rows`]); [`render`] turns the
//! [`Comparison`] into a table of what got worse and better.
//!
//! Per scenario × detector cell (repetitions pooled, so runs with different repetition counts
//! compare), a cell is **worse** when
//! - **detection**: the fraction of judged leaking repetitions caught (TP) fell (a leak that
//!   was caught is now missed);
//! - **false alarm**: the fraction of judged repetitions with a false alarm (FP) rose;
//! - **localization**: the fraction of TPs whose blamed site matches the truth fell (both
//!   sides with at least one TP);
//! - **latency**: the TP latencies are later with statistical support: a one-sided
//!   Mann-Whitney U test (current later than baseline; exact permutation p-value for small
//!   samples, normal approximation with tie correction otherwise) at `p ≤ alpha`, with at
//!   least [`MIN_REPS`] TP latencies on each side, **and** the median grew by more than both
//!   the relative and the absolute tolerance. A latency change past the tolerance without
//!   that support (too few repetitions, or `p > alpha`) is reported as "no statistical
//!   support" and does not fail.
//!
//! NA repetitions (unusable traces) are not judged; a change in how many there are is
//! reported, not failed. Cells present on one side only are counted, not failed (a shard or
//! a subset of scenarios is a legitimate run to compare).
//!
//! Owns the baseline file format and the comparison rules. Must not run detectors or read
//! traces (callers score with [`crate::evaluate::replay::score_traces`]), and writes no files: it
//! returns bytes ([`Baseline::to_bytes`], [`render`]).

use crate::bad_input::BadInput;
use crate::evaluate::score::{Outcome, ScoreRow};
use crate::fsio;
use crate::stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Bumped when the baseline layout changes incompatibly.
pub const BASELINE_FORMAT: u32 = 1;

/// Significance level of the latency test: benchstat's default.
pub const ALPHA: f64 = 0.05;
/// Minimum TP latencies per side for a latency verdict. With 3 against 3, complete
/// separation gives the smallest one-sided exact p-value, 1/C(6,3) = 0.05 = [`ALPHA`]; fewer
/// can never reach significance.
pub const MIN_REPS: usize = 3;
/// A latency regression must grow the median by more than this fraction...
pub const LATENCY_REL: f64 = 0.20;
/// ...and by more than this many seconds: one or two sampling intervals of jitter is not a
/// regression.
pub const LATENCY_ABS_S: f64 = 1.0;
/// Largest number of relabelings enumerated for an exact Mann-Whitney p-value (C(16, 8) =
/// 12 870 fits; C(20, 10) = 184 756 does not): beyond it the normal approximation is good.
const EXACT_LIMIT: u64 = 100_000;

/// One repetition's result, as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepResult {
    pub rep: u32,
    /// `TP`, `FN`, `FP`, `TN` or `NA` (see [`crate::evaluate::score`]).
    pub outcome: String,
    /// First alarm − onset, seconds, TPs only (3 decimals, as in `scores.csv`).
    pub latency_s: Option<f64>,
    /// Whether the blamed site matched, TPs only.
    pub site_ok: Option<bool>,
}

/// One scenario × detector, every repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineCell {
    pub scenario: String,
    pub detector: String,
    pub leaking: bool,
    pub reps: Vec<RepResult>,
}

/// A saved score set (`baselines/*.json`): what a run's detectors did, per cell and
/// repetition. Cells are sorted by scenario, then detector; repetitions by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_FORMAT`].
    pub format: u32,
    pub harness_version: String,
    /// The detectors scored, sorted.
    pub detectors: Vec<String>,
    pub cells: Vec<BaselineCell>,
}

/// Seconds rounded to the milliseconds `scores.csv` keeps, so a baseline's bytes are stable.
fn millis(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Baseline {
    /// The score set of `rows` (any order).
    pub fn from_rows(rows: &[ScoreRow], harness_version: &str) -> Baseline {
        let mut cells: BTreeMap<(&str, &str), BaselineCell> = BTreeMap::new();
        for r in rows {
            let cell = cells
                .entry((&r.scenario, &r.detector))
                .or_insert_with(|| BaselineCell {
                    scenario: r.scenario.clone(),
                    detector: r.detector.clone(),
                    leaking: r.leaking,
                    reps: Vec::new(),
                });
            cell.reps.push(RepResult {
                rep: r.rep,
                outcome: r.outcome.to_string(),
                latency_s: r.latency_s.map(millis),
                site_ok: r.site_ok,
            });
        }
        let mut detectors: Vec<String> = rows.iter().map(|r| r.detector.clone()).collect();
        detectors.sort();
        detectors.dedup();
        Baseline {
            format: BASELINE_FORMAT,
            harness_version: harness_version.to_string(),
            detectors,
            cells: cells
                .into_values()
                .map(|mut c| {
                    c.reps.sort_by_key(|r| r.rep);
                    c
                })
                .collect(),
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("baseline serializes");
        out.push(b'\n');
        out
    }

    /// Parses a baseline file's text; `path` names it in errors. Every error is one line
    /// naming the file, the key and the fix.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BadInput> {
        let fix = format!(
            "re-save it with `leakbench regress RUN_DIR --save-baseline {}`",
            path.display()
        );
        let bad = |key: &str, problem: String| {
            BadInput(format!(
                "{}: key `{key}`: {problem} (fix: {fix})",
                path.display()
            ))
        };
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad("format", format!("not a leakbench baseline ({e})")))?;
        match v.get("format").and_then(|f| f.as_u64()) {
            None => return Err(bad("format", "missing: not a leakbench baseline".into())),
            Some(f) if f != u64::from(BASELINE_FORMAT) => {
                return Err(bad(
                    "format",
                    format!(
                        "baseline format {f}, but this leakbench reads format {BASELINE_FORMAT}"
                    ),
                ))
            }
            Some(_) => {}
        }
        let b: Baseline =
            serde_json::from_value(v).map_err(|e| bad("cells", format!("malformed: {e}")))?;
        for (i, c) in b.cells.iter().enumerate() {
            for (j, r) in c.reps.iter().enumerate() {
                if Outcome::parse(&r.outcome).is_none() {
                    return Err(bad(
                        &format!("cells[{i}].reps[{j}].outcome"),
                        format!("`{}` is not one of TP, FN, FP, TN, NA", r.outcome),
                    ));
                }
            }
        }
        Ok(b)
    }

    /// Reads and parses a baseline file. An unreadable file is bad input too.
    pub fn load(path: &Path) -> Result<Baseline, BadInput> {
        let text = fsio::read_to_string(path).map_err(|e| {
            BadInput(format!(
                "{e} (fix: pass a baseline written by `leakbench regress RUN_DIR --save-baseline FILE`)"
            ))
        })?;
        Baseline::parse(path, &text)
    }
}

/// When a latency change counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Significance level of the one-sided Mann-Whitney U test.
    pub alpha: f64,
    /// Minimum TP latencies per side for a latency verdict.
    pub min_reps: usize,
    /// Relative growth of the median latency that counts (0.2 = 20%).
    pub latency_rel: f64,
    /// Absolute growth of the median latency that counts, seconds.
    pub latency_abs_s: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            alpha: ALPHA,
            min_reps: MIN_REPS,
            latency_rel: LATENCY_REL,
            latency_abs_s: LATENCY_ABS_S,
        }
    }
}

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

/// How a change is judged. Only [`Verdict::Worse`] fails a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Worse,
    Better,
    /// A latency change past the tolerance that the test does not support.
    NoSupport,
    /// Neither better nor worse (e.g. more NA repetitions).
    Info,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Worse => "WORSE",
            Verdict::Better => "better",
            Verdict::NoSupport => "no statistical support",
            Verdict::Info => "changed",
        }
    }
}

/// One changed aspect of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub scenario: String,
    pub detector: String,
    pub aspect: Aspect,
    pub verdict: Verdict,
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
    /// Sorted: worse first, then better, no support, info; then scenario, detector.
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
        self.compared == 0 || self.changes.iter().any(|c| c.verdict == Verdict::Worse)
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.changes.iter().filter(|c| c.verdict == v).count()
    }
}

/// What one cell's repetitions add up to.
#[derive(Debug, Default)]
struct Tally {
    judged: usize,
    judged_leaking: usize,
    tp: usize,
    fp: usize,
    site_ok: usize,
    latencies: Vec<f64>,
}

fn tally(c: &BaselineCell) -> Tally {
    let mut t = Tally::default();
    for r in &c.reps {
        let Some(o) = Outcome::parse(&r.outcome) else {
            continue;
        };
        if o == Outcome::Na {
            continue;
        }
        t.judged += 1;
        if c.leaking {
            t.judged_leaking += 1;
        }
        match o {
            Outcome::Tp => {
                t.tp += 1;
                t.site_ok += usize::from(r.site_ok == Some(true));
                t.latencies.extend(r.latency_s);
            }
            Outcome::Fp => t.fp += 1,
            _ => {}
        }
    }
    t
}

/// `a/b` compared to `c/d` as exact fractions: `Less` when `a/b < c/d`.
fn cmp_frac(a: usize, b: usize, c: usize, d: usize) -> std::cmp::Ordering {
    (a * d).cmp(&(c * b))
}

/// Compares the current score set with the baseline (see the module doc for the rules).
pub fn compare(baseline: &Baseline, current: &Baseline, tol: &Tolerance) -> Comparison {
    let key = |c: &BaselineCell| (c.scenario.clone(), c.detector.clone());
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
                    scenario: b.scenario.clone(),
                    detector: b.detector.clone(),
                    aspect: Aspect::Judged,
                    verdict: Verdict::Worse,
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
        (a.verdict, &a.scenario, &a.detector, a.aspect).cmp(&(
            b.verdict,
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
    use std::cmp::Ordering::{Greater, Less};
    let (tb, tc) = (tally(b), tally(c));
    let mut push = |aspect, verdict, baseline: String, current: String, why: &str| {
        out.push(Change {
            scenario: b.scenario.clone(),
            detector: b.detector.clone(),
            aspect,
            verdict,
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
                Verdict::Worse
            } else {
                Verdict::Info
            },
            format!("{}/{}", tb.judged, b.reps.len()),
            format!("{}/{}", tc.judged, c.reps.len()),
            "repetitions that could be judged (the rest are NA)",
        );
    }
    if b.leaking && tb.judged_leaking > 0 && tc.judged_leaking > 0 {
        let (fig_b, fig_c) = (
            format!("{}/{} caught", tb.tp, tb.judged_leaking),
            format!("{}/{} caught", tc.tp, tc.judged_leaking),
        );
        match cmp_frac(tc.tp, tc.judged_leaking, tb.tp, tb.judged_leaking) {
            Less => push(
                Aspect::Detection,
                Verdict::Worse,
                fig_b,
                fig_c,
                "leak now missed",
            ),
            Greater => push(
                Aspect::Detection,
                Verdict::Better,
                fig_b,
                fig_c,
                "leak now caught",
            ),
            _ => {}
        }
    }
    if tb.judged > 0 && tc.judged > 0 {
        let (fig_b, fig_c) = (
            format!("{}/{} false", tb.fp, tb.judged),
            format!("{}/{} false", tc.fp, tc.judged),
        );
        let what = if b.leaking {
            "alarm before the onset"
        } else {
            "alarm on a scenario that does not leak"
        };
        match cmp_frac(tc.fp, tc.judged, tb.fp, tb.judged) {
            Greater => push(
                Aspect::FalseAlarm,
                Verdict::Worse,
                fig_b,
                fig_c,
                &format!("new false alarm ({what})"),
            ),
            Less => push(
                Aspect::FalseAlarm,
                Verdict::Better,
                fig_b,
                fig_c,
                "fewer false alarms",
            ),
            _ => {}
        }
    }
    if tb.tp > 0 && tc.tp > 0 {
        let (fig_b, fig_c) = (
            format!("{}/{} site ok", tb.site_ok, tb.tp),
            format!("{}/{} site ok", tc.site_ok, tc.tp),
        );
        match cmp_frac(tc.site_ok, tc.tp, tb.site_ok, tb.tp) {
            Less => push(
                Aspect::Localization,
                Verdict::Worse,
                fig_b,
                fig_c,
                "localization lost: blames the wrong site",
            ),
            Greater => push(
                Aspect::Localization,
                Verdict::Better,
                fig_b,
                fig_c,
                "localization gained",
            ),
            _ => {}
        }
    }
    if let Some((verdict, why)) = latency_verdict(&tb.latencies, &tc.latencies, tol) {
        let fig = |xs: &[f64]| {
            format!(
                "median {:.2} s (n={})",
                stats::median(xs).unwrap_or(f64::NAN),
                xs.len()
            )
        };
        push(
            Aspect::Latency,
            verdict,
            fig(&tb.latencies),
            fig(&tc.latencies),
            &why,
        );
    }
}

/// The latency verdict of one cell, if its median moved past the tolerance.
fn latency_verdict(base: &[f64], cur: &[f64], tol: &Tolerance) -> Option<(Verdict, String)> {
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
            Verdict::NoSupport,
            format!(
                "median {delta:+.2} s ({word}), but n={} vs {}: the test needs ≥ {} TP reps per side",
                base.len(),
                cur.len(),
                tol.min_reps
            ),
        ));
    }
    let test = if later {
        mann_whitney_greater(cur, base)?
    } else {
        mann_whitney_greater(base, cur)?
    };
    let how = if test.exact {
        "exact"
    } else {
        "normal approx."
    };
    if test.p <= tol.alpha {
        let v = if later {
            Verdict::Worse
        } else {
            Verdict::Better
        };
        Some((
            v,
            format!(
                "median {delta:+.2} s ({word}); Mann-Whitney U one-sided p = {:.3} ≤ α = {} ({how})",
                test.p, tol.alpha
            ),
        ))
    } else {
        Some((
            Verdict::NoSupport,
            format!(
                "median {delta:+.2} s ({word}), but Mann-Whitney U one-sided p = {:.3} > α = {} ({how})",
                test.p, tol.alpha
            ),
        ))
    }
}

/// A one-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// `U` of `x`: pairs with `x > y`, plus half the tied pairs.
    pub u: f64,
    /// `P(U ≥ u)` under "same distribution": small when `x` tends to be larger than `y`.
    pub p: f64,
    /// Whether `p` is the exact permutation p-value (else the normal approximation).
    pub exact: bool,
}

/// One-sided Mann-Whitney U test that `x` tends to be larger than `y`. Ties get midranks.
/// The p-value is exact (all `C(n+m, n)` relabelings of the pooled midranks, so exact with
/// ties too) when there are at most 100 000 of them, else the normal approximation with tie
/// correction `Var(U) = nm/12 · [(N+1) − Σ(t³−t)/(N(N−1))]` and continuity correction.
/// `None` if either sample is empty.
pub fn mann_whitney_greater(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    mann_whitney_greater_limit(x, y, EXACT_LIMIT)
}

fn mann_whitney_greater_limit(x: &[f64], y: &[f64], exact_limit: u64) -> Option<MannWhitney> {
    let (n, m) = (x.len(), y.len());
    if n == 0 || m == 0 {
        return None;
    }
    let big_n = n + m;
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; big_n];
    let mut ties = 0.0;
    let mut i = 0;
    while i < big_n {
        let mut j = i;
        while j + 1 < big_n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        ranks[i..=j].iter_mut().for_each(|r| *r = mid);
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let offset = (n * (n + 1)) as f64 / 2.0;
    let r_x: f64 = pooled
        .iter()
        .zip(&ranks)
        .filter(|(p, _)| p.1)
        .map(|(_, r)| r)
        .sum();
    let u = r_x - offset;
    if binomial(big_n as u64, n as u64) <= exact_limit {
        let (mut hits, mut total) = (0u64, 0u64);
        // Half a midrank step below `u` counts as `u` (rank sums are multiples of 0.5).
        let bar = u - 0.25;
        subsets(&ranks, n, 0, 0.0, &mut |sum| {
            total += 1;
            hits += u64::from(sum - offset >= bar);
        });
        return Some(MannWhitney {
            u,
            p: hits as f64 / total as f64,
            exact: true,
        });
    }
    let (nf, mf, bn) = (n as f64, m as f64, big_n as f64);
    let var = nf * mf / 12.0 * ((bn + 1.0) - ties / (bn * (bn - 1.0)));
    let p = if var <= 0.0 {
        1.0
    } else {
        stats::normal_sf((u - nf * mf / 2.0 - 0.5) / var.sqrt())
    };
    Some(MannWhitney { u, p, exact: false })
}

/// Calls `f` with the sum of every `k`-subset of `items[start..]` (plus `acc`).
fn subsets(items: &[f64], k: usize, start: usize, acc: f64, f: &mut impl FnMut(f64)) {
    if k == 0 {
        f(acc);
        return;
    }
    for i in start..=items.len() - k {
        subsets(items, k - 1, i + 1, acc + items[i], f);
    }
}

/// `C(n, k)`, saturating.
fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut c: u64 = 1;
    for i in 0..k {
        c = c.saturating_mul(n - i) / (i + 1);
    }
    c
}

/// The comparison as text: a Markdown table of every change (worse first), the cells on one
/// side only, the rules, and a verdict line (`FAIL: …` or `OK: …`).
pub fn render(cmp: &Comparison) -> String {
    let mut out = String::new();
    if !cmp.changes.is_empty() {
        let _ = writeln!(
            out,
            "| verdict | scenario | detector | what | baseline | current | why |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for c in &cmp.changes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.verdict.as_str(),
                c.scenario,
                c.detector,
                c.aspect.as_str(),
                c.baseline,
                c.current,
                c.why
            );
        }
        out.push('\n');
    }
    let list = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
        let more = v.len().saturating_sub(5);
        format!(
            "{}{}",
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )
    };
    if !cmp.only_baseline.is_empty() {
        let _ = writeln!(
            out,
            "not in this run ({} cells, not compared): {}",
            cmp.only_baseline.len(),
            list(&cmp.only_baseline)
        );
    }
    if !cmp.only_current.is_empty() {
        let _ = writeln!(
            out,
            "not in the baseline ({} cells, not compared): {}",
            cmp.only_current.len(),
            list(&cmp.only_current)
        );
    }
    let t = &cmp.tolerance;
    let changed: std::collections::BTreeSet<(&str, &str)> = cmp
        .changes
        .iter()
        .map(|c| (c.scenario.as_str(), c.detector.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "compared {} scenario × detector cells: {} worse, {} better, {} without statistical support, {} other changes, {} cells unchanged",
        cmp.compared,
        cmp.count(Verdict::Worse),
        cmp.count(Verdict::Better),
        cmp.count(Verdict::NoSupport),
        cmp.count(Verdict::Info),
        cmp.compared - changed.len()
    );
    let _ = writeln!(
        out,
        "latency rule: worse only if the median TP latency grew by > {:.0}% and > {} s, with a one-sided Mann-Whitney U p ≤ {} on ≥ {} TP reps per side",
        t.latency_rel * 100.0,
        t.latency_abs_s,
        t.alpha,
        t.min_reps
    );
    if cmp.compared == 0 {
        let _ = writeln!(
            out,
            "FAIL: no scenario × detector of the baseline is in this run; nothing was compared"
        );
    } else if cmp.regressed() {
        let _ = writeln!(
            out,
            "FAIL: {} changes are worse than the baseline",
            cmp.count(Verdict::Worse)
        );
    } else {
        let _ = writeln!(out, "OK: nothing is worse than the baseline");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mann_whitney_exact_on_hand_computed_cases() {
        // Complete separation, 3 vs 3: only 1 of C(6,3) = 20 relabelings has U = 9.
        let t = mann_whitney_greater(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((t.u, t.exact), (9.0, true));
        assert!(close(t.p, 0.05, 1e-12), "{t:?}");
        // The other direction: every relabeling has U ≥ 0.
        let r = mann_whitney_greater(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!((r.u, r.p), (0.0, 1.0));
        // Ties: x = {2, 3}, y = {1, 2}; midranks 1, 2.5, 2.5, 4; U = 6.5 − 3 = 3.5.
        // The 6 relabelings give U = 0.5, 0.5, 2, 2, 3.5, 3.5: P(U ≥ 3.5) = 1/3.
        let t = mann_whitney_greater(&[2.0, 3.0], &[1.0, 2.0]).unwrap();
        assert_eq!(t.u, 3.5);
        assert!(close(t.p, 1.0 / 3.0, 1e-12), "{t:?}");
        // All tied: no evidence either way.
        assert_eq!(mann_whitney_greater(&[1.0; 3], &[1.0; 3]).unwrap().p, 1.0);
        assert_eq!(mann_whitney_greater(&[], &[1.0]), None);
    }

    #[test]
    fn mann_whitney_normal_approximation() {
        // 10 vs 10 (C(20,10) = 184 756 > limit): U = 100, mean 50, Var = 100·21/12 = 175,
        // z = (100 − 50 − 0.5)/√175 = 3.7418, P(Z ≥ z) = 9.13e-5.
        let x: Vec<f64> = (11..=20).map(f64::from).collect();
        let y: Vec<f64> = (1..=10).map(f64::from).collect();
        let t = mann_whitney_greater(&x, &y).unwrap();
        assert!(!t.exact && t.u == 100.0);
        assert!(close(t.p, 9.13e-5, 2e-6), "{t:?}");
        // On 8 vs 8 with ties the approximation is within 0.01 of the exact value.
        let x = [3.0, 4.0, 4.0, 5.0, 6.0, 7.0, 7.0, 9.0];
        let y = [1.0, 2.0, 4.0, 4.0, 5.0, 5.0, 6.0, 8.0];
        let exact = mann_whitney_greater(&x, &y).unwrap();
        let approx = mann_whitney_greater_limit(&x, &y, 0).unwrap();
        assert!(exact.exact && !approx.exact);
        assert!(close(exact.p, approx.p, 0.01), "{exact:?} {approx:?}");
        assert_eq!(binomial(6, 3), 20);
        assert_eq!(binomial(20, 10), 184_756);
    }

    fn rep(rep: u32, outcome: &str, latency: Option<f64>, site_ok: Option<bool>) -> RepResult {
        RepResult {
            rep,
            outcome: outcome.into(),
            latency_s: latency,
            site_ok,
        }
    }

    fn cell(scenario: &str, detector: &str, leaking: bool, reps: Vec<RepResult>) -> BaselineCell {
        BaselineCell {
            scenario: scenario.into(),
            detector: detector.into(),
            leaking,
            reps,
        }
    }

    fn set(cells: Vec<BaselineCell>) -> Baseline {
        Baseline {
            format: BASELINE_FORMAT,
            harness_version: "test".into(),
            detectors: vec!["d".into()],
            cells,
        }
    }

    fn tps(lat: [f64; 3], site: bool) -> Vec<RepResult> {
        (0..3)
            .map(|i| rep(i, "TP", Some(lat[i as usize]), Some(site)))
            .collect()
    }

    #[test]
    fn identical_sets_pass_and_each_aspect_can_fail() {
        let base = set(vec![
            cell("leak", "d", true, tps([2.0, 2.5, 3.0], true)),
            cell(
                "twin",
                "d",
                false,
                (0..3).map(|i| rep(i, "TN", None, None)).collect(),
            ),
        ]);
        let tol = Tolerance::default();
        let same = compare(&base, &base, &tol);
        assert!(!same.regressed() && same.changes.is_empty(), "{same:?}");
        assert_eq!(same.compared, 2);
        assert!(render(&same).contains("OK: nothing is worse"));

        let mut missed = base.clone();
        missed.cells[0].reps[1] = rep(1, "FN", None, None);
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
        assert!(!back.regressed() && back.count(Verdict::Better) == 1);

        let mut fa = base.clone();
        fa.cells[1].reps[2] = rep(2, "FP", None, None);
        let c = compare(&base, &fa, &tol);
        assert!(c.regressed());
        assert_eq!(c.changes[0].aspect, Aspect::FalseAlarm);
        assert!(c.changes[0].why.contains("new false alarm"), "{c:?}");

        let mut lost = base.clone();
        lost.cells[0].reps[0].site_ok = Some(false);
        let c = compare(&base, &lost, &tol);
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].verdict),
            (Aspect::Localization, Verdict::Worse)
        );

        let mut slow = base.clone();
        slow.cells[0].reps = tps([6.0, 6.5, 7.0], true);
        let c = compare(&base, &slow, &tol);
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].verdict),
            (Aspect::Latency, Verdict::Worse),
            "{c:?}"
        );
        assert!(
            render(&c).contains("FAIL: 1 changes are worse"),
            "{}",
            render(&c)
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
                .map(|(i, l)| rep(i as u32, "TP", Some(*l), Some(true)))
                .collect();
            compare(&base, &set(vec![cell("leak", "d", true, reps)]), &tol)
        };
        // Separated but within 1 s: not a change.
        assert!(with(vec![3.1, 3.2, 3.3]).changes.is_empty());
        // Median +4 s but overlapping (p = 0.35 > 0.05): no support, no failure.
        let c = with(vec![1.0, 6.5, 7.0]);
        assert!(!c.regressed());
        assert_eq!(c.changes[0].verdict, Verdict::NoSupport, "{c:?}");
        // Too few reps: no support, and it says how many are needed.
        let c = with(vec![9.0]);
        assert_eq!(c.changes[0].verdict, Verdict::NoSupport);
        assert!(
            c.changes[0].why.contains("≥ 3 TP reps"),
            "{}",
            c.changes[0].why
        );
        // Faster with support: better.
        let base_slow = set(vec![cell("leak", "d", true, tps([8.0, 9.0, 10.0], true))]);
        let c = compare(&base_slow, &base, &tol);
        assert_eq!(c.changes[0].verdict, Verdict::Better, "{c:?}");
    }

    #[test]
    fn na_reps_and_one_sided_cells_are_reported_not_failed() {
        let base = set(vec![
            cell("leak", "d", true, tps([2.0, 2.5, 3.0], true)),
            cell("other", "d", true, tps([2.0, 2.5, 3.0], true)),
        ]);
        let mut na = base.clone();
        na.cells[0].reps[2] = rep(2, "NA", None, None);
        let c = compare(&base, &na, &Tolerance::default());
        assert!(!c.regressed());
        assert_eq!(c.changes[0].aspect, Aspect::Judged);
        // A whole scenario missing (a partial run, e.g. one shard) is reported, not failed.
        let shard = set(vec![base.cells[0].clone()]);
        let c = compare(&base, &shard, &Tolerance::default());
        assert!(!c.regressed(), "{c:?}");
        assert_eq!((c.compared, c.only_baseline.len()), (1, 1));
        assert!(render(&c).contains("not in this run (1 cells, not compared): other/d"));
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
        assert!(
            render(&c).contains("FAIL: no scenario × detector"),
            "{}",
            render(&c)
        );
        let mut all_na = base.clone();
        for r in &mut all_na.cells[0].reps {
            r.outcome = "NA".into();
        }
        let c = compare(&base, &all_na, &Tolerance::default());
        assert!(c.regressed(), "{c:?}");
        assert_eq!(
            (c.changes[0].aspect, c.changes[0].verdict),
            (Aspect::Judged, Verdict::Worse)
        );
    }

    #[test]
    fn baseline_round_trips_and_bad_files_are_one_line_errors() {
        let b = set(vec![cell("leak", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let p = Path::new("baselines/x.json");
        let text = String::from_utf8(b.to_bytes()).unwrap();
        assert_eq!(Baseline::parse(p, &text).unwrap(), b);
        let old = text.replace("\"format\": 1", "\"format\": 0");
        let e = Baseline::parse(p, &old).unwrap_err().to_string();
        assert!(
            e.contains("baselines/x.json")
                && e.contains("`format`")
                && e.contains("--save-baseline baselines/x.json")
                && !e.contains('\n'),
            "{e}"
        );
        let e = Baseline::parse(p, "{}").unwrap_err().to_string();
        assert!(e.contains("`format`: missing"), "{e}");
        let e = Baseline::parse(p, &text.replace("\"TP\"", "\"XX\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cells[0].reps[0].outcome"), "{e}");
        let e = Baseline::load(Path::new("/nonexistent/b.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/b.json") && e.contains("--save-baseline"),
            "{e}"
        );
    }

    #[test]
    fn from_rows_groups_by_cell_and_rounds_latency() {
        let leak = crate::evaluate::score::tests::trace(true, Some(5.0));
        let a = crate::evaluate::score::tests::alarm(7.25049, None, Some("main.f"));
        let mut rows = vec![
            crate::evaluate::score::score_row(&leak, "z", None, None),
            crate::evaluate::score::score_row(&leak, "a", Some(&a), None),
        ];
        rows[0].rep = 1;
        let b = Baseline::from_rows(&rows, "0.1.0");
        assert_eq!(b.detectors, vec!["a", "z"]);
        assert_eq!(b.cells.len(), 2);
        assert_eq!(b.cells[0].reps[0].latency_s, Some(2.25));
        assert_eq!(b.cells[1].reps[0].outcome, "FN");
    }
}
