//! Starting and stopping one fixture process: a free loopback port (also substituted for
//! `{listen}` in its arguments), its own process group, the readiness handshake (the
//! `LEAKBENCH READY` line, or for a program of the user's own pprof answering, then no
//! non-loopback listener), and a guaranteed kill of the whole group on every exit path.
//!
//! Owns the child process; its log is written through [`crate::record::fixture_log`]. Must not sample
//! it (that is [`crate::record::repetition`]).
//!
//! Why tokio's process API rather than duct: the readiness wait, the RSS watchdog and the
//! sampler all run as async tasks beside each other, and `tokio::process` gives an awaitable
//! exit, a non-blocking stdout reader and `process_group(0)` without a thread per child;
//! duct's strengths (pipelines, shell-like composition) are exactly what we must not use, since
//! no shell may ever interpret a scenario string.
//!
//! How no fixture outlives the harness:
//! - each fixture leads its own process group; [`Fixture`]'s `Drop` sends SIGKILL to the
//!   group, which covers normal ends, errors and panics (unwinding runs `Drop`);
//! - `PR_SET_PDEATHSIG(SIGKILL)` is set in the child before `exec`, so a SIGKILLed harness
//!   takes its fixtures with it. It fires when the *thread* that forked exits, so fixtures are
//!   spawned from runtime worker threads (which live as long as the runtime), never from
//!   `spawn_blocking` threads;
//! - a SIGKILLed harness runs no code, and a fixture's own children have no parent-death
//!   signal: so [`start_reaper`] forks, before the runtime starts, a small reaper process that
//!   holds a pipe from the harness. Each fixture's group is registered with it at spawn and
//!   unregistered when dropped; when the pipe closes (the harness is gone, however it died),
//!   the reaper SIGKILLs every group still registered, then exits;
//! - the fixture kit also exits when its parent changes and after `-duration`.

use crate::clock::monotonic_ns;
use crate::record::fixture_log::{LogSpan, LogWriter, MAX_LOG_BYTES};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// The line a fixture prints once it serves: `LEAKBENCH READY 127.0.0.1:PORT`.
pub const READY_PREFIX: &str = "LEAKBENCH READY ";

/// Longest stdout line kept while waiting for readiness: the rest of a longer line is dropped,
/// so a fixture that writes without newlines cannot grow the harness's memory.
pub const MAX_LINE_BYTES: usize = 4096;

/// Everything needed to start a fixture.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub program: PathBuf,
    /// An argument vector, passed to `execve` as is: no shell.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// stdout and stderr go here, together at most [`MAX_LOG_BYTES`] per start.
    pub log_path: PathBuf,
    pub ready_timeout: Duration,
    /// Also ready once `/debug/pprof/` answers on the given address (a program of the user's
    /// own that prints no readiness line). The readiness line, if printed, still counts.
    pub ready_by_pprof: bool,
}

/// What `{listen}` in a program's arguments becomes: the address it must serve on.
pub const LISTEN_PLACEHOLDER: &str = "{listen}";

/// How often a program without a readiness line is asked whether it serves pprof yet.
pub const PPROF_READY_POLL: Duration = Duration::from_millis(100);

/// Why a fixture did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("could not find a free loopback port: {0}")]
    Port(std::io::Error),
    #[error("could not open log {path}: {source}")]
    Log {
        path: String,
        source: std::io::Error,
    },
    #[error("not ready after {0:?} (no `LEAKBENCH READY` line)")]
    NotReady(Duration),
    #[error("exited before it was ready ({status}); last log lines: {tail}")]
    ExitedEarly { status: String, tail: String },
    #[error("printed a readiness line with an address that is not loopback: `{0}`")]
    NotLoopback(String),
    #[error("printed a readiness line whose address is not IP:PORT: `{0}` (fix: print `LEAKBENCH READY 127.0.0.1:PORT`)")]
    BadReadyAddress(String),
}

/// A running fixture. Dropping it kills its whole process group.
pub struct Fixture {
    child: Child,
    pub pid: u32,
    /// The address it serves on, as it reported it.
    pub addr: SocketAddr,
    /// `CLOCK_MONOTONIC` at spawn: `t = 0` of the trace.
    pub spawn_mono_ns: u64,
    /// Seconds since spawn at which the readiness line arrived.
    pub ready_s: f64,
    killed: bool,
    /// This start's part of the log.
    log: LogSpan,
    /// The tasks copying stdout and stderr into the log; they end when both pipes close.
    log_copies: Vec<JoinHandle<()>>,
}

/// Write end of the reaper's pipe; -1 when there is no reaper.
static REAPER_FD: AtomicI32 = AtomicI32::new(-1);

