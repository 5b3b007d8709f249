//! `leakbench overhead`: what watching a program costs it, measured as lost work.
//!
//! Three live studies, each writing its rows into the output directory as they are measured
//! (atomically, so an interrupted study keeps what it finished):
//!
//! - **throughput** (`overhead.csv`, `overhead-summary.csv`): each fixture runs its non-leaking
//!   twin (`-fixed`) with the kit's workload as fast as it can (`-ops-rate 0`, one worker) and
//!   `GOMAXPROCS=1`. Windows without sampling (A) and with a probe set at an interval (B)
//!   alternate in one process, A B on even repetitions and B A on odd ones, so a slow drift
//!   cancels over pairs. The ratio is B's throughput over A's; the fixture counts its own ops
//!   and latency histogram (`/leakbench/work`), read at each window's ends.
//! - **scale** (`probe-scale.csv`): the cost of one probe against the number of goroutines
//!   (`idle-goroutines -goroutines N`), seen three ways: the probe's wall time at the harness;
//!   the worker time the fixture lost per probe (throughput deficit × window / probes: with
//!   one P, everything the runtime does for the profile is taken from the worker); and the
//!   stop-the-world pauses the runtime itself recorded (`/sched/pauses/total/{other,gc}`
//!   histogram deltas, written by the fixture), which say how much of that is a pause of
//!   the whole program rather than work on its one core.
//! - **harness** (`harness-cost.csv`): the harness's own CPU (utime + stime from
//!   `/proc/self/stat`) and peak RSS (`VmHWM`, reset before each phase) while sampling K
//!   fixtures at 1 Hz with the default probes, against the same K fixtures unsampled.
//!
//! Why `GOMAXPROCS=1` for the fixture: the machines this runs on have few cores (2 in CI). A
//! fixture working as fast as it can on every core would fight the harness for CPU, and the
//! "lost work" would measure the harness's decoding on a shared core rather than what the
//! probe costs the program. With one P, the fixture owns one core, the harness another, and
//! any CPU the runtime spends answering a probe is work the fixture visibly loses. Why one
//! worker: with several workers on one P, an op's latency includes waiting for the others'
//! time slices (10 ms), which would hide the pauses the latency percentiles are meant to show.
//!
//! Owns the studies' orchestration and rows. Uses [`crate::record::launch`], [`crate::record::probe`] and
//! [`crate::record::repetition::take_sample`] as `leakbench run` does; must not change what they do.

pub mod files;
pub mod measure;

use crate::clock::monotonic_ns;
use crate::fsio;
use crate::record::fixture_build::{self, BuiltFixture, GoToolchain};
use crate::record::launch::{self, Fixture, LaunchSpec};
use crate::record::probe::{ProbeSet, Prober};
use crate::record::repetition::take_sample;
use crate::sample::Work;
use anyhow::Context;
use measure::{PauseDelta, PauseSnapshot, WorkWindow};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The neutral fixture: parks idle goroutines beside the kit's workload, never leaks.
pub const NEUTRAL_FIXTURE: &str = "idle-goroutines";

/// Goroutine counts of the scale study: the orders of magnitude from a small service (100)
/// to a large one (100k).
pub const SCALE_GOROUTINES: [u64; 4] = [100, 1_000, 10_000, 100_000];

/// Timeout of the window-edge work reads: generous, since a loaded machine can delay an
/// answer, and a lost read costs a whole window.
const WORK_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a fixture has to print its readiness line: the sampler's, plus slack, since a
/// study starts fixtures back to back on a machine it keeps busy.
const READY_TIMEOUT: Duration =
    crate::record::repetition::READY_TIMEOUT.saturating_add(Duration::from_secs(5));

/// The studies `leakbench overhead` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Study {
    Throughput,
    Scale,
    Harness,
}

impl std::str::FromStr for Study {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "throughput" => Ok(Study::Throughput),
            "scale" => Ok(Study::Scale),
            "harness" => Ok(Study::Harness),
            _ => Err(format!(
                "`{s}` is not a study; use throughput, scale or harness"
            )),
        }
    }
}

/// The probe sets by name: `default` is what `leakbench run` records; the others are one
/// probe each (`heap-gc` is the heap profile with a forced GC, `?gc=1`).
pub const PROBE_SET_NAMES: [&str; 7] = [
    "default",
    "goroutine",
    "heap",
    "heap-gc",
    "metrics",
    "proc",
    "goroutineleak",
];

/// The probe set named `name` (see [`PROBE_SET_NAMES`]).
pub fn probe_set(name: &str) -> Option<ProbeSet> {
    let one = ProbeSet::none();
    Some(match name {
        "default" => ProbeSet::default(),
        "goroutine" => ProbeSet {
            goroutine: true,
            ..one
        },
        "heap" => ProbeSet { heap: true, ..one },
        "heap-gc" => ProbeSet {
            heap: true,
            heap_gc: true,
            ..one
        },
        "metrics" => ProbeSet {
            metrics: true,
            ..one
        },
        "proc" => ProbeSet { proc: true, ..one },
        "goroutineleak" => ProbeSet {
            goroutineleak: true,
            ..one
        },
        _ => return None,
    })
}

