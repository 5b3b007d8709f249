//! `leakbench goker` against the Go that builds the fixtures: its goroutine leak test cases are
//! discovered from the installed GOROOT, a GOROOT without them is bad input (exit 2), a strict
//! GoKer kernel is caught at its site by the `goroutineleak` profile and by goleak, and a case
//! that must not leak leaves the profile silent.
//!
//! Expected counts are those of Go 1.26 (84 cases, 40 flaky, 62 GoKer kernels, read in 1.26.8);
//! other versions are held to "at least": the list differs between Go versions.

use crate::support::{finish, leakbench, root, Sandbox, FIRST_RUN};
use leakbench::goker::cases::{self, Kind};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// One GoKer kernel whose expected answer this test states: strict, one leaked goroutine
/// (`(*Tx).awaitDone` waits on a context nobody cancels), caught 3/3 in test mode here.
const KERNEL: &str = "Cockroach13197";
const KERNEL_LEAK: &str = r"\(\*Tx_cockroach13197\)\.awaitDone\(.* \[chan receive\]";
const KERNEL_GOROUTINE: &str = "(*Tx_cockroach13197).awaitDone(...) [chan receive]";
/// A case that must report no leak: its goroutine waits on a global channel, reachable.
const NO_LEAK: &str = "NoLeakGlobal";

fn go() -> String {
    std::env::var("LEAKBENCH_GO").unwrap_or_else(|_| "go".into())
}

#[test]
fn cases_and_expected_leaks_are_discovered_from_the_installed_goroot() {
    let (tc, goroot) = cases::locate(Path::new(&go())).unwrap();
    let d = cases::discover(&tc, &goroot, &root().join("go-fixtures"), None).unwrap();
    let flaky = d.cases.iter().filter(|c| c.kind() == Kind::Flaky).count();
    let kernels = d.cases.iter().filter(|c| c.kernel.is_some()).count();
    if tc.version.starts_with("go1.26.") {
        assert_eq!(
            (d.cases.len(), flaky, kernels),
            (84, 40, 62),
            "{}",
            tc.version
        );
    } else {
        assert!(
            d.cases.len() >= 84 && kernels >= 62,
            "{}: {} cases",
            tc.version,
            d.cases.len()
        );
    }
    let c = d.case(KERNEL).unwrap();
    assert_eq!(c.expected, vec![KERNEL_LEAK.to_string()]);
    assert!(c.flaky_leaks.is_empty() && c.simple && c.repeatable);
    assert_eq!(
        (c.project.as_str(), c.kernel.as_deref()),
        ("cockroach", Some("cockroach_13197"))
    );
    assert_eq!(c.fixture, "testgoroutineleakprofile-goker");
    let g = d.case(NO_LEAK).unwrap();
    assert_eq!(g.kind(), Kind::NoLeak);
    assert!(
        !g.repeatable && g.not_repeatable.contains("ch (chan int"),
        "{g:?}"
    );
    assert!(g.env.iter().any(|e| e == "GOMAXPROCS=1"), "{:?}", g.env);
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
}

/// A `go` script in `dir` (body: `script` of the path to a GOROOT there without Go's leak
/// tests, only an empty `src/runtime`).
fn fake_go(dir: &Path, script: impl Fn(&str) -> String) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let goroot = dir.join("goroot");
    std::fs::create_dir_all(goroot.join("src/runtime")).unwrap();
    let fake = dir.join("go");
    let body = script(&goroot.display().to_string());
    std::fs::write(&fake, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    fake
}

#[test]
fn a_goroot_without_the_cases_is_bad_input_naming_the_go_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fake_go(tmp.path(), |goroot| {
        format!("case \"$2\" in\nGOVERSION) echo go1.26.8 ;;\nGOROOT) echo {goroot} ;;\nesac\n")
    });
    let out = leakbench()
        .arg("--go")
        .arg(&fake)
        .args(["goker", "--list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for want in [
        "Go >= 1.26",
        "go1.26.8",
        "goroutineleakprofile_test.go",
        "fix: install Go",
    ] {
        assert!(err.contains(want), "`{want}` missing from: {err}");
    }
}

#[test]
fn a_strict_kernel_is_caught_at_its_site_and_a_no_leak_case_is_silent() {
    let sb = Sandbox::new("goker");
    let out = sb.out();
    let mut cmd = leakbench();
    cmd.args([
        "--go",
        &go(),
        "goker",
        KERNEL,
        NO_LEAK,
        "--modes",
        "test",
        "--strict-reps",
        "2",
        "-j",
        "4",
        "--out",
    ])
    .arg(&out);
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (st, err) = finish(child, FIRST_RUN + Duration::from_secs(120));
    assert!(st.success(), "leakbench goker failed: {st}\n{err}");
    let mut rows = csv::Reader::from_path(out.join("goker-scores.csv")).unwrap();
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    let of = |case: &str, det: &str| -> Vec<&csv::StringRecord> {
        rows.iter()
            .filter(|r| &r[col("case")] == case && &r[col("detector")] == det)
            .collect()
    };
    for det in ["goroutineleak-profile", "goleak"] {
        let kernel = of(KERNEL, det);
        assert_eq!(kernel.len(), 2, "{det}: two repetitions");
        for r in kernel {
            assert_eq!(&r[col("verdict")], "hit", "{det}: {r:?}");
            assert_eq!(&r[col("matched")], KERNEL_LEAK, "{det}: {r:?}");
            assert!(r[col("blamed")].contains(KERNEL_GOROUTINE), "{det}: {r:?}");
        }
    }
    let silent = of(NO_LEAK, "goroutineleak-profile");
    assert_eq!(silent.len(), 2);
    assert!(
        silent.iter().all(|r| &r[col("verdict")] == "silent"),
        "{silent:?}"
    );
    // NoLeakGlobal's goroutine waits forever on a reachable channel: goleak, which cannot
    // tell reachable from unreachable, reports it, and that is a false alarm.
    assert!(of(NO_LEAK, "goleak")
        .iter()
        .all(|r| &r[col("verdict")] == "false-alarm"));
    let md = std::fs::read_to_string(out.join("goker.md")).unwrap();
    assert!(
        md.contains("## Beside the published figures") && md.contains(KERNEL),
        "{md}"
    );
}

