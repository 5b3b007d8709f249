//! The checkout a command works in: its root (holding `scenarios/` and `go-fixtures/`), its
//! scenarios, the `go` that builds fixtures, and where results and caches go.
//!
//! Owns finding the checkout and choosing scenarios and the output directory for a run. Must
//! not record or score.

use crate::bad_input::BadInput;
use crate::record::probe::ProbeSet;
use crate::record::run::{self, RunOptions};
use crate::scenario::{self, Scenario};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// A leakbench checkout and the toolchain that builds its fixtures.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// `go-fixtures/`: the Go module holding every fixture.
    pub fixtures: PathBuf,
    /// Every scenario under `scenarios/`, validated.
    pub scenarios: Vec<Scenario>,
    /// The `go` command fixtures are built with.
    pub go: PathBuf,
}

fn is_root(d: &Path) -> bool {
    d.join("scenarios").is_dir() && d.join("go-fixtures").is_dir()
}

/// The repository root: `flag`, else the nearest ancestor of the current directory with
/// scenarios/ and go-fixtures/, else the checkout this binary was built from.
pub fn find_root(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(r) = flag {
        if !is_root(r) {
            return Err(BadInput(format!(
                "--root {}: no scenarios/ and go-fixtures/ there (fix: point --root at the leakbench checkout)",
                r.display()
            ))
            .into());
        }
        return Ok(r.to_path_buf());
    }
    let cwd = std::env::current_dir().context("no current directory")?;
    if let Some(d) = cwd.ancestors().find(|d| is_root(d)) {
        return Ok(d.to_path_buf());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if is_root(&built) {
        return Ok(built.canonicalize().unwrap_or(built));
    }
    Err(BadInput(
        "no leakbench checkout here (fix: run inside the repository or pass --root DIR)".into(),
    )
    .into())
}

impl Workspace {
    /// Finds the checkout (see [`find_root`]) and loads every scenario in it.
    pub fn load(root_flag: Option<&Path>, go: PathBuf) -> anyhow::Result<Workspace> {
        let root = find_root(root_flag)?;
        let fixtures = root.join("go-fixtures");
        let scenarios = scenario::load_dir(&root.join("scenarios"), Some(&fixtures))?;
        Ok(Workspace {
            root,
            fixtures,
            scenarios,
            go,
        })
    }

    /// `results/` of this checkout, where new run directories go by default.
    pub fn results_dir(&self) -> PathBuf {
        self.root.join("results")
    }

    /// Where built fixtures are cached, keyed by their source hash.
    pub fn fixture_cache(&self) -> PathBuf {
        self.root.join(".cache").join("fixtures")
    }

    /// The scenarios named (all if none) and the run directory: `out`, or a new
    /// `results/run-<date>-<time>`. Besides names and paths (see [`scenario::select`]), an
    /// argument may be a glob over names (`'goroutine-*'`, `*` and `?`) or a leak class
    /// (`map`: its leaks, their twins and the hard negatives that mimic it).
    pub fn select(
        &self,
        names: &[String],
        out: Option<&Path>,
    ) -> anyhow::Result<(Vec<Scenario>, PathBuf)> {
        let names = self.expand(names)?;
        let chosen = scenario::select(&names, &self.scenarios, &self.root, Some(&self.fixtures))?;
        let out = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| run::default_run_dir(&self.results_dir()));
        Ok((chosen, out))
    }

    /// A run of `scenarios` with the default probes (the `goroutineleak` one unless
    /// `no_goroutineleak`) and this checkout's fixtures and cache; not sharded, not resumed.
    pub fn run_options(
        &self,
        scenarios: Vec<Scenario>,
        reps: u32,
        out: PathBuf,
        jobs: usize,
        no_goroutineleak: bool,
    ) -> RunOptions {
        RunOptions {
            scenarios,
            reps,
            out,
            jobs,
            shard: None,
            resume: false,
            probes: ProbeSet {
                goroutineleak: !no_goroutineleak,
                ..ProbeSet::default()
            },
            go: self.go.clone(),
            fixtures_dir: self.fixtures.clone(),
            cache_dir: self.fixture_cache(),
            matrix: Default::default(),
        }
    }
}

impl Workspace {
    /// Replaces each glob or class argument by the names it matches, in `scenarios/` order;
    /// other arguments pass through. A glob or class that matches nothing is bad input.
    fn expand(&self, args: &[String]) -> anyhow::Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for a in args {
            let is_glob = a.contains(['*', '?']) && !a.contains('/');
            // A class is any name a scenario's truth gives; a scenario's own name wins.
            let is_class = !self.scenarios.iter().any(|s| s.name == *a)
                && self.scenarios.iter().any(|s| s.truth.class.as_str() == a);
            if !is_glob && !is_class {
                out.push(a.clone());
                continue;
            }
            let hits: Vec<String> = self
                .scenarios
                .iter()
                .filter(|s| {
                    if is_glob {
                        glob_match(a, &s.name)
                    } else {
                        s.truth.class.as_str() == a
                    }
                })
                .map(|s| s.name.clone())
                .collect();
            if hits.is_empty() {
                return Err(BadInput(format!(
                    "SCENARIO `{a}`: matches no scenario (fix: run `leakbench list` for the names; quote globs so the shell leaves them alone)"
                ))
                .into());
            }
            for h in hits {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        Ok(out)
    }
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` any one.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_without_scenarios_is_bad_input_naming_the_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let e = find_root(Some(tmp.path())).unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e));
        assert!(e.to_string().contains("--root"), "{e}");
    }

    #[test]
    fn globs_match_names() {
        assert!(glob_match("goroutine-*", "goroutine-abandoned-sender"));
        assert!(glob_match("*-fixed", "map-unbounded-cache-fixed"));
        assert!(glob_match("m?p-*", "map-x"));
        assert!(!glob_match("goroutine-*", "map-unbounded-cache"));
        assert!(!glob_match("*-fixed", "map-unbounded-cache"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn a_glob_or_a_class_selects_scenarios_and_an_empty_match_is_bad_input() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ws = Workspace::load(Some(&root), "go".into()).unwrap();
        let (by_glob, _) = ws.select(&["goroutine-*".into()], None).unwrap();
        assert!(!by_glob.is_empty());
        assert!(by_glob.iter().all(|s| s.name.starts_with("goroutine-")));
        let (by_class, _) = ws.select(&["map".into()], None).unwrap();
        assert!(!by_class.is_empty());
        assert!(by_class.iter().all(|s| s.truth.class.as_str() == "map"));
        let e = ws.select(&["nothing-*".into()], None).unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e), "{e}");
    }

    #[test]
    fn this_checkout_loads_with_its_scenarios() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ws = Workspace::load(Some(&root), "go".into()).unwrap();
        assert!(!ws.scenarios.is_empty());
        let (chosen, out) = ws.select(&[ws.scenarios[0].name.clone()], None).unwrap();
        assert_eq!(chosen.len(), 1);
        assert!(out.starts_with(ws.results_dir()), "{}", out.display());
    }
}
