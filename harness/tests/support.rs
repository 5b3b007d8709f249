//! Helpers shared by the integration tests: the repository root, the `leakbench` binary, test
//! scenarios, polling with a deadline, and the search for surviving fixture processes.

use leakbench::run_dir::{RepDir, RunDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The repository root (the workspace directory above `harness/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// A `leakbench` command run from the repository root.
pub fn leakbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakbench"));
    c.current_dir(root());
    c
}

/// How long a test waits for a first run, which may build fixtures (`go build`, cold cache).
pub const FIRST_RUN: Duration = Duration::from_secs(120);

/// How long the kernel gets to reap killed processes before a survivor counts.
pub const REAP: Duration = Duration::from_secs(5);

/// A test's own scratch space and marker. The marker is passed to its fixtures as an
/// argument, so its processes can be found in `/proc` apart from other tests'.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub marker: String,
}

impl Sandbox {
    pub fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("leakbench-test-")
                .tempdir()
                .unwrap(),
            marker: format!("lbmark-{test}-{}-{nanos}", std::process::id()),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The run directory this test records into.
    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    /// Copies `harness/tests/scenarios/<name>.toml` into the sandbox with `@MARKER@` and
    /// `@TMP@` replaced, and returns its absolute path (absolute paths may be anywhere).
    pub fn scenario(&self, name: &str) -> PathBuf {
        let src = root().join(format!("harness/tests/scenarios/{name}.toml"));
        let text = std::fs::read_to_string(&src).unwrap();
        let text = text
            .replace("@MARKER@", &self.marker)
            .replace("@TMP@", &self.path().display().to_string());
        let dir = self.path().join("scenarios");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `leakbench run SCENARIOS... --out OUT` with extra args (one repetition unless they
    /// say `--reps`), output captured.
    pub fn run(&self, scenarios: &[&str], extra: &[&str]) -> Command {
        let mut c = leakbench();
        c.arg("run");
        for s in scenarios {
            c.arg(self.scenario(s));
        }
        c.arg("--out").arg(self.out()).args(extra);
        if !extra.contains(&"--reps") {
            c.args(["--reps", "1"]);
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// The fixture processes of this test that are still alive.
    pub fn survivors(&self) -> Vec<(u32, String)> {
        processes_with(&self.marker)
    }

    /// Polls until fixture processes of this test are alive (at least `n`).
    pub fn wait_for_fixtures(&self, n: usize, harness: &mut Child) {
        wait_until(FIRST_RUN, &format!("{n} fixture processes"), || {
            if let Ok(Some(st)) = harness.try_wait() {
                panic!("the harness ended ({st}) before its fixtures were seen");
            }
            self.survivors().len() >= n
        });
    }

    /// Asserts that no process of this test survives (after giving the kernel [`REAP`]).
    pub fn assert_no_survivors(&self, case: &str) {
        let deadline = Instant::now() + REAP;
        loop {
            let left = self.survivors();
            if left.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!("{case}: fixture processes survived the harness: {left:#?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A repetition's `end.json`, if it exists.
    pub fn end(&self, scenario: &str, rep: u32) -> Option<serde_json::Value> {
        let p = self.rep_dir(scenario, rep).end_json();
        let text = std::fs::read_to_string(p).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }

    pub fn rep_dir(&self, scenario: &str, rep: u32) -> RepDir {
        RunDir::new(self.out()).rep(scenario, rep)
    }

    /// A repetition's samples, as JSON values.
    pub fn samples(&self, scenario: &str, rep: u32) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.rep_dir(scenario, rep).trace_jsonl()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Processes whose command line has an argument containing `needle`, as (pid, command
/// line). Zombies have an empty command line, so only live processes are found.
pub fn processes_with(needle: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw);
        if cmd.split('\0').any(|a| a.contains(needle)) {
            out.push((pid, cmd.replace('\0', " ")));
        }
    }
    out
}

/// Polls `cond` every 20 ms until it holds; panics naming `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the harness to exit (at most `limit`, then kills it and panics) and returns its
/// status and stderr.
pub fn finish(mut child: Child, limit: Duration) -> (ExitStatus, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the harness did not exit within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    (status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Sends `sig` to a process.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a child of this test.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig}) failed");
}

/// `VmHWM` (peak resident set) of a live process, in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    leakbench::record::probe::status_field_bytes(&text, "VmHWM:")
}
