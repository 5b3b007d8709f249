//! Time to OOM: forecasters that predict, at every sample, when a fixture's resident memory
//! reaches the RSS cap its watchdog kills it at, scored against the actual kill time of
//! repetitions that ended `killed_at_cap`.
//!
//! Two forecasters, each fitting a line through the RSS of the last [`WINDOW_S`] seconds and
//! extrapolating it to the cap: [`Forecaster::LeastSquares`] is what a Prometheus
//! `predict_linear(process_resident_memory_bytes[w], …)` alert rule fits;
//! [`Forecaster::TheilSen`] is the robust one (median of pairwise slopes, median intercept),
//! which a GC sawtooth or one outlying sample does not tilt.
//!
//! The watched memory is RSS against the scenario's `rss_cap_mib`: that is what kills the
//! fixture. `GOMEMLIMIT`, where set, is a soft limit the Go runtime collects harder against,
//! not a death, so it is not the target; it shapes the curve the forecasters see, and every
//! row carries the repetition's setting so runs under different settings can be compared.
//!
//! Error is measured on the time left: a prediction at `t` of death at `p`, with the actual
//! kill at `k`, is within 20% when `|p − k| ≤ max(0.2·(k − t), one sampling interval)`; the
//! floor is there because near the end no forecaster can resolve less than the interval it
//! samples at. "Within 20% at" is the first sample from which every later one stays within.
//!
//! Pure over loaded traces; writes nothing (replay writes `forecast.csv` and
//! `forecast-points.csv`, this module only formats them). Must not sample processes.

use crate::stats;
use crate::trace::{EndStatus, Trace};
use std::fmt::Write as _;

/// Fit window, seconds: as the `predict-linear` detector's (20 points at 0.5 s, like `[5m]`
/// at a 15 s scrape).
pub const WINDOW_S: f64 = 10.0;
/// Fewest samples in the window before a forecast is made.
pub const MIN_POINTS: usize = 4;
/// The tolerance "within 20%" names, as a fraction of the time left.
pub const TOLERANCE: f64 = 0.2;

const MIB: f64 = 1024.0 * 1024.0;

/// How the line through the window is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Forecaster {
    /// Ordinary least squares, as `predict_linear`.
    LeastSquares,
    /// Theil-Sen slope with the median intercept.
    TheilSen,
}

impl Forecaster {
    pub const ALL: [Forecaster; 2] = [Forecaster::LeastSquares, Forecaster::TheilSen];

    pub fn name(self) -> &'static str {
        match self {
            Forecaster::LeastSquares => "least-squares",
            Forecaster::TheilSen => "theil-sen",
        }
    }

    /// The fitted value at the last point of `pts` and the slope (bytes/s), or `None` when
    /// the points do not determine a line.
    fn fit(self, pts: &[(f64, f64)]) -> Option<(f64, f64)> {
        let now = pts.last()?.0;
        match self {
            Forecaster::LeastSquares => {
                let l = stats::least_squares(pts)?;
                Some((l.at(now), l.slope))
            }
            Forecaster::TheilSen => {
                let slope = stats::theil_sen_slope(pts)?;
                let resid: Vec<f64> = pts.iter().map(|(x, y)| y - slope * x).collect();
                Some((stats::median(&resid)? + slope * now, slope))
            }
        }
    }
}

impl std::fmt::Display for Forecaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One forecast, made at a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When the forecast was made, seconds since spawn.
    pub t: f64,
    /// Predicted time of death, seconds since spawn; `None` when memory is not growing (the
    /// forecast is "never").
    pub predicted_s: Option<f64>,
}

