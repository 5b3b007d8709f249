//! `leakbench goker`: the use case from the command line to the report. Reads the cases from
//! the Go that builds the fixtures, wraps them, records both modes through the ordinary
//! recording stage ([`crate::record::run`], one run directory per mode and repetition count),
//! judges every goroutine detector on the traces and writes the GoKer report.
//!
//! A GoKer output directory holds `goker-run.json` (the cases as discovered, the selection, the
//! options, the time taken), the run directories `test-strict/`, `test-flaky/`,
//! `service-strict/`, `service-flaky/` (ordinary run directories: `leakbench replay` reads
//! them), and the report files of [`crate::goker::report`]. `--judge DIR` re-judges one
//! without running anything.
//!
//! Owns the command-line options and the order of the stages. Must not judge or format itself.

use crate::bad_input::BadInput;
use crate::goker::cases::{self, Case, Discovery};
use crate::goker::judge::{self, Judgement};
use crate::goker::plan::{self, Mode, ModeSettings, Options};
use crate::goker::report::{self, Report};
use crate::goker::tally;
use crate::record::probe::ProbeSet;
use crate::record::run::{self, RunOptions};
use crate::trace::{self, EndStatus};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Fixtures recorded at once. The wrapped cases sleep or sit blocked almost all the time, so
/// many fit on two cores: the full set in both modes took 504-540 s here (docs/goker.md).
pub const DEFAULT_JOBS: usize = 32;

/// Run Go's own goroutine leak tests (GoKer kernels and the runtime's micro, stress and
/// pattern cases) as fixtures, and grade every goroutine detector by Go's expected answers.
///
/// Reads the cases and their expected leaks from the Go toolchain that builds the fixtures
/// ($(go env GOROOT)/src/runtime/goroutineleakprofile_test.go and its test programs; Go >= 1.26),
/// wraps each program so the harness can sample it (cached in .cache/goker/<go version>/), and
/// runs every case in two modes: test (once, as Go's test does) and service (again and again,
/// so growth detectors have something to see). Writes goker.md, goker-scores.csv and
/// goker-summary.json into a new results/goker-<date>-<time>/, whose path it prints last.
///   leakbench goker                      every case, both modes (about 9 minutes)
///   leakbench goker --ci                 a small strict subset (CI)
///   leakbench goker etcd Cockroach1055   some projects and cases
///   leakbench goker --list               the cases found, nothing run
///   leakbench goker --judge DIR          re-judge a recorded GoKer directory
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Cases or projects to run (Cockroach1055, etcd, micro, ...). None: every case.
    #[arg(value_name = "CASE|PROJECT")]
    pub cases: Vec<String>,
    /// Print the cases found (project, kind, repeatable, expected leaks) and run nothing.
    #[arg(long, conflicts_with = "judge")]
    pub list: bool,
    /// The CI subset: the first strict case of every project and group, and every no-leak case.
    #[arg(long)]
    pub ci: bool,
    /// Modes, comma-separated: test, service. Default: both.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub modes: Vec<Mode>,
    /// Repetitions of each strict and no-leak case (Go's test runs them 3 times).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub strict_reps: u32,
    /// Repetitions of each flaky case.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub flaky_reps: u32,
    /// Fixtures recorded at once.
    #[arg(long, short = 'j', default_value_t = DEFAULT_JOBS, value_name = "N")]
    pub jobs: usize,
    /// Output directory. Default: results/goker-<UTC date>-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Service mode: runs per second.
    #[arg(long, default_value_t = plan::SERVICE.rate, value_name = "R")]
    pub service_rate: f64,
    /// Service mode: runs in all.
    #[arg(long, default_value_t = plan::SERVICE.runs, value_name = "N")]
    pub service_runs: u32,
    /// Service mode: how long each repetition is watched, seconds.
    #[arg(long, default_value_t = plan::SERVICE.duration_s, value_name = "S")]
    pub service_duration: f64,
    /// Test mode: how long each repetition is watched, seconds.
    #[arg(long, default_value_t = plan::TEST.duration_s, value_name = "S")]
    pub test_duration: f64,
    /// Judge the traces of a GoKer directory again (no processes) and rewrite its report.
    #[arg(long, value_name = "DIR")]
    pub judge: Option<PathBuf>,
}

/// `goker-run.json`: what was run, so a GoKer directory can be judged again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub discovery: Discovery,
    pub selected: Vec<String>,
    pub options: Options,
    pub jobs: usize,
    pub not_repeatable: Vec<(String, String)>,
    /// Wall time from the wrap to the last repetition, seconds (absent until recorded).
    pub elapsed_s: Option<f64>,
}

pub const RUN_RECORD: &str = "goker-run.json";

