//! Time to OOM end to end: a leak under a small RSS cap is killed, recorded as
//! `killed_at_cap`, and scoring the run forecasts its death and scores the forecasts
//! (`forecast.csv`, `forecast-points.csv`), which the report shows.

use crate::support::{finish, Sandbox, FIRST_RUN};
use leakbench::evaluate::forecast;
use leakbench::run_dir::RunDir;

#[test]
fn a_leak_under_a_small_cap_is_killed_and_its_forecasts_are_scored() {
    let sb = Sandbox::new("oom");
    let child = sb
        .run(&["oom-small-cap"], &["--no-goroutineleak"])
        .spawn()
        .unwrap();
    let (status, out) = finish(child, FIRST_RUN);
    assert!(status.success(), "{out}");
    let end = sb.end("oom-small-cap", 0).expect("end.json");
    assert_eq!(end["status"], "killed_at_cap", "{end}");
    let killed_s = end["ended_s"].as_f64().unwrap();
    // Killed before its 30 s were up (onset at 1 s, ~9 MiB/s against 64 MiB).
    assert!(killed_s < 30.0, "{end}");

    let run = RunDir::new(sb.out());
    let rows =
        forecast::parse_summary_csv(&std::fs::read_to_string(run.forecast_csv()).unwrap()).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.forecaster.as_str()).collect();
    assert_eq!(names, ["least-squares", "theil-sen"], "{rows:?}");
    for r in &rows {
        assert_eq!(
            (r.scenario.as_str(), r.rep, r.cap_mib),
            ("oom-small-cap", 0, 64)
        );
        assert_eq!(r.gogc, "50");
        assert!((r.killed_s - killed_s).abs() < 1e-3, "{r:?}");
        // Every forecast's error is scored; the mean is finite and the run is short, so
        // the error cannot exceed the whole run by much.
        let err = r.mean_abs_error_s.expect("some forecast predicted a death");
        assert!(err.is_finite() && err < 10.0 * killed_s, "{r:?}");
    }
    let pts =
        forecast::parse_points_csv(&std::fs::read_to_string(run.forecast_points_csv()).unwrap())
            .unwrap();
    assert!(
        pts.iter().all(|p| p.t <= killed_s),
        "a forecast after the kill"
    );
    assert!(
        pts.iter().filter(|p| p.predicted_s.is_some()).count() >= 2,
        "{pts:?}"
    );

    // The report shows the section and its chart.
    let report = leakbench::present::report::generate(
        &sb.out(),
        &indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden()),
    )
    .unwrap();
    let md = std::fs::read_to_string(report.report_md).unwrap();
    assert!(md.contains("# Time to OOM"), "{md}");
    assert!(run.plots_dir().join("time-to-oom.svg").exists());
}
