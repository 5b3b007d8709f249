//! The abandoned-sender leak and its twin recorded with another Go toolchain, named by
//! `LEAKBENCH_GO` (`just go-matrix` installs Go 1.27 from PyPI for it): the harness builds with
//! that toolchain's own settings (`GOEXPERIMENT=goroutineleakprofile` only before Go 1.27,
//! where the profile is not on by default), and the `goroutineleak` profile then catches the
//! leak at its site and stays silent on the twin.
//!
//! Ignored by default: it needs a second toolchain, which `cargo test` alone does not have.

use crate::support::{leakbench, root};
use leakbench::run_dir::RunDir;
use leakbench::trace;

const LEAK: &str = "goroutine-abandoned-sender";
const TWIN: &str = "goroutine-abandoned-sender-fixed";

/// `go1.27.3` → 27.
fn minor(go_version: &str) -> u32 {
    go_version
        .trim_start_matches("go")
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("not a Go version: {go_version}"))
}

#[test]
#[ignore = "needs LEAKBENCH_GO, a second Go toolchain; run by `just go-matrix`"]
fn goroutineleak_profile_catches_the_abandoned_sender_on_another_go() {
    let go = std::env::var("LEAKBENCH_GO").expect("set LEAKBENCH_GO to the go binary to test");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let st = leakbench()
        .args(["run", LEAK, TWIN, "--reps", "1", "--go", &go, "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "leakbench run failed: {st}");

    // Built by the toolchain asked for, with its own settings: read from the binary itself
    // (`go version -m` prints the build info the linker embedded), not from what the harness
    // says it asked for.
    let t = trace::load(&RunDir::new(&out).rep(LEAK, 0)).unwrap();
    let version = &t.meta.go_version;
    let binary = root()
        .join(".cache/fixtures")
        .join(format!("{LEAK}-{}", t.meta.fixture_hash));
    let info = std::process::Command::new(&go)
        .arg("version")
        .arg("-m")
        .arg(&binary)
        .output()
        .unwrap();
    assert!(info.status.success(), "go version -m {}", binary.display());
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let built_with = info
        .lines()
        .next()
        .and_then(|l| l.split(": ").nth(1))
        .unwrap_or_else(|| panic!("no version line in:\n{info}"));
    assert!(
        built_with.starts_with(version.as_str()),
        "{built_with} vs meta {version}"
    );
    if let Ok(want) = std::env::var("LEAKBENCH_GO_VERSION") {
        assert!(
            built_with.starts_with(&want),
            "built with {built_with}, not {want}"
        );
    }
    let experiment = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("build\tGOEXPERIMENT="))
        .unwrap_or("");
    if minor(version) >= 27 {
        assert_eq!(experiment, "", "{version} needs no GOEXPERIMENT:\n{info}");
    } else {
        assert!(
            experiment.contains("goroutineleakprofile"),
            "{version}:\n{info}"
        );
    }
    assert_eq!(
        t.meta.goexperiment, experiment,
        "meta.json says what the build used"
    );

    let mut rows = csv::Reader::from_path(RunDir::new(&out).scores_csv()).unwrap();
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (scenario, detector, outcome, site_ok) = (
        col("scenario"),
        col("detector"),
        col("outcome"),
        col("site_ok"),
    );
    let mut seen = Vec::new();
    for r in rows.records() {
        let r = r.unwrap();
        if &r[detector] != "goroutineleak-profile" {
            continue;
        }
        seen.push(r[scenario].to_string());
        match &r[scenario] {
            LEAK => {
                assert_eq!(&r[outcome], "TP", "{version}: {r:?}");
                assert_eq!(&r[site_ok], "true", "{version}: {r:?}");
            }
            TWIN => assert_eq!(&r[outcome], "TN", "{version}: {r:?}"),
            other => panic!("unexpected scenario {other}"),
        }
    }
    seen.sort();
    assert_eq!(seen, [LEAK, TWIN], "one score row each");
}