/// Options of `leakbench overhead`. Seconds are seconds; every list is non-empty for the
/// studies that use it.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadOptions {
    pub out: PathBuf,
    pub studies: Vec<Study>,
    /// Fixtures of the throughput study (names under `go-fixtures/cmd/`), run as twins.
    pub fixtures: Vec<String>,
    /// Extra flags for every throughput fixture.
    pub fixture_args: Vec<String>,
    /// Probe sets of the throughput study (names from [`PROBE_SET_NAMES`]).
    pub probe_sets: Vec<String>,
    /// Sampling intervals for the `default` set.
    pub intervals_s: Vec<f64>,
    /// Sampling interval for every other set.
    pub probe_interval_s: f64,
    pub reps: u32,
    /// Length of each A or B window.
    pub window_s: f64,
    /// Work before the first window (the heap and GC pacing settle).
    pub warmup_s: f64,
    pub scale_goroutines: Vec<u64>,
    /// Probes of the scale study (probe set names, one probe each).
    pub scale_probes: Vec<String>,
    /// Pause between probes in a scale B window (probes back to back would measure a
    /// fixture that does nothing but answer profiles).
    pub scale_gap_s: f64,
    /// Fixtures sampled at once in the harness study.
    pub harness_fixtures: usize,
    pub harness_window_s: f64,
    #[serde(skip)]
    pub go: PathBuf,
    #[serde(skip)]
    pub fixtures_dir: PathBuf,
    #[serde(skip)]
    pub cache_dir: PathBuf,
}

impl OverheadOptions {
    /// The full study: a few minutes per fixture on a quiet machine.
    pub fn standard(out: PathBuf, go: PathBuf, fixtures_dir: PathBuf, cache_dir: PathBuf) -> Self {
        OverheadOptions {
            out,
            studies: vec![Study::Throughput, Study::Scale, Study::Harness],
            fixtures: vec![NEUTRAL_FIXTURE.into()],
            fixture_args: vec![],
            probe_sets: PROBE_SET_NAMES.iter().map(|s| s.to_string()).collect(),
            intervals_s: vec![5.0, 1.0, 0.25],
            probe_interval_s: 1.0,
            reps: 3,
            window_s: 5.0,
            warmup_s: 3.0,
            scale_goroutines: SCALE_GOROUTINES.to_vec(),
            scale_probes: vec!["goroutine".into(), "goroutineleak".into()],
            scale_gap_s: 0.25,
            harness_fixtures: 4,
            harness_window_s: 15.0,
            go,
            fixtures_dir,
            cache_dir,
        }
    }

    /// A smoke test of every study in well under a minute: numbers too noisy to quote.
    pub fn quick(self) -> Self {
        OverheadOptions {
            probe_sets: vec!["default".into(), "goroutine".into()],
            intervals_s: vec![1.0],
            reps: 1,
            window_s: 1.0,
            warmup_s: 0.5,
            scale_goroutines: vec![100, 10_000],
            scale_probes: vec!["goroutine".into()],
            harness_fixtures: 2,
            harness_window_s: 2.0,
            ..self
        }
    }

    /// (probe set name, interval) pairs of the throughput study, in run order.
    pub fn combos(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for name in &self.probe_sets {
            if name == "default" {
                out.extend(self.intervals_s.iter().map(|&i| (name.clone(), i)));
            } else {
                out.push((name.clone(), self.probe_interval_s));
            }
        }
        out
    }

    /// Checks every name and number; the message names the flag to fix.
    pub fn validate(&self) -> Result<(), String> {
        for p in self.probe_sets.iter().chain(&self.scale_probes) {
            if probe_set(p).is_none() {
                return Err(format!(
                    "probe set `{p}` is unknown (fix: --probe-sets/--scale-probes take {})",
                    PROBE_SET_NAMES.join(", ")
                ));
            }
        }
        for f in &self.fixtures {
            if !self.fixtures_dir.join("cmd").join(f).is_dir() {
                return Err(format!(
                    "fixture `{f}`: no {} (fix: name a directory under go-fixtures/cmd/)",
                    self.fixtures_dir.join("cmd").join(f).display()
                ));
            }
        }
        let pos = |x: f64| x.is_finite() && x > 0.0;
        if !self.intervals_s.iter().all(|&x| pos(x)) || !pos(self.probe_interval_s) {
            return Err("intervals must be positive seconds (fix: --intervals 5,1,0.25)".into());
        }
        let warmup_ok = self.warmup_s.is_finite() && self.warmup_s >= 0.0;
        if !(pos(self.window_s) && pos(self.harness_window_s) && warmup_ok) {
            return Err(
                "--window and --harness-window must be positive, --warmup not negative".into(),
            );
        }
        if self.reps == 0 || self.harness_fixtures == 0 {
            return Err("--reps and --harness-fixtures must be at least 1".into());
        }
        Ok(())
    }
}

