//! Threshold sweep: one small panel per detector, recall and false-alarm rate as the
//! detector's primary threshold is scaled (log axis, 1× = its default). The numbers are the
//! evaluation's (`sweep.csv`, [`crate::evaluate::sweep`]); this file only draws them.

use super::{font, legend_row, tick, Chart, PlotError, Swatch, GRID, INK};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Recall and false-alarm rate at one threshold scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// Multiplier of the default threshold (> 0).
    pub scale: f64,
    /// Leaking repetitions detected after onset ÷ leaking repetitions, in `0..=1`.
    pub recall: f64,
    /// Repetitions with an alarm before onset or on a non-leaking scenario ÷ all
    /// repetitions, in `0..=1`.
    pub false_alarm_rate: f64,
}

/// One detector's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepCurve {
    pub detector: String,
    /// Points in increasing scale.
    pub points: Vec<SweepPoint>,
}

/// The sweep chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub title: String,
    /// What the scale multiplies, in one line.
    pub subtitle: String,
    pub curves: Vec<SweepCurve>,
}

const COLS: usize = 4;
const PANEL_W: u32 = 270;
const PANEL_H: u32 = 210;
const HEAD_H: u32 = 86;
const RECALL: RGBColor = RGBColor(0, 114, 178);
const FALSE_ALARM: RGBColor = super::BAD;

impl Chart for Sweep {
    fn size(&self) -> (u32, u32) {
        let rows = self.curves.len().div_ceil(COLS).max(1) as u32;
        (COLS as u32 * PANEL_W, HEAD_H + rows * PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (head, body) = area.split_vertically(HEAD_H);
        head.draw(&Text::new(self.title.clone(), (16, 10), font(18.0)))?;
        head.draw(&Text::new(self.subtitle.clone(), (16, 36), font(13.0)))?;
        let (_, legend) = head.split_vertically(56);
        legend_row(
            &legend,
            &[
                (
                    "recall (leaks found after onset)".into(),
                    RECALL,
                    Swatch::Line,
                ),
                ("false-alarm rate".into(), FALSE_ALARM, Swatch::Line),
                ("default threshold (1×)".into(), INK, Swatch::Dashed),
            ],
        )?;
        let rows = self.curves.len().div_ceil(COLS).max(1);
        let panels = body.split_evenly((rows, COLS));
        for (c, p) in self.curves.iter().zip(panels.iter()) {
            panel(p, c)?;
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &SweepCurve,
) -> Result<(), PlotError> {
    let lo = c.points.iter().map(|p| p.scale).fold(1.0f64, f64::min);
    let hi = c.points.iter().map(|p| p.scale).fold(1.0f64, f64::max);
    let (lo, hi) = (lo / 1.15, hi * 1.15);
    let mut ch = ChartBuilder::on(area)
        .caption(&c.detector, font(14.0))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(34)
        .y_label_area_size(40)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(powers_of_two(lo, hi)),
            -0.04..1.04,
        )?;
    ch.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|v| scale_label(*v))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_desc("threshold scale")
        .label_style(font(11.0))
        .axis_desc_style(font(11.0))
        .draw()?;
    ch.draw_series(DashedLineSeries::new(
        vec![(1.0, -0.04), (1.0, 1.04)],
        5,
        4,
        INK.stroke_width(1),
    ))?;
    // Recall wide and beneath, false alarms narrow on top: where they coincide both show.
    for (color, width, f) in [
        (
            RECALL,
            4,
            (|p: &SweepPoint| p.recall) as fn(&SweepPoint) -> f64,
        ),
        (FALSE_ALARM, 2, |p: &SweepPoint| p.false_alarm_rate),
    ] {
        ch.draw_series(LineSeries::new(
            c.points.iter().map(|p| (p.scale, f(p))),
            color.stroke_width(width),
        ))?;
        ch.draw_series(
            c.points
                .iter()
                .map(|p| Circle::new((p.scale, f(p)), width, color.filled())),
        )?;
    }
    Ok(())
}

/// Ticks at 2^k inside `lo..=hi`: readable on a log axis. Past five ticks only even k
/// (powers of 4, always including 1×), so labels do not run into each other.
fn powers_of_two(lo: f64, hi: f64) -> Vec<f64> {
    let all: Vec<i32> = (-10..=10)
        .filter(|k| (lo..=hi).contains(&2f64.powi(*k)))
        .collect();
    let step = if all.len() > 5 { 2 } else { 1 };
    all.into_iter()
        .filter(|k| k % step == 0)
        .map(|k| 2f64.powi(k))
        .collect()
}

/// `4×`, `1×`, `1/4×`: a threshold scale as people say it.
fn scale_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{}×", tick(v))
    } else {
        format!("1/{}×", tick(1.0 / v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_ticks_stay_apart() {
        assert_eq!(powers_of_two(0.4, 2.5), vec![0.5, 1.0, 2.0]);
        assert_eq!(
            powers_of_two(0.05, 20.0),
            vec![0.0625, 0.25, 1.0, 4.0, 16.0]
        );
        assert_eq!(scale_label(0.0625), "1/16×");
        assert_eq!(scale_label(4.0), "4×");
    }

    #[test]
    fn svg_snapshot() {
        let pts = |r: [f64; 3], f: [f64; 3]| {
            [0.5, 1.0, 2.0]
                .iter()
                .enumerate()
                .map(|(i, &scale)| SweepPoint {
                    scale,
                    recall: r[i],
                    false_alarm_rate: f[i],
                })
                .collect()
        };
        let s = Sweep {
            title: "Threshold sweep".into(),
            subtitle: "replayed over 4 repetitions".into(),
            curves: vec![
                SweepCurve {
                    detector: "count".into(),
                    points: pts([1.0, 0.75, 0.5], [0.5, 0.25, 0.0]),
                },
                SweepCurve {
                    detector: "slope".into(),
                    points: pts([1.0, 1.0, 0.25], [0.25, 0.0, 0.0]),
                },
            ],
        };
        crate::present::plot::tests::snapshot("sweep.svg", &crate::present::plot::svg(&s).unwrap());
    }
}
