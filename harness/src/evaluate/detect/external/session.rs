//! One external detector over one trace: start its process, write the hello line, then one
//! sample at a time, each waiting for its one answer line, until the first alarm or the last
//! sample; then close its stdin and kill its process group.
//!
//! How the untrusted process is held:
//! - no shell: the declared argument vector goes to `execve` as is;
//! - a minimal environment (`PATH`, `HOME` and `TMPDIR` set to its working directory, and the
//!   variables its declaration adds), in an empty temporary working directory removed after;
//! - its own process group, SIGKILLed on every way out (answers done, a fault, a panic:
//!   [`Process`]'s `Drop`), and `PR_SET_PDEATHSIG` so it dies with a SIGKILLed harness (a
//!   grandchild that leaves the group with `setsid` is beyond what the harness can kill);
//! - time: each answer within the per-sample limit, everything within the per-trace limit,
//!   measured by the harness with [`Instant`], so a hung detector costs at most its limit;
//! - output: stdout read by a thread that keeps at most one line of [`MAX_LINE_BYTES`] and
//!   [`MAX_STDOUT_BYTES`] in all, stderr by one that keeps its last [`STDERR_KEEP_BYTES`];
//!   its stdin is written by a third thread, so a detector that does not read cannot block
//!   the harness past the limit either.
//!
//! Owns the process and the order of the conversation. Must not parse or judge answers beyond
//! [`super::protocol`] (which it calls) nor score.

use super::protocol::{self, Hello};
use super::{
    External, Fault, FaultKind, Verdict, MAX_LINE_BYTES, MAX_STDOUT_BYTES, STDERR_KEEP_BYTES,
};
use crate::evaluate::detect::{Alarm, Gate};
use crate::sample::Sample;
use crate::trace::Trace;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a detector gets to exit by itself once its stdin is closed, before its group is
/// killed anyway: a clean exit is nicer, and waiting longer gains nothing.
const EXIT_GRACE: Duration = Duration::from_millis(100);
/// How long the harness waits for the last of stderr once the group is dead.
const STDERR_DRAIN: Duration = Duration::from_millis(200);
/// Lines of stderr quoted in a fault's reason, and their most characters in all.
const STDERR_LINES: usize = 5;
const STDERR_CHARS: usize = 400;

/// The first alarm of `ext` on `trace` (warm-up skipped, as for every detector), or its
/// fault.
pub fn first_alarm(ext: &External, trace: &Trace) -> Verdict {
    let warmup_s = trace.meta.scenario.warmup_s;
    let hello = Hello::new(&ext.name, warmup_s, trace.meta.interval_s, &ext.limits);
    let mut gate = Gate::new(warmup_s);
    run(
        ext,
        &hello,
        trace.samples.iter().filter(|s| gate.admits(s.t)),
    )
}

/// Talks to one fresh process of `ext`: `hello`, then `samples` (already admitted) one by one.
pub fn run<'a>(
    ext: &External,
    hello: &Hello,
    samples: impl Iterator<Item = &'a Sample>,
) -> Verdict {
    let mut p = Process::start(ext).map_err(|kind| Fault {
        kind,
        stderr: String::new(),
    })?;
    let said = p.converse(ext, hello, samples);
    p.finish();
    said.map_err(|kind| Fault {
        kind,
        stderr: p.stderr_tail(),
    })
}

/// What the stdout reader saw.
enum Event {
    /// One line, without its newline.
    Line(Vec<u8>),
    /// stdout closed.
    Eof,
    LongLine,
    Flood,
    ReadError(String),
}

/// A running detector. Dropping it kills its process group.
struct Process {
    child: Child,
    /// Its process group's id (its own pid: it leads the group).
    pgid: libc::pid_t,
    /// Lines for the stdin writer; dropped to close its stdin.
    stdin: Option<Sender<Vec<u8>>>,
    stdout: Receiver<Event>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_done: Receiver<()>,
    started: Instant,
    reaped: bool,
    /// Its working directory, removed after it is dead (fields drop after `Drop::drop`).
    _work: tempfile::TempDir,
}

