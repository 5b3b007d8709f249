//! `leakbench regress` and `leakbench merge` on the committed traces of the replay gate
//! (`harness/testdata/replay/run/`): deliberately weakened detectors (wrappers in this file)
//! make the comparison fail with a clear message, unchanged ones pass, the committed baseline
//! passes through the CLI, and shards 1/2 + 2/2 merged score exactly like the unsplit run.

use crate::replay_gate::{current_scores, expected_path, run_dir};
use crate::support::leakbench;
use leakbench::evaluate::detect::{self, Alarm, Detector, DetectorSpec, Params};
use leakbench::evaluate::regress::{self, Baseline, Direction, Tolerance};
use leakbench::evaluate::replay;
use leakbench::evaluate::score::Outcome;
use leakbench::record::run::{self, Shard};
use leakbench::run_dir::RunDir;
use leakbench::sample::Sample;
use leakbench::trace;
use std::path::Path;
use std::process::Output;

/// How a wrapped detector is made worse.
#[derive(Clone, Copy)]
enum Weakness {
    /// Never alarms.
    Silent,
    /// Alarms this many seconds after the real detector would.
    Delay(f64),
    /// Alarms like the real one, blaming no site.
    NoSite,
    /// Alarms on the first sample it sees.
    Eager,
}

struct Weakened {
    inner: Box<dyn Detector>,
    how: Weakness,
    first: Option<Alarm>,
}

impl Detector for Weakened {
    fn observe(&mut self, s: &Sample) -> Option<Alarm> {
        let real = self.inner.observe(s);
        match self.how {
            Weakness::Silent => None,
            Weakness::NoSite => real.map(|a| Alarm { site: None, ..a }),
            Weakness::Eager => Some(Alarm {
                t: s.t,
                grew: None,
                site: None,
                confidence: 1.0,
                detail: "eager".into(),
            }),
            Weakness::Delay(d) => {
                if self.first.is_none() {
                    self.first = real;
                }
                let a = self.first.as_ref()?;
                (s.t >= a.t + d).then(|| Alarm {
                    t: s.t,
                    ..a.clone()
                })
            }
        }
    }
}

fn weakened(name: &str, how: Weakness, p: &Params) -> Box<dyn Detector> {
    Box::new(Weakened {
        inner: (detect::by_name(name).unwrap().make)(p),
        how,
        first: None,
    })
}

fn silent_stack_growth(p: &Params) -> Box<dyn Detector> {
    weakened("stack-growth", Weakness::Silent, p)
}
fn slow_goroutineleak_profile(p: &Params) -> Box<dyn Detector> {
    weakened("goroutineleak-profile", Weakness::Delay(4.0), p)
}
fn siteless_heap_site_growth(p: &Params) -> Box<dyn Detector> {
    weakened("heap-site-growth", Weakness::NoSite, p)
}
fn eager_goroutine_threshold(p: &Params) -> Box<dyn Detector> {
    weakened("goroutine-threshold", Weakness::Eager, p)
}

/// How a registry entry makes its detector.
type Make = fn(&Params) -> Box<dyn Detector>;

/// The registry with one detector swapped for a weakened `make`.
fn registry_with(name: &str, make: Make) -> Vec<DetectorSpec> {
    detect::registry()
        .iter()
        .map(|s| {
            if s.name == name {
                DetectorSpec { make, ..*s }
            } else {
                *s
            }
        })
        .collect()
}

