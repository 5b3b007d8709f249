//! [`Table`]: a header, a per-column alignment and rows of text cells, written as a
//! GitHub-flavoured Markdown table. The one table writer of the crate: `summary.md`
//! ([`crate::present::export`]), the regression table ([`crate::evaluate::regress`]),
//! `overhead.md` ([`crate::overhead`]) and the report's tables ([`crate::present::report`],
//! which also draws them as HTML from the same fields).
//!
//! [`Table::text`] writes the same table as aligned plain text for terminals (the results
//! table `run`, `run-all`, `replay` and `compare` print).
//!
//! Owns the Markdown and plain-text table syntax only; the cells arrive formatted (numbers, units, `–`).
//! Must not know what the columns mean.

use std::fmt::Write;

/// A table of text cells. Rows may be shorter or longer than the header; they are written as
/// they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub head: Vec<String>,
    /// Per column: right-aligned (numbers). A column without an entry is left-aligned.
    pub right: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names, every column left-aligned, no rows yet.
    pub fn new<S: Into<String>>(head: impl IntoIterator<Item = S>) -> Table {
        Table {
            head: head.into_iter().map(Into::into).collect(),
            right: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Sets which columns are right-aligned.
    pub fn right_aligned(mut self, right: &[bool]) -> Table {
        self.right = right.to_vec();
        self
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn is_right(&self, column: usize) -> bool {
        self.right.get(column) == Some(&true)
    }

    /// The Markdown lines, each ending in a newline: `| a | b |`, the rule `|---|---:|`, the
    /// rows. A `|` inside a cell is escaped so it cannot split the cell.
    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let mut out = line(&self.head);
        let rule: Vec<&str> = (0..self.head.len())
            .map(|i| if self.is_right(i) { "---:" } else { "---" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }

    /// The same table as plain text for a terminal: columns padded to their widest cell
    /// (counted in characters), numbers right-aligned, two spaces between columns, a rule of
    /// `─` under the header. Trailing spaces are trimmed.
    pub fn text(&self) -> String {
        let cols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.head.len()])
            .max()
            .unwrap_or(0);
        let mut width = vec![0usize; cols];
        for r in self.rows.iter().chain([&self.head]) {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = (0..cols)
                .map(|i| {
                    let c = cells.get(i).map_or("", String::as_str);
                    let pad = " ".repeat(width[i] - c.chars().count());
                    if self.is_right(i) {
                        format!("{pad}{c}")
                    } else {
                        format!("{c}{pad}")
                    }
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(&self.head);
        let total = width.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        out.push_str(&"─".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_aligns_escapes_and_keeps_empty_cells() {
        let mut t = Table::new(["name", "n", "note"]).right_aligned(&[false, true]);
        t.push(vec!["a|b".into(), "1".into(), String::new()]);
        t.push(vec!["c".into(), "22".into(), "ok".into()]);
        assert_eq!(
            t.markdown(),
            "| name | n | note |\n|---|---:|---|\n| a\\|b | 1 |  |\n| c | 22 | ok |\n"
        );
        assert_eq!(Table::new(["x"]).markdown(), "| x |\n|---|\n");
    }

    #[test]
    fn text_pads_columns_and_right_aligns_numbers() {
        let mut t = Table::new(["detector", "recall"]).right_aligned(&[false, true]);
        t.push(vec!["cusum".into(), "100%".into()]);
        t.push(vec!["goroutineleak".into(), "5%".into()]);
        assert_eq!(
            t.text(),
            "detector       recall\n─────────────────────\ncusum            100%\ngoroutineleak      5%\n"
        );
    }
}
