//! `run-all`'s GoKer section: a small, fixed subset of `leakbench goker`, recorded into the run
//! directory's `goker/` (a GoKer output directory like any other: `leakbench goker --judge`
//! reads it) after the main matrix, and shown in the run's report beside the published
//! figures ([`crate::present::report::goker_section`]).
//!
//! **The subset** ([`subset`]): CI's (`leakbench goker --ci`: the first strict case of every
//! project and group, and every no-leak case) in test mode, 3 repetitions each; and the first
//! [`SERVICE_CASES`] repeatable strict GoKer kernels of it in service mode, shortened to
//! [`SERVICE`] so the section stays within its time budget (both modes are recorded at once).
//! The full set is `just goker` ([`FULL_SET_S`]).
//!
//! After the matrix, not beside it: measured beside six of the matrix's scenarios, a GoKer
//! subset left every repetition judged but raised their p99 sample gaps from 0.60–0.78 s to
//! 0.71–0.89 s (the limit is 1.0 s) and made five of six miss a sample (docs/goker.md). The
//! section adds 21–26 s to `run-all` (`run-all --reps 1 negative-batch-job` with and without
//! `--no-goker`, load average 2–10).
//!
//! A Go without the cases (older than 1.26, or without its source tree), or a helper that
//! cannot read them, does not fail `run-all`: the section writes one line saying why into
//! `goker/not-run.txt`, and the report shows that line.
//!
//! Owns the subset, its settings and `not-run.txt`. Must not judge or format: it strings
//! [`crate::goker::command`]'s stages together, as `leakbench goker` does.

use crate::bad_input::is_bad_input;
use crate::goker::cases::{self, Case, Discovery, Kind};
use crate::goker::command::{self, Recording, RunRecord};
use crate::goker::plan::{self, Mode, ModeSettings, Options};
use crate::goker::report;
use crate::run_dir::{RunDir, GOKER_NOT_RUN};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How long the full set took (`just goker`: every case, both modes, default repetitions,
/// 661 repetitions), measured on this machine: docs/goker.md, "Measured here".
pub const FULL_SET_S: f64 = 504.0;

/// GoKer kernels that also run in service mode: enough to show the growth detectors at work
/// beside the snapshot ones, few enough for the budget (each leaks up to about 1600 goroutines
/// a run, and every tick profiles them).
pub const SERVICE_CASES: usize = 3;

/// Repetitions of every case of the section (strict cases; the subset has no flaky ones).
pub const REPS: u32 = 3;

/// Fixtures recorded at once, per mode: every repetition of the subset at once.
pub const JOBS: usize = 32;

/// Service mode in the section: `leakbench goker`'s ([`plan::SERVICE`]) cut from 30 s to 20 s
/// (a 4 s baseline, then one run a second, 16 runs), so both modes recorded at once fit in the
/// section's 30 s. The growth detectors have 16 s of growth instead of 24 s: those with 10 s
/// windows see less than in the full set, and CUSUM calibrates on a shorter baseline.
pub const SERVICE: ModeSettings = ModeSettings {
    onset_s: 4.0,
    duration_s: 20.0,
    interval_s: 0.5,
    rate: 1.0,
    runs: 16,
};

/// What the section runs. [`Default`] is `run-all`'s; tests choose fewer cases.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionOptions {
    /// Cases or projects; empty: CI's subset.
    pub cases: Vec<String>,
    pub service_cases: usize,
    pub reps: u32,
    pub test: ModeSettings,
    pub service: ModeSettings,
    pub jobs: usize,
}

impl Default for SectionOptions {
    fn default() -> Self {
        SectionOptions {
            cases: Vec::new(),
            service_cases: SERVICE_CASES,
            reps: REPS,
            test: plan::TEST,
            service: SERVICE,
            jobs: JOBS,
        }
    }
}