/// Most fixture groups the reaper tracks at once (far above any `--jobs`).
const REAPER_SLOTS: usize = 1024;

/// Starts the reaper (see the module doc). Call it once, while the process is still
/// single-threaded (before the async runtime starts). Without it, fixtures still die with the
/// harness by their parent-death signal, but their own children may not.
pub fn start_reaper() -> std::io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: plain syscalls. The child runs only async-signal-safe calls (read, kill, open,
    // dup2, signal, _exit) on stack memory, so it is sound even if a thread existed.
    unsafe {
        // CLOEXEC: no fixture may inherit the write end, or the pipe would outlive the harness.
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => {
                let e = std::io::Error::last_os_error();
                libc::close(fds[0]);
                libc::close(fds[1]);
                Err(e)
            }
            0 => {
                libc::close(fds[1]);
                // Ctrl-C reaches the harness's whole process group: the reaper must wait for
                // the harness's own clean stop, not die first. Nor may it hold the harness's
                // stdout and stderr open.
                for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
                    libc::signal(sig, libc::SIG_IGN);
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    for fd in 0..3 {
                        libc::dup2(null, fd);
                    }
                }
                reaper_loop(fds[0]);
                libc::_exit(0);
            }
            _ => {
                libc::close(fds[0]);
                REAPER_FD.store(fds[1], Ordering::SeqCst);
                Ok(())
            }
        }
    }
}

/// The reaper's body: messages are 5 bytes, `+` or `-` then a little-endian group id.
///
/// # Safety
/// Async-signal-safe calls only; `fd` is the pipe's read end.
unsafe fn reaper_loop(fd: libc::c_int) {
    let mut groups = [0u32; REAPER_SLOTS];
    let mut n = 0;
    let mut msg = [0u8; 5];
    let mut have = 0;
    loop {
        let r = libc::read(fd, msg.as_mut_ptr().add(have).cast(), msg.len() - have);
        if r < 0 && *libc::__errno_location() == libc::EINTR {
            continue;
        }
        if r <= 0 {
            break;
        }
        have += r as usize;
        if have < msg.len() {
            continue;
        }
        have = 0;
        let g = u32::from_le_bytes([msg[1], msg[2], msg[3], msg[4]]);
        match msg[0] {
            b'+' if n < REAPER_SLOTS => {
                groups[n] = g;
                n += 1;
            }
            b'-' => {
                if let Some(i) = groups[..n].iter().position(|&x| x == g) {
                    groups[i] = groups[n - 1];
                    n -= 1;
                }
            }
            _ => {}
        }
    }
    for &g in &groups[..n] {
        libc::kill(-(g as libc::pid_t), libc::SIGKILL);
    }
}

/// Tells the reaper about a group (`+` started, `-` killed). One write of 5 bytes is atomic
/// on a pipe, so concurrent callers never interleave.
fn reaper_send(op: u8, group: u32) {
    let fd = REAPER_FD.load(Ordering::SeqCst);
    if fd < 0 || group == 0 {
        return;
    }
    let g = group.to_le_bytes();
    let msg = [op, g[0], g[1], g[2], g[3]];
    // SAFETY: writes a stack buffer to a pipe we own. A failure means the reaper is gone;
    // the parent-death signal still covers the fixture itself.
    unsafe {
        libc::write(fd, msg.as_ptr().cast(), msg.len());
    }
}

/// Picks a free port on 127.0.0.1 by binding port 0 and releasing it. Another process can
/// take it in between; [`launch`] retries when the fixture then fails to bind.
pub fn free_loopback_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// Starts the fixture and waits for its readiness line. Retries up to three times with a new
/// port when the fixture exits complaining that its address is in use.
pub async fn launch(spec: &LaunchSpec) -> Result<Fixture, LaunchError> {
    let mut last = None;
    for _ in 0..3 {
        match launch_once(spec).await {
            Err(LaunchError::ExitedEarly { status, tail })
                if tail.contains("address already in use") =>
            {
                last = Some(LaunchError::ExitedEarly { status, tail });
            }
            other => return other,
        }
    }
    Err(last.expect("loop ran"))
}

