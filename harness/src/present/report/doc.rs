//! A small document model (headings, paragraphs, lists, tables, charts, a table of contents)
//! rendered to Markdown and to a self-contained HTML page, so the two reports say the same
//! thing.
//!
//! Inline text is plain, with `backticks` for code, `**` for bold and `[text](href)` for links;
//! both renderers understand only that. Links are written once, to Markdown pages
//! (`scenarios/x.md#anchor`); the HTML renderer points a relative `.md` link at the `.html`
//! page beside it, except a link written `./x.md`: a file, not a page (`./summary.md`). Headings get the anchors GitHub gives them ([`slug`]), in both formats, so
//! one link works in either.

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
    /// A linked list of the page's level-1 headings (those after it), and their level-2 ones
    /// when `deep`.
    Contents {
        deep: bool,
    },
    /// A framed box of paragraphs and lists: the findings that open the report.
    Callout(Vec<Block>),
}

/// A page of the report: blocks in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub title: String,
    /// The path from this page to the run directory: `""` for the main page, `"../"` for a
    /// scenario page (charts are `{root}plots/STEM.png`).
    pub root: String,
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
    pub fn contents(&mut self, deep: bool) {
        self.blocks.push(Block::Contents { deep });
    }
    pub fn callout(&mut self, blocks: Vec<Block>) {
        self.blocks.push(Block::Callout(blocks));
    }

    /// Every heading's anchor, in order, made unique as GitHub makes them (`x`, `x-1`, ...).
    fn anchors(&self) -> Vec<String> {
        let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
        self.headings()
            .map(|(_, t)| {
                let base = slug(t);
                let n = seen.entry(base.clone()).or_insert(0);
                let id = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                *n += 1;
                id
            })
            .collect()
    }

    fn headings(&self) -> impl Iterator<Item = (u8, &String)> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Heading(l, t) => Some((*l, t)),
            _ => None,
        })
    }

    /// The contents list: `(level, text, anchor)` of the headings after block `at`.
    fn contents_of(&self, at: usize, deep: bool) -> Vec<(u8, String, String)> {
        let before = self.blocks[..at]
            .iter()
            .filter(|b| matches!(b, Block::Heading(..)))
            .count();
        self.headings()
            .zip(self.anchors())
            .skip(before)
            .filter(|((l, _), _)| *l == 1 || (deep && *l == 2))
            .map(|((l, t), a)| (l, t.clone(), a))
            .collect()
    }

    /// GitHub-flavoured Markdown; charts as PNG images (they render everywhere).
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for (i, b) in self.blocks.iter().enumerate() {
            out.push('\n');
            if let Block::Contents { deep } = b {
                for (l, t, a) in self.contents_of(i, *deep) {
                    let indent = "  ".repeat(l as usize - 1);
                    let _ = writeln!(out, "{indent}- [{}](#{a})", strip_links(&t));
                }
                continue;
            }
            self.markdown_block(b, &mut out);
        }
        out
    }

    fn markdown_block(&self, b: &Block, out: &mut String) {
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
                let _ = writeln!(out, "![{alt}]({}plots/{stem}.png)", self.root);
            }
            Block::Contents { .. } => {}
            Block::Callout(inner) => {
                // A block quote: GitHub frames it, and every renderer sets it apart.
                let mut body = String::new();
                for (k, b) in inner.iter().enumerate() {
                    if k > 0 {
                        body.push('\n');
                    }
                    self.markdown_block(b, &mut body);
                }
                for line in body.lines() {
                    if line.is_empty() {
                        out.push_str(">\n");
                    } else {
                        let _ = writeln!(out, "> {line}");
                    }
                }
            }
        }
    }

    /// One HTML page; `svg(stem)` returns a chart's SVG to inline (or `None` to show the PNG).
    pub fn html(&self, svg: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&strip_links(&self.title)),
            CSS,
            inline(&self.title)
        );
        let anchors = self.anchors();
        let mut heading = 0;
        for (i, b) in self.blocks.iter().enumerate() {
            match b {
                Block::Heading(l, t) => {
                    let l = l + 1;
                    let id = &anchors[heading];
                    heading += 1;
                    let _ = writeln!(
                        out,
                        "<h{l} id=\"{id}\">{} <a class=\"anchor\" href=\"#{id}\" aria-label=\"link to this section\">#</a></h{l}>",
                        inline(t)
                    );
                }
                Block::Contents { deep } => {
                    out.push_str("<nav class=\"toc\">\n<ul>\n");
                    let items = self.contents_of(i, *deep);
                    for (k, (l, t, a)) in items.iter().enumerate() {
                        let _ = write!(out, "<li><a href=\"#{a}\">{}</a>", inline(&strip_links(t)));
                        let next = items.get(k + 1).map_or(1, |n| n.0);
                        if next > *l {
                            out.push_str("\n<ul>\n");
                        } else {
                            out.push_str("</li>\n");
                            if next < *l {
                                out.push_str("</ul></li>\n");
                            }
                        }
                    }
                    if items.last().is_some_and(|x| x.0 > 1) {
                        out.push_str("</ul></li>\n");
                    }
                    out.push_str("</ul>\n</nav>\n");
                }
                b => self.html_block(b, &svg, &mut out),
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    fn html_block(&self, b: &Block, svg: &impl Fn(&str) -> Option<String>, out: &mut String) {
        match b {
            Block::Heading(..) | Block::Contents { .. } => {}
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
                // Wide tables scroll inside their box; the page itself never gets wider.
                out.push_str("<div class=\"scroll\">\n<table>\n<thead><tr>");
                for (i, h) in t.head.iter().enumerate() {
                    let cls = if t.is_right(i) { " class=\"num\"" } else { "" };
                    let _ = write!(out, "<th{cls}>{}</th>", inline(h));
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
                out.push_str("</tbody>\n</table>\n</div>\n");
            }
            Block::Chart { stem, alt } => {
                // Charts keep their natural size (their text is sized for it) and scroll
                // sideways when the column is narrower.
                out.push_str("<figure>\n<div class=\"scroll\">\n");
                match svg(stem) {
                    Some(s) => {
                        // plotters writes an XML-less <svg> element: inline as is.
                        out.push_str(&s);
                        out.push('\n');
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "<img src=\"{}plots/{stem}.png\" alt=\"{}\">",
                            self.root,
                            esc(alt)
                        );
                    }
                }
                let _ = writeln!(
                    out,
                    "</div>\n<figcaption>{} (<a href=\"{root}plots/{stem}.svg\">SVG</a>, <a href=\"{root}plots/{stem}.png\">PNG</a>)</figcaption>\n</figure>",
                    inline(alt),
                    root = self.root
                );
            }
            Block::Callout(inner) => {
                out.push_str("<div class=\"callout\">\n");
                for b in inner {
                    self.html_block(b, svg, out);
                }
                out.push_str("</div>\n");
            }
        }
    }
}

