//! `leakbench record URL`: record a Go service that is already running, and show a live
//! recording's alarms where `replay` and `plot` would show scores.
//!
//! Owns the checks on the command's values: which addresses may be read (loopback only, unless
//! `--allow-remote`), the URL's shape, the duration and interval, the output directory; and the
//! order check → record → say what happened. Must not sample (that is
//! [`crate::record::live`]), judge alarms ([`crate::evaluate::alarms`]) or draw
//! ([`crate::present::report::live`]).
//!
//! Why loopback by default: `record` sends a service requests it did not ask for (a goroutine
//! profile and a heap profile every tick, a `goroutineleak` profile, which runs a GC cycle),
//! and what it reads back (stacks, allocation sites) describes the service's code. Pointing that
//! at another machine should be a decision, spelled out on the command line.

use crate::bad_input::BadInput;
use crate::evaluate::alarms::{self, LiveReplay};
use crate::evaluate::detect::DetectorSet;
use crate::present::report;
use crate::record::live::{self, LivePlan};
use crate::record::probe::{read_proc_mem, ProbeSet};
use crate::record::run::{log, utc_now, LiveDetectors};
use crate::run_dir::RunDir;
use crate::sample::{metric, Sample};
use crate::trace::{self, EndStatus, RepEnd};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The flag that lets `record` read a service beyond loopback.
pub const ALLOW_REMOTE_FLAG: &str = "--allow-remote";

/// How long the service has to accept a connection and send its goroutine profile before
/// recording starts: a healthy service answers in milliseconds; a loaded one may take a
/// second for a large profile.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The recording's name when none is given (`traces/<name>/rep-0`).
pub const DEFAULT_NAME: &str = "live";

/// What to record: the command's values.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// `http://HOST:PORT`, optionally with `/debug/pprof/` after it.
    pub url: String,
    /// Read RSS from `/proc/PID/status` (the service's process, on this machine).
    pub pid: Option<u32>,
    pub duration: Duration,
    pub interval: Duration,
    /// The run directory to create (must not exist, or be empty).
    pub out: PathBuf,
    pub name: String,
    pub allow_remote: bool,
    /// Skip the `goroutineleak` profile (it runs a GC cycle in the service at every sample).
    pub no_goroutineleak: bool,
}

/// What `record` did: the trace is in `dir`, whatever its end.
#[derive(Debug)]
pub struct RecordOutcome {
    pub dir: PathBuf,
    pub end: RepEnd,
    /// `3/14 detectors alarmed, first stack-growth at 9.5 s`, as the recording went.
    pub alarms: String,
}

impl RecordOutcome {
    /// The lines that say what was recorded and where, and what to run next.
    pub fn lines(&self) -> Vec<String> {
        let d = self.dir.display();
        let mut lines = vec![format!(
            "recorded {} samples into {d}: {}: {}",
            self.end.samples, self.end.status, self.end.reason
        )];
        lines.push(format!("as it went: {}", self.alarms));
        lines.push(format!(
            "no ground truth: `leakbench replay {d}` lists which detectors fire and when, `leakbench plot {d}` draws it"
        ));
        lines
    }
}

/// Parses a duration: a number of seconds (`90`, `2.5`) or with a unit (`500ms`, `30s`, `5m`,
/// `1h`). Positive and finite.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use ms, s, m or h, e.g. 30s)"
            ))
        }
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && (MIN_DURATION_S..=MAX_DURATION_S).contains(&(v * scale)) => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "`{s}`: not a duration between 1 ms and 30 days (e.g. 30s, 5m, 0.5)"
        )),
    }
}

/// The longest duration or interval `record` takes: 30 days (beyond it a deadline on the
/// monotonic clock could overflow, and no recording is meant to run that long).
const MAX_DURATION_S: f64 = 30.0 * 24.0 * 3600.0;
/// The shortest: 1 ms (a zero interval cannot be ticked).
const MIN_DURATION_S: f64 = 1e-3;

/// The address a URL names, if `record` may read it: `http://HOST[:PORT][/debug/pprof[/]]`,
/// HOST an IP or a name. Loopback only unless `allow_remote`: a name must resolve to loopback
/// addresses only (a `localhost` that also resolves elsewhere is refused).
pub fn target(url: &str, allow_remote: bool) -> Result<SocketAddr, BadInput> {
    let bad = |problem: String, fix: &str| BadInput(format!("{url}: {problem} (fix: {fix})"));
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(bad(
                format!("scheme `{scheme}` is not supported, only http"),
                "give the service's plain-HTTP pprof address, e.g. http://127.0.0.1:6060",
            ))
        }
        None => url,
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !["", "/", "/debug/pprof", "/debug/pprof/"].contains(&path) {
        return Err(bad(
            format!("path `{path}`: record reads the standard pprof paths itself"),
            "give the service's base URL, e.g. http://127.0.0.1:6060",
        ));
    }
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| {
            bad(
                format!("cannot resolve `{authority}`: {e}"),
                "give HOST:PORT, e.g. http://127.0.0.1:6060",
            )
        })?
        .collect();
    // A name with both an IPv4 and an IPv6 address (`localhost`: 127.0.0.1 and ::1) is read
    // on IPv4, as Go's own `net.Listen("tcp", "localhost:6060")` binds it.
    let first = *addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .ok_or_else(|| {
            bad(
                format!("`{authority}` resolves to no address"),
                "give an IP address, e.g. http://127.0.0.1:6060",
            )
        })?;
    if allow_remote {
        return Ok(first);
    }
    match addrs.iter().find(|a| !is_loopback(a.ip())) {
        None => Ok(first),
        Some(a) => Err(BadInput(format!(
            "{url}: {} is not a loopback address, refused (fix: pass {ALLOW_REMOTE_FLAG} to record a service on another host)",
            a.ip()
        ))),
    }
}

