//! The `leakbench` command line: the flags (clap), and a dispatch that turns them into a
//! request to a use case in [`leakbench::app`] and prints what it returns. Maps errors to
//! exit codes: 0 success, 1 failure, 2 bad input (nothing was run), 130 interrupted (what
//! finished is kept), and for `record` only 3: the service went away before the end (what was
//! recorded is kept). Holds no use case itself: tests call `leakbench::app` directly.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use leakbench::app::{self, record as rec, Workspace};
use leakbench::bad_input::{is_bad_input, BadInput};
use leakbench::record::run::Shard;
use std::path::PathBuf;
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
///   leakbench compare results/old results/new   two runs side by side, as benchstat
///   leakbench goker --ci                    Go's own leak tests, graded like the fixtures
///   leakbench record http://127.0.0.1:6060 --duration 5m --out results/svc   a running service
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
    /// List scenarios: name, class, what grows, leaking or not, role (leak, twin, hard-negative).
    List,
    /// Build fixtures and record scenarios into a run directory.
    ///
    /// Each scenario × repetition starts its fixture on a free loopback port, samples it
    /// every `interval_s` for `duration_s`, and appends each sample to
    /// OUT/traces/<scenario>/rep-<k>/trace.jsonl as it is taken (<scenario>@<axes> with
    /// --matrix). Ctrl-C stops cleanly:
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
    ///   fidelity    how many fixtures at once keep their sampling schedule (the default
    ///               matrix recorded K at once, per level K)
    /// Writes overhead.csv, overhead-summary.csv, probe-scale.csv, harness-cost.csv,
    /// fidelity-levels.csv, overhead.md and overhead-meta.json into OUT as each row is measured.
    ///   leakbench overhead --quick                   smoke test, well under a minute
    ///   leakbench overhead --study throughput goroutine-abandoned-sender
    #[command(verbatim_doc_comment)]
    Overhead(OverheadArgs),
    /// The whole matrix in one command: build, record, score, chart, report.
    ///
    /// Builds the fixtures, runs every scenario (leaks, twins, hard negatives) for --reps
    /// repetitions, --jobs at a time, scores the traces with every detector, runs a small
    /// subset of `leakbench goker` into goker/ (about 30 s; --no-goker skips it), and writes
    /// scores.csv, summary.json, plots/ and report.md / report.html into a new run directory
    /// under results/; prints a results table, and the run directory's path last. Takes the
    /// same flags as `run`. Ctrl-C keeps what finished; `leakbench run-all --resume DIR`
    /// completes, scores and reports it.
    ///   leakbench run-all                        the default matrix (3 reps of 46 scenarios)
    ///   leakbench run-all --reps 1 goroutine-abandoned-sender goroutine-abandoned-sender-fixed
    #[command(verbatim_doc_comment)]
    RunAll(RunAllArgs),
    /// Redraw the charts and the report of a scored run directory, running nothing.
    ///
    /// Reads DIR/run.json, DIR/scores.csv, DIR/sweep.csv, the traces (and DIR/overhead.csv and
    /// run-all's GoKer section DIR/goker/ if present) and
    /// writes DIR/plots/*.svg, DIR/plots/*.png, DIR/report.md and DIR/report.html.
    /// A live recording (`leakbench record`, then `replay`) gets its timeline, every first
    /// alarm marked unjudged, and a short report, from DIR/alarms.csv.
    #[command(verbatim_doc_comment)]
    Plot(PlotArgs),
    /// Re-score a recorded run with every detector: no processes, deterministic.
    ///
    /// Reads DIR/traces/*/rep-*/ and writes DIR/scores.csv (one row per scenario × detector ×
    /// repetition), DIR/summary.json, DIR/summary.md, DIR/sweep.csv (recall and false
    /// alarms of every detector at thresholds from 1/16x to 16x) and DIR/fidelity.csv (each
    /// repetition's sample gaps and misses, and whether it was judged). The same traces always give the same
    /// bytes, so a changed scores.csv means a changed detector.
    /// A live recording (`leakbench record`) has no ground truth: replay lists when each
    /// detector first fired (or that it stayed silent, or cannot say) into DIR/alarms.csv,
    /// and scores nothing.
    #[command(verbatim_doc_comment)]
    Replay(ReplayArgs),
    /// List detectors: name, the series it watches, its trend window, and its threshold.
    Detectors(DetectorsArgs),
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
    /// Compare two scored runs cell by cell, as benchstat compares benchmarks.
    ///
    /// For every scenario × detector: leaks caught, false alarms and median latency in
    /// RUN_A and RUN_B, and how B differs: a change only where Fisher's exact test (counts)
    /// or a two-sided Mann-Whitney U test (latencies) gives p <= --alpha, else `~` with the
    /// p-value and sample sizes. Says so when the repetitions are too few for any test to
    /// reach --alpha.
    ///   leakbench compare results/run-old results/run-new
    #[command(verbatim_doc_comment)]
    Compare(CompareArgs),
    Goker(leakbench::goker::Args),
    /// Record a Go service that is already running and serves net/http/pprof.
    ///
    /// Samples URL every --interval for --duration with the probes `run` uses on programs
    /// without the kit: the goroutine profile (count and stacks), the heap profile and its
    /// MemStats block, /debug/vars where served, the goroutineleak profile where served, and
    /// RSS from /proc/PID with --pid (it also asks /leakbench/metrics, which only leakbench's
    /// kit serves; goleak is not asked). A probe the service does not serve is recorded as
    /// missing.
    /// Writes an ordinary run directory (OUT/traces/NAME/rep-0/), each sample as it is taken.
    /// There is no ground truth: `leakbench replay OUT` lists which detectors would have fired,
    /// and when, without scoring them; `leakbench plot OUT` draws it.
    ///
    /// Only loopback addresses (127.0.0.0/8, ::1, a name resolving only to them) are read
    /// unless --allow-remote is given: the probes cost the service work (the goroutineleak
    /// profile runs a GC cycle) and what they read describes its code.
    ///
    /// Before writing anything it checks that URL answers with a goroutine profile: a service
    /// that does not answer, or answers something else, is an error (exit 1) and nothing is
    /// written. Ctrl-C or SIGTERM ends the recording early and keeps it (exit 130). A service
    /// that goes away mid-recording (its --pid gone, or 3 ticks in a row unanswered) ends it
    /// with the reason in end.json, the samples kept (exit 3).
    ///   leakbench record http://127.0.0.1:6060 --duration 10m --out results/svc --pid 4242
    ///   leakbench replay results/svc && leakbench plot results/svc
    #[command(verbatim_doc_comment)]
    Record(RecordArgs),
}

