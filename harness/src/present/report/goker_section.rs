//! The report's GoKer section, from the run directory's `goker/` as `run-all` left it
//! ([`crate::goker::section`]): the subset's figures beside the published ones, every
//! goroutine detector over the subset, and the per-case table, in the words of `leakbench
//! goker`'s own report ([`crate::goker::report::blocks`], one level down), under a line on what
//! the subset is and what the full set took. A section that was not run gets its one line; a
//! run without `goker/` (a plain `run`, `run-all --no-goker`) gets nothing.
//!
//! Owns the section's opening words. Must not judge, add up or lay out the GoKer tables: it
//! reads the judged files back ([`crate::goker::command::Judged`]) and places `goker`'s blocks.

use super::doc::Doc;
use crate::goker::command::Judged;
use crate::goker::plan::Mode;
use crate::goker::{report, section};
use crate::run_dir::RunDir;
use anyhow::Context;
use std::path::Path;

/// The section's heading.
pub const HEADING: &str = "GoKer: Go's own goroutine leak tests (a subset)";

/// The section, or `None` when the run has no `goker/`.
pub fn section(run_dir: &Path) -> anyhow::Result<Option<Doc>> {
    let dir = RunDir::new(run_dir).goker_dir();
    if let Some(why) = section::not_run(run_dir) {
        let mut d = Doc::default();
        d.h(1, HEADING);
        d.p(why);
        return Ok(Some(d));
    }
    if !dir.join(report::REPORT_MD).exists() {
        return Ok(None);
    }
    let j = Judged::load(&dir)
        .with_context(|| format!("could not read the GoKer section in '{}'", dir.display()))?;
    let mut d = Doc::default();
    d.h(1, HEADING);
    let service: Vec<&str> = j
        .record
        .discovery
        .cases
        .iter()
        .filter(|c| {
            j.judgements
                .iter()
                .any(|x| x.mode == Mode::Service && x.case == c.name)
        })
        .map(|c| c.name.as_str())
        .collect();
    d.p(format!(
        "A small subset of `leakbench goker`, run after the matrix: {} of Go's {} leak test cases in \
         test mode ({}), {} of them also in service mode ({}), {} repetitions, in {}. The full set \
         (every case, both modes, default repetitions) is `just goker`; it took {:.0} s on the \
         2-core machine of docs/goker.md. The section's files are in [`goker/`](./{}/{}).",
        j.record.selected.len(),
        j.record.discovery.cases.len(),
        if j.record.selected.len() < j.record.discovery.cases.len() {
            "CI's subset: the first strict case of every project and group, and the no-leak cases"
        } else {
            "every case"
        },
        service.len(),
        if service.is_empty() {
            "none".to_string()
        } else {
            service.join(", ")
        },
        j.reps,
        j.record
            .elapsed_s
            .map_or("a time not recorded".into(), |s| format!("{s:.0} s")),
        section::FULL_SET_S,
        crate::run_dir::GOKER_DIR,
        report::REPORT_MD,
    ));
    d.blocks.extend(j.with_report(|r| report::blocks(r, 2)));
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_goker_dir_no_section_and_a_not_run_line_is_one_paragraph() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(section(tmp.path()).unwrap().is_none());
        let g = RunDir::new(tmp.path()).goker_dir();
        std::fs::create_dir_all(&g).unwrap();
        assert!(section(tmp.path()).unwrap().is_none(), "nothing judged yet");
        std::fs::write(
            g.join(crate::run_dir::GOKER_NOT_RUN),
            "GoKer section not run: no cases in go1.25\n",
        )
        .unwrap();
        let md = section(tmp.path()).unwrap().unwrap().markdown();
        let body: Vec<&str> = md
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(body, ["GoKer section not run: no cases in go1.25"], "{md}");
    }
}
