//! The `leakbench` command line. Parses flags, finds the repository, and calls the library;
//! maps errors to exit codes: 0 success, 1 failure, 2 bad input (nothing was run), 130
//! interrupted (what finished is kept).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use leakbench::bad_input::{is_bad_input, BadInput};
use leakbench::record::probe::ProbeSet;
use leakbench::record::run::{self, RunOptions, Shard};
use leakbench::scenario::{self, Scenario};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A benchmark for Go leak detectors.
///
/// leakbench builds Go fixture programs that each leak in one way (goroutines blocked
/// forever, maps that only grow, contexts never cancelled, finalizers that pin objects, C
/// memory never freed), with a non-leaking twin and hard negatives. It samples them over time
/// (pprof, runtime/metrics, /proc) into traces, with the leak's onset measured by the fixture
/// itself. Detectors then read the traces and are scored against that truth: which leak
/// each catches, how fast, how often it cries wolf, and what watching costs.
///
/// Typical use:
///   leakbench run-all                       the whole matrix: record, score, chart, report
///   leakbench list                          what can run
///   leakbench run goroutine-abandoned-sender --reps 3 --out results/mine
///   leakbench replay results/mine           re-score recorded traces, no processes
///   leakbench regress results/mine --baseline baselines/replay.json
///   leakbench overhead --quick              what sampling costs the program
#[derive(Parser, Debug)]
#[command(
    name = "leakbench",
    version,
    verbatim_doc_comment,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug)]