/// One A/B pair of the throughput study: a row of `overhead.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThroughputRow {
    pub fixture: String,
    /// Probe set name ([`PROBE_SET_NAMES`]).
    pub probe_set: String,
    pub interval_s: f64,
    pub rep: u32,
    /// `ab` (unsampled first) or `ba`.
    pub order: String,
    pub window_s_unsampled: f64,
    pub window_s_sampled: f64,
    pub ops_per_s_unsampled: f64,
    pub ops_per_s_sampled: f64,
    /// Sampled over unsampled throughput (1 = free, 0.98 = 2% lost).
    pub ratio: Option<f64>,
    pub p50_s_unsampled: Option<f64>,
    pub p50_s_sampled: Option<f64>,
    pub p99_s_unsampled: Option<f64>,
    pub p99_s_sampled: Option<f64>,
    /// CPU time of the fixture process in each window (user + system, all threads).
    pub fixture_cpu_s_unsampled: Option<f64>,
    pub fixture_cpu_s_sampled: Option<f64>,
    /// Ops per second of fixture CPU time, both ways, and their ratio: the lost work without
    /// the noise of other processes taking the fixture's core (see [`WorkWindow::ops_per_cpu_s`]).
    pub ops_per_cpu_s_unsampled: Option<f64>,
    pub ops_per_cpu_s_sampled: Option<f64>,
    pub cpu_ratio: Option<f64>,
    /// Samples taken in the sampled window.
    pub samples: u32,
    /// Probe failures in the sampled window (a failed probe did less work than a real one).
    pub probe_failures: u32,
    /// 1-minute load average at the end of the pair: how noisy the machine was.
    pub loadavg_1m: Option<f64>,
}

/// One A/B pair of the scale study: a row of `probe-scale.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScaleRow {
    pub goroutines: u64,
    pub probe: String,
    pub rep: u32,
    /// Probes taken in the sampled window.
    pub probes: u32,
    /// Wall time of one probe at the harness (request, transfer, decode), median and max.
    pub probe_s_median: Option<f64>,
    pub probe_s_max: Option<f64>,
    pub ops_per_s_unsampled: f64,
    pub ops_per_s_sampled: f64,
    pub ratio: Option<f64>,
    /// Worker time lost per probe: `window_s × (1 − ratio) / probes`.
    pub lost_worker_s_per_probe: Option<f64>,
    /// Ops per fixture CPU second, sampled over unsampled.
    pub cpu_ratio: Option<f64>,
    /// Fixture CPU spent on something other than ops, per probe, beyond the unsampled rate:
    /// `(cpu_sampled − ops_sampled / ops_per_cpu_s_unsampled) / probes`. Unlike lost worker
    /// time, other processes taking the fixture's core do not count.
    pub lost_cpu_s_per_probe: Option<f64>,
    /// Non-GC stop-the-world pauses in the sampled window, per probe, beyond the unsampled
    /// window's rate.
    pub stw_other_per_probe: Option<f64>,
    pub stw_other_s_per_probe: Option<f64>,
    /// Longest non-GC pause in the sampled window (bucket upper edge).
    pub stw_other_max_s: Option<f64>,
    /// GC pauses (sum of both STW phases), per probe, beyond the unsampled window's rate.
    pub stw_gc_s_per_probe: Option<f64>,
    pub stw_gc_max_s: Option<f64>,
    /// Upper bound of the slowest op's latency bucket, both ways: the worker's longest stall.
    pub max_op_s_unsampled: Option<f64>,
    pub max_op_s_sampled: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

/// One phase of the harness study: a row of `harness-cost.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HarnessRow {
    /// `idle` (fixtures running, nothing sampled) or `sampling`.
    pub phase: String,
    pub fixtures: usize,
    pub interval_s: f64,
    pub window_s: f64,
    pub samples: u64,
    /// Harness CPU (user + system) in the phase, seconds.
    pub cpu_s: f64,
    /// `cpu_s / window_s × 100`: percent of one core.
    pub cpu_pct_of_core: f64,
    pub cpu_pct_per_fixture: f64,
    /// Harness `VmHWM` at the end of the phase, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Whether `VmHWM` was reset at the start of the phase (else it is the lifetime peak).
    pub peak_rss_reset: bool,
}

/// Everything measured so far; written whole after every row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub throughput: Vec<ThroughputRow>,
    pub scale: Vec<ScaleRow>,
    pub harness: Vec<HarnessRow>,
}

