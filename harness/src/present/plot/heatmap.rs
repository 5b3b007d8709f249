//! Latency heatmap: one row per scenario, one column per detector. A cell where the detector
//! found the leak is shaded by its median latency ÷ oracle bound (1× is as fast as any
//! detector could be at the same false-alarm rate); misses, false alarms and correct silence
//! on non-leaking scenarios have their own colours and words, never a shade of the scale.

use super::{
    anchored, colored, font, mix, text_width, tick, widest, wrap, Chart, ChartOutcome, Hotspot,
    OutcomeCounts, PlotError, INK, LINK, MISS, SMALL, TEXT, TITLE,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// What one detector did over a scenario's repetitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeatCell {
    pub counts: OutcomeCounts,
    /// Median over detected repetitions of latency ÷ oracle bound; `None` without a bound.
    pub ratio: Option<f64>,
    /// Median latency over detected repetitions, seconds.
    pub latency_s: Option<f64>,
}

/// The heatmap's data: `cells[row][col]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    /// Scenario names, each with a short tag (`leak`, `twin`, `hard-negative`).
    pub rows: Vec<(String, String)>,
    /// Where each row's label links to in the HTML report (`None`: no link); empty for none.
    pub row_links: Vec<Option<String>>,
    pub cols: Vec<String>,
    pub cells: Vec<Vec<HeatCell>>,
}

const CELL_W: i32 = 58;
const CELL_H: i32 = 34;
const PAD: i32 = 16;
/// Cell text: the verdict, and beneath it `k/n` when only some repetitions agree.
const CELL_TEXT: f64 = SMALL + 1.0;

/// Ratios are shaded on a log scale from 1× to this; beyond it, the darkest shade.
const RATIO_MAX: f64 = 100.0;

/// The shade of a latency ratio: pale blue at 1×, dark blue at [`RATIO_MAX`] and beyond.
pub fn ratio_color(r: f64) -> RGBColor {
    let t = r.max(1.0).log10() / RATIO_MAX.log10();
    mix(RGBColor(189, 215, 238), RGBColor(8, 48, 107), t)
}

/// A ratio as a cell shows it: [`ratio_text`], but anything below 0.01 as `<0.01` (a cell has
/// room for four digits; the exact value is in the scenario's table).
pub fn ratio_cell(r: f64) -> String {
    if r < 0.01 {
        "<0.01".into()
    } else {
        ratio_text(r)
    }
}

/// A ratio with two significant digits below 10 (`0.031`, `2.5`), whole above.
pub fn ratio_text(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        tick(r)
    } else if r > 0.0 {
        let digits = (-r.log10()).floor() as usize + 2;
        format!("{r:.digits$}")
    } else {
        "0".into()
    }
}

/// No oracle bound: the latency alone is shown, on a neutral shade.
const NO_BOUND: RGBColor = RGBColor(199, 233, 192);

impl Heatmap {
    fn label(&self, i: usize) -> String {
        let (name, tag) = &self.rows[i];
        format!("{name} ({tag})")
    }

    fn label_w(&self) -> i32 {
        let labels: Vec<String> = (0..self.rows.len()).map(|i| self.label(i)).collect();
        widest(labels.iter().map(String::as_str), TEXT).max(100) + 12
    }

    fn head_h(&self) -> i32 {
        widest(self.cols.iter().map(String::as_str), TEXT).max(60) + 16
    }

    fn width(&self) -> i32 {
        (PAD + self.label_w() + self.cols.len() as i32 * CELL_W + PAD).max(700)
    }

    fn title_lines(&self) -> Vec<String> {
        wrap(&self.title, TITLE, self.width() - 2 * PAD)
    }

    fn title_h(&self) -> i32 {
        16 + self.title_lines().len() as i32 * 26
    }

    /// How a cell looks: background, the verdict, and `k/n` when only some repetitions agree.
    pub fn cell_look(c: &HeatCell) -> (RGBColor, String, String) {
        let t = &c.counts;
        let n = t.total();
        if n == 0 {
            return (WHITE, String::new(), String::new());
        }
        let frac = |k: u32| {
            if n > 1 && k < n {
                format!("{k}/{n}")
            } else {
                String::new()
            }
        };
        if t.false_alarms > 0 {
            (
                ChartOutcome::FalseAlarm.color(),
                "FA".into(),
                frac(t.false_alarms),
            )
        } else if t.detected() > 0 {
            let partial = frac(t.detected());
            match (c.ratio, c.latency_s) {
                (Some(r), _) => (ratio_color(r), format!("{}×", ratio_cell(r)), partial),
                (None, Some(l)) => (NO_BOUND, format!("{}s", tick(l)), partial),
                (None, None) => (NO_BOUND, "✓".into(), partial),
            }
        } else if t.missed > 0 {
            (MISS, "miss".into(), String::new())
        } else {
            (ChartOutcome::Quiet.color(), "–".into(), String::new())
        }
    }
}

