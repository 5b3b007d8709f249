//! The plan: which cases run in which mode, how often and for how long, as ordinary
//! [`Scenario`]s synthesized in memory, grouped into run directories by mode and by
//! repetition count (strict and no-leak cases get `strict_reps`, flaky ones `flaky_reps`; one
//! run directory has one repetition count, so each mode has a `-strict` and a `-flaky` one).
//!
//! Two modes, because detectors work on two time scales:
//! - **test**: the case runs once, at `onset_s` after start-up (as in Go's test and GoBench);
//!   snapshot detectors (the `goroutineleak` profile, goleak) judge it;
//! - **service**: the case starts at `onset_s` and again at `rate` runs per second, `runs` in
//!   all, each in its own goroutine (a request path that leaks on every call), so growth
//!   detectors have something to see. Cases the helper found cannot be repeated in one process
//!   are left out of it, with the reason kept in [`Plan::not_repeatable`].
//!
//! Owns the mode settings and the layout of a GoKer output directory. Must not run anything.

use crate::goker::cases::{Case, Discovery, Kind};
use crate::scenario::{self, Scenario};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A GoKer mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Service,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Test, Mode::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Service => "service",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a mode; use test or service"))
    }
}

/// How one mode runs a case. Seconds and runs per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModeSettings {
    /// When the (first) run starts, after start-up: samples before it are the baseline.
    pub onset_s: f64,
    pub duration_s: f64,
    pub interval_s: f64,
    /// Runs per second (service mode).
    pub rate: f64,
    /// Runs in all (1 in test mode).
    pub runs: u32,
}

/// Test mode: the cases wait at most about a second before Go's test takes its profile, and a
/// goleak verdict takes up to a second more (its retries, then the next tick), so 7 s after
/// the onset give every snapshot detector several looks at a settled program, with room for
/// a loaded machine.
pub const TEST: ModeSettings = ModeSettings {
    onset_s: 1.0,
    duration_s: 8.0,
    interval_s: 0.5,
    rate: 1.0,
    runs: 1,
};

/// Service mode: one run per second, 20 runs, after a 6 s baseline, sampled every 0.5 s as the
/// main matrix is. The baseline is what CUSUM calibrates on (10 increments after warm-up);
/// 0.5 s gives a 10 s trend window 20 points, enough for its thirds to test (the rule needs
/// four points a third); 20 runs bound the leak (a kernel leaks up to about 1600 goroutines a
/// run) and keep it growing for 20 s, twice the goroutine detectors' trend windows
/// (`leakbench detectors`).
pub const SERVICE: ModeSettings = ModeSettings {
    onset_s: 6.0,
    duration_s: 30.0,
    interval_s: 0.5,
    rate: 1.0,
    runs: 20,
};

/// RSS at which a wrapped program is stopped (`killed_at_cap`): service mode piles up
/// goroutines, and dozens of programs run at once.
pub const RSS_CAP_MIB: u64 = 512;

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    pub modes: Vec<Mode>,
    pub strict_reps: u32,
    pub flaky_reps: u32,
    pub test: ModeSettings,
    pub service: ModeSettings,
}

impl Options {
    pub fn settings(&self, m: Mode) -> ModeSettings {
        match m {
            Mode::Test => self.test,
            Mode::Service => self.service,
        }
    }
}

/// One run directory of a GoKer run: a mode and a repetition count.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub mode: Mode,
    /// `strict` (strict and no-leak cases) or `flaky`.
    pub flaky: bool,
    pub reps: u32,
    pub scenarios: Vec<Scenario>,
}

impl Group {
    /// `test-strict`, `service-flaky`, ...
    pub fn name(&self) -> String {
        group_name(self.mode, self.flaky)
    }

    pub fn dir(&self, out: &Path) -> PathBuf {
        out.join(self.name())
    }
}

pub fn group_name(mode: Mode, flaky: bool) -> String {
    format!("{mode}-{}", if flaky { "flaky" } else { "strict" })
}

/// The groups to run and the cases left out of service mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub groups: Vec<Group>,
    /// Case → why it does not run in service mode.
    pub not_repeatable: Vec<(String, String)>,
}

