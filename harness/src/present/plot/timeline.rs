//! Timeline of one repetition: metrics over time as small multiples, the measured onset as a
//! vertical line, the warm-up shaded, and beneath them one row per detector with its first
//! alarm as a marker.
//!
//! Takes plain series (names, units, points) and markers; which metrics a scenario's timeline
//! shows is the caller's choice ([`crate::present::report::panels`]).

use super::{
    anchored, colored, font, legend_row, tick, Chart, ChartOutcome, PlotError, Swatch, Unit, GRID,
    INK, ONSET,
};
use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// `(seconds since spawn, value in base units)`, times increasing.
    pub points: Vec<(f64, f64)>,
}

/// One small multiple: series that share a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub unit: Unit,
    pub series: Vec<Series>,
}

/// A detector's row in the alarm strip.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRow {
    pub detector: String,
    /// First alarm, seconds since spawn; `None`: the detector stayed silent.
    pub t_s: Option<f64>,
    pub outcome: ChartOutcome,
}

/// The timeline chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub title: String,
    pub subtitle: String,
    /// The x axis ends here (seconds).
    pub end_s: f64,
    pub warmup_s: f64,
    pub onset_s: Option<f64>,
    pub panels: Vec<Panel>,
    pub alarms: Vec<AlarmRow>,
}

const WIDTH: u32 = 1000;
const TITLE_H: u32 = 64;
const LEGEND_H: u32 = 26;
const PANEL_HEAD_H: u32 = 24;
const PANEL_H: u32 = 170;
const ROW_H: u32 = 20;
const STRIP_EXTRA_H: u32 = 70;
/// Room for detector names left of the alarm strip; the panels above indent to align.
const Y_LABELS_W: u32 = 175;
const PANEL_Y_LABELS_W: u32 = 70;

impl Timeline {
    fn strip_h(&self) -> u32 {
        self.alarms.len().max(1) as u32 * ROW_H + STRIP_EXTRA_H
    }
}

impl Chart for Timeline {
    fn size(&self) -> (u32, u32) {
        let panels = self.panels.len() as u32 * (PANEL_HEAD_H + PANEL_H);
        (
            WIDTH,
            TITLE_H + LEGEND_H + panels + PANEL_HEAD_H + self.strip_h(),
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, rest) = area.split_vertically(TITLE_H);
        title.draw(&Text::new(self.title.clone(), (16, 12), font(20.0)))?;
        title.draw(&Text::new(self.subtitle.clone(), (16, 40), font(14.0)))?;
        let (legend, mut rest) = rest.split_vertically(LEGEND_H);
        let mut items = vec![];
        if self.onset_s.is_some() {
            items.push(("measured leak onset".to_string(), ONSET, Swatch::Dashed));
        }
        if self.warmup_s > 0.0 {
            items.push((
                "warm-up (not shown to detectors)".to_string(),
                RGBColor(238, 238, 238),
                Swatch::Box,
            ));
        }
        for v in [
            ChartOutcome::InTime,
            ChartOutcome::Late,
            ChartOutcome::FalseAlarm,
        ] {
            if self
                .alarms
                .iter()
                .any(|a| a.t_s.is_some() && a.outcome == v)
            {
                items.push((format!("alarm: {}", v.label()), v.color(), Swatch::Marker));
            }
        }
        legend_row(&legend, &items)?;
        let end = self.end_s.max(1.0);
        for p in &self.panels {
            let (head, r) = rest.split_vertically(PANEL_HEAD_H);
            let (body, r) = r.split_vertically(PANEL_H);
            rest = r;
            self.draw_panel(&head, &body, p, end)?;
        }
        let (head, strip) = rest.split_vertically(PANEL_HEAD_H);
        head.draw(&Text::new(
            "First alarm of each detector".to_string(),
            (8, 4),
            font(14.0),
        ))?;
        self.draw_strip(&strip, end)
    }
}

