//! Timeline of one repetition: metrics over time as small multiples, the measured onset as a
//! vertical line, the warm-up shaded, and beneath them one row per detector with its first
//! alarm as a marker.
//!
//! Takes plain series (names, units, points) and markers; which metrics a scenario's timeline
//! shows is the caller's choice ([`crate::present::report::panels`]).

use super::{
    anchored, colored, font, legend_height, legend_row, text_width, tick, wrap, Chart,
    ChartOutcome, PlotError, Swatch, Unit, GRID, INK, ONSET, SMALL, TEXT, TITLE,
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
    /// How the row was judged; `None`: not judged (a live recording has no ground truth), drawn
    /// in neutral ink.
    pub outcome: Option<ChartOutcome>,
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
    /// What `t = 0` is, for the time axis: [`FIXTURE_START`] for a scenario's repetition.
    pub since: &'static str,
}

/// The time axis's origin for a repetition the harness started.
pub const FIXTURE_START: &str = "the fixture started";

/// Fits the column of a page 800 px wide (margins and a scroll bar taken) at its natural size.
const WIDTH: u32 = 750;
const SUBTITLE_LINE_H: u32 = 20;
const PANEL_H: u32 = 170;
const ROW_H: u32 = 22;
const STRIP_EXTRA_H: u32 = 76;
const PANEL_Y_LABELS_W: u32 = 70;

impl Timeline {
    fn strip_h(&self) -> u32 {
        self.alarms.len().max(1) as u32 * ROW_H + STRIP_EXTRA_H
    }

    fn subtitle_lines(&self) -> Vec<String> {
        wrap(&self.subtitle, TEXT, WIDTH as i32 - 32)
    }

    fn title_h(&self) -> u32 {
        44 + self.subtitle_lines().len() as u32 * SUBTITLE_LINE_H
    }

    /// Room for detector names left of the alarm strip; the panels above indent to align.
    fn y_labels_w(&self) -> u32 {
        let names = self
            .alarms
            .iter()
            .map(|a| text_width(&a.detector, SMALL + 1.0));
        names.max().unwrap_or(60).max(PANEL_Y_LABELS_W as i32) as u32 + 16
    }

    fn legend_items(&self) -> Vec<(String, RGBColor, Swatch)> {
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
                .any(|a| a.t_s.is_some() && a.outcome == Some(v))
            {
                items.push((format!("alarm: {}", v.label()), v.color(), Swatch::Marker));
            }
        }
        if self
            .alarms
            .iter()
            .any(|a| a.t_s.is_some() && a.outcome.is_none())
        {
            items.push((
                "first alarm (not judged: no ground truth)".to_string(),
                INK,
                Swatch::Marker,
            ));
        }
        items
    }

    fn panel_items(p: &Panel) -> Vec<(String, RGBColor, Swatch)> {
        let mut items = vec![(format!("{}:", p.title), WHITE, Swatch::Line)];
        items.extend(
            p.series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.label.clone(), super::SERIES[i % 6], Swatch::Line)),
        );
        items
    }
}

impl Chart for Timeline {
    fn size(&self) -> (u32, u32) {
        let w = WIDTH as i32;
        let panels: u32 = self
            .panels
            .iter()
            .map(|p| legend_height(&Timeline::panel_items(p), w) as u32 + PANEL_H)
            .sum();
        (
            WIDTH,
            self.title_h()
                + legend_height(&self.legend_items(), w) as u32
                + panels
                + super::LEGEND_LINE_H as u32
                + self.strip_h(),
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let w = WIDTH as i32;
        let (title, rest) = area.split_vertically(self.title_h());
        title.draw(&Text::new(self.title.clone(), (16, 12), font(TITLE)))?;
        for (k, line) in self.subtitle_lines().into_iter().enumerate() {
            let y = 42 + k as i32 * SUBTITLE_LINE_H as i32;
            title.draw(&Text::new(line, (16, y), font(TEXT)))?;
        }
        let items = self.legend_items();
        let (legend, mut rest) = rest.split_vertically(legend_height(&items, w));
        legend_row(&legend, &items)?;
        let end = self.end_s.max(1.0);
        for p in &self.panels {
            let (head, r) = rest.split_vertically(legend_height(&Timeline::panel_items(p), w));
            let (body, r) = r.split_vertically(PANEL_H);
            rest = r;
            self.draw_panel(&head, &body, p, end)?;
        }
        let (head, strip) = rest.split_vertically(super::LEGEND_LINE_H);
        head.draw(&Text::new(
            "First alarm of each detector".to_string(),
            (8, 4),
            font(TEXT),
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
        legend_row(head, &Timeline::panel_items(p))?;
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
            .margin_left(8 + self.y_labels_w() - PANEL_Y_LABELS_W)
            .margin_right(24)
            .margin_top(4)
            .x_label_area_size(26)
            .y_label_area_size(PANEL_Y_LABELS_W)
            .build_cartesian_2d(0.0..end, ymin..ymax)?;
        c.configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(10)
            .y_labels(5)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .y_desc(p.unit.axis())
            .label_style(font(SMALL + 1.0))
            .axis_desc_style(font(SMALL + 1.0))
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
            .y_label_area_size(self.y_labels_w())
            .build_cartesian_2d(0.0..end, (0..n - 1).into_segmented())?;
        c.configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(10)
            .y_labels(n as usize)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&label)
            .x_desc(format!("time since {} (s)", self.since))
            .label_style(font(SMALL + 1.0))
            .axis_desc_style(font(SMALL + 1.0))
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
        let f = anchored(font(SMALL), HPos::Left, VPos::Center);
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
                    let (dx, side) = if t > 0.6 * end {
                        (-10, HPos::Right)
                    } else {
                        (10, HPos::Left)
                    };
                    c.draw_series(std::iter::once(
                        EmptyElement::at((t, row(i)))
                            + TriangleMarker::new(
                                (0, 0),
                                6,
                                a.outcome.map_or(INK, ChartOutcome::color).filled(),
                            )
                            + Text::new(text, (dx, 0), anchored(font(SMALL), side, VPos::Center)),
                    ))?;
                }
                None => {
                    c.draw_series(std::iter::once(
                        EmptyElement::at((0.0, row(i)))
                            + Text::new(
                                "no alarm",
                                (6, 0),
                                // Silence is a miss only where a leak was known.
                                colored(f.clone(), a.outcome.map_or(INK, |_| super::MISS)),
                            ),
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
                    outcome: Some(ChartOutcome::InTime),
                },
                AlarmRow {
                    detector: "slope".into(),
                    t_s: None,
                    outcome: Some(ChartOutcome::Missed),
                },
            ],
            since: FIXTURE_START,
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
