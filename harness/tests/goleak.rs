//! goleak as a detector, live: the kit's `/leakbench/goleak` probed by `leakbench run` at its
//! own cadence (at most every `GOLEAK_PERIOD`, each request's time in the trace) reports
//! nothing over a whole twin run (also where goroutines come and go), and on the leak reports
//! the leaked goroutines at their site after the measured onset, without the sampler missing
//! its ticks; the `goleak` detector scores it.
//!
//! The scenarios are the benchmark's own files, shortened as in `classes.rs`, at their own
//! sampling interval (0.5 s: a goleak verdict that finds goroutines takes most of it). The
//! kit's own Go tests (goleak's report read from a real blocked goroutine) run here too, so
//! `just test` runs them.

use crate::support::{leakbench, root};
use leakbench::sample::Sample;
use leakbench::trace::{self, EndStatus, Trace};
use std::path::{Path, PathBuf};
use std::process::Command;

const DURATION_S: f64 = 10.0;
const ONSET_S: f64 = 4.0;

/// A shortened copy of `scenarios/<name>.toml` in `dir`.
fn shortened(name: &str, dir: &Path) -> PathBuf {
    let src = root().join("scenarios").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut v: toml::Table = toml::from_str(&text).unwrap();
    v.insert("duration_s".into(), DURATION_S.into());
    v.insert("warmup_s".into(), 1.0.into());
    v["leak"]
        .as_table_mut()
        .unwrap()
        .insert("onset_s".into(), ONSET_S.into());
    let out = dir.join(format!("{name}.toml"));
    std::fs::write(&out, toml::to_string(&v).unwrap()).unwrap();
    out
}

/// The samples that carry a goleak verdict, with no goleak probe missing anywhere.
fn verdicts(t: &Trace) -> Vec<&Sample> {
    for s in &t.samples {
        assert!(
            s.missing.iter().all(|m| m.probe != "goleak"),
            "{}: goleak missing at {} s: {:?}",
            t.meta.scenario.name,
            s.t,
            s.missing
        );
    }
    t.samples.iter().filter(|s| s.goleak.is_some()).collect()
}

/// goleak's period in these runs: the default probe set's, as the trace states it.
fn period_s() -> f64 {
    leakbench::record::probe::GOLEAK_PERIOD.as_secs_f64()
}

/// goleak was asked at its own cadence: the trace states the default period, every verdict
/// says when it was asked, and requests were a period apart or a little more (never less;
/// at most 2 s more under load).
fn assert_cadence(t: &Trace) {
    let name = &t.meta.scenario.name;
    assert_eq!(t.meta.goleak_period_s, Some(period_s()), "{name}");
    let asked: Vec<f64> = t.samples.iter().filter_map(|s| s.goleak_asked_s).collect();
    assert_eq!(
        asked.len(),
        t.samples.iter().filter(|s| s.goleak.is_some()).count(),
        "{name}: a request time for every verdict"
    );
    for w in asked.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (period_s() - 0.01..=period_s() + 2.0).contains(&gap),
            "{name}: goleak asked {gap:.3} s apart (period {} s): {asked:?}",
            period_s()
        );
    }
}

fn goleak_count(s: &Sample) -> u64 {
    s.goleak.iter().flatten().map(|g| g.count).sum()
}

