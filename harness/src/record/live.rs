//! Recording a Go service that is already running (`leakbench record`): check that it answers
//! as `net/http/pprof` does ([`check_answers`]), then probe it at every tick with the same
//! probes and schedule as a scenario's repetition ([`crate::record::repetition::take_sample`],
//! [`crate::record::ticker`]), appending each sample to a trace with a
//! [`crate::trace::LiveMeta`], until the duration is over, the harness is interrupted, or the
//! service goes away ([`record`]).
//!
//! Owns the live recording's loop and how it ends. Must not start, signal or stop the service
//! (it is not ours), decide which addresses may be read (that is the command's,
//! [`crate::app::record_live`]), or judge anything: a live service has no ground truth.

use crate::fsio::FsError;
use crate::record::probe::{ProbeSet, Prober};
use crate::record::repetition::{probe_timeout, take_sample};
use crate::record::ticker::{Pace, Tick, Ticker};
use crate::run_dir::{RepDir, TRACE_FORMAT};
use crate::sample::{Missing, Sample};
use crate::trace::{EndStatus, LiveMeta, LiveSource, RepEnd, TraceWriter};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;

/// The endpoint that says a service serves `net/http/pprof`: every Go program that imports it
/// serves its goroutine profile, and the profile always holds at least the goroutine serving it.
pub const PROFILE_PATH: &str = "/debug/pprof/goroutine";

/// Ticks in a row without an answer after which the service is taken to be gone. One tick
/// without an answer can be a hiccup (a GC pause, a full accept queue); three at the default
/// 0.5 s interval are 1.5 s of silence, far longer than any probe took on a live fixture.
pub const GONE_AFTER: u32 = 3;

/// Why a service cannot be recorded at all (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{url} does not answer: {reason} (fix: start the service, or pass the address it serves net/http/pprof on)")]
    NoAnswer { url: String, reason: String },
    #[error("{url}{endpoint}: not a Go pprof endpoint: {reason} (fix: pass the address where the service serves net/http/pprof)")]
    NotPprof {
        url: String,
        endpoint: &'static str,
        reason: String,
    },
}

/// One live recording to make.
#[derive(Debug, Clone)]
pub struct LivePlan {
    /// The service's base URL as the user gave it (for messages and the metadata).
    pub url: String,
    /// Where it is read.
    pub addr: SocketAddr,
    /// The process whose RSS is read from `/proc`, if named.
    pub pid: Option<u32>,
    pub interval: Duration,
    pub duration: Duration,
    pub probes: ProbeSet,
    /// Where the recording goes (`traces/<name>/rep-0` of the run directory).
    pub dir: RepDir,
    pub name: String,
}

impl LivePlan {
    /// The recording's `meta.json`; `started` is UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn meta(&self, started: String) -> LiveMeta {
        LiveMeta {
            format: TRACE_FORMAT,
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            live: LiveSource {
                url: self.url.clone(),
                addr: self.addr.to_string(),
                pid: self.pid,
            },
            name: self.name.clone(),
            rep: 0,
            started,
            interval_s: self.interval.as_secs_f64(),
            duration_s: self.duration.as_secs_f64(),
            warmup_s: 0.0,
            probes: self.probes,
        }
    }
}

/// Checks, before anything is written, that `addr` answers and that what answers is Go's pprof:
/// its goroutine profile decodes and holds at least one goroutine.
pub async fn check_answers(
    url: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), LiveError> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(LiveError::NoAnswer {
                url: url.to_string(),
                reason: e.to_string(),
            })
        }
        Err(_) => {
            return Err(LiveError::NoAnswer {
                url: url.to_string(),
                reason: format!("no connection within {:.1} s", timeout.as_secs_f64()),
            })
        }
    }
    let not_pprof = |reason: String| LiveError::NotPprof {
        url: url.to_string(),
        endpoint: PROFILE_PATH,
        reason,
    };
    let prober = Prober::new(addr, 0, 0, timeout);
    match prober.goroutines().await {
        // The probe's reasons name the path first; the error names it already.
        Err(e) => Err(not_pprof(
            e.strip_prefix(&format!("{PROFILE_PATH}: "))
                .unwrap_or(&e)
                .to_string(),
        )),
        Ok(groups) if groups.is_empty() => Err(not_pprof(
            "the body decodes to a profile without goroutines (an empty or foreign answer)".into(),
        )),
        Ok(_) => Ok(()),
    }
}