struct Global {
    /// Repository root (holding scenarios/ and go-fixtures/). Default: the nearest ancestor
    /// of the current directory that has both, else the one this binary was built from.
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The `go` command to build fixtures with.
    #[arg(long, global = true, value_name = "PATH", default_value = "go")]
    go: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List scenarios: name, class, leaking or not, role (leak, twin, hard-negative).
    List,
    /// Build fixtures and record scenarios into a run directory.
    ///
    /// Each scenario × repetition starts its fixture on a free loopback port, samples it
    /// every `interval_s` for `duration_s`, and appends each sample to
    /// OUT/traces/<scenario>/rep-<k>/trace.jsonl as it is taken. Ctrl-C stops cleanly:
    /// fixtures are killed, finished repetitions kept; `--resume OUT` completes the rest.
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Measure what sampling costs a program (lost work) and what the harness costs.
    ///
    /// Studies (all by default; pick with --study):
    ///   throughput  each fixture's twin, as fast as it can on GOMAXPROCS=1, unsampled and
    ///               sampled windows alternating, per probe set and interval
    ///   scale       one probe's cost at 100 .. 100k goroutines (wall time, lost worker
    ///               time, stop-the-world pauses from the runtime's own histograms)
    ///   harness     the harness's CPU and peak RSS sampling K fixtures at 1 Hz
    /// Writes overhead.csv, overhead-summary.csv, probe-scale.csv, harness-cost.csv,
    /// overhead.md and overhead-meta.json into OUT as each row is measured.
    ///   leakbench overhead --quick                   smoke test, well under a minute
    ///   leakbench overhead --study throughput goroutine-abandoned-sender
    #[command(verbatim_doc_comment)]
    Overhead(OverheadArgs),
    /// The whole matrix in one command: build, record, score, chart, report.
    ///
    /// Builds the fixtures, runs every scenario (leaks, twins, hard negatives) for --reps
    /// repetitions, --jobs at a time, scores the traces with every detector, and writes
    /// scores.csv, summary.json, plots/ and report.md / report.html into a new run directory
    /// under results/, whose path it prints last. Ctrl-C keeps what finished; complete it
    /// with `leakbench run --resume DIR`, then `leakbench replay DIR` and `leakbench plot DIR`.
    ///   leakbench run-all                        the default matrix (a few minutes)
    ///   leakbench run-all --reps 1 goroutine-abandoned-sender goroutine-abandoned-sender-fixed
    #[command(verbatim_doc_comment)]
    RunAll(RunAllArgs),
    /// Redraw the charts and the report of a scored run directory, running nothing.
    ///
    /// Reads DIR/run.json, DIR/scores.csv, the traces (and DIR/overhead.csv if present) and
    /// writes DIR/plots/*.svg, DIR/plots/*.png, DIR/report.md and DIR/report.html.
    #[command(verbatim_doc_comment)]
    Plot(PlotArgs),
    /// Re-score a recorded run with every detector: no processes, deterministic.
    ///
    /// Reads DIR/traces/*/rep-*/ and writes DIR/scores.csv (one row per scenario × detector ×
    /// repetition), DIR/summary.json and DIR/summary.md. The same traces always give the same
    /// bytes, so a changed scores.csv means a changed detector.
    #[command(verbatim_doc_comment)]
    Replay(ReplayArgs),
    /// List detectors: name, the series it watches, its trend window, and its threshold.
    Detectors,
    /// Compare a run's scores with a saved baseline; exit 1 if a detector got worse.
    ///
    /// Re-scores RUN_DIR's traces with the current detectors (in memory; RUN_DIR is not
    /// written) and compares them, per scenario × detector, with --baseline. Worse is: a leak
    /// that was caught is now missed, a new false alarm, a lost localization, or a later
    /// detection with statistical support (one-sided Mann-Whitney U, p <= --alpha, >= 3 TP
    /// repetitions per side, median later by > --latency-rel and > --latency-abs). Prints a
    /// table of what changed, worse and better. --save-baseline writes the run's scores as a
    /// baseline (after comparing, if --baseline is given too).
    ///   leakbench regress harness/testdata/replay/run --baseline baselines/replay.json
    ///   leakbench regress results/run-X --save-baseline baselines/mine.json
    #[command(verbatim_doc_comment)]
    Regress(RegressArgs),
    /// Combine run directories (e.g. the shards of one matrix) into one, and score it.
    ///
    /// Copies every repetition into a new directory --out, refusing overlapping cells and
    /// runs of different harness, trace format, Go version, probes or scenario definitions;
    /// writes a merged run.json and merge.json, then scores the whole (scores.csv, summary.*).
    ///   leakbench run --shard 1/2 --out a && leakbench run --shard 2/2 --out b
    ///   leakbench merge a b --out merged
    #[command(verbatim_doc_comment)]
    Merge(MergeArgs),
    Goker(leakbench::goker::Args),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Scenario names (see `leakbench list`) or paths to scenario files. None: all.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// Repetitions per scenario (the seed of repetition k is the scenario's seed + k).
    /// Default: 1.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    reps: Option<u32>,
    /// Run directory. Default: results/run-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Fixtures recorded at once. Each fixture's workload is light; sampling is cheap.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    jobs: usize,
    /// Run only slice I of N of the scenario × repetition matrix (deterministic), e.g. 1/2.
    #[arg(long, value_name = "I/N", conflicts_with = "resume")]
    shard: Option<Shard>,
    /// Complete an interrupted run in DIR: only repetitions without a final result run, with
    /// the run's own scenarios, repetitions, shard and probes.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "scenarios"])]
    resume: Option<PathBuf>,
    /// Skip the goroutineleak profile probe (it runs a special GC cycle at every sample).
    #[arg(long, conflicts_with = "resume")]
    no_goroutineleak: bool,
    /// Record only; score later with `leakbench replay DIR`.
    #[arg(long)]
    no_score: bool,
}