impl Chart for Heatmap {
    fn size(&self) -> (u32, u32) {
        let h = self.title_h() + self.head_h() + self.rows.len() as i32 * CELL_H + self.legend_h();
        (self.width() as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        for (k, line) in self.title_lines().into_iter().enumerate() {
            area.draw(&Text::new(line, (PAD, 12 + k as i32 * 26), font(TITLE)))?;
        }
        let x0 = PAD + self.label_w();
        let y0 = self.title_h() + self.head_h();
        let head =
            anchored(font(TEXT), HPos::Left, VPos::Center).transform(FontTransform::Rotate270);
        for (j, d) in self.cols.iter().enumerate() {
            let x = x0 + j as i32 * CELL_W + CELL_W / 2;
            area.draw(&Text::new(d.clone(), (x, y0 - 6), head.clone()))?;
        }
        for i in 0..self.rows.len() {
            let y = y0 + i as i32 * CELL_H;
            let linked = self.row_links.get(i).is_some_and(|l| l.is_some());
            let left = colored(
                anchored(font(TEXT), HPos::Right, VPos::Center),
                if linked { LINK } else { INK },
            );
            area.draw(&Text::new(self.label(i), (x0 - 8, y + CELL_H / 2), left))?;
            for (j, c) in self.cells.get(i).into_iter().flatten().enumerate() {
                let x = x0 + j as i32 * CELL_W;
                let (bg, text, frac) = Heatmap::cell_look(c);
                area.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W, y + CELL_H)],
                    bg.filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W, y + CELL_H)],
                    WHITE.stroke_width(1),
                ))?;
                let ink = super::ink_on(bg);
                let f = |px| colored(anchored(font(px), HPos::Center, VPos::Center), ink);
                if frac.is_empty() {
                    area.draw(&Text::new(
                        text,
                        (x + CELL_W / 2, y + CELL_H / 2),
                        f(CELL_TEXT),
                    ))?;
                } else {
                    area.draw(&Text::new(text, (x + CELL_W / 2, y + 11), f(CELL_TEXT)))?;
                    area.draw(&Text::new(
                        frac,
                        (x + CELL_W / 2, y + CELL_H - 10),
                        f(SMALL),
                    ))?;
                }
            }
        }
        self.draw_legend(area, y0 + self.rows.len() as i32 * CELL_H + 18)
    }

    fn links(&self) -> Vec<Hotspot> {
        let x0 = PAD + self.label_w();
        let y0 = self.title_h() + self.head_h();
        self.row_links
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let href = l.clone()?;
                let w = text_width(&self.label(i), TEXT) + 4;
                Some(Hotspot {
                    rect: (x0 - 8 - w, y0 + i as i32 * CELL_H, w, CELL_H),
                    href,
                    title: format!("{}: every repetition, table and timelines", self.rows[i].0),
                })
            })
            .collect()
    }
}

const LEGEND_NOTE: &str = "cell: median latency ÷ oracle bound over detected repetitions (1× = as fast as the bound; below 1×: faster than its assumptions allow)";
const LEGEND_LINE: i32 = 19;

impl Heatmap {
    fn legend_note(&self) -> Vec<String> {
        wrap(LEGEND_NOTE, SMALL + 1.0, self.width() - 2 * PAD)
    }

