//! A run: build the fixtures (once per Go toolchain of the run), then record every scenario ×
//! matrix point × repetition into one run directory, a bounded number at a time, with
//! progress, surviving Ctrl-C.
//!
//! Owns the matrix (its cells, with the points of [`crate::axes`] and the toolchain each is
//! built by, sharding, resuming) and the orchestration, and writes the run's
//! [`RunInfo`] (where it goes, and every other path of a run, is [`crate::run_dir`]'s). Must
//! not score (the caller replays the finished run) nor parse probes.

use crate::axes::{Axis, AxisValues, Grid};
use crate::fsio;
use crate::record::fixture_build::{self, BuiltFixture, GoToolchain};
use crate::record::probe::ProbeSet;
use crate::record::repetition::{self, RepPlan};
use crate::run_dir::{RepDir, RunDir, RunInfo};
use crate::scenario::Scenario;
use crate::trace::{self, EndStatus, RepEnd};
use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};

/// One slice of the matrix: `index` of `count`, 1-based (`--shard 2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard; write I/N with 1 <= I <= N, e.g. 1/2");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A cell of the matrix, with one of its repetitions: a scenario at a point of the run's
/// axes (empty when none is swept).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    pub scenario: String,
    pub axes: AxisValues,
    pub rep: u32,
}

impl std::fmt::Display for Cell {
    /// `name rep k`, or `name@GOGC=50 rep k` in a sweep.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.axes.is_empty() {
            write!(f, "{} rep {}", self.scenario, self.rep)
        } else {
            write!(f, "{}@{} rep {}", self.scenario, self.axes, self.rep)
        }
    }
}

/// The scenario × point × repetition matrix in a fixed order (scenario name, then point as
/// given, then repetition), cut to a shard: cell k (0-based) belongs to shard
/// `k % count + 1`. Deterministic, so shards run on different machines never overlap and
/// together cover everything. `points` is `[empty]` for a run without axes.
pub fn matrix(
    scenarios: &[Scenario],
    points: &[AxisValues],
    reps: u32,
    shard: Option<Shard>,
) -> Vec<Cell> {
    let mut names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    names.dedup();
    let all = names.into_iter().flat_map(|n| {
        points.iter().flat_map(move |p| {
            (0..reps).map(move |rep| Cell {
                scenario: n.to_string(),
                axes: p.clone(),
                rep,
            })
        })
    });
    all.enumerate()
        .filter(|(k, _)| shard.is_none_or(|s| (*k as u32) % s.count + 1 == s.index))
        .map(|(_, c)| c)
        .collect()
}

/// The machine a run or study was measured on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub kernel: String,
    pub arch: String,
}

impl Machine {
    pub fn this() -> Self {
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            arch: std::env::consts::ARCH.to_string(),
        }
    }
}

/// Options of `leakbench run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenarios: Vec<Scenario>,
    pub reps: u32,
    pub out: PathBuf,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub resume: bool,
    pub probes: ProbeSet,
    pub go: PathBuf,
    pub fixtures_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// The axes swept (empty: none); a `go` axis replaces `go`.
    pub matrix: Grid,
}

/// The run's points, each with the toolchain that builds its fixtures: `go`'s values detected
/// (each once), every other axis as given. One empty point, built by `go`, without axes.
pub fn points(matrix: &Grid, go: &Path) -> anyhow::Result<Vec<(AxisValues, GoToolchain)>> {
    let mut tcs: BTreeMap<String, GoToolchain> = BTreeMap::new();
    let swept = matrix.values(Axis::Go);
    let paths: Vec<String> = match swept {
        Some(v) => v.to_vec(),
        None => vec![go.display().to_string()],
    };
    for p in &paths {
        // A go that is not a Go: bad input named by where it came from (the sweep's axis, or
        // `--go`; `app::record` checks a sweep's values first, this is the run's own check).
        let tc = GoToolchain::detect(Path::new(p)).map_err(|e| {
            let from = if swept.is_some() {
                "--matrix: key `go`"
            } else {
                "--go"
            };
            crate::bad_input::BadInput(format!("{from}: {p}: {e}"))
        })?;
        if let Some((other, _)) = tcs.iter().find(|(_, t)| t.version == tc.version) {
            return Err(crate::bad_input::BadInput(format!(
                "--matrix: key `go`: {p} and {other} are both {} (fix: give each Go version once)",
                tc.version
            ))
            .into());
        }
        tcs.insert(p.clone(), tc);
    }
    let default = tcs[&paths[0]].clone();
    Ok(matrix
        .points(|p| p.to_string())
        .into_iter()
        .map(|raw| {
            let tc = raw
                .get(Axis::Go)
                .map_or_else(|| default.clone(), |p| tcs[p].clone());
            let mut point = raw;
            if point.get(Axis::Go).is_some() {
                point.insert(Axis::Go, tc.version.clone());
            }
            (point, tc)
        })
        .collect())
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub dir: PathBuf,
    pub ends: BTreeMap<Cell, RepEnd>,
    pub skipped: usize,
    pub interrupted: bool,
}

