//! Starting and stopping one fixture process: a free loopback port, its own process group,
//! the readiness handshake, and a guaranteed kill of the whole group on every exit path.
//!
//! Owns the child process and its log. Must not sample it (that is [`crate::sampler`]).
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
//! - the fixture kit also exits when its parent changes and after `-duration`.

use crate::clock::monotonic_ns;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The line a fixture prints once it serves: `LEAKBENCH READY 127.0.0.1:PORT`.
pub const READY_PREFIX: &str = "LEAKBENCH READY ";

/// Everything needed to start a fixture.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub program: PathBuf,
    /// An argument vector, passed to `execve` as is: no shell.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// stdout (after the readiness line) and stderr go here.
    pub log_path: PathBuf,
    pub ready_timeout: Duration,
}

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
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_path)
        .map_err(|source| LaunchError::Log {
            path: spec.log_path.display().to_string(),
            source,
        })?;
    let log_err = log.try_clone().map_err(|source| LaunchError::Log {
        path: spec.log_path.display().to_string(),
        source,
    })?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("LEAKBENCH_LISTEN", &listen)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_err))
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
    let mut fixture = Fixture {
        child,
        pid,
        addr: listen.parse().expect("valid address"),
        spawn_mono_ns,
        ready_s: 0.0,
        killed: false,
    };
    let stdout = fixture.child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut log_out = tokio::fs::File::from_std(log);
    let deadline = tokio::time::Instant::now() + spec.ready_timeout;
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line()).await;
        match line {
            Err(_) => return Err(LaunchError::NotReady(spec.ready_timeout)),
            Ok(Ok(Some(l))) => {
                let _ = log_out.write_all(format!("{l}\n").as_bytes()).await;
                if let Some(addr) = l.trim().strip_prefix(READY_PREFIX) {
                    let addr: SocketAddr = addr
                        .trim()
                        .parse()
                        .map_err(|_| LaunchError::NotLoopback(addr.to_string()))?;
                    if !addr.ip().is_loopback() {
                        return Err(LaunchError::NotLoopback(addr.to_string()));
                    }
                    fixture.addr = addr;
                    fixture.ready_s = (monotonic_ns() - spawn_mono_ns) as f64 / 1e9;
                    break;
                }
            }
            Ok(_) => {
                // stdout closed: the fixture is exiting.
                let status = tokio::time::timeout(Duration::from_secs(2), fixture.child.wait())
                    .await
                    .map(|s| s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()))
                    .unwrap_or_else(|_| "stdout closed".into());
                let _ = log_out.flush().await;
                return Err(LaunchError::ExitedEarly {
                    status,
                    tail: log_tail(&spec.log_path, 5),
                });
            }
        }
    }
    // Keep draining stdout into the log so the fixture never blocks on a full pipe.
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            if log_out
                .write_all(format!("{l}\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = log_out.flush().await;
    });
    Ok(fixture)
}

/// The last `n` lines of a log, joined with ` | ` (for one-line error reasons).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

impl Fixture {
    /// Seconds since spawn, now.
    pub fn now_s(&self) -> f64 {
        (monotonic_ns().saturating_sub(self.spawn_mono_ns)) as f64 / 1e9
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, args: &[&str], dir: &Path) -> LaunchSpec {
        LaunchSpec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            log_path: dir.join("fixture.log"),
            ready_timeout: Duration::from_millis(1500),
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

    #[test]
    fn free_port_is_loopback_and_nonzero() {
        assert_ne!(free_loopback_port().unwrap(), 0);
    }
}