#[derive(Args, Debug)]
struct OverheadArgs {
    /// Fixtures of the throughput study (directories under go-fixtures/cmd/), each run as its
    /// non-leaking twin. Default: idle-goroutines.
    #[arg(value_name = "FIXTURE")]
    fixtures: Vec<String>,
    /// Output directory. Default: results/overhead-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Studies to run, comma-separated: throughput, scale, harness. Default: all.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    study: Vec<leakbench::overhead::Study>,
    /// Smoke test: one short repetition of each study (seconds; figures too noisy to quote).
    #[arg(long)]
    quick: bool,
    /// Repetitions (A/B pairs) per probe set and interval. Default: 3 (1 with --quick).
    #[arg(long, value_name = "N")]
    reps: Option<u32>,
    /// Length of each unsampled or sampled window, seconds. Default: 5 (1 with --quick).
    #[arg(long, value_name = "S")]
    window: Option<f64>,
    /// Work before the first window, seconds. Default: 3 (0.5 with --quick).
    #[arg(long, value_name = "S")]
    warmup: Option<f64>,
    /// Probe sets of the throughput study, comma-separated, from: default, goroutine, heap,
    /// heap-gc, metrics, proc, goroutineleak. Default: all (default,goroutine with --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    probe_sets: Vec<String>,
    /// Sampling intervals for the `default` probe set, seconds. Default: 5,1,0.25 (1 with
    /// --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    intervals: Vec<f64>,
    /// Sampling interval for every single-probe set, seconds.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    probe_interval: f64,
    /// Extra flag for every throughput fixture (repeatable), e.g. --fixture-arg=-goroutines=1000.
    #[arg(long, value_name = "FLAG", allow_hyphen_values = true)]
    fixture_arg: Vec<String>,
    /// Goroutine counts of the scale study. Default: 100,1000,10000,100000 (100,10000 with
    /// --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    scale_goroutines: Vec<u64>,
    /// Probes of the scale study. Default: goroutine,goroutineleak (goroutine with --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    scale_probes: Vec<String>,
    /// Fixtures sampled at once in the harness study. Default: 4 (2 with --quick).
    #[arg(long, value_name = "K")]
    harness_fixtures: Option<usize>,
    /// Length of each phase of the harness study, seconds. Default: 15 (2 with --quick).
    #[arg(long, value_name = "S")]
    harness_window: Option<f64>,
}

/// Repetitions of `run-all`: three, so every figure is a median over more than one run.
const RUN_ALL_REPS: u32 = 3;
/// Fixtures recorded at once by `run-all`. Fixtures are mostly idle between samples, so more
/// of them than cores fit: the default matrix then takes about 4 minutes on 2 cores.
const RUN_ALL_JOBS: usize = 6;

