//! The `leakbench` command line. Parses flags, finds the repository, and calls the library;
//! maps errors to exit codes: 0 success, 1 failure, 2 bad input (nothing was run), 130
//! interrupted (what finished is kept).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use leakbench::bad_input::{is_bad_input, BadInput};
use leakbench::probe::ProbeSet;
use leakbench::run::{self, RunOptions, Shard};
use leakbench::scenario::{self, Scenario};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A benchmark for Go leak detectors.
///
/// leakbench builds Go fixture programs that each leak in one way (goroutines blocked
/// forever, maps that only grow, contexts never cancelled, finalizers that pin objects, C
/// memory never freed), with a non-leaking twin and hard negatives. It samples them over time
/// (pprof, runtime/metrics, /proc) into traces, with the leak's onset measured by the fixture
/// itself.
///
/// Typical use:
///   leakbench list                          what can run
///   leakbench run                           run every scenario once into results/run-*/
///   leakbench run goroutine-abandoned-sender --reps 3
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
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Scenario names (see `leakbench list`) or paths to scenario files. None: all.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// Repetitions per scenario (the seed of repetition k is the scenario's seed + k).
    #[arg(long, default_value_t = 1, value_name = "N")]
    reps: u32,
    /// Run directory. Default: results/run-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Fixtures recorded at once. Each fixture's workload is light; sampling is cheap.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    jobs: usize,
    /// Run only slice I of N of the scenario × repetition matrix (deterministic), e.g. 1/2.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Complete an interrupted run in DIR: only repetitions without a final result run.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    resume: Option<PathBuf>,
    /// Skip the goroutineleak profile probe (it runs a special GC cycle at every sample).
    #[arg(long)]
    no_goroutineleak: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_bad_input(&e) {
                eprintln!("error: {e}");
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
    }
}

fn cmd_run(g: &Global, a: RunArgs) -> anyhow::Result<ExitCode> {
    let repo = load_repo(g)?;
    if a.reps == 0 {
        return Err(
            BadInput("--reps 0: nothing to run (fix: pass --reps 1 or more)".into()).into(),
        );
    }
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
            let chosen: Vec<Scenario> = repo
                .scenarios
                .iter()
                .filter(|s| info.scenarios.contains(&s.name))
                .cloned()
                .collect();
            (dir.clone(), true, chosen)
        }
        None => {
            let chosen = scenario::select(
                &a.scenarios,
                &repo.scenarios,
                &repo.root,
                Some(&repo.fixtures),
            )?;
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| run::default_run_dir(&repo.root.join("results")));
            (out, false, chosen)
        }
    };
    let probes = ProbeSet {
        goroutineleak: !a.no_goroutineleak,
        ..ProbeSet::default()
    };
    let opts = RunOptions {
        scenarios,
        reps: a.reps,
        out,
        jobs: a.jobs,
        shard: a.shard,
        resume,
        probes,
        go: g.go.clone(),
        fixtures_dir: repo.fixtures.clone(),
        cache_dir: repo.root.join(".cache").join("fixtures"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
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
    if report.interrupted {
        eprintln!(
            "interrupted: finish with `leakbench run --resume {}`",
            report.dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    println!("{}", report.dir.display());
    Ok(ExitCode::SUCCESS)
}