const CSS: &str = "body { font-family: 'DejaVu Sans', sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #282828; line-height: 1.45; }
h1 { font-size: 1.7em; margin: 0.4em 0; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
a { color: #0a50aa; }
a.anchor { visibility: hidden; text-decoration: none; color: #999; font-size: 0.8em; }
h2:hover a.anchor, h3:hover a.anchor, h4:hover a.anchor { visibility: visible; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
code { background: #f4f4f4; padding: 0 0.2em; overflow-wrap: anywhere; }
td code { overflow-wrap: normal; white-space: nowrap; }
figure { margin: 1.5em 0; }
figure svg, figure img { display: block; max-width: none; }
figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
.callout { background: #f3f7fc; border-left: 4px solid #0a50aa; padding: 0.2em 1em; margin: 1em 0; }
.callout ul { padding-left: 1.2em; }
nav.toc { columns: 2 18em; font-size: 0.95em; }
nav.toc ul { margin: 0; }
";

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A relative link to a Markdown page, pointed at the HTML page beside it.
fn html_href(href: &str) -> String {
    let external = href.contains("://")
        || href.starts_with('#')
        || href.starts_with("mailto:")
        || href.starts_with("./");
    let (path, frag) = match href.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (href, None),
    };
    let path = match path.strip_suffix(".md") {
        Some(stem) if !external => format!("{stem}.html"),
        _ => path.to_string(),
    };
    match frag {
        Some(f) => format!("{path}#{f}"),
        None => path,
    }
}

/// One piece of inline text: plain, a code span, or a link.
enum Span<'a> {
    Text(&'a str),
    Code(&'a str),
    Link { text: &'a str, href: &'a str },
}

/// Splits inline text into spans: `code` wins over everything; `[text](href)` outside code,
/// with no brackets in the text and no space or parenthesis in the href, is a link.
fn spans(s: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut plain_from = 0usize;
    let mut i = 0usize;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'`' => {
                if let Some(end) = s[i + 1..].find('`') {
                    if plain_from < i {
                        out.push(Span::Text(&s[plain_from..i]));
                    }
                    out.push(Span::Code(&s[i + 1..i + 1 + end]));
                    i += end + 2;
                    plain_from = i;
                    continue;
                }
            }
            b'[' => {
                if let Some((text, href, len)) = link_at(&s[i..]) {
                    if plain_from < i {
                        out.push(Span::Text(&s[plain_from..i]));
                    }
                    out.push(Span::Link { text, href });
                    i += len;
                    plain_from = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if plain_from < s.len() {
        out.push(Span::Text(&s[plain_from..]));
    }
    out
}

/// `[text](href)` at the start of `s`: its text, href and length in bytes.
fn link_at(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let text = &s[1..close];
    if text.contains('[') || text.contains(']') {
        return None;
    }
    let after = &s[close + 2..];
    let end = after.find(')')?;
    let href = &after[..end];
    if href.is_empty() || href.contains(' ') || href.contains('(') {
        return None;
    }
    Some((text, href, close + 2 + end + 1))
}

/// The text with links replaced by their words (for titles and contents entries).
pub fn strip_links(s: &str) -> String {
    spans(s)
        .into_iter()
        .map(|sp| match sp {
            Span::Text(t) => t.to_string(),
            Span::Code(c) => format!("`{c}`"),
            Span::Link { text, .. } => text.to_string(),
        })
        .collect()
}

/// Escapes and turns `code` spans into `<code>`, **bold** into `<strong>` and links into `<a>`.
fn inline(s: &str) -> String {
    let mut out = String::new();
    // Bold may span code and links, so it is a toggle across the whole text.
    let mut bold = false;
    for sp in spans(s) {
        match sp {
            Span::Code(c) => {
                let _ = write!(out, "<code>{}</code>", esc(c));
            }
            Span::Link { text, href } => {
                let _ = write!(
                    out,
                    "<a href=\"{}\">{}</a>",
                    esc(&html_href(href)),
                    inline(text)
                );
            }
            Span::Text(t) => {
                for (k, run) in t.split("**").enumerate() {
                    if k > 0 {
                        bold = !bold;
                        out.push_str(if bold { "<strong>" } else { "</strong>" });
                    }
                    out.push_str(&esc(run));
                }
            }
        }
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// A heading's anchor as GitHub makes it: lower case; letters, digits, `-` and `_` kept;
/// spaces become `-`; everything else dropped (so `Latency ÷ bound` is `latency--bound`).
pub fn slug(s: &str) -> String {
    strip_links(s)
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        let mut d = Doc {
            title: "Run x".into(),
            ..Default::default()
        };
        d.contents(false);
        d.h(1, "Summary");
        d.p("Uses `a<b` & **more**, see [`x`](scenarios/x.md#top).");
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
            "# Run x\n\n- [Summary](#summary)\n\n## Summary\n\nUses `a<b` & **more**, see [`x`](scenarios/x.md#top).\n\n| detector | recall |\n|---|---:|\n| c\\|g | 1/2 |\n\n![Outcomes](plots/matrix.png)\n"
        );
    }

    #[test]
    fn html_escapes_and_inlines_svg() {
        let h = doc().html(|stem| Some(format!("<svg id=\"{stem}\"></svg>")));
        assert!(
            h.contains("<p>Uses <code>a&lt;b</code> &amp; <strong>more</strong>, see <a href=\"scenarios/x.html#top\"><code>x</code></a>.</p>"),
            "{h}"
        );
        assert!(h.contains("<td class=\"num\">1/2</td>"));
        assert!(h.contains("<svg id=\"matrix\"></svg>"));
        assert!(h.contains("<h2 id=\"summary\">Summary <a class=\"anchor\" href=\"#summary\""));
        assert!(
            h.contains("<li><a href=\"#summary\">Summary</a></li>"),
            "{h}"
        );
        let h = doc().html(|_| None);
        assert!(h.contains("<img src=\"plots/matrix.png\" alt=\"Outcomes\">"));
    }

    #[test]
    fn anchors_are_githubs_and_unique() {
        assert_eq!(slug("Latency ÷ bound"), "latency--bound");
        assert_eq!(slug("Summary by [`x`](a.md)"), "summary-by-x");
        let mut d = Doc::default();
        d.h(1, "Rep 0");
        d.h(1, "Rep 0");
        assert_eq!(d.anchors(), ["rep-0", "rep-0-1"]);
    }

    #[test]
    fn links_and_code_do_not_mix_up() {
        assert_eq!(
            inline("`[a](b)` [c](d.md) [e f](g h) **b**"),
            "<code>[a](b)</code> <a href=\"d.html\">c</a> [e f](g h) <strong>b</strong>"
        );
        assert_eq!(html_href("../report.md#x"), "../report.html#x");
        assert_eq!(html_href("scores.csv"), "scores.csv");
        assert_eq!(html_href("./summary.md"), "./summary.md");
        assert_eq!(html_href("https://x.org/a.md"), "https://x.org/a.md");
    }
}