async fn launch_once(spec: &LaunchSpec) -> Result<Fixture, LaunchError> {
    let port = free_loopback_port().map_err(LaunchError::Port)?;
    // Where this attempt's lines start: an earlier attempt's complaint must not be reported
    // (or retried on) as this one's.
    let log = LogSpan::from_end(&spec.log_path);
    let log_error = |source| LaunchError::Log {
        path: spec.log_path.display().to_string(),
        source,
    };
    let mut log_out = LogWriter::open(&spec.log_path, MAX_LOG_BYTES).map_err(log_error)?;
    let log_err = log_out.another(&spec.log_path).map_err(log_error)?;
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(&spec.program);
    cmd.args(
        spec.args
            .iter()
            .map(|a| a.replace(LISTEN_PLACEHOLDER, &listen)),
    )
    .envs(spec.env.iter().map(|(k, v)| (k, v)))
    .env("LEAKBENCH_LISTEN", &listen)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0)
    .kill_on_drop(true);
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
    let spawn_mono_ns = monotonic_ns();
    let child = cmd.spawn().map_err(|source| LaunchError::Spawn {
        program: spec.program.display().to_string(),
        source,
    })?;
    let pid = child.id().unwrap_or(0);
    reaper_send(b'+', pid);
    let mut fixture = Fixture {
        child,
        pid,
        addr: listen.parse().expect("valid address"),
        spawn_mono_ns,
        ready_s: 0.0,
        killed: false,
        log,
        log_copies: Vec::new(),
    };
    let stderr = fixture.child.stderr.take().expect("piped");
    fixture
        .log_copies
        .push(log_err.spawn_copy(stderr, "stderr"));
    let stdout = fixture.child.stdout.take().expect("piped");
    let mut stdout = BufReader::new(stdout);
    let deadline = tokio::time::Instant::now() + spec.ready_timeout;
    let pprof_ready = pprof_answers(fixture.addr, spec.ready_by_pprof);
    tokio::pin!(pprof_ready);
    loop {
        let line = tokio::select! {
            l = tokio::time::timeout_at(deadline, next_line_bounded(&mut stdout)) => l,
            () = &mut pprof_ready => {
                fixture.ready_s = (monotonic_ns() - spawn_mono_ns) as f64 / 1e9;
                break;
            }
        };
        match line {
            Err(_) => return Err(LaunchError::NotReady(spec.ready_timeout)),
            Ok(Ok(Some(l))) => {
                log_out.write(format!("{l}\n").as_bytes()).await;
                if let Some(addr) = l.trim().strip_prefix(READY_PREFIX) {
                    let addr: SocketAddr = addr
                        .trim()
                        .parse()
                        .map_err(|_| LaunchError::BadReadyAddress(addr.to_string()))?;
                    if !addr.ip().is_loopback() {
                        return Err(LaunchError::NotLoopback(addr.to_string()));
                    }
                    fixture.addr = addr;
                    fixture.ready_s = (monotonic_ns() - spawn_mono_ns) as f64 / 1e9;
                    break;
                }
            }
            Ok(_) => {
                // stdout closed: the fixture is exiting (or it prints nothing and closed
                // stdout; then only pprof answering can make it ready).
                if spec.ready_by_pprof && fixture.exited().is_none() {
                    tokio::select! {
                        () = &mut pprof_ready => {
                            fixture.ready_s = (monotonic_ns() - spawn_mono_ns) as f64 / 1e9;
                            break;
                        }
                        _ = tokio::time::sleep_until(deadline) => return Err(LaunchError::NotReady(spec.ready_timeout)),
                        _ = fixture.child.wait() => {}
                    }
                }
                let status = tokio::time::timeout(Duration::from_secs(2), fixture.child.wait())
                    .await
                    .map(|s| s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()))
                    .unwrap_or_else(|_| "stdout closed".into());
                log_out.flush().await;
                return Err(LaunchError::ExitedEarly {
                    status,
                    tail: fixture.log_tail(5).await,
                });
            }
        }
    }
    if spec.ready_by_pprof {
        if let Some(bad) = crate::record::listeners::non_loopback(pid) {
            return Err(LaunchError::NotLoopback(bad));
        }
    }
    // Keep draining stdout so the fixture never blocks on a full pipe.
    fixture
        .log_copies
        .push(log_out.spawn_copy(stdout, "stdout"));
    Ok(fixture)
}

/// Resolves once `GET http://addr/debug/pprof/` answers with success (polled every
/// [`PPROF_READY_POLL`]); never when `on` is false.
async fn pprof_answers(addr: SocketAddr, on: bool) {
    if !on {
        return std::future::pending().await;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds");
    let url = format!("http://{addr}/debug/pprof/");
    loop {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(PPROF_READY_POLL).await;
    }
}

/// The next line of `r` without its newline, at most [`MAX_LINE_BYTES`] of it (lossy UTF-8);
/// `None` at the end of input.
async fn next_line_bounded<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok((!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned()));
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let keep = (used - usize::from(done)).min(MAX_LINE_BYTES.saturating_sub(line.len()));
        line.extend_from_slice(&buf[..keep]);
        r.consume(used);
        if done {
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
    }
}

