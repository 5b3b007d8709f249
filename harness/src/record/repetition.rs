//! Recording one repetition: launch the fixture, probe it at every tick, append each
//! [`Sample`] to the trace as it is taken, watch its RSS, and stop it at the end.
//!
//! Owns a repetition's loop (on the schedule of [`crate::record::ticker`]), the RSS watchdog
//! and the end status of a repetition. Must not build fixtures, choose which repetitions to
//! run, or score anything: it records.

use crate::axes::AxisValues;
use crate::record::fixture_build::{BuiltFixture, GoToolchain};
use crate::record::launch::{self, Fixture, LaunchError, LaunchSpec};
use crate::record::probe::{ProbeSet, Prober};
use crate::record::ticker::{Pace, Tick, Ticker};
use crate::run_dir::{RepDir, RunDir, TRACE_FORMAT};
use crate::sample::{Missing, Sample};
use crate::scenario::Scenario;
use crate::trace::{EndStatus, RepEnd, RepMeta, TraceWriter};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

/// How often the watchdog reads the fixture's RSS. Much faster than sampling, so a fixture
/// that balloons is stopped close to its cap.
pub const WATCHDOG_PERIOD: Duration = Duration::from_millis(100);

/// How long a fixture has to print its readiness line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a fixture has to exit after SIGTERM at the end of a completed repetition, before
/// its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// A probe may take most of an interval but not more, so ticks stay on schedule; at least
/// 200 ms (a loaded machine), at most 5 s (a hung fixture must not stall a long interval).
pub fn probe_timeout(interval: Duration) -> Duration {
    interval
        .mul_f64(0.9)
        .clamp(Duration::from_millis(200), Duration::from_secs(5))
}

/// One repetition to record.
#[derive(Debug, Clone)]
pub struct RepPlan {
    pub scenario: Scenario,
    pub rep: u32,
    /// The run's matrix point (empty without axes): its environment axes override the
    /// scenario's environment.
    pub axes: AxisValues,
    pub fixture: BuiltFixture,
    pub toolchain: GoToolchain,
    pub run_dir: PathBuf,
    pub probes: ProbeSet,
}

impl RepPlan {
    pub fn dir(&self) -> RepDir {
        RunDir::new(&self.run_dir).cell_rep(&self.scenario.name, &self.axes, self.rep)
    }

    /// The fixture's environment beyond the harness's own: the scenario's `env`, plus
    /// GOMEMLIMIT when the scenario sets one, then the point's GOGC, GOMEMLIMIT and
    /// GOMAXPROCS (last, so a swept value wins over the scenario's).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .scenario
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(mib) = self.scenario.gomemlimit_mib {
            env.push(("GOMEMLIMIT".into(), format!("{mib}MiB")));
        }
        for (axis, v) in self.axes.iter() {
            if let Some(var) = axis.env_var() {
                env.push((var.into(), v.into()));
            }
        }
        env
    }

    /// How the fixture is started: its program, flags, environment and log.
    pub fn launch_spec(&self) -> LaunchSpec {
        LaunchSpec {
            program: self.fixture.path.clone(),
            args: self.scenario.fixture_args(self.rep),
            env: self.env(),
            log_path: self.dir().fixture_log(),
            ready_timeout: READY_TIMEOUT,
            ready_by_pprof: self.scenario.program.is_some(),
        }
    }

    pub fn meta(&self) -> RepMeta {
        let env = self.env();
        let get = |k: &str, default: String| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
                .unwrap_or(default)
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        RepMeta {
            format: TRACE_FORMAT,
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: self.scenario.clone(),
            rep: self.rep,
            seed: self.scenario.leak.seed + self.rep as u64,
            go_version: self.toolchain.version.clone(),
            goexperiment: self.toolchain.goexperiment().to_string(),
            gogc: get("GOGC", "100".into()),
            gomemlimit: get("GOMEMLIMIT", "off".into()),
            gomaxprocs: get("GOMAXPROCS", cpus.to_string()),
            fixture_hash: self.fixture.hash.clone(),
            interval_s: self.scenario.interval_s,
            args: self.scenario.fixture_args(self.rep),
            goroutineleak: self.probes.goroutineleak && self.toolchain.has_goroutineleak(),
            declared_onset_s: None,
            axes: self.axes.clone(),
            runtime: None,
        }
    }
}

