//! `leakbench compare RUN_A RUN_B`: two scored runs side by side, in benchstat's manner.
//!
//! Every scenario × detector cell present in either run gets a row in each of three tables:
//! leaks caught (leaking scenarios), false alarms (every scenario) and median latency (TPs).
//! The last column says how B differs from A ("vs A"): a change only when a test supports it
//! at `alpha` — Fisher's exact test on the counts, a two-sided Mann-Whitney U on the TP
//! latencies — and `~` otherwise, with the p-value and the sample sizes, as benchstat prints
//! `~ (p=0.400 n=3)`. With few repetitions no p-value can reach a small `alpha` (3 against 3
//! gives at least p = 0.1 for either test); the output then says so instead of implying
//! nothing changed.
//!
//! Reads the two runs' `scores.csv` (cells from [`Baseline::from_rows`], the same pooling the
//! regression gate uses). Owns the comparison's layout; the tests are [`crate::stats`]'s.
//! Must not re-score traces: two recordings are compared as they were scored.

use crate::evaluate::regress::{Baseline, BaselineCell};
use crate::evaluate::score::{Outcome, ScoreRow};
use crate::present::report::load::parse_scores;
use crate::stats;
use crate::table::Table;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Significance level of both tests unless the caller picks another.
pub const ALPHA: f64 = 0.05;

/// The comparison of two runs, ready to print.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub caught: Table,
    pub false_alarms: Table,
    pub latency: Table,
    /// Cells where a test supports a difference at `alpha`.
    pub changed: usize,
    /// Cells compared (present in both runs).
    pub compared: usize,
    /// Cells present in only one run.
    pub one_sided: usize,
    /// The smallest p-value any cell could reach with these repetition counts, when it is
    /// above `alpha` (then no cell can be called changed).
    pub underpowered: Option<f64>,
}

/// Reads `DIR/scores.csv`; a run that was not scored is bad input naming the fix.
pub fn load_scores(dir: &Path) -> anyhow::Result<Vec<ScoreRow>> {
    let p = crate::run_dir::RunDir::new(dir).scores_csv();
    let text = std::fs::read_to_string(&p).map_err(|e| {
        crate::bad_input::BadInput(format!(
            "{}: cannot read ({e}) (fix: pass a scored run directory; score one with `leakbench replay DIR`)",
            p.display()
        ))
    })?;
    parse_scores(&p, &text)
}

/// Compares the scores of `a` (the base) and `b`.
pub fn compare_dirs(a: &Path, b: &Path, alpha: f64) -> anyhow::Result<Comparison> {
    Ok(compare(&load_scores(a)?, &load_scores(b)?, alpha))
}

struct Counts {
    hits: u64,
    n: u64,
}

/// Of a cell's judged repetitions (NA left out), how many ended `outcome`.
fn count(c: &BaselineCell, outcome: Outcome) -> Counts {
    let judged = c.reps.iter().filter(|r| r.outcome != Outcome::Na);
    Counts {
        hits: judged.clone().filter(|r| r.outcome == outcome).count() as u64,
        n: judged.count() as u64,
    }
}

fn latencies(c: &BaselineCell) -> Vec<f64> {
    c.reps.iter().filter_map(|r| r.latency_s).collect()
}

fn frac(c: &Counts) -> String {
    if c.n == 0 {
        "–".into()
    } else {
        format!("{}/{}", c.hits, c.n)
    }
}

/// The smallest two-sided Fisher p-value for samples of `n` and `m`: all hits on one side.
fn fisher_floor(n: u64, m: u64) -> f64 {
    stats::fisher_exact(n, 0, 0, m).min(stats::fisher_exact(0, n, m, 0))
}