/// Why a recording stopped before its end.
enum Halt {
    Interrupted,
}

/// Records the service into `plan.dir` until `plan.duration` has passed, `interrupt` turns
/// true (status `interrupted`) or the service goes away (status `crashed`, with why: its
/// process gone, or [`GONE_AFTER`] ticks in a row without an answer). Every sample is on disk
/// as soon as it is taken, so whatever ends the recording, what was recorded is kept.
/// `on_sample` sees each sample as it is written (progress). Errors are failures to write
/// the trace only.
pub async fn record(
    plan: &LivePlan,
    started: String,
    mut interrupt: watch::Receiver<bool>,
    on_sample: &mut (dyn FnMut(&Sample) + Send),
) -> Result<RepEnd, FsError> {
    let mut writer = TraceWriter::create_live(&plan.dir, &plan.meta(started))?;
    let t0 = crate::clock::monotonic_ns();
    let prober = Prober::new(
        plan.addr,
        plan.pid.unwrap_or(0),
        t0,
        probe_timeout(plan.interval),
    );
    let probes = ProbeSet {
        proc: plan.pid.is_some(),
        ..plan.probes
    };
    let end = tokio::time::Instant::now() + plan.duration;
    let halt = async move {
        if interrupt.wait_for(|v| *v).await.is_err() {
            std::future::pending::<()>().await;
        }
        Halt::Interrupted
    };
    let mut ticker = Ticker::stopping_on(Pace::Every(plan.interval), end, halt);
    let mut unanswered = 0;
    let (status, reason) = loop {
        match ticker.next().await {
            Tick::Stopped(Halt::Interrupted) => {
                break (
                    EndStatus::Interrupted,
                    format!(
                        "interrupted (Ctrl-C or SIGTERM) after {:.1} s",
                        prober.now_s()
                    ),
                )
            }
            Tick::End => {
                break (
                    EndStatus::Completed,
                    format!("recorded {:.1} s", plan.duration.as_secs_f64()),
                )
            }
            Tick::Due(_) => {
                let mut s = take_sample(&prober, &probes).await;
                if plan.pid.is_none() {
                    s.missing.push(Missing {
                        probe: "proc".into(),
                        reason: "no --pid given".into(),
                    });
                }
                writer.append(&s)?;
                on_sample(&s);
                if let Some(why) = gone(plan, &s, &mut unanswered) {
                    break (EndStatus::Crashed, why);
                }
            }
        }
    };
    let ended_s = prober.now_s();
    writer.finish(status, reason, ended_s)
}

/// Whether a failed request reached the service and only its answer came too late (a large
/// service's profile can take longer than the interval): not the service gone. A connect
/// that timed out is no answer at all.
fn answer_too_late(reason: &str) -> bool {
    reason.contains("timed out") && !reason.contains("Connect") && !reason.contains("os error 110")
}

/// Whether the sample just taken shows the service gone, and why: its process (when named)
/// has no memory left to read, or the goroutine profile has gone unanswered `GONE_AFTER`
/// ticks in a row. An answer that is an HTTP error or a bad body is an answer: the service
/// is there.
fn gone(plan: &LivePlan, s: &Sample, unanswered: &mut u32) -> Option<String> {
    if let Some(pid) = plan.pid {
        if s.proc_mem.is_none() {
            let why = reason_of(s, "proc").unwrap_or("unreadable");
            return Some(format!(
                "the service went away: process {pid} is gone ({why})"
            ));
        }
    }
    match reason_of(s, "goroutine") {
        // No connection at all counts; an answer that was an HTTP error or came too late
        // (a large service's goroutine profile can take longer than the interval) does not:
        // the service is there, the sample is missing with its reason.
        Some(r) if !r.starts_with(PROFILE_PATH) && !answer_too_late(r) => *unanswered += 1,
        _ => *unanswered = 0,
    }
    (*unanswered >= GONE_AFTER).then(|| {
        format!(
            "the service went away: {} stopped answering ({GONE_AFTER} ticks in a row: {})",
            plan.url,
            reason_of(s, "goroutine").unwrap_or_default()
        )
    })
}

