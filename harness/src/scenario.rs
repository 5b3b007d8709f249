//! Scenario files (`scenarios/*.toml`): parsing and validation into [`Scenario`].
//!
//! Owns the scenario schema (documented in `docs/scenario-format.md`) and every check on it.
//! Every bad input becomes one [`ScenarioError`] naming the file, the key and the fix; the CLI
//! maps it to exit code 2. Must not start processes or touch results.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::leak_class::{BadClass, LeakClass, Observable};

/// What a scenario is for, derived from its truth and leak parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// It leaks.
    Leak,
    /// The non-leaking twin of a leak (same fixture, `fixed = true`).
    Twin,
    /// Looks like a leak, is not.
    HardNegative,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leak => "leak",
            Role::Twin => "twin",
            Role::HardNegative => "hard-negative",
        }
    }

    /// The inverse of [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Leak, Role::Twin, Role::HardNegative]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Leak parameters, passed to the fixture as flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakParams {
    /// `-onset`: seconds after start-up at which the leak starts.
    #[serde(default)]
    pub onset_s: f64,
    /// `-rate`: leaked units per second.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// `-max-units`: bound on the total leak.
    #[serde(default = "default_max_units")]
    pub max_units: u64,
    /// `-seed`: base seed; the repetition index is added.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `-fixed`: run the non-leaking twin.
    #[serde(default)]
    pub fixed: bool,
}

fn default_rate() -> f64 {
    10.0
}
fn default_max_units() -> u64 {
    10_000
}
fn default_seed() -> u64 {
    1
}

/// What the scenario is, for scoring. Read (from scenario files and from runs) through
/// [`TruthFile`], so runs recorded before `grows` existed still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TruthFile")]
pub struct GroundTruth {
    pub leaking: bool,
    /// The cause (free text, a slug): what the leak is, in the scenario's words.
    pub class: LeakClass,
    /// What grows when it leaks (for a twin or a hard negative: what it imitates), never
    /// empty, no duplicates. Detectors are right about the class when what they saw grow is
    /// among these.
    pub grows: Vec<Observable>,
    /// Regex a detector's reported site must match.
    pub site: String,
    /// Seconds after onset within which a detection counts as timely.
    pub tolerance_s: f64,
    /// For a program that does not serve `/leakbench/truth` (`program = ...`): the onset the
    /// user declares, in seconds after readiness. Scored as declared, not measured (the trace
    /// metadata and the score notes say so); a measured onset, when served, wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_onset_s: Option<f64>,
}

/// `[truth]` as written. `grows` may be left out for the five classes the first benchmark
/// had ([`LeakClass::legacy_grows`]): their scenario files and every run recorded before it
/// existed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TruthFile {
    leaking: bool,
    class: LeakClass,
    #[serde(default)]
    grows: Option<Vec<Observable>>,
    site: String,
    #[serde(default = "default_tolerance")]
    tolerance_s: f64,
    #[serde(default)]
    declared_onset_s: Option<f64>,
}

/// Why `truth.grows` is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrowsError {
    #[error("class `{0}` needs `grows`: what its leak grows")]
    Missing(LeakClass),
    #[error("`grows` is empty")]
    Empty,
    #[error("`grows` names `{0}` twice")]
    Twice(Observable),
}

impl GrowsError {
    fn fix(&self) -> String {
        let choices = Observable::choices();
        match self {
            GrowsError::Twice(_) => "name each observable once".into(),
            _ => format!("add `grows = [...]` with one or more of {choices}"),
        }
    }
}

impl TryFrom<TruthFile> for GroundTruth {
    type Error = GrowsError;

