//! Charts: one file per chart, each a data struct implementing [`Chart`], drawn on any plotters
//! backend and rendered to bytes here ([`svg`], [`png`]).
//!
//! A chart's data is plain numbers and names, prepared by the caller ([`crate::present::report`] reads
//! a run directory into them), so charts are tested on tiny fixed inputs. Every chart is drawn
//! once, as SVG; the PNG is that SVG rasterized by resvg with the DejaVu Sans font embedded in
//! the binary ([`FONT`]), so PNGs render the same headless on any machine, with text laid out
//! as a browser lays it out (plotters' own bitmap backend puts each glyph on a whole pixel).
//! SVGs name DejaVu Sans, then `sans-serif`.
//!
//! Sizes are CSS pixels at the chart's natural size: [`font`] takes the size a reader sees, and
//! no chart text is below [`SMALL`] (12 px), so a chart shown at its own width (the HTML report
//! scrolls wide charts rather than shrinking them) reads at docs width.
//!
//! Owns drawing, colours and the PNG encoding. Must not read or write files, nor score.

pub mod axes;
pub mod forecast;
pub mod heatmap;
pub mod matrix;
pub mod overhead;
pub mod sweep;
pub mod timeline;

mod png;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

/// DejaVu Sans (Bitstream Vera license, see `harness/assets/fonts/LICENSE`).
pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The font family every chart names: the embedded font first, so a browser that has it lays
/// text out exactly as the PNG does (and as [`text_width`] measured it).
pub const FAMILY: &str = "DejaVu Sans, sans-serif";

/// The embedded font's family name, as resvg finds it in [`FONT`].
const FONT_NAME: &str = "DejaVu Sans";

/// Text sizes in CSS pixels: titles, body text (labels, legends), and the smallest allowed
/// (cell annotations, tick labels).
pub const TITLE: f64 = 19.0;
pub const TEXT: f64 = 14.0;
pub const SMALL: f64 = 12.0;

/// plotters writes an SVG `font-size` of its size ÷ 1.24 (its sizes include line spacing) and
/// measures glyphs at that em size; [`font`] undoes it, so sizes here are what the reader sees.
const PLOTTERS_EM: f64 = 1.24;

/// Registers [`FONT`] as [`FAMILY`] with plotters, once per process.
pub fn ensure_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded font does not parse");
        }
    });
}

/// A chart that could not be drawn (a backend or font failure: a bug, not bad input).
#[derive(Debug, thiserror::Error)]
#[error("could not draw the chart: {0}")]
pub struct PlotError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError(e.to_string())
    }
}

/// A chart: its data, its size and how to draw it on any backend.
pub trait Chart {
    /// Width and height in pixels (PNG) or SVG user units.
    fn size(&self) -> (u32, u32);
    /// Draws the whole chart on `area` (already sized to [`Chart::size`]).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
    /// Areas of the chart that link somewhere (a row label to its page), for a page that
    /// inlines the SVG ([`link_overlay`]); none by default.
    fn links(&self) -> Vec<Hotspot> {
        Vec::new()
    }
}

/// A clickable rectangle of a chart, in chart pixels, and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    /// Left, top, width, height.
    pub rect: (i32, i32, i32, i32),
    /// A URL relative to the page the chart is inlined in.
    pub href: String,
    /// What the link says when hovered.
    pub title: String,
}

/// SVG `<a>` elements over a chart's [`Chart::links`], to insert before its closing `</svg>`
/// when the SVG is inlined in a page (the PNG and the standalone SVG file carry no links: their
/// relative URLs would point elsewhere).
pub fn link_overlay(c: &impl Chart) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    c.links()
        .iter()
        .map(|h| {
            let (x, y, w, ht) = h.rect;
            format!(
                "<a href=\"{}\"><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{ht}\" fill=\"#ffffff\" fill-opacity=\"0\"/></a>\n",
                esc(&h.href),
                esc(&h.title)
            )
        })
        .collect()
}