/// Runs `leakbench goker` from the repository at `root` with the `go` command `go`.
pub fn run(a: Args, root: &Path, go: &Path) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.judge {
        let rec = load_record(dir)?;
        judge_and_report(dir, &rec, 0)?;
        println!("{}", dir.join(report::REPORT_MD).display());
        return Ok(ExitCode::SUCCESS);
    }
    if a.strict_reps == 0 || a.flaky_reps == 0 || a.jobs == 0 {
        return Err(BadInput(
            "--strict-reps, --flaky-reps and --jobs must be 1 or more (fix: pass 1 or more)".into(),
        )
        .into());
    }
    let started = std::time::Instant::now();
    let (tc, goroot) = cases::locate(go)?;
    let fixtures_dir = root.join("go-fixtures");
    if a.list {
        let d = cases::discover(&tc, &goroot, &fixtures_dir, None)?;
        print!("{}", list(&d));
        return Ok(ExitCode::SUCCESS);
    }
    let module = cases::wrapped_module(&root.join(".cache"), &tc);
    let d = cases::discover(&tc, &goroot, &fixtures_dir, Some(&module))
        .context("could not read and wrap Go's goroutine leak tests")?;
    let selected = plan::select(&d, &a.cases, a.ci).map_err(BadInput)?;
    let options = Options {
        modes: if a.modes.is_empty() {
            Mode::ALL.to_vec()
        } else {
            a.modes.clone()
        },
        strict_reps: a.strict_reps,
        flaky_reps: a.flaky_reps,
        test: ModeSettings {
            duration_s: a.test_duration,
            ..plan::TEST
        },
        service: ModeSettings {
            rate: a.service_rate,
            runs: a.service_runs,
            duration_s: a.service_duration,
            ..plan::SERVICE
        },
    };
    let p = plan::plan(&selected, &options)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| run::timestamped_dir(&root.join("results"), "goker"));
    if out.join(RUN_RECORD).exists() {
        return Err(BadInput(format!(
            "--out {}: a GoKer run is already there (fix: choose another --out, or pass --judge {} to judge it again)",
            out.display(),
            out.display()
        ))
        .into());
    }
    let mut rec = RunRecord {
        discovery: d.clone(),
        selected: selected.iter().map(|c| c.name.clone()).collect(),
        options: options.clone(),
        jobs: a.jobs,
        not_repeatable: p.not_repeatable.clone(),
        elapsed_s: None,
    };
    crate::fsio::create_dir_all(&out)?;
    save_record(&out, &rec)?;
    eprintln!(
        "GoKer: {} cases of {} ({} in service mode), {} repetitions, {} at once",
        selected.len(),
        d.go_version,
        p.groups
            .iter()
            .filter(|g| g.mode == Mode::Service)
            .map(|g| g.scenarios.len())
            .sum::<usize>(),
        p.groups
            .iter()
            .map(|g| g.scenarios.len() * g.reps as usize)
            .sum::<usize>(),
        a.jobs
    );
    let rt = crate::app::fixture_runtime()?;
    let mp = indicatif::MultiProgress::new();
    let mut recorded = 0;
    for g in &p.groups {
        run::log(
            &mp,
            &format!(
                "GoKer {}: {} cases × {} repetitions",
                g.name(),
                g.scenarios.len(),
                g.reps
            ),
        );
        let opts = RunOptions {
            scenarios: g.scenarios.clone(),
            reps: g.reps,
            out: g.dir(&out),
            jobs: a.jobs,
            shard: None,
            resume: false,
            // No heap profile: GoKer cases leak goroutines, and every profile a tick takes
            // is work for dozens of programs sharing the cores.
            probes: ProbeSet {
                heap: false,
                ..ProbeSet::default()
            },
            go: tc.go.clone(),
            fixtures_dir: module.clone(),
            cache_dir: root.join(".cache").join("fixtures"),
            matrix: Default::default(),
        };
        let r = rt.block_on(run::run(opts, &mp))?;
        recorded += r.ends.len();
        let bad: Vec<String> = r
            .ends
            .iter()
            .filter(|(_, e)| e.status != EndStatus::Completed)
            .map(|(c, e)| {
                format!(
                    "  {} rep {}: {:?}: {}",
                    c.scenario, c.rep, e.status, e.reason
                )
            })
            .collect();
        if !bad.is_empty() {
            run::log(&mp, &format!("not completed:\n{}", bad.join("\n")));
        }
        if r.interrupted {
            eprintln!(
                "interrupted: the repetitions recorded so far are in {} (judge them with `leakbench goker --judge {}`)",
                out.display(),
                out.display()
            );
            return Ok(ExitCode::from(130));
        }
    }
    rec.elapsed_s = Some(started.elapsed().as_secs_f64());
    save_record(&out, &rec)?;
    judge_and_report(&out, &rec, recorded)?;
    eprintln!(
        "GoKer: {recorded} repetitions wrapped, recorded, judged and reported in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    eprintln!("report: {}", out.join(report::REPORT_MD).display());
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn save_record(out: &Path, rec: &RunRecord) -> anyhow::Result<()> {
    crate::fsio::write_atomic(&out.join(RUN_RECORD), &serde_json::to_vec_pretty(rec)?)?;
    Ok(())
}

fn load_record(dir: &Path) -> anyhow::Result<RunRecord> {
    let p = dir.join(RUN_RECORD);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        BadInput(format!(
            "--judge {}: cannot read {} ({e}) (fix: point at a directory written by `leakbench goker`)",
            dir.display(),
            p.display()
        ))
    })?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| BadInput(format!("{}: not a GoKer run record: {e}", p.display())))?)
}