    fn try_from(f: TruthFile) -> Result<Self, Self::Error> {
        let grows = match f.grows {
            Some(g) => g,
            None => f
                .class
                .legacy_grows()
                .ok_or_else(|| GrowsError::Missing(f.class.clone()))?
                .to_vec(),
        };
        if grows.is_empty() {
            return Err(GrowsError::Empty);
        }
        if let Some(o) = grows
            .iter()
            .enumerate()
            .find(|(i, o)| grows[..*i].contains(o))
            .map(|(_, o)| *o)
        {
            return Err(GrowsError::Twice(o));
        }
        Ok(GroundTruth {
            leaking: f.leaking,
            class: f.class,
            grows,
            site: f.site,
            tolerance_s: f.tolerance_s,
            declared_onset_s: f.declared_onset_s,
        })
    }
}

fn default_tolerance() -> f64 {
    10.0
}

/// The file as written; validated into [`Scenario`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    fixture: Option<String>,
    /// Bring your own program: a Go package directory or a prebuilt binary, relative to the
    /// scenario file.
    #[serde(default)]
    program: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    duration_s: f64,
    #[serde(default = "default_interval")]
    interval_s: f64,
    #[serde(default)]
    warmup_s: f64,
    #[serde(default = "default_rss_cap")]
    rss_cap_mib: u64,
    #[serde(default)]
    gomemlimit_mib: Option<u64>,
    #[serde(default = "default_leak")]
    leak: LeakParams,
    truth: TruthFile,
}

/// The sampling interval when a scenario names none (and `leakbench record`'s default),
/// seconds.
pub const DEFAULT_INTERVAL_S: f64 = 0.5;

fn default_interval() -> f64 {
    DEFAULT_INTERVAL_S
}
fn default_rss_cap() -> u64 {
    1024
}
fn default_leak() -> LeakParams {
    LeakParams {
        onset_s: 0.0,
        rate: default_rate(),
        max_units: default_max_units(),
        seed: default_seed(),
        fixed: false,
    }
}

/// A validated scenario. Serialized into each repetition's `meta.json` (and `run.json`'s
/// `scenario_defs`), so a trace carries the ground truth it is scored against. Runs written
/// before the class lived only in `truth.class` also carry a top-level `class`, the same
/// name; loading ignores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The file stem.
    pub name: String,
    /// Where it was loaded from.
    pub path: PathBuf,
    pub description: String,
    /// Directory name under `go-fixtures/cmd/`; for a [`Scenario::program`] scenario, the
    /// program's absolute path (so builds and twins are keyed by it).
    pub fixture: String,
    /// A program of the user's own (a Go package directory or a prebuilt binary), absolute:
    /// run with the scenario's `args` only (no kit flags), `{listen}` in them replaced by the
    /// address it must serve on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub duration_s: f64,
    pub interval_s: f64,
    pub warmup_s: f64,
    pub rss_cap_mib: u64,
    pub gomemlimit_mib: Option<u64>,
    pub leak: LeakParams,
    pub truth: GroundTruth,
}

impl Scenario {
    pub fn role(&self) -> Role {
        if self.truth.leaking {
            Role::Leak
        } else if self.leak.fixed {
            Role::Twin
        } else {
            Role::HardNegative
        }
    }

    /// The expected-site regex (validated on load, so this cannot fail).
    pub fn site_regex(&self) -> Regex {
        Regex::new(&self.truth.site).expect("validated on load")
    }

    /// The fixture's command-line flags: the leak parameters, then the scenario's `args`
    /// (a [`Scenario::program`] gets its `args` only: it knows no kit flags).
    /// An argument vector: no shell ever sees it.
    pub fn fixture_args(&self, rep: u32) -> Vec<String> {
        if self.program.is_some() {
            return self.args.clone();
        }
        let mut a = vec![
            format!("-onset={}ms", (self.leak.onset_s * 1000.0).round() as u64),
            format!("-rate={}", self.leak.rate),
            format!("-max-units={}", self.leak.max_units),
            format!("-seed={}", self.leak.seed + rep as u64),
            // A safety net: the fixture stops itself even if the harness cannot.
            format!("-duration={}ms", ((self.duration_s + 30.0) * 1000.0) as u64),
        ];
        if self.leak.fixed {
            a.push("-fixed".into());
        }
        a.extend(self.args.iter().cloned());
        a
    }
}

