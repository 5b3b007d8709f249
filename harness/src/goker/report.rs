//! The GoKer section: a Markdown report of the judgements and figures ([`markdown`], from the
//! same [`blocks`] that `run-all`'s report carries as its GoKer section), the judgements as CSV
//! ([`csv`], read back by [`parse_csv`]) and the figures as JSON, written into the GoKer output
//! directory by [`write`].
//!
//! Owns these formats. Must not judge or add up (it takes [`Judgement`]s and [`Row`]s).

use crate::fsio;
use crate::goker::cases::{Case, Discovery, Kind};
use crate::goker::judge::{Judgement, Verdict};
use crate::goker::plan::{Mode, ModeSettings, Options};
use crate::goker::reference::{self, SetDifference};
use crate::goker::tally::{Row, Scope};
use crate::present::report::doc::{Block, Doc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Everything the section reports.
pub struct Report<'a> {
    pub discovery: &'a Discovery,
    /// The cases run.
    pub cases: &'a [&'a Case],
    pub options: &'a Options,
    pub judgements: &'a [Judgement],
    pub rows: &'a [Row],
    /// Case → why it did not run in service mode.
    pub not_repeatable: &'a [(String, String)],
    /// Detectors, in report order.
    pub detectors: &'a [String],
    /// Repetitions recorded and the wall time they took, seconds (unknown for a run that
    /// was interrupted and judged later).
    pub reps: usize,
    pub elapsed_s: Option<f64>,
    pub jobs: usize,
}

/// The files [`write`] produces.
pub const SCORES_CSV: &str = "goker-scores.csv";
pub const SUMMARY_JSON: &str = "goker-summary.json";
pub const REPORT_MD: &str = "goker.md";

/// Writes the CSV, the JSON summary and the Markdown report into `out`.
pub fn write(out: &Path, r: &Report) -> anyhow::Result<Vec<PathBuf>> {
    let files = [
        (out.join(SCORES_CSV), csv(r.judgements)?),
        (out.join(SUMMARY_JSON), summary_json(r)?),
        (out.join(REPORT_MD), markdown(r).into_bytes()),
    ];
    let mut written = Vec::new();
    for (p, bytes) in files {
        fsio::write_atomic(&p, &bytes)?;
        written.push(p);
    }
    Ok(written)
}

/// One row per case × mode × repetition × detector.
pub fn csv(js: &[Judgement]) -> anyhow::Result<Vec<u8>> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "case",
        "project",
        "kind",
        "mode",
        "rep",
        "detector",
        "verdict",
        "onset_s",
        "alarm_s",
        "latency_s",
        "localized",
        "matched",
        "blamed",
        "note",
    ])?;
    let num = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_default();
    for j in js {
        w.write_record([
            j.case.as_str(),
            &j.project,
            j.kind.as_str(),
            j.mode.as_str(),
            &j.rep.to_string(),
            &j.detector,
            j.verdict.as_str(),
            &num(j.onset_s),
            &num(j.alarm_s),
            &num(j.latency_s),
            &j.localized.map(|b| b.to_string()).unwrap_or_default(),
            j.matched.as_deref().unwrap_or(""),
            &j.blamed.join("; "),
            &j.note,
        ])?;
    }
    Ok(w.into_inner()?)
}

