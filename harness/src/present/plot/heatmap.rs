//! Latency heatmap: one row per scenario, one column per detector. A cell where the detector
//! found the leak is shaded by its median latency ÷ oracle bound (1× is as fast as any
//! detector could be at the same false-alarm rate); misses, false alarms and correct silence
//! on non-leaking scenarios have their own colours and words, never a shade of the scale.

use super::{
    anchored, colored, font, mix, tick, Chart, ChartOutcome, OutcomeCounts, PlotError, INK, MISS,
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
    pub cols: Vec<String>,
    pub cells: Vec<Vec<HeatCell>>,
}

const CELL_W: i32 = 66;
const CELL_H: i32 = 26;
const TITLE_H: i32 = 44;
const HEAD_H: i32 = 160;
const LEGEND_H: i32 = 96;
const PAD: i32 = 16;

/// Ratios are shaded on a log scale from 1× to this; beyond it, the darkest shade.
const RATIO_MAX: f64 = 100.0;

/// The shade of a latency ratio: pale blue at 1×, dark blue at [`RATIO_MAX`] and beyond.
pub fn ratio_color(r: f64) -> RGBColor {
    let t = r.max(1.0).log10() / RATIO_MAX.log10();
    mix(RGBColor(189, 215, 238), RGBColor(8, 48, 107), t)
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
    fn label_w(&self) -> i32 {
        let longest = self
            .rows
            .iter()
            .map(|(n, tag)| n.len() + tag.len() + 3)
            .max()
            .unwrap_or(8);
        (longest as i32 * 8).max(120)
    }

    /// How a cell looks: background and text.
    pub fn cell_look(c: &HeatCell) -> (RGBColor, String) {
        let t = &c.counts;
        let n = t.total();
        if n == 0 {
            return (WHITE, String::new());
        }
        let frac = |k: u32| {
            if n > 1 {
                format!(" {k}/{n}")
            } else {
                String::new()
            }
        };
        if t.false_alarms > 0 {
            (
                ChartOutcome::FalseAlarm.color(),
                format!("FA{}", frac(t.false_alarms)),
            )
        } else if t.detected() > 0 {
            let partial = if t.missed > 0 {
                frac(t.detected())
            } else {
                String::new()
            };
            match (c.ratio, c.latency_s) {
                (Some(r), _) => (ratio_color(r), format!("{}×{partial}", ratio_text(r))),
                (None, Some(l)) => (NO_BOUND, format!("{}s{partial}", tick(l))),
                (None, None) => (NO_BOUND, format!("✓{partial}")),
            }
        } else if t.missed > 0 {
            (MISS, "miss".into())
        } else {
            (ChartOutcome::Quiet.color(), "–".into())
        }
    }
}

impl Chart for Heatmap {
    fn size(&self) -> (u32, u32) {
        let w = PAD + self.label_w() + self.cols.len() as i32 * CELL_W + PAD;
        let h = TITLE_H + HEAD_H + self.rows.len() as i32 * CELL_H + LEGEND_H;
        (w.max(720) as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        area.draw(&Text::new(self.title.clone(), (PAD, 12), font(18.0)))?;
        let x0 = PAD + self.label_w();
        let y0 = TITLE_H + HEAD_H;
        let head =
            anchored(font(13.0), HPos::Left, VPos::Center).transform(FontTransform::Rotate270);
        for (j, d) in self.cols.iter().enumerate() {
            let x = x0 + j as i32 * CELL_W + CELL_W / 2;
            area.draw(&Text::new(d.clone(), (x, y0 - 6), head.clone()))?;
        }
        let left = anchored(font(13.0), HPos::Right, VPos::Center);
        for (i, (name, tag)) in self.rows.iter().enumerate() {
            let y = y0 + i as i32 * CELL_H;
            area.draw(&Text::new(
                format!("{name} ({tag})"),
                (x0 - 8, y + CELL_H / 2),
                left.clone(),
            ))?;
            for (j, c) in self.cells.get(i).into_iter().flatten().enumerate() {
                let x = x0 + j as i32 * CELL_W;
                let (bg, text) = Heatmap::cell_look(c);
                area.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W, y + CELL_H)],
                    bg.filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W, y + CELL_H)],
                    WHITE.stroke_width(1),
                ))?;
                let f = colored(
                    anchored(font(12.0), HPos::Center, VPos::Center),
                    super::ink_on(bg),
                );
                area.draw(&Text::new(text, (x + CELL_W / 2, y + CELL_H / 2), f))?;
            }
        }
        self.draw_legend(area, y0 + self.rows.len() as i32 * CELL_H + 18)
    }
}

impl Heatmap {
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: i32,
    ) -> Result<(), PlotError> {
        let f = font(12.0);
        area.draw(&Text::new(
            "cell: median latency ÷ oracle bound over detected repetitions (1× = as fast as the bound; below 1×: faster than its assumptions allow)",
            (PAD, y),
            f.clone(),
        ))?;
        let y = y + 22;
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
        let under = anchored(font(11.0), HPos::Center, VPos::Top);
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
        let mut x = bar_x + bar_w + 30;
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
                    anchored(font(11.0), HPos::Center, VPos::Center),
                    super::ink_on(bg),
                ),
            ))?;
            area.draw(&Text::new(meaning, (x + 46, y + bar_h / 2), mid.clone()))?;
            x += 46 + 8 * meaning.len() as i32 + 14;
        }
        area.draw(&Text::new(
            "k/n: k of n repetitions; FA on a leaking scenario means an alarm before the onset",
            (PAD, y + bar_h + 24),
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
        assert_eq!(Heatmap::cell_look(&t.cells[0][0]).1, "1.5×");
        assert_eq!(Heatmap::cell_look(&t.cells[0][1]).1, "✓ 1/2");
        assert_eq!(Heatmap::cell_look(&t.cells[1][0]).1, "–");
        assert_eq!(Heatmap::cell_look(&t.cells[1][1]).1, "FA 1/2");
        assert!(ratio_color(1.0).2 > ratio_color(50.0).2, "longer is darker");
        assert_eq!(ratio_text(0.0183), "0.018");
        assert_eq!(ratio_text(0.29), "0.29");
        assert_eq!(ratio_text(2.54), "2.5");
        assert_eq!(ratio_text(17.4), "17");
    }
}