/// `results/run-YYYYMMDD-HHMMSS` (UTC).
pub fn default_run_dir(results: &Path) -> PathBuf {
    timestamped_dir(results, "run")
}

/// `results/<prefix>-YYYYMMDD-HHMMSS` (UTC).
pub fn timestamped_dir(results: &Path, prefix: &str) -> PathBuf {
    let (date, time) = utc_now();
    results.join(format!(
        "{prefix}-{}-{}",
        date.replace('-', ""),
        time.replace(':', "")
    ))
}

/// UTC now as (`YYYY-MM-DD`, `HH:MM:SS`), without a date crate: days since the epoch to a
/// civil date by Howard Hinnant's algorithm.
pub fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Builds every fixture the scenarios need, in order, with a progress bar. Build errors are
/// returned in full.
pub fn build_fixtures(
    scenarios: &[Scenario],
    tc: &GoToolchain,
    fixtures_dir: &Path,
    cache_dir: &Path,
    mp: &MultiProgress,
) -> anyhow::Result<BTreeMap<String, BuiltFixture>> {
    // Keyed by `fixture` (a program scenario's is its path); the program, if any, per key.
    let mut names: BTreeMap<&str, Option<&Path>> = BTreeMap::new();
    for s in scenarios {
        names.insert(s.fixture.as_str(), s.program.as_deref());
    }
    let bar = mp.add(ProgressBar::new(names.len() as u64));
    bar.set_style(style("build"));
    let mut out = BTreeMap::new();
    for (n, program) in names {
        bar.set_message(n.to_string());
        let b = match program {
            Some(p) => fixture_build::build_program(p, tc, cache_dir)?,
            None => fixture_build::build(fixtures_dir, n, tc, cache_dir)?,
        };
        log(
            mp,
            &format!("build {n}: {}", if b.cached { "cached" } else { "built" }),
        );
        out.insert(n.to_string(), b);
        bar.inc(1);
    }
    bar.finish_with_message("done");
    Ok(out)
}

fn style(what: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{what:>6} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} {{msg}}"
    ))
    .expect("valid template")
    .progress_chars("=> ")
}

/// A progress line: above the bars on a terminal, plain on stderr otherwise (CI logs).
pub fn log(mp: &MultiProgress, line: &str) {
    if std::io::stderr().is_terminal() {
        let _ = mp.println(line);
    } else {
        eprintln!("{line}");
    }
}

/// Whether a repetition already has a final result worth keeping (for `--resume`): finished,
/// and not cut short by the harness.
fn worth_keeping(rep: &RepDir) -> bool {
    matches!(trace::load_end(rep), Ok(Some(e))
        if !matches!(e.status, EndStatus::Interrupted | EndStatus::Error))
}