/// The judgements of a `goker-scores.csv` written by [`csv`] (the goroutines blamed come back
/// as they were joined, one string, since the report counts verdicts only).
pub fn parse_csv(text: &str) -> anyhow::Result<Vec<Judgement>> {
    let mut r = ::csv::Reader::from_reader(text.as_bytes());
    let head = r.headers()?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("no `{name}` column"))
    };
    let (case, project, kind, mode, rep) = (
        col("case")?,
        col("project")?,
        col("kind")?,
        col("mode")?,
        col("rep")?,
    );
    let (detector, verdict, onset, alarm, latency) = (
        col("detector")?,
        col("verdict")?,
        col("onset_s")?,
        col("alarm_s")?,
        col("latency_s")?,
    );
    let (localized, matched, blamed, note) = (
        col("localized")?,
        col("matched")?,
        col("blamed")?,
        col("note")?,
    );
    let num = |s: &str| -> anyhow::Result<Option<f64>> {
        Ok(if s.is_empty() { None } else { Some(s.parse()?) })
    };
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec?;
        let line = || format!("row {}", i + 2);
        let kind_s = &rec[kind];
        let verdict_s = &rec[verdict];
        out.push(Judgement {
            case: rec[case].to_string(),
            project: rec[project].to_string(),
            kind: [Kind::Strict, Kind::Flaky, Kind::NoLeak]
                .into_iter()
                .find(|k| k.as_str() == kind_s)
                .ok_or_else(|| anyhow::anyhow!("{}: kind `{kind_s}`", line()))?,
            mode: rec[mode]
                .parse()
                .map_err(|e: String| anyhow::anyhow!("{}: {e}", line()))?,
            rep: rec[rep].parse()?,
            detector: rec[detector].to_string(),
            verdict: [
                Verdict::Hit,
                Verdict::FalseAlarm,
                Verdict::Miss,
                Verdict::Silent,
                Verdict::NotJudged,
            ]
            .into_iter()
            .find(|v| v.as_str() == verdict_s)
            .ok_or_else(|| anyhow::anyhow!("{}: verdict `{verdict_s}`", line()))?,
            onset_s: num(&rec[onset])?,
            alarm_s: num(&rec[alarm])?,
            latency_s: num(&rec[latency])?,
            blamed: if rec[blamed].is_empty() {
                vec![]
            } else {
                vec![rec[blamed].to_string()]
            },
            matched: Some(rec[matched].to_string()).filter(|m| !m.is_empty()),
            localized: match &rec[localized] {
                "" => None,
                b => Some(b == "true"),
            },
            note: rec[note].to_string(),
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    go_version: &'a str,
    options: &'a Options,
    repetitions: usize,
    elapsed_s: Option<f64>,
    jobs: usize,
    not_repeatable: BTreeMap<&'a str, &'a str>,
    rows: &'a [Row],
}

fn summary_json(r: &Report) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec_pretty(&SummaryJson {
        go_version: &r.discovery.go_version,
        options: r.options,
        repetitions: r.reps,
        elapsed_s: r.elapsed_s,
        jobs: r.jobs,
        not_repeatable: r
            .not_repeatable
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect(),
        rows: r.rows,
    })?)
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn secs(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1} s")).unwrap_or_else(|| "–".into())
}

/// A table cell on one line (the table writer escapes `|` itself).
fn cell(s: &str) -> String {
    s.replace('\n', " ")
}

fn describe_mode(m: Mode, s: &ModeSettings) -> String {
    match m {
        Mode::Test => format!(
            "test mode: the case runs once, {:.0} s after start-up, and is watched for {:.0} s in all (a sample every {} s)",
            s.onset_s, s.duration_s, s.interval_s
        ),
        Mode::Service => format!(
            "service mode: the case starts {:.0} s after start-up and again at {} run/s, {} runs in all, watched for {:.0} s (a sample every {} s)",
            s.onset_s, s.rate, s.runs, s.duration_s, s.interval_s
        ),
    }
}

/// The report's title, as `goker.md` opens.
pub const TITLE: &str = "GoKer: Go's own goroutine leak tests";

/// The report (see the module doc): [`blocks`] under [`TITLE`].
pub fn markdown(r: &Report) -> String {
    Doc {
        title: TITLE.into(),
        root: String::new(),
        blocks: blocks(r, 1),
    }
    .markdown()
}