/// Predicts the time RSS reaches `cap_bytes`, at every sample of `samples` that has RSS and a
/// full enough window. Samples are in increasing `t`.
pub fn forecast(f: Forecaster, samples: &[crate::sample::Sample], cap_bytes: f64) -> Vec<Point> {
    let rss: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| Some((s.t, s.proc_mem.as_ref()?.rss_bytes as f64)))
        .collect();
    let mut out = Vec::with_capacity(rss.len());
    let mut lo = 0;
    for hi in 0..rss.len() {
        let now = rss[hi].0;
        while rss[lo].0 < now - WINDOW_S {
            lo += 1;
        }
        let window = &rss[lo..=hi];
        if window.len() < MIN_POINTS {
            continue;
        }
        let Some((level, slope)) = f.fit(window) else {
            continue;
        };
        let predicted_s = if level >= cap_bytes {
            Some(now)
        } else {
            (slope > 0.0).then(|| now + (cap_bytes - level) / slope)
        };
        out.push(Point {
            t: now,
            predicted_s,
        });
    }
    out
}

/// Whether a forecast made at `t` of death at `predicted` is within [`TOLERANCE`] of the kill
/// at `killed_s` (see the module doc for the floor of one interval).
pub fn within(p: &Point, killed_s: f64, interval_s: f64) -> bool {
    p.predicted_s.is_some_and(|pred| {
        (pred - killed_s).abs() <= (TOLERANCE * (killed_s - p.t)).max(interval_s)
    })
}

/// The first forecast time from which every later forecast is within tolerance; `None` if the
/// last one is not.
pub fn within_at(points: &[Point], killed_s: f64, interval_s: f64) -> Option<f64> {
    let mut at = None;
    for p in points {
        if within(p, killed_s, interval_s) {
            at.get_or_insert(p.t);
        } else {
            at = None;
        }
    }
    at
}

/// One killed repetition under one forecaster: the settings it ran under, the kill, and the
/// forecasts.
#[derive(Debug, Clone, PartialEq)]
pub struct RepForecast {
    pub scenario: String,
    pub rep: u32,
    pub forecaster: Forecaster,
    pub go_version: String,
    pub gogc: String,
    pub gomemlimit: String,
    pub cap_mib: u64,
    /// The actual kill, seconds since spawn (`end.json`'s `ended_s`).
    pub killed_s: f64,
    pub interval_s: f64,
    pub points: Vec<Point>,
    /// See [`within_at`].
    pub within_at_s: Option<f64>,
}

impl RepForecast {
    /// Mean absolute error of the forecasts that predicted a death, seconds.
    pub fn mean_abs_error_s(&self) -> Option<f64> {
        let errs: Vec<f64> = self
            .points
            .iter()
            .filter_map(|p| Some((p.predicted_s? - self.killed_s).abs()))
            .collect();
        stats::mean(&errs)
    }
}

/// Forecasts every repetition of `traces` that ended `killed_at_cap`, under every forecaster;
/// sorted by scenario, repetition, forecaster. Empty when nothing was killed.
pub fn score(traces: &[Trace]) -> Vec<RepForecast> {
    let mut out = Vec::new();
    for t in traces {
        let Some(end) = t
            .end
            .as_ref()
            .filter(|e| e.status == EndStatus::KilledAtCap)
        else {
            continue;
        };
        let sc = &t.meta.scenario;
        let cap = sc.rss_cap_mib as f64 * MIB;
        for f in Forecaster::ALL {
            let points = forecast(f, &t.samples, cap);
            out.push(RepForecast {
                // A swept run's cell (`name@go=go1.27.3 GOGC=50`, spaces: the row is plain
                // CSV): its repetitions are apart from the other points' of the scenario.
                scenario: if t.meta.axes.is_empty() {
                    sc.name.clone()
                } else {
                    format!("{}@{}", sc.name, t.meta.axes.label().replace(',', " "))
                },
                rep: t.meta.rep,
                forecaster: f,
                go_version: t.meta.go_version.clone(),
                gogc: t.meta.gogc.clone(),
                gomemlimit: t.meta.gomemlimit.clone(),
                cap_mib: sc.rss_cap_mib,
                killed_s: end.ended_s,
                interval_s: sc.interval_s,
                within_at_s: within_at(&points, end.ended_s, sc.interval_s),
                points,
            });
        }
    }
    out.sort_by(|a, b| (&a.scenario, a.rep, a.forecaster).cmp(&(&b.scenario, b.rep, b.forecaster)));
    out
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

/// `forecast.csv`: one row per killed repetition and forecaster. `within20_at_s` is empty
/// when the forecast never settled within 20%; `lead_s` is how long before the kill it did.
pub fn summary_csv(rows: &[RepForecast]) -> String {
    let mut s = String::from(
        "scenario,rep,forecaster,go_version,gogc,gomemlimit,cap_mib,killed_s,within20_at_s,lead_s,mean_abs_error_s,forecasts\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.3},{},{},{},{}",
            r.scenario,
            r.rep,
            r.forecaster,
            r.go_version,
            r.gogc,
            r.gomemlimit,
            r.cap_mib,
            r.killed_s,
            opt(r.within_at_s),
            opt(r.within_at_s.map(|w| r.killed_s - w)),
            opt(r.mean_abs_error_s()),
            r.points.len()
        );
    }
    s
}