#[test]
fn a_weakened_detector_fails_regress_and_an_unchanged_one_passes() {
    let traces = trace::load_run(&run_dir()).unwrap();
    let score = |specs: &[DetectorSpec]| {
        Baseline::from_rows(
            &replay::score_traces(&traces, specs, &Params::default()),
            "test",
        )
    };
    let base = score(detect::registry());
    let tol = Tolerance::default();

    let same = regress::compare(&base, &score(detect::registry()), &tol);
    assert!(!same.regressed(), "{}", regress::render(&same));
    assert!(same.changes.is_empty());

    // (weakened detector, the line the table must show)
    let cases: [(&str, Make, &str); 4] = [
        (
            "stack-growth",
            silent_stack_growth,
            "| WORSE | goroutine-abandoned-sender | stack-growth | detection | 3/3 caught | 0/3 caught | leak now missed |",
        ),
        (
            "goroutineleak-profile",
            slow_goroutineleak_profile,
            "| WORSE | goroutine-abandoned-sender | goroutineleak-profile | latency |",
        ),
        (
            "heap-site-growth",
            siteless_heap_site_growth,
            "| WORSE | map-unbounded-cache | heap-site-growth | localization | 3/3 site ok | 0/3 site ok | localization lost",
        ),
        (
            "goroutine-threshold",
            eager_goroutine_threshold,
            "| WORSE | goroutine-abandoned-sender-fixed | goroutine-threshold | false alarms | 0/3 false | 3/3 false | new false alarm",
        ),
    ];
    for (name, make, line) in cases {
        let cmp = regress::compare(&base, &score(&registry_with(name, make)), &tol);
        let text = regress::render(&cmp);
        assert!(cmp.regressed(), "{name} weakened must fail:\n{text}");
        assert!(text.contains(line), "{name}: expected `{line}` in\n{text}");
        assert!(text.contains("FAIL:"), "{text}");
        assert!(
            cmp.changes
                .iter()
                .filter(|c| c.direction == Direction::Worse)
                .all(|c| c.detector == name),
            "only {name} may be worse:\n{text}"
        );
    }
    // The delay is significant at 3 vs 3 repetitions: p = 1/20 = 0.05 ≤ α.
    let cmp = regress::compare(
        &base,
        &score(&registry_with(
            "goroutineleak-profile",
            slow_goroutineleak_profile,
        )),
        &tol,
    );
    assert!(regress::render(&cmp).contains("p = 0.050 ≤ α = 0.05 (exact)"));
    // Stricter thresholds for every detector: worse somewhere, never better.
    let strict = Baseline::from_rows(
        &replay::score_traces(
            &traces,
            detect::registry(),
            &Params {
                threshold_scale: 10.0,
            },
        ),
        "test",
    );
    let cmp = regress::compare(&base, &strict, &tol);
    assert!(cmp.regressed(), "{}", regress::render(&cmp));
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_committed_baseline_passes_and_a_better_baseline_fails_through_the_cli() {
    let committed = crate::support::root().join("baselines/replay.json");
    let o = leakbench()
        .args(["regress", "harness/testdata/replay/run", "--baseline"])
        .arg(&committed)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("OK: nothing is worse"),
        "the committed baseline no longer matches the committed traces; if a detector changed on \
         purpose, run `just baseline-update`\n{out}{err}"
    );

    // A baseline in which stack-growth also caught the leak in the map scenario: the current
    // run is worse there, exit 1 and a table row naming it.
    let tmp = tempfile::tempdir().unwrap();
    let mut b = Baseline::load(&committed).unwrap();
    let cell = b
        .cells
        .iter_mut()
        .find(|c| c.scenario == "map-unbounded-cache" && c.detector == "stack-growth")
        .unwrap();
    for r in &mut cell.reps {
        assert_eq!(r.outcome, Outcome::Fn);
        (r.outcome, r.latency_s, r.site_ok) = (Outcome::Tp, Some(3.0), Some(false));
    }
    let better = tmp.path().join("better.json");
    std::fs::write(&better, b.to_bytes()).unwrap();
    let o = leakbench()
        .args(["regress", "harness/testdata/replay/run", "--baseline"])
        .arg(&better)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("| WORSE | map-unbounded-cache | stack-growth | detection | 3/3 caught | 0/3 caught | leak now missed |"),
        "{out}"
    );

    // --save-baseline writes what --baseline reads back unchanged.
    let saved = tmp.path().join("saved.json");
    let o = leakbench()
        .args(["regress", "harness/testdata/replay/run", "--save-baseline"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        Baseline::load(&saved).unwrap().cells,
        Baseline::load(&committed).unwrap().cells
    );

    // An incompatible baseline: exit 2, one line naming the file, the key and the fix.
    let old = tmp.path().join("old.json");
    let t = std::fs::read_to_string(&saved).unwrap();
    std::fs::write(&old, t.replace("\"format\": 1", "\"format\": 0")).unwrap();
    let o = leakbench()
        .args(["regress", "harness/testdata/replay/run", "--baseline"])
        .arg(&old)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&old.display().to_string())
            && err.contains("`format`")
            && err.contains("--save-baseline"),
        "{err}"
    );
}

/// Copies the committed repetitions of `shard` into a run directory of their own.
fn shard_dir(dest: &Path, shard: Option<Shard>) {
    let src = RunDir::new(run_dir());
    let dest = RunDir::new(dest);
    let mut info = src.load_info().unwrap();
    info.shard = shard;
    for c in run::matrix(&info.scenario_defs, &[Default::default()], info.reps, shard) {
        let from = src.rep(&c.scenario, c.rep);
        let to = dest.rep(&c.scenario, c.rep);
        std::fs::create_dir_all(to.path()).unwrap();
        for f in std::fs::read_dir(from.path()).unwrap().flatten() {
            std::fs::copy(f.path(), to.path().join(f.file_name())).unwrap();
        }
    }
    dest.save_info(&info).unwrap();
}

#[test]
fn merged_shards_score_like_the_unsplit_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, m) = (
        tmp.path().join("shard-1"),
        tmp.path().join("shard-2"),
        tmp.path().join("merged"),
    );
    shard_dir(&a, Some(Shard { index: 1, count: 2 }));
    shard_dir(&b, Some(Shard { index: 2, count: 2 }));
    let (na, nb) = (
        RunDir::new(&a).reps().unwrap().len(),
        RunDir::new(&b).reps().unwrap().len(),
    );
    assert!(na > 0 && nb > 0, "both shards hold cells: {na} + {nb}");
    let o = leakbench()
        .arg("merge")
        .args([&a, &b])
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let merged = std::fs::read(RunDir::new(&m).scores_csv()).unwrap();
    assert!(
        merged == current_scores(),
        "merged scores differ from the unsplit replay:\n{}",
        crate::replay_gate::diff_rows(&current_scores(), &merged).join("\n")
    );
    assert_eq!(merged, std::fs::read(expected_path()).unwrap());
    assert_eq!(RunDir::new(&m).reps().unwrap().len(), na + nb);
    assert_eq!(RunDir::new(&m).load_info().unwrap().shard, None);

    // Overlap: shard 1 twice is refused in one line, exit 2, nothing written.
    let a2 = tmp.path().join("shard-1-again");
    shard_dir(&a2, Some(Shard { index: 1, count: 2 }));
    let o = leakbench()
        .arg("merge")
        .args([&a, &a2])
        .arg("--out")
        .arg(tmp.path().join("bad"))
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("is in both"), "{err}");
    assert!(!tmp.path().join("bad").exists());

    // A missing shard is merged with a warning naming it.
    let o = leakbench()
        .arg("merge")
        .arg(&a)
        .arg("--out")
        .arg(tmp.path().join("half"))
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(
        o.status.success() && err.contains("shard 2/2 not merged"),
        "{err}"
    );
}
