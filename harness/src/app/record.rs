//! The commands that record: `run` (with `--resume`), `run-all` (record, score, the GoKer
//! section, report), and the scoring and reporting steps they end with (`replay`, `plot`).
//!
//! Owns the order of record → score → GoKer section → report and the checks on their
//! command-line values. Must not record, score or draw itself (it calls
//! [`crate::record::run`], [`crate::evaluate::replay`], [`crate::goker::section`] and
//! [`crate::present::report`]).

use super::Workspace;
use crate::axes::{Axis, Grid, Source};
use crate::bad_input::BadInput;
use crate::evaluate::detect::DetectorSet;
use crate::evaluate::replay::{self, ReplaySummary};
use crate::goker::section::{self, SectionOptions};
use crate::present::report;
use crate::record::fixture_build::GoToolchain;
use crate::record::run::{self, RunOptions, RunReport, Shard};
use crate::run_dir::{RunDir, RUN_JSON};
use crate::scenario::Scenario;
use crate::trace::EndStatus;
use anyhow::Context;
use indicatif::MultiProgress;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Repetitions per scenario of `run` and `run-all`: three, so every figure is a median over
/// more than one run.
pub const RUN_REPS: u32 = 3;
/// Fixtures `run` and `run-all` record at once. Fixtures are mostly idle between samples, so
/// many more of them than cores fit, until their own CPU (workload, serving the probes) fills
/// the machine. Measured on 2 cores with `leakbench overhead --study fidelity
/// --fidelity-window 30` (goleak every 5 s), two studies: 24 at once used 1.75 cores and
/// missed no sample; 30 at once used 1.92–1.93 cores and missed 2.2 % of its samples in one
/// (every repetition still judged), 7.6 % in the other (every repetition too late); 38 and 46
/// at once saturated both cores. The default matrix recorded 24 at once took 319 s with no
/// repetition refused (docs/example).
pub const RUN_JOBS: usize = 24;

/// Copies of the scores to write besides the run directory's own (`--export-*`), as
/// hyperfine exports: the same bytes as `summary.json`, `scores.csv` and `summary.md`.
#[derive(Debug, Clone, Default)]
pub struct Exports {
    pub json: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
}

impl Exports {
    /// Whether any export was asked for.
    pub fn any(&self) -> bool {
        self.json.is_some() || self.csv.is_some() || self.markdown.is_some()
    }

    /// Copies the scored run's files to the paths asked for; returns the paths written.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let run = RunDir::new(dir);
        let mut written = Vec::new();
        for (to, from) in [
            (&self.json, run.summary_json()),
            (&self.csv, run.scores_csv()),
            (&self.markdown, run.summary_md()),
        ] {
            if let Some(to) = to {
                let bytes = crate::fsio::read(&from)?;
                crate::fsio::write_atomic(to, &bytes).with_context(|| {
                    format!("could not write the export file '{}'", to.display())
                })?;
                written.push(to.clone());
            }
        }
        Ok(written)
    }
}

/// What to record: the values of the flags `run` and `run-all` share.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Scenario names, scenario file paths, globs or classes; none: all.
    pub scenarios: Vec<String>,
    /// Repetitions per scenario (a resumed run keeps its own).
    pub reps: u32,
    /// The run directory; `None`: a new `results/run-<date>-<time>`.
    pub out: Option<PathBuf>,
    pub jobs: usize,
    pub shard: Option<Shard>,
    /// Complete this interrupted run instead of starting one.
    pub resume: Option<PathBuf>,
    pub no_goroutineleak: bool,
    /// `--matrix AXIS=V1,V2,...` arguments, as given.
    pub matrix: Vec<String>,
    /// `--matrix-file`.
    pub matrix_file: Option<PathBuf>,
    /// Record only; do not score.
    pub no_score: bool,
    pub exports: Exports,
    /// Also score with the external detectors declared in this file.
    pub detectors_file: Option<PathBuf>,
    /// `run-all` only: the GoKer section recorded after the matrix (`None`: `--no-goker`).
    pub goker: Option<SectionOptions>,
}

