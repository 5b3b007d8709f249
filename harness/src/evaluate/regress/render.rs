//! The comparison as text ([`render`]): a Markdown table of every change (worse first), the
//! cells on one side only, the rules, and a verdict line (`FAIL: …` or `OK: …`).
//!
//! Owns the wording and layout only; the table is a [`crate::table::Table`]. Must not judge
//! anything (that is [`super::compare()`]).

use super::{Comparison, Direction};
use crate::table::Table;
use std::collections::BTreeSet;
use std::fmt::Write;

/// How many cells a "not in this run" line names before it says "and N more".
const LISTED: usize = 5;

/// The comparison as text, every line ending in a newline.
pub fn render(cmp: &Comparison) -> String {
    let mut out = String::new();
    if !cmp.changes.is_empty() {
        let mut t = Table::new([
            "verdict", "scenario", "detector", "what", "baseline", "current", "why",
        ]);
        for c in &cmp.changes {
            t.push(vec![
                c.direction.to_string(),
                c.scenario.clone(),
                c.detector.clone(),
                c.aspect.to_string(),
                c.baseline.clone(),
                c.current.clone(),
                c.why.clone(),
            ]);
        }
        out.push_str(&t.markdown());
        out.push('\n');
    }
    let list = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(LISTED).map(String::as_str).collect();
        match v.len().saturating_sub(LISTED) {
            0 => shown.join(", "),
            more => format!("{}, and {more} more", shown.join(", ")),
        }
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
    let changed: BTreeSet<(&str, &str)> = cmp
        .changes
        .iter()
        .map(|c| (c.scenario.as_str(), c.detector.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "compared {} scenario × detector cells: {} worse, {} better, {} without statistical support, {} other changes, {} cells unchanged",
        cmp.compared,
        cmp.count(Direction::Worse),
        cmp.count(Direction::Better),
        cmp.count(Direction::Unsupported),
        cmp.count(Direction::Neutral),
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
            cmp.count(Direction::Worse)
        );
    } else {
        let _ = writeln!(out, "OK: nothing is worse than the baseline");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::regress::compare::tests::{cell, leak_and_twin, set, tps};
    use crate::evaluate::regress::{compare, Tolerance};

    #[test]
    fn unchanged_is_ok_and_a_worse_change_is_a_table_row_and_a_fail_line() {
        let base = leak_and_twin();
        let tol = Tolerance::default();
        assert!(render(&compare(&base, &base, &tol)).ends_with(
            "compared 2 scenario × detector cells: 0 worse, 0 better, 0 without statistical support, 0 other changes, 2 cells unchanged\n\
             latency rule: worse only if the median TP latency grew by > 20% and > 1 s, with a one-sided Mann-Whitney U p ≤ 0.05 on ≥ 3 TP reps per side\n\
             OK: nothing is worse than the baseline\n"
        ));
        let mut slow = base.clone();
        slow.cells[0].reps = tps([6.0, 6.5, 7.0], true);
        let text = render(&compare(&base, &slow, &tol));
        assert!(
            text.starts_with(
                "| verdict | scenario | detector | what | baseline | current | why |\n\
                 |---|---|---|---|---|---|---|\n\
                 | WORSE | leak | d | latency | median 2.50 s (n=3) | median 6.50 s (n=3) | median +4.00 s (later); Mann-Whitney U one-sided p = 0.050 ≤ α = 0.05 (exact) |\n\
                 \n\
                 compared 2 scenario × detector cells: 1 worse, 0 better, 0 without statistical support, 0 other changes, 1 cells unchanged\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("FAIL: 1 changes are worse than the baseline\n"),
            "{text}"
        );
    }

    #[test]
    fn one_sided_cells_are_listed_and_nothing_compared_fails() {
        let base = set(["a", "b", "c", "d", "e", "f", "g"]
            .map(|s| cell(s, "d", true, tps([2.0, 2.5, 3.0], true)))
            .to_vec());
        let shard = set(vec![base.cells[0].clone()]);
        let text = render(&compare(&base, &shard, &Tolerance::default()));
        assert!(
            text.contains(
                "not in this run (6 cells, not compared): b/d, c/d, d/d, e/d, f/d, and 1 more\n"
            ),
            "{text}"
        );
        let text = render(&compare(&shard, &base, &Tolerance::default()));
        assert!(
            text.contains("not in the baseline (6 cells, not compared): b/d,"),
            "{text}"
        );
        let elsewhere = set(vec![cell("x", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let text = render(&compare(&shard, &elsewhere, &Tolerance::default()));
        assert!(
            text.contains("FAIL: no scenario × detector of the baseline is in this run"),
            "{text}"
        );
    }
}