impl Timeline {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        head: &DrawingArea<DB, Shift>,
        body: &DrawingArea<DB, Shift>,
        p: &Panel,
        end: f64,
    ) -> Result<(), PlotError> {
        let mut items = vec![(format!("{}:", p.title), WHITE, Swatch::Line)];
        items.extend(
            p.series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.label.clone(), super::SERIES[i % 6], Swatch::Line)),
        );
        legend_row(head, &items)?;
        let ymax = p
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|&(_, v)| p.unit.scale(v)))
            .fold(0.0f64, f64::max);
        let ymin = p
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|&(_, v)| p.unit.scale(v)))
            .fold(0.0f64, f64::min);
        let ymax = if ymax > ymin { ymax * 1.08 } else { ymin + 1.0 };
        let mut c = ChartBuilder::on(body)
            .margin_left(8 + Y_LABELS_W - PANEL_Y_LABELS_W)
            .margin_right(24)
            .margin_top(4)
            .x_label_area_size(26)
            .y_label_area_size(PANEL_Y_LABELS_W)
            .build_cartesian_2d(0.0..end, ymin..ymax)?;
        c.configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(12)
            .y_labels(5)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .y_desc(p.unit.axis())
            .label_style(font(12.0))
            .axis_desc_style(font(13.0))
            .draw()?;
        if self.warmup_s > 0.0 {
            c.draw_series(std::iter::once(Rectangle::new(
                [(0.0, ymin), (self.warmup_s.min(end), ymax)],
                RGBColor(238, 238, 238).filled(),
            )))?;
        }
        for (i, s) in p.series.iter().enumerate() {
            let color = super::SERIES[i % 6];
            c.draw_series(LineSeries::new(
                s.points.iter().map(|&(t, v)| (t, p.unit.scale(v))),
                color.stroke_width(2),
            ))?;
        }
        if let Some(on) = self.onset_s {
            c.draw_series(DashedLineSeries::new(
                vec![(on, ymin), (on, ymax)],
                6,
                4,
                ONSET.stroke_width(2),
            ))?;
        }
        Ok(())
    }

    fn draw_strip<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        end: f64,
    ) -> Result<(), PlotError> {
        let n = self.alarms.len().max(1) as i32;
        let names: Vec<String> = self.alarms.iter().map(|a| a.detector.clone()).collect();
        // Row 0 at the top: the first detector in report order.
        let label = move |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => {
                names.get((n - 1 - i) as usize).cloned().unwrap_or_default()
            }
            _ => String::new(),
        };
        let mut c = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(44)
            .y_label_area_size(Y_LABELS_W)
            .build_cartesian_2d(0.0..end, (0..n - 1).into_segmented())?;
        c.configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(12)
            .y_labels(n as usize)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&label)
            .x_desc("time since the fixture started (s)")
            .label_style(font(12.0))
            .axis_desc_style(font(13.0))
            .draw()?;
        let row = |i: usize| SegmentValue::CenterOf(n - 1 - i as i32);
        if self.warmup_s > 0.0 {
            c.draw_series(std::iter::once(Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(0)),
                    (self.warmup_s.min(end), SegmentValue::Last),
                ],
                RGBColor(238, 238, 238).filled(),
            )))?;
        }
        if let Some(on) = self.onset_s {
            c.draw_series(DashedLineSeries::new(
                vec![(on, SegmentValue::Exact(0)), (on, SegmentValue::Last)],
                6,
                4,
                ONSET.stroke_width(2),
            ))?;
        }
        let f = anchored(font(11.0), HPos::Left, VPos::Center);
        for (i, a) in self.alarms.iter().enumerate() {
            match a.t_s {
                Some(t) => {
                    let text = match self.onset_s {
                        Some(on) if t >= on => {
                            format!("{} s ({} s after onset)", tick(t), tick(t - on))
                        }
                        Some(on) => format!("{} s ({} s before onset)", tick(t), tick(on - t)),
                        None => format!("{} s", tick(t)),
                    };
                    // Near the right edge the label goes left of the marker, inside the plot.
                    let (dx, side) = if t > 0.7 * end {
                        (-10, HPos::Right)
                    } else {
                        (10, HPos::Left)
                    };
                    c.draw_series(std::iter::once(
                        EmptyElement::at((t, row(i)))
                            + TriangleMarker::new((0, 0), 6, a.outcome.color().filled())
                            + Text::new(text, (dx, 0), anchored(font(11.0), side, VPos::Center)),
                    ))?;
                }
                None => {
                    c.draw_series(std::iter::once(
                        EmptyElement::at((0.0, row(i)))
                            + Text::new("no alarm", (6, 0), colored(f.clone(), super::MISS)),
                    ))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Timeline {
        let ramp = |k: f64| {
            (0..=10)
                .map(|i| (i as f64, k * (i as f64).max(3.0)))
                .collect()
        };
        Timeline {
            title: "goroutine-tiny (rep 0)".into(),
            subtitle: "class goroutine · leaking · onset 3 s".into(),
            end_s: 10.0,
            warmup_s: 1.0,
            onset_s: Some(3.0),
            panels: vec![Panel {
                title: "Goroutines".into(),
                unit: Unit::Count("goroutines"),
                series: vec![Series {
                    label: "all goroutines".into(),
                    points: ramp(10.0),
                }],
            }],
            alarms: vec![
                AlarmRow {
                    detector: "count".into(),
                    t_s: Some(5.0),
                    outcome: ChartOutcome::InTime,
                },
                AlarmRow {
                    detector: "slope".into(),
                    t_s: None,
                    outcome: ChartOutcome::Missed,
                },
            ],
        }
    }

    #[test]
    fn svg_snapshot() {
        crate::present::plot::tests::snapshot(
            "timeline.svg",
            &crate::present::plot::svg(&tiny()).unwrap(),
        );
    }
}