/// The report's blocks, its headings at level `top` (1 in `goker.md`; deeper when the report
/// is a section of another page, as in `run-all`'s report), so one text serves both.
pub fn blocks(r: &Report, top: u8) -> Vec<Block> {
    let d = r.discovery;
    let mut o = Doc::default();
    let count = |k: Kind| r.cases.iter().filter(|c| c.kind() == k).count();
    let kernels: Vec<&&Case> = r.cases.iter().filter(|c| c.kernel.is_some()).collect();
    let mut projects: Vec<&str> = kernels.iter().map(|c| c.project.as_str()).collect();
    projects.sort();
    projects.dedup();
    o.p(format!(
        "Cases and expected leaks read at run time from `{}` and `{}` ({}). {} cases run: {} strict \
         (of which {} must report no leak), {} flaky; {} are GoKer kernels (real blocking bugs from \
         GoBench, {} projects: {}).",
        d.test_file,
        d.programs,
        d.go_version,
        r.cases.len(),
        count(Kind::Strict) + count(Kind::NoLeak),
        count(Kind::NoLeak),
        count(Kind::Flaky),
        kernels.len(),
        projects.len(),
        projects.join(", ")
    ));
    let mut settings: Vec<String> = r
        .options
        .modes
        .iter()
        .map(|m| format!("{};", describe_mode(*m, &r.options.settings(*m))))
        .collect();
    settings.push(format!(
        "strict and no-leak cases {} repetitions, flaky ones {}; {} repetitions recorded {}, {} at once.",
        r.options.strict_reps,
        r.options.flaky_reps,
        r.reps,
        r.elapsed_s.map_or("(time not recorded)".into(), |s| format!(
            "in {s:.0} s from the wrap to the last repetition"
        )),
        r.jobs
    ));
    o.list(settings);
    o.p(
        "A detection is right when a goroutine it blames matches one of the case's expected regexes \
         (over `<function>(<args>) [<wait reason>]`, as Go's test reads its profile; strict or flaky \
         list); an alarm that blames only other goroutines, an alarm before the case started and \
         any alarm on a no-leak case are false alarms. Detectors that watch a count blame no \
         goroutine: their alarms after the start of a leaking case count as hits. **Case recall** \
         counts a case caught if any repetition caught it (as GoBench counts a bug found); \
         **rep. recall** is over the repetitions of strict cases; **precision** is over all alarms.",
    );

    // Beside the published figures.
    let get = |det: &str, mode: Mode, scope: &Scope| {
        r.rows
            .iter()
            .find(|x| x.detector == det && x.mode == mode && &x.scope == scope)
    };
    o.h(top, "Beside the published figures");
    let gobench = reference::GOBENCH_GOKER_BLOCKING.len();
    let mut rows = Vec::new();
    for p in reference::PUBLISHED {
        let published = format!(
            "{}: recall {}{} ({})",
            p.what,
            pct(Some(p.recall)),
            p.precision
                .map(|x| format!(", precision {}", pct(Some(x))))
                .unwrap_or_default(),
            p.source
        );
        let ours = |m: Mode| match get(p.detector, m, &Scope::Kernels) {
            Some(x) => (
                format!(
                    "{}/{} judged ({}); {}/{gobench} of GoBench's ({})",
                    x.figures.caught_cases,
                    x.figures.leaking_cases,
                    pct(x.figures.case_recall()),
                    x.figures.caught_cases,
                    pct(Some(x.figures.caught_cases as f64 / gobench as f64))
                ),
                pct(x.figures.precision()),
            ),
            None => ("not run".into(), "–".into()),
        };
        let (t, tp) = ours(Mode::Test);
        let (s, sp) = ours(Mode::Service);
        rows.push(vec![p.detector.to_string(), cell(&published), t, tp, s, sp]);
    }
    o.table(
        &[
            "detector",
            "published",
            "ours: GoKer kernels caught, test mode",
            "precision",
            "ours: service mode",
            "precision",
        ],
        &[],
        rows,
    );
    let diff = reference::compare(d);
    o.p(format!(
        "\"Judged\": kernels with at least one repetition where the detector had its data after \
         the case started; \"of GoBench's\": over all {gobench} of GoBench's bugs, those not run or \
         not judged counted as not found, as GoBench counts."
    ));
    o.p(set_difference(&diff));

    // Every goroutine detector, overall.
    o.h(top, "Every goroutine detector, all cases");
    let mut rows = Vec::new();
    for det in r.detectors {
        for m in &r.options.modes {
            if let Some(x) = get(det, *m, &Scope::All) {
                let f = &x.figures;
                rows.push(vec![
                    det.clone(),
                    m.to_string(),
                    format!(
                        "{}/{} ({})",
                        f.caught_cases,
                        f.leaking_cases,
                        pct(f.case_recall())
                    ),
                    format!(
                        "{}/{} ({})",
                        f.strict_hits,
                        f.strict_reps,
                        pct(f.rep_recall())
                    ),
                    pct(f.precision()),
                    f.hits.to_string(),
                    f.false_alarms.to_string(),
                    format!("{}/{}", f.no_leak_alarms, f.no_leak_reps),
                    f.not_judged.to_string(),
                    secs(f.median_latency_s),
                ]);
            }
        }
    }
    o.table(
        &[
            "detector",
            "mode",
            "case recall",
            "rep. recall (strict)",
            "precision",
            "hits",
            "false alarms",
            "alarms on no-leak cases",
            "not judged",
            "median latency",
        ],
        &[],
        rows,
    );

    // Per project.
    let mut all_projects: Vec<&str> = r.cases.iter().map(|c| c.project.as_str()).collect();
    all_projects.sort();
    all_projects.dedup();
    let mut head = vec!["project"];
    head.extend(r.detectors.iter().map(String::as_str));
    for m in &r.options.modes {
        o.h(
            top,
            format!("Per project, {m} mode (case recall · precision · median latency)"),
        );
        let rows = all_projects
            .iter()
            .map(|p| {
                let mut row = vec![p.to_string()];
                row.extend(r.detectors.iter().map(|det| {
                    match get(det, *m, &Scope::Project(p.to_string())) {
                        Some(x) if x.figures.leaking_cases + x.figures.no_leak_reps > 0 => {
                            format!(
                                "{}/{} · {} · {}",
                                x.figures.caught_cases,
                                x.figures.leaking_cases,
                                pct(x.figures.precision()),
                                secs(x.figures.median_latency_s)
                            )
                        }
                        _ => "–".into(),
                    }
                }));
                row
            })
            .collect();
        o.table(&head, &[], rows);
    }

    if !r.not_repeatable.is_empty() {
        o.h(top, "Not run in service mode");
        o.list(
            r.not_repeatable
                .iter()
                .map(|(c, why)| format!("{c}: {why}."))
                .collect(),
        );
    }

    let not_judged = not_judged(r.judgements);
    if !not_judged.is_empty() {
        o.h(top, "Not judged");
        o.p(
            "Repetitions where a detector never got its data after the case started (the \
             case kept the program too busy to answer the probe in time), or that left no usable trace:",
        );
        o.list(not_judged);
    }

    // Per case.
    o.h(top, "Per case");
    o.p("Each cell: hits / repetitions judged, test mode (T) and service mode (S); ✗N marks N false alarms.");
    let mut by_cell: BTreeMap<(&str, &str, Mode), Vec<&Judgement>> = BTreeMap::new();
    for j in r.judgements {
        by_cell
            .entry((j.case.as_str(), j.detector.as_str(), j.mode))
            .or_default()
            .push(j);
    }
    let mut rows = Vec::new();
    for c in r.cases {
        let leaks: Vec<String> = c
            .expected
            .iter()
            .map(|x| format!("`{x}`"))
            .chain(c.flaky_leaks.iter().map(|x| format!("`{x}` (flaky)")))
            .collect();
        let mut row = vec![
            c.name.clone(),
            c.kernel.clone().unwrap_or_else(|| c.project.clone()),
            c.kind().to_string(),
            if leaks.is_empty() {
                "none".to_string()
            } else {
                cell(&leaks.join("; "))
            },
        ];
        row.extend(r.detectors.iter().map(|det| {
            let parts: Vec<String> = r
                .options
                .modes
                .iter()
                .filter_map(|m| {
                    let js = by_cell.get(&(c.name.as_str(), det.as_str(), *m))?;
                    let judged = js
                        .iter()
                        .filter(|j| j.verdict != Verdict::NotJudged)
                        .count();
                    let hits = js.iter().filter(|j| j.verdict == Verdict::Hit).count();
                    let fa = js
                        .iter()
                        .filter(|j| j.verdict == Verdict::FalseAlarm)
                        .count();
                    let tag = if *m == Mode::Test { "T" } else { "S" };
                    Some(format!(
                        "{tag} {hits}/{judged}{}",
                        if fa > 0 {
                            format!(" ✗{fa}")
                        } else {
                            String::new()
                        }
                    ))
                })
                .collect();
            if parts.is_empty() {
                "–".into()
            } else {
                parts.join(" · ")
            }
        }));
        rows.push(row);
    }
    let mut head = vec!["case", "project", "kind", "expected leaks"];
    head.extend(r.detectors.iter().map(String::as_str));
    o.table(&head, &[], rows);
    o.blocks
}