impl Process {
    fn start(ext: &External) -> Result<Process, FaultKind> {
        let spawn_err = |e: std::io::Error| FaultKind::Spawn {
            program: ext.program.display().to_string(),
            error: e.to_string(),
        };
        let work = tempfile::Builder::new()
            .prefix("leakbench-detector-")
            .tempdir()
            .map_err(spawn_err)?;
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        let mut cmd = Command::new(&ext.program);
        cmd.args(&ext.args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", work.path())
            .env("TMPDIR", work.path())
            .envs(&ext.env)
            .current_dir(work.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only calls
        // async-signal-safe functions (prctl, getppid, _exit).
        unsafe {
            let parent = libc::getpid();
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent may have died between fork and prctl.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let pgid = child.id() as libc::pid_t;
        let io_err = |e: std::io::Error| FaultKind::Io(e.to_string());
        let (stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        // From here on, a failure must still kill what was started.
        let mut guard = Killer {
            pgid,
            child: Some(child),
        };
        let (line_tx, line_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("detector-stdin".into())
            .spawn(move || write_lines(stdin, line_rx))
            .map_err(io_err)?;
        let (event_tx, event_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("detector-stdout".into())
            .spawn(move || read_lines(stdout, &event_tx))
            .map_err(io_err)?;
        let tail = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, done_rx) = mpsc::channel();
        let keep = tail.clone();
        std::thread::Builder::new()
            .name("detector-stderr".into())
            .spawn(move || {
                keep_tail(stderr, &keep);
                let _ = done_tx.send(());
            })
            .map_err(io_err)?;
        Ok(Process {
            child: guard.child.take().expect("still held"),
            pgid,
            stdin: Some(line_tx),
            stdout: event_rx,
            stderr: tail,
            stderr_done: done_rx,
            started,
            reaped: false,
            _work: work,
        })
    }

    fn send(&self, line: Vec<u8>) {
        // A closed stdin (the detector exited) shows as the end of its stdout.
        if let Some(tx) = &self.stdin {
            let _ = tx.send(line);
        }
    }

    /// The conversation; stops at the first alarm or the first fault.
    fn converse<'a>(
        &mut self,
        ext: &External,
        hello: &Hello,
        samples: impl Iterator<Item = &'a Sample>,
    ) -> Result<Option<Alarm>, FaultKind> {
        let trace_deadline = self.started + ext.limits.trace;
        let (mut sent, mut answered) = (0, 0);
        self.send(protocol::hello_line(hello));
        for s in samples {
            // Anything that arrived before this sample was sent answers nothing.
            match self.stdout.try_recv() {
                Ok(ev) => return Err(self.unexpected(ev, sent, answered)),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    return Err(FaultKind::Io("its stdout reader stopped".into()))
                }
            }
            self.send(protocol::sample_line(s));
            sent += 1;
            let now = Instant::now();
            let sample_deadline = now + ext.limits.sample;
            let deadline = sample_deadline.min(trace_deadline);
            match self
                .stdout
                .recv_timeout(deadline.saturating_duration_since(now))
            {
                Ok(Event::Line(bytes)) => {
                    answered += 1;
                    let line = std::str::from_utf8(&bytes).map_err(|e| FaultKind::InvalidJson {
                        t: s.t,
                        error: format!("not UTF-8: {e}"),
                        line: protocol::excerpt(&String::from_utf8_lossy(&bytes)),
                    })?;
                    if let Some(alarm) = protocol::read_answer(line, s.t)? {
                        return Ok(Some(alarm));
                    }
                }
                Ok(ev) => return Err(self.unexpected(ev, sent, answered)),
                Err(RecvTimeoutError::Timeout) if sample_deadline <= trace_deadline => {
                    return Err(FaultKind::SampleTimeout {
                        t: s.t,
                        limit_s: ext.limits.sample.as_secs_f64(),
                    })
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(FaultKind::TraceTimeout {
                        limit_s: ext.limits.trace.as_secs_f64(),
                        answered,
                    })
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(FaultKind::Io("its stdout reader stopped".into()))
                }
            }
        }
        Ok(None)
    }

    /// The fault an event other than an awaited answer line is.
    fn unexpected(&mut self, ev: Event, sent: usize, answered: usize) -> FaultKind {
        match ev {
            Event::Line(l) => FaultKind::Unasked {
                line: protocol::excerpt(&String::from_utf8_lossy(&l)),
            },
            Event::Eof => FaultKind::ExitedEarly {
                status: self.exit_status(),
                answered,
                sent,
            },
            Event::LongLine => FaultKind::LongLine {
                max: MAX_LINE_BYTES,
            },
            Event::Flood => FaultKind::Flood {
                max: MAX_STDOUT_BYTES,
            },
            Event::ReadError(e) => FaultKind::Io(format!("reading its stdout: {e}")),
        }
    }

    /// How it ended, once it closed its stdout: waits up to a second for it to exit.
    fn exit_status(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match self.exited() {
                Some(st) => return st,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                None => return "closed its stdout, still running".into(),
            }
        }
    }

    /// How the leader exited, if it has, *without reaping it*: while it is an unreaped
    /// zombie its pid (the group's id) cannot be reused, so killing the group stays safe.
    fn exited(&self) -> Option<String> {
        // SAFETY: waitid(2) on our own child with WNOWAIT only reads its state into `info`.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pgid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            if r != 0 || info.si_pid() == 0 {
                return None;
            }
            Some(match info.si_code {
                libc::CLD_EXITED => format!("exit status {}", info.si_status()),
                _ => format!("killed by signal {}", info.si_status()),
            })
        }
    }

