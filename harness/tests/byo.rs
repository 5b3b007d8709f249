//! Bring your own program: a plain `net/http/pprof` program outside `go-fixtures/`, without
//! the kit, built from a temporary directory, named by `program = "..."` in a scenario beside
//! it, ready by its pprof endpoint, its address given by `{listen}` in its arguments, its
//! truth declared. `leakbench run` records it and scores it; the goroutine and heap series
//! come from the standard endpoints, and detectors of kit-only figures are not judged.

use crate::support::leakbench;
use leakbench::evaluate::score::Outcome;
use leakbench::sample::metric;
use leakbench::trace::{self, EndStatus};
use std::path::Path;

/// Leaks one goroutine blocked on a channel send every 10 ms, from 2 s after start-up.
/// No kit, no readiness line: only net/http/pprof on the `-addr` it is given.
const PROGRAM: &str = r#"package main

import (
	"flag"
	"net/http"
	_ "net/http/pprof"
	"time"
)

func block(ch chan int) { ch <- 1 }

func main() {
	addr := flag.String("addr", "", "listen address")
	after := flag.Duration("leak-after", 2*time.Second, "")
	flag.Parse()
	go func() {
		time.Sleep(*after)
		for {
			go block(make(chan int))
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := http.ListenAndServe(*addr, nil); err != nil {
		panic(err)
	}
}
"#;

/// Writes the program (its own module) and a scenario naming it, relatively, into `dir`.
pub fn write_program(dir: &Path, scenario_extra: &str) -> std::path::PathBuf {
    let prog = dir.join("mine");
    std::fs::create_dir_all(&prog).unwrap();
    std::fs::write(prog.join("go.mod"), "module example.com/mine\n\ngo 1.26\n").unwrap();
    std::fs::write(prog.join("main.go"), PROGRAM).unwrap();
    let sc = dir.join("mine.toml");
    std::fs::write(
        &sc,
        format!(
            r#"description = "my own program"
program = "mine"
args = ["-addr", "{{listen}}"]
duration_s = 8.0
interval_s = 0.5
warmup_s = 1.0
{scenario_extra}
[truth]
leaking = true
class = "goroutine"
site = 'main\.block'
declared_onset_s = 2.0
"#
        ),
    )
    .unwrap();
    sc
}

/// `leakbench run SCENARIO --reps 1 --out OUT`.
fn run(scenario: &Path, out: &Path) -> std::process::Output {
    leakbench()
        .arg("run")
        .arg(scenario)
        .args(["--reps", "1", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_program_outside_the_tree_with_declared_truth_is_run_and_scored() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write_program(tmp.path(), "");
    let out = tmp.path().join("run");
    let o = run(&sc, &out);
    assert!(
        o.status.success(),
        "leakbench run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let traces = trace::load_run(&out).unwrap();
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert_eq!(t.end.as_ref().unwrap().status, EndStatus::Completed);
    // Declared, not measured: the program serves no truth.
    assert!(t.onset_declared());
    let onset = t.meta.declared_onset_s.unwrap();
    assert!(onset > 2.0 && onset < 6.0, "onset {onset}");
    // Standard endpoints: the goroutine profile, the heap profile, MemStats figures.
    let last = t.samples.last().unwrap();
    assert!(last.goroutine_count().unwrap() > 100.0, "{last:?}");
    assert!(last.heap.as_ref().is_some_and(|h| !h.is_empty()));
    let m = last.metrics.as_ref().expect("MemStats figures");
    assert!(m[metric::HEAP_OBJECTS_BYTES] > 0.0 && m.contains_key(metric::GC_CYCLES));
    assert!(!m.contains_key(metric::HEAP_LIVE));
    assert!(last.missing.iter().any(|x| x.probe == "truth"));

    let rows = leakbench::evaluate::replay::score_traces(
        &traces,
        leakbench::evaluate::detect::registry(),
        &Default::default(),
    );
    let row = |d: &str| {
        rows.iter()
            .find(|r| r.detector == d)
            .unwrap_or_else(|| panic!("no row for {d}"))
    };
    let g = row("goroutine-threshold");
    assert_eq!(g.outcome, Outcome::Tp, "{g:?}");
    assert!(g.note.contains("onset declared, not measured"), "{g:?}");
    // Kit-only figures: goleak's report and the finalizer queues are absent, so not judged.
    for d in ["goleak", "finalizer-backlog"] {
        assert_eq!(row(d).outcome, Outcome::Na, "{:?}", row(d));
    }
}

#[test]
fn a_program_that_does_not_build_or_does_not_exist_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write_program(tmp.path(), "");
    std::fs::write(
        tmp.path().join("mine/main.go"),
        "package main\nfunc main() { x }\n",
    )
    .unwrap();
    let o = run(&sc, &tmp.path().join("run"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("go build") && err.contains("undefined: x"),
        "{err}"
    );

    std::fs::remove_dir_all(tmp.path().join("mine")).unwrap();
    let o = run(&sc, &tmp.path().join("run2"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("key `program`"), "{err}");
}