    /// The note, the colour scale, the four words, the last note.
    fn legend_h(&self) -> i32 {
        18 + self.legend_note().len() as i32 * LEGEND_LINE + 8 + 36 + 34 + LEGEND_LINE + 8
    }

    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: i32,
    ) -> Result<(), PlotError> {
        let f = font(SMALL + 1.0);
        let lines = self.legend_note();
        let n = lines.len() as i32;
        for (k, line) in lines.into_iter().enumerate() {
            area.draw(&Text::new(
                line,
                (PAD, y + k as i32 * LEGEND_LINE),
                f.clone(),
            ))?;
        }
        let y = y + n * LEGEND_LINE + 8;
        let (bar_x, bar_w, bar_h) = (PAD, 240, 14);
        const STEP: i32 = 4;
        for k in (0..bar_w).step_by(STEP as usize) {
            let r = 10f64.powf((k + STEP / 2) as f64 / bar_w as f64 * RATIO_MAX.log10());
            area.draw(&Rectangle::new(
                [(bar_x + k, y), (bar_x + k + STEP, y + bar_h)],
                ratio_color(r).filled(),
            ))?;
        }
        area.draw(&Rectangle::new(
            [(bar_x, y), (bar_x + bar_w, y + bar_h)],
            INK,
        ))?;
        let under = anchored(font(SMALL), HPos::Center, VPos::Top);
        for r in [1.0f64, 3.0, 10.0, 30.0, 100.0] {
            let x = bar_x + (r.log10() / RATIO_MAX.log10() * bar_w as f64) as i32;
            area.draw(&PathElement::new(
                vec![(x, y + bar_h), (x, y + bar_h + 3)],
                INK,
            ))?;
            let label = if r == RATIO_MAX {
                "≥100×".to_string()
            } else {
                format!("{r}×")
            };
            area.draw(&Text::new(label, (x, y + bar_h + 4), under.clone()))?;
        }
        let y = y + 36 + 8;
        let mut x = PAD;
        let mid = anchored(f.clone(), HPos::Left, VPos::Center);
        for (bg, word, meaning) in [
            (NO_BOUND, "4s", "latency, no bound"),
            (MISS, "miss", "missed"),
            (ChartOutcome::FalseAlarm.color(), "FA", "false alarm"),
            (ChartOutcome::Quiet.color(), "–", "quiet (correct)"),
        ] {
            area.draw(&Rectangle::new(
                [(x, y - 4), (x + 40, y + bar_h + 4)],
                bg.filled(),
            ))?;
            area.draw(&Text::new(
                word,
                (x + 20, y + bar_h / 2),
                colored(
                    anchored(font(SMALL), HPos::Center, VPos::Center),
                    super::ink_on(bg),
                ),
            ))?;
            area.draw(&Text::new(meaning, (x + 46, y + bar_h / 2), mid.clone()))?;
            x += 46 + text_width(meaning, SMALL + 1.0) + 16;
        }
        area.draw(&Text::new(
            "k/n under a verdict: k of n repetitions; FA on a leaking scenario: an alarm before the onset",
            (PAD, y + bar_h + 16),
            f,
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Heatmap {
        let counts = |v: &[ChartOutcome]| {
            let mut t = OutcomeCounts::default();
            v.iter().for_each(|&v| t.add(v));
            t
        };
        let det = |r: f64| HeatCell {
            counts: counts(&[ChartOutcome::InTime, ChartOutcome::Late]),
            ratio: Some(r),
            latency_s: Some(r * 2.0),
        };
        Heatmap {
            title: "Detection latency".into(),
            rows: vec![
                ("leak-a".into(), "leak".into()),
                ("twin-a".into(), "twin".into()),
            ],
            row_links: vec![Some("scenarios/leak-a.html".into()), None],
            cols: vec!["count".into(), "slope".into()],
            cells: vec![
                vec![
                    det(1.5),
                    HeatCell {
                        counts: counts(&[ChartOutcome::InTime, ChartOutcome::Missed]),
                        ..Default::default()
                    },
                ],
                vec![
                    HeatCell {
                        counts: counts(&[ChartOutcome::Quiet, ChartOutcome::Quiet]),
                        ..Default::default()
                    },
                    HeatCell {
                        counts: counts(&[ChartOutcome::FalseAlarm, ChartOutcome::Quiet]),
                        ..Default::default()
                    },
                ],
            ],
        }
    }

    #[test]
    fn svg_snapshot() {
        crate::present::plot::tests::snapshot(
            "heatmap.svg",
            &crate::present::plot::svg(&tiny()).unwrap(),
        );
    }

    #[test]
    fn cells_say_what_happened() {
        let t = tiny();
        let look = |i: usize, j: usize| {
            let (_, a, b) = Heatmap::cell_look(&t.cells[i][j]);
            (a, b)
        };
        assert_eq!(look(0, 0), ("1.5×".into(), "".into()));
        assert_eq!(look(0, 1), ("✓".into(), "1/2".into()));
        assert_eq!(look(1, 0), ("–".into(), "".into()));
        assert_eq!(look(1, 1), ("FA".into(), "1/2".into()));
        assert_eq!(ratio_cell(0.0000071), "<0.01");
        assert_eq!(ratio_cell(0.061), "0.061");
        let links = t.links();
        assert_eq!(links.len(), 1, "only the first row links");
        assert_eq!(links[0].href, "scenarios/leak-a.html");
        let overlay = crate::present::plot::link_overlay(&t);
        assert!(
            overlay.starts_with("<a href=\"scenarios/leak-a.html\">"),
            "{overlay}"
        );
        assert!(ratio_color(1.0).2 > ratio_color(50.0).2, "longer is darker");
        assert_eq!(ratio_text(0.0183), "0.018");
        assert_eq!(ratio_text(0.29), "0.29");
        assert_eq!(ratio_text(2.54), "2.5");
        assert_eq!(ratio_text(17.4), "17");
    }
}
