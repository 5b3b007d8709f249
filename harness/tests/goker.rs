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

#[test]
fn a_goroot_without_the_cases_is_bad_input_naming_the_go_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let goroot = tmp.path().join("goroot");
    std::fs::create_dir_all(goroot.join("src/runtime")).unwrap();
    let fake = tmp.path().join("go");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncase \"$2\" in\nGOVERSION) echo go1.26.8 ;;\nGOROOT) echo {} ;;\nesac\n",
            goroot.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
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
