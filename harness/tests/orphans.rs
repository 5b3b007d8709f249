//! No orphans: however the harness ends (normally, on an error, on SIGINT, SIGTERM, a panic,
//! or SIGKILL), no fixture process remains. The fixture (`faulty -mode stubborn`) ignores
//! SIGTERM, does not watch its parent and has two children in its process group, so only the
//! harness's own mechanisms (group kill, parent-death signal, reaper) can end them all.

use crate::support::{finish, processes_with, signal, wait_until, Sandbox};
use std::time::Duration;

/// Leader plus its two children.
const PROCS_PER_FIXTURE: usize = 3;

#[test]
fn normal_end_leaves_no_fixture() {
    let sb = Sandbox::new("normal");
    let (status, stderr) = finish(
        sb.run(&["stubborn-short"], &[]).spawn().unwrap(),
        Duration::from_secs(180),
    );
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(sb.end("stubborn-short", 0).unwrap()["status"], "completed");
    sb.assert_no_survivors("normal end");
}

#[test]
fn error_mid_run_leaves_no_fixture() {
    let sb = Sandbox::new("error");
    let mut c = sb.run(&["stubborn-short"], &[]);
    c.env("LEAKBENCH_TEST_ERROR_AFTER_SAMPLES", "2");
    let mut child = c.spawn().unwrap();
    sb.wait_for_fixtures(PROCS_PER_FIXTURE, &mut child);
    let (status, stderr) = finish(child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a trace could not be written"), "{stderr}");
    sb.assert_no_survivors("error");
}

/// Starts the long scenario, waits until it is sampling (signal handlers are in place), then
/// sends `sig`; the harness must stop within a few seconds with exit code 130.
fn interrupted_by(sig: libc::c_int, name: &str) {
    let sb = Sandbox::new(name);
    let mut child = sb.run(&["stubborn"], &[]).spawn().unwrap();
    sb.wait_for_fixtures(PROCS_PER_FIXTURE, &mut child);
    let trace = sb.rep_dir("stubborn", 0).trace_jsonl();
    wait_until(Duration::from_secs(30), "a first sample", || {
        std::fs::metadata(&trace).is_ok_and(|m| m.len() > 0)
    });
    signal(child.id(), sig);
    let (status, stderr) = finish(child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let end = sb
        .end("stubborn", 0)
        .expect("end.json of the interrupted repetition");
    assert_eq!(end["status"], "interrupted", "{end}");
    sb.assert_no_survivors(name);
}

#[test]
fn sigint_leaves_no_fixture() {
    interrupted_by(libc::SIGINT, "sigint");
}

#[test]
fn sigterm_leaves_no_fixture() {
    interrupted_by(libc::SIGTERM, "sigterm");
}

/// A recording task panics (test hook) while another repetition is in flight: the run ends
/// with an error, and both fixtures are killed, the in-flight one through its task's abort.
#[test]
fn panic_leaves_no_fixture() {
    let sb = Sandbox::new("panic");
    let mut c = sb.run(&["stubborn", "stubborn-short"], &["--jobs", "2"]);
    // stubborn-short samples every 0.25 s and panics first; stubborn samples every 1 s.
    c.env("LEAKBENCH_TEST_PANIC_AFTER_SAMPLES", "2");
    let mut child = c.spawn().unwrap();
    sb.wait_for_fixtures(2 * PROCS_PER_FIXTURE, &mut child);
    let (status, stderr) = finish(child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("panicked"), "{stderr}");
    // The aborted repetition has no end.json, so `--resume` redoes it.
    assert!(sb.rep_dir("stubborn", 0).meta_json().exists());
    assert!(sb.end("stubborn", 0).is_none());
    sb.assert_no_survivors("panic");
}

/// SIGKILL runs no code in the harness: the parent-death signal takes each fixture, and the
/// reaper process takes their children (which have no parent-death signal), then exits.
#[test]
fn sigkill_leaves_no_fixture_and_no_reaper() {
    let sb = Sandbox::new("sigkill");
    let mut child = sb.run(&["stubborn"], &[]).spawn().unwrap();
    sb.wait_for_fixtures(PROCS_PER_FIXTURE, &mut child);
    let out = sb.out().display().to_string();
    // The harness and its reaper (a fork of it) have the run directory on their command line.
    assert_eq!(processes_with(&out).len(), 2, "{:?}", processes_with(&out));
    signal(child.id(), libc::SIGKILL);
    let (status, _) = finish(child, Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed by a signal");
    sb.assert_no_survivors("sigkill");
    wait_until(Duration::from_secs(5), "the reaper to exit", || {
        processes_with(&out).is_empty()
    });
    // Unfinished: no end.json, so `--resume` redoes it.
    assert!(sb.end("stubborn", 0).is_none());
}
