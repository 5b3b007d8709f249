//! The cases: what `go-fixtures/tools/goker` reads from the Go toolchain that builds the
//! fixtures (`$(go env GOROOT)/src/runtime/goroutineleakprofile_test.go` and its two test
//! programs), as the [`Discovery`] it prints, and the wrapped fixtures it writes into
//! leakbench's cache.
//!
//! Owns the GOROOT check (a Go without the files is bad input, exit 2, naming the Go version
//! needed), running the helper, and the case schema with its expected-leak regexes compiled.
//! Must not build or start fixtures (that is [`crate::record`]) nor judge anything.

use crate::bad_input::BadInput;
use crate::record::fixture_build::{self, GoToolchain};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Go keeps the cases, relative to GOROOT (as the helper's `TestFile`/`ProgramsDir`).
pub const TEST_FILE: &str = "src/runtime/goroutineleakprofile_test.go";
pub const PROGRAMS_DIR: &str = "src/runtime/testdata/testgoroutineleakprofile";

/// The helper, a package of the go-fixtures module.
pub const HELPER: &str = "./tools/goker";

/// Why the cases could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    #[error("could not run `{cmd}`: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("`{cmd}` failed:\n{stderr}")]
    Helper { cmd: String, stderr: String },
    #[error("the GoKer helper printed what is not a case list: {0}")]
    Json(#[from] serde_json::Error),
    #[error("case {case}: expected leak `{regex}` is not a regex leakbench can read: {msg}")]
    Regex {
        case: String,
        regex: String,
        msg: String,
    },
}

/// How a case is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Every expected leak must show (`makeTest`).
    Strict,
    /// The leak shows in some interleavings only (`makeFlakyTest`).
    Flaky,
    /// Nothing may be reported (a strict case without expected leaks).
    NoLeak,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Strict => "strict",
            Kind::Flaky => "flaky",
            Kind::NoLeak => "no-leak",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One case, as the helper prints it (`go-fixtures/tools/goker/discover.go`, `Case`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    /// Program directory: "" (top level) or "goker".
    pub package: String,
    /// The fixture (directory under the wrapped module's `cmd/`).
    pub fixture: String,
    pub file: String,
    /// The test file's list: micro, stress, pattern, goker.
    pub group: String,
    /// cockroach, etcd, ... for GoKer kernels; the group otherwise.
    pub project: String,
    /// GoBench id (`cockroach_1055`), GoKer kernels only.
    #[serde(default)]
    pub kernel: Option<String>,
    pub flaky: bool,
    /// Go's test runs it with GOMAXPROCS=1.
    pub simple: bool,
    /// `K=V` pairs Go's test runs it with (GOEXPERIMENT left to the toolchain).
    pub env: Vec<String>,
    pub expected: Vec<String>,
    pub flaky_leaks: Vec<String>,
    pub no_leak: bool,
    pub test_line: u32,
    pub entry: String,
    pub init_registered: bool,
    pub exits_process: bool,
    pub on_main: bool,
    pub shared_state: Vec<String>,
    pub repeatable: bool,
    #[serde(default)]
    pub not_repeatable: String,
}

impl Case {
    pub fn kind(&self) -> Kind {
        match (self.no_leak, self.flaky) {
            (true, _) => Kind::NoLeak,
            (false, true) => Kind::Flaky,
            (false, false) => Kind::Strict,
        }
    }

    /// Every regex a reported goroutine may match: the strict list, then the flaky one.
    pub fn all_leaks(&self) -> impl Iterator<Item = &String> {
        self.expected.iter().chain(&self.flaky_leaks)
    }

    /// The functions the expected leaks name, as one regex (`A\.func1|\(\*T\)\.run`): the
    /// part of each regex before its ` \[wait reason\]`, without the trailing `\(.*`. Used
    /// as the scenario's `truth.site`, so the standard scorer has something to compare
    /// with; the GoKer judgement uses the whole regexes. Empty for a no-leak case.
    pub fn site_regex(&self) -> String {
        let parts: Vec<String> = self
            .all_leaks()
            .map(|r| {
                let f = r.split(r" \[").next().unwrap_or(r);
                let f = f.strip_suffix(r"\(.*").unwrap_or(f);
                f.strip_suffix(".*").unwrap_or(f).to_string()
            })
            .collect();
        let joined = parts.join("|");
        if Regex::new(&joined).is_ok() {
            joined
        } else {
            regex::escape(&self.name)
        }
    }
}

/// A program's case that the test file does not list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub name: String,
    pub package: String,
    pub file: String,
}

/// A test-file list element the helper did not understand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skip {
    pub pos: String,
    pub why: String,
    pub text: String,
}

/// Everything the helper found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub goroot: String,
    pub go_version: String,
    pub test_file: String,
    pub programs: String,
    pub cases: Vec<Case>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub untested: Vec<Registration>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub unregistered: Vec<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub skipped: Vec<Skip>,
}

/// Go's encoding/json writes a nil slice as `null`.
fn null_is_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Discovery {
    /// Parses the helper's JSON and checks every regex compiles.
    pub fn parse(json: &str) -> Result<Discovery, CasesError> {
        let d: Discovery = serde_json::from_str(json)?;
        for c in &d.cases {
            for r in c.all_leaks() {
                Regex::new(r).map_err(|e| CasesError::Regex {
                    case: c.name.clone(),
                    regex: r.clone(),
                    msg: e.to_string().lines().last().unwrap_or_default().to_string(),
                })?;
            }
        }
        Ok(d)
    }

    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }
}