/// Records the matrix. Stops starting new repetitions on Ctrl-C or SIGTERM; the ones in
/// flight end as `interrupted` with their traces kept.
pub async fn run(opts: RunOptions, mp: &MultiProgress) -> anyhow::Result<RunReport> {
    let points = points(&opts.matrix, &opts.go)?;
    let just_points: Vec<AxisValues> = points.iter().map(|(p, _)| p.clone()).collect();
    let toolchain_of: BTreeMap<&AxisValues, &GoToolchain> =
        points.iter().map(|(p, t)| (p, t)).collect();
    // Each toolchain once, in the order of the points: fixtures are built once per toolchain.
    let mut toolchains: Vec<&GoToolchain> = Vec::new();
    for (_, t) in &points {
        if !toolchains.iter().any(|u| u.version == t.version) {
            toolchains.push(t);
        }
    }
    let cells = matrix(&opts.scenarios, &just_points, opts.reps, opts.shard);
    fsio::create_dir_all(&opts.out)?;
    let run_dir = RunDir::new(&opts.out);
    if !opts.resume && run_dir.has_info() {
        return Err(crate::bad_input::BadInput(format!(
            "--out {}: a run is already recorded there (fix: pass --resume {} to complete it, or choose another --out)",
            opts.out.display(),
            opts.out.display()
        ))
        .into());
    }
    let (date, time) = utc_now();
    let info = RunInfo {
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        go_version: toolchains
            .iter()
            .map(|t| t.version.as_str())
            .collect::<Vec<_>>()
            .join(","),
        scenarios: opts.scenarios.iter().map(|s| s.name.clone()).collect(),
        scenario_defs: opts.scenarios.clone(),
        reps: opts.reps,
        shard: opts.shard,
        jobs: opts.jobs,
        probes: opts.probes,
        machine: Machine::this(),
        started: format!("{date}T{time}Z"),
        matrix: opts.matrix.clone(),
    };
    if !run_dir.has_info() {
        run_dir.save_info(&info)?;
    }
    // Which Go builds the fixtures matters to every figure (and another `go` can come first
    // on PATH, e.g. a pip-installed toolchain inside a Python-installed `just`): say it.
    // Fixtures built once per toolchain, keyed by (Go version, fixture).
    let mut built: BTreeMap<(String, String), BuiltFixture> = BTreeMap::new();
    for tc in &toolchains {
        log(
            mp,
            &format!(
                "building fixtures with {} ({}){}",
                tc.version,
                fixture_build::resolve_command(&tc.go).display(),
                if tc.goexperiment().is_empty() {
                    String::new()
                } else {
                    format!(", GOEXPERIMENT={}", tc.goexperiment())
                }
            ),
        );
        for (name, b) in
            build_fixtures(&opts.scenarios, tc, &opts.fixtures_dir, &opts.cache_dir, mp)?
        {
            built.insert((tc.version.clone(), name), b);
        }
    }

    let by_name: BTreeMap<&str, &Scenario> = opts
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut todo = Vec::new();
    let mut skipped = 0;
    for c in &cells {
        let sc = by_name[c.scenario.as_str()];
        let tc = toolchain_of[&c.axes];
        let plan = RepPlan {
            scenario: sc.clone(),
            rep: c.rep,
            axes: c.axes.clone(),
            fixture: built[&(tc.version.clone(), sc.fixture.clone())].clone(),
            toolchain: tc.clone(),
            run_dir: opts.out.clone(),
            probes: opts.probes,
        };
        if opts.resume && worth_keeping(&plan.dir()) {
            skipped += 1;
            continue;
        }
        todo.push((c.clone(), plan));
    }
    if skipped > 0 {
        log(
            mp,
            &format!(
                "resume: {skipped} repetitions already finished, {} to run",
                todo.len()
            ),
        );
    }

    let (int_tx, int_rx) = watch::channel(false);
    let int_tx = Arc::new(int_tx);
    let signals = spawn_signal_watch(int_tx.clone());
    let bar = mp.add(ProgressBar::new(todo.len() as u64));
    bar.set_style(style("run"));
    let sem = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (cell, plan) in todo {
        // The permit is taken before the task is spawned, so repetitions start in matrix order
        // (spawned tasks race for a semaphore in whatever order the runtime polls them).
        let permit = sem.clone().acquire_owned().await.expect("semaphore open");
        let rx = int_rx.clone();
        let bar = bar.clone();
        let mp = mp.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let stopped = *rx.borrow();
            if stopped {
                return (cell, None);
            }
            bar.set_message(cell.to_string());
            // Live detection: the same detectors replay runs later, fed sample by sample as
            // they are recorded, so a long run shows what fires while it happens.
            let mut live = LiveDetectors::new(plan.scenario.warmup_s);
            let end = repetition::record(&plan, rx, &mut |s| live.push(s)).await;
            let line = match &end {
                Ok(e) => format!(
                    "{cell}: {} ({} samples; {}){}",
                    serde_json::to_value(e.status)
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .unwrap_or_default(),
                    e.samples,
                    live.describe(),
                    if e.status == EndStatus::Completed {
                        String::new()
                    } else {
                        format!(": {}", e.reason)
                    }
                ),
                Err(e) => format!("{cell}: could not record: {e}"),
            };
            log(&mp, &line);
            bar.inc(1);
            (cell, Some(end))
        });
    }
    let mut ends = BTreeMap::new();
    let mut first_err = None;
    while let Some(r) = tasks.join_next().await {
        let (cell, end) = r.context("a recording task panicked")?;
        match end {
            Some(Ok(e)) => {
                ends.insert(cell, e);
            }
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    signals.abort();
    bar.finish_with_message("done");
    let interrupted = *int_rx.borrow();
    drop(int_tx);
    if let Some(e) = first_err {
        return Err(anyhow::Error::new(e)
            .context("a trace could not be written; finished repetitions are kept"));
    }
    Ok(RunReport {
        dir: opts.out,
        ends,
        skipped,
        interrupted,
    })
}

/// Every registered detector, fed live; remembers who alarmed first.
pub(crate) struct LiveDetectors {
    feeders: Vec<crate::evaluate::detect::Feeder>,
}

impl LiveDetectors {
    pub(crate) fn new(warmup_s: f64) -> Self {
        let params = crate::evaluate::detect::Params::default();
        LiveDetectors {
            feeders: crate::evaluate::detect::registry()
                .iter()
                .map(|d| crate::evaluate::detect::Feeder::new(d, &params, warmup_s))
                .collect(),
        }
    }

    pub(crate) fn push(&mut self, s: &crate::sample::Sample) {
        for f in &mut self.feeders {
            f.push(s);
        }
    }

    /// `3/13 detectors alarmed, first stack-growth at 9.5 s`.
    pub(crate) fn describe(&self) -> String {
        let fired: Vec<(&str, f64)> = self
            .feeders
            .iter()
            .filter_map(|f| Some((f.spec().name, f.first_alarm()?.t)))
            .collect();
        let first = fired
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, t)| format!(", first {n} at {t:.1} s"))
            .unwrap_or_default();
        format!(
            "{}/{} detectors alarmed{first}",
            fired.len(),
            self.feeders.len()
        )
    }
}