/// Loopback: 127.0.0.0/8, ::1, and an IPv4 loopback mapped into IPv6.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        IpAddr::V4(v4) => v4.is_loopback(),
    }
}

/// Whether a recording name can be a directory name: letters, digits, `-`, `_`, `.`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Checks every value, checks that the service answers as pprof, then records it into
/// `req.out` (Ctrl-C and SIGTERM end it early; what was recorded is kept). Bad values and a
/// service that does not answer, or answers something else, are errors with nothing written.
pub async fn record(req: RecordRequest, mp: &MultiProgress) -> anyhow::Result<RecordOutcome> {
    if req.interval >= req.duration {
        return Err(BadInput(format!(
            "--interval {:.3} s is not shorter than --duration {:.3} s (fix: record longer, or sample more often)",
            req.interval.as_secs_f64(),
            req.duration.as_secs_f64()
        ))
        .into());
    }
    if !valid_name(&req.name) {
        return Err(BadInput(format!(
            "--name `{}`: not a recording name (fix: letters, digits, '-', '_' and '.')",
            req.name
        ))
        .into());
    }
    let occupied = std::fs::read_dir(&req.out).is_ok_and(|mut d| d.next().is_some());
    if occupied || (req.out.exists() && !req.out.is_dir()) {
        return Err(BadInput(format!(
            "--out {}: already exists and is not an empty directory (fix: choose a new directory)",
            req.out.display()
        ))
        .into());
    }
    if let Some(pid) = req.pid {
        read_proc_mem(pid).map_err(|e| {
            BadInput(format!(
                "--pid {pid}: cannot read its memory ({e}) (fix: give the service's process ID on this machine, or leave --pid out)"
            ))
        })?;
    }
    let addr = target(&req.url, req.allow_remote)?;
    live::check_answers(&req.url, addr, CHECK_TIMEOUT).await?;
    let plan = LivePlan {
        url: req.url.clone(),
        addr,
        pid: req.pid,
        interval: req.interval,
        duration: req.duration,
        probes: ProbeSet {
            // No ground truth is read from a service: whatever it serves, nothing is judged.
            truth: false,
            // goleak is served by leakbench's kit only, and each verdict stops the world
            // repeatedly while it finds goroutines: not something to ask of a live service.
            goleak: false,
            goroutineleak: !req.no_goroutineleak,
            ..ProbeSet::default()
        },
        dir: RunDir::new(&req.out).rep(&req.name, 0),
        name: req.name.clone(),
    };
    let (int_tx, int_rx) = watch::channel(false);
    let signals = crate::record::run::spawn_signal_watch(Arc::new(int_tx));
    let secs = req.duration.as_secs_f64();
    let bar = mp.add(ProgressBar::new(secs.ceil() as u64));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} s {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix("record");
    let (date, time) = utc_now();
    log(
        mp,
        &format!(
            "recording {} every {} s for {secs} s into {} (Ctrl-C stops early and keeps what was recorded)",
            req.url,
            req.interval.as_secs_f64(),
            plan.dir.path().display()
        ),
    );
    let mut detectors = LiveDetectors::new(0.0);
    let mut samples = 0u64;
    let result = live::record(&plan, format!("{date}T{time}Z"), int_rx, &mut |s| {
        detectors.push(s);
        samples += 1;
        bar.set_position(s.t.min(secs) as u64);
        bar.set_message(progress_line(samples, s, &detectors.describe()));
    })
    .await;
    signals.abort();
    bar.finish_and_clear();
    let end = result?;
    Ok(RecordOutcome {
        dir: req.out,
        end,
        alarms: detectors.describe(),
    })
}

/// `12 samples · 1043 goroutines · heap 12.3 MiB · 2/14 detectors alarmed, ...`.
fn progress_line(n: u64, s: &Sample, alarms: &str) -> String {
    let mut parts = vec![format!("{n} samples")];
    if let Some(g) = s.goroutine_count() {
        parts.push(format!("{g:.0} goroutines"));
    }
    if let Some(h) = s.metric(metric::HEAP_OBJECTS_BYTES) {
        parts.push(format!("heap {:.1} MiB", h / 1048576.0));
    }
    parts.push(alarms.to_string());
    parts.join(" · ")
}