/// A bad scenario file: which file, which key, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: key `{key}`: {problem} (fix: {fix})")]
pub struct ScenarioError {
    pub path: String,
    pub key: String,
    pub problem: String,
    pub fix: String,
}

fn err(
    path: &Path,
    key: &str,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> ScenarioError {
    ScenarioError {
        path: path.display().to_string(),
        key: key.to_string(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Parses and validates scenario text. `fixtures_dir` (`go-fixtures/`), when given, is checked
/// for the fixture's directory.
pub fn parse(
    path: &Path,
    text: &str,
    fixtures_dir: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(err(
            path,
            "(file name)",
            "scenario names are letters, digits, '-', '_' and '.'",
            "rename the file",
        ));
    }
    let (fixture, program) = match (file.fixture, file.program) {
        (Some(f), None) => (check_fixture(path, f, fixtures_dir)?, None),
        (None, Some(p)) => {
            let prog = program_path(path, &p)?;
            (prog.display().to_string(), Some(prog))
        }
        _ => return Err(err(
            path,
            "fixture",
            "a scenario names exactly one of `fixture` and `program`",
            "set `fixture = \"NAME\"` (go-fixtures/cmd/NAME) or `program = \"PATH\"` (your own)",
        )),
    };
    let positive = |key: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(err(
                path,
                key,
                format!("must be a positive number of seconds, got {v}"),
                format!("set {key} > 0"),
            ))
        }
    };
    positive("duration_s", file.duration_s)?;
    positive("interval_s", file.interval_s)?;
    if file.interval_s >= file.duration_s {
        return Err(err(
            path,
            "interval_s",
            format!(
                "interval {} s is not shorter than duration_s {} s",
                file.interval_s, file.duration_s
            ),
            "make interval_s smaller than duration_s",
        ));
    }
    if !(file.warmup_s.is_finite() && file.warmup_s >= 0.0 && file.warmup_s < file.duration_s) {
        return Err(err(
            path,
            "warmup_s",
            format!("must be in [0, duration_s), got {}", file.warmup_s),
            "set 0 <= warmup_s < duration_s",
        ));
    }
    if !(file.leak.onset_s.is_finite() && file.leak.onset_s >= 0.0) {
        return Err(err(
            path,
            "leak.onset_s",
            format!("must be >= 0, got {}", file.leak.onset_s),
            "set leak.onset_s >= 0",
        ));
    }
    if file.leak.onset_s >= file.duration_s {
        return Err(err(
            path,
            "leak.onset_s",
            format!(
                "onset {} s is not before the end of the run (duration_s = {} s)",
                file.leak.onset_s, file.duration_s
            ),
            "make leak.onset_s smaller than duration_s, or duration_s longer",
        ));
    }
    if !(file.leak.rate.is_finite() && file.leak.rate > 0.0) {
        return Err(err(
            path,
            "leak.rate",
            format!("must be > 0 units per second, got {}", file.leak.rate),
            "set leak.rate > 0",
        ));
    }
    if file.rss_cap_mib == 0 {
        return Err(err(
            path,
            "rss_cap_mib",
            "must be > 0",
            "set rss_cap_mib to a cap in MiB, e.g. 1024",
        ));
    }
    if file.gomemlimit_mib == Some(0) {
        return Err(err(
            path,
            "gomemlimit_mib",
            "must be > 0",
            "remove it or set a limit in MiB",
        ));
    }
    if let Err(e) = Regex::new(&file.truth.site) {
        let first = e
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        return Err(err(
            path,
            "truth.site",
            format!("not a valid regex: {first}"),
            "escape special characters, e.g. 'main\\.sendResult'",
        ));
    }
    if file.truth.leaking && file.truth.site.is_empty() {
        return Err(err(
            path,
            "truth.site",
            "a leaking scenario needs an expected site",
            "set truth.site to a regex of the leaking function",
        ));
    }
    if !(file.truth.tolerance_s.is_finite() && file.truth.tolerance_s > 0.0) {
        return Err(err(
            path,
            "truth.tolerance_s",
            format!("must be > 0, got {}", file.truth.tolerance_s),
            "set truth.tolerance_s > 0",
        ));
    }
    let truth = GroundTruth::try_from(file.truth.clone())
        .map_err(|e| err(path, "truth.grows", e.to_string(), e.fix()))?;
    if file.truth.leaking && file.leak.fixed {
        return Err(err(
            path,
            "leak.fixed",
            "a scenario running the fixed twin cannot be leaking",
            "set truth.leaking = false, or leak.fixed = false",
        ));
    }
    if let Some(d) = file.truth.declared_onset_s {
        if !(d.is_finite() && d >= 0.0 && d < file.duration_s) {
            return Err(err(
                path,
                "truth.declared_onset_s",
                format!("must be in [0, duration_s), got {d}"),
                "set it to the seconds after readiness at which the leak starts",
            ));
        }
    }
    for k in file.env.keys() {
        if k.is_empty() || k.contains('=') || k == "LEAKBENCH_LISTEN" {
            return Err(err(
                path,
                &format!("env.{k}"),
                "not a settable environment variable",
                "remove it (LEAKBENCH_LISTEN is set by the harness)",
            ));
        }
    }
    Ok(Scenario {
        name,
        path: path.to_path_buf(),
        description: file.description,
        fixture,
        program,
        args: file.args,
        env: file.env,
        duration_s: file.duration_s,
        interval_s: file.interval_s,
        warmup_s: file.warmup_s,
        rss_cap_mib: file.rss_cap_mib,
        gomemlimit_mib: file.gomemlimit_mib,
        leak: file.leak,
        truth,
    })
}

/// A `fixture = NAME`: a directory name under `go-fixtures/cmd/`, checked there when
/// `fixtures_dir` is given.
fn check_fixture(
    path: &Path,
    fixture: String,
    fixtures_dir: Option<&Path>,
) -> Result<String, ScenarioError> {
    if fixture.is_empty()
        || !fixture
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err(err(
            path,
            "fixture",
            format!("`{fixture}` is not a fixture name"),
            "name a directory under go-fixtures/cmd/ (letters, digits, '-', '_')",
        ));
    }
    if let Some(dir) = fixtures_dir {
        let d = dir.join("cmd").join(&fixture);
        if !d.is_dir() {
            return Err(err(
                path,
                "fixture",
                format!("no fixture directory {}", d.display()),
                "name a directory under go-fixtures/cmd/, or create it",
            ));
        }
    }
    Ok(fixture)
}