/// Judges every trace under `out` and writes the report. `recorded` is the number of
/// repetitions this invocation recorded (0 when re-judging: the traces are counted).
fn judge_and_report(out: &Path, rec: &RunRecord, recorded: usize) -> anyhow::Result<()> {
    let specs = judge::goroutine_detectors();
    let mut judgements: Vec<Judgement> = Vec::new();
    let mut reps = 0;
    for mode in &rec.options.modes {
        for flaky in [false, true] {
            let dir = out.join(plan::group_name(*mode, flaky));
            if !dir.join("traces").is_dir() {
                continue;
            }
            let traces = trace::load_run(&dir)
                .with_context(|| format!("could not load the traces of {}", dir.display()))?;
            for t in &traces {
                let Some(case) = rec.discovery.case(&t.meta.scenario.name) else {
                    continue;
                };
                reps += 1;
                judgements.extend(judge::judge_trace(t, case, *mode, &specs));
            }
        }
    }
    let kernels: BTreeSet<String> = rec
        .discovery
        .cases
        .iter()
        .filter(|c| c.kernel.is_some())
        .map(|c| c.name.clone())
        .collect();
    let rows = tally::summarize(&judgements, &kernels);
    let selected: Vec<&Case> = rec
        .selected
        .iter()
        .filter_map(|n| rec.discovery.case(n))
        .collect();
    let detectors: Vec<String> = specs.iter().map(|s| s.name.to_string()).collect();
    let r = Report {
        discovery: &rec.discovery,
        cases: &selected,
        options: &rec.options,
        judgements: &judgements,
        rows: &rows,
        not_repeatable: &rec.not_repeatable,
        detectors: &detectors,
        reps: if recorded > 0 { recorded } else { reps },
        elapsed_s: rec.elapsed_s,
        jobs: rec.jobs,
    };
    report::write(out, &r)?;
    eprint!("{}", overview(&rows, &detectors, &rec.options.modes));
    Ok(())
}

/// A short table for the terminal: every detector's figures over all cases.
fn overview(rows: &[tally::Row], detectors: &[String], modes: &[Mode]) -> String {
    let mut o = format!(
        "{:22}  {:7}  {:>14}  {:>9}  {:>7}\n",
        "detector", "mode", "case recall", "precision", "latency"
    );
    for det in detectors {
        for m in modes {
            if let Some(r) = rows
                .iter()
                .find(|r| &r.detector == det && r.mode == *m && r.scope == tally::Scope::All)
            {
                let f = &r.figures;
                o.push_str(&format!(
                    "{det:22}  {m:7}  {:>14}  {:>9}  {:>7}\n",
                    format!("{}/{}", f.caught_cases, f.leaking_cases),
                    f.precision()
                        .map_or("–".into(), |p| format!("{:.1}%", p * 100.0)),
                    f.median_latency_s
                        .map_or("–".into(), |l| format!("{l:.1} s"))
                ));
            }
        }
    }
    o
}

/// `--list`: one line per case.
fn list(d: &Discovery) -> String {
    let w = d.cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut o = format!(
        "{} cases in {} ({})\n",
        d.cases.len(),
        d.test_file,
        d.go_version
    );
    for c in &d.cases {
        let leaks: Vec<&str> = c.all_leaks().map(String::as_str).collect();
        o.push_str(&format!(
            "{:w$}  {:10}  {:7}  {:14}  {}\n",
            c.name,
            c.project,
            c.kind().as_str(),
            if c.repeatable {
                "repeatable"
            } else {
                "not-repeatable"
            },
            leaks.join("  ")
        ));
    }
    for u in &d.untested {
        o.push_str(&format!(
            "{:w$}  registered in {} but not in the test: no expected answer, not run\n",
            u.name, u.file
        ));
    }
    o
}
