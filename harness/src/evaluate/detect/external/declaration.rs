//! The detectors file: where external detectors are declared (TOML, one `[[detector]]` table
//! each; the schema is in `docs/detector-protocol.md`), read and checked into [`External`]s.
//!
//! ```toml
//! [[detector]]
//! name = "leakprof"                      # lower-case letters, digits and `-`
//! protocol = 1                           # the protocol version it speaks
//! command = ["python3", "{dir}/leakprof.py", "--threshold", "100"]
//! watches = "goroutines"                 # a `leakbench detectors` series: without it, "not applicable"
//! threshold = "more than 100 goroutines blocked at one channel operation"   # optional
//! window_s = 10.0                        # optional: the trend window it judges over
//! sample_timeout_s = 5.0                 # optional: most seconds per answer
//! trace_timeout_s = 60.0                 # optional: most seconds per trace
//! env = { LEAKPROF_VERBOSE = "1" }       # optional: added to its minimal environment
//! ```
//!
//! `command` is an argument vector, never a shell line. `{dir}` in any of its elements is the
//! detectors file's directory; a relative program path with a `/` is relative to that
//! directory too (a detector runs in an empty temporary directory, so nothing else would make
//! sense); a bare program name is looked up on `PATH` now, so a missing program is found
//! before anything runs.
//!
//! Owns the file's schema and every check on it. Each bad input is one
//! [`DetectError::Declaration`] naming the file, the key and the fix. Must not start the
//! program (that is [`super::session`]).

use super::{External, Limits};
use crate::evaluate::detect::{registry, DetectError, Watched};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `{dir}` stands for in `command`.
pub const DIR_PLACEHOLDER: &str = "{dir}";