/// What the study ran on: written to `overhead-meta.json` and quoted in `overhead.md`.
#[derive(Debug, Clone, Serialize)]
pub struct StudyMeta {
    pub harness_version: String,
    pub go_version: String,
    pub machine: crate::record::run::Machine,
    pub started_utc: String,
    pub fixture_gomaxprocs: u32,
    pub loadavg_at_start: Option<f64>,
    pub options: OverheadOptions,
    /// The probe sets by name, as switches.
    pub probe_sets: Vec<(String, ProbeSet)>,
}

/// The 1-minute load average.
pub fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs the chosen studies, writing results into `opts.out` as they come. Returns them.
pub async fn run(opts: OverheadOptions) -> anyhow::Result<Results> {
    let tc = GoToolchain::detect(&opts.go)?;
    fsio::create_dir_all(&opts.out)?;
    let (date, time) = crate::record::run::utc_now();
    let meta = StudyMeta {
        harness_version: env!("CARGO_PKG_VERSION").into(),
        go_version: tc.version.clone(),
        machine: crate::record::run::Machine::this(),
        started_utc: format!("{date}T{time}Z"),
        fixture_gomaxprocs: 1,
        loadavg_at_start: loadavg_1m(),
        options: opts.clone(),
        probe_sets: PROBE_SET_NAMES
            .iter()
            .map(|n| (n.to_string(), probe_set(n).expect("known")))
            .collect(),
    };
    fsio::write_atomic(
        &opts.out.join("overhead-meta.json"),
        &serde_json::to_vec_pretty(&meta)?,
    )?;
    let mut names: Vec<String> = Vec::new();
    if opts.studies.contains(&Study::Throughput) {
        names.extend(opts.fixtures.iter().cloned());
    }
    if opts.studies.iter().any(|s| *s != Study::Throughput) {
        names.push(NEUTRAL_FIXTURE.into());
    }
    names.sort();
    names.dedup();
    let mut built = std::collections::BTreeMap::new();
    for n in &names {
        let b = fixture_build::build(&opts.fixtures_dir, n, &tc, &opts.cache_dir)?;
        eprintln!("build {n}: {}", if b.cached { "cached" } else { "built" });
        built.insert(n.clone(), b);
    }
    let mut st = State {
        opts: &opts,
        meta: &meta,
        results: Results::default(),
        step: 0,
        steps: total_steps(&opts),
        started: Instant::now(),
    };
    let logs = opts.out.join("logs");
    fsio::create_dir_all(&logs)?;
    if opts.studies.contains(&Study::Throughput) {
        for f in &opts.fixtures {
            throughput_fixture(&mut st, &built[f], &logs).await?;
        }
    }
    if opts.studies.contains(&Study::Scale) {
        for &n in &opts.scale_goroutines {
            scale_level(&mut st, &built[NEUTRAL_FIXTURE], n, &logs).await?;
        }
    }
    if opts.studies.contains(&Study::Harness) {
        harness_study(&mut st, &built[NEUTRAL_FIXTURE], &logs).await?;
    }
    Ok(st.results)
}

fn total_steps(o: &OverheadOptions) -> usize {
    let mut n = 0;
    if o.studies.contains(&Study::Throughput) {
        n += o.fixtures.len() * o.reps as usize * o.combos().len();
    }
    if o.studies.contains(&Study::Scale) {
        n += o.scale_goroutines.len() * o.reps as usize * o.scale_probes.len();
    }
    if o.studies.contains(&Study::Harness) {
        n += 2;
    }
    n
}

/// The study in progress: options, rows so far, progress.
struct State<'a> {
    opts: &'a OverheadOptions,
    meta: &'a StudyMeta,
    results: Results,
    step: usize,
    steps: usize,
    started: Instant,
}

impl State<'_> {
    /// Writes every result file (atomically) and prints one progress line.
    fn done(&mut self, line: &str) -> anyhow::Result<()> {
        self.step += 1;
        for (name, bytes) in files::all(&self.results, self.meta)? {
            fsio::write_atomic(&self.opts.out.join(name), &bytes)?;
        }
        let el = self.started.elapsed().as_secs_f64();
        let left = el / self.step as f64 * (self.steps - self.step.min(self.steps)) as f64;
        eprintln!(
            "[{}/{}] {line}  ({:.0} s elapsed, ~{:.0} s left)",
            self.step, self.steps, el, left
        );
        Ok(())
    }
}

async fn start(fixture: &BuiltFixture, args: Vec<String>, log: PathBuf) -> anyhow::Result<Fixture> {
    let spec = LaunchSpec {
        program: fixture.path.clone(),
        args,
        env: vec![("GOMAXPROCS".into(), "1".into())],
        log_path: log,
        ready_timeout: READY_TIMEOUT,
    };
    launch::launch(&spec)
        .await
        .with_context(|| format!("could not start fixture {}", fixture.name))
}

