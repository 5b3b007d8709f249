//! Threshold sweep, ROC-style: one small panel per detector, its recall against its
//! false-alarm rate at each scale of its primary threshold, joined in order of scale, the
//! default (1×) ringed, and the band of at most 5 % false alarms shaded. A detector whose
//! threshold changes nothing is one dot, said in words, not a flat line. The numbers are the
//! evaluation's (`sweep.csv`, [`crate::evaluate::sweep`]); this file only draws them.

use super::{
    anchored, font, legend_height, legend_row, tick, wrap, Chart, PlotError, Swatch, GRID, INK,
    SMALL, TEXT, TITLE,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

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
const PANEL_W: u32 = 178;
const PANEL_H: u32 = 214;
const PAD: i32 = 16;
const CURVE: RGBColor = RGBColor(0, 114, 178);
/// The false-alarm rate the report calls acceptable (its findings use the same 5 %).
pub const ACCEPTABLE_FALSE_ALARMS: f64 = 0.05;
const BAND: RGBColor = RGBColor(226, 242, 230);

impl Sweep {
    fn width(&self) -> i32 {
        COLS as i32 * PANEL_W as i32 + 2 * PAD
    }

    fn title_lines(&self) -> Vec<String> {
        wrap(&self.title, TITLE, self.width() - 2 * PAD)
    }

    fn subtitle_lines(&self) -> Vec<String> {
        wrap(&self.subtitle, TEXT, self.width() - 2 * PAD)
    }

    fn legend_items() -> Vec<(String, RGBColor, Swatch)> {
        vec![
            (
                "recall (up) against false-alarm rate (across), one point per scale".into(),
                CURVE,
                Swatch::Line,
            ),
            ("default threshold (1×)".into(), INK, Swatch::Marker),
            (
                format!("false alarms ≤ {}%", tick(ACCEPTABLE_FALSE_ALARMS * 100.0)),
                BAND,
                Swatch::Box,
            ),
        ]
    }

    fn head_h(&self) -> i32 {
        12 + self.title_lines().len() as i32 * 26
            + self.subtitle_lines().len() as i32 * 20
            + 6
            + legend_height(&Sweep::legend_items(), self.width() - PAD)
            + 6
    }
}

impl Chart for Sweep {
    fn size(&self) -> (u32, u32) {
        let rows = self.curves.len().div_ceil(COLS).max(1) as u32;
        (self.width() as u32, self.head_h() as u32 + rows * PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let mut y = 12;
        for line in self.title_lines() {
            area.draw(&Text::new(line, (PAD, y), font(TITLE)))?;
            y += 26;
        }
        for line in self.subtitle_lines() {
            area.draw(&Text::new(line, (PAD, y), font(TEXT)))?;
            y += 20;
        }
        let (head, body) = area.split_vertically(self.head_h());
        let legend = head.margin(y + 6, 0, PAD - 8, 0);
        legend_row(&legend, &Sweep::legend_items())?;
        let body = body.margin(0, 0, PAD, PAD);
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
    let mut ch = ChartBuilder::on(area)
        .caption(&c.detector, font(TEXT))
        .margin(6)
        .margin_right(14)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(-0.04..1.04, -0.04..1.04)?;
    ch.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .x_labels(3)
        .y_labels(3)
        .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_desc("false-alarm rate")
        .label_style(font(SMALL))
        .axis_desc_style(font(SMALL))
        .draw()?;
    ch.draw_series(std::iter::once(Rectangle::new(
        [(-0.04, -0.04), (ACCEPTABLE_FALSE_ALARMS, 1.04)],
        BAND.filled(),
    )))?;
    // Chance: a detector that alarms at random is on the diagonal.
    ch.draw_series(DashedLineSeries::new(
        vec![(0.0, 0.0), (1.0, 1.0)],
        4,
        4,
        RGBColor(170, 170, 170).stroke_width(1),
    ))?;
    let xy = |p: &SweepPoint| (p.false_alarm_rate, p.recall);
    ch.draw_series(LineSeries::new(
        c.points.iter().map(xy),
        CURVE.stroke_width(2),
    ))?;
    ch.draw_series(
        c.points
            .iter()
            .map(|p| Circle::new(xy(p), 3, CURVE.filled())),
    )?;
    if let Some(d) = c.points.iter().find(|p| p.scale == 1.0) {
        ch.draw_series(std::iter::once(TriangleMarker::new(xy(d), 7, INK.filled())))?;
    }
    let first = c.points.first().map(xy);
    if c.points.len() > 1 && c.points.iter().all(|p| Some(xy(p)) == first) {
        // Right of the band, above or below the point, where the point leaves room.
        let (_, y) = first.unwrap_or((0.0, 0.0));
        // Clear of the diagonal: low and right, or high and left.
        let (x, top) = if y > 0.5 { (0.62, 0.3) } else { (0.36, 0.85) };
        for (k, line) in ["same at", "every scale"].into_iter().enumerate() {
            ch.draw_series(std::iter::once(Text::new(
                line,
                (x, top - 0.13 * k as f64),
                anchored(font(SMALL), HPos::Center, VPos::Center),
            )))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
                SweepCurve {
                    detector: "flat".into(),
                    points: pts([0.5, 0.5, 0.5], [0.0, 0.0, 0.0]),
                },
            ],
        };
        crate::present::plot::tests::snapshot("sweep.svg", &crate::present::plot::svg(&s).unwrap());
    }
}
