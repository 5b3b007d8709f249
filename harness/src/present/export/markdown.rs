//! `summary.md`: the [`Summary`] as two Markdown tables, per detector and per detector ×
//! class ([`crate::table::Table`]). Rates with 2 decimals, seconds with 2, ratios with 1; not
//! applicable is `–`.

use crate::evaluate::score::{Aggregate, Summary};
use crate::table::Table;
use std::fmt::Write;

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}"))
        .unwrap_or_else(|| "–".to_string())
}

/// The aggregate columns, after the key columns (detector, and class).
const COLUMNS: [&str; 13] = [
    "TP",
    "FN",
    "FP",
    "TN",
    "NA",
    "precision",
    "recall",
    "FA rate",
    "median latency (s)",
    "p90 latency (s)",
    "latency/oracle",
    "class ok",
    "site ok",
];

/// A table keyed by `keys` (left-aligned) with the aggregate columns (right-aligned).
fn table(keys: &[&str]) -> Table {
    let right: Vec<bool> = keys
        .iter()
        .map(|_| false)
        .chain(COLUMNS.iter().map(|_| true))
        .collect();
    Table::new(keys.iter().chain(&COLUMNS).copied()).right_aligned(&right)
}

/// `keys` then the aggregate's cells.
fn row(keys: Vec<String>, a: &Aggregate) -> Vec<String> {
    let counts = [a.tp, a.fn_, a.fp, a.tn, a.na].map(|n| n.to_string());
    keys.into_iter()
        .chain(counts)
        .chain([
            cell(a.precision, 2),
            cell(a.recall, 2),
            cell(a.false_alarm_rate, 2),
            cell(a.latency_median_s, 2),
            cell(a.latency_p90_s, 2),
            cell(a.latency_over_oracle_median, 1),
            cell(a.class_ok_rate, 2),
            cell(a.site_ok_rate, 2),
        ])
        .collect()
}

pub fn summary(s: &Summary) -> Vec<u8> {
    let mut out = String::new();
    let _ = writeln!(out, "# leakbench summary\n");
    let _ = writeln!(
        out,
        "{} rows ({} NA). Precision TP/(TP+FP); recall TP over judged leaking runs; FA rate: alarms on \
         non-leaking runs; latency: first alarm − measured onset, over TPs; latency/oracle: median \
         ratio to the oracle bound; class/site ok: fractions of TPs.\n",
        s.rows, s.na
    );
    let _ = writeln!(out, "## Per detector\n");
    let mut t = table(&["detector"]);
    for a in &s.by_detector {
        t.push(row(vec![a.detector.clone()], a));
    }
    out.push_str(&t.markdown());
    let _ = writeln!(out, "\n## Per detector and class\n");
    let mut t = table(&["detector", "class"]);
    for a in &s.by_detector_class {
        let class = a
            .class
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "all".into());
        t.push(row(vec![a.detector.clone(), class], a));
    }
    out.push_str(&t.markdown());
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score::tests::{alarm, trace};
    use crate::evaluate::score::{score_row, summarize};

    #[test]
    fn snapshot_of_one_detector() {
        let leak = trace(true, Some(5.0));
        let rows = vec![
            score_row(
                &leak,
                "d",
                Some(&alarm(6.0, None, Some("main.f"))),
                Some(0.5),
            ),
            score_row(&leak, "d", None, None),
        ];
        let text = String::from_utf8(summary(&summarize(&rows))).unwrap();
        assert!(
            text.contains(
                "| d | 1 | 1 | 0 | 0 | 0 | 1.00 | 0.50 | – | 1.00 | 1.00 | 2.0 | 0.00 | 1.00 |"
            ),
            "{text}"
        );
        assert!(text.contains("| d | map | 1 | 1 |"), "{text}");
    }
}