/// `forecast-points.csv`: every forecast, with its error (predicted − actual, seconds; empty
/// for "never") and whether it is within tolerance.
pub fn points_csv(rows: &[RepForecast]) -> String {
    let mut s = String::from("scenario,rep,forecaster,t,predicted_s,killed_s,error_s,within20\n");
    for r in rows {
        for p in &r.points {
            let _ = writeln!(
                s,
                "{},{},{},{:.3},{},{:.3},{},{}",
                r.scenario,
                r.rep,
                r.forecaster,
                p.t,
                opt(p.predicted_s),
                r.killed_s,
                opt(p.predicted_s.map(|x| x - r.killed_s)),
                within(p, r.killed_s, r.interval_s)
            );
        }
    }
    s
}

/// A row of `forecast.csv`, read back by name (for the report).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SummaryRow {
    pub scenario: String,
    pub rep: u32,
    pub forecaster: String,
    pub go_version: String,
    pub gogc: String,
    pub gomemlimit: String,
    pub cap_mib: u64,
    pub killed_s: f64,
    pub within20_at_s: Option<f64>,
    pub lead_s: Option<f64>,
    pub mean_abs_error_s: Option<f64>,
}

/// A row of `forecast-points.csv`, read back by name (for the chart).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct PointRow {
    pub scenario: String,
    pub rep: u32,
    pub forecaster: String,
    pub t: f64,
    pub predicted_s: Option<f64>,
    pub killed_s: f64,
}

