//! Detectors in any language (`--detectors-file`, docs/detector-protocol.md): the example
//! LeakProf-style detector in Python is scored on the committed replay traces like a built-in
//! one; each way a detector can misbehave (invalid JSON, exiting early, hanging, flooding,
//! a time that goes backwards or is not its sample's, a slow trace, a child left behind) makes
//! its rows "not judged" with the reason, within its time limits, while every other detector
//! scores exactly as without it.

use crate::replay_gate::{expected_path, run_dir};
use crate::support::{finish, leakbench, processes_with, root, wait_until, Sandbox};
use leakbench::evaluate::detect::external::{self, FaultKind};
use leakbench::evaluate::detect::{registry, DetectorSet, Params};
use leakbench::evaluate::replay::{score_set, score_traces};
use leakbench::evaluate::score::{Outcome, ScoreRow};
use leakbench::present::export;
use leakbench::trace::{self, Trace};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The example's declaration file.
fn leakprof_toml() -> PathBuf {
    root().join("examples/detectors/leakprof/leakprof.toml")
}

fn traces() -> Vec<Trace> {
    trace::load_run(&run_dir()).expect("committed traces load")
}

fn rows_of<'a>(rows: &'a [ScoreRow], detector: &str) -> Vec<&'a ScoreRow> {
    rows.iter().filter(|r| r.detector == detector).collect()
}

#[test]
fn leakprof_catches_the_goroutine_leak_at_its_site_and_is_silent_on_the_twins() {
    let traces = traces();
    let set = DetectorSet::with_file(&leakprof_toml()).unwrap();
    assert_eq!(set.external.len(), 1);
    let rows = score_set(&traces, &set, &Params::default());

    // The built-in detectors score exactly as in the replay gate: external ones add rows and
    // change none.
    let builtin: Vec<ScoreRow> = rows
        .iter()
        .filter(|r| r.detector != "leakprof")
        .cloned()
        .collect();
    assert!(
        export::csv::scores(&builtin) == std::fs::read(expected_path()).unwrap(),
        "built-in scores changed beside an external detector"
    );

    let mine = rows_of(&rows, "leakprof");
    assert_eq!(mine.len(), traces.len());
    for r in &mine {
        let want = match (r.scenario.as_str(), r.leaking) {
            ("goroutine-abandoned-sender", _) => Outcome::Tp,
            // It sees only goroutines: a map leak is invisible to it.
            (_, true) => Outcome::Fn,
            (_, false) => Outcome::Tn,
        };
        assert_eq!(r.outcome, want, "{r:?}");
        if r.outcome == Outcome::Tp {
            assert_eq!(r.site.as_deref(), Some("main.sendResult"), "{r:?}");
            assert_eq!(
                (r.site_ok, r.class_ok, r.timely),
                (Some(true), Some(true), Some(true)),
                "{r:?}"
            );
            assert!(
                r.oracle_s.is_some(),
                "judged against the goroutines' oracle"
            );
        }
    }
}