/// The toolchain and its GOROOT, checked to hold the cases. A Go older than 1.26, or one
/// whose GOROOT lacks the test file or the programs (a distribution without the source tree),
/// is [`BadInput`] (exit 2) in one line naming the Go needed and the fix.
pub fn locate(go: &Path) -> anyhow::Result<(GoToolchain, PathBuf)> {
    let needed = "leakbench goker needs the source tree of Go >= 1.26, where Go keeps its goroutine leak test programs";
    let fix = "fix: install Go >= 1.26 from https://go.dev/dl (its archive includes src/), or pass --go PATH to one";
    let tc = match GoToolchain::detect(go) {
        Ok(tc) => tc,
        Err(fixture_build::BuildError::TooOld(v)) => {
            return Err(BadInput(format!("{needed}; `{}` is {v} ({fix})", go.display())).into())
        }
        Err(e) => return Err(e.into()),
    };
    let out = Command::new(&tc.go)
        .args(["env", "GOROOT"])
        .output()
        .map_err(|source| CasesError::Spawn {
            cmd: format!("{} env GOROOT", tc.go.display()),
            source,
        })?;
    let goroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    for rel in [TEST_FILE, PROGRAMS_DIR] {
        let p = goroot.join(rel);
        if !p.exists() {
            return Err(BadInput(format!(
                "{needed}; {} ({}) has no {} ({fix})",
                goroot.display(),
                tc.version,
                p.display()
            ))
            .into());
        }
    }
    Ok((tc, goroot))
}

/// Runs the helper (`go run ./tools/goker ARGS` in the fixtures module) and parses what it
/// prints. `wrap_into`, when given, also has it write the wrapped module there.
pub fn discover(
    tc: &GoToolchain,
    goroot: &Path,
    fixtures_dir: &Path,
    wrap_into: Option<&Path>,
) -> Result<Discovery, CasesError> {
    let mut cmd = Command::new(&tc.go);
    cmd.current_dir(fixtures_dir)
        .args(["run", HELPER])
        .arg(if wrap_into.is_some() {
            "wrap"
        } else {
            "discover"
        })
        .arg("-goroot")
        .arg(goroot)
        // The helper's type checker asks this GOROOT's go command for export data.
        .env("GOROOT", goroot);
    if let Some(out) = wrap_into {
        cmd.arg("-fixtures").arg(fixtures_dir).arg("-out").arg(out);
    }
    let shown = format!(
        "{} run {HELPER} {} -goroot {}",
        tc.go.display(),
        if wrap_into.is_some() {
            "wrap"
        } else {
            "discover"
        },
        goroot.display()
    );
    let out = cmd.output().map_err(|source| CasesError::Spawn {
        cmd: shown.clone(),
        source,
    })?;
    if !out.status.success() {
        return Err(CasesError::Helper {
            cmd: shown,
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        });
    }
    Discovery::parse(&String::from_utf8_lossy(&out.stdout))
}

/// The wrapped module of one Go version: `.cache/goker/<go version>/` under the repository.
pub fn wrapped_module(cache_root: &Path, tc: &GoToolchain) -> PathBuf {
    cache_root.join("goker").join(&tc.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expected: &[&str], flaky: &[&str]) -> Case {
        Case {
            name: "Acme12".into(),
            package: "goker".into(),
            fixture: "testgoroutineleakprofile-goker".into(),
            file: "goker/acme12.go".into(),
            group: "goker".into(),
            project: "acme".into(),
            kernel: Some("acme_12".into()),
            flaky: !flaky.is_empty(),
            simple: flaky.is_empty(),
            env: vec![],
            expected: expected.iter().map(|s| s.to_string()).collect(),
            flaky_leaks: flaky.iter().map(|s| s.to_string()).collect(),
            no_leak: expected.is_empty() && flaky.is_empty(),
            test_line: 1,
            entry: "Acme12".into(),
            init_registered: false,
            exits_process: false,
            on_main: false,
            shared_state: vec![],
            repeatable: true,
            not_repeatable: String::new(),
        }
    }

    #[test]
    fn site_regex_keeps_the_function_part() {
        let c = case(
            &[
                r"\(\*Stopper_x\)\.RunWorker\.func1\(.* \[chan send\]",
                r"Acme12\.func2\.1.* \[sync\.Mutex\.Lock\]",
            ],
            &[],
        );
        assert_eq!(
            c.site_regex(),
            r"\(\*Stopper_x\)\.RunWorker\.func1|Acme12\.func2\.1"
        );
        assert_eq!(c.kind(), Kind::Strict);
        assert_eq!(case(&[], &[]).kind(), Kind::NoLeak);
        assert_eq!(case(&[], &["x"]).kind(), Kind::Flaky);
    }

    #[test]
    fn discovery_json_with_go_nulls_and_bad_regexes() {
        let c = case(&[r"A\.func1\(.* \[chan send\]"], &[]);
        let mut v = serde_json::json!({
            "goroot": "/g", "go_version": "go1.26.8", "test_file": "t", "programs": "p",
            "cases": [c], "untested": null, "unregistered": null, "skipped": null
        });
        let d = Discovery::parse(&v.to_string()).unwrap();
        assert_eq!(d.cases.len(), 1);
        assert!(d.untested.is_empty() && d.case("Acme12").is_some());
        v["cases"][0]["expected"] = serde_json::json!([r"A\.func1("]);
        let e = Discovery::parse(&v.to_string()).unwrap_err().to_string();
        assert!(e.contains("Acme12") && e.contains(r"A\.func1("), "{e}");
    }
}