impl Default for RunRequest {
    fn default() -> Self {
        RunRequest {
            scenarios: Vec::new(),
            reps: RUN_REPS,
            out: None,
            jobs: RUN_JOBS,
            shard: None,
            resume: None,
            no_goroutineleak: false,
            matrix: Vec::new(),
            matrix_file: None,
            no_score: false,
            exports: Exports::default(),
            detectors_file: None,
            goker: Some(SectionOptions::default()),
        }
    }
}

/// What `run` did.
#[derive(Debug)]
pub struct RunOutcome {
    pub recorded: RunReport,
    /// The scores written, unless `no_score` or interrupted.
    pub scored: Option<ReplaySummary>,
}

/// Records a run (or completes one with `resume`), scores it unless `no_score`, and writes
/// the exports asked for.
pub async fn run(
    ws: &Workspace,
    req: RunRequest,
    mp: &MultiProgress,
) -> anyhow::Result<RunOutcome> {
    if req.reps == 0 {
        return Err(
            BadInput("--reps 0: nothing to run (fix: pass --reps 1 or more)".into()).into(),
        );
    }
    if req.jobs == 0 {
        return Err(
            BadInput("--jobs 0: nothing would run (fix: pass --jobs 1 or more)".into()).into(),
        );
    }
    if req.no_score && req.exports.any() {
        return Err(BadInput(
            "--no-score with --export-*: nothing would be scored to export (fix: drop --no-score, or export later with `leakbench replay DIR --export-…`)".into(),
        )
        .into());
    }
    let detectors = detector_set(&[], req.detectors_file.as_deref())?;
    let opts = match &req.resume {
        Some(dir) => resume_options(ws, dir, req.jobs)?,
        None => {
            let matrix = grid(&req.matrix, req.matrix_file.as_deref())?;
            let (chosen, out) = ws.select(&req.scenarios, req.out.as_deref())?;
            RunOptions {
                shard: req.shard,
                matrix,
                ..ws.run_options(chosen, req.reps, out, req.jobs, req.no_goroutineleak)
            }
        }
    };
    let recorded = run::run(opts, mp).await?;
    let scored = if recorded.interrupted || req.no_score {
        None
    } else {
        let bar = mp.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>6} {spinner} {elapsed} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix("score");
        bar.set_message("replaying every trace through every detector");
        bar.enable_steady_tick(Duration::from_millis(200));
        let s = score(&recorded.dir, &detectors)?;
        bar.finish_with_message(format!("{} rows ({} not judged)", s.rows, s.na));
        req.exports.write(&recorded.dir)?;
        Some(s)
    };
    Ok(RunOutcome { recorded, scored })
}

