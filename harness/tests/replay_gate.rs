//! The deterministic replay gate: the committed traces in `harness/testdata/replay/run/` are
//! scored with every registered detector, and the scores must equal
//! `harness/testdata/replay/expected-scores.csv` byte for byte. A detector change that alters
//! any score fails here, naming each changed row and column.
//!
//! Regenerate the expected scores on purpose with `just replay-gate-update`
//! (`LEAKBENCH_UPDATE_REPLAY=1 cargo test --test tests replay_gate`). Re-record the traces
//! themselves (rarely: a trace format change) with `just replay-gate-record`.

use crate::support::{leakbench, root};
use leakbench::evaluate::detect::{registry, Params};
use leakbench::evaluate::replay;
use leakbench::present::export;
use leakbench::run_dir::RunDir;
use leakbench::trace;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The committed run directory.
pub fn run_dir() -> PathBuf {
    root().join("harness/testdata/replay/run")
}

/// The committed expected `scores.csv` of [`run_dir`].
pub fn expected_path() -> PathBuf {
    root().join("harness/testdata/replay/expected-scores.csv")
}

/// `scores.csv` bytes of the committed traces with today's detectors.
pub fn current_scores() -> Vec<u8> {
    let traces = trace::load_run(&run_dir()).expect("committed traces load");
    export::csv::scores(&replay::score_traces(
        &traces,
        registry(),
        &Params::default(),
    ))
}

type Rows = BTreeMap<(String, String, String), csv::StringRecord>;

fn rows(bytes: &[u8]) -> (csv::StringRecord, Rows) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().expect("csv header").clone();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("csv row");
            (
                (rec[0].to_string(), rec[3].to_string(), rec[4].to_string()),
                rec,
            )
        })
        .collect();
    (header, rows)
}

/// Which rows differ, one line each: `scenario / detector / rep k: outcome TP → FN, ...`.
pub fn diff_rows(expected: &[u8], actual: &[u8]) -> Vec<String> {
    let (h_exp, exp) = rows(expected);
    let (h_act, act) = rows(actual);
    let mut out = Vec::new();
    if h_exp != h_act {
        out.push(format!(
            "columns changed: {:?} → {:?}",
            h_exp.iter().collect::<Vec<_>>(),
            h_act.iter().collect::<Vec<_>>()
        ));
        return out;
    }
    let show = |v: &str| {
        if v.is_empty() {
            "∅".to_string()
        } else {
            v.to_string()
        }
    };
    for (k, e) in &exp {
        let name = format!("{} / {} / rep {}", k.0, k.1, k.2);
        match act.get(k) {
            None => out.push(format!("{name}: row gone")),
            Some(a) if a != e => {
                let cols: Vec<String> = h_exp
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| e.get(*i) != a.get(*i))
                    .map(|(i, col)| {
                        format!(
                            "{col} {} → {}",
                            show(e.get(i).unwrap_or("")),
                            show(a.get(i).unwrap_or(""))
                        )
                    })
                    .collect();
                out.push(format!("{name}: {}", cols.join(", ")));
            }
            Some(_) => {}
        }
    }
    for k in act.keys().filter(|k| !exp.contains_key(*k)) {
        out.push(format!("{} / {} / rep {}: new row", k.0, k.1, k.2));
    }
    out
}

#[test]
fn replay_gate() {
    let actual = current_scores();
    let path = expected_path();
    if std::env::var_os("LEAKBENCH_UPDATE_REPLAY").is_some() {
        leakbench::fsio::write_atomic(&path, &actual).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    if expected == actual {
        return;
    }
    let diff = diff_rows(&expected, &actual);
    let shown: Vec<&String> = diff.iter().take(60).collect();
    panic!(
        "replay gate: the scores of the committed traces changed ({} rows; a detector or scoring change?)\n  {}{}\n\
         If the change is intended, regenerate the expected scores and the baseline, and commit both:\n  \
         just replay-gate-update && just baseline-update\n  \
         (= LEAKBENCH_UPDATE_REPLAY=1 cargo test --test tests replay_gate, then leakbench regress harness/testdata/replay/run --save-baseline baselines/replay.json)",
        diff.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        if diff.len() > shown.len() {
            format!("\n  ... and {} more", diff.len() - shown.len())
        } else {
            String::new()
        }
    );
}

#[test]
fn the_gate_names_the_changed_rows_and_columns() {
    let exp = b"scenario,class,leaking,detector,rep,outcome,alarm_s\n\
                s,map,true,d,0,TP,7.000\ns,map,true,d,1,TP,8.000\n";
    let act = b"scenario,class,leaking,detector,rep,outcome,alarm_s\n\
                s,map,true,d,0,TP,7.000\ns,map,true,d,1,FN,\ns,map,true,e,0,TN,\n";
    assert_eq!(
        diff_rows(exp, act),
        vec![
            "s / d / rep 1: outcome TP → FN, alarm_s 8.000 → ∅".to_string(),
            "s / e / rep 0: new row".to_string(),
        ]
    );
}

#[test]
fn committed_replay_data_is_small_and_complete() {
    let mut total = 0;
    let mut stack = vec![root().join("harness/testdata/replay")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let md = e.metadata().unwrap();
            if md.is_dir() {
                stack.push(e.path());
            } else {
                total += md.len();
            }
        }
    }
    assert!(
        total < 1_048_576,
        "harness/testdata/replay holds {total} bytes; keep the committed traces small"
    );
    let traces = trace::load_run(&run_dir()).unwrap();
    assert!(traces.len() >= 10, "{} traces", traces.len());
    assert!(traces
        .iter()
        .all(|t| t.end.as_ref().is_some_and(|e| e.status.scorable())));
}

