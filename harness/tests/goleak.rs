//! goleak as a detector, live: the kit's `/leakbench/goleak` probed by `leakbench run` reports
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

    // Twins: nothing, at every verdict over the whole run. When goleak finds nothing it
    // answers within milliseconds, so most samples carry a verdict (34 of 40 in a 20 s run
    // here; a quarter, and one in the last quarter of the run, leave room for a loaded
    // machine).
    for twin in &names[1..] {
        let t = by_name(twin);
        let v = verdicts(t);
        let last_quarter = t.samples[t.samples.len() * 3 / 4].t;
        assert!(
            v.len() * 4 >= t.samples.len() && v.last().is_some_and(|s| s.t >= last_quarter),
            "{twin}: {} verdicts in {} samples, the last at {:?} s",
            v.len(),
            t.samples.len(),
            v.last().map(|s| s.t)
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
    // A verdict takes 0.45 s while goleak finds goroutines and is taken at the next tick:
    // 0.52–0.56 s after the onset measured here; 2 s leaves room for a loaded machine.
    let latency = v[first].t - onset;
    assert!(
        (0.0..=2.0).contains(&latency),
        "first report {latency:.2} s after the onset"
    );
    for s in &v[first..] {
        let top = &s.goleak.as_ref().unwrap()[0];
        assert_eq!(
            (top.site.as_str(), top.wait.as_str()),
            ("main.sendResult", "chan send"),
            "at {} s",
            s.t
        );
    }
    // Counts grow with the leak (20 units/s): the last report holds most of them.
    let units = t.samples.last().unwrap().truth.as_ref().unwrap().units;
    let last = goleak_count(v.last().unwrap());
    assert!(
        last * 2 >= units && last <= units,
        "goleak {last}, units {units}"
    );

    // The sampler keeps its ticks with goleak on: verdicts run beside them, so while each one
    // takes most of an interval, samples still come one interval apart. Verdicts keep coming:
    // every other sample here (each takes 0.45 s); at least one every 3 s (6 samples) under
    // load, when a verdict's 21 stack dumps wait for the CPU.
    let interval = t.meta.scenario.interval_s;
    let mut gaps: Vec<f64> = t.samples.windows(2).map(|w| w[1].t - w[0].t).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (median - interval).abs() <= 0.1 * interval,
        "median sample gap {median:.3} s at a {interval} s interval"
    );
    let after: Vec<&Sample> = t.samples.iter().filter(|s| s.t > v[first].t).collect();
    let with = after.iter().filter(|s| s.goleak.is_some()).count();
    assert!(
        with * 6 >= after.len(),
        "{with} verdicts in {} samples after the first report",
        after.len()
    );

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