/// The options that complete the interrupted run in `dir`: its own scenarios (as defined
/// when it started), repetitions, shard and probes; only `jobs` is the caller's.
pub fn resume_options(ws: &Workspace, dir: &Path, jobs: usize) -> anyhow::Result<RunOptions> {
    let run_dir = RunDir::new(dir);
    if !run_dir.has_info() {
        return Err(BadInput(format!(
            "--resume {}: no {RUN_JSON} there, not a run directory (fix: point at a directory written by `leakbench run`)",
            dir.display()
        ))
        .into());
    }
    let info = run_dir.load_info()?;
    let chosen: Vec<Scenario> = if info.scenario_defs.is_empty() {
        ws.scenarios
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
    Ok(RunOptions {
        shard: info.shard,
        resume: true,
        // A resumed run keeps its own axes, Go paths included.
        matrix: info.matrix.clone(),
        // A resumed run keeps its own probe set: one run, one set of probes.
        probes: info.probes,
        ..ws.run_options(chosen, info.reps, dir.to_path_buf(), jobs, false)
    })
}

/// The axes of `--matrix` flags and a `--matrix-file`, checked: every value well formed, every
/// `go` value a Go >= 1.26, no axis in both. Bad input names the flag or file, the key and
/// the fix, in one line, before anything runs.
pub fn grid(flags: &[String], file: Option<&Path>) -> Result<Grid, BadInput> {
    let mut from_flags = Grid::default();
    for f in flags {
        from_flags.add_flag(f)?;
    }
    if let Ok(cwd) = std::env::current_dir() {
        from_flags.absolutize_go(&cwd);
    }
    check_go(&from_flags, Source::Flag)?;
    let Some(file) = file else {
        return Ok(from_flags);
    };
    let mut from_file = Grid::default();
    from_file.add_file(file)?;
    check_go(&from_file, Source::File(file))?;
    if let Some(a) = from_file.axes().find(|a| from_flags.values(*a).is_some()) {
        return Err(BadInput(format!(
            "--matrix-file {}: key `{a}`: also given by --matrix (fix: give each axis in one place)",
            file.display()
        )));
    }
    from_flags.union(&from_file);
    Ok(from_flags)
}

/// Every `go` value of `g` must be a Go toolchain leakbench can build with.
fn check_go(g: &Grid, src: Source<'_>) -> Result<(), BadInput> {
    for p in g.values(Axis::Go).unwrap_or_default() {
        if let Err(e) = GoToolchain::detect(Path::new(p)) {
            let what = match src {
                Source::Flag => "--matrix".to_string(),
                Source::File(f) => format!("--matrix-file {}", f.display()),
            };
            let why = e.to_string();
            let why = why.split(" (fix:").next().unwrap_or_default();
            return Err(BadInput(format!(
                "{what}: key `go`: {p} is not a usable Go: {why} (fix: give the path of a go command of Go >= 1.26, e.g. go=go,target/go-matrix/venv-1.27.3/bin/go)"
            )));
        }
    }
    Ok(())
}

/// Scores every trace of a run directory with the detectors of `set` and writes the scores
/// into it.
pub fn score(dir: &Path, set: &DetectorSet) -> anyhow::Result<ReplaySummary> {
    let run = RunDir::open_recorded(dir)?;
    replay::replay_run_with(run.path(), set)
}

/// The detectors named (see `leakbench detectors`), among the built-in ones and those
/// declared in `file` (`--detectors-file`); none named: every one.
pub fn detector_set(names: &[String], file: Option<&Path>) -> anyhow::Result<DetectorSet> {
    let all = match file {
        Some(f) => DetectorSet::with_file(f).context("--detectors-file")?,
        None => DetectorSet::registry(),
    };
    all.select(names).context("--detectors")
}

/// What `run-all` did.
#[derive(Debug)]
pub struct RunAllOutcome {
    pub recorded: RunReport,
    /// `None` when interrupted: nothing was scored or reported.
    pub scored: Option<ReplaySummary>,
    pub report: Option<report::Generated>,
    /// The GoKer section, unless `--no-goker` (or interrupted before it).
    pub goker: Option<section::Outcome>,
    /// From the first build to the written report.
    pub elapsed: Duration,
}

/// `run`, then the GoKer section (unless `req.goker` is `None`; after the matrix, so it
/// cannot disturb the matrix's sampling), then the charts and the report: the whole matrix in
/// one call. The request's `no_score` is ignored (a report needs scores).
pub async fn run_all(
    ws: &Workspace,
    req: RunRequest,
    mp: &MultiProgress,
) -> anyhow::Result<RunAllOutcome> {
    let started = Instant::now();
    let goker = req.goker.clone();
    let req = RunRequest {
        no_score: false,
        ..req
    };
    let RunOutcome { recorded, scored } = run(ws, req, mp).await?;
    let Some(scored) = scored else {
        return Ok(RunAllOutcome {
            recorded,
            scored: None,
            report: None,
            goker: None,
            elapsed: started.elapsed(),
        });
    };
    let goker = match goker {
        Some(o) => Some(section::record(&ws.root, &ws.go, &recorded.dir, &o, mp).await?),
        None => None,
    };
    let generated = report::generate(&recorded.dir, mp)?;
    Ok(RunAllOutcome {
        recorded,
        scored: Some(scored),
        report: Some(generated),
        goker,
        elapsed: started.elapsed(),
    })
}

/// Redraws the charts and the report of a scored run directory.
pub fn plot(dir: &Path, mp: &MultiProgress) -> anyhow::Result<report::Generated> {
    let run = RunDir::open(dir)?;
    report::generate(run.path(), mp)
}

/// The lines that say what a recording did: how many repetitions went where, and which did
/// not complete and why.
pub fn recorded_lines(r: &RunReport) -> Vec<String> {
    let mut lines = vec![format!(
        "recorded {} repetitions into {}{}",
        r.ends.len(),
        r.dir.display(),
        if r.skipped > 0 {
            format!(" ({} already there)", r.skipped)
        } else {
            String::new()
        }
    )];
    let bad: Vec<String> = r
        .ends
        .iter()
        .filter(|(_, e)| e.status != EndStatus::Completed)
        .map(|(c, e)| format!("  {c}: {}: {}", e.status, e.reason))
        .collect();
    if !bad.is_empty() {
        lines.push(format!("not completed:\n{}", bad.join("\n")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect;

    fn ws() -> Workspace {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Workspace::load(Some(&root), "go".into()).unwrap()
    }

    #[tokio::test]
    async fn zero_reps_or_jobs_is_bad_input_before_anything_runs() {
        let mp = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        for req in [
            RunRequest {
                reps: 0,
                jobs: 1,
                out: Some(out.clone()),
                ..RunRequest::default()
            },
            RunRequest {
                jobs: 0,
                out: Some(out.clone()),
                ..RunRequest::default()
            },
        ] {
            let e = run(&ws(), req, &mp).await.unwrap_err();
            assert!(crate::bad_input::is_bad_input(&e), "{e}");
        }
        assert!(!out.exists(), "nothing may be written on bad input");
    }

    #[tokio::test]
    async fn a_bad_axis_is_bad_input_naming_the_flag_or_file_before_anything_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let not_go = tmp.path().join("go");
        std::fs::write(&not_go, "#!/bin/sh\necho hello\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_go, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = tmp.path().join("m.toml");
        std::fs::write(&file, "GOGC = [50]\n").unwrap();
        for (flags, file, want) in [
            (
                vec!["GOGC=abc".to_string()],
                None,
                "--matrix: key `GOGC`: `abc`",
            ),
            (
                vec!["colour=red".to_string()],
                None,
                "--matrix: key `colour`: not an axis",
            ),
            (
                vec![format!("go={}", not_go.display())],
                None,
                "--matrix: key `go`:",
            ),
            (
                vec!["GOGC=100".to_string()],
                Some(file.as_path()),
                "key `GOGC`: also given by --matrix",
            ),
        ] {
            let e = grid(&flags, file).unwrap_err().to_string();
            assert!(
                e.contains(want) && e.contains("(fix: ") && !e.contains('\n'),
                "{e}"
            );
        }
        let g = grid(&["GOMAXPROCS=1".into()], Some(&file)).unwrap();
        assert_eq!(g.axes().count(), 2);
        // Through `run`: nothing is written.
        let mp = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
        let out = tmp.path().join("run");
        let req = RunRequest {
            matrix: vec!["GOGC=abc".into()],
            out: Some(out.clone()),
            ..RunRequest::default()
        };
        let e = run(&ws(), req, &mp).await.unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn resuming_a_directory_that_is_not_a_run_names_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let e = resume_options(&ws(), tmp.path(), 1).unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e));
        assert!(e.to_string().contains("leakbench run"), "{e}");
    }

    #[test]
    fn resume_keeps_the_runs_own_matrix_and_probes() {
        // The committed replay run is a finished run directory with run.json.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/replay/run");
        let info = RunDir::new(&dir).load_info().unwrap();
        let opts = resume_options(&ws(), &dir, 7).unwrap();
        assert!(opts.resume);
        assert_eq!(opts.reps, info.reps);
        assert_eq!(opts.shard, info.shard);
        assert_eq!(opts.probes, info.probes);
        assert_eq!(opts.jobs, 7);
        let names: Vec<&str> = opts.scenarios.iter().map(|s| s.name.as_str()).collect();
        let want: Vec<&str> = info.scenarios.iter().map(String::as_str).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn scoring_a_directory_without_traces_is_bad_input() {
        let tmp = tempfile::tempdir().unwrap();
        let e = score(tmp.path(), &DetectorSet::registry()).unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e), "{e}");
    }

    #[test]
    fn named_detectors_resolve_and_unknown_ones_fail() {
        assert_eq!(
            detector_set(&[], None).unwrap().len(),
            detect::registry().len()
        );
        let first = detect::registry()[0].name.to_string();
        assert_eq!(
            detector_set(std::slice::from_ref(&first), None)
                .unwrap()
                .builtin[0]
                .name,
            first
        );
        assert!(detector_set(&["no-such-detector".into()], None).is_err());
    }
}