/// Fails with the log tail if the fixture has exited.
async fn check_alive(f: &mut Fixture) -> anyhow::Result<()> {
    if let Some(st) = f.exited() {
        anyhow::bail!(
            "fixture exited during the study ({st}); last log lines: {}",
            f.log_tail(3).await
        );
    }
    Ok(())
}

/// What a sampled window did besides the work.
#[derive(Debug, Default)]
struct Sampling {
    samples: u32,
    failures: u32,
    /// Wall time of each sample, seconds.
    durations_s: Vec<f64>,
}

/// One measurement window: work read at both ends; in between, either nothing (`probes`
/// `None`) or samples every `interval`. A sample still running at the end is awaited, so its
/// cost lands in this window and not the next.
async fn window(
    reader: &Prober,
    pid: u32,
    probes: Option<(&Prober, ProbeSet, Duration)>,
    len: Duration,
) -> anyhow::Result<(WorkWindow, Sampling)> {
    let w0 = read_work(reader).await?;
    let c0 = measure::proc_cpu_s(pid);
    let t0 = Instant::now();
    let mut s = Sampling::default();
    match probes {
        None => tokio::time::sleep(len).await,
        Some((p, set, every)) => {
            let end = tokio::time::Instant::from_std(t0 + len);
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(end) => break,
                    _ = ticks.tick() => {
                        let ts = Instant::now();
                        let smp = take_sample(p, &set).await;
                        s.durations_s.push(ts.elapsed().as_secs_f64());
                        s.samples += 1;
                        s.failures += smp.missing.len() as u32;
                    }
                }
            }
        }
    }
    let w1 = read_work(reader).await?;
    let c1 = measure::proc_cpu_s(pid);
    let el = t0.elapsed().as_secs_f64();
    let mut w = measure::work_window(&w0, &w1, el)
        .context("the fixture's work counters went backwards or changed shape")?;
    w.cpu_s = c0.zip(c1).map(|(a, b)| b - a);
    Ok((w, s))
}

async fn read_work(p: &Prober) -> anyhow::Result<Work> {
    p.work()
        .await
        .map_err(|e| anyhow::anyhow!("could not read /leakbench/work: {e}"))
}

fn probe_timeout(interval_s: f64) -> Duration {
    crate::record::repetition::probe_timeout(Duration::from_secs_f64(interval_s))
}

async fn throughput_fixture(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let combos = o.combos();
    let est_s = o.warmup_s + (o.reps as f64) * combos.len() as f64 * 2.0 * (o.window_s + 1.0);
    let mut args = vec![
        "-fixed".to_string(),
        "-ops-rate=0".into(),
        "-workers=1".into(),
        format!("-duration={}s", (est_s * 2.0 + 120.0).ceil() as u64),
    ];
    args.extend(o.fixture_args.iter().cloned());
    let log = logs.join(format!("throughput-{}.log", fixture.name));
    let mut fx = start(fixture, args, log).await?;
    let reader = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, WORK_READ_TIMEOUT);
    tokio::time::sleep(Duration::from_secs_f64(o.warmup_s)).await;
    let len = Duration::from_secs_f64(o.window_s);
    for rep in 0..o.reps {
        for (name, interval) in &combos {
            check_alive(&mut fx).await?;
            let set = probe_set(name).expect("validated");
            let sampler = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, probe_timeout(*interval));
            let every = Duration::from_secs_f64(*interval);
            let ab = rep % 2 == 0;
            let (a, b) = if ab {
                let a = window(&reader, fx.pid, None, len).await?;
                (
                    a,
                    window(&reader, fx.pid, Some((&sampler, set, every)), len).await?,
                )
            } else {
                let b = window(&reader, fx.pid, Some((&sampler, set, every)), len).await?;
                (window(&reader, fx.pid, None, len).await?, b)
            };
            let ((wa, _), (wb, smp)) = (a, b);
            let row = ThroughputRow {
                fixture: fixture.name.clone(),
                probe_set: name.clone(),
                interval_s: *interval,
                rep,
                order: if ab { "ab" } else { "ba" }.into(),
                window_s_unsampled: wa.elapsed_s,
                window_s_sampled: wb.elapsed_s,
                ops_per_s_unsampled: wa.ops_per_s,
                ops_per_s_sampled: wb.ops_per_s,
                ratio: measure::ratio(wb.ops_per_s, wa.ops_per_s),
                p50_s_unsampled: wa.p50_s,
                p50_s_sampled: wb.p50_s,
                p99_s_unsampled: wa.p99_s,
                p99_s_sampled: wb.p99_s,
                fixture_cpu_s_unsampled: wa.cpu_s,
                fixture_cpu_s_sampled: wb.cpu_s,
                ops_per_cpu_s_unsampled: wa.ops_per_cpu_s(),
                ops_per_cpu_s_sampled: wb.ops_per_cpu_s(),
                cpu_ratio: wb
                    .ops_per_cpu_s()
                    .zip(wa.ops_per_cpu_s())
                    .and_then(|(b, a)| measure::ratio(b, a)),
                samples: smp.samples,
                probe_failures: smp.failures,
                loadavg_1m: loadavg_1m(),
            };
            let line = format!(
                "throughput {} {} every {}s rep {}: ratio {} ({:.0} vs {:.0} ops/s, {} samples{})",
                row.fixture,
                row.probe_set,
                row.interval_s,
                rep,
                row.ratio.map_or("-".into(), |r| format!("{r:.4}")),
                row.ops_per_s_sampled,
                row.ops_per_s_unsampled,
                row.samples,
                if row.probe_failures > 0 {
                    format!(", {} probe failures", row.probe_failures)
                } else {
                    String::new()
                }
            );
            st.results.throughput.push(row);
            st.done(&line)?;
        }
    }
    fx.stop(Duration::from_secs(2)).await;
    Ok(())
}