/// The exit code for how a recording ended: 0 it ran its duration, 130 interrupted (what was
/// recorded is kept, as for `run`), 3 the service went away before the end (what was
/// recorded is kept), 1 anything else.
pub fn exit_code(end: &RepEnd) -> u8 {
    match end.status {
        EndStatus::Completed => 0,
        EndStatus::Interrupted => 130,
        EndStatus::Crashed => 3,
        _ => 1,
    }
}

/// `replay` on a directory of live recordings: every detector's first alarm, unjudged, into
/// `alarms.csv`; `None` if `dir` holds none (then it is scored as any run). `exports` says
/// whether `--export-*` was asked for: there is nothing scored to export.
pub fn replay_if_live(
    dir: &Path,
    set: &DetectorSet,
    exports: bool,
) -> anyhow::Result<Option<LiveReplay>> {
    if !trace::holds_live(dir) {
        return Ok(None);
    }
    if exports {
        return Err(BadInput(format!(
            "{}: a live recording has no scores to export (fix: drop --export-*; its alarms are in {})",
            dir.display(),
            RunDir::new(dir).alarms_csv().display()
        ))
        .into());
    }
    Ok(Some(alarms::replay_live(dir, set)?))
}

/// `plot` on a directory of live recordings: its timelines and short report; `None` if `dir`
/// holds none.
pub fn plot_if_live(dir: &Path, mp: &MultiProgress) -> anyhow::Result<Option<report::Generated>> {
    if !trace::holds_live(dir) {
        return Ok(None);
    }
    Ok(Some(report::live::generate(dir, mp)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bad_input::is_bad_input;

    #[test]
    fn durations_parse_with_or_without_a_unit() {
        let s = |x: f64| Duration::from_secs_f64(x);
        assert_eq!(parse_duration("30"), Ok(s(30.0)));
        assert_eq!(parse_duration("2.5s"), Ok(s(2.5)));
        assert_eq!(parse_duration("500ms"), Ok(s(0.5)));
        assert_eq!(parse_duration("5m"), Ok(s(300.0)));
        assert_eq!(parse_duration("1h"), Ok(s(3600.0)));
        for bad in [
            "0",
            "-1",
            "abc",
            "5 parsecs",
            "",
            "0.0000001ms",
            "31d",
            "999999999999999999999h",
            "inf",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("1ms"), Ok(s(0.001)));
        assert_eq!(parse_duration("720h"), Ok(s(720.0 * 3600.0)));
    }

    #[test]
    fn loopback_addresses_are_read_and_others_refused_naming_the_flag() {
        for ok in [
            "http://127.0.0.1:6060",
            "127.0.0.1:6060",
            "http://127.3.4.5:6060/debug/pprof/",
            "http://[::1]:6060/",
            "http://localhost:6060",
        ] {
            let a = target(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(a.ip().is_loopback(), "{ok}: {a}");
            assert_eq!(a.port(), 6060);
        }
        for remote in [
            "http://10.1.2.3:6060",
            "http://[2001:db8::1]:6060",
            "http://0.0.0.0:6060",
        ] {
            let e = target(remote, false).unwrap_err().to_string();
            assert!(
                e.contains("is not a loopback address")
                    && e.contains("--allow-remote")
                    && !e.contains('\n'),
                "{e}"
            );
            assert_eq!(
                target(remote, true).unwrap().to_string(),
                remote.trim_start_matches("http://")
            );
        }
        let e = target("https://127.0.0.1:6060", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only http"), "{e}");
        let e = target("http://127.0.0.1:6060/metrics", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("base URL"), "{e}");
        assert_eq!(target("http://127.0.0.1", false).unwrap().port(), 80);
    }

    #[tokio::test]
    async fn bad_values_are_bad_input_and_write_nothing() {
        let mp = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("rec");
        let req = RecordRequest {
            url: "http://127.0.0.1:9".into(),
            pid: None,
            duration: Duration::from_secs(2),
            interval: Duration::from_millis(500),
            out: out.clone(),
            name: DEFAULT_NAME.into(),
            allow_remote: false,
            no_goroutineleak: false,
        };
        for bad in [
            RecordRequest {
                interval: Duration::from_secs(3),
                ..req.clone()
            },
            RecordRequest {
                name: "../x".into(),
                ..req.clone()
            },
            RecordRequest {
                url: "http://192.0.2.1:6060".into(),
                ..req.clone()
            },
        ] {
            let e = record(bad, &mp).await.unwrap_err();
            assert!(is_bad_input(&e), "{e}");
        }
        // Not bad input, but nothing answers: an error, and still nothing written.
        let e = record(req, &mp).await.unwrap_err();
        assert!(!is_bad_input(&e), "{e}");
        assert!(e.to_string().contains("does not answer"), "{e}");
        assert!(!out.exists(), "nothing may be written");
    }
}