/// Compares two score sets cell by cell. `a` is the base.
pub fn compare(a: &[ScoreRow], b: &[ScoreRow], alpha: f64) -> Comparison {
    let cells = |rows: &[ScoreRow]| -> BTreeMap<(String, String), BaselineCell> {
        Baseline::from_rows(rows, "")
            .cells
            .into_iter()
            .map(|c| ((c.label(), c.detector.clone()), c))
            .collect()
    };
    let (ca, cb) = (cells(a), cells(b));
    let keys: std::collections::BTreeSet<&(String, String)> = ca.keys().chain(cb.keys()).collect();
    let head = |what: &str| {
        Table::new([
            "scenario",
            "detector",
            &format!("A {what}"),
            &format!("B {what}"),
            "vs A",
        ])
        .right_aligned(&[false, false, true, true, false])
    };
    let mut out = Comparison {
        caught: head("caught"),
        false_alarms: head("false alarms"),
        latency: head("latency p50"),
        changed: 0,
        compared: 0,
        one_sided: 0,
        underpowered: None,
    };
    let mut floor = f64::INFINITY;
    for key in keys {
        let (scenario, detector) = key;
        let (Some(x), Some(y)) = (ca.get(key), cb.get(key)) else {
            out.one_sided += 1;
            let (side, c) = match ca.get(key) {
                Some(c) => ("A only", c),
                None => ("B only", &cb[key]),
            };
            let t = if c.leaking {
                &mut out.caught
            } else {
                &mut out.false_alarms
            };
            t.push(vec![
                scenario.clone(),
                detector.clone(),
                String::new(),
                String::new(),
                side.into(),
            ]);
            continue;
        };
        out.compared += 1;
        let mut changed = false;
        let mut count_row = |t: &mut Table, ka: Counts, kb: Counts, changed: &mut bool| {
            if ka.n == 0 || kb.n == 0 {
                t.push(vec![
                    scenario.clone(),
                    detector.clone(),
                    frac(&ka),
                    frac(&kb),
                    "–".into(),
                ]);
                return;
            }
            floor = floor.min(fisher_floor(ka.n, kb.n));
            let p = stats::fisher_exact(ka.hits, ka.n - ka.hits, kb.hits, kb.n - kb.hits);
            let rate = |c: &Counts| c.hits as f64 / c.n as f64;
            let vs = if p <= alpha {
                *changed = true;
                format!("{:+.0} pts (p={p:.3})", 100.0 * (rate(&kb) - rate(&ka)))
            } else {
                format!("~ (p={p:.3} n={}+{})", ka.n, kb.n)
            };
            t.push(vec![
                scenario.clone(),
                detector.clone(),
                frac(&ka),
                frac(&kb),
                vs,
            ]);
        };
        if x.leaking {
            count_row(
                &mut out.caught,
                count(x, Outcome::Tp),
                count(y, Outcome::Tp),
                &mut changed,
            );
        }
        count_row(
            &mut out.false_alarms,
            count(x, Outcome::Fp),
            count(y, Outcome::Fp),
            &mut changed,
        );
        let (la, lb) = (latencies(x), latencies(y));
        if !la.is_empty() || !lb.is_empty() {
            let med = |v: &[f64]| stats::median(v).map_or("–".into(), |m| format!("{m:.2} s"));
            let vs = match stats::mann_whitney_two_sided(&la, &lb) {
                None => "–".into(),
                Some(p) => {
                    floor = floor.min(
                        stats::mann_whitney_two_sided(&vec![0.0; la.len()], &vec![1.0; lb.len()])
                            .unwrap_or(1.0),
                    );
                    let (ma, mb) = (stats::median(&la).unwrap(), stats::median(&lb).unwrap());
                    if p <= alpha {
                        changed = true;
                        // A relative change from a zero median is undefined: say it in seconds.
                        let delta = if ma > 0.0 {
                            format!("{:+.1}%", 100.0 * (mb / ma - 1.0))
                        } else {
                            format!("{:+.2} s", mb - ma)
                        };
                        format!("{delta} (p={p:.3} n={}+{})", la.len(), lb.len())
                    } else {
                        format!("~ (p={p:.3} n={}+{})", la.len(), lb.len())
                    }
                }
            };
            out.latency.push(vec![
                scenario.clone(),
                detector.clone(),
                med(&la),
                med(&lb),
                vs,
            ]);
        }
        out.changed += usize::from(changed);
    }
    if floor.is_finite() && floor > alpha {
        out.underpowered = Some(floor);
    }
    out
}

