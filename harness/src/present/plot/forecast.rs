//! Time to OOM: one panel per repetition killed at its memory cap, the predicted time of death
//! of each forecaster against the time the forecast was made, beside the actual kill and the
//! band within 20% of the time left. The numbers are the evaluation's (`forecast-points.csv`,
//! [`crate::evaluate::forecast`]); this file only draws them.

use super::{font, legend_row, tick, Chart, PlotError, Swatch, GRID, INK};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One forecaster's forecasts in one repetition: `(made at, predicted death)`, seconds since
/// spawn, in increasing time; a forecast of "never" is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastLine {
    pub forecaster: String,
    pub points: Vec<(f64, f64)>,
}

/// One killed repetition.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastPanel {
    /// e.g. `oom-map-gogc-50 #0 · GOGC=50`.
    pub label: String,
    /// The actual kill, seconds since spawn.
    pub killed_s: f64,
    /// Tolerance as a fraction of the time left (0.2).
    pub tolerance: f64,
    pub lines: Vec<ForecastLine>,
}

/// The chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub title: String,
    pub subtitle: String,
    pub panels: Vec<ForecastPanel>,
}

const COLS: usize = 2;
const PANEL_W: u32 = 480;
const PANEL_H: u32 = 300;
const HEAD_H: u32 = 86;
/// One colour per forecaster, in the order of the panel's lines (Okabe-Ito).
const LINE_COLORS: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];
const BAND: RGBColor = RGBColor(225, 225, 225);

impl Chart for Forecast {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(COLS).max(1) as u32;
        (COLS as u32 * PANEL_W, HEAD_H + rows * PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (head, body) = area.split_vertically(HEAD_H);
        head.draw(&Text::new(self.title.clone(), (16, 10), font(18.0)))?;
        head.draw(&Text::new(self.subtitle.clone(), (16, 36), font(13.0)))?;
        let (_, legend) = head.split_vertically(56);
        let mut items: Vec<(String, RGBColor, Swatch)> = self
            .panels
            .first()
            .map(|p| {
                p.lines
                    .iter()
                    .zip(LINE_COLORS.iter().cycle())
                    .map(|(l, c)| (l.forecaster.clone(), *c, Swatch::Line))
                    .collect()
            })
            .unwrap_or_default();
        items.push(("actual kill".into(), INK, Swatch::Dashed));
        items.push(("within 20% of the time left".into(), BAND, Swatch::Box));
        legend_row(&legend, &items)?;
        let rows = self.panels.len().div_ceil(COLS).max(1);
        let cells = body.split_evenly((rows, COLS));
        for (p, cell) in self.panels.iter().zip(cells.iter()) {
            panel(cell, p)?;
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &ForecastPanel,
) -> Result<(), PlotError> {
    let t_lo = p
        .lines
        .iter()
        .flat_map(|l| l.points.first().map(|x| x.0))
        .fold(p.killed_s, f64::min);
    let x_range = t_lo.min(0.0)..p.killed_s * 1.02;
    // Forecasts far from the kill would squash the band; the view shows up to 3× the kill.
    let y_range = 0.0..p.killed_s * 3.0;
    let mut ch = ChartBuilder::on(area)
        .caption(&p.label, font(14.0))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(x_range.clone(), y_range.clone())?;
    ch.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .x_desc("forecast made at, s")
        .y_desc("predicted death, s")
        .label_style(font(11.0))
        .axis_desc_style(font(11.0))
        .draw()?;
    let band = |t: f64, sign: f64| p.killed_s + sign * p.tolerance * (p.killed_s - t);
    let (a, b) = (x_range.start, p.killed_s);
    ch.draw_series(std::iter::once(Polygon::new(
        vec![(a, band(a, 1.0)), (b, band(b, 1.0)), (a, band(a, -1.0))],
        BAND.filled(),
    )))?;
    ch.draw_series(DashedLineSeries::new(
        vec![(x_range.start, p.killed_s), (x_range.end, p.killed_s)],
        5,
        4,
        INK.stroke_width(1),
    ))?;
    let (y_lo, y_hi) = (y_range.start, y_range.end);
    for (l, color) in p.lines.iter().zip(LINE_COLORS.iter().cycle()) {
        ch.draw_series(LineSeries::new(
            l.points.iter().map(|&(t, y)| (t, y.clamp(y_lo, y_hi))),
            color.stroke_width(2),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_panel_per_killed_repetition_with_its_forecasters() {
        let line = |name: &str, lag: f64| ForecastLine {
            forecaster: name.into(),
            points: (8..40)
                .map(|i| {
                    let t = i as f64 * 0.5;
                    (t, 20.0 + lag * (20.0 - t) / 20.0)
                })
                .collect(),
        };
        let panel = |label: &str| ForecastPanel {
            label: label.into(),
            killed_s: 20.0,
            tolerance: 0.2,
            lines: vec![line("least-squares", 8.0), line("theil-sen", 2.0)],
        };
        let c = Forecast {
            title: "Time to OOM".into(),
            subtitle: "predicted vs actual time of death".into(),
            panels: vec![panel("leak #0 · GOGC=50"), panel("leak #0 · GOGC=off")],
        };
        assert_eq!(c.size(), (960, 86 + 300));
        let svg = crate::present::plot::svg(&c).unwrap();
        for s in ["least-squares", "theil-sen", "GOGC=off", "actual kill"] {
            assert!(svg.contains(s), "{s}");
        }
        // Two forecasters in each of two panels, plus the kill line and the band.
        assert!(svg.matches("<polyline").count() >= 4, "{svg}");
        assert!(!crate::present::plot::png(&c).unwrap().is_empty());
    }
}
