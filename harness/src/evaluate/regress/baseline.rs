//! The saved score set (`baselines/*.json`): its format ([`Baseline`], [`BASELINE_FORMAT`]),
//! building one from score rows ([`Baseline::from_rows`]), its bytes ([`Baseline::to_bytes`])
//! and reading one back with one-line errors ([`Baseline::load`]).
//!
//! Owns the file format only. Must not compare (that is [`super::compare()`]) nor write files:
//! it returns bytes, and the caller writes them.

use crate::axes::AxisValues;
use crate::bad_input::BadInput;
use crate::evaluate::score::{Outcome, ScoreRow};
use crate::fsio;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Bumped when the baseline layout changes incompatibly.
pub const BASELINE_FORMAT: u32 = 1;

/// One repetition's result, as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepResult {
    pub rep: u32,
    /// Saved as `TP`, `FN`, `FP`, `TN` or `NA` (see [`crate::evaluate::score`]).
    pub outcome: Outcome,
    /// First alarm − onset, seconds, TPs only (3 decimals, as in `scores.csv`).
    pub latency_s: Option<f64>,
    /// Whether the blamed site matched, TPs only.
    pub site_ok: Option<bool>,
}

/// One cell (scenario × matrix point) × detector, every repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineCell {
    pub scenario: String,
    /// The matrix point of a run that sweeps axes; absent (empty) otherwise, so a baseline of
    /// a run without axes is as it was.
    #[serde(default, skip_serializing_if = "AxisValues::is_empty")]
    pub axes: AxisValues,
    pub detector: String,
    pub leaking: bool,
    pub reps: Vec<RepResult>,
}

/// A saved score set (`baselines/*.json`): what a run's detectors did, per cell and
/// repetition. Cells are sorted by scenario, then detector; repetitions by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_FORMAT`].
    pub format: u32,
    pub harness_version: String,
    /// The detectors scored, sorted.
    pub detectors: Vec<String>,
    pub cells: Vec<BaselineCell>,
}

impl BaselineCell {
    /// The cell's name: `scenario`, or `scenario@GOGC=50` at a matrix point. Cells are
    /// compared by it (and the detector), so one point's baseline never judges another's.
    pub fn label(&self) -> String {
        if self.axes.is_empty() {
            self.scenario.clone()
        } else {
            format!("{}@{}", self.scenario, self.axes)
        }
    }
}

