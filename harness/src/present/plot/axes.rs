//! Latency along each matrix axis: one panel per axis swept (Go toolchain, GOGC, GOMEMLIMIT,
//! GOMAXPROCS), its values across in the order given, each detector's median latency up, one
//! line per detector, a value where it caught nothing left out (a gap, not a zero). The
//! numbers are the report's aggregates of `scores.csv`; this file only draws them.

use super::{
    font, legend_height, legend_row, tick, Chart, PlotError, Swatch, GRID, INK, TEXT, TITLE,
};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One detector's median latency at each value of one axis (`None`: no TP there).
#[derive(Debug, Clone, PartialEq)]
pub struct AxisLine {
    pub detector: String,
    /// Seconds, one per value of the panel, in its order.
    pub medians: Vec<Option<f64>>,
}

/// One axis.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisPanel {
    /// `GOGC`, `go`, ...
    pub axis: String,
    /// Its values, in the order drawn.
    pub values: Vec<String>,
    pub lines: Vec<AxisLine>,
}

/// The chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisLatency {
    pub title: String,
    pub subtitle: String,
    pub panels: Vec<AxisPanel>,
}

/// Panels side by side at most.
const COLS: usize = 2;
const PANEL_W: u32 = 440;
const PANEL_H: u32 = 300;
/// Wide enough for the legend even over one panel.
const MIN_WIDTH: u32 = 640;
const HEAD_H: i32 = 64;
/// Okabe-Ito and Tableau hues, enough for every shipped detector before one repeats.
const COLORS: [RGBColor; 14] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(40, 40, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(214, 39, 40),
    RGBColor(127, 127, 127),
    RGBColor(31, 119, 180),
];

impl AxisLatency {
    /// Every detector drawn in any panel, in first-seen order: the legend, one colour each.
    fn detectors(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for l in self.panels.iter().flat_map(|p| &p.lines) {
            if !out.contains(&l.detector.as_str()) {
                out.push(&l.detector);
            }
        }
        out
    }

    fn legend(&self) -> Vec<(String, RGBColor, Swatch)> {
        self.detectors()
            .iter()
            .zip(COLORS.iter().cycle())
            .map(|(d, c)| (d.to_string(), *c, Swatch::Line))
            .collect()
    }

    fn cols(&self) -> usize {
        self.panels.len().clamp(1, COLS)
    }

    fn width(&self) -> u32 {
        (self.cols() as u32 * PANEL_W).max(MIN_WIDTH)
    }

    fn legend_h(&self) -> i32 {
        legend_height(&self.legend(), self.width() as i32)
    }
}

impl Chart for AxisLatency {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols()).max(1) as u32;
        (
            self.width(),
            (HEAD_H + self.legend_h()) as u32 + rows * PANEL_H,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (head, body) = area.split_vertically(HEAD_H + self.legend_h());
        head.draw(&Text::new(self.title.clone(), (16, 10), font(TITLE)))?;
        head.draw(&Text::new(self.subtitle.clone(), (16, 36), font(TEXT)))?;
        let (_, legend) = head.split_vertically(HEAD_H);
        legend_row(&legend, &self.legend())?;
        let detectors = self.detectors();
        let rows = self.panels.len().div_ceil(self.cols()).max(1);
        let cells = body.split_evenly((rows, self.cols()));
        for (p, cell) in self.panels.iter().zip(cells.iter()) {
            panel(cell, p, &detectors)?;
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &AxisPanel,
    detectors: &[&str],
) -> Result<(), PlotError> {
    let n = p.values.len().max(1);
    let hi = p
        .lines
        .iter()
        .flat_map(|l| l.medians.iter().flatten())
        .fold(1.0_f64, |a, b| a.max(*b));
    let x_range = -0.5..(n as f64 - 0.5);
    let mut ch = ChartBuilder::on(area)
        .caption(&p.axis, font(14.0))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(x_range, 0.0..hi * 1.1)?;
    let values = p.values.clone();
    ch.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .x_labels(n)
        .y_labels(6)
        // Categories at whole positions: a value's label under it, nothing between.
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            values.get(i as usize).cloned().unwrap_or_default()
        })
        .y_label_formatter(&|v| tick(*v))
        .x_desc(format!("{} value", p.axis))
        .y_desc("median latency, s")
        .label_style(font(11.0))
        .axis_desc_style(font(11.0))
        .draw()?;
    for l in &p.lines {
        let k = detectors.iter().position(|d| *d == l.detector).unwrap_or(0);
        let color = COLORS[k % COLORS.len()];
        // Runs of consecutive values with a median are joined; a gap breaks the line.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut flush = |run: &mut Vec<(f64, f64)>| -> Result<(), PlotError> {
            if !run.is_empty() {
                ch.draw_series(LineSeries::new(run.clone(), color.stroke_width(2)))?;
                ch.draw_series(
                    run.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )?;
                run.clear();
            }
            Ok(())
        };
        for (i, m) in l.medians.iter().enumerate() {
            match m {
                Some(y) => run.push((i as f64, *y)),
                None => flush(&mut run)?,
            }
        }
        flush(&mut run)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> AxisLatency {
        AxisLatency {
            title: "Latency along each axis".into(),
            subtitle: "median over every scenario".into(),
            panels: vec![
                AxisPanel {
                    axis: "GOGC".into(),
                    values: vec!["50".into(), "100".into(), "off".into()],
                    lines: vec![
                        AxisLine {
                            detector: "det-a".into(),
                            medians: vec![Some(2.0), None, Some(4.5)],
                        },
                        AxisLine {
                            detector: "det-b".into(),
                            medians: vec![Some(1.0), Some(1.5), Some(2.0)],
                        },
                    ],
                },
                AxisPanel {
                    axis: "go".into(),
                    values: vec!["go1.26.8".into(), "go1.27.3".into()],
                    lines: vec![AxisLine {
                        detector: "det-b".into(),
                        medians: vec![Some(1.2), Some(1.1)],
                    }],
                },
            ],
        }
    }

    #[test]
    fn draws_a_panel_per_axis_with_its_values_and_detectors() {
        let c = chart();
        assert_eq!(c.detectors(), ["det-a", "det-b"]);
        let svg = crate::present::plot::svg(&c).unwrap();
        for s in [
            "GOGC value",
            "go value",
            "go1.27.3",
            "off",
            "det-a",
            "det-b",
            "median latency, s",
        ] {
            assert!(svg.contains(s), "{s} missing");
        }
        let (w, h) = c.size();
        assert_eq!(w, 2 * PANEL_W);
        let one = AxisLatency {
            panels: c.panels[..1].to_vec(),
            ..c.clone()
        };
        assert_eq!(one.size().0, MIN_WIDTH, "one axis: one panel wide, not two");
        assert!(h > PANEL_H, "{h}");
    }
}