    /// Closes its stdin, gives it [`EXIT_GRACE`] to exit, then kills its group either way.
    fn finish(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + EXIT_GRACE;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill();
    }

    /// SIGKILL to the whole group (a grandchild may be left even if the leader exited), then
    /// reap the leader. Only while the leader is unreaped: after that its pid may belong to
    /// someone else.
    fn kill(&mut self) {
        if !self.reaped {
            kill_group(self.pgid);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// The last lines of its stderr, one line for a reason (once it is dead, waiting a moment
    /// for the pipe to drain).
    fn stderr_tail(&self) -> String {
        let _ = self.stderr_done.recv_timeout(STDERR_DRAIN);
        let bytes = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        tail_lines(&String::from_utf8_lossy(&bytes))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills a started group if [`Process::start`] fails half-way.
struct Killer {
    pgid: libc::pid_t,
    child: Option<Child>,
}

impl Drop for Killer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(self.pgid);
            let _ = c.wait();
        }
    }
}

fn kill_group(pgid: libc::pid_t) {
    if pgid > 0 {
        // SAFETY: kill(2) with a negative pid signals the group the detector leads
        // (process_group(0)); a group that is gone gives ESRCH, harmlessly.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

fn write_lines(mut stdin: std::process::ChildStdin, lines: Receiver<Vec<u8>>) {
    for line in lines {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

/// Sends each line of `out` (at most [`MAX_LINE_BYTES`] each, [`MAX_STDOUT_BYTES`] in all),
/// then one final event: the end, or the cap it broke.
fn read_lines(out: impl Read, events: &Sender<Event>) {
    let mut r = BufReader::new(out);
    let mut line = Vec::new();
    let mut total: u64 = 0;
    let last = loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Event::ReadError(e.to_string()),
        };
        if buf.is_empty() {
            // A last answer without its newline still counts.
            if !line.is_empty() {
                let _ = events.send(Event::Line(std::mem::take(&mut line)));
            }
            break Event::Eof;
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        total += used as u64;
        if total > MAX_STDOUT_BYTES {
            break Event::Flood;
        }
        line.extend_from_slice(&buf[..used - usize::from(done)]);
        r.consume(used);
        if line.len() > MAX_LINE_BYTES {
            break Event::LongLine;
        }
        if done && events.send(Event::Line(std::mem::take(&mut line))).is_err() {
            return;
        }
    };
    let _ = events.send(last);
}

/// Reads `err` to its end, keeping its last [`STDERR_KEEP_BYTES`] in `tail`.
fn keep_tail(mut err: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    loop {
        match err.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let Ok(mut t) = tail.lock() else { return };
                t.extend_from_slice(&buf[..n]);
                if t.len() > 2 * STDERR_KEEP_BYTES {
                    let cut = t.len() - STDERR_KEEP_BYTES;
                    t.drain(..cut);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The last [`STDERR_LINES`] non-empty lines of `text`, joined with ` | `, at most
/// [`STDERR_CHARS`] characters (the end kept: that is where an error usually is).
fn tail_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines[lines.len().saturating_sub(STDERR_LINES)..].join(" | ");
    let flat: String = joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = flat.chars().count();
    if n <= STDERR_CHARS {
        flat
    } else {
        format!(
            "…{}",
            flat.chars().skip(n - STDERR_CHARS).collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detector made of a standard tool (no interpreter, no shell): what each does wrong
    /// is what the protocol must survive.
    fn tool(program: &str, args: &[&str], sample_s: f64) -> External {
        External::for_test(program, args, sample_s)
    }

    fn samples(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                t: 2.0 + i as f64 * 0.5,
                ..Default::default()
            })
            .collect()
    }

    fn talk(ext: &External, n: usize) -> Verdict {
        let hello = Hello::new(&ext.name, 2.0, 0.5, &ext.limits);
        run(ext, &hello, samples(n).iter())
    }

    fn kind(v: Verdict) -> FaultKind {
        v.unwrap_err().kind
    }

    #[test]
    fn a_program_that_exits_at_once_exited_early() {
        let k = kind(talk(&tool("/bin/true", &[], 5.0), 3));
        assert!(
            matches!(k, FaultKind::ExitedEarly { answered: 0, .. }),
            "{k}"
        );
        assert!(k.to_string().contains("(exit status 0)"), "{k}");
        let k = kind(talk(&tool("/bin/false", &[], 5.0), 3));
        assert!(k.to_string().contains("(exit status 1)"), "{k}");
    }

    #[test]
    fn a_program_that_never_answers_costs_its_sample_limit_and_no_more() {
        let started = Instant::now();
        let k = kind(talk(&tool("/bin/sleep", &["30"], 0.3), 3));
        let took = started.elapsed();
        assert!(
            matches!(k, FaultKind::SampleTimeout { t, .. } if t == 2.0),
            "{k}"
        );
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    #[test]
    fn an_echo_of_its_input_is_not_an_answer() {
        // `cat` answers the hello line, unasked, as if it answered the first sample: the
        // hello's fields are not an answer's.
        let k = kind(talk(&tool("/bin/cat", &[], 5.0), 3));
        assert!(
            matches!(k, FaultKind::BadAnswer { .. } | FaultKind::Unasked { .. }),
            "{k}"
        );
    }

    #[test]
    fn a_flood_is_cut_at_the_caps() {
        // `yes` writes `y` lines as fast as it can: invalid JSON, or lines nobody asked for.
        let k = kind(talk(&tool("/usr/bin/yes", &[], 5.0), 3));
        assert!(
            matches!(k, FaultKind::InvalidJson { .. } | FaultKind::Unasked { .. }),
            "{k}"
        );
        // Without a newline, one line grows past the cap.
        let k = kind(talk(
            &tool("/usr/bin/head", &["-c", "1000000", "/dev/zero"], 5.0),
            3,
        ));
        assert_eq!(
            k,
            FaultKind::LongLine {
                max: MAX_LINE_BYTES
            }
        );
    }

    #[test]
    fn a_missing_program_is_a_spawn_fault() {
        let k = kind(talk(&tool("/nonexistent/detector", &[], 5.0), 1));
        assert!(matches!(k, FaultKind::Spawn { .. }), "{k}");
    }

    #[test]
    fn reading_lines_stops_at_the_line_cap_and_keeps_short_lines() {
        let (tx, rx) = mpsc::channel();
        let mut input = b"{}\n{\"alarm\":null}".to_vec();
        read_lines(&input[..], &tx);
        let got: Vec<Vec<u8>> = rx
            .try_iter()
            .filter_map(|e| match e {
                Event::Line(l) => Some(l),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![b"{}".to_vec(), b"{\"alarm\":null}".to_vec()]);
        input = vec![b'x'; MAX_LINE_BYTES + 10];
        let (tx, rx) = mpsc::channel();
        read_lines(&input[..], &tx);
        assert!(matches!(rx.try_iter().last(), Some(Event::LongLine)));
    }

    #[test]
    fn stderr_tails_are_the_last_lines_on_one_line() {
        assert_eq!(tail_lines("a\n\nb\nc\n"), "a | b | c");
        assert_eq!(tail_lines("1\n2\n3\n4\n5\n6\n7"), "3 | 4 | 5 | 6 | 7");
        let long = "x".repeat(1000);
        let t = tail_lines(&long);
        assert_eq!(t.chars().count(), STDERR_CHARS + 1);
        assert!(t.starts_with('…'));
        let big = Mutex::new(Vec::new());
        keep_tail(&vec![b'e'; 10 * STDERR_KEEP_BYTES][..], &big);
        assert!(big.lock().unwrap().len() <= 2 * STDERR_KEEP_BYTES);
    }
}