/// runtime/metrics kept in committed traces: the ones leakbench reads. The rest (GODEBUG
/// counters, CPU classes, ...) is most of a trace's bytes and no detector looks at it;
/// [`record_traces`] checks that dropping it changes no score.
const KEPT_METRICS: &[&str] = &[
    leakbench::sample::metric::GOROUTINES,
    leakbench::sample::metric::HEAP_LIVE,
    leakbench::sample::metric::HEAP_OBJECTS,
    leakbench::sample::metric::HEAP_OBJECTS_BYTES,
    leakbench::sample::metric::MEM_TOTAL,
    leakbench::sample::metric::MEM_RELEASED,
    leakbench::sample::metric::FINALIZERS_QUEUED,
    leakbench::sample::metric::CLEANUPS_QUEUED,
    leakbench::sample::metric::GC_CYCLES,
    leakbench::sample::metric::FINALIZERS_EXECUTED,
    leakbench::sample::metric::CLEANUPS_EXECUTED,
];

/// Shrinks a trace line: keeps [`KEPT_METRICS`] and empties stack frames (detectors read the
/// group's `site`, not its frames).
fn trim_line(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    if let Some(m) = v.get_mut("metrics").and_then(|m| m.as_object_mut()) {
        m.retain(|k, _| KEPT_METRICS.contains(&k.as_str()));
    }
    for key in ["goroutines", "goroutine_leak"] {
        if let Some(groups) = v.get_mut(key).and_then(|g| g.as_array_mut()) {
            for g in groups {
                g["frames"] = serde_json::json!([]);
            }
        }
    }
    serde_json::to_string(&v).unwrap()
}

fn scores_of(dir: &Path) -> Vec<u8> {
    let traces = trace::load_run(dir).unwrap();
    export::csv::scores(&replay::score_traces(
        &traces,
        registry(),
        &Params::default(),
    ))
}

/// Re-records the committed traces from `harness/testdata/replay/scenarios/` (3 repetitions,
/// about a minute), trims them, checks the trim changes no score, replaces
/// `harness/testdata/replay/run/` and rewrites the expected scores. `just replay-gate-record`.
#[test]
#[ignore = "records real fixtures and rewrites committed test data; run by `just replay-gate-record`"]
fn record_traces() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut scenarios: Vec<PathBuf> =
        std::fs::read_dir(root().join("harness/testdata/replay/scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
            .collect();
    scenarios.sort();
    let st = leakbench()
        .arg("run")
        .args(&scenarios)
        .args(["--reps", "3", "-j", "5", "--no-score", "--out"])
        .arg(&out)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(st.success(), "leakbench run: {st}");
    for t in trace::load_run(&out).unwrap() {
        let end = t.end.expect("finished");
        assert_eq!(
            end.status,
            trace::EndStatus::Completed,
            "{}: {}",
            t.dir.display(),
            end.reason
        );
    }
    let before = scores_of(&out);
    let run = RunDir::new(&out);
    for rep in run.reps().unwrap() {
        let p = rep.trace_jsonl();
        let text = std::fs::read_to_string(&p).unwrap();
        let trimmed: String = text.lines().map(|l| trim_line(l) + "\n").collect();
        std::fs::write(&p, trimmed).unwrap();
    }
    let after = scores_of(&out);
    assert!(
        before == after,
        "trimming changed scores (a detector reads a dropped metric or frames; extend KEPT_METRICS):\n{}",
        diff_rows(&before, &after).join("\n")
    );
    let dest = RunDir::new(run_dir());
    let _ = std::fs::remove_dir_all(dest.traces_dir());
    for rep in run.reps().unwrap() {
        let to = rep.in_run(&dest);
        std::fs::create_dir_all(to.path()).unwrap();
        for (from, to) in rep.files().iter().zip(to.files()) {
            if from.exists() {
                std::fs::copy(from, to).unwrap();
            }
        }
    }
    std::fs::copy(run.run_json(), dest.run_json()).unwrap();
    leakbench::fsio::write_atomic(&expected_path(), &after).unwrap();
    eprintln!(
        "recorded {} traces into {}; now run `just baseline-update`",
        dest.reps().unwrap().len(),
        dest.path().display()
    );
}
