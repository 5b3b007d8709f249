//! The use case of `leakbench regress` ([`run`]): score a run directory's traces with every
//! registered detector (and, with [`run_with`], external ones), compare the scores with a
//! saved baseline and/or save them as one.
//!
//! Owns the order of those steps and the text to print. Must not parse flags or choose exit
//! codes (the CLI maps [`RegressOutcome::regressed`] to one); the rules are
//! [`super::compare()`]'s.

use super::{compare, render, Baseline, Comparison, Tolerance};
use crate::evaluate::detect::{DetectorSet, Params};
use crate::evaluate::replay;
use crate::{fsio, trace};
use anyhow::Context;
use std::path::Path;

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressOutcome {
    /// Repetitions scored.
    pub reps: usize,
    /// This run's scores, as a baseline (what `save` wrote, if given).
    pub current: Baseline,
    /// The comparison with the baseline, when one was given.
    pub comparison: Option<Comparison>,
    /// What to print on standard output: a line naming the run and the baseline, a blank
    /// line, then [`render()`]'s text. Empty without a baseline.
    pub text: String,
    /// Whether the comparison failed (`leakbench regress` exits 1). False without a baseline.
    pub regressed: bool,
    /// A note for standard error when the scores were saved: where, and how many cells.
    pub saved: Option<String>,
}

/// Scores every repetition of the run directory `dir`, compares the scores with the baseline
/// file `baseline` (if given) under `tol`, and writes them as a baseline to `save` (if
/// given, atomically).
///
/// Bad input (a directory without `traces/`, a tolerance no test can use, a baseline that
/// does not load) is a [`BadInput`] in the error chain, found before anything is scored.
pub fn run(
    dir: &Path,
    baseline: Option<&Path>,
    save: Option<&Path>,
    tol: &Tolerance,
) -> anyhow::Result<RegressOutcome> {
    run_with(dir, baseline, save, tol, &DetectorSet::registry())
}

/// [`run`] scoring with the detectors of `set` (`--detectors-file` adds external ones; their
/// cells, absent from a baseline saved without them, are counted, not failed).
pub fn run_with(
    dir: &Path,
    baseline: Option<&Path>,
    save: Option<&Path>,
    tol: &Tolerance,
    set: &DetectorSet,
) -> anyhow::Result<RegressOutcome> {
    crate::run_dir::RunDir::open_recorded(dir)?;
    tol.check()?;
    let base = baseline.map(Baseline::load).transpose()?;
    let traces = trace::load_run(dir)
        .with_context(|| format!("could not load the traces of '{}'", dir.display()))?;
    let rows = replay::score_set(&traces, set, &Params::default());
    let current = Baseline::from_rows(&rows, env!("CARGO_PKG_VERSION"));
    let (comparison, text) = match (&base, baseline) {
        (Some(base), Some(path)) => {
            let cmp = compare(base, &current, tol);
            let saved_by = if base.harness_version != current.harness_version {
                format!(" (saved by leakbench {})", base.harness_version)
            } else {
                String::new()
            };
            let text = format!(
                "{} ({} repetitions) against baseline {}{saved_by}\n\n{}",
                dir.display(),
                traces.len(),
                path.display(),
                render(&cmp)
            );
            (Some(cmp), text)
        }
        _ => (None, String::new()),
    };
    let saved = match save {
        Some(path) => {
            fsio::write_atomic(path, &current.to_bytes())?;
            Some(format!(
                "saved the baseline of {} ({} scenario × detector cells) to {}",
                dir.display(),
                current.cells.len(),
                path.display()
            ))
        }
        None => None,
    };
    Ok(RegressOutcome {
        reps: traces.len(),
        regressed: comparison.as_ref().is_some_and(Comparison::regressed),
        current,
        comparison,
        text,
        saved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bad_input::is_bad_input;
    use std::path::PathBuf;

    fn replay_run() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/replay/run")
    }

    fn committed() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines/replay.json")
    }

    /// The committed traces against the committed baseline: nothing is worse, every cell is
    /// compared, and the saved scores are the committed baseline's, byte for byte.
    #[test]
    fn the_replay_run_passes_its_committed_baseline_and_saves_it_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let saved = tmp.path().join("saved.json");
        let base = Baseline::load(&committed()).unwrap();
        let out = run(
            &replay_run(),
            Some(&committed()),
            Some(&saved),
            &Tolerance::default(),
        )
        .unwrap();
        assert!(!out.regressed, "{}", out.text);
        let cmp = out.comparison.as_ref().unwrap();
        assert_eq!(cmp.compared, base.cells.len());
        assert!(cmp.changes.is_empty(), "{}", out.text);
        assert!(
            out.text.starts_with(&format!(
                "{} ({} repetitions) against baseline {}\n\n",
                replay_run().display(),
                out.reps,
                committed().display()
            )) && out
                .text
                .ends_with("OK: nothing is worse than the baseline\n"),
            "{}",
            out.text
        );
        assert_eq!(out.current.cells, base.cells);
        // Byte for byte, but for the version of the harness that saved it.
        let expected = std::fs::read_to_string(committed()).unwrap().replace(
            &format!("\"harness_version\": \"{}\"", base.harness_version),
            &format!("\"harness_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        );
        assert!(
            std::fs::read_to_string(&saved).unwrap() == expected,
            "--save-baseline no longer writes the committed baseline's bytes"
        );
        assert!(
            out.saved.as_deref().unwrap().ends_with(&format!(
                "({} scenario × detector cells) to {}",
                base.cells.len(),
                saved.display()
            )),
            "{:?}",
            out.saved
        );
    }

    #[test]
    fn bad_input_is_refused_before_scoring() {
        let tmp = tempfile::tempdir().unwrap();
        let tol = Tolerance::default();
        let e = run(tmp.path(), None, None, &tol).unwrap_err();
        assert!(
            is_bad_input(&e) && e.to_string().contains("no traces/ there"),
            "{e}"
        );
        let strict = Tolerance { alpha: 0.0, ..tol };
        let e = run(&replay_run(), None, None, &strict).unwrap_err();
        assert!(is_bad_input(&e) && e.to_string().contains("--alpha"), "{e}");
        let missing = tmp.path().join("none.json");
        let e = run(&replay_run(), Some(&missing), None, &tol).unwrap_err();
        assert!(
            is_bad_input(&e) && e.to_string().contains("none.json"),
            "{e}"
        );
    }
}