/// Reads the fixture's pause snapshot once it is newer than `after_mono_ns`.
async fn fresh_pauses(path: &Path, after_mono_ns: u64) -> anyhow::Result<PauseSnapshot> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(s) = serde_json::from_str::<PauseSnapshot>(&text) {
                if s.mono_ns > after_mono_ns {
                    return Ok(s);
                }
            }
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{}: no pause snapshot newer than the window after 3 s (is the fixture writing it?)",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the fixture runs at least `n` goroutines (they start after readiness).
async fn wait_goroutines(p: &Prober, n: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = p
            .metrics()
            .await
            .map_err(|e| anyhow::anyhow!("could not read /leakbench/metrics: {e}"))?;
        if m.get(crate::sample::metric::GOROUTINES)
            .copied()
            .unwrap_or(0.0)
            >= n as f64
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the fixture did not reach {n} goroutines within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A window of the scale study, bracketed by pause snapshots.
async fn scale_window(
    reader: &Prober,
    pid: u32,
    probes: Option<(&Prober, ProbeSet)>,
    len: Duration,
    gap: Duration,
    pauses: &Path,
) -> anyhow::Result<(WorkWindow, Sampling, PauseDelta, PauseDelta)> {
    let p0 = fresh_pauses(pauses, monotonic_ns()).await?;
    let w0 = read_work(reader).await?;
    let c0 = measure::proc_cpu_s(pid);
    let t0 = Instant::now();
    let mut s = Sampling::default();
    match probes {
        None => tokio::time::sleep(len).await,
        Some((p, set)) => {
            while t0.elapsed() < len {
                let ts = Instant::now();
                let smp = take_sample(p, &set).await;
                s.durations_s.push(ts.elapsed().as_secs_f64());
                s.samples += 1;
                s.failures += smp.missing.len() as u32;
                let left = len.saturating_sub(t0.elapsed());
                tokio::time::sleep(gap.min(left)).await;
            }
        }
    }
    let w1 = read_work(reader).await?;
    let c1 = measure::proc_cpu_s(pid);
    let el = t0.elapsed().as_secs_f64();
    let p1 = fresh_pauses(pauses, monotonic_ns()).await?;
    let mut w = measure::work_window(&w0, &w1, el)
        .context("the fixture's work counters went backwards or changed shape")?;
    w.cpu_s = c0.zip(c1).map(|(a, b)| b - a);
    Ok((
        w,
        s,
        measure::pause_delta(&p0.other, &p1.other),
        measure::pause_delta(&p0.gc, &p1.gc),
    ))
}

async fn scale_level(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    n: u64,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let pauses = logs.join(format!("pauses-{n}.json"));
    let _ = std::fs::remove_file(&pauses);
    let est_s = o.warmup_s + o.reps as f64 * o.scale_probes.len() as f64 * 2.0 * (o.window_s + 2.0);
    let args = vec![
        "-fixed".to_string(),
        "-ops-rate=0".into(),
        "-workers=1".into(),
        format!("-goroutines={n}"),
        format!("-pauses-file={}", pauses.display()),
        format!("-duration={}s", (est_s * 2.0 + 180.0).ceil() as u64),
    ];
    let log = logs.join(format!("scale-{n}.log"));
    let mut fx = start(fixture, args, log).await?;
    // Profiles of 100k goroutines take long on one P under load: a generous timeout.
    let reader = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, Duration::from_secs(30));
    wait_goroutines(&reader, n).await?;
    tokio::time::sleep(Duration::from_secs_f64(o.warmup_s)).await;
    let len = Duration::from_secs_f64(o.window_s);
    let gap = Duration::from_secs_f64(o.scale_gap_s);
    for rep in 0..o.reps {
        for name in &o.scale_probes {
            check_alive(&mut fx).await?;
            let set = probe_set(name).expect("validated");
            let ab = rep % 2 == 0;
            let unsampled = || scale_window(&reader, fx.pid, None, len, gap, &pauses);
            let sampled = || scale_window(&reader, fx.pid, Some((&reader, set)), len, gap, &pauses);
            let (a, b) = if ab {
                let a = unsampled().await?;
                (a, sampled().await?)
            } else {
                let b = sampled().await?;
                (unsampled().await?, b)
            };
            let row = scale_row(n, name, rep, &a, &b);
            let line = format!(
                "scale {n} goroutines {name} rep {rep}: probe {} s, lost {} s/probe, STW {} s/probe (max {} s)",
                fmt_opt(row.probe_s_median),
                fmt_opt(row.lost_worker_s_per_probe),
                fmt_opt(row.stw_other_s_per_probe.zip(row.stw_gc_s_per_probe).map(|(a, b)| a + b)),
                fmt_opt(measure::max_opt(row.stw_other_max_s, row.stw_gc_max_s)),
            );
            st.results.scale.push(row);
            st.done(&line)?;
        }
    }
    fx.stop(Duration::from_secs(2)).await;
    Ok(())
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3e}"))
}

