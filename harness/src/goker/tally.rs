//! The figures: per detector and mode, over one case, one project, the GoKer kernels or
//! every case — recall, precision and latency, from [`Judgement`]s.
//!
//! - **case recall**: leaking cases (strict or flaky) caught in at least one repetition, over
//!   the leaking cases judged. This is how GoBench counts a bug found, and the figure set beside
//!   the published ones;
//! - **repetition recall**: hits over judged repetitions of strict cases (their leak happens
//!   every time; a flaky case's may not, so its misses are not held against a detector);
//! - **precision**: hits over alarms judged (hits and false alarms), every case included, so
//!   alarms on no-leak cases count against it;
//! - **median latency**: alarm − start of the case, over hits.
//!
//! Must not judge (that is [`crate::goker::judge`]) nor format.

use crate::goker::cases::Kind;
use crate::goker::judge::{Judgement, Verdict};
use crate::goker::plan::Mode;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What a set of judgements adds up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Leaking cases with at least one judged repetition.
    pub leaking_cases: usize,
    /// Of those, caught in at least one repetition.
    pub caught_cases: usize,
    pub strict_reps: usize,
    pub strict_hits: usize,
    pub hits: usize,
    pub false_alarms: usize,
    /// Repetitions of no-leak cases, and those with a false alarm.
    pub no_leak_reps: usize,
    pub no_leak_alarms: usize,
    pub not_judged: usize,
    pub median_latency_s: Option<f64>,
}

impl Figures {
    pub fn case_recall(&self) -> Option<f64> {
        ratio(self.caught_cases, self.leaking_cases)
    }

    pub fn rep_recall(&self) -> Option<f64> {
        ratio(self.strict_hits, self.strict_reps)
    }

    pub fn precision(&self) -> Option<f64> {
        ratio(self.hits, self.hits + self.false_alarms)
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Adds up judgements (of one detector and mode, typically).
pub fn figures<'a>(js: impl IntoIterator<Item = &'a Judgement>) -> Figures {
    let mut f = Figures::default();
    let mut leaking: BTreeSet<&str> = BTreeSet::new();
    let mut caught: BTreeSet<&str> = BTreeSet::new();
    let mut latencies = Vec::new();
    for j in js {
        if j.verdict == Verdict::NotJudged {
            f.not_judged += 1;
            continue;
        }
        match j.kind {
            Kind::NoLeak => {
                f.no_leak_reps += 1;
                f.no_leak_alarms += usize::from(j.verdict == Verdict::FalseAlarm);
            }
            Kind::Strict | Kind::Flaky => {
                leaking.insert(&j.case);
                if j.kind == Kind::Strict {
                    f.strict_reps += 1;
                    f.strict_hits += usize::from(j.verdict == Verdict::Hit);
                }
            }
        }
        match j.verdict {
            Verdict::Hit => {
                f.hits += 1;
                caught.insert(&j.case);
                latencies.extend(j.latency_s);
            }
            Verdict::FalseAlarm => f.false_alarms += 1,
            _ => {}
        }
    }
    f.leaking_cases = leaking.len();
    f.caught_cases = caught.len();
    f.median_latency_s = crate::stats::median(&latencies);
    f
}

/// What a set of figures covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "scope", content = "name", rename_all = "kebab-case")]
pub enum Scope {
    /// Every case run.
    All,
    /// The GoKer kernels (cases with a GoBench id), comparable with GoBench's figures.
    Kernels,
    Project(String),
    Case(String),
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub detector: String,
    pub mode: Mode,
    #[serde(flatten)]
    pub scope: Scope,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Figures for every detector × mode × scope present in `js`. `kernels` names the cases that
/// are GoKer kernels.
pub fn summarize(js: &[Judgement], kernels: &BTreeSet<String>) -> Vec<Row> {
    let mut by: BTreeMap<(String, Mode, Scope), Vec<&Judgement>> = BTreeMap::new();
    for j in js {
        let mut scopes = vec![
            Scope::All,
            Scope::Project(j.project.clone()),
            Scope::Case(j.case.clone()),
        ];
        if kernels.contains(&j.case) {
            scopes.push(Scope::Kernels);
        }
        for s in scopes {
            by.entry((j.detector.clone(), j.mode, s))
                .or_default()
                .push(j);
        }
    }
    by.into_iter()
        .map(|((detector, mode, scope), js)| Row {
            detector,
            mode,
            scope,
            figures: figures(js),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn j(
        case: &str,
        kind: Kind,
        rep: u32,
        v: Verdict,
        latency: Option<f64>,
    ) -> Judgement {
        Judgement {
            case: case.into(),
            project: "acme".into(),
            kind,
            mode: Mode::Test,
            rep,
            detector: "d".into(),
            verdict: v,
            onset_s: Some(1.0),
            alarm_s: latency.map(|l| 1.0 + l),
            latency_s: latency,
            blamed: vec![],
            matched: None,
            localized: None,
            note: String::new(),
        }
    }

    #[test]
    fn recall_precision_and_latency() {
        let js = vec![
            j("A", Kind::Strict, 0, Verdict::Hit, Some(1.0)),
            j("A", Kind::Strict, 1, Verdict::Miss, None),
            j("A", Kind::Strict, 2, Verdict::Hit, Some(3.0)),
            j("B", Kind::Flaky, 0, Verdict::Miss, None),
            j("B", Kind::Flaky, 1, Verdict::FalseAlarm, Some(0.5)),
            j("C", Kind::Flaky, 0, Verdict::Hit, Some(2.0)),
            j("G", Kind::NoLeak, 0, Verdict::FalseAlarm, None),
            j("G", Kind::NoLeak, 1, Verdict::Silent, None),
            j("G", Kind::NoLeak, 2, Verdict::NotJudged, None),
        ];
        let f = figures(&js);
        assert_eq!((f.leaking_cases, f.caught_cases), (3, 2));
        assert_eq!(f.case_recall(), Some(2.0 / 3.0));
        assert_eq!((f.strict_reps, f.strict_hits), (3, 2));
        assert_eq!((f.hits, f.false_alarms), (3, 2));
        assert_eq!(f.precision(), Some(0.6));
        assert_eq!((f.no_leak_reps, f.no_leak_alarms, f.not_judged), (2, 1, 1));
        assert_eq!(f.median_latency_s, Some(2.0));
        assert_eq!(figures(&[]).precision(), None);
    }

    #[test]
    fn summary_has_every_scope() {
        let js = vec![
            j("A", Kind::Strict, 0, Verdict::Hit, Some(1.0)),
            j("G", Kind::NoLeak, 0, Verdict::Silent, None),
        ];
        let kernels: BTreeSet<String> = ["A".to_string()].into();
        let rows = summarize(&js, &kernels);
        let scopes: Vec<&Scope> = rows.iter().map(|r| &r.scope).collect();
        assert_eq!(
            scopes,
            vec![
                &Scope::All,
                &Scope::Kernels,
                &Scope::Project("acme".into()),
                &Scope::Case("A".into()),
                &Scope::Case("G".into()),
            ]
        );
        assert_eq!(rows[1].figures.leaking_cases, 1);
        assert_eq!(rows[0].figures.no_leak_reps, 1);
    }
}
