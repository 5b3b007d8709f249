//! A small document model (headings, paragraphs, tables, charts) rendered to Markdown and to
//! a self-contained HTML page, so the two reports say the same thing.
//!
//! Inline text is plain, with `backticks` for code and `**` for bold; both renderers
//! understand only that.

pub use crate::table::Table;
use std::fmt::Write;

/// One block of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Level 1..=3.
    Heading(u8, String),
    Para(String),
    /// A bullet list.
    List(Vec<String>),
    /// Written by the crate's one table writer, [`crate::table`].
    Table(Table),
    /// A chart by file stem under `plots/` (`plots/STEM.svg`, `plots/STEM.png`).
    Chart {
        stem: String,
        alt: String,
    },
}

/// The report: blocks in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    pub fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }
    pub fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }
    pub fn list(&mut self, items: Vec<String>) {
        self.blocks.push(Block::List(items));
    }
    pub fn table(&mut self, head: &[&str], right: &[bool], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table(Table {
            head: head.iter().map(|s| s.to_string()).collect(),
            right: right.to_vec(),
            rows,
        }));
    }
    pub fn chart(&mut self, stem: impl Into<String>, alt: impl Into<String>) {
        self.blocks.push(Block::Chart {
            stem: stem.into(),
            alt: alt.into(),
        });
    }

    /// GitHub-flavoured Markdown; charts as PNG images (they render everywhere).
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for b in &self.blocks {
            out.push('\n');
            match b {
                Block::Heading(l, t) => {
                    let _ = writeln!(out, "{} {}", "#".repeat(*l as usize + 1), t);
                }
                Block::Para(t) => {
                    let _ = writeln!(out, "{t}");
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(out, "- {i}");
                    }
                }
                Block::Table(t) => out.push_str(&t.markdown()),
                Block::Chart { stem, alt } => {
                    let _ = writeln!(out, "![{alt}](plots/{stem}.png)");
                }
            }
        }
        out
    }

    /// One HTML page; `svg(stem)` returns a chart's SVG to inline (or `None` to link the PNG).
    pub fn html(&self, svg: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&self.title),
            CSS,
            esc(&self.title)
        );
        for b in &self.blocks {
            match b {
                Block::Heading(l, t) => {
                    let l = l + 1;
                    let _ = writeln!(out, "<h{l} id=\"{}\">{}</h{l}>", slug(t), inline(t));
                }
                Block::Para(t) => {
                    let _ = writeln!(out, "<p>{}</p>", inline(t));
                }
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for i in items {
                        let _ = writeln!(out, "<li>{}</li>", inline(i));
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table(t) => {
                    out.push_str("<table>\n<thead><tr>");
                    for h in &t.head {
                        let _ = write!(out, "<th>{}</th>", inline(h));
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for r in &t.rows {
                        out.push_str("<tr>");
                        for (i, c) in r.iter().enumerate() {
                            let cls = if t.is_right(i) { " class=\"num\"" } else { "" };
                            let _ = write!(out, "<td{cls}>{}</td>", inline(c));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
                Block::Chart { stem, alt } => {
                    out.push_str("<figure>\n");
                    match svg(stem) {
                        Some(s) => {
                            // plotters writes an XML-less <svg> element: inline as is.
                            out.push_str(&s);
                            out.push('\n');
                        }
                        None => {
                            let _ = writeln!(
                                out,
                                "<img src=\"plots/{stem}.png\" alt=\"{}\">",
                                esc(alt)
                            );
                        }
                    }
                    let _ = writeln!(out, "<figcaption>{}</figcaption>\n</figure>", inline(alt));
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

const CSS: &str = "body { font-family: 'DejaVu Sans', sans-serif; max-width: 1240px; margin: 2em auto; padding: 0 1em; color: #282828; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f4f4f4; padding: 0 0.2em; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
";

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes and turns `code` spans into `<code>` and **bold** into `<strong>`.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
            continue;
        }
        for (k, run) in part.split("**").enumerate() {
            if k % 2 == 1 {
                let _ = write!(out, "<strong>{}</strong>", esc(run));
            } else {
                out.push_str(&esc(run));
            }
        }
    }
    out
}

/// An anchor for a heading: lower case, letters and digits, runs of others as `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        let mut d = Doc {
            title: "Run x".into(),
            ..Default::default()
        };
        d.h(1, "Summary");
        d.p("Uses `a<b` & **more**.");
        d.table(
            &["detector", "recall"],
            &[false, true],
            vec![vec!["c|g".into(), "1/2".into()]],
        );
        d.chart("matrix", "Outcomes");
        d
    }

    #[test]
    fn markdown_is_what_we_expect() {
        assert_eq!(
            doc().markdown(),
            "# Run x\n\n## Summary\n\nUses `a<b` & **more**.\n\n| detector | recall |\n|---|---:|\n| c\\|g | 1/2 |\n\n![Outcomes](plots/matrix.png)\n"
        );
    }

    #[test]
    fn html_escapes_and_inlines_svg() {
        let h = doc().html(|stem| Some(format!("<svg id=\"{stem}\"></svg>")));
        assert!(
            h.contains("<p>Uses <code>a&lt;b</code> &amp; <strong>more</strong>.</p>"),
            "{h}"
        );
        assert!(h.contains("<td class=\"num\">1/2</td>"));
        assert!(h.contains("<svg id=\"matrix\"></svg>"));
        assert!(h.contains("<h2 id=\"summary\">Summary</h2>"));
        let h = doc().html(|_| None);
        assert!(h.contains("<img src=\"plots/matrix.png\" alt=\"Outcomes\">"));
    }
}