/// Turns Ctrl-C and SIGTERM into the interrupt flag. A second Ctrl-C is not special: the
/// in-flight repetitions stop within one sampling interval anyway.
pub(crate) fn spawn_signal_watch(tx: Arc<watch::Sender<bool>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
        let _ = tx.send(true);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(name: &str) -> Scenario {
        let text = "fixture = \"fx\"\nduration_s = 5.0\n[truth]\nleaking = false\nclass = \"map\"\nsite = ''\n";
        crate::scenario::parse(Path::new(&format!("{name}.toml")), text, None).unwrap()
    }

    #[test]
    fn shards_partition_the_matrix() {
        let s = vec![sc("b"), sc("a"), sc("c")];
        let none = [AxisValues::default()];
        let all = matrix(&s, &none, 3, None);
        assert_eq!(all.len(), 9);
        assert_eq!(
            all[0],
            Cell {
                scenario: "a".into(),
                axes: AxisValues::default(),
                rep: 0
            }
        );
        let mut union = Vec::new();
        for i in 1..=4 {
            let part = matrix(&s, &none, 3, Some(Shard { index: i, count: 4 }));
            assert!(!part.is_empty());
            union.extend(part);
        }
        union.sort();
        assert_eq!(union, all, "shards must cover the matrix exactly once");
    }

    #[test]
    fn a_sweep_multiplies_the_cells_by_its_points() {
        let mut g = Grid::default();
        g.add_flag("GOGC=50,off").unwrap();
        g.add_flag("GOMAXPROCS=1,2").unwrap();
        let pts = g.points(|p| p.into());
        let cells = matrix(&[sc("a"), sc("b")], &pts, 3, None);
        assert_eq!(cells.len(), 2 * 4 * 3);
        let distinct: std::collections::BTreeSet<(&str, String)> = cells
            .iter()
            .map(|c| (c.scenario.as_str(), c.axes.label()))
            .collect();
        assert_eq!(distinct.len(), 8);
        assert_eq!(cells[3].to_string(), "a@GOGC=50,GOMAXPROCS=2 rep 0");
    }

    #[test]
    fn a_go_value_that_is_not_a_go_is_refused() {
        let mut g = Grid::default();
        g.add_flag("go=/bin/true").unwrap();
        let e = points(&g, Path::new("go")).unwrap_err().to_string();
        assert!(e.contains("/bin/true") && e.contains("fix:"), "{e}");
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/2", "3/2", "x", "1/0", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_date_is_sane() {
        let (d, t) = utc_now();
        assert_eq!(d.len(), 10);
        assert_eq!(t.len(), 8);
        assert!(d.as_str() >= "2024-01-01", "{d}");
    }
}
