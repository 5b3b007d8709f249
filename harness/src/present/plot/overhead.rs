//! Overhead: the fixture's throughput while sampled ÷ unsampled, one row per fixture × probe
//! set × interval, as the range over repetitions (min to max) with the median marked, beside
//! the target line.

use super::{
    anchored, font, legend_height, legend_row, text_width, tick, Chart, PlotError, Swatch, GRID,
    INK, SMALL, TITLE,
};
use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One fixture × probe set × interval over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct OverheadRow {
    pub label: String,
    pub reps: usize,
    /// Throughput sampled ÷ unsampled: 1 = free, 0.98 = 2% of the work lost.
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// The overhead chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    pub title: String,
    pub rows: Vec<OverheadRow>,
    /// The ratio the default probe set must reach, drawn as a line.
    pub target: Option<f64>,
}

const ROW_H: u32 = 28;
const TITLE_H: u32 = 44;
const FOOT_H: u32 = 70;
/// Fits the column of a page 800 px wide (margins and a scroll bar taken) at its natural size.
const WIDTH: u32 = 750;
const RANGE: RGBColor = RGBColor(0, 114, 178);

impl Chart for Overhead {
    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            self.head_h() + self.rows.len().max(1) as u32 * ROW_H + FOOT_H,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (head, body) = area.split_vertically(self.head_h());
        head.draw(&Text::new(self.title.clone(), (16, 10), font(TITLE)))?;
        let (_, legend) = head.split_vertically(TITLE_H);
        legend_row(&legend, &self.legend_items())?;
        self.draw_rows(&body)
    }
}

impl Overhead {
    fn head_h(&self) -> u32 {
        TITLE_H + legend_height(&self.legend_items(), WIDTH as i32) as u32 + 6
    }

    fn legend_items(&self) -> Vec<(String, RGBColor, Swatch)> {
        let mut items = vec![
            (
                "min to max over repetitions".to_string(),
                RANGE,
                Swatch::Line,
            ),
            ("median".to_string(), INK, Swatch::Marker),
        ];
        if let Some(t) = self.target {
            items.push((
                format!("target: {}% (default probes every 1 s)", tick(t * 100.0)),
                super::BAD,
                Swatch::Dashed,
            ));
        }
        items
    }

    fn draw_rows<DB: DrawingBackend>(
        &self,
        body: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let n = self.rows.len().max(1) as i32;
        let lo = self
            .rows
            .iter()
            .map(|r| r.min)
            .chain(self.target)
            .fold(1.0f64, f64::min);
        let hi = self.rows.iter().map(|r| r.max).fold(1.0f64, f64::max);
        let pad = ((hi - lo) * 0.08).max(0.005);
        // Room right of the widest bar for its median label.
        let right = (hi - lo + 2.0 * pad) * 0.3;
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let label = move |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => labels
                .get((n - 1 - i) as usize)
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        let w = self
            .rows
            .iter()
            .map(|r| text_width(&r.label, SMALL + 1.0))
            .max()
            .unwrap_or(80) as u32
            + 12;
        let mut c = ChartBuilder::on(body)
            .margin_left(8)
            .margin_right(30)
            .margin_bottom(10)
            .x_label_area_size(50)
            .y_label_area_size(w.max(120))
            .build_cartesian_2d((lo - pad)..(hi + pad + right), (0..n - 1).into_segmented())?;
        c.configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(7)
            .y_labels(n as usize)
            .x_label_formatter(&|v| format!("{:.1}%", v * 100.0))
            .y_label_formatter(&label)
            .x_desc("throughput while sampled ÷ unsampled (100% = no cost)")
            .label_style(font(SMALL + 1.0))
            .axis_desc_style(font(SMALL + 1.0))
            .draw()?;
        if let Some(t) = self.target {
            c.draw_series(DashedLineSeries::new(
                vec![(t, SegmentValue::Exact(0)), (t, SegmentValue::Last)],
                6,
                4,
                super::BAD.stroke_width(2),
            ))?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - 1 - i as i32);
            c.draw_series(std::iter::once(PathElement::new(
                vec![(r.min, y.clone()), (r.max, y.clone())],
                RANGE.stroke_width(3),
            )))?;
            c.draw_series(std::iter::once(TriangleMarker::new(
                (r.median, y.clone()),
                6,
                INK.filled(),
            )))?;
            c.draw_series(std::iter::once(
                EmptyElement::at((r.max, y))
                    + Text::new(
                        format!("median {:.1}%, n={}", r.median * 100.0, r.reps),
                        (8, 0),
                        anchored(font(SMALL), HPos::Left, VPos::Center),
                    ),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_snapshot() {
        let o = Overhead {
            title: "Sampling overhead".into(),
            rows: vec![
                OverheadRow {
                    label: "fx · default · 1 s".into(),
                    reps: 3,
                    min: 0.97,
                    median: 0.985,
                    max: 0.99,
                },
                OverheadRow {
                    label: "fx · all · 0.5 s".into(),
                    reps: 3,
                    min: 0.9,
                    median: 0.93,
                    max: 0.95,
                },
            ],
            target: Some(0.98),
        };
        crate::present::plot::tests::snapshot(
            "overhead.svg",
            &crate::present::plot::svg(&o).unwrap(),
        );
    }
}