/// One line per case × mode with repetitions not judged: how many, by which detectors.
fn not_judged(js: &[Judgement]) -> Vec<String> {
    let mut by: BTreeMap<(&str, Mode), BTreeMap<&str, usize>> = BTreeMap::new();
    for j in js.iter().filter(|j| j.verdict == Verdict::NotJudged) {
        *by.entry((j.case.as_str(), j.mode))
            .or_default()
            .entry(j.detector.as_str())
            .or_default() += 1;
    }
    by.into_iter()
        .map(|((case, mode), dets)| {
            let parts: Vec<String> = dets.iter().map(|(d, n)| format!("{d} {n}")).collect();
            format!("{case}, {mode} mode: {}", parts.join(", "))
        })
        .collect()
}

/// Where Go's set differs from GoBench's, in a paragraph.
pub fn set_difference(s: &SetDifference) -> String {
    let mut o = format!(
        "Our set beside GoBench's: GoBench lists {} GoKer blocking bugs ({}); Go ships and tests {} of them.",
        reference::GOBENCH_GOKER_BLOCKING.len(),
        reference::GOBENCH_LIST_SOURCE,
        s.present.len()
    );
    if !s.untested.is_empty() {
        let _ = write!(
            o,
            " Shipped but not in Go's test, so without an expected answer and not run here: {}.",
            s.untested.join(", ")
        );
    }
    if !s.absent.is_empty() {
        let _ = write!(o, " Not shipped with Go: {}.", s.absent.join(", "));
    }
    let _ = write!(
        o,
        " GoBench's figure counts all {} bugs; ours count the kernels run.",
        reference::GOBENCH_GOKER_BLOCKING.len()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goker::plan::tests::{case, discovery};
    use crate::goker::plan::{SERVICE, TEST};
    use crate::goker::tally::{self, tests::j};

    #[test]
    fn report_has_the_published_figures_the_difference_and_every_case() {
        let a = case("Acme1", "acme", Kind::Strict, true);
        let mut g = case("NoLeakGlobal", "micro", Kind::NoLeak, false);
        g.kernel = None;
        let d = discovery(vec![a.clone(), g.clone()]);
        let cases = vec![&d.cases[0], &d.cases[1]];
        let mut js = vec![
            j("Acme1", Kind::Strict, 0, Verdict::Hit, Some(1.5)),
            j("NoLeakGlobal", Kind::NoLeak, 0, Verdict::FalseAlarm, None),
        ];
        for x in &mut js {
            x.detector = "goroutineleak-profile".into();
        }
        let kernels = ["Acme1".to_string()].into();
        let rows = tally::summarize(&js, &kernels);
        let opts = Options {
            modes: vec![Mode::Test],
            strict_reps: 3,
            flaky_reps: 5,
            test: TEST,
            service: SERVICE,
        };
        let dets = vec!["goroutineleak-profile".to_string()];
        let nr = vec![("NoLeakGlobal".to_string(), "reads ch".to_string())];
        let r = Report {
            discovery: &d,
            cases: &cases,
            options: &opts,
            judgements: &js,
            rows: &rows,
            not_repeatable: &nr,
            detectors: &dets,
            reps: 2,
            elapsed_s: Some(12.0),
            jobs: 4,
        };
        let md = markdown(&r);
        assert!(md.contains("| goroutineleak-profile | about 94%"), "{md}");
        assert!(
            md.contains("| 1/1 judged (100.0%); 1/68 of GoBench's (1.5%) | 100.0% | not run |"),
            "{md}"
        );
        assert!(md.contains("Go ships and tests 0 of them"), "{md}");
        assert!(
            md.contains(
                "| Acme1 | acme_1 | strict | `Acme1\\.func1\\(.* \\[chan send\\]` | T 1/1 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| NoLeakGlobal | micro | no-leak | none | T 0/1 ✗1 |"),
            "{md}"
        );
        assert!(md.contains("- NoLeakGlobal: reads ch."), "{md}");
        let csv = String::from_utf8(csv(&js).unwrap()).unwrap();
        // Read back, the judgements count as they did.
        let back = parse_csv(&csv).unwrap();
        assert_eq!(back.len(), js.len());
        for (a, b) in back.iter().zip(&js) {
            assert_eq!(
                (
                    &a.case,
                    a.kind,
                    a.mode,
                    a.rep,
                    &a.detector,
                    a.verdict,
                    a.latency_s
                ),
                (
                    &b.case,
                    b.kind,
                    b.mode,
                    b.rep,
                    &b.detector,
                    b.verdict,
                    b.latency_s
                )
            );
        }
        assert_eq!(csv.lines().count(), 3);
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("Acme1,acme,strict,test,0,goroutineleak-profile,hit,1.000,2.500,1.500"));
    }
}