/// The chart as an SVG document.
pub fn svg(c: &impl Chart) -> Result<String, PlotError> {
    ensure_font();
    let mut out = String::new();
    {
        let area = SVGBackend::with_string(&mut out, c.size()).into_drawing_area();
        area.fill(&WHITE)?;
        c.draw(&area)?;
        area.present()?;
    }
    Ok(out)
}

/// The chart as PNG bytes (8-bit RGB): its SVG, rasterized ([`rasterize`]).
pub fn png(c: &impl Chart) -> Result<Vec<u8>, PlotError> {
    rasterize(&svg(c)?)
}

/// An SVG document as PNG bytes at its own size, drawn by resvg on white with [`FONT`] as the
/// only font (any family the SVG names falls back to it).
pub fn rasterize(svg: &str) -> Result<Vec<u8>, PlotError> {
    use resvg::{tiny_skia, usvg};
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FONT_NAME);
        std::sync::Arc::new(db)
    });
    let opts = usvg::Options {
        font_family: FONT_NAME.to_string(),
        fontdb: fonts.clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opts).map_err(|e| PlotError(e.to_string()))?;
    let size = tree.size().to_int_size();
    let (w, h) = (size.width(), size.height());
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| PlotError(format!("cannot allocate a {w}×{h} image")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    // Opaque on white, so dropping alpha loses nothing.
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(png::encode_rgb(w, h, &rgb))
}

/// How one detector did on one repetition, in the five words (and colours) the charts use.
/// Not [`crate::evaluate::score::Outcome`] (TP/FN/FP/TN/NA): a detection is split into in time
/// and late, and unjudged repetitions are not drawn; the caller maps one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChartOutcome {
    /// Leaking scenario, first alarm after onset and within the scenario's tolerance.
    InTime,
    /// Leaking scenario, first alarm after onset but later than the tolerance.
    Late,
    /// Leaking scenario, no alarm.
    Missed,
    /// An alarm before onset, or any alarm on a non-leaking scenario.
    FalseAlarm,
    /// Non-leaking scenario, no alarm: correct.
    Quiet,
}

impl ChartOutcome {
    pub const ALL: [ChartOutcome; 5] = [
        ChartOutcome::InTime,
        ChartOutcome::Late,
        ChartOutcome::Missed,
        ChartOutcome::FalseAlarm,
        ChartOutcome::Quiet,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ChartOutcome::InTime => "detected in time",
            ChartOutcome::Late => "detected late",
            ChartOutcome::Missed => "missed",
            ChartOutcome::FalseAlarm => "false alarm",
            ChartOutcome::Quiet => "quiet (correct)",
        }
    }

    pub fn color(self) -> RGBColor {
        match self {
            ChartOutcome::InTime => GOOD,
            ChartOutcome::Late => LATE,
            ChartOutcome::Missed => MISS,
            ChartOutcome::FalseAlarm => BAD,
            ChartOutcome::Quiet => QUIET,
        }
    }
}

/// Repetitions counted by [`ChartOutcome`]: one matrix or heatmap cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub in_time: u32,
    pub late: u32,
    pub missed: u32,
    pub false_alarms: u32,
    pub quiet: u32,
}

impl OutcomeCounts {
    pub fn add(&mut self, v: ChartOutcome) {
        *self.get_mut(v) += 1;
    }

    pub fn get(&self, v: ChartOutcome) -> u32 {
        let mut t = *self;
        *t.get_mut(v)
    }

    fn get_mut(&mut self, v: ChartOutcome) -> &mut u32 {
        match v {
            ChartOutcome::InTime => &mut self.in_time,
            ChartOutcome::Late => &mut self.late,
            ChartOutcome::Missed => &mut self.missed,
            ChartOutcome::FalseAlarm => &mut self.false_alarms,
            ChartOutcome::Quiet => &mut self.quiet,
        }
    }

    /// Repetitions detected after onset, in time or late.
    pub fn detected(&self) -> u32 {
        self.in_time + self.late
    }

    pub fn total(&self) -> u32 {
        self.in_time + self.late + self.missed + self.false_alarms + self.quiet
    }
}