#[derive(Args, Debug)]
struct RecordArgs {
    /// The service's pprof address: http://HOST:PORT (a /debug/pprof/ path after it is fine).
    #[arg(value_name = "URL")]
    url: String,
    /// The service's process ID on this machine, to read its RSS from /proc/PID/status.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// How long to record: seconds, or with a unit (500ms, 30s, 5m, 1h).
    #[arg(long, value_name = "D", value_parser = app::record_live::parse_duration)]
    duration: std::time::Duration,
    /// The new run directory (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Time between samples. Default: 0.5 s, as `run` samples a scenario that names none.
    #[arg(long, value_name = "D", value_parser = app::record_live::parse_duration)]
    interval: Option<std::time::Duration>,
    /// The recording's name: OUT/traces/NAME/rep-0.
    #[arg(long, value_name = "NAME", default_value = app::record_live::DEFAULT_NAME)]
    name: String,
    /// Also read a service at an address that is not loopback.
    #[arg(long)]
    allow_remote: bool,
    /// Skip the goroutineleak profile (it runs a GC cycle in the service at every sample).
    #[arg(long)]
    no_goroutineleak: bool,
}

/// The flags `run` and `run-all` share, with the same defaults.
#[derive(Args, Debug)]
struct MatrixArgs {
    /// Scenario names (see `leakbench list`), paths to scenario files, globs over names
    /// (quoted: 'goroutine-*') or leak classes (`map`: its leaks, twins and hard negatives).
    /// None: all.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// Repetitions per scenario (the seed of repetition k is the scenario's seed + k).
    #[arg(long, default_value_t = RUN_REPS, value_name = "N", conflicts_with = "resume")]
    reps: u32,
    /// Run directory. Default: results/run-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Fixtures recorded at once. Fixtures are mostly idle between samples, so more of them
    /// than cores fit.
    #[arg(long, short = 'j', default_value_t = RUN_JOBS, value_name = "N")]
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
    /// Sweep an axis (repeatable): every scenario × repetition runs at every point of the
    /// cross product of the axes given. Axes: go (paths to go commands, >= 1.26; default the
    /// --go one), GOGC (integers or off), GOMEMLIMIT (bytes with B, KiB, MiB, GiB or TiB, or
    /// off), GOMAXPROCS (positive integers). A swept value overrides the scenario's own.
    /// Cells are recorded into traces/<scenario>@<axes>/rep-<k>, and scores.csv gains a
    /// column per axis. E.g. --matrix GOGC=50,100,off --matrix go=go,/opt/go1.27/bin/go
    #[arg(
        long = "matrix",
        value_name = "AXIS=V1,V2,...",
        conflicts_with = "resume"
    )]
    matrix: Vec<String>,
    /// Sweep the axes of a TOML file: one key per axis, each a list of values (strings or
    /// integers; relative go paths are taken from the file's directory), e.g.
    ///   GOGC = [50, 100, "off"]
    ///   go = ["go", "../target/go-matrix/venv-1.27.3/bin/go"]
    /// An axis may be in the file or in --matrix, not both (docs/matrix.md).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "resume",
        verbatim_doc_comment
    )]
    matrix_file: Option<PathBuf>,
    #[command(flatten)]
    export: ExportArgs,
    #[command(flatten)]
    external: ExternalArgs,
}

