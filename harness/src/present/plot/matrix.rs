//! Detection matrix: one row per detector, one column per leak class. Each cell has two bars,
//! each followed by its `k/n`: the leaking repetitions of that class split by outcome (in time,
//! late, missed, alarm before onset), and the non-leaking ones (twins, hard negatives) split
//! into quiet and false alarm. A key above the grid names the two bars, so cells need no words
//! and the chart fits a docs column with five classes.

use super::{
    anchored, colored, font, legend_height, legend_row, widest, wrap, Chart, ChartOutcome,
    OutcomeCounts, PlotError, Swatch, INK, MISS, SMALL, TEXT, TITLE,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One detector × class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatrixCell {
    /// Repetitions of leaking scenarios.
    pub leaking: OutcomeCounts,
    /// Repetitions of non-leaking scenarios (twins and hard negatives).
    pub negative: OutcomeCounts,
}

/// The matrix's data: `cells[row][col]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionMatrix {
    pub title: String,
    /// Detector names.
    pub rows: Vec<String>,
    /// Leak classes.
    pub cols: Vec<String>,
    pub cells: Vec<Vec<MatrixCell>>,
}

const CELL_W: i32 = 104;
const CELL_H: i32 = 50;
const HEAD_H: i32 = 30;
const PAD: i32 = 16;
/// Room right of each bar for its `k/n`.
const COUNT_W: i32 = 40;
const BAR_H: i32 = 15;
const KEY_H: i32 = 64;

impl DetectionMatrix {
    fn label_w(&self) -> i32 {
        widest(self.rows.iter().map(String::as_str), TEXT).max(80) + 14
    }

    fn width(&self) -> i32 {
        (PAD + self.label_w() + self.cols.len() as i32 * CELL_W + PAD).max(560)
    }

    fn title_lines(&self) -> Vec<String> {
        wrap(&self.title, TITLE, self.width() - 2 * PAD)
    }

    fn top_h(&self) -> i32 {
        12 + self.title_lines().len() as i32 * 26 + KEY_H
    }
}

impl Chart for DetectionMatrix {
    fn size(&self) -> (u32, u32) {
        let foot = legend_height(&outcome_legend(), self.width() - PAD + 8) + 16;
        let h = self.top_h() + HEAD_H + self.rows.len() as i32 * CELL_H + foot;
        (self.width() as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        for (k, line) in self.title_lines().into_iter().enumerate() {
            area.draw(&Text::new(line, (PAD, 12 + k as i32 * 26), font(TITLE)))?;
        }
        // The key: one example cell, each bar named.
        let ky = self.top_h() - KEY_H + 10;
        let mut example = OutcomeCounts::default();
        example.add(ChartOutcome::InTime);
        example.add(ChartOutcome::InTime);
        example.add(ChartOutcome::Late);
        example.add(ChartOutcome::Missed);
        let mut quiet = OutcomeCounts::default();
        quiet.add(ChartOutcome::Quiet);
        quiet.add(ChartOutcome::Quiet);
        quiet.add(ChartOutcome::FalseAlarm);
        bar(area, (PAD, ky), &example, example.detected())?;
        bar(area, (PAD, ky + 21), &quiet, quiet.false_alarms)?;
        let note = anchored(font(TEXT), HPos::Left, VPos::Center);
        let kx = PAD + CELL_W;
        area.draw(&Text::new(
            "upper bar: the class's leaking repetitions, k found of n",
            (kx, ky + BAR_H / 2),
            note.clone(),
        ))?;
        area.draw(&Text::new(
            "lower bar: its non-leaking repetitions, k false alarms of n",
            (kx, ky + 21 + BAR_H / 2),
            note,
        ))?;
        let x0 = PAD + self.label_w();
        let y0 = self.top_h() + HEAD_H;
        let center = anchored(font(TEXT), HPos::Center, VPos::Bottom);
        for (j, c) in self.cols.iter().enumerate() {
            let x = x0 + j as i32 * CELL_W + CELL_W / 2;
            area.draw(&Text::new(c.clone(), (x, y0 - 6), center.clone()))?;
        }
        let right = anchored(font(TEXT), HPos::Right, VPos::Center);
        for (i, d) in self.rows.iter().enumerate() {
            let y = y0 + i as i32 * CELL_H;
            if i % 2 == 0 {
                area.draw(&Rectangle::new(
                    [(PAD, y), (x0 + self.cols.len() as i32 * CELL_W, y + CELL_H)],
                    RGBColor(246, 246, 246).filled(),
                ))?;
            }
            area.draw(&Text::new(
                d.clone(),
                (x0 - 10, y + CELL_H / 2),
                right.clone(),
            ))?;
            for (j, c) in self.cells.get(i).into_iter().flatten().enumerate() {
                let x = x0 + j as i32 * CELL_W + 8;
                bar(area, (x, y + 7), &c.leaking, c.leaking.detected())?;
                bar(area, (x, y + 28), &c.negative, c.negative.false_alarms)?;
            }
        }
        let ly = y0 + self.rows.len() as i32 * CELL_H + 8;
        legend_row(&area.margin(ly, 0, PAD - 8, 0), &outcome_legend())?;
        Ok(())
    }
}

fn outcome_legend() -> Vec<(String, RGBColor, Swatch)> {
    ChartOutcome::ALL
        .iter()
        .map(|v| (v.label().to_string(), v.color(), Swatch::Box))
        .collect()
}

/// A bar split by outcome, then `k/n` (`–` when `n` is 0); a grey outline around the bar.
fn bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    t: &OutcomeCounts,
    k: u32,
) -> Result<(), PlotError> {
    let n = t.total();
    let bar_w = CELL_W - 16 - COUNT_W;
    if n > 0 {
        let mut at = 0;
        for v in ChartOutcome::ALL {
            let c = t.get(v);
            if c == 0 {
                continue;
            }
            let px = |k: u32| (k as f64 / n as f64 * bar_w as f64).round() as i32;
            let (start, end) = (px(at), px(at + c));
            area.draw(&Rectangle::new(
                [(x + start, y), (x + end, y + BAR_H)],
                v.color().filled(),
            ))?;
            at += c;
        }
    }
    area.draw(&Rectangle::new([(x, y), (x + bar_w, y + BAR_H)], MISS))?;
    let text = if n == 0 {
        "–".to_string()
    } else {
        format!("{k}/{n}")
    };
    area.draw(&Text::new(
        text,
        (x + bar_w + 5, y + BAR_H / 2),
        colored(anchored(font(SMALL + 1.0), HPos::Left, VPos::Center), INK),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_snapshot() {
        let mut a = MatrixCell::default();
        for v in [
            ChartOutcome::InTime,
            ChartOutcome::InTime,
            ChartOutcome::Late,
            ChartOutcome::Missed,
        ] {
            a.leaking.add(v);
        }
        a.negative.add(ChartOutcome::Quiet);
        a.negative.add(ChartOutcome::FalseAlarm);
        let m = DetectionMatrix {
            title: "Outcomes by detector and class".into(),
            rows: vec!["count".into(), "slope".into()],
            cols: vec!["goroutine".into(), "map".into()],
            cells: vec![
                vec![a.clone(), MatrixCell::default()],
                vec![a, MatrixCell::default()],
            ],
        };
        crate::present::plot::tests::snapshot(
            "matrix.svg",
            &crate::present::plot::svg(&m).unwrap(),
        );
    }
}