/// Parses `forecast.csv` text.
pub fn parse_summary_csv(text: &str) -> Result<Vec<SummaryRow>, ::csv::Error> {
    ::csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

/// Parses `forecast-points.csv` text.
pub fn parse_points_csv(text: &str) -> Result<Vec<PointRow>, ::csv::Error> {
    ::csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect::testkit::Rng;
    use crate::run_dir::RunDir;
    use crate::sample::{ProcMem, Sample};
    use crate::trace::{self, TraceWriter};

    /// RSS flat at 20 MiB until 5 s, then +4 MiB/s (± `noise` MiB), sampled every 0.5 s up
    /// to `until`; a spike of +30 MiB at `spike` if given.
    fn samples(until: f64, noise: f64, spike: Option<f64>) -> Vec<Sample> {
        let mut rng = Rng::new(3);
        (0..)
            .map(|i| i as f64 * 0.5)
            .take_while(|t| *t <= until)
            .map(|t| {
                let mut mib = 20.0 + 4.0 * (t - 5.0).max(0.0) + noise * (rng.uniform() - 0.5);
                if spike == Some(t) {
                    mib += 30.0;
                }
                Sample {
                    t,
                    proc_mem: Some(ProcMem {
                        rss_bytes: (mib * MIB) as u64,
                        anon_bytes: 0,
                    }),
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn both_forecasters_find_the_crossing_of_a_straight_line() {
        // 20 + 4·(t − 5) = 100 at t = 25.
        let s = samples(20.0, 0.0, None);
        for f in Forecaster::ALL {
            let pts = forecast(f, &s, 100.0 * MIB);
            assert!(pts.len() > 20, "{f}");
            // Before onset the line is flat: "never".
            assert_eq!(pts.first().unwrap().predicted_s, None, "{f}");
            let last = pts.last().unwrap();
            assert!(
                (last.predicted_s.unwrap() - 25.0).abs() < 1e-6,
                "{f}: {last:?}"
            );
            let at = within_at(&pts, 25.0, 0.5).unwrap();
            // Once the window holds only the ramp the forecast is exact; with some flat
            // points in it, it is late, so settling takes a few seconds after onset.
            assert!((5.0..=15.0).contains(&at), "{f}: {at}");
        }
    }

    #[test]
    fn theil_sen_ignores_a_spike_that_tilts_least_squares() {
        let s = samples(18.0, 0.0, Some(17.0));
        let at = |f| {
            forecast(f, &s, 100.0 * MIB)
                .into_iter()
                .find(|p| p.t == 17.5)
                .unwrap()
        };
        let robust = at(Forecaster::TheilSen);
        let ls = at(Forecaster::LeastSquares);
        assert!(
            (robust.predicted_s.unwrap() - 25.0).abs() < 0.01,
            "{robust:?}"
        );
        assert!((ls.predicted_s.unwrap() - 25.0).abs() > 0.5, "{ls:?}");
    }

    #[test]
    fn within_at_is_the_start_of_the_last_run_of_good_forecasts() {
        let p = |t, pred| Point {
            t,
            predicted_s: pred,
        };
        let pts = [
            p(0.0, Some(100.0)), // within: 20% of 100 left
            p(10.0, None),       // "never" is never within
            p(20.0, Some(110.0)),
            p(30.0, Some(95.0)),
            p(99.8, Some(100.4)), // 0.2 s left: the floor of one interval (0.5 s) applies
        ];
        assert_eq!(within_at(&pts, 100.0, 0.5), Some(20.0));
        assert_eq!(within_at(&pts[..2], 100.0, 0.5), None);
        assert!(!within(&p(90.0, Some(103.0)), 100.0, 0.5));
    }

    #[test]
    fn only_killed_repetitions_are_scored_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        for (rep, status, ended) in [
            (0, EndStatus::KilledAtCap, 25.1_f64),
            (1, EndStatus::Completed, 20.0),
        ] {
            let mut meta = trace::tests::meta();
            meta.scenario.rss_cap_mib = 100;
            meta.rep = rep;
            meta.gogc = "50".into();
            let mut w = TraceWriter::create(&run.rep(&meta.scenario.name, rep), &meta).unwrap();
            for s in samples(ended.min(25.0) - 0.1, 1.0, None) {
                w.append(&s).unwrap();
            }
            w.finish(status, "test", ended).unwrap();
        }
        let traces = trace::load_run(dir.path()).unwrap();
        let rows = score(&traces);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.rep == 0 && r.killed_s == 25.1));
        assert!(rows.iter().all(|r| r.within_at_s.is_some()), "{rows:?}");
        let csv = summary_csv(&rows);
        assert_eq!(csv.lines().count(), 3);
        assert!(
            csv.lines().nth(1).unwrap().contains(",least-squares,"),
            "{csv}"
        );
        assert!(csv.contains(",50,"), "{csv}");
        let back = parse_summary_csv(&csv).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].forecaster, "theil-sen");
        assert_eq!(back[0].gogc, "50");
        let within = rows[0].within_at_s.unwrap();
        assert!((back[0].within20_at_s.unwrap() - within).abs() < 1e-3);
        let pts = points_csv(&rows);
        let pts_back = parse_points_csv(&pts).unwrap();
        assert_eq!(
            pts_back.len(),
            rows.iter().map(|r| r.points.len()).sum::<usize>()
        );
        assert!(
            pts_back.iter().any(|p| p.predicted_s.is_none()),
            "onset: never"
        );
        assert_eq!(
            pts.lines().count(),
            1 + rows.iter().map(|r| r.points.len()).sum::<usize>()
        );
        assert!(score(&traces[1..]).is_empty());
    }
}