/// Detectors in any language, declared in a file (docs/detector-protocol.md).
#[derive(Args, Debug, Default)]
struct ExternalArgs {
    /// Also score with the external detectors declared in FILE (TOML; see
    /// docs/detector-protocol.md), e.g. examples/detectors/leakprof/leakprof.toml.
    #[arg(long, value_name = "FILE")]
    detectors_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct DetectorsArgs {
    #[command(flatten)]
    external: ExternalArgs,
}

/// Copies of the scores in the formats hyperfine exports, byte-identical to the run
/// directory's own files.
#[derive(Args, Debug, Default)]
struct ExportArgs {
    /// Also write the aggregates (summary.json) to FILE.
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,
    /// Also write every scored row (scores.csv) to FILE.
    #[arg(long, value_name = "FILE")]
    export_csv: Option<PathBuf>,
    /// Also write the summary tables (summary.md) to FILE.
    #[arg(long, value_name = "FILE")]
    export_markdown: Option<PathBuf>,
}

impl ExportArgs {
    fn request(&self) -> rec::Exports {
        rec::Exports {
            json: self.export_json.clone(),
            csv: self.export_csv.clone(),
            markdown: self.export_markdown.clone(),
        }
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    matrix: MatrixArgs,
    /// Record only; score later with `leakbench replay DIR`.
    #[arg(long)]
    no_score: bool,
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// The base run (scored: it has scores.csv).
    #[arg(value_name = "RUN_A")]
    a: PathBuf,
    /// The run compared with it.
    #[arg(value_name = "RUN_B")]
    b: PathBuf,
    /// Significance level of both tests.
    #[arg(long, default_value_t = leakbench::present::compare::ALPHA, value_name = "P")]
    alpha: f64,
    /// Print Markdown tables instead of aligned text.
    #[arg(long)]
    markdown: bool,
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
    /// Studies to run, comma-separated: throughput, scale, harness, fidelity. Default: all.
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
    /// Fixtures recorded at once at each level of the fidelity study. Default:
    /// 6,12,22,33,44,66 (2,4 with --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    fidelity_jobs: Vec<usize>,
    /// Each fidelity repetition's duration, seconds. Default: 20 (3 with --quick).
    #[arg(long, value_name = "S")]
    fidelity_window: Option<f64>,
}

use leakbench::app::record::{RUN_JOBS, RUN_REPS};

#[derive(Args, Debug)]
struct RunAllArgs {
    #[command(flatten)]
    matrix: MatrixArgs,
    /// Skip the GoKer section (a subset of `leakbench goker`, about 30 s after the matrix).
    #[arg(long)]
    no_goker: bool,
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
    #[command(flatten)]
    export: ExportArgs,
    #[command(flatten)]
    external: ExternalArgs,
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
    #[command(flatten)]
    external: ExternalArgs,
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if is_bad_input(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

impl Global {
    fn workspace(&self) -> anyhow::Result<Workspace> {
        Workspace::load(self.root.as_deref(), self.go.clone())
    }
}

/// The progress area a command's stages share, on stderr (indicatif draws nothing when
/// stderr is not a terminal).
fn progress() -> indicatif::MultiProgress {
    indicatif::MultiProgress::new()
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.cmd {
        Cmd::List => {
            for line in app::listing::scenarios(&g.workspace()?.scenarios) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Detectors(a) => {
            let set = rec::detector_set(&[], a.external.detectors_file.as_deref())?;
            for line in app::listing::detector_set(&set) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run(a) => cmd_run(g, a),
        Cmd::RunAll(a) => cmd_run_all(g, a),
        Cmd::Replay(a) => {
            let set = rec::detector_set(&a.detectors, a.external.detectors_file.as_deref())?;
            if let Some(r) =
                app::record_live::replay_if_live(&a.dir, &set, a.export.request().any())?
            {
                print!("{}", leakbench::present::console::alarms(&r.rows).text());
                eprintln!(
                    "{} recording(s) × {} detectors, no ground truth: alarms listed, nothing scored; into {}",
                    r.recordings.len(),
                    set.len(),
                    r.written.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let scored = rec::score(&a.dir, &set)?;
            a.export.request().write(&a.dir)?;
            print_scored(&a.dir, &scored);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Compare(a) => {
            use leakbench::present::compare;
            if !(a.alpha > 0.0 && a.alpha < 1.0) {
                return Err(BadInput(format!(
                    "--alpha {}: must be in (0, 1) (fix: e.g. --alpha 0.05)",
                    a.alpha
                ))
                .into());
            }
            let c = compare::compare_dirs(&a.a, &a.b, a.alpha)?;
            print!("{}", compare::render(&c, &a.a, &a.b, a.alpha, a.markdown));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Plot(a) => {
            let mp = progress();
            let report = match app::record_live::plot_if_live(&a.dir, &mp)? {
                Some(live) => live,
                None => rec::plot(&a.dir, &mp)?,
            };
            eprintln!(
                "{} chart files in {}",
                report.charts.len(),
                leakbench::run_dir::RunDir::new(&a.dir)
                    .plots_dir()
                    .display()
            );
            eprintln!("report: {}", report.report_md.display());
            println!("{}", report.report_html.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Regress(a) => cmd_regress(a),
        Cmd::Merge(a) => cmd_merge(a),
        Cmd::Overhead(a) => cmd_overhead(g, a),
        Cmd::Goker(a) => {
            leakbench::goker::run(a, &app::workspace::find_root(g.root.as_deref())?, &g.go)
        }
        Cmd::Record(a) => cmd_record(a),
    }
}

fn cmd_record(a: RecordArgs) -> anyhow::Result<ExitCode> {
    let req = app::record_live::RecordRequest {
        url: a.url,
        pid: a.pid,
        duration: a.duration,
        interval: a.interval.unwrap_or(std::time::Duration::from_secs_f64(
            leakbench::scenario::DEFAULT_INTERVAL_S,
        )),
        out: a.out,
        name: a.name,
        allow_remote: a.allow_remote,
        no_goroutineleak: a.no_goroutineleak,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let out = rt.block_on(app::record_live::record(req, &progress()))?;
    for line in out.lines() {
        eprintln!("{line}");
    }
    println!("{}", out.dir.display());
    Ok(ExitCode::from(app::record_live::exit_code(&out.end)))
}

/// The results table on stdout (as hyperfine prints its results), then where the files are.
fn print_scored(dir: &std::path::Path, r: &leakbench::evaluate::replay::ReplaySummary) {
    print!(
        "{}",
        leakbench::present::console::results(&r.summary).text()
    );
    eprintln!(
        "scored {} repetitions × {} detectors: {} rows ({} not judged) into {}",
        r.traces,
        r.detectors,
        r.rows,
        r.na,
        leakbench::run_dir::RunDir::new(dir).scores_csv().display()
    );
}

impl MatrixArgs {
    fn request(self, no_score: bool) -> rec::RunRequest {
        rec::RunRequest {
            exports: self.export.request(),
            scenarios: self.scenarios,
            reps: self.reps,
            out: self.out,
            jobs: self.jobs,
            shard: self.shard,
            resume: self.resume,
            no_goroutineleak: self.no_goroutineleak,
            matrix: self.matrix,
            matrix_file: self.matrix_file,
            no_score,
            detectors_file: self.external.detectors_file,
            goker: None,
        }
    }
}

/// Says what a recording did and, if it was interrupted, how to finish it (exit 130).
fn report_recorded(r: &leakbench::record::run::RunReport, then: &str) -> Option<ExitCode> {
    for line in rec::recorded_lines(r) {
        eprintln!("{line}");
    }
    r.interrupted.then(|| {
        eprintln!(
            "interrupted: finish with `leakbench {then} --resume {}`",
            r.dir.display()
        );
        ExitCode::from(130)
    })
}

fn cmd_run(g: &Global, a: RunArgs) -> anyhow::Result<ExitCode> {
    let ws = g.workspace()?;
    let req = a.matrix.request(a.no_score);
    let out = app::fixture_runtime()?.block_on(rec::run(&ws, req, &progress()))?;
    if let Some(code) = report_recorded(&out.recorded, "run") {
        return Ok(code);
    }
    let dir = &out.recorded.dir;
    if let Some(scored) = &out.scored {
        print_scored(dir, scored);
    }
    println!("{}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_run_all(g: &Global, a: RunAllArgs) -> anyhow::Result<ExitCode> {
    let ws = g.workspace()?;
    let req = rec::RunRequest {
        goker: (!a.no_goker).then(Default::default),
        ..a.matrix.request(false)
    };
    let out = app::fixture_runtime()?.block_on(rec::run_all(&ws, req, &progress()))?;
    if let Some(code) = report_recorded(&out.recorded, "run-all") {
        return Ok(code);
    }
    let dir = &out.recorded.dir;
    let mut interrupted = false;
    if let (Some(scored), Some(report)) = (&out.scored, &out.report) {
        print_scored(dir, scored);
        use leakbench::goker::section::Outcome;
        match &out.goker {
            Some(Outcome::Recorded {
                reps, elapsed_s, ..
            }) => eprintln!("GoKer section: {reps} repetitions in {elapsed_s:.0} s"),
            Some(Outcome::NotRun(why)) => eprintln!("{why}"),
            Some(Outcome::Interrupted { .. }) => {
                // The matrix is scored and reported; the section is not: the run is unfinished.
                eprintln!(
                    "GoKer section interrupted: `leakbench run-all --resume {}` runs it again",
                    dir.display()
                );
                interrupted = true;
            }
            Some(Outcome::Kept { .. }) | None => {}
        }
        eprintln!(
            "{} repetitions recorded, scored and reported in {:.0} s",
            out.recorded.ends.len(),
            out.elapsed.as_secs_f64()
        );
        eprintln!("report: {}", report.report_md.display());
        eprintln!("        {}", report.report_html.display());
    }
    println!("{}", dir.display());
    Ok(if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_overhead(g: &Global, a: OverheadArgs) -> anyhow::Result<ExitCode> {
    use leakbench::overhead::{self, OverheadOptions};
    let root = app::workspace::find_root(g.root.as_deref())?;
    let out = a.out.clone().unwrap_or_else(|| {
        leakbench::record::run::timestamped_dir(&root.join("results"), "overhead")
    });
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
    o.fidelity_jobs = or(&a.fidelity_jobs, o.fidelity_jobs);
    o.fidelity_window_s = a.fidelity_window.unwrap_or(o.fidelity_window_s);
    o.validate().map_err(BadInput)?;
    let dir = o.out.clone();
    let rt = app::fixture_runtime()?;
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

fn cmd_regress(a: RegressArgs) -> anyhow::Result<ExitCode> {
    use leakbench::evaluate::regress::{self, Tolerance};
    let tol = Tolerance {
        alpha: a.alpha,
        min_reps: a.min_reps,
        latency_rel: a.latency_rel,
        latency_abs_s: a.latency_abs,
    };
    let set = rec::detector_set(&[], a.external.detectors_file.as_deref())?;
    let o = regress::run_with(
        &a.dir,
        a.baseline.as_deref(),
        a.save_baseline.as_deref(),
        &tol,
        &set,
    )?;
    print!("{}", o.text);
    if let Some(saved) = &o.saved {
        eprintln!("{saved}");
    }
    Ok(if o.regressed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