/// Default most seconds from writing a sample to reading its answer. The first answer also
/// pays for the program's start-up (an interpreter, a JIT), so it is generous.
pub const SAMPLE_TIMEOUT_S: f64 = 5.0;
/// Default most seconds for a whole trace: a 20 s trace at 0.5 s has 40 samples, which a
/// detector answering in tens of milliseconds sends through in a few seconds.
pub const TRACE_TIMEOUT_S: f64 = 60.0;
/// No limit may exceed an hour: a longer one would let a hung detector hold a run for good.
const MAX_TIMEOUT_S: f64 = 3600.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    detector: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Option<String>,
    protocol: Option<u32>,
    command: Option<Vec<String>>,
    watches: Option<String>,
    threshold: Option<String>,
    window_s: Option<f64>,
    sample_timeout_s: Option<f64>,
    trace_timeout_s: Option<f64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, key: &str, problem: impl Into<String>, fix: impl Into<String>) -> DetectError {
        DetectError::Declaration {
            path: self.path.display().to_string(),
            key: key.to_string(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Reads and checks the detectors file at `path`.
pub fn load(path: &Path) -> Result<Vec<External>, DetectError> {
    let cx = Ctx { path };
    let text = std::fs::read_to_string(path).map_err(|e| {
        cx.err(
            "-",
            format!("cannot read: {e}"),
            "pass a detectors file (e.g. examples/detectors/leakprof/leakprof.toml)",
        )
    })?;
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    parse(path, &text, &dir, std::env::var_os("PATH").as_deref())
}

/// Parses detectors-file text. `dir` is what `{dir}` stands for; `search_path` is the `PATH`
/// bare program names are looked up on.
pub fn parse(
    path: &Path,
    text: &str,
    dir: &Path,
    search_path: Option<&std::ffi::OsStr>,
) -> Result<Vec<External>, DetectError> {
    let cx = Ctx { path };
    let file: File = toml::from_str(text).map_err(|e| {
        cx.err(
            "-",
            format!("not a detectors file: {}", one_line(e.message())),
            "write one [[detector]] table per detector with name, protocol, command and watches (see docs/detector-protocol.md)",
        )
    })?;
    if file.detector.is_empty() {
        return Err(cx.err(
            "detector",
            "no [[detector]] table",
            "declare at least one detector (see docs/detector-protocol.md)",
        ));
    }
    let mut out: Vec<External> = Vec::new();
    for (i, e) in file.detector.into_iter().enumerate() {
        let d = entry(&cx, i, e, dir, search_path)?;
        let key = format!("detector[{i}].name");
        if registry().iter().any(|b| b.name == d.name) {
            return Err(cx.err(
                &key,
                format!("`{}` is a built-in detector's name", d.name),
                "choose another name (see `leakbench detectors`)",
            ));
        }
        if out.iter().any(|o| o.name == d.name) {
            return Err(cx.err(
                &key,
                format!("`{}` is declared twice", d.name),
                "give each detector its own name",
            ));
        }
        out.push(d);
    }
    Ok(out)
}

fn entry(
    cx: &Ctx,
    i: usize,
    e: Entry,
    dir: &Path,
    search_path: Option<&std::ffi::OsStr>,
) -> Result<External, DetectError> {
    let key = |k: &str| format!("detector[{i}].{k}");
    let missing = |k: &str, fix: &str| cx.err(&key(k), "missing", fix);
    let name = e
        .name
        .ok_or_else(|| missing("name", "add name = \"my-detector\""))?;
    let name_ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !name_ok {
        return Err(cx.err(
            &key("name"),
            format!("`{name}` is not a detector name"),
            "use 1-40 lower-case letters, digits and `-`, e.g. \"leakprof\"",
        ));
    }
    let protocol = e.protocol.ok_or_else(|| {
        missing(
            "protocol",
            &format!(
                "add protocol = {} (the version it speaks)",
                super::PROTOCOL_VERSION
            ),
        )
    })?;
    if protocol != super::PROTOCOL_VERSION {
        return Err(cx.err(
            &key("protocol"),
            format!(
                "speaks protocol version {protocol}; this leakbench speaks {}",
                super::PROTOCOL_VERSION
            ),
            format!(
                "port the detector to version {} (docs/detector-protocol.md)",
                super::PROTOCOL_VERSION
            ),
        ));
    }
    let command = e.command.ok_or_else(|| {
        missing(
            "command",
            "add command = [\"program\", \"arg\", ...] (an argument vector, no shell)",
        )
    })?;
    let Some((program, args)) = command.split_first() else {
        return Err(cx.err(
            &key("command"),
            "empty",
            "name the program first, e.g. [\"python3\", \"{dir}/detector.py\"]",
        ));
    };
    let here = dir.display().to_string();
    let subst = |a: &str| a.replace(DIR_PLACEHOLDER, &here);
    let program = resolve(cx, &key("command"), &subst(program), dir, search_path)?;
    let args: Vec<String> = args.iter().map(|a| subst(a)).collect();
    let watches_key = key("watches");
    let watched_names = || {
        Watched::ALL
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let watches = e.watches.ok_or_else(|| {
        missing(
            "watches",
            &format!("add watches = \"...\", one of {}", watched_names()),
        )
    })?;
    let watches = Watched::parse(&watches).ok_or_else(|| {
        cx.err(
            &watches_key,
            format!("unknown series `{watches}`"),
            format!("use one of {}", watched_names()),
        )
    })?;
    let secs = |k: &str, v: Option<f64>, default: f64| -> Result<Duration, DetectError> {
        let v = v.unwrap_or(default);
        if !(v > 0.0 && v <= MAX_TIMEOUT_S) {
            return Err(cx.err(
                &key(k),
                format!("{v} s"),
                format!("give seconds in (0, {MAX_TIMEOUT_S}]"),
            ));
        }
        Ok(Duration::from_secs_f64(v))
    };
    let limits = Limits {
        sample: secs("sample_timeout_s", e.sample_timeout_s, SAMPLE_TIMEOUT_S)?,
        trace: secs("trace_timeout_s", e.trace_timeout_s, TRACE_TIMEOUT_S)?,
    };
    if let Some(w) = e.window_s {
        if !(w.is_finite() && w > 0.0) {
            return Err(cx.err(
                &key("window_s"),
                format!("{w} s"),
                "give a positive number of seconds, or leave it out",
            ));
        }
    }
    if let Some(k) = e
        .env
        .keys()
        .find(|k| k.is_empty() || k.contains(['=', '\0']))
    {
        return Err(cx.err(
            &key("env"),
            format!("`{k}` is not a variable name"),
            "use names without `=`",
        ));
    }
    let threshold = e.threshold.unwrap_or_else(|| {
        format!(
            "its own (declared in {})",
            cx.path.file_name().map_or_else(
                || cx.path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        )
    });
    Ok(External {
        name,
        watches,
        threshold,
        window_s: e.window_s,
        program,
        args,
        env: e.env,
        limits,
        declared_in: cx.path.to_path_buf(),
    })
}

/// The program to execute: a bare name looked up on `search_path`, a relative path with a
/// `/` taken from `dir`, an absolute path as is. It must exist and be a file.
fn resolve(
    cx: &Ctx,
    key: &str,
    program: &str,
    dir: &Path,
    search_path: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, DetectError> {
    if program.is_empty() {
        return Err(cx.err(key, "the program is empty", "name the program first"));
    }
    let found = if program.contains('/') {
        Some(dir.join(program)).filter(|p| executable(p))
    } else {
        search_path
            .into_iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(program))
            .find(|p| executable(p))
    };
    found.ok_or_else(|| {
        let where_ = if program.contains('/') {
            format!("no executable file `{}`", dir.join(program).display())
        } else {
            format!("`{program}` is not on PATH")
        };
        cx.err(
            key,
            where_,
            "install it, or give its path (`{dir}/...` is the detectors file's directory)",
        )
    })
}

/// A file with an execute bit: what `execve` (and a shell's PATH search) would run.
fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PATH with one directory holding an executable `det`.
    fn bin() -> (tempfile::TempDir, std::ffi::OsString) {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let det = d.path().join("det");
        std::fs::write(&det, "").unwrap();
        std::fs::set_permissions(&det, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.path().join("plain"), "").unwrap();
        let p = d.path().as_os_str().to_owned();
        (d, p)
    }

    fn parse_text(text: &str) -> Result<Vec<External>, DetectError> {
        let (d, path) = bin();
        parse(Path::new("dets.toml"), text, d.path(), Some(&path))
    }

    const GOOD: &str = r#"
[[detector]]
name = "mine"
protocol = 1
command = ["det", "{dir}/x.py", "--flag"]
watches = "goroutines"
sample_timeout_s = 0.5
env = { A = "1" }
"#;

    #[test]
    fn a_declaration_resolves_its_program_and_fills_defaults() {
        let (d, path) = bin();
        let got = parse(Path::new("/x/dets.toml"), GOOD, d.path(), Some(&path)).unwrap();
        assert_eq!(got.len(), 1);
        let e = &got[0];
        assert_eq!(e.name, "mine");
        assert_eq!(e.program, d.path().join("det"));
        assert_eq!(
            e.args,
            vec![format!("{}/x.py", d.path().display()), "--flag".into()]
        );
        assert_eq!(e.watches, Watched::Goroutines);
        assert_eq!(e.limits.sample, Duration::from_millis(500));
        assert_eq!(e.limits.trace, Duration::from_secs_f64(TRACE_TIMEOUT_S));
        assert_eq!(e.env.get("A").map(String::as_str), Some("1"));
        assert!(e.threshold.contains("dets.toml"), "{}", e.threshold);
        // A relative path with a slash is the file's directory's.
        let rel = GOOD.replace("[\"det\",", "[\"./det\",");
        assert_eq!(
            parse_text(&rel).unwrap()[0].program.file_name().unwrap(),
            "det"
        );
    }

    #[test]
    fn each_bad_declaration_names_its_key_and_fix() {
        let cases: &[(&str, &str, &str)] = &[
            ("name = \"mine\"", "name = \"Mine!\"", "detector[0].name"),
            ("name = \"mine\"", "name = \"c-gap\"", "built-in"),
            ("protocol = 1", "protocol = 2", "speaks protocol version 2"),
            ("protocol = 1", "", "detector[0].protocol`: missing"),
            ("[\"det\",", "[\"nope-not-here\",", "not on PATH"),
            ("[\"det\",", "[\"./nope\",", "no executable file"),
            ("[\"det\",", "[\"plain\",", "not on PATH"),
            (
                "watches = \"goroutines\"",
                "watches = \"cpu\"",
                "unknown series `cpu`",
            ),
            (
                "sample_timeout_s = 0.5",
                "sample_timeout_s = 0",
                "sample_timeout_s",
            ),
            (
                "sample_timeout_s = 0.5",
                "sample_timeout_s = 1e9",
                "(0, 3600]",
            ),
            (
                "env = { A = \"1\" }",
                "shell = true",
                "not a detectors file",
            ),
        ];
        for (from, to, want) in cases {
            let text = GOOD.replace(from, to);
            let e = parse_text(&text).unwrap_err().to_string();
            assert!(
                e.contains(want) && e.starts_with("dets.toml: key `") && e.contains("(fix: "),
                "{to}: {e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
        let twice = format!("{GOOD}{GOOD}");
        assert!(parse_text(&twice)
            .unwrap_err()
            .to_string()
            .contains("declared twice"));
        assert!(parse_text("")
            .unwrap_err()
            .to_string()
            .contains("no [[detector]]"));
    }

    #[test]
    fn a_missing_file_is_a_declaration_error_naming_it() {
        let e = load(Path::new("/nonexistent/dets.toml")).unwrap_err();
        assert!(matches!(e, DetectError::Declaration { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/dets.toml"), "{e}");
    }
}