/// Palette: outcomes are green (good), orange (late), grey (missed), red (false alarm);
/// series use colour-blind-safe hues (Okabe–Ito).
pub const GOOD: RGBColor = RGBColor(0, 158, 115);
pub const LATE: RGBColor = RGBColor(230, 159, 0);
pub const MISS: RGBColor = RGBColor(110, 110, 110);
pub const BAD: RGBColor = RGBColor(200, 30, 30);
pub const QUIET: RGBColor = RGBColor(244, 244, 244);
pub const ONSET: RGBColor = RGBColor(0, 0, 0);
pub const INK: RGBColor = RGBColor(40, 40, 40);
pub const GRID: RGBColor = RGBColor(225, 225, 225);

/// Series colours, in order (Okabe–Ito without yellow, which is unreadable on white).
pub const SERIES: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
];

/// A text style in the chart family, `px` CSS pixels high as the reader sees it.
pub fn font(px: f64) -> TextStyle<'static> {
    colored((FAMILY, px * PLOTTERS_EM).into_font().into(), INK)
}

/// The width of `text` at `px` in the embedded font, in pixels (rounded up): what a label
/// needs, so layouts size themselves to their words instead of guessing per character.
pub fn text_width(text: &str, px: f64) -> i32 {
    ensure_font();
    (FAMILY, px * PLOTTERS_EM)
        .into_font()
        .box_size(text)
        .map(|(w, _)| w as i32 + 1)
        .unwrap_or_else(|_| (text.chars().count() as f64 * px * 0.62).ceil() as i32)
}

/// The width of the widest of `texts` at `px` ([`text_width`]); 0 for none.
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>, px: f64) -> i32 {
    texts
        .into_iter()
        .map(|t| text_width(t, px))
        .max()
        .unwrap_or(0)
}

/// `text` broken into lines no wider than `width` pixels at `px`, at spaces (a single word
/// wider than `width` stays whole on its own line).
pub fn wrap(text: &str, px: f64, width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, px) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Link colour for chart text that is a link in the HTML report.
pub const LINK: RGBColor = RGBColor(10, 80, 170);

/// `style` anchored at its `h`/`v` side instead of its top left.
pub fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// `style` in colour `c`.
pub fn colored(style: TextStyle<'static>, c: RGBColor) -> TextStyle<'static> {
    TextStyle {
        color: c.to_backend_color(),
        ..style
    }
}

/// A quantity's unit, for axis labels and tick formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes, shown in MiB.
    Bytes,
    /// A count of things, named (`goroutines`, `objects`).
    Count(&'static str),
}

impl Unit {
    /// The axis label suffix: `MiB`, `goroutines`.
    pub fn axis(self) -> &'static str {
        match self {
            Unit::Bytes => "MiB",
            Unit::Count(what) => what,
        }
    }

    /// The value in axis units.
    pub fn scale(self, v: f64) -> f64 {
        match self {
            Unit::Bytes => v / (1024.0 * 1024.0),
            Unit::Count(_) => v,
        }
    }
}

/// A tick label without trailing zeros: `0`, `2.5`, `1200`, `1.5k`.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{}k", trim(v / 1000.0, 1))
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(v, 1)
    } else {
        trim(v, 2)
    }
}

