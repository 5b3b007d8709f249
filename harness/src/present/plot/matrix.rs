//! Detection matrix: one row per detector, one column per leak class. Each cell has two bars:
//! the leaking repetitions of that class split by outcome (in time, late, missed, alarm before
//! onset), and the non-leaking ones (twins, hard negatives) split into quiet and false alarm.

use super::{anchored, colored, font, Chart, ChartOutcome, OutcomeCounts, PlotError, INK, MISS};
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

const LABEL_W: i32 = 190;
const CELL_W: i32 = 184;
const CELL_H: i32 = 50;
const TITLE_H: i32 = 44;
const HEAD_H: i32 = 28;
const LEGEND_H: i32 = 70;
const PAD: i32 = 16;
const TEXT_W: i32 = 88;

impl Chart for DetectionMatrix {
    fn size(&self) -> (u32, u32) {
        let w = PAD + LABEL_W + self.cols.len() as i32 * CELL_W + PAD;
        let h = TITLE_H + HEAD_H + self.rows.len() as i32 * CELL_H + LEGEND_H;
        (w.max(760) as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        area.draw(&Text::new(self.title.clone(), (PAD, 12), font(18.0)))?;
        let x0 = PAD + LABEL_W;
        let y0 = TITLE_H + HEAD_H;
        let center = anchored(font(14.0), HPos::Center, VPos::Bottom);
        for (j, c) in self.cols.iter().enumerate() {
            let x = x0 + j as i32 * CELL_W + CELL_W / 2;
            area.draw(&Text::new(c.clone(), (x, y0 - 6), center.clone()))?;
        }
        let right = anchored(font(13.0), HPos::Right, VPos::Center);
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
                let x = x0 + j as i32 * CELL_W + 6;
                bar(area, (x, y + 6), "found", &c.leaking, c.leaking.detected())?;
                bar(
                    area,
                    (x, y + 27),
                    "false alarm",
                    &c.negative,
                    c.negative.false_alarms,
                )?;
            }
        }
        let mut lx = PAD;
        let ly = y0 + self.rows.len() as i32 * CELL_H + 20;
        let mid = anchored(font(12.0), HPos::Left, VPos::Center);
        for v in ChartOutcome::ALL {
            area.draw(&Rectangle::new(
                [(lx, ly - 7), (lx + 14, ly + 7)],
                v.color().filled(),
            ))?;
            area.draw(&Text::new(v.label(), (lx + 20, ly), mid.clone()))?;
            lx += 20 + 8 * v.label().len() as i32 + 16;
        }
        area.draw(&Text::new(
            "per cell: \"found k/n\" over leaking repetitions of the class (a red part: alarm before the onset); \
             \"false alarm k/n\" over non-leaking ones",
            (PAD, ly + 18),
            font(12.0),
        ))?;
        Ok(())
    }
}

/// One count as `label k/n` and a bar split by outcome; a grey outline when `n` is 0.
fn bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    label: &str,
    t: &OutcomeCounts,
    k: u32,
) -> Result<(), PlotError> {
    let n = t.total();
    let bar_w = CELL_W - 12 - TEXT_W;
    let h = 15;
    let text = if n == 0 {
        format!("{label} –")
    } else {
        format!("{label} {k}/{n}")
    };
    area.draw(&Text::new(
        text,
        (x, y + h / 2),
        colored(anchored(font(11.0), HPos::Left, VPos::Center), INK),
    ))?;
    let bx = x + TEXT_W;
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
                [(bx + start, y), (bx + end, y + h)],
                v.color().filled(),
            ))?;
            at += c;
        }
    }
    area.draw(&Rectangle::new([(bx, y), (bx + bar_w, y + h)], MISS))?;
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