#[derive(Args, Debug)]
struct RunAllArgs {
    /// Scenario names or paths to scenario files. None: all.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// Repetitions per scenario.
    #[arg(long, default_value_t = RUN_ALL_REPS, value_name = "N")]
    reps: u32,
    /// Fixtures recorded at once.
    #[arg(long, short = 'j', default_value_t = RUN_ALL_JOBS, value_name = "N")]
    jobs: usize,
    /// Run directory. Default: results/run-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Skip the goroutineleak profile probe (it runs a special GC cycle at every sample).
    #[arg(long)]
    no_goroutineleak: bool,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// A run directory written by `leakbench run`.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Score only these detectors, comma-separated (see `leakbench detectors`). Default: all.
    /// The run's scores.csv and summaries then cover only these.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    detectors: Vec<String>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["baseline", "save_baseline"])))]
struct RegressArgs {
    /// A run directory written by `leakbench run` (or `merge`).
    #[arg(value_name = "RUN_DIR")]
    dir: PathBuf,
    /// The baseline to compare with, e.g. baselines/replay.json.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write this run's scores as a baseline to FILE.
    #[arg(long, value_name = "FILE")]
    save_baseline: Option<PathBuf>,
    /// Significance level of the one-sided latency test.
    #[arg(long, default_value_t = leakbench::evaluate::regress::ALPHA, value_name = "P")]
    alpha: f64,
    /// Latency is worse only if the median grew by more than this fraction (0.2 = 20%)...
    #[arg(long, default_value_t = leakbench::evaluate::regress::LATENCY_REL, value_name = "FRACTION")]
    latency_rel: f64,
    /// ...and by more than this many seconds.
    #[arg(long, default_value_t = leakbench::evaluate::regress::LATENCY_ABS_S, value_name = "S")]
    latency_abs: f64,
    /// TP repetitions needed on each side for a latency verdict (below: "no statistical support").
    #[arg(long, default_value_t = leakbench::evaluate::regress::MIN_REPS, value_name = "N")]
    min_reps: usize,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Run directories to combine (written by `leakbench run`, typically with --shard).
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// The new merged run directory (must not exist).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// A scored run directory (written by `leakbench run-all`, or `run` then `replay`).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_bad_input(&e) {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}

/// The repository root: `--root`, else the nearest ancestor with scenarios/ and
/// go-fixtures/, else the checkout this binary was built from.
fn find_root(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let is_root = |d: &Path| d.join("scenarios").is_dir() && d.join("go-fixtures").is_dir();
    if let Some(r) = flag {
        if !is_root(r) {
            return Err(BadInput(format!(
                "--root {}: no scenarios/ and go-fixtures/ there (fix: point --root at the leakbench checkout)",
                r.display()
            ))
            .into());
        }
        return Ok(r.to_path_buf());
    }
    let cwd = std::env::current_dir().context("no current directory")?;
    if let Some(d) = cwd.ancestors().find(|d| is_root(d)) {
        return Ok(d.to_path_buf());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if is_root(&built) {
        return Ok(built.canonicalize().unwrap_or(built));
    }
    Err(BadInput(
        "no leakbench checkout here (fix: run inside the repository or pass --root DIR)".into(),
    )
    .into())
}

struct Repo {
    root: PathBuf,
    fixtures: PathBuf,
    scenarios: Vec<Scenario>,
}

fn load_repo(g: &Global) -> anyhow::Result<Repo> {
    let root = find_root(g.root.as_deref())?;
    let fixtures = root.join("go-fixtures");
    let scenarios = scenario::load_dir(&root.join("scenarios"), Some(&fixtures))?;
    Ok(Repo {
        root,
        fixtures,
        scenarios,
    })
}

impl Repo {
    /// The scenarios named on the command line (all if none) and the run directory: `out`, or
    /// a new `results/run-<date>-<time>`.
    fn select(
        &self,
        names: &[String],
        out: Option<&Path>,
    ) -> anyhow::Result<(Vec<Scenario>, PathBuf)> {
        let chosen = scenario::select(names, &self.scenarios, &self.root, Some(&self.fixtures))?;
        let out = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| run::default_run_dir(&self.root.join("results")));
        Ok((chosen, out))
    }

    /// A run of `scenarios` with the default probes and this checkout's fixtures and cache;
    /// not sharded, not resumed.
    fn run_options(
        &self,
        g: &Global,
        scenarios: Vec<Scenario>,
        reps: u32,
        out: PathBuf,
        jobs: usize,
        no_goroutineleak: bool,
    ) -> RunOptions {
        RunOptions {
            scenarios,
            reps,
            out,
            jobs,
            shard: None,
            resume: false,
            probes: ProbeSet {
                goroutineleak: !no_goroutineleak,
                ..ProbeSet::default()
            },
            go: g.go.clone(),
            fixtures_dir: self.fixtures.clone(),
            cache_dir: self.root.join(".cache").join("fixtures"),
        }
    }
}

/// The async runtime for commands that start fixtures, with the reaper forked first (while
/// this process still has one thread).
fn fixture_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    if let Err(e) = leakbench::record::launch::start_reaper() {
        eprintln!(
            "warning: no reaper process ({e}); fixtures' own children may outlive a killed harness"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// Records a run (with progress bars) and says what did not complete.
fn record(opts: RunOptions) -> anyhow::Result<(run::RunReport, indicatif::MultiProgress)> {
    let rt = fixture_runtime()?;
    let mp = indicatif::MultiProgress::new();
    let report = rt.block_on(run::run(opts, &mp))?;
    let bad: Vec<String> = report
        .ends
        .iter()
        .filter(|(_, e)| e.status != leakbench::trace::EndStatus::Completed)
        .map(|(c, e)| {
            format!(
                "  {} rep {}: {:?}: {}",
                c.scenario, c.rep, e.status, e.reason
            )
        })
        .collect();
    eprintln!(
        "recorded {} repetitions into {}{}",
        report.ends.len(),
        report.dir.display(),
        if report.skipped > 0 {
            format!(" ({} already there)", report.skipped)
        } else {
            String::new()
        }
    );
    if !bad.is_empty() {
        eprintln!("not completed:\n{}", bad.join("\n"));
    }
    Ok((report, mp))
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::List => {
            let repo = load_repo(&cli.global)?;
            let w = repo
                .scenarios
                .iter()
                .map(|s| s.name.len())
                .max()
                .unwrap_or(0);
            for s in &repo.scenarios {
                println!(
                    "{:w$}  {:9}  {:11}  {:13}  {}",
                    s.name,
                    s.class.as_str(),
                    if s.truth.leaking {
                        "leaking"
                    } else {
                        "not-leaking"
                    },
                    s.role().to_string(),
                    s.description
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run(a) => cmd_run(&cli.global, a),
        Cmd::Overhead(a) => cmd_overhead(&cli.global, a),
        Cmd::RunAll(a) => cmd_run_all(&cli.global, a),
        Cmd::Plot(a) => cmd_plot(a),
        Cmd::Replay(a) => {
            let specs = a
                .detectors
                .iter()
                .map(|n| leakbench::evaluate::detect::by_name(n).copied())
                .collect::<Result<Vec<_>, _>>()
                .context("--detectors")?;
            let specs = if specs.is_empty() {
                leakbench::evaluate::detect::registry().to_vec()
            } else {
                specs
            };
            cmd_replay(&a.dir, &specs).map(|_| ExitCode::SUCCESS)
        }
        Cmd::Detectors => {
            for d in leakbench::evaluate::detect::registry() {
                let window = d.window_s.map_or("-".to_string(), |w| format!("{w:.0} s"));
                println!(
                    "{:22}  {:22}  {:>6}  {}",
                    d.name,
                    d.watches.as_str(),
                    window,
                    d.threshold
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Regress(a) => cmd_regress(a),
        Cmd::Merge(a) => cmd_merge(a),
        Cmd::Goker(a) => {
            leakbench::goker::run(a, &find_root(cli.global.root.as_deref())?, &cli.global.go)
        }
    }
}

fn cmd_run(g: &Global, a: RunArgs) -> anyhow::Result<ExitCode> {
    let repo = load_repo(g)?;
    if a.reps == Some(0) {
        return Err(
            BadInput("--reps 0: nothing to run (fix: pass --reps 1 or more)".into()).into(),
        );
    }
    if a.jobs == 0 {
        return Err(
            BadInput("--jobs 0: nothing would run (fix: pass --jobs 1 or more)".into()).into(),
        );
    }
    let (mut reps, mut shard) = (a.reps.unwrap_or(1), a.shard);
    let mut probes = None;
    let (out, resume, scenarios) = match &a.resume {
        Some(dir) => {
            if !dir.join("run.json").exists() {
                return Err(BadInput(format!(
                    "--resume {}: no run.json there, not a run directory (fix: point at a directory written by `leakbench run`)",
                    dir.display()
                ))
                .into());
            }
            let info = run::load_info(dir)?;
            (reps, shard, probes) = (info.reps, info.shard, Some(info.probes));
            let chosen: Vec<Scenario> = if info.scenario_defs.is_empty() {
                repo.scenarios
                    .iter()
                    .filter(|s| info.scenarios.contains(&s.name))
                    .cloned()
                    .collect()
            } else {
                info.scenario_defs.clone()
            };
            if let Some(lost) = info
                .scenarios
                .iter()
                .find(|n| !chosen.iter().any(|s| &&s.name == n))
            {
                return Err(BadInput(format!(
                    "--resume {}: scenario `{lost}` of that run is no longer in scenarios/ (fix: restore its file, or start a new run)",
                    dir.display()
                ))
                .into());
            }
            (dir.clone(), true, chosen)
        }
        None => {
            let (chosen, out) = repo.select(&a.scenarios, a.out.as_deref())?;
            (out, false, chosen)
        }
    };
    let opts = repo.run_options(g, scenarios, reps, out, a.jobs, a.no_goroutineleak);
    let opts = RunOptions {
        shard,
        resume,
        // A resumed run keeps its own probe set: one run, one set of probes.
        probes: probes.unwrap_or(opts.probes),
        ..opts
    };
    let (report, _) = record(opts)?;
    if report.interrupted {
        eprintln!(
            "interrupted: finish with `leakbench run --resume {}`",
            report.dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    if !a.no_score {
        cmd_replay(&report.dir, leakbench::evaluate::detect::registry())?;
    }
    println!("{}", report.dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Scores a run directory and says where the results went.
fn cmd_replay(
    dir: &Path,
    specs: &[leakbench::evaluate::detect::DetectorSpec],
) -> anyhow::Result<leakbench::evaluate::replay::ReplaySummary> {
    if !dir.join("traces").is_dir() {
        return Err(BadInput(format!(
            "{}: no traces/ there, not a run directory (fix: pass a directory written by `leakbench run`)",
            dir.display()
        ))
        .into());
    }
    let r = leakbench::evaluate::replay::replay_run_with(dir, specs)?;
    eprintln!(
        "scored {} repetitions × {} detectors: {} rows ({} not judged) into {}",
        r.traces,
        specs.len(),
        r.rows,
        r.na,
        dir.join("scores.csv").display()
    );
    Ok(r)
}

fn cmd_overhead(g: &Global, a: OverheadArgs) -> anyhow::Result<ExitCode> {
    use leakbench::overhead::{self, OverheadOptions};
    let root = find_root(g.root.as_deref())?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| run::timestamped_dir(&root.join("results"), "overhead"));
    let mut o = OverheadOptions::standard(
        out,
        g.go.clone(),
        root.join("go-fixtures"),
        root.join(".cache").join("fixtures"),
    );
    if a.quick {
        o = o.quick();
    }
    // A list flag given replaces the default list.
    fn or<T: Clone>(given: &[T], default: Vec<T>) -> Vec<T> {
        if given.is_empty() {
            default
        } else {
            given.to_vec()
        }
    }
    o.fixtures = or(&a.fixtures, o.fixtures);
    o.studies = or(&a.study, o.studies);
    o.probe_sets = or(&a.probe_sets, o.probe_sets);
    o.intervals_s = or(&a.intervals, o.intervals_s);
    o.scale_goroutines = or(&a.scale_goroutines, o.scale_goroutines);
    o.scale_probes = or(&a.scale_probes, o.scale_probes);
    o.reps = a.reps.unwrap_or(o.reps);
    o.window_s = a.window.unwrap_or(o.window_s);
    o.warmup_s = a.warmup.unwrap_or(o.warmup_s);
    o.probe_interval_s = a.probe_interval;
    o.fixture_args = a.fixture_arg.clone();
    o.harness_fixtures = a.harness_fixtures.unwrap_or(o.harness_fixtures);
    o.harness_window_s = a.harness_window.unwrap_or(o.harness_window_s);
    o.validate().map_err(BadInput)?;
    let dir = o.out.clone();
    let rt = fixture_runtime()?;
    rt.block_on(overhead::run(o)).with_context(|| {
        format!(
            "overhead study failed; rows measured so far are in {}",
            dir.display()
        )
    })?;
    eprintln!("overhead results in {}", dir.display());
    println!("{}", dir.join("overhead.md").display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_run_all(g: &Global, a: RunAllArgs) -> anyhow::Result<ExitCode> {
    let repo = load_repo(g)?;
    if a.reps == 0 || a.jobs == 0 {
        return Err(BadInput(
            "--reps 0 or --jobs 0: nothing would run (fix: pass 1 or more)".into(),
        )
        .into());
    }
    let (scenarios, out) = repo.select(&a.scenarios, a.out.as_deref())?;
    let started = std::time::Instant::now();
    let opts = repo.run_options(g, scenarios, a.reps, out, a.jobs, a.no_goroutineleak);
    let (recorded, mp) = record(opts)?;
    let dir = recorded.dir;
    if recorded.interrupted {
        eprintln!(
            "interrupted: finish with `leakbench run --resume {0}`, then `leakbench replay {0}` and `leakbench plot {0}`",
            dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    let bar = mp.add(indicatif::ProgressBar::new_spinner());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>6} {spinner} {elapsed} {msg}")
            .expect("valid template"),
    );
    bar.set_prefix("score");
    bar.set_message("replaying every trace through every detector");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let scored = leakbench::evaluate::replay::replay_run(&dir)?;
    bar.finish_with_message(format!("{} rows ({} not judged)", scored.rows, scored.na));
    let report = leakbench::present::report::generate(&dir, &mp)?;
    eprintln!(
        "{} repetitions recorded, scored and reported in {:.0} s",
        recorded.ends.len(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("report: {}", report.report_md.display());
    eprintln!("        {}", report.report_html.display());
    println!("{}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_plot(a: PlotArgs) -> anyhow::Result<ExitCode> {
    if !a.dir.is_dir() {
        return Err(BadInput(format!(
            "{}: no such directory (fix: pass a run directory under results/)",
            a.dir.display()
        ))
        .into());
    }
    let mp = indicatif::MultiProgress::new();
    let report = leakbench::present::report::generate(&a.dir, &mp)?;
    eprintln!(
        "{} chart files in {}",
        report.charts.len(),
        a.dir.join(leakbench::present::report::PLOTS_DIR).display()
    );
    eprintln!("report: {}", report.report_md.display());
    println!("{}", report.report_html.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_regress(a: RegressArgs) -> anyhow::Result<ExitCode> {
    use leakbench::evaluate::regress::{self, Baseline, Tolerance};
    if !a.dir.join("traces").is_dir() {
        return Err(BadInput(format!(
            "{}: no traces/ there, not a run directory (fix: pass a directory written by `leakbench run`)",
            a.dir.display()
        ))
        .into());
    }
    if !(a.alpha > 0.0 && a.alpha < 1.0)
        || a.latency_rel < 0.0
        || a.latency_abs < 0.0
        || a.min_reps == 0
    {
        return Err(BadInput(
            "--alpha must be in (0, 1), --latency-rel and --latency-abs >= 0, --min-reps >= 1 (fix: e.g. --alpha 0.05 --latency-rel 0.2 --latency-abs 1 --min-reps 3)".into(),
        )
        .into());
    }
    // Load the baseline first: a bad one is bad input before any scoring.
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    let traces = leakbench::trace::load_run(&a.dir)
        .with_context(|| format!("could not load the traces of '{}'", a.dir.display()))?;
    let rows = leakbench::evaluate::replay::score_traces(
        &traces,
        leakbench::evaluate::detect::registry(),
        &leakbench::evaluate::detect::Params::default(),
    );
    let current = Baseline::from_rows(&rows, env!("CARGO_PKG_VERSION"));
    let mut code = ExitCode::SUCCESS;
    if let (Some(base), Some(path)) = (&baseline, &a.baseline) {
        let tol = Tolerance {
            alpha: a.alpha,
            min_reps: a.min_reps,
            latency_rel: a.latency_rel,
            latency_abs_s: a.latency_abs,
        };
        let cmp = regress::compare(base, &current, &tol);
        println!(
            "{} ({} repetitions) against baseline {}{}\n",
            a.dir.display(),
            traces.len(),
            path.display(),
            if base.harness_version != current.harness_version {
                format!(" (saved by leakbench {})", base.harness_version)
            } else {
                String::new()
            }
        );
        print!("{}", regress::render(&cmp));
        if cmp.regressed() {
            code = ExitCode::from(1);
        }
    }
    if let Some(path) = &a.save_baseline {
        leakbench::fsio::write_atomic(path, &current.to_bytes())?;
        eprintln!(
            "saved the baseline of {} ({} scenario × detector cells) to {}",
            a.dir.display(),
            current.cells.len(),
            path.display()
        );
    }
    Ok(code)
}

fn cmd_merge(a: MergeArgs) -> anyhow::Result<ExitCode> {
    let r = leakbench::merge::merge(&a.dirs, &a.out)?;
    eprintln!(
        "merged {} repetitions from {} runs into {}; scored {} rows ({} not judged)",
        r.cells,
        r.inputs.len(),
        r.out.display(),
        r.replay.rows,
        r.replay.na
    );
    if !r.missing_shards.is_empty() {
        let n = r
            .inputs
            .first()
            .and_then(|i| i.shard)
            .map_or(0, |s| s.count);
        let missing: Vec<String> = r
            .missing_shards
            .iter()
            .map(|i| format!("{i}/{n}"))
            .collect();
        eprintln!(
            "warning: shard {} not merged: the matrix is incomplete (complete it with `leakbench run --resume {}`, then `leakbench replay {}`)",
            missing.join(", "),
            r.out.display(),
            r.out.display()
        );
    }
    println!("{}", r.out.display());
    Ok(ExitCode::SUCCESS)
}