/// The three tables as text (plain for a terminal, or Markdown), with a closing line.
pub fn render(c: &Comparison, a: &Path, b: &Path, alpha: f64, markdown: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "A: {}\nB: {}\n", a.display(), b.display());
    for (title, t) in [
        (
            "leaks caught (leaking scenarios; judged repetitions)",
            &c.caught,
        ),
        ("false alarms (judged repetitions)", &c.false_alarms),
        ("median latency after onset (TP repetitions)", &c.latency),
    ] {
        let _ = writeln!(s, "{title}");
        s.push_str(&if markdown { t.markdown() } else { t.text() });
        s.push('\n');
    }
    let _ = write!(
        s,
        "{} of {} cells differ at α = {alpha} (Fisher's exact test on counts, two-sided Mann-Whitney U on latencies; each cell tested on its own, no correction for the number of cells); `~`: no significant difference",
        c.changed, c.compared
    );
    if c.one_sided > 0 {
        let _ = write!(s, "; {} cells in one run only", c.one_sided);
    }
    s.push('\n');
    if let Some(p) = c.underpowered {
        let _ = writeln!(
            s,
            "note: with these repetition counts no test can reach p ≤ {alpha} (the smallest possible p is {p:.3}): `~` here means \"not enough repetitions to tell\"; record more with --reps"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::{registry, Params};
    use crate::evaluate::replay::score_traces;

    fn replay_rows() -> Vec<ScoreRow> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/replay/run");
        let traces = crate::trace::load_run(&dir).unwrap();
        score_traces(&traces, registry(), &Params::default())
    }

    /// Repeats every row `k` times as further repetitions, so the tests have power.
    fn widened(rows: &[ScoreRow], k: u32) -> Vec<ScoreRow> {
        let mut out = Vec::new();
        for i in 0..k {
            for r in rows {
                let mut r = r.clone();
                r.rep += 100 * i;
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn the_same_scores_are_all_unchanged() {
        let rows = widened(&replay_rows(), 4);
        let c = compare(&rows, &rows, ALPHA);
        assert_eq!(c.changed, 0);
        assert!(c.compared > 0);
        for t in [&c.caught, &c.false_alarms, &c.latency] {
            for r in &t.rows {
                assert!(r[4].starts_with('~') || r[4] == "–", "{r:?}");
            }
        }
        assert!(c.underpowered.is_none());
    }

    #[test]
    fn a_leak_no_longer_caught_is_flagged_and_others_stay_unchanged() {
        let a = widened(&replay_rows(), 4);
        // A cell whose every repetition caught its leak.
        let target = a
            .iter()
            .filter(|r| r.outcome == Outcome::Tp)
            .map(|r| (r.scenario.clone(), r.detector.clone()))
            .find(|(s, d)| {
                a.iter()
                    .filter(|r| &r.scenario == s && &r.detector == d)
                    .all(|r| r.outcome == Outcome::Tp)
            })
            .expect("the replay run has a leak caught in every repetition");
        let b: Vec<ScoreRow> = a
            .iter()
            .cloned()
            .map(|mut r| {
                if (r.scenario.clone(), r.detector.clone()) == target {
                    r.outcome = Outcome::Fn;
                    r.latency_s = None;
                    r.alarm_s = None;
                }
                r
            })
            .collect();
        let c = compare(&a, &b, ALPHA);
        assert_eq!(c.changed, 1, "{}", c.caught.text());
        let row = c
            .caught
            .rows
            .iter()
            .find(|r| r[0] == target.0 && r[1] == target.1)
            .unwrap();
        assert!(row[4].starts_with("-100 pts"), "{row:?}");
        let other = c.caught.rows.iter().find(|r| r[0] != target.0).unwrap();
        assert!(other[4].starts_with('~') || other[4] == "–", "{other:?}");
    }

    #[test]
    fn three_repetitions_cannot_reach_five_percent_and_it_says_so() {
        let rows = replay_rows();
        let c = compare(&rows, &rows, ALPHA);
        let text = render(&c, Path::new("a"), Path::new("b"), ALPHA, false);
        assert!(c.underpowered.is_some(), "{text}");
        assert!(text.contains("not enough repetitions to tell"), "{text}");
    }
}
