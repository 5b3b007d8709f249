//! The report's "Time to OOM" section and chart, from `forecast.csv` and
//! `forecast-points.csv` as [`crate::evaluate::forecast`] wrote them. A run without them (no
//! repetition was killed at its memory cap) gets neither: nothing is said about a death that
//! did not happen.
//!
//! Owns this section's words and the chart's data. Must not forecast or score (it reads the
//! evaluation's files), nor lay out the rest of the report.

use super::doc::Doc;
use crate::evaluate::forecast::{self, PointRow, SummaryRow};
use crate::fsio;
use crate::present::plot::forecast::{Forecast, ForecastLine, ForecastPanel};
use crate::run_dir::RunDir;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// The chart's file stem under `plots/`.
pub const STEM: &str = "time-to-oom";

/// The chart's data and the section, or `None` when the run has no `forecast.csv`.
pub fn section(run_dir: &Path) -> anyhow::Result<Option<(Forecast, Doc)>> {
    let run = RunDir::new(run_dir);
    let (summary, points) = (run.forecast_csv(), run.forecast_points_csv());
    if !summary.exists() {
        return Ok(None);
    }
    let read =
        |p: &Path| fsio::read_to_string(p).with_context(|| format!("reading '{}'", p.display()));
    let rows = forecast::parse_summary_csv(&read(&summary)?)
        .with_context(|| format!("'{}' is not a forecast table", summary.display()))?;
    let pts = if points.exists() {
        forecast::parse_points_csv(&read(&points)?)
            .with_context(|| format!("'{}' is not a forecast table", points.display()))?
    } else {
        Vec::new()
    };
    Ok(Some((chart(&rows, &pts), doc(&rows))))
}

fn setting(r: &SummaryRow) -> String {
    format!("GOGC={} GOMEMLIMIT={}", r.gogc, r.gomemlimit)
}

/// Each forecaster's `(made at, predicted death)` points, by name.
type Lines<'a> = BTreeMap<&'a str, Vec<(f64, f64)>>;

fn chart(rows: &[SummaryRow], pts: &[PointRow]) -> Forecast {
    let mut lines: BTreeMap<(&str, u32), Lines> = BTreeMap::new();
    for p in pts {
        let line = lines
            .entry((&p.scenario, p.rep))
            .or_default()
            .entry(&p.forecaster)
            .or_default();
        if let Some(pred) = p.predicted_s {
            line.push((p.t, pred));
        }
    }
    let mut panels = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        if !seen.insert((&r.scenario, r.rep)) {
            continue;
        }
        let by_f = lines
            .remove(&(r.scenario.as_str(), r.rep))
            .unwrap_or_default();
        panels.push(ForecastPanel {
            label: format!("{} #{} · {}", r.scenario, r.rep, setting(r)),
            killed_s: r.killed_s,
            tolerance: forecast::TOLERANCE,
            lines: by_f
                .into_iter()
                .map(|(f, points)| ForecastLine {
                    forecaster: f.to_string(),
                    points,
                })
                .collect(),
        });
    }
    Forecast {
        title: "Time to OOM: predicted vs actual time of death".into(),
        subtitle: format!(
            "each forecaster's predicted kill, as the run went on (fit over the last {} s of RSS)",
            forecast::WINDOW_S
        ),
        panels,
    }
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "never".into(), |x| format!("{x:.1} s"))
}

fn doc(rows: &[SummaryRow]) -> Doc {
    let mut d = Doc::default();
    d.h(1, "Time to OOM");
    d.p(format!("Repetitions killed at their RSS cap, and when forecasters knew. At every sample each forecaster fits a line through the last {} s of RSS and extrapolates it to the cap: `least-squares` is what a Prometheus `predict_linear` alert fits, `theil-sen` the robust fit. **Within 20% at** is the first moment from which every later forecast was within 20% of the time actually left (at least one sampling interval); **lead** is how long before the kill that was. Raw rows: `forecast.csv`, every forecast: `forecast-points.csv`.", forecast::WINDOW_S));
    d.table(
        &[
            "scenario",
            "rep",
            "setting",
            "cap",
            "killed at",
            "forecaster",
            "within 20% at",
            "lead",
            "mean |error|",
        ],
        &[false, true, false, true, true, false, true, true, true],
        rows.iter()
            .map(|r| {
                vec![
                    format!("`{}`", r.scenario),
                    r.rep.to_string(),
                    setting(r),
                    format!("{} MiB", r.cap_mib),
                    format!("{:.1} s", r.killed_s),
                    r.forecaster.clone(),
                    secs(r.within20_at_s),
                    r.lead_s.map_or_else(|| "–".into(), |x| format!("{x:.1} s")),
                    r.mean_abs_error_s
                        .map_or_else(|| "–".into(), |x| format!("{x:.1} s")),
                ]
            })
            .collect(),
    );
    d.chart(STEM, "Time to OOM: predicted vs actual time of death");
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_forecast_file_no_section() {
        let dir = tempfile::tempdir().unwrap();
        assert!(section(dir.path()).unwrap().is_none());
    }

    #[test]
    fn the_section_shows_each_killed_repetition_and_forecaster() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        std::fs::write(
            run.forecast_csv(),
            "scenario,rep,forecaster,go_version,gogc,gomemlimit,cap_mib,killed_s,within20_at_s,lead_s,mean_abs_error_s,forecasts\n\
             leak,0,least-squares,go1.26,50,off,96,20.000,12.000,8.000,3.000,30\n\
             leak,0,theil-sen,go1.26,50,off,96,20.000,,,4.000,30\n",
        )
        .unwrap();
        std::fs::write(
            run.forecast_points_csv(),
            "scenario,rep,forecaster,t,predicted_s,killed_s,error_s,within20\n\
             leak,0,least-squares,5.000,,20.000,,false\n\
             leak,0,least-squares,6.000,25.000,20.000,5.000,false\n\
             leak,0,theil-sen,6.000,21.000,20.000,1.000,true\n",
        )
        .unwrap();
        let (chart, doc) = section(dir.path()).unwrap().unwrap();
        assert_eq!(chart.panels.len(), 1);
        let p = &chart.panels[0];
        assert!(p.label.contains("GOGC=50"), "{}", p.label);
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].points, vec![(6.0, 25.0)]);
        let md = doc.markdown();
        assert!(md.contains("| 12.0 s |"), "{md}");
        assert!(md.contains("| never |"), "{md}");
    }
}