/// Seconds rounded to the milliseconds `scores.csv` keeps, so a baseline's bytes are stable.
fn millis(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Baseline {
    /// The score set of `rows` (any order).
    pub fn from_rows(rows: &[ScoreRow], harness_version: &str) -> Baseline {
        let mut cells: BTreeMap<(&str, &AxisValues, &str), BaselineCell> = BTreeMap::new();
        for r in rows {
            let cell = cells
                .entry((&r.scenario, &r.axes, &r.detector))
                .or_insert_with(|| BaselineCell {
                    scenario: r.scenario.clone(),
                    axes: r.axes.clone(),
                    detector: r.detector.clone(),
                    leaking: r.leaking,
                    reps: Vec::new(),
                });
            cell.reps.push(RepResult {
                rep: r.rep,
                outcome: r.outcome,
                latency_s: r.latency_s.map(millis),
                site_ok: r.site_ok,
            });
        }
        let mut detectors: Vec<String> = rows.iter().map(|r| r.detector.clone()).collect();
        detectors.sort();
        detectors.dedup();
        Baseline {
            format: BASELINE_FORMAT,
            harness_version: harness_version.to_string(),
            detectors,
            cells: cells
                .into_values()
                .map(|mut c| {
                    c.reps.sort_by_key(|r| r.rep);
                    c
                })
                .collect(),
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("baseline serializes");
        out.push(b'\n');
        out
    }

    /// Parses a baseline file's text; `path` names it in errors. Every error is one line
    /// naming the file, the key and the fix.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BadInput> {
        let fix = format!(
            "re-save it with `leakbench regress RUN_DIR --save-baseline {}`",
            path.display()
        );
        let bad = |key: &str, problem: String| {
            BadInput(format!(
                "{}: key `{key}`: {problem} (fix: {fix})",
                path.display()
            ))
        };
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad("format", format!("not a leakbench baseline ({e})")))?;
        match v.get("format").and_then(|f| f.as_u64()) {
            None => return Err(bad("format", "missing: not a leakbench baseline".into())),
            Some(f) if f != u64::from(BASELINE_FORMAT) => {
                return Err(bad(
                    "format",
                    format!(
                        "baseline format {f}, but this leakbench reads format {BASELINE_FORMAT}"
                    ),
                ))
            }
            Some(_) => {}
        }
        // Outcomes are checked on the raw JSON first, so an unknown one names its exact key
        // (serde would only say "unknown variant" somewhere under `cells`).
        let cells = v.get("cells").and_then(|c| c.as_array());
        for (i, c) in cells.into_iter().flatten().enumerate() {
            let reps = c.get("reps").and_then(|r| r.as_array());
            for (j, r) in reps.into_iter().flatten().enumerate() {
                let Some(o) = r.get("outcome").and_then(|o| o.as_str()) else {
                    continue;
                };
                if Outcome::parse(o).is_none() {
                    let known: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
                    return Err(bad(
                        &format!("cells[{i}].reps[{j}].outcome"),
                        format!("`{o}` is not one of {}", known.join(", ")),
                    ));
                }
            }
        }
        serde_json::from_value(v).map_err(|e| bad("cells", format!("malformed: {e}")))
    }

    /// Reads and parses a baseline file. An unreadable file is bad input too.
    pub fn load(path: &Path) -> Result<Baseline, BadInput> {
        let text = fsio::read_to_string(path).map_err(|e| {
            BadInput(format!(
                "{e} (fix: pass a baseline written by `leakbench regress RUN_DIR --save-baseline FILE`)"
            ))
        })?;
        Baseline::parse(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::regress::compare::tests::{cell, set, tps};
    use crate::evaluate::score::score_row;
    use crate::evaluate::score::tests::{alarm, trace};

    #[test]
    fn baseline_round_trips_and_bad_files_are_one_line_errors() {
        let b = set(vec![cell("leak", "d", true, tps([2.0, 2.5, 3.0], true))]);
        let p = Path::new("baselines/x.json");
        let text = String::from_utf8(b.to_bytes()).unwrap();
        assert!(text.contains("\"outcome\": \"TP\""), "{text}");
        assert_eq!(Baseline::parse(p, &text).unwrap(), b);
        let old = text.replace("\"format\": 1", "\"format\": 0");
        let e = Baseline::parse(p, &old).unwrap_err().to_string();
        assert!(
            e.contains("baselines/x.json")
                && e.contains("`format`")
                && e.contains("--save-baseline baselines/x.json")
                && !e.contains('\n'),
            "{e}"
        );
        let e = Baseline::parse(p, "{}").unwrap_err().to_string();
        assert!(e.contains("`format`: missing"), "{e}");
        let e = Baseline::parse(p, &text.replace("\"TP\"", "\"XX\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cells[0].reps[0].outcome")
                && e.contains("`XX` is not one of TP, FN, FP, TN, NA"),
            "{e}"
        );
        let e = Baseline::parse(p, &text.replace("\"outcome\": \"TP\",", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`cells`: malformed") && e.contains("outcome"),
            "{e}"
        );
        let e = Baseline::load(Path::new("/nonexistent/b.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/b.json") && e.contains("--save-baseline"),
            "{e}"
        );
    }

    #[test]
    fn cells_of_a_sweep_are_kept_apart_and_a_plain_run_names_no_axes() {
        let plain = trace(true, Some(5.0));
        let mut at50 = plain.clone();
        at50.meta.axes.insert(crate::axes::Axis::Gogc, "50");
        let rows = vec![
            score_row(&plain, "d", Some(&alarm(7.0, None, None)), None),
            score_row(&at50, "d", Some(&alarm(9.0, None, None)), None),
        ];
        let b = Baseline::from_rows(&rows, "v");
        let labels: Vec<String> = b.cells.iter().map(BaselineCell::label).collect();
        assert_eq!(labels, ["t", "t@GOGC=50"]);
        let text = String::from_utf8(b.to_bytes()).unwrap();
        assert_eq!(text.matches("\"axes\"").count(), 1, "{text}");
        assert_eq!(Baseline::parse(Path::new("x.json"), &text).unwrap(), b);
    }

    #[test]
    fn from_rows_groups_by_cell_and_rounds_latency() {
        let leak = trace(true, Some(5.0));
        let a = alarm(7.25049, None, Some("main.f"));
        let mut rows = vec![
            score_row(&leak, "z", None, None),
            score_row(&leak, "a", Some(&a), None),
        ];
        rows[0].rep = 1;
        let b = Baseline::from_rows(&rows, "0.1.0");
        assert_eq!(b.detectors, vec!["a", "z"]);
        assert_eq!(b.cells.len(), 2);
        assert_eq!(b.cells[0].reps[0].latency_s, Some(2.25));
        assert_eq!(b.cells[1].reps[0].outcome, Outcome::Fn);
    }
}