/// A `program = PATH`, relative to the scenario file's directory: it must exist.
fn program_path(path: &Path, program: &str) -> Result<PathBuf, ScenarioError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let p = base.join(program);
    p.canonicalize().map_err(|e| {
        err(
            path,
            "program",
            format!("`{}`: {e}", p.display()),
            "give a Go package directory or a binary, relative to the scenario file",
        )
    })
}

/// Turns a TOML error into one line naming the key. The toml crate reports unknown keys and
/// type errors with a message and a byte span; the key is recovered from the message
/// (`unknown field `x``, `missing field `x``) or from the text under the span.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ScenarioError {
    // toml's messages may span lines ("invalid table header\nexpected ..."): one line please.
    let msg = e
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    let table = e
        .span()
        .and_then(|s| enclosing_table(text, s.start))
        .map(|t| format!("{t}."))
        .unwrap_or_default();
    if msg.starts_with("unknown field") {
        let key = quoted(&msg).unwrap_or_default();
        let expected = msg
            .split("expected")
            .nth(1)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        return err(
            path,
            &format!("{table}{key}"),
            "unknown key",
            format!("remove or rename it; expected {expected}"),
        );
    }
    if msg.starts_with("missing field") {
        let key = quoted(&msg).unwrap_or_default();
        return err(
            path,
            &format!("{table}{key}"),
            "required key is missing",
            format!("add `{key} = ...`"),
        );
    }
    let key = e
        .span()
        .and_then(|s| key_at(text, s.start))
        .map(|k| format!("{table}{k}"))
        .unwrap_or_else(|| "(syntax)".to_string());
    if msg.contains("is not a slug") {
        // From [`LeakClass`]'s deserializer (a [`BadClass`]): the message says it all.
        return err(path, &key, msg, BadClass::fix());
    }
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
        .unwrap_or(0);
    err(
        path,
        &key,
        format!("{msg} (line {line})"),
        "see docs/scenario-format.md for the schema",
    )
}