type ScaleWindow = (WorkWindow, Sampling, PauseDelta, PauseDelta);

/// Turns an unsampled (`a`) and a sampled (`b`) window into a row: per-probe figures are the
/// sampled window's excess over the unsampled one at the same duration.
fn scale_row(n: u64, probe: &str, rep: u32, a: &ScaleWindow, b: &ScaleWindow) -> ScaleRow {
    let (wa, _, oa, ga) = a;
    let (wb, s, ob, gb) = b;
    let k = s.samples.max(1) as f64;
    let scale = wb.elapsed_s / wa.elapsed_s;
    let per = |x: f64| Some(x / k).filter(|_| s.samples > 0);
    let ratio = measure::ratio(wb.ops_per_s, wa.ops_per_s);
    let d = measure::summarize(&s.durations_s);
    let nonzero = |x: f64| Some(x).filter(|&v| v > 0.0);
    ScaleRow {
        goroutines: n,
        probe: probe.into(),
        rep,
        probes: s.samples,
        probe_s_median: d.map(|d| d.median),
        probe_s_max: d.map(|d| d.max),
        ops_per_s_unsampled: wa.ops_per_s,
        ops_per_s_sampled: wb.ops_per_s,
        ratio,
        lost_worker_s_per_probe: ratio.and_then(|r| per(wb.elapsed_s * (1.0 - r))),
        cpu_ratio: wb
            .ops_per_cpu_s()
            .zip(wa.ops_per_cpu_s())
            .and_then(|(b, a)| measure::ratio(b, a)),
        lost_cpu_s_per_probe: wb
            .cpu_s
            .zip(wa.ops_per_cpu_s())
            .and_then(|(c, rate)| per(c - wb.ops as f64 / rate)),
        stw_other_per_probe: per(ob.count as f64 - oa.count as f64 * scale),
        stw_other_s_per_probe: per(ob.total_s - oa.total_s * scale),
        stw_other_max_s: nonzero(ob.max_s),
        stw_gc_s_per_probe: per(gb.total_s - ga.total_s * scale),
        stw_gc_max_s: nonzero(gb.max_s),
        max_op_s_unsampled: wa.max_bound_s,
        max_op_s_sampled: wb.max_bound_s,
        loadavg_1m: loadavg_1m(),
    }
}

async fn harness_study(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let k = o.harness_fixtures;
    let dur = (o.warmup_s + 2.0 * o.harness_window_s) * 2.0 + 120.0;
    let mut fixtures = Vec::new();
    for i in 0..k {
        // The kit's default paced workload: sampling cost, not a saturated machine.
        let args = vec![
            "-fixed".to_string(),
            format!("-duration={}s", dur.ceil() as u64),
        ];
        fixtures.push(start(fixture, args, logs.join(format!("harness-{i}.log"))).await?);
    }
    tokio::time::sleep(Duration::from_secs_f64(o.warmup_s.max(1.0))).await;
    let len = Duration::from_secs_f64(o.harness_window_s);
    let interval = 1.0;
    let traces = o.out.join("harness-cost");
    fsio::create_dir_all(&traces)?;

    for phase in ["idle", "sampling"] {
        let reset = measure::reset_peak_rss();
        let cpu0 = measure::self_cpu_s().context("could not read /proc/self/stat")?;
        let t0 = Instant::now();
        let samples = if phase == "idle" {
            tokio::time::sleep(len).await;
            0
        } else {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, f) in fixtures.iter().enumerate() {
                let p = Prober::new(f.addr, f.pid, f.spawn_mono_ns, probe_timeout(interval));
                let path = traces.join(format!("fixture-{i}.jsonl"));
                tasks.spawn(sample_to_file(p, path, len, interval));
            }
            let mut n = 0;
            while let Some(r) = tasks.join_next().await {
                n += r.context("a sampling task panicked")??;
            }
            n
        };
        let el = t0.elapsed().as_secs_f64();
        let cpu = measure::self_cpu_s().context("could not read /proc/self/stat")? - cpu0;
        let row = HarnessRow {
            phase: phase.into(),
            fixtures: k,
            interval_s: interval,
            window_s: el,
            samples,
            cpu_s: cpu,
            cpu_pct_of_core: cpu / el * 100.0,
            cpu_pct_per_fixture: cpu / el * 100.0 / k as f64,
            peak_rss_bytes: measure::self_peak_rss_bytes(),
            peak_rss_reset: reset,
        };
        let line = format!(
            "harness {phase}, {k} fixtures: {:.2}% of a core per fixture, peak RSS {:.1} MiB",
            row.cpu_pct_per_fixture,
            row.peak_rss_bytes.unwrap_or(0) as f64 / 1048576.0
        );
        st.results.harness.push(row);
        st.done(&line)?;
    }
    for mut f in fixtures {
        f.stop(Duration::from_secs(2)).await;
    }
    Ok(())
}

