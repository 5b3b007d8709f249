//! `leakbench overhead`: what watching a program costs it, measured as lost work, and what
//! watching costs the harness.
//!
//! Three live studies, each writing its rows into the output directory as they are measured
//! (atomically, so an interrupted study keeps what it finished):
//!
//! - **throughput** ([`throughput`], `overhead.csv`, `overhead-summary.csv`): each fixture runs
//!   its non-leaking twin (`-fixed`) with the kit's workload as fast as it can (`-ops-rate 0`,
//!   one worker) and `GOMAXPROCS=1`. Windows without sampling (A) and with a probe set at an
//!   interval (B) alternate in one process, A B on even repetitions and B A on odd ones, so a
//!   slow drift cancels over pairs. The ratio is B's throughput over A's; the fixture counts
//!   its own ops and latency histogram (`/leakbench/work`), read at each window's ends.
//! - **scale** ([`scale`], `probe-scale.csv`): the cost of one probe against the number of
//!   goroutines (`idle-goroutines -goroutines N`), seen three ways: the probe's wall time at
//!   the harness; the worker time the fixture lost per probe (throughput deficit × window /
//!   probes: with one P, everything the runtime does for the profile is taken from the
//!   worker); and the stop-the-world pauses the runtime itself recorded
//!   (`/sched/pauses/total/{other,gc}` histogram deltas, written by the fixture), which say
//!   how much of that is a pause of the whole program rather than work on its one core.
//! - **harness** ([`harness_cost`], `harness-cost.csv`): the harness's own CPU and peak RSS
//!   while it records K fixtures with `leakbench run`'s own function
//!   ([`crate::record::repetition::record`]), against the same K fixtures unsampled.
//! - **fidelity** ([`fidelity`], `fidelity-levels.csv`): how many fixtures at once this
//!   machine records at full fidelity: the default matrix's scenarios recorded K at once, at
//!   each level K, with each repetition's sample fidelity and the CPU the recording used.
//!
//! Every sampled window and recording ticks on [`crate::record::ticker`], the schedule the
//! recorder keeps, and takes each sample with [`crate::record::repetition::take_sample`]: what
//! is measured is the loop users run.
//!
//! Why `GOMAXPROCS=1` for the fixture: the machines this runs on have few cores (2 in CI). A
//! fixture working as fast as it can on every core would fight the harness for CPU, and the
//! "lost work" would measure the harness's decoding on a shared core rather than what the
//! probe costs the program. With one P, the fixture owns one core, the harness another, and
//! any CPU the runtime spends answering a probe is work the fixture visibly loses. Why one
//! worker: with several workers on one P, an op's latency includes waiting for the others'
//! time slices (10 ms), which would hide the pauses the latency percentiles are meant to show.
//!
//! This file holds the orchestration ([`run`]: build, then each chosen study) and what the
//! studies share (progress, fixture start, recording K repetitions at once). Options are [`options`], a window's edges
//! [`window`], the arithmetic [`measure`], the result files [`files`]. Uses
//! [`crate::record::launch`], [`crate::record::probe`], [`crate::record::ticker`] and
//! [`crate::record::repetition`] as `leakbench run` does; must not change what they do.

pub mod fidelity;
pub mod files;
pub mod harness_cost;
pub mod measure;
pub mod options;
pub mod scale;
pub mod throughput;
pub mod window;

pub use fidelity::FidelityRow;
pub use harness_cost::HarnessRow;
pub use options::{
    probe_set, OverheadOptions, Study, NEUTRAL_FIXTURE, PROBE_SET_NAMES, SCALE_GOROUTINES,
};
pub use scale::ScaleRow;
pub use throughput::ThroughputRow;

use crate::fsio;
use crate::record::fixture_build::{self, BuiltFixture, GoToolchain};
use crate::record::launch::{self, Fixture, LaunchSpec};
use crate::record::probe::ProbeSet;
use crate::record::repetition::{self, RepPlan};
use crate::trace::RepEnd;
use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a fixture has to print its readiness line: the recorder's, plus slack, since a
/// study starts fixtures back to back on a machine it keeps busy.
const READY_TIMEOUT: Duration =
    crate::record::repetition::READY_TIMEOUT.saturating_add(Duration::from_secs(5));

/// Everything measured so far; written whole after every row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub throughput: Vec<ThroughputRow>,
    pub scale: Vec<ScaleRow>,
    pub harness: Vec<HarnessRow>,
    pub fidelity: Vec<FidelityRow>,
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
    if opts
        .studies
        .iter()
        .any(|s| matches!(s, Study::Scale | Study::Harness))
    {
        names.push(NEUTRAL_FIXTURE.into());
    }
    let matrix = if opts.studies.contains(&Study::Fidelity) {
        fidelity::matrix(&opts.scenarios_dir, &opts.fixtures_dir)?
    } else {
        Vec::new()
    };
    names.extend(matrix.iter().map(|s| s.fixture.clone()));
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
            throughput::fixture(&mut st, &built[f], &logs).await?;
        }
    }
    if opts.studies.contains(&Study::Scale) {
        for &n in &opts.scale_goroutines {
            scale::level(&mut st, &built[NEUTRAL_FIXTURE], n, &logs).await?;
        }
    }
    if opts.studies.contains(&Study::Harness) {
        harness_cost::study(&mut st, &built[NEUTRAL_FIXTURE], &tc, &logs).await?;
    }
    if opts.studies.contains(&Study::Fidelity) {
        fidelity::study(&mut st, &matrix, &built, &tc).await?;
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
    if o.studies.contains(&Study::Fidelity) {
        n += o.fidelity_jobs.len();
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

/// Starts a fixture of the throughput or scale study, on one P.
async fn start(fixture: &BuiltFixture, args: Vec<String>, log: PathBuf) -> anyhow::Result<Fixture> {
    let spec = LaunchSpec {
        program: fixture.path.clone(),
        args,
        env: vec![("GOMAXPROCS".into(), "1".into())],
        log_path: log,
        ready_timeout: READY_TIMEOUT,
        ready_by_pprof: false,
    };
    launch::launch(&spec)
        .await
        .with_context(|| format!("could not start fixture {}", fixture.name))
}

/// Records every repetition at once, as `leakbench run --jobs K` would (each with
/// [`repetition::record`]), and returns how each ended, in the order given. A trace that
/// could not be written fails the study; how a fixture fared is the caller's to judge.
async fn record_at_once(plans: &[RepPlan]) -> anyhow::Result<Vec<(RepPlan, RepEnd)>> {
    // Never set: the studies have no interrupt of their own (Ctrl-C ends the whole process).
    let (_never, interrupt) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in plans.iter().cloned().enumerate() {
        let interrupt = interrupt.clone();
        tasks.spawn(async move {
            let end = repetition::record(&p, interrupt, &mut |_| {}).await;
            (i, p, end)
        });
    }
    let mut ends = Vec::with_capacity(plans.len());
    while let Some(r) = tasks.join_next().await {
        let (i, p, end) = r.context("a recording task panicked")?;
        ends.push((i, p, end?));
    }
    ends.sort_by_key(|e| e.0);
    Ok(ends.into_iter().map(|(_, p, e)| (p, e)).collect())
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