/// What the section did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded, judged and reported into `dir`.
    Recorded {
        dir: PathBuf,
        reps: usize,
        elapsed_s: f64,
    },
    /// Already there (a resumed run): left as it was.
    Kept { dir: PathBuf },
    /// Not run, and why (the line in `not-run.txt`).
    NotRun(String),
    /// Ctrl-C stopped it; what was recorded is kept.
    Interrupted { dir: PathBuf },
}

/// The section's cases: those of test mode (every case selected) and of service mode (the
/// first `service_cases` repeatable strict GoKer kernels among them).
pub fn subset<'a>(
    d: &'a Discovery,
    o: &SectionOptions,
) -> Result<(Vec<&'a Case>, Vec<&'a Case>), String> {
    let test = plan::select(d, &o.cases, o.cases.is_empty())?;
    let service = test
        .iter()
        .filter(|c| c.kind() == Kind::Strict && c.kernel.is_some() && c.repeatable)
        .take(o.service_cases)
        .copied()
        .collect();
    Ok((test, service))
}

/// Records the section into `run_dir/goker/` with the Go `go`, from the repository at `root`.
/// Errors are only those of writing the run directory: anything about Go, the cases, building
/// or judging them becomes [`Outcome::NotRun`] with its first line.
pub async fn record(
    root: &Path,
    go: &Path,
    run_dir: &Path,
    o: &SectionOptions,
    mp: &indicatif::MultiProgress,
) -> anyhow::Result<Outcome> {
    let dir = RunDir::new(run_dir).goker_dir();
    if dir.join(report::REPORT_MD).exists() {
        return Ok(Outcome::Kept { dir });
    }
    if dir.exists() {
        // An interrupted section, or the line of one that could not run: start again.
        std::fs::remove_dir_all(&dir)
            .map_err(|e| crate::fsio::FsError::new("could not remove", &dir, e))?;
    }
    crate::fsio::create_dir_all(&dir)?;
    // Ctrl-C before the recording starts (wrapping, building) kills the `go` children of
    // this terminal and fails the step: that is an interruption, not a failed section.
    let (tx, stopped) = tokio::sync::watch::channel(false);
    let watch = crate::record::run::spawn_signal_watch(std::sync::Arc::new(tx));
    let result = record_into(root, go, &dir, o, mp).await;
    watch.abort();
    if *stopped.borrow() && !matches!(result, Ok(Outcome::Recorded { .. })) {
        return Ok(Outcome::Interrupted { dir });
    }
    match result {
        Ok(outcome) => Ok(outcome),
        // Writing the run directory failed: the run itself is in trouble, say so.
        Err(e) if e.downcast_ref::<crate::fsio::FsError>().is_some() => Err(e),
        // Anything else (no cases in this Go, a wrapped case that does not build, judging):
        // the section says why in one line and run-all goes on to its report.
        Err(e) => {
            let why = if is_setup_error(&e) {
                format!("GoKer section not run: {}", first_line(&e))
            } else {
                format!("GoKer section failed: {}", first_line(&e))
            };
            crate::fsio::write_atomic(&dir.join(GOKER_NOT_RUN), format!("{why}\n").as_bytes())?;
            Ok(Outcome::NotRun(why))
        }
    }
}

/// The first line of an error and its causes (`{:#}`), as the one line a section gets.
fn first_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Why the section could not start: bad input (no cases in this Go) or the helper failing.
/// Such errors are marked by [`SetupError`].
fn is_setup_error(e: &anyhow::Error) -> bool {
    e.downcast_ref::<SetupError>().is_some() || is_bad_input(e)
}

/// The cases could not be read or wrapped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SetupError(String);