impl Fixture {
    /// Seconds since spawn, now.
    pub fn now_s(&self) -> f64 {
        (monotonic_ns().saturating_sub(self.spawn_mono_ns)) as f64 / 1e9
    }

    /// Waits up to a second for the fixture's output to be all in its log: stdout and stderr
    /// close when it exits (unless a child it left holds them). Call before reading the log or
    /// finishing the repetition.
    pub async fn drain_log(&mut self) {
        let copies = std::mem::take(&mut self.log_copies);
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            for c in copies {
                let _ = c.await;
            }
        })
        .await;
    }

    /// The last `n` lines this start wrote to its log, once its output is all in.
    pub async fn log_tail(&mut self, n: usize) -> String {
        self.drain_log().await;
        self.log.tail(n)
    }

    /// `Some(status)` if the fixture has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the fixture to stop (SIGTERM to the group), waits up to `grace`, then kills the
    /// group. Returns the exit status if it was observed.
    pub async fn stop(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        self.signal_group(libc::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(s)) => {
                // The leader is gone; anything it left in the group goes too.
                self.kill();
                Some(s)
            }
            _ => {
                self.kill();
                tokio::time::timeout(Duration::from_secs(2), self.child.wait())
                    .await
                    .ok()
                    .and_then(|r| r.ok())
            }
        }
    }

    /// SIGKILL to the whole group, now.
    pub fn kill(&mut self) {
        self.signal_group(libc::SIGKILL);
        self.killed = true;
    }

    fn signal_group(&self, sig: libc::c_int) {
        if self.pid > 0 {
            // SAFETY: kill(2) with a negative pid signals the process group we created with
            // process_group(0), whose id is the child's pid.
            unsafe {
                libc::kill(-(self.pid as libc::pid_t), sig);
            }
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Even after a clean stop, a grandchild could linger in the group; SIGKILL to a group
        // that no longer exists is harmless (ESRCH).
        if !self.killed {
            self.signal_group(libc::SIGKILL);
        }
        reaper_send(b'-', self.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(program: &str, args: &[&str], dir: &Path) -> LaunchSpec {
        LaunchSpec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            log_path: dir.join("fixture.log"),
            ready_timeout: Duration::from_millis(1500),
            ready_by_pprof: false,
        }
    }

    #[tokio::test]
    async fn never_ready_times_out_and_is_killed() {
        let d = tempfile::tempdir().unwrap();
        let e = launch(&spec("sleep", &["30"], d.path()))
            .await
            .err()
            .unwrap();
        assert!(matches!(e, LaunchError::NotReady(_)), "{e}");
    }

    #[tokio::test]
    async fn early_exit_reports_log_tail() {
        let d = tempfile::tempdir().unwrap();
        // `ls` of a missing path writes to stderr and exits 2, never printing READY.
        let e = launch(&spec("ls", &["/nonexistent-leakbench"], d.path()))
            .await
            .err()
            .unwrap();
        match e {
            LaunchError::ExitedEarly { tail, .. } => {
                assert!(tail.contains("nonexistent-leakbench"), "{tail}")
            }
            other => panic!("{other}"),
        }
    }

    #[tokio::test]
    async fn arguments_are_not_shell_interpreted() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("pwned");
        let evil = format!(
            "$(touch {}); `touch {}`",
            marker.display(),
            marker.display()
        );
        let _ = launch(&spec("echo", &[&evil], d.path())).await;
        assert!(!marker.exists(), "a shell interpreted the argument");
        assert!(std::fs::read_to_string(d.path().join("fixture.log"))
            .unwrap()
            .contains("$(touch"));
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_reading_goes_on() {
        let mut input = vec![b'x'; 3 * MAX_LINE_BYTES];
        input.extend_from_slice(b"\nLEAKBENCH READY 127.0.0.1:1\nlast");
        let mut r = BufReader::with_capacity(100, &input[..]);
        let first = next_line_bounded(&mut r).await.unwrap().unwrap();
        assert_eq!(first.len(), MAX_LINE_BYTES);
        assert_eq!(
            next_line_bounded(&mut r).await.unwrap().as_deref(),
            Some("LEAKBENCH READY 127.0.0.1:1")
        );
        assert_eq!(
            next_line_bounded(&mut r).await.unwrap().as_deref(),
            Some("last")
        );
        assert_eq!(next_line_bounded(&mut r).await.unwrap(), None);
    }

    #[test]
    fn free_port_is_nonzero_and_bindable_on_loopback() {
        let port = free_loopback_port().unwrap();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
