//! Matrix axes end to end: `--matrix` values reach the fixture (read back from the fixture's
//! own runtime, not from what the harness meant to set), every cell is recorded apart, scored
//! with a column per axis and reported per axis value; bad axes are bad input.

use crate::support::{finish, leakbench, Sandbox, FIRST_RUN};
use leakbench::axes::{Axis, AxisValues};
use leakbench::run_dir::RunDir;
use leakbench::trace;

fn point(gogc: &str) -> AxisValues {
    let mut p = AxisValues::default();
    p.insert(Axis::Gogc, gogc);
    p.insert(Axis::Gomemlimit, "96MiB");
    p.insert(Axis::Gomaxprocs, "1");
    p
}

#[test]
fn axis_values_reach_the_fixture_and_each_cell_is_scored_and_reported_apart() {
    let sb = Sandbox::new("axes");
    let child = sb
        .run(
            &["sender"],
            &[
                "--no-goroutineleak",
                "--matrix",
                "GOGC=37,off",
                "--matrix",
                "GOMAXPROCS=1",
                "--matrix",
                "GOMEMLIMIT=96MiB",
            ],
        )
        .spawn()
        .unwrap();
    let (status, out) = finish(child, FIRST_RUN);
    assert!(status.success(), "{out}");
    let run = RunDir::new(sb.out());
    assert_eq!(run.reps().unwrap().len(), 2, "one repetition per cell");
    for gogc in ["37", "off"] {
        let t = trace::load(&run.cell_rep("sender", &point(gogc), 0)).unwrap();
        assert_eq!(t.meta.axes, point(gogc));
        // What the fixture's runtime reports it runs with: debug.SetGCPercent read back,
        // debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0).
        let facts = t.meta.runtime.as_ref().expect("the kit's runtime facts");
        assert_eq!(facts.gogc, gogc, "{facts:?}");
        assert_eq!(facts.gomemlimit, (96u64 << 20).to_string(), "{facts:?}");
        assert_eq!(facts.gomaxprocs, 1, "{facts:?}");
        assert!(facts.agrees(Axis::Go, &t.meta.go_version), "{facts:?}");
    }

    // `--resume` finds the cells again from run.json's matrix: an unfinished one is redone
    // at its own point.
    let redo = run.cell_rep("sender", &point("off"), 0);
    std::fs::remove_file(redo.end_json()).unwrap();
    let out = leakbench()
        .args(["run", "--resume"])
        .arg(sb.out())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = trace::load(&redo).unwrap();
    assert!(again.end.is_some() && again.meta.axes == point("off"));
    assert_eq!(again.meta.runtime.as_ref().unwrap().gogc, "off");
    assert_eq!(
        run.reps().unwrap().len(),
        2,
        "nothing recorded outside the two cells"
    );

    let scores = std::fs::read_to_string(run.scores_csv()).unwrap();
    let mut lines = scores.lines();
    let head = lines.next().unwrap();
    assert!(head.ends_with(",note,GOGC,GOMEMLIMIT,GOMAXPROCS"), "{head}");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|l| l.ends_with(",37,96MiB,1")), "{scores}");
    assert!(rows.iter().any(|l| l.ends_with(",off,96MiB,1")), "{scores}");

    let report = leakbench::present::report::generate(
        &sb.out(),
        &indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden()),
    )
    .unwrap();
    let md = std::fs::read_to_string(report.report_md).unwrap();
    assert!(
        md.contains("# Matrix axes") && md.contains("## By GOGC"),
        "{md}"
    );
    assert!(
        md.contains("2 of 2 repetitions ran with every value set"),
        "{md}"
    );
    assert!(run.plots_dir().join("latency-by-axis.svg").exists());
}

#[test]
fn bad_axes_are_one_line_errors_naming_the_flag_and_key_with_exit_2() {
    let sb = Sandbox::new("axes-bad");
    let file = sb.path().join("m.toml");
    std::fs::write(&file, "GOGC = [\"fast\"]\n").unwrap();
    let file_arg = format!("--matrix-file={}", file.display());
    for (args, want) in [
        (vec!["--matrix", "GOGC=abc"], "--matrix: key `GOGC`: `abc`"),
        (
            vec!["--matrix", "GOCG=50"],
            "--matrix: key `GOCG`: not an axis",
        ),
        (
            vec!["--matrix", "go=/bin/true"],
            "--matrix: key `go`: /bin/true",
        ),
        (vec![file_arg.as_str()], "key `GOGC`: `fast`"),
    ] {
        let out = leakbench()
            .arg("run")
            .arg(sb.scenario("sender"))
            .arg("--out")
            .arg(sb.out())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.contains("(fix: ") && err.trim_end().lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(!sb.out().exists(), "nothing may be written on bad input");
    }
}

/// Named `go_matrix_…` so `just go-matrix` (which installs a second toolchain and names it in
/// `LEAKBENCH_GO`) runs it: a `go` axis builds the fixture once per toolchain, and each cell's
/// fixture runs on its own Go, as its runtime reports.
#[test]
#[ignore = "needs LEAKBENCH_GO, a second Go toolchain; run by `just go-matrix`"]
fn go_matrix_axis_runs_each_cell_on_its_own_toolchain() {
    let go = std::env::var("LEAKBENCH_GO").expect("set LEAKBENCH_GO to the go binary to test");
    let sb = Sandbox::new("axes-go");
    let child = sb
        .run(
            &["sender"],
            &["--no-goroutineleak", "--matrix", &format!("go=go,{go}")],
        )
        .spawn()
        .unwrap();
    let (status, out) = finish(child, 2 * FIRST_RUN);
    assert!(status.success(), "{out}");
    let run = RunDir::new(sb.out());
    let traces: Vec<trace::Trace> = run
        .reps()
        .unwrap()
        .iter()
        .map(|r| trace::load(r).unwrap())
        .collect();
    assert_eq!(traces.len(), 2, "one cell per toolchain");
    let mut hashes = std::collections::BTreeSet::new();
    for t in &traces {
        let want = t.meta.axes.get(Axis::Go).expect("a go axis value");
        assert_eq!(want, t.meta.go_version);
        let facts = t.meta.runtime.as_ref().expect("runtime facts");
        assert!(facts.agrees(Axis::Go, want), "{facts:?} is not {want}");
        hashes.insert(t.meta.fixture_hash.clone());
    }
    assert_eq!(hashes.len(), 2, "one build per toolchain");
    assert_ne!(traces[0].meta.go_version, traces[1].meta.go_version);
}
