//! `leakbench record URL`: a plain `net/http/pprof` program (the bring-your-own test's, no kit),
//! started by the test as a service the harness did not start, is recorded for a few seconds;
//! `replay` lists its alarms without scoring and `plot` draws them. The faults: an address
//! beyond loopback without `--allow-remote`, an address that does not answer, one that answers
//! something else, the service killed mid-recording (with and without `--pid`), and Ctrl-C.

use crate::support::leakbench;
use leakbench::evaluate::alarms;
use leakbench::run_dir::RunDir;
use leakbench::sample::metric;
use leakbench::trace::{self, EndStatus};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The bring-your-own program, built once per test into `dir/svc`.
fn build(dir: &Path) -> PathBuf {
    crate::byo::write_program(dir, "");
    let bin = dir.join("svc");
    let o = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(dir.join("mine"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    bin
}

/// A running service: the program on a free loopback port, leaking a goroutine every 10 ms
/// from `leak_after`. Killed when dropped.
struct Service {
    child: Child,
    url: String,
}

impl Service {
    fn start(bin: &Path, leak_after: &str) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .args(["-addr", &addr, "-leak-after", leak_after])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "the service never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Service {
            child,
            url: format!("http://{addr}"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

fn record(args: &[&str]) -> Command {
    let mut c = leakbench();
    c.arg("record").args(args);
    c
}

/// `leakbench record URL --duration 2s --out OUT`, run to its end; and its stderr.
fn record_2s(url: &str, out: &Path) -> (Output, String) {
    let o = record(&[url, "--duration", "2s", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let err = stderr(&o);
    (o, err)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_loopback_service_is_recorded_and_replay_and_plot_show_its_alarms_unscored() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(&build(tmp.path()), "1s");
    let out = tmp.path().join("rec");
    let pid = svc.pid().to_string();
    let o = record(&[&svc.url, "--pid", &pid, "--duration", "10s", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        out.display().to_string()
    );

    let recs = trace::load_recordings(&out).unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    let end = r.end.as_ref().unwrap();
    assert_eq!(end.status, EndStatus::Completed, "{end:?}");
    // 10 s at 0.5 s: about 20 samples (slow probes on a loaded machine space some out).
    assert!(
        (10..=21).contains(&r.samples.len()),
        "{} samples",
        r.samples.len()
    );
    assert_eq!(r.meta.live.pid, Some(svc.pid()));
    // Goroutine and heap series from the standard endpoints; RSS from /proc. On a loaded
    // machine a probe may time out at a tick: then it is missing with its reason, never
    // silently absent, and most ticks still have it.
    let has = |probe: &str, got: &dyn Fn(&leakbench::sample::Sample) -> bool| {
        let n = r.samples.iter().filter(|s| got(s)).count();
        for s in r.samples.iter().filter(|s| !got(s)) {
            assert!(s.missing.iter().any(|m| m.probe == probe), "{probe}: {s:?}");
        }
        assert!(
            n * 10 >= r.samples.len() * 8,
            "{probe}: {n} of {}",
            r.samples.len()
        );
    };
    has("goroutine", &|s| s.goroutine_count().is_some());
    has("metrics", &|s| {
        s.metric(metric::HEAP_OBJECTS_BYTES).is_some()
    });
    has("heap", &|s| s.heap.is_some());
    has("proc", &|s| s.proc_mem.is_some());
    assert!(
        r.samples.iter().all(|s| s.truth.is_none()),
        "no truth is read from a service"
    );
    let counts: Vec<f64> = r
        .samples
        .iter()
        .filter_map(|s| s.goroutine_count())
        .collect();
    let (first, last) = (&counts[0], counts.last().unwrap());
    assert!(*last > *first + 200.0, "the leak shows: {first} → {last}");
    // goleak (leakbench's kit only, costly for a live service) is never asked.
    assert!(!r.meta.probes.goleak, "goleak is off in a live recording");
    assert!(r
        .samples
        .iter()
        .all(|s| s.goleak.is_none() && s.goleak_asked_s.is_none()));
    // The scoring side refuses it: no ground truth.
    assert!(matches!(
        trace::load_run(&out),
        Err(trace::TraceError::NoTruth { .. })
    ));

    let o = leakbench().arg("replay").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(stderr(&o).contains("nothing scored"), "{}", stderr(&o));
    assert!(
        !table.contains("recall") && !table.contains("precision"),
        "{table}"
    );
    let run = RunDir::new(&out);
    assert!(!run.scores_csv().exists() && !run.summary_json().exists());
    let rows = alarms::parse_csv(&std::fs::read_to_string(run.alarms_csv()).unwrap()).unwrap();
    assert_eq!(rows.len(), leakbench::evaluate::detect::registry().len());
    let row = |d: &str| rows.iter().find(|x| x.detector == d).unwrap();
    // 100 goroutines a second from 1 s on: the threshold (baseline + 100) is passed in seconds,
    // and the growing stack group is blamed at its site.
    let g = row("goroutine-threshold");
    assert_eq!(g.state, "fired", "{g:?}");
    assert!(g.alarm_s.unwrap() > 1.0, "{g:?}");
    let sg = row("stack-growth");
    assert_eq!(
        (sg.state.as_str(), sg.site.as_deref()),
        ("fired", Some("main.block")),
        "{sg:?}"
    );
    assert!(
        table.contains("stack-growth") && table.contains("main.block"),
        "{table}"
    );
    // What the service does not serve is not applicable, never "silent".
    assert_eq!(row("goleak").state, "not-applicable");
    assert_eq!(row("finalizer-backlog").state, "not-applicable");

    // An external detector (the LeakProf-style example) is run on the recording too.
    let o = leakbench()
        .arg("replay")
        .arg(&out)
        .args([
            "--detectors-file",
            "examples/detectors/leakprof/leakprof.toml",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = alarms::parse_csv(&std::fs::read_to_string(run.alarms_csv()).unwrap()).unwrap();
    let lp = rows
        .iter()
        .find(|x| x.detector == "leakprof")
        .expect("a leakprof row");
    assert_eq!(
        (lp.state.as_str(), lp.site.as_deref()),
        ("fired", Some("main.block")),
        "{lp:?}"
    );

    let o = leakbench().arg("plot").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(run.report_md()).unwrap();
    assert!(md.contains("**No ground truth.**"), "{md}");
    assert!(
        md.contains("`stack-growth`") && md.contains("`main.block`"),
        "{md}"
    );
    for ext in ["svg", "png"] {
        let p = run.plots_dir().join(format!("timeline-live-rep-0.{ext}"));
        assert!(
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) > 1000,
            "{}",
            p.display()
        );
    }
    let svg = std::fs::read_to_string(run.plots_dir().join("timeline-live-rep-0.svg")).unwrap();
    assert!(
        svg.contains("not judged: no ground truth") && svg.contains("since the recording started")
    );
    assert!(!svg.contains("false alarm") && !svg.contains("missed"));
}

#[test]
fn a_service_beyond_loopback_is_refused_without_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rec");
    // 192.0.2.0/24 is reserved for documentation: nothing answers there, and it must not be
    // tried at all.
    let t0 = Instant::now();
    let (o, err) = record_2s("http://192.0.2.7:6060", &out);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("192.0.2.7 is not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "refused before any connection"
    );
    assert!(!out.exists());
    // --help documents the flag and the policy.
    let help = String::from_utf8_lossy(&record(&["--help"]).output().unwrap().stdout).into_owned();
    assert!(
        help.contains("--allow-remote") && help.contains("Only loopback addresses"),
        "{help}"
    );
}

#[test]
fn an_address_that_does_not_answer_or_answers_garbage_is_an_error_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = tmp.path().join("rec");
    let (o, err) = record_2s(&format!("http://{free}"), &out);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not answer") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!out.exists(), "no half directory");

    // Something that answers HTTP, but not pprof.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let body = "<html>it works</html>";
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let (o, err) = record_2s(&format!("http://{addr}"), &out);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "http://{addr}/debug/pprof/goroutine: not a Go pprof endpoint"
        )),
        "{err}"
    );
    assert!(!out.exists(), "no half directory");
}

/// Waits (at most 15 s) until `n` samples of the recording in `out` are on disk.
fn wait_for_samples(out: &Path, n: usize) -> leakbench::run_dir::RepDir {
    let rep = RunDir::new(out).rep("live", 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::fs::read_to_string(rep.trace_jsonl()).map_or(0, |t| t.lines().count()) < n {
        assert!(Instant::now() < deadline, "no samples recorded");
        std::thread::sleep(Duration::from_millis(100));
    }
    rep
}

/// Records `svc` for 30 s in the background, kills the service once 4 samples are on disk,
/// and returns how `record` ended and how long it took after the kill.
fn kill_mid_recording(svc: &mut Service, out: &Path, with_pid: bool) -> (Output, Duration) {
    let pid = svc.pid().to_string();
    let mut args = vec![svc.url.as_str(), "--duration", "30s"];
    if with_pid {
        args.extend(["--pid", &pid]);
    }
    let child = record(&args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_samples(out, 4);
    svc.kill();
    let killed = Instant::now();
    let o = child.wait_with_output().unwrap();
    (o, killed.elapsed())
}

#[test]
fn a_service_killed_mid_recording_keeps_the_trace_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = build(tmp.path());
    for with_pid in [true, false] {
        let mut svc = Service::start(&bin, "1s");
        let out = tmp.path().join(format!("rec-{with_pid}"));
        let (o, took) = kill_mid_recording(&mut svc, &out, with_pid);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "pid {with_pid}: {err}");
        // Gone at once with its process named; else after 3 unanswered ticks (1.5 s).
        assert!(
            took < Duration::from_secs(if with_pid { 3 } else { 6 }),
            "took {took:?}"
        );
        let r = &trace::load_recordings(&out).unwrap()[0];
        let end = r.end.as_ref().unwrap();
        assert_eq!(end.status, EndStatus::Crashed, "{end:?}");
        let why = if with_pid {
            "is gone"
        } else {
            "stopped answering"
        };
        assert!(
            end.reason.starts_with("the service went away") && end.reason.contains(why),
            "{end:?}"
        );
        assert!(err.contains(&end.reason), "{err}");
        assert!(r.samples.len() >= 4 && end.samples == r.samples.len() as u64);
        // What was recorded is replayed and drawn.
        let o = leakbench().arg("replay").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let o = leakbench().arg("plot").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

#[test]
fn ctrl_c_ends_the_recording_early_and_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(&build(tmp.path()), "1s");
    let out = tmp.path().join("rec");
    let child = record(&[&svc.url, "--duration", "60s", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rep = wait_for_samples(&out, 3);
    // SAFETY: signals our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let end = trace::load_end(&rep).unwrap().expect("end.json written");
    assert_eq!(end.status, EndStatus::Interrupted, "{end:?}");
    assert!(end.samples >= 3);
}