async fn record_into(
    root: &Path,
    go: &Path,
    dir: &Path,
    o: &SectionOptions,
    mp: &indicatif::MultiProgress,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let (tc, goroot) = cases::locate(go)?;
    let module = cases::wrapped_module(&root.join(".cache"), &tc);
    let d = cases::discover(&tc, &goroot, &root.join("go-fixtures"), Some(&module))
        .map_err(|e| SetupError(format!("could not read and wrap Go's leak tests: {e}")))?;
    let (test, service) = subset(&d, o).map_err(SetupError)?;
    let options = Options {
        modes: Mode::ALL.to_vec(),
        strict_reps: o.reps,
        flaky_reps: o.reps,
        test: o.test,
        service: o.service,
    };
    let mut p = plan::plan(
        &test,
        &Options {
            modes: vec![Mode::Test],
            ..options.clone()
        },
    )?;
    let ps = plan::plan(
        &service,
        &Options {
            modes: vec![Mode::Service],
            ..options.clone()
        },
    )?;
    p.groups.extend(ps.groups);
    let mut rec = RunRecord {
        discovery: d.clone(),
        selected: test.iter().map(|c| c.name.clone()).collect(),
        options,
        jobs: o.jobs,
        not_repeatable: ps.not_repeatable,
        elapsed_s: None,
    };
    command::save_record(dir, &rec)?;
    crate::record::run::log(
        mp,
        &format!(
            "GoKer section: {} cases of {} in test mode, {} in service mode, {} repetitions each",
            test.len(),
            d.go_version,
            service.len(),
            o.reps
        ),
    );
    let r = Recording {
        out: dir.to_path_buf(),
        jobs: o.jobs,
        go: tc.go.clone(),
        module,
        cache_dir: root.join(".cache").join("fixtures"),
        at_once: true,
    };
    let (recorded, interrupted) = command::record_groups(&p.groups, &r, mp).await?;
    if interrupted {
        return Ok(Outcome::Interrupted {
            dir: dir.to_path_buf(),
        });
    }
    rec.elapsed_s = Some(started.elapsed().as_secs_f64());
    command::save_record(dir, &rec)?;
    command::judge_and_report(dir, &rec, recorded)?;
    Ok(Outcome::Recorded {
        dir: dir.to_path_buf(),
        reps: recorded,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// The line of a section that was not run, if it was not.
pub fn not_run(run_dir: &Path) -> Option<String> {
    let p = RunDir::new(run_dir).goker_dir().join(GOKER_NOT_RUN);
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goker::plan::tests::{case, discovery};

    #[test]
    fn the_subset_is_cis_with_a_few_repeatable_kernels_in_service_mode() {
        let mut micro = case("Micro1", "micro", Kind::Strict, true);
        micro.kernel = None;
        let d = discovery(vec![
            case("A1", "acme", Kind::Strict, false),
            case("A2", "acme", Kind::Strict, true),
            case("B1", "bolt", Kind::Strict, true),
            case("C1", "cask", Kind::Flaky, true),
            case("D1", "dune", Kind::Strict, true),
            case("E1", "echo", Kind::Strict, true),
            micro,
            case("G", "micro", Kind::NoLeak, true),
        ]);
        let (test, service) = subset(&d, &SectionOptions::default()).unwrap();
        let names = |v: &[&Case]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        // CI's subset: the first strict case per project (A1, not A2), no flaky case.
        assert_eq!(names(&test), ["A1", "B1", "D1", "E1", "G", "Micro1"]);
        // A1 cannot repeat, G leaks nothing, Micro1 is no kernel: the first three others.
        assert_eq!(names(&service), ["B1", "D1", "E1"]);
        let one = SectionOptions {
            cases: vec!["A2".into()],
            ..SectionOptions::default()
        };
        let (test, service) = subset(&d, &one).unwrap();
        assert_eq!(
            (names(&test), names(&service)),
            (vec!["A2".into()], vec!["A2".into()])
        );
    }

    #[test]
    fn the_section_fits_its_budget_on_paper() {
        // Both modes run at once; the longer one bounds the recording. 30 s is the section's
        // budget in all, so the recording must leave room for the wrap, start-up and judging.
        assert!(SERVICE.duration_s.max(plan::TEST.duration_s) <= 20.0);
        assert!(SERVICE.onset_s + f64::from(SERVICE.runs) / SERVICE.rate <= SERVICE.duration_s);
    }
}