/// The `[table]` header in force at byte `pos`, if any.
fn enclosing_table(text: &str, pos: usize) -> Option<String> {
    let before = &text[..pos.min(text.len())];
    let mut table = None;
    for l in before.lines() {
        let l = l.trim();
        if l.starts_with('[') && l.ends_with(']') {
            table = Some(l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        }
    }
    table
}

/// The `key` of the `key = value` line containing byte `pos`.
fn key_at(text: &str, pos: usize) -> Option<String> {
    let start = text[..pos.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    (!k.is_empty() && !k.starts_with('[')).then(|| k.to_string())
}

/// Loads and validates one file.
pub fn load_file(path: &Path, fixtures_dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            path,
            "(file)",
            format!("cannot read: {e}"),
            "check the path; scenarios live in scenarios/*.toml",
        )
    })?;
    parse(path, &text, fixtures_dir)
}

/// Loads every `*.toml` in `dir`, sorted by name. The first bad file is an error: a benchmark
/// must not silently run a subset.
pub fn load_dir(dir: &Path, fixtures_dir: Option<&Path>) -> Result<Vec<Scenario>, ScenarioError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        err(
            dir,
            "(directory)",
            format!("cannot read: {e}"),
            "run inside the repository or pass --root DIR",
        )
    })?;
    let paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    let mut all = paths
        .iter()
        .map(|p| load_file(p, fixtures_dir))
        .collect::<Result<Vec<_>, _>>()?;
    // By name, not path: `x` before `x-fixed` (in paths, `x-fixed.toml` sorts first).
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// Resolves command-line SCENARIO arguments: each is a name from `all`, or a path to a
/// scenario file. A relative path must stay inside `root` (the repository); an absolute path
/// may be anywhere. No arguments means all scenarios.
pub fn select(
    args: &[String],
    all: &[Scenario],
    root: &Path,
    fixtures_dir: Option<&Path>,
) -> Result<Vec<Scenario>, ScenarioError> {
    if args.is_empty() {
        return Ok(all.to_vec());
    }
    let mut out = Vec::new();
    for a in args {
        if let Some(s) = all.iter().find(|s| &s.name == a) {
            out.push(s.clone());
            continue;
        }
        let p = Path::new(a);
        let looks_like_path = a.ends_with(".toml") || a.contains('/');
        if !looks_like_path {
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            let near = names
                .iter()
                .find(|n| n.contains(a.as_str()) || a.contains(**n))
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            return Err(err(
                Path::new("(command line)"),
                "SCENARIO",
                format!("no scenario named `{a}`"),
                format!("{near}run `leakbench list` for the names, or give a path to a .toml file"),
            ));
        }
        if p.is_relative() {
            let base = std::env::current_dir().unwrap_or_default();
            let full = base.join(p);
            let canon = full
                .canonicalize()
                .map_err(|e| err(p, "(file)", format!("cannot read: {e}"), "check the path"))?;
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            if !canon.starts_with(&root) {
                return Err(err(
                    p,
                    "(file)",
                    format!("relative path leaves the repository ({})", root.display()),
                    "give an absolute path to use a scenario outside the repository",
                ));
            }
        }
        out.push(load_file(p, fixtures_dir)?);
    }
    // Traces are stored by name: two scenarios of one name would share a directory.
    let mut names: Vec<&Scenario> = out.iter().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = names.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(err(
            &w[1].path,
            "SCENARIO",
            format!(
                "scenario `{}` is given twice (also {})",
                w[1].name,
                w[0].path.display()
            ),
            "give each scenario once, or rename one of the files",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "d"
fixture = "fx"
duration_s = 20.0
interval_s = 0.5
warmup_s = 2.0
[leak]
onset_s = 6.0
rate = 20.0
[truth]
leaking = true
class = "goroutine"
site = 'main\.sendResult'
"#;

    fn p() -> &'static Path {
        Path::new("scenarios/x.toml")
    }

    #[test]
    fn good_file_parses_with_defaults() {
        let s = parse(p(), GOOD, None).unwrap();
        assert_eq!(s.name, "x");
        assert_eq!(s.truth.class.as_str(), "goroutine");
        assert_eq!(
            s.truth.grows,
            [Observable::Goroutines],
            "the legacy class's"
        );
        assert_eq!(s.role(), Role::Leak);
        assert_eq!(s.leak.max_units, 10_000);
        assert_eq!(s.rss_cap_mib, 1024);
        assert!(s.site_regex().is_match("main.sendResult"));
        let a = s.fixture_args(2);
        assert!(a.contains(&"-onset=6000ms".to_string()), "{a:?}");
        assert!(a.contains(&"-seed=3".to_string()), "{a:?}");
    }

    /// Every bad input names the file and the key, and says how to fix it.
    #[test]
    fn bad_inputs_name_file_key_and_fix() {
        let cases: &[(&str, &str, &str)] = &[
            ("unknown top-level key", "durration_s = 3\n", "durration_s"),
            ("unknown key in table", "", "truth.bogus"),
            ("zero duration", "", "duration_s"),
            ("negative duration", "", "duration_s"),
            ("onset after end", "", "leak.onset_s"),
            ("negative interval", "", "interval_s"),
            ("bad class", "", "truth.class"),
            ("new class without grows", "", "truth.grows"),
            ("unknown observable", "", "truth.grows"),
            ("empty grows", "", "truth.grows"),
            ("observable twice", "", "truth.grows"),
            ("bad regex", "", "truth.site"),
            ("wrong type", "", "duration_s"),
            ("missing fixture", "", "fixture"),
            ("malformed toml", "", "(syntax)"),
        ];
        for (what, _, key) in cases {
            let text = match *what {
                "unknown top-level key" => format!("durration_s = 3\n{GOOD}"),
                "unknown key in table" => {
                    GOOD.replace("leaking = true", "leaking = true\nbogus = 1")
                }
                "zero duration" => GOOD.replace("duration_s = 20.0", "duration_s = 0.0"),
                "negative duration" => GOOD.replace("duration_s = 20.0", "duration_s = -5.0"),
                "onset after end" => GOOD.replace("onset_s = 6.0", "onset_s = 25.0"),
                "negative interval" => GOOD.replace("interval_s = 0.5", "interval_s = -1.0"),
                "bad class" => GOOD.replace("\"goroutine\"", "\"Go routine\""),
                "new class without grows" => GOOD.replace("\"goroutine\"", "\"ticker\""),
                "unknown observable" => {
                    GOOD.replace("leaking = true", "leaking = true\ngrows = [\"heap\"]")
                }
                "empty grows" => GOOD.replace("leaking = true", "leaking = true\ngrows = []"),
                "observable twice" => GOOD.replace(
                    "leaking = true",
                    "leaking = true\ngrows = [\"go-heap\", \"goroutines\", \"go-heap\"]",
                ),
                "bad regex" => GOOD.replace(r"'main\.sendResult'", "'main(('"),
                "wrong type" => GOOD.replace("duration_s = 20.0", "duration_s = \"long\""),
                "missing fixture" => GOOD.replace("fixture = \"fx\"\n", ""),
                "malformed toml" => GOOD.replace("[truth]", "[truth"),
                _ => unreachable!(),
            };
            let e = parse(p(), &text, None).expect_err(what);
            let line = e.to_string();
            assert_eq!(&e.key, key, "{what}: {line}");
            assert!(
                line.starts_with("scenarios/x.toml: key `"),
                "{what}: {line}"
            );
            assert!(line.contains("(fix: "), "{what}: {line}");
            assert!(!line.contains('\n'), "{what}: one line please: {line}");
        }
    }

    #[test]
    fn bad_class_and_missing_grows_are_one_line_each_with_the_fix() {
        let e = parse(p(), &GOOD.replace("\"goroutine\"", "\"Thread\""), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "scenarios/x.toml: key `truth.class`: class `Thread` is not a slug (fix: {})",
                BadClass::fix()
            )
        );
        let e = parse(p(), &GOOD.replace("\"goroutine\"", "\"ticker\""), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "scenarios/x.toml: key `truth.grows`: class `ticker` needs `grows`: what its leak \
             grows (fix: add `grows = [...]` with one or more of goroutines, go-heap, c-memory, \
             finalizer-queue)"
        );
    }

    /// A new class is data: any slug, with what it grows.
    #[test]
    fn a_new_class_says_what_grows() {
        let text = GOOD.replace(
            "class = \"goroutine\"",
            "class = \"sync-pool\"\ngrows = [\"go-heap\", \"goroutines\"]",
        );
        let s = parse(p(), &text, None).unwrap();
        assert_eq!(s.truth.class.as_str(), "sync-pool");
        assert_eq!(s.truth.grows, [Observable::GoHeap, Observable::Goroutines]);
        // A legacy class may say it too, overriding its default.
        let text = GOOD.replace("leaking = true", "leaking = true\ngrows = [\"go-heap\"]");
        assert_eq!(
            parse(p(), &text, None).unwrap().truth.grows,
            [Observable::GoHeap]
        );
    }

    /// The class and what grows are written once, in `truth`, by the names the scenario file
    /// uses; a run's JSON without `grows` (recorded before it existed) reads the legacy
    /// class's.
    #[test]
    fn truth_round_trips_through_json_by_name() {
        let s = parse(p(), GOOD, None).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["truth"]["class"], "goroutine");
        assert_eq!(v["truth"]["grows"], serde_json::json!(["goroutines"]));
        assert!(v.get("class").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Scenario>(v.clone()).unwrap(), s);
        let mut old = v.clone();
        old["truth"].as_object_mut().unwrap().remove("grows");
        assert_eq!(serde_json::from_value::<Scenario>(old.clone()).unwrap(), s);
        let mut bad = old.clone();
        bad["truth"]["class"] = "Thread".into();
        let e = serde_json::from_value::<Scenario>(bad).unwrap_err();
        assert!(
            e.to_string().contains("class `Thread` is not a slug"),
            "{e}"
        );
        let mut new_without = old;
        new_without["truth"]["class"] = "thread".into();
        let e = serde_json::from_value::<Scenario>(new_without).unwrap_err();
        assert!(
            e.to_string().contains("class `thread` needs `grows`"),
            "{e}"
        );
    }

    /// Runs recorded before the class lived only in `truth` also carry a top-level `class`,
    /// and none says what grows: the committed runs still load, with the class their truth
    /// names and what that class grows.
    #[test]
    fn committed_runs_still_load() {
        for (file, text) in [
            (
                "replay/run/run.json",
                include_str!("../testdata/replay/run/run.json"),
            ),
            (
                "plot-run/run.json",
                include_str!("../testdata/plot-run/run.json"),
            ),
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let defs = v["scenario_defs"].as_array().unwrap();
            assert!(!defs.is_empty(), "{file}");
            for d in defs {
                assert!(
                    d.get("class").is_some(),
                    "{file}: an old run, top-level class"
                );
                let s: Scenario =
                    serde_json::from_value(d.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(s.truth.class.as_str(), d["class"], "{file}: {}", s.name);
                assert!(d["truth"].get("grows").is_none(), "{file}: an old run");
                assert_eq!(
                    Some(&s.truth.grows[..]),
                    s.truth.class.legacy_grows(),
                    "{file}: {}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn missing_fixture_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cmd/other")).unwrap();
        let e = parse(p(), GOOD, Some(dir.path())).unwrap_err();
        assert_eq!(e.key, "fixture");
        std::fs::create_dir_all(dir.path().join("cmd/fx")).unwrap();
        parse(p(), GOOD, Some(dir.path())).unwrap();
    }

    #[test]
    fn fixture_name_cannot_be_a_path() {
        let e = parse(p(), &GOOD.replace("\"fx\"", "\"../../etc\""), None).unwrap_err();
        assert_eq!(e.key, "fixture");
    }

    #[test]
    fn twin_role_and_leaking_fixed_conflict() {
        let twin = GOOD
            .replace("leaking = true", "leaking = false")
            .replace("rate = 20.0", "rate = 20.0\nfixed = true");
        assert_eq!(parse(p(), &twin, None).unwrap().role(), Role::Twin);
        let neg = GOOD.replace("leaking = true", "leaking = false");
        assert_eq!(parse(p(), &neg, None).unwrap().role(), Role::HardNegative);
        let bad = GOOD.replace("rate = 20.0", "rate = 20.0\nfixed = true");
        assert_eq!(parse(p(), &bad, None).unwrap_err().key, "leak.fixed");
    }

    #[test]
    fn select_by_name_and_rejects_unknown_and_escaping_paths() {
        let s = parse(p(), GOOD, None).unwrap();
        let all = vec![s];
        let root = tempfile::tempdir().unwrap();
        assert_eq!(select(&[], &all, root.path(), None).unwrap().len(), 1);
        assert_eq!(
            select(&["x".into()], &all, root.path(), None).unwrap()[0].name,
            "x"
        );
        let e = select(&["nope".into()], &all, root.path(), None).unwrap_err();
        assert_eq!(e.key, "SCENARIO");
        // A relative path outside the repository root is refused.
        let outside = tempfile::tempdir().unwrap();
        let f = outside.path().join("y.toml");
        std::fs::write(&f, GOOD).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let rel = pathdiff(&f, &cwd);
        let e = select(&[rel], &all, root.path(), None).unwrap_err();
        assert!(e.problem.contains("leaves the repository"), "{e}");
        // The same file given as an absolute path is allowed.
        let ok = select(&[f.display().to_string()], &all, root.path(), None).unwrap();
        assert_eq!(ok[0].name, "y");
        // The same name twice is refused: its traces would share one directory.
        let twice = [f.display().to_string(), "x".into()];
        let other = outside.path().join("x.toml");
        std::fs::write(&other, GOOD).unwrap();
        assert!(select(&twice, &all, root.path(), None).is_ok());
        let e = select(
            &["x".into(), other.display().to_string()],
            &all,
            root.path(),
            None,
        )
        .unwrap_err();
        assert!(e.problem.contains("given twice"), "{e}");
    }

    /// `target` relative to `base` via `..` components (both absolute).
    fn pathdiff(target: &Path, base: &Path) -> String {
        let ups = base.components().count() - 1;
        let mut s = "../".repeat(ups);
        s.push_str(target.strip_prefix("/").unwrap().to_str().unwrap());
        s
    }
}