#[test]
fn goleak_is_silent_on_twins_and_names_the_leak_after_its_onset() {
    let tmp = tempfile::tempdir().unwrap();
    let names = [
        "goroutine-abandoned-sender",
        "goroutine-abandoned-sender-fixed",
        // Its batches start workers that end a few milliseconds later: goleak's retries
        // must let them go.
        "goroutine-global-workers-fixed",
    ];
    let files: Vec<PathBuf> = names.iter().map(|n| shortened(n, tmp.path())).collect();
    let out = tmp.path().join("run");
    let st = leakbench()
        .arg("run")
        .args(&files)
        .args(["--reps", "1", "--jobs", "3", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "leakbench run failed: {st}");
    let traces = trace::load_run(&out).unwrap();
    let by_name = |n: &str| {
        let t = traces
            .iter()
            .find(|t| t.meta.scenario.name == n)
            .unwrap_or_else(|| panic!("no trace of {n}"));
        assert_eq!(t.end.as_ref().unwrap().status, EndStatus::Completed, "{n}");
        t
    };

    // Twins: nothing, at every verdict over the whole run. goleak is asked at most every
    // GOLEAK_PERIOD (5 s): from the first tick on, a 10 s run holds two or three verdicts,
    // each asked a period or a little more after the last (a loaded machine delays a tick).
    for twin in &names[1..] {
        let t = by_name(twin);
        let v = verdicts(t);
        assert_cadence(t);
        assert!(
            v.len() >= (DURATION_S / period_s()) as usize,
            "{twin}: {} verdicts in {} samples, at {:?}",
            v.len(),
            t.samples.len(),
            v.iter().map(|s| s.t).collect::<Vec<_>>()
        );
        for s in &v {
            assert_eq!(goleak_count(s), 0, "{twin} at {} s: {:?}", s.t, s.goleak);
        }
    }

    // The leak: the first report at or after the measured onset; from it on, the leaked
    // senders at every verdict, blocked sending at `main.sendResult`.
    let t = by_name("goroutine-abandoned-sender");
    let onset = t.onset_s().expect("the leak measured its onset");
    let v = verdicts(t);
    let first = v
        .iter()
        .position(|s| goleak_count(s) > 0)
        .expect("goleak reported the leak");
    // The first verdict asked after the onset comes within a period of it; it takes 0.45 s
    // while goleak finds goroutines and is taken at the next tick (0.52–0.56 s after it was
    // asked, measured here); 2 s more leave room for a loaded machine.
    let latency = v[first].t - onset;
    assert!(
        (0.0..=period_s() + 2.0).contains(&latency),
        "first report {latency:.2} s after the onset"
    );
    assert!(v[first].goleak_asked_s.unwrap() >= onset - 0.5);
    for s in &v[first..] {
        let top = &s.goleak.as_ref().unwrap()[0];
        assert_eq!(
            (top.site.as_str(), top.wait.as_str()),
            ("main.sendResult", "chan send"),
            "at {} s",
            s.t
        );
    }
    // Counts grow with the leak (20 units/s): the last report holds most of the units leaked
    // when it was asked for, and no more than those leaked when it was taken.
    let last_v = v.last().unwrap();
    let asked = last_v.goleak_asked_s.unwrap();
    let units_at = |at: f64| {
        t.samples
            .iter()
            .rev()
            .filter(|s| s.t <= at)
            .find_map(|s| s.truth.as_ref())
            .map_or(0, |x| x.units)
    };
    let (before, taken) = (units_at(asked), units_at(last_v.t));
    let last = goleak_count(last_v);
    assert!(
        last * 2 >= before && last <= taken,
        "goleak {last}, units {before} when asked, {taken} when taken"
    );

    // The sampler keeps its ticks with goleak on: verdicts run beside them, so while each one
    // takes most of an interval, samples still come one interval apart; and goleak keeps its
    // own cadence.
    let interval = t.meta.scenario.interval_s;
    let mut gaps: Vec<f64> = t.samples.windows(2).map(|w| w[1].t - w[0].t).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (median - interval).abs() <= 0.1 * interval,
        "median sample gap {median:.3} s at a {interval} s interval"
    );
    assert_cadence(t);

    // Scored like any detector: the leak caught at its site, the twins silent.
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let mut r = csv::Reader::from_reader(scores.as_bytes());
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let mut seen = 0;
    for rec in r.records().map(Result::unwrap) {
        if &rec[col("detector")] != "goleak" {
            continue;
        }
        seen += 1;
        let want = if &rec[col("scenario")] == "goroutine-abandoned-sender" {
            ("TP", "true")
        } else {
            ("TN", "")
        };
        assert_eq!(
            (&rec[col("outcome")], &rec[col("site_ok")]),
            want,
            "{rec:?}"
        );
    }
    assert_eq!(seen, names.len());
}

#[test]
fn the_kits_go_tests_pass() {
    let o = Command::new("go")
        .args(["test", "-count=1", "./kit/"])
        .current_dir(root().join("go-fixtures"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "go test ./kit/:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