/// A Python detector that answers `{}` and does what `misbehave` says at sample `at` (the
/// first sample is 1). `misbehave` is Python code with `s` (the sample), `n` and `out`.
fn script(misbehave: &str, at: usize) -> String {
    format!(
        r#"import json, os, subprocess, sys, time
sys.stdin.readline()
out = sys.stdout
n = 0
for line in sys.stdin:
    s = json.loads(line)
    n += 1
    if n >= {at}:
{body}
    out.write("{{}}\n")
    out.flush()
"#,
        body = misbehave
            .lines()
            .map(|l| format!("        {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// (name, Python misbehaviour, at which sample, extra declaration lines, the reason's words)
fn misbehaving(marker: &str) -> Vec<(&'static str, String, usize, &'static str, &'static str)> {
    vec![
        (
            "invalid-json",
            "out.write('this is not json\\n'); out.flush(); continue".into(),
            3,
            "",
            "with invalid JSON",
        ),
        (
            "exits-early",
            "print('boom: giving up', file=sys.stderr); sys.exit(3)".into(),
            3,
            "",
            "exited early (exit status 3) after answering 2 of the 3 samples sent",
        ),
        (
            "hangs",
            "time.sleep(3600)".into(),
            2,
            "sample_timeout_s = 1.5",
            "within the per-sample limit of 1.5 s",
        ),
        (
            "floods-one-line",
            "out.write('x' * 10_000_000); out.flush(); time.sleep(3600)".into(),
            1,
            "",
            "flooded stdout: a line longer than 65536 bytes",
        ),
        (
            "floods-lines",
            "out.write('{}\\n' * 100_000); out.flush(); time.sleep(3600)".into(),
            1,
            "",
            "one answer per sample",
        ),
        (
            "backwards",
            "out.write(json.dumps({'alarm': {'t_s': s['t'] - 1.0, 'confidence': 1}}) + '\\n'); out.flush(); continue".into(),
            2,
            "",
            "time went backwards",
        ),
        (
            "future",
            "out.write(json.dumps({'alarm': {'t_s': s['t'] + 5.0, 'confidence': 1}}) + '\\n'); out.flush(); continue".into(),
            2,
            "",
            "not the sample's time",
        ),
        (
            "slow",
            "time.sleep(0.5)".into(),
            1,
            "trace_timeout_s = 2.5",
            "within the per-trace limit of 2.5 s",
        ),
        (
            "leaves-a-child",
            format!(
                "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'])\ntime.sleep(3600)"
            ),
            1,
            "sample_timeout_s = 1.5",
            "within the per-sample limit of 1.5 s",
        ),
    ]
}

/// Writes each misbehaving detector's script and one detectors file declaring them all, plus
/// the example; returns the file.
fn declare_all(dir: &Path, marker: &str) -> PathBuf {
    let mut toml = String::new();
    for (name, body, at, extra, _) in misbehaving(marker) {
        std::fs::write(dir.join(format!("{name}.py")), script(&body, at)).unwrap();
        toml.push_str(&format!(
            "[[detector]]\nname = \"{name}\"\nprotocol = 1\ncommand = [\"python3\", \"{{dir}}/{name}.py\"]\nwatches = \"goroutines\"\n{extra}\n\n"
        ));
    }
    toml.push_str(&format!(
        "[[detector]]\nname = \"leakprof\"\nprotocol = 1\ncommand = [\"python3\", \"{}\"]\nwatches = \"goroutines\"\n",
        root()
            .join("examples/detectors/leakprof/leakprof.py")
            .display()
    ));
    let file = dir.join("detectors.toml");
    std::fs::write(&file, toml).unwrap();
    file
}

#[test]
fn each_misbehaving_detector_is_not_judged_with_its_reason_and_the_run_goes_on() {
    let sb = Sandbox::new("external");
    let file = declare_all(sb.path(), &sb.marker);
    let set = DetectorSet::with_file(&file).unwrap();
    // A leak, its twin and the hard negative: every role, one repetition each.
    let traces: Vec<Trace> = traces()
        .into_iter()
        .filter(|t| {
            t.meta.rep == 0
                && [
                    "goroutine-abandoned-sender",
                    "goroutine-abandoned-sender-fixed",
                    "negative-gc-sawtooth",
                ]
                .contains(&t.meta.scenario.name.as_str())
        })
        .collect();
    assert_eq!(traces.len(), 3);
    let started = Instant::now();
    let rows = score_set(&traces, &set, &Params::default());
    let took = started.elapsed();

    for (name, _, _, _, reason) in misbehaving(&sb.marker) {
        let mine = rows_of(&rows, name);
        assert_eq!(mine.len(), traces.len(), "{name}");
        for r in mine {
            assert_eq!(r.outcome, Outcome::Na, "{name}: {r:?}");
            assert!(
                r.note.starts_with("detector fault: ") && r.note.contains(reason),
                "{name}: `{}` lacks `{reason}`",
                r.note
            );
            assert!(!r.note.contains('\n'), "{name}: {}", r.note);
            assert_eq!((r.alarm_s, r.latency_s), (None, None), "{name}");
        }
    }
    let early = rows_of(&rows, "exits-early");
    assert!(
        early[0].note.ends_with("stderr: boom: giving up"),
        "{}",
        early[0].note
    );

    // The run went on: the example beside them scored, and the built-in rows are what they
    // are without any external detector.
    for r in rows_of(&rows, "leakprof") {
        assert_ne!(r.outcome, Outcome::Na, "{r:?}");
    }
    let builtin: Vec<ScoreRow> = rows
        .iter()
        .filter(|r| registry().iter().any(|d| d.name == r.detector))
        .cloned()
        .collect();
    assert_eq!(
        builtin,
        score_traces(&traces, registry(), &Params::default())
    );

    // Nothing outlives its detector: the child it left in its process group was killed.
    wait_until(Duration::from_secs(5), "the left child to die", || {
        processes_with(&sb.marker).is_empty()
    });
    // Each session is bounded by its limits: the slowest here (a 2.5 s trace limit, three
    // traces, sessions two or more at a time) is far below what the detectors asked for.
    assert!(took < Duration::from_secs(60), "{took:?}");
}

/// Declares one Python detector run by `python` (a name on PATH or a path).
fn one(
    name: &str,
    body: &str,
    at: usize,
    extra: &str,
    dir: &Path,
    python: &str,
) -> external::External {
    std::fs::write(dir.join(format!("{name}.py")), script(body, at)).unwrap();
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(
        &file,
        format!("[[detector]]\nname = \"{name}\"\nprotocol = 1\ncommand = [\"{python}\", \"{{dir}}/{name}.py\"]\nwatches = \"goroutines\"\n{extra}\n"),
    )
    .unwrap();
    external::load(&file).unwrap().remove(0)
}

/// The interpreter itself, not a launcher in front of it (pyenv's shim is a shell script
/// that sets variables of its own).
fn real_python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_hung_or_slow_detector_costs_its_limit_and_no_more() {
    let sb = Sandbox::new("limits");
    let trace = &traces()[0];
    for (name, body, at, extra, limit) in [
        (
            "hangs",
            "time.sleep(3600)",
            1,
            "sample_timeout_s = 1.0",
            1.0,
        ),
        ("slow", "time.sleep(0.3)", 1, "trace_timeout_s = 1.5", 1.5),
    ] {
        let ext = one(name, body, at, extra, sb.path(), "python3");
        let started = Instant::now();
        let fault = external::session::first_alarm(&ext, trace).unwrap_err();
        let took = started.elapsed().as_secs_f64();
        assert!(
            matches!(
                fault.kind,
                FaultKind::SampleTimeout { .. } | FaultKind::TraceTimeout { .. }
            ),
            "{name}: {fault}"
        );
        // At least the limit (it was waited for), and then only the exit grace and the
        // kill: a few seconds of slack for a loaded machine.
        assert!(took >= limit, "{name}: {took} s");
        assert!(took < limit + 4.0, "{name}: {took} s");
    }
}

#[test]
fn a_detector_runs_in_a_minimal_environment_in_an_empty_directory_removed_after() {
    let sb = Sandbox::new("env");
    let body = "out.write(json.dumps({'alarm': {'t_s': s['t'], 'confidence': 1, 'detail': json.dumps({'env': sorted(os.environ), 'cwd': os.getcwd(), 'home': os.environ.get('HOME'), 'files': os.listdir('.'), 'argv': sys.argv[1:]})}}) + '\\n'); out.flush(); continue";
    let ext = one(
        "env",
        body,
        1,
        "env = { LEAKBENCH_DETECTOR_SAYS = \"hi\" }",
        sb.path(),
        &real_python(),
    );
    let trace = &traces()[0];
    let alarm = external::session::first_alarm(&ext, trace)
        .unwrap()
        .expect("it alarms on its first sample");
    // Its first sample is the first after the warm-up, at that sample's own time.
    let first = trace
        .samples
        .iter()
        .find(|s| s.t >= trace.meta.scenario.warmup_s)
        .unwrap();
    assert_eq!(alarm.t, first.t);
    let seen: serde_json::Value = serde_json::from_str(&alarm.detail).unwrap();
    let env: Vec<&str> = seen["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Python may add LC_CTYPE itself (PEP 538); nothing of the harness's own environment
    // (cargo sets CARGO_* for this test) may reach it.
    for k in &env {
        assert!(
            [
                "PATH",
                "HOME",
                "TMPDIR",
                "LEAKBENCH_DETECTOR_SAYS",
                "LC_CTYPE"
            ]
            .contains(k),
            "unexpected variable {k} in {env:?}"
        );
    }
    assert!(env.contains(&"LEAKBENCH_DETECTOR_SAYS"), "{env:?}");
    let cwd = PathBuf::from(seen["cwd"].as_str().unwrap());
    assert_eq!(seen["home"].as_str(), seen["cwd"].as_str());
    assert_eq!(seen["files"], serde_json::json!([]));
    assert_ne!(cwd, std::env::current_dir().unwrap());
    assert!(
        !cwd.exists(),
        "its working directory outlived it: {}",
        cwd.display()
    );
}

#[test]
fn the_commands_list_score_and_regress_with_a_detectors_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::conventions::copy_tree(&run_dir(), &run);
    let file = leakprof_toml();

    let out = leakbench()
        .args(["detectors", "--detectors-file"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), registry().len() + 1, "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("leakprof")
            && last.contains("goroutines")
            && last.contains("leakprof.toml"),
        "{last}"
    );

    let out = leakbench()
        .arg("replay")
        .arg(&run)
        .arg("--detectors-file")
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("leakprof ")),
        "no leakprof line in the table: {stdout}"
    );
    assert!(
        stderr.contains(&format!("× {} detectors", registry().len() + 1)),
        "{stderr}"
    );
    let scores = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    assert_eq!(
        scores.lines().filter(|l| l.contains(",leakprof,")).count(),
        15
    );

    // A baseline saved without it: its cells are new, not a regression.
    let out = leakbench()
        .arg("regress")
        .arg(&run)
        .arg("--baseline")
        .arg(root().join("baselines/replay.json"))
        .arg("--detectors-file")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("leakprof"), "{stdout}");

    // A bad file is bad input (exit 2, one line naming it), before anything is scored.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[detector]]\nname = \"x\"\nprotocol = 9\n").unwrap();
    let before = std::fs::read(run.join("scores.csv")).unwrap();
    let out = leakbench()
        .arg("replay")
        .arg(&run)
        .arg("--detectors-file")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml: key `detector[0].protocol`") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(std::fs::read(run.join("scores.csv")).unwrap(), before);
}

#[test]
fn run_scores_a_recording_with_the_declared_detectors() {
    let sb = Sandbox::new("run-external");
    // The example at a threshold the 3 s `sender` scenario reaches.
    let file = sb.path().join("leakprof-low.toml");
    std::fs::write(
        &file,
        format!(
            "[[detector]]\nname = \"leakprof-low\"\nprotocol = 1\ncommand = [\"python3\", \"{}\", \"--threshold\", \"3\"]\nwatches = \"goroutines\"\n",
            root().join("examples/detectors/leakprof/leakprof.py").display()
        ),
    )
    .unwrap();
    let c = sb
        .run(&["sender"], &["--detectors-file", file.to_str().unwrap()])
        .spawn()
        .unwrap();
    let (status, stderr) = finish(c, Duration::from_secs(240));
    assert_eq!(status.code(), Some(0), "{stderr}");
    let scores = std::fs::read_to_string(sb.out().join("scores.csv")).unwrap();
    let row = scores
        .lines()
        .find(|l| l.contains(",leakprof-low,"))
        .unwrap_or_else(|| panic!("no leakprof-low row: {scores}"));
    assert!(
        row.contains(",TP,") && row.contains("main.sendResult"),
        "{row}"
    );
}