fn reason_of<'a>(s: &'a Sample, probe: &str) -> Option<&'a str> {
    s.missing
        .iter()
        .find(|m| m.probe == probe)
        .map(|m| m.reason.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_late_answer_is_not_a_service_gone() {
        assert!(answer_too_late("error sending request for url (http://127.0.0.1:1/debug/pprof/goroutine): operation timed out"));
        for gone in [
            "error sending request for url (http://10.0.0.9:6060/debug/pprof/goroutine): client error (Connect): operation timed out",
            "error sending request: tcp connect error: Connection timed out (os error 110)",
            "error sending request: tcp connect error: Connection refused (os error 111)",
        ] {
            assert!(!answer_too_late(gone), "{gone}");
        }
    }

    fn plan(pid: Option<u32>) -> LivePlan {
        LivePlan {
            url: "http://127.0.0.1:1".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            pid,
            interval: Duration::from_millis(500),
            duration: Duration::from_secs(5),
            probes: ProbeSet::default(),
            dir: RepDir::at("/nowhere"),
            name: "live".into(),
        }
    }

    fn sample(missing: &[(&str, &str)]) -> Sample {
        Sample {
            missing: missing
                .iter()
                .map(|(p, r)| Missing {
                    probe: p.to_string(),
                    reason: r.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn three_unanswered_ticks_in_a_row_are_gone_and_an_answer_resets_the_count() {
        let p = plan(None);
        let refused = sample(&[("goroutine", "error sending request: Connection refused")]);
        let http_error = sample(&[("goroutine", "/debug/pprof/goroutine: HTTP 500")]);
        let mut n = 0;
        assert_eq!(gone(&p, &refused, &mut n), None);
        assert_eq!(gone(&p, &refused, &mut n), None);
        // An HTTP error is an answer: the service is there.
        assert_eq!(gone(&p, &http_error, &mut n), None);
        assert_eq!(n, 0);
        assert_eq!(gone(&p, &refused, &mut n), None);
        assert_eq!(gone(&p, &refused, &mut n), None);
        let why = gone(&p, &refused, &mut n).expect("gone at the third");
        assert!(
            why.contains(
                "stopped answering (3 ticks in a row: error sending request: Connection refused)"
            ),
            "{why}"
        );
    }

    #[test]
    fn a_named_process_without_memory_is_gone_at_once() {
        let p = plan(Some(4242));
        let s = sample(&[("proc", "/proc/4242/status: No such file or directory")]);
        let why = gone(&p, &s, &mut 0).expect("gone");
        assert_eq!(
            why,
            "the service went away: process 4242 is gone (/proc/4242/status: No such file or directory)"
        );
        let alive = Sample {
            proc_mem: Some(crate::sample::ProcMem::default()),
            ..Default::default()
        };
        assert_eq!(gone(&p, &alive, &mut 0), None);
    }

    /// A loopback listener that answers every request with `body`, once per connection.
    fn serve(body: &'static [u8]) -> SocketAddr {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = c.write_all(body);
            }
        });
        addr
    }

    #[tokio::test]
    async fn garbage_is_not_pprof_naming_the_endpoint_and_silence_does_not_answer() {
        let t = Duration::from_secs(2);
        let addr = serve(b"<html><body>hello</body></html>");
        let e = check_answers("http://x", addr, t).await.unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, LiveError::NotPprof { .. }), "{s}");
        assert!(
            s.starts_with("http://x/debug/pprof/goroutine: not a Go pprof endpoint: "),
            "{s}"
        );
        assert!(!s.contains('\n'), "{s}");
        // An empty body decodes to an empty protobuf message: still not a goroutine profile.
        let e = check_answers("http://x", serve(b""), t).await.unwrap_err();
        assert!(matches!(e, LiveError::NotPprof { .. }), "{e}");
        assert!(e.to_string().contains("no sample type"), "{e}");
        // A port nobody listens on.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = check_answers("http://y", free, t).await.unwrap_err();
        assert!(matches!(e, LiveError::NoAnswer { .. }), "{e}");
        assert!(
            e.to_string().starts_with("http://y does not answer: "),
            "{e}"
        );
    }
}