/// Takes every probe in `set` once, concurrently (goleak's verdict, which may take longer than
/// an interval, only if one has finished: [`crate::record::probe::GoleakSlot`]). Failures
/// become [`Missing`] entries.
/// The sample is stamped when its last probe answered: the data describe the process up to
/// then, so an alarm can never precede its evidence (stamped before the probes, a leak that
/// starts while they run would look like an alarm before the onset).
pub async fn take_sample(p: &Prober, set: &ProbeSet) -> Sample {
    let mut s = Sample::default();
    if set.goleak {
        p.goleak_start();
    }
    let (metrics, truth, work, goroutines, heap, leak) = tokio::join!(
        maybe(set.metrics, p.metrics()),
        maybe(set.truth, p.truth()),
        maybe(set.truth, p.work()),
        maybe(set.goroutine, p.goroutines()),
        maybe(set.heap, p.heap(set.heap_gc)),
        maybe(set.goroutineleak, p.goroutine_leak()),
    );
    let mut missing = Vec::new();
    s.metrics = keep("metrics", metrics, &mut missing);
    s.truth = keep("truth", truth, &mut missing);
    s.work = keep("work", work, &mut missing);
    s.goroutines = keep("goroutine", goroutines, &mut missing);
    s.heap = keep("heap", heap, &mut missing);
    s.goroutine_leak = keep("goroutineleak", leak, &mut missing);
    let goleak = if set.goleak {
        p.goleak_take().await
    } else {
        None
    };
    s.goleak = keep("goleak", goleak, &mut missing);
    if set.proc {
        s.proc_mem = keep("proc", Some(p.proc_mem()), &mut missing);
    }
    s.missing = missing;
    s.t = p.now_s();
    s
}