/// Samples one fixture at `interval_s` for `len`, appending each sample as a JSON line as
/// `leakbench run` does, so the measured cost includes serializing and writing the trace.
async fn sample_to_file(
    p: Prober,
    path: PathBuf,
    len: Duration,
    interval_s: f64,
) -> anyhow::Result<u64> {
    let mut file = std::fs::File::create(&path)
        .map_err(|e| fsio::FsError::new("could not create", &path, e))?;
    let set = ProbeSet::default();
    let end = tokio::time::Instant::now() + len;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(interval_s));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end) => break,
            _ = ticks.tick() => {
                let s = take_sample(&p, &set).await;
                let mut line = serde_json::to_vec(&s)?;
                line.push(b'\n');
                file.write_all(&line)
                    .and_then(|_| file.flush())
                    .map_err(|e| fsio::FsError::new("could not append to", &path, e))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> OverheadOptions {
        OverheadOptions::standard("o".into(), "go".into(), "f".into(), "c".into())
    }

    #[test]
    fn combos_put_the_default_set_at_every_interval() {
        let c = opts().combos();
        assert_eq!(c.len(), 3 + 6);
        assert_eq!(c[0], ("default".to_string(), 5.0));
        assert_eq!(c[3], ("goroutine".to_string(), 1.0));
        assert_eq!(opts().quick().combos().len(), 2);
    }

    #[test]
    fn probe_sets_are_single_probes_except_default() {
        assert_eq!(probe_set("default"), Some(ProbeSet::default()));
        let g = probe_set("heap-gc").unwrap();
        assert!(g.heap && g.heap_gc && !g.goroutine && !g.metrics && !g.truth);
        assert!(probe_set("nope").is_none());
        for n in PROBE_SET_NAMES {
            assert!(probe_set(n).is_some(), "{n}");
        }
    }

    #[test]
    fn scale_rows_charge_the_excess_per_probe() {
        let w = |ops_per_s: f64, max: f64| WorkWindow {
            elapsed_s: 2.0,
            ops: (ops_per_s * 2.0) as u64,
            ops_per_s,
            p50_s: None,
            p99_s: None,
            max_bound_s: Some(max),
            cpu_s: Some(2.0 * ops_per_s / 1000.0),
        };
        let pd = |count, total_s, max_s| PauseDelta {
            count,
            total_s,
            max_s,
        };
        let a = (
            w(1000.0, 1e-4),
            Sampling::default(),
            pd(0, 0.0, 0.0),
            pd(2, 2e-4, 1e-4),
        );
        let b = (
            w(900.0, 1e-2),
            Sampling {
                samples: 4,
                failures: 0,
                durations_s: vec![0.01, 0.02, 0.03, 0.05],
            },
            pd(8, 4e-4, 1e-4),
            pd(6, 6e-4, 2e-4),
        );
        let r = scale_row(1000, "goroutine", 0, &a, &b);
        assert_eq!(r.probes, 4);
        assert!((r.ratio.unwrap() - 0.9).abs() < 1e-12);
        // 10% of a 2 s window over 4 probes.
        assert!((r.lost_worker_s_per_probe.unwrap() - 0.05).abs() < 1e-12);
        // The sampled window used 1.8 CPU-s for 1800 ops at 1000 ops per CPU-s: no loss.
        assert!(r.lost_cpu_s_per_probe.unwrap().abs() < 1e-12);
        assert!((r.cpu_ratio.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(r.stw_other_per_probe, Some(2.0));
        assert!((r.stw_other_s_per_probe.unwrap() - 1e-4).abs() < 1e-15);
        assert!((r.stw_gc_s_per_probe.unwrap() - 1e-4).abs() < 1e-15);
        assert_eq!(r.probe_s_median, Some(0.025));
        assert_eq!(r.max_op_s_sampled, Some(1e-2));
    }
}