/// The plan for `cases` (a selection of `d`'s).
pub fn plan(cases: &[&Case], opts: &Options) -> Result<Plan, scenario::ScenarioError> {
    let mut groups = Vec::new();
    let mut not_repeatable = Vec::new();
    for &mode in &opts.modes {
        for flaky in [false, true] {
            let mut scenarios = Vec::new();
            for c in cases.iter().filter(|c| (c.kind() == Kind::Flaky) == flaky) {
                if mode == Mode::Service && !c.repeatable {
                    not_repeatable.push((c.name.clone(), c.not_repeatable.clone()));
                    continue;
                }
                scenarios.push(scenario_for(c, mode, opts.settings(mode))?);
            }
            if !scenarios.is_empty() {
                groups.push(Group {
                    mode,
                    flaky,
                    reps: if flaky {
                        opts.flaky_reps
                    } else {
                        opts.strict_reps
                    },
                    scenarios,
                });
            }
        }
    }
    Ok(Plan {
        groups,
        not_repeatable,
    })
}

/// A case in a mode, as a scenario named after the case, validated by the scenario parser
/// like any scenario file.
pub fn scenario_for(
    c: &Case,
    mode: Mode,
    s: ModeSettings,
) -> Result<Scenario, scenario::ScenarioError> {
    let mut env = toml::Table::new();
    for kv in &c.env {
        if let Some((k, v)) = kv.split_once('=') {
            env.insert(k.to_string(), v.into());
        }
    }
    let origin = c.kernel.as_deref().unwrap_or(&c.group);
    let table = |pairs: Vec<(&str, toml::Value)>| -> toml::Value {
        toml::Value::Table(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    let file = table(vec![
        (
            "description",
            format!(
                "Go's goroutine leak test case {} ({origin}, {}; {}), {mode} mode",
                c.name,
                c.kind(),
                c.file
            )
            .into(),
        ),
        ("fixture", c.fixture.clone().into()),
        (
            "args",
            vec![
                format!("-goker-case={}", c.name),
                format!("-goker-mode={mode}"),
            ]
            .into(),
        ),
        ("env", toml::Value::Table(env)),
        ("duration_s", s.duration_s.into()),
        ("interval_s", s.interval_s.into()),
        ("rss_cap_mib", (RSS_CAP_MIB as i64).into()),
        (
            "leak",
            table(vec![
                ("onset_s", s.onset_s.into()),
                ("rate", s.rate.into()),
                ("max_units", i64::from(s.runs).into()),
            ]),
        ),
        (
            "truth",
            table(vec![
                ("leaking", (!c.no_leak).into()),
                ("class", "goroutine".into()),
                ("site", c.site_regex().into()),
                ("tolerance_s", s.duration_s.into()),
            ]),
        ),
    ]);
    let text = toml::to_string(&file).expect("a table of plain values serializes");
    scenario::parse(Path::new(&format!("goker/{}.toml", c.name)), &text, None)
}

/// The cases to run: all of `d`, or those named (case names, or projects such as `etcd`),
/// cut to the CI subset when `ci`: the first strict case of every project and group, and
/// every no-leak case. Unknown names are an error listing what exists.
pub fn select<'a>(d: &'a Discovery, names: &[String], ci: bool) -> Result<Vec<&'a Case>, String> {
    let mut out: Vec<&Case> = if names.is_empty() {
        d.cases.iter().collect()
    } else {
        let mut v = Vec::new();
        for n in names {
            let hit: Vec<&Case> = d
                .cases
                .iter()
                .filter(|c| &c.name == n || &c.project == n)
                .collect();
            if hit.is_empty() {
                let mut projects: Vec<&str> = d.cases.iter().map(|c| c.project.as_str()).collect();
                projects.sort();
                projects.dedup();
                return Err(format!(
                    "`{n}` is neither a case nor a project of {} (projects: {}; cases: `leakbench goker --list`)",
                    d.go_version,
                    projects.join(", ")
                ));
            }
            v.extend(hit);
        }
        v
    };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    if ci {
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|c| match c.kind() {
            Kind::NoLeak => true,
            Kind::Flaky => false,
            Kind::Strict => seen.insert(c.project.clone()),
        });
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::goker::cases::Case;

    pub(crate) fn case(name: &str, project: &str, kind: Kind, repeatable: bool) -> Case {
        let leaks = vec![format!(r"{name}\.func1\(.* \[chan send\]")];
        Case {
            name: name.into(),
            package: "goker".into(),
            fixture: "testgoroutineleakprofile-goker".into(),
            file: format!("goker/{}.go", name.to_lowercase()),
            group: "goker".into(),
            project: project.into(),
            kernel: Some(format!("{project}_1")),
            flaky: kind == Kind::Flaky,
            simple: kind != Kind::Flaky,
            env: vec!["GODEBUG=asyncpreemptoff=1".into(), "GOMAXPROCS=1".into()],
            expected: if kind == Kind::Strict {
                leaks.clone()
            } else {
                vec![]
            },
            flaky_leaks: if kind == Kind::Flaky { leaks } else { vec![] },
            no_leak: kind == Kind::NoLeak,
            test_line: 1,
            entry: name.into(),
            init_registered: false,
            exits_process: false,
            on_main: false,
            shared_state: vec![],
            repeatable,
            not_repeatable: if repeatable {
                String::new()
            } else {
                "reads ch".into()
            },
        }
    }

    pub(crate) fn discovery(cases: Vec<Case>) -> Discovery {
        Discovery {
            goroot: "/g".into(),
            go_version: "go1.26.8".into(),
            test_file: "t".into(),
            programs: "p".into(),
            cases,
            untested: vec![],
            unregistered: vec![],
            skipped: vec![],
        }
    }

    fn opts() -> Options {
        Options {
            modes: Mode::ALL.to_vec(),
            strict_reps: 3,
            flaky_reps: 5,
            test: TEST,
            service: SERVICE,
        }
    }

    #[test]
    fn groups_by_mode_and_reps_and_leaves_unrepeatable_out_of_service() {
        let d = discovery(vec![
            case("A1", "acme", Kind::Strict, true),
            case("B1", "bolt", Kind::Flaky, true),
            case("G", "micro", Kind::NoLeak, false),
        ]);
        let sel = select(&d, &[], false).unwrap();
        let p = plan(&sel, &opts()).unwrap();
        let names: Vec<(String, u32, usize)> = p
            .groups
            .iter()
            .map(|g| (g.name(), g.reps, g.scenarios.len()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("test-strict".into(), 3, 2),
                ("test-flaky".into(), 5, 1),
                ("service-strict".into(), 3, 1),
                ("service-flaky".into(), 5, 1),
            ]
        );
        assert_eq!(p.not_repeatable, vec![("G".into(), "reads ch".into())]);
        let s = &p.groups[2].scenarios[0];
        assert_eq!(s.name, "A1");
        assert_eq!(s.args, vec!["-goker-case=A1", "-goker-mode=service"]);
        assert_eq!(s.env["GOMAXPROCS"], "1");
        assert!(s.truth.leaking && s.truth.site == r"A1\.func1");
        assert_eq!(
            (s.leak.rate, s.leak.max_units),
            (SERVICE.rate, SERVICE.runs as u64)
        );
        let g = &p.groups[0].scenarios[1];
        assert!(!g.truth.leaking && g.truth.site.is_empty());
    }

    #[test]
    fn selection_by_name_project_and_ci() {
        let d = discovery(vec![
            case("A1", "acme", Kind::Strict, true),
            case("A2", "acme", Kind::Strict, true),
            case("A3", "acme", Kind::Flaky, true),
            case("B1", "bolt", Kind::Strict, true),
            case("G", "micro", Kind::NoLeak, true),
        ]);
        let names = |v: Vec<&Case>| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(select(&d, &["acme".into()], false).unwrap()),
            ["A1", "A2", "A3"]
        );
        assert_eq!(
            names(select(&d, &["B1".into(), "A2".into()], false).unwrap()),
            ["A2", "B1"]
        );
        assert_eq!(names(select(&d, &[], true).unwrap()), ["A1", "B1", "G"]);
        let e = select(&d, &["zzz".into()], false).unwrap_err();
        assert!(e.contains("acme, bolt, micro"), "{e}");
    }
}