async fn maybe<T>(
    on: bool,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Option<Result<T, String>> {
    if on {
        Some(f.await)
    } else {
        None
    }
}

fn keep<T>(probe: &str, r: Option<Result<T, String>>, missing: &mut Vec<Missing>) -> Option<T> {
    match r? {
        Ok(v) => Some(v),
        Err(reason) => {
            missing.push(Missing {
                probe: probe.to_string(),
                reason,
            });
            None
        }
    }
}

/// Records one repetition into `plan.dir()`. `interrupt` turning true stops it early (the
/// trace so far is kept, status `interrupted`). `on_sample` sees every sample as it is
/// written (live detection, progress). Errors are returned only for failures to write the
/// trace itself; everything that goes wrong with the fixture is recorded in `end.json`.
pub async fn record(
    plan: &RepPlan,
    mut interrupt: watch::Receiver<bool>,
    on_sample: &mut (dyn FnMut(&Sample) + Send),
) -> Result<RepEnd, crate::fsio::FsError> {
    let dir = plan.dir();
    let mut writer = TraceWriter::create(&dir, &plan.meta())?;
    let spec = plan.launch_spec();
    let mut fixture = tokio::select! {
        r = launch::launch(&spec) => match r {
            Ok(f) => f,
            Err(e) => {
                let status = match e {
                    LaunchError::NotReady(_)
                    | LaunchError::ExitedEarly { .. }
                    | LaunchError::NotLoopback(_)
                    | LaunchError::BadReadyAddress(_) => EndStatus::NotReady,
                    _ => EndStatus::Error,
                };
                return writer.finish(status, e.to_string(), 0.0);
            }
        },
        _ = interrupted(&mut interrupt) => return writer.finish(EndStatus::Interrupted, "interrupted before the fixture was ready", 0.0),
    };
    if let Some(d) = plan.scenario.truth.declared_onset_s {
        writer.declare_onset(fixture.ready_s + d)?;
    }
    // Once, after readiness: what the runtime really runs with (a program without the kit
    // does not serve it, and then the trace says nothing rather than what was meant).
    if plan.scenario.program.is_none() {
        let prober = Prober::new(
            fixture.addr,
            fixture.pid,
            fixture.spawn_mono_ns,
            probe_timeout(Duration::from_secs_f64(plan.scenario.interval_s)),
        );
        if let Ok(facts) = prober.runtime().await {
            writer.record_runtime(facts)?;
        }
    }
    let (status, reason) =
        sample_loop(plan, &mut fixture, &mut writer, &mut interrupt, on_sample).await?;
    let ended_s = fixture.now_s();
    if status == EndStatus::Completed {
        fixture.stop(STOP_GRACE).await;
    } else {
        fixture.kill();
    }
    // end.json comes last: the fixture's final output is in its log first.
    fixture.drain_log().await;
    drop(fixture);
    writer.finish(status, reason, ended_s)
}

/// Why a repetition stopped before its end.
enum Halt {
    Interrupted,
    /// The watchdog saw this RSS, in bytes, past the cap.
    Cap(u64),
}

async fn sample_loop(
    plan: &RepPlan,
    fixture: &mut Fixture,
    writer: &mut TraceWriter,
    interrupt: &mut watch::Receiver<bool>,
    on_sample: &mut (dyn FnMut(&Sample) + Send),
) -> Result<(EndStatus, String), crate::fsio::FsError> {
    let sc = &plan.scenario;
    let interval = Duration::from_secs_f64(sc.interval_s);
    let timeout = probe_timeout(interval);
    let prober = Prober::new(fixture.addr, fixture.pid, fixture.spawn_mono_ns, timeout);
    // The end, `duration_s` after readiness on the fixture's clock, as an instant of the
    // ticker's (both are CLOCK_MONOTONIC; the second read makes it a hair early, never late).
    let end = tokio::time::Instant::now()
        + Duration::from_secs_f64((fixture.ready_s + sc.duration_s - fixture.now_s()).max(0.0));
    let cap_bytes = sc.rss_cap_mib * 1024 * 1024;
    let (cap_tx, mut cap_rx) = tokio::sync::oneshot::channel::<u64>();
    let watchdog = spawn_watchdog(fixture.pid, cap_bytes, cap_tx);
    let halt = async move {
        tokio::select! {
            biased;
            _ = interrupted(interrupt) => Halt::Interrupted,
            Ok(rss) = &mut cap_rx => Halt::Cap(rss),
        }
    };
    let mut ticker = Ticker::stopping_on(Pace::Every(interval), end, halt);
    let result = loop {
        let tick = ticker.next().await;
        // A fixture gone on its own is a crash, even at the tick that ends the run.
        if !matches!(tick, Tick::Stopped(_)) {
            if let Some(st) = fixture.exited() {
                break (
                    EndStatus::Crashed,
                    format!(
                        "fixture exited on its own ({st}); last log lines: {}",
                        fixture.log_tail(3).await
                    ),
                );
            }
        }
        match tick {
            Tick::Stopped(Halt::Interrupted) => {
                break (EndStatus::Interrupted, "harness interrupted".to_string())
            }
            Tick::Stopped(Halt::Cap(rss)) => {
                break (
                    EndStatus::KilledAtCap,
                    format!(
                        "RSS {:.0} MiB passed the cap of {} MiB",
                        rss as f64 / 1048576.0,
                        sc.rss_cap_mib
                    ),
                )
            }
            Tick::End => {
                break (
                    EndStatus::Completed,
                    format!("ran {:.1} s after readiness", sc.duration_s),
                )
            }
            Tick::Due(_) => {
                let s = take_sample(&prober, &plan.probes).await;
                writer.append(&s)?;
                on_sample(&s);
                test_fault(writer)?;
            }
        }
    };
    watchdog.abort();
    Ok(result)
}

/// Test hooks for the harness's own fault tests (`harness/tests/orphans.rs`), off unless set:
/// `LEAKBENCH_TEST_PANIC_AFTER_SAMPLES=N` panics the recording task after its N-th sample;
/// `LEAKBENCH_TEST_ERROR_AFTER_SAMPLES=N` fails it there as a trace write error would. They
/// prove that a panic or an error mid-run still kills every fixture.
fn test_fault(writer: &TraceWriter) -> Result<(), crate::fsio::FsError> {
    let after = |var: &str| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| writer.samples() >= n)
    };
    if after("LEAKBENCH_TEST_PANIC_AFTER_SAMPLES") {
        panic!("LEAKBENCH_TEST_PANIC_AFTER_SAMPLES: panicking on purpose");
    }
    if after("LEAKBENCH_TEST_ERROR_AFTER_SAMPLES") {
        return Err(crate::fsio::FsError::new(
            "could not append to (LEAKBENCH_TEST_ERROR_AFTER_SAMPLES)",
            &writer.dir().trace_jsonl(),
            std::io::Error::other("failing on purpose"),
        ));
    }
    Ok(())
}

/// Resolves once the interrupt flag is true (never, if its sender is gone). Returns no borrow
/// of the flag, so the future stays `Send`.
async fn interrupted(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Kills the fixture's process group when its RSS passes `cap_bytes`, and reports the RSS.
fn spawn_watchdog(
    pid: u32,
    cap_bytes: u64,
    tx: tokio::sync::oneshot::Sender<u64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(WATCHDOG_PERIOD);
        loop {
            t.tick().await;
            match crate::record::probe::read_proc_mem(pid) {
                Ok(m) if m.rss_bytes > cap_bytes => {
                    // Report before killing, so the tick loop sees the cap, not an exit it
                    // would record as a crash.
                    let _ = tx.send(m.rss_bytes);
                    // SAFETY: signals the fixture's own process group (pgid == pid).
                    unsafe {
                        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    }
                    return;
                }
                Ok(_) => {}
                Err(_) => return, // gone; the tick loop sees the exit
            }
        }
    })
}