#[test]
#[ignore = "needs LEAKBENCH_GO, a second Go toolchain; run by `just go-matrix`"]
fn go_matrix_goker_discovers_and_catches_a_kernel_on_another_go() {
    assert!(std::env::var("LEAKBENCH_GO").is_ok(), "set LEAKBENCH_GO");
    cases_and_expected_leaks_are_discovered_from_the_installed_goroot();
    a_strict_kernel_is_caught_at_its_site_and_a_no_leak_case_is_silent();
}

/// A scratch copy of the committed scored run (`harness/testdata/plot-run`), as run-all leaves
/// a run before its report, and a progress display that draws nothing.
fn scored_run() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    indicatif::MultiProgress,
) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    copy(&root().join("harness/testdata/plot-run"), &dir);
    let mp = indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
    (tmp, dir, mp)
}

/// The report's GoKer section: from its heading to the next heading of its level.
fn goker_section(md: &str) -> String {
    let at = md
        .find("\n## GoKer")
        .unwrap_or_else(|| panic!("no GoKer section in: {md}"));
    let rest = &md[at + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

#[test]
fn run_alls_goker_section_is_in_the_report_with_the_cases_and_the_published_figures() {
    use leakbench::goker::plan;
    use leakbench::goker::section::{self, Outcome, SectionOptions};
    let (_tmp, dir, mp) = scored_run();
    let opts = SectionOptions {
        cases: vec![KERNEL.into(), NO_LEAK.into()],
        service_cases: 1,
        reps: 1,
        test: plan::ModeSettings {
            duration_s: 5.0,
            ..plan::TEST
        },
        service: plan::ModeSettings {
            onset_s: 2.0,
            duration_s: 8.0,
            runs: 4,
            ..section::SERVICE
        },
        jobs: 4,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt
        .block_on(section::record(&root(), Path::new(&go()), &dir, &opts, &mp))
        .unwrap();
    let Outcome::Recorded { reps, .. } = out else {
        panic!("not recorded: {out:?}");
    };
    // Two cases in test mode, the kernel also in service mode (NoLeakGlobal cannot repeat).
    assert_eq!(reps, 3);
    let g = leakbench::present::report::generate(&dir, &mp).unwrap();
    let md = std::fs::read_to_string(&g.report_md).unwrap();
    let s = goker_section(&md);
    for want in [
        "2 of Go's",
        "1 of them also in service mode (Cockroach13197)",
        "The full set (every case, both modes, default repetitions) is `just goker`; it took 504 s",
        "### Beside the published figures",
        "| goleak | found 43 of GoBench's 68 GoKer blocking bugs",
        "### Per case",
        "| Cockroach13197 | cockroach_13197 | strict |",
        "| NoLeakGlobal | micro | no-leak | none |",
        "(./goker/goker.md)",
    ] {
        assert!(s.contains(want), "`{want}` missing from:\n{s}");
    }
    // The kernel is caught in both modes (by the goroutineleak profile and goleak at least).
    let row = s
        .lines()
        .find(|l| l.starts_with("| Cockroach13197 |"))
        .unwrap();
    assert!(row.contains("| T 1/1 · S 1/1 |"), "{row}");
    assert!(md.contains("- [GoKer: Go's own goroutine leak tests (a subset)](#"));
    let html = std::fs::read_to_string(&g.report_html).unwrap();
    assert!(html.contains("(a subset)") && html.contains("Beside the published figures"));
    // `plot` draws the same report again from the files: nothing is judged twice.
    leakbench::present::report::generate(&dir, &mp).unwrap();
    assert_eq!(std::fs::read_to_string(&g.report_md).unwrap(), md);
}

#[test]
fn run_alls_goker_section_on_a_go_without_the_cases_is_one_line() {
    use leakbench::goker::section::{self, Outcome, SectionOptions};
    let (tmp, dir, mp) = scored_run();
    // A `go` that is the real one except for its GOROOT, which has no leak tests.
    let fake = fake_go(tmp.path(), |goroot| {
        format!(
            "if [ \"$1\" = env ] && [ \"$2\" = GOROOT ]; then echo {goroot}; exit 0; fi\nexec {} \"$@\"\n",
            go()
        )
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt
        .block_on(section::record(
            &root(),
            &fake,
            &dir,
            &SectionOptions::default(),
            &mp,
        ))
        .unwrap();
    let Outcome::NotRun(why) = out else {
        panic!("ran: {out:?}");
    };
    assert!(
        why.contains("Go >= 1.26") && why.contains("goroutineleakprofile_test.go"),
        "{why}"
    );
    let g = leakbench::present::report::generate(&dir, &mp).unwrap();
    let md = std::fs::read_to_string(&g.report_md).unwrap();
    let s = goker_section(&md);
    let body: Vec<&str> = s.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(body, [why.as_str()], "{s}");
}