fn trim(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Height of one line of a legend.
pub const LEGEND_LINE_H: i32 = 24;

/// The legend entries laid out in lines no wider than `width`: indices into `items` per line.
fn legend_lines(items: &[(String, RGBColor, Swatch)], width: i32) -> Vec<Vec<usize>> {
    let mut lines: Vec<Vec<usize>> = vec![Vec::new()];
    let mut x = 8;
    for (i, (label, _, _)) in items.iter().enumerate() {
        let w = 24 + text_width(label, TEXT);
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && x + w > width - 8 {
            lines.push(vec![i]);
            x = 8 + w + 18;
        } else {
            line.push(i);
            x += w + 18;
        }
    }
    lines
}

/// The height a legend of `items` takes in an area `width` pixels wide.
pub fn legend_height(items: &[(String, RGBColor, Swatch)], width: i32) -> i32 {
    legend_lines(items, width).len() as i32 * LEGEND_LINE_H
}

/// Draws legend entries (a swatch and a label each) from the top left of `area`, wrapping
/// onto further lines when the area is too narrow ([`legend_height`] says how tall), so
/// legends sit beside the data, never on it.
pub fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor, Swatch)],
) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let f = anchored(font(TEXT), HPos::Left, VPos::Center);
    for (k, line) in legend_lines(items, w as i32).into_iter().enumerate() {
        let y = k as i32 * LEGEND_LINE_H + LEGEND_LINE_H / 2;
        let mut x = 8;
        for (label, color, swatch) in line.into_iter().map(|i| &items[i]) {
            match swatch {
                Swatch::Line => {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 18, y)],
                        color.stroke_width(2),
                    ))?;
                }
                Swatch::Dashed => {
                    for k in 0..3 {
                        area.draw(&PathElement::new(
                            vec![(x + k * 7, y), (x + k * 7 + 4, y)],
                            color.stroke_width(2),
                        ))?;
                    }
                }
                Swatch::Box => {
                    area.draw(&Rectangle::new(
                        [(x + 2, y - 6), (x + 16, y + 6)],
                        color.filled(),
                    ))?;
                    area.draw(&Rectangle::new([(x + 2, y - 6), (x + 16, y + 6)], MISS))?;
                }
                Swatch::Marker => {
                    area.draw(&TriangleMarker::new((x + 9, y), 6, color.filled()))?;
                }
            }
            area.draw(&Text::new(label.clone(), (x + 24, y), f.clone()))?;
            x += 24 + text_width(label, TEXT) + 18;
        }
    }
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swatch {
    Line,
    Dashed,
    Box,
    Marker,
}

/// A colour between `a` (t = 0) and `b` (t = 1).
pub fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let m = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// Black or white, whichever reads better on `bg`.
pub fn ink_on(bg: RGBColor) -> RGBColor {
    let lum = 0.299 * bg.0 as f64 + 0.587 * bg.1 as f64 + 0.114 * bg.2 as f64;
    if lum > 140.0 {
        INK
    } else {
        WHITE
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Compares `actual` with the committed snapshot `harness/testdata/snapshots/NAME`;
    /// `LEAKBENCH_UPDATE_SNAPSHOTS=1` rewrites it instead.
    pub(crate) fn snapshot(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/snapshots")
            .join(name);
        if std::env::var_os("LEAKBENCH_UPDATE_SNAPSHOTS").is_some() {
            crate::fsio::write_atomic(&path, actual.as_bytes()).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (fix: run with LEAKBENCH_UPDATE_SNAPSHOTS=1 to create it)",
                path.display()
            )
        });
        if expected != actual {
            let at = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            panic!(
                "{} differs from the rendered chart at line {} (fix: if the change is intended, \
                 rerun with LEAKBENCH_UPDATE_SNAPSHOTS=1 and review the diff)\nexpected: {:?}\nactual:   {:?}",
                path.display(),
                at + 1,
                expected.lines().nth(at),
                actual.lines().nth(at)
            );
        }
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(1200.0), "1200");
        assert_eq!(tick(15_000.0), "15k");
        assert_eq!(tick(0.126), "0.13");
        assert_eq!(tick(-0.001), "0");
    }

    #[test]
    fn png_has_signature_and_dimensions() {
        struct Blank;
        impl Chart for Blank {
            fn size(&self) -> (u32, u32) {
                (30, 20)
            }
            fn draw<DB: DrawingBackend>(
                &self,
                area: &DrawingArea<DB, Shift>,
            ) -> Result<(), PlotError> {
                area.draw(&Text::new("x", (5, 5), font(12.0)))?;
                Ok(())
            }
        }
        let p = png(&Blank).unwrap();
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&p[16..24], &[0, 0, 0, 30, 0, 0, 0, 20]);
        assert!(svg(&Blank).unwrap().contains("<text"));
    }
}
