//! Matrix axes: what a run sweeps besides its scenarios: Go toolchains (`go`), `GOGC`,
//! `GOMEMLIMIT` and `GOMAXPROCS`. A run's [`Grid`] comes from `--matrix AXIS=V1,V2,...`
//! (repeatable) and `--matrix-file FILE` (TOML, below); its cross product is the set of
//! [`AxisValues`] points, and a cell of the run is scenario × point (× repetition).
//!
//! A matrix file has one key per axis, each a list of values (strings or integers):
//!
//! ```toml
//! go = ["go", "target/go-matrix/venv-1.27.3/bin/go"]   # paths to go commands (relative: to this file)
//! GOGC = [50, 100, "off"]
//! GOMEMLIMIT = ["64MiB", "off"]
//! GOMAXPROCS = [1, 2]
//! ```
//!
//! A point records the value a fixture runs with: for `go`, the toolchain's version
//! (`go1.27.3`), not its path, so cells compare across machines; the path is kept in the
//! grid (`run.json`) so `--resume` finds it again.
//!
//! Owns the axes' names, the syntax and checks of their values, the grid and its cross
//! product. Must not build, launch or score: the recorder applies a point (environment,
//! toolchain), [`crate::run_dir`] names a cell's directory, scoring reads points from traces.

use crate::bad_input::BadInput;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A swept setting. Ordered as columns and labels show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Axis {
    /// The Go toolchain that builds the fixture (value: its version).
    #[serde(rename = "go")]
    Go,
    #[serde(rename = "GOGC")]
    Gogc,
    #[serde(rename = "GOMEMLIMIT")]
    Gomemlimit,
    #[serde(rename = "GOMAXPROCS")]
    Gomaxprocs,
}

impl Axis {
    pub const ALL: [Axis; 4] = [Axis::Go, Axis::Gogc, Axis::Gomemlimit, Axis::Gomaxprocs];

    /// Its spelling on the command line, in files, columns and labels.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Go => "go",
            Axis::Gogc => "GOGC",
            Axis::Gomemlimit => "GOMEMLIMIT",
            Axis::Gomaxprocs => "GOMAXPROCS",
        }
    }

    pub fn parse(s: &str) -> Option<Axis> {
        Axis::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The environment variable a fixture gets for it (`go` is no variable: it builds).
    pub fn env_var(self) -> Option<&'static str> {
        (self != Axis::Go).then(|| self.name())
    }

    /// What a value must look like, for the fix of a bad one.
    fn expected(self) -> &'static str {
        match self {
            Axis::Go => "a path to a go command of Go >= 1.26",
            Axis::Gogc => "a non-negative integer or off, e.g. GOGC=50,100,off",
            Axis::Gomemlimit => {
                "a byte count with an optional unit B, KiB, MiB, GiB or TiB, or off, e.g. GOMEMLIMIT=64MiB,off"
            }
            Axis::Gomaxprocs => "a positive integer, e.g. GOMAXPROCS=1,2",
        }
    }

    /// Checks a value of an environment axis, as the Go runtime reads it.
    fn check(self, v: &str) -> bool {
        match self {
            Axis::Go => !v.is_empty(),
            Axis::Gogc => v == "off" || v.parse::<u32>().is_ok(),
            Axis::Gomemlimit => v == "off" || parse_byte_count(v).is_some(),
            Axis::Gomaxprocs => v.parse::<u32>().is_ok_and(|n| n > 0),
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `GOMEMLIMIT`'s syntax (Go's `parseByteCount`): digits, then an optional `B`, `KiB`, `MiB`,
/// `GiB` or `TiB`. Returns bytes.
pub fn parse_byte_count(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let mul: u64 = match &s[digits..] {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// Orders an axis's values as a reader expects: numbers ascending (GOMEMLIMIT in bytes), `off`
/// last; Go versions by release.
pub fn sort_values(axis: Axis, values: &mut [String]) {
    let key = |v: &String| -> (u8, u64, u64, String) {
        if v == "off" {
            return (1, 0, 0, v.clone());
        }
        match axis {
            Axis::Go => {
                let (maj, min) =
                    crate::record::fixture_build::parse_go_version(v).unwrap_or((0, 0));
                (0, u64::from(maj), u64::from(min), v.clone())
            }
            Axis::Gomemlimit => (0, parse_byte_count(v).unwrap_or(u64::MAX), 0, v.clone()),
            Axis::Gogc | Axis::Gomaxprocs => (0, v.parse().unwrap_or(u64::MAX), 0, v.clone()),
        }
    };
    values.sort_by_key(key);
}

/// The axes swept by any of `points`, in column order: the extra columns a run's CSV files
/// (`scores.csv`, `fidelity.csv`) add after their own, none when nothing was swept.
pub fn columns<'a>(points: impl IntoIterator<Item = &'a AxisValues>) -> Vec<Axis> {
    let swept: std::collections::BTreeSet<Axis> =
        points.into_iter().flat_map(AxisValues::axes).collect();
    swept.into_iter().collect()
}

/// One point of the grid: the value of every swept axis. Empty when nothing is swept (and
/// then absent from every file, so runs without axes are as they were).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AxisValues(BTreeMap<Axis, String>);

impl AxisValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, a: Axis) -> Option<&str> {
        self.0.get(&a).map(String::as_str)
    }

    pub fn insert(&mut self, a: Axis, v: impl Into<String>) {
        self.0.insert(a, v.into());
    }

    /// The swept axes, in column order.
    pub fn axes(&self) -> impl Iterator<Item = Axis> + '_ {
        self.0.keys().copied()
    }

    /// This point's fields under `columns` (from [`columns`]): its value, or empty where it
    /// does not sweep that axis.
    pub fn fields<'a>(&'a self, columns: &'a [Axis]) -> impl Iterator<Item = String> + 'a {
        columns
            .iter()
            .map(|a| self.get(*a).unwrap_or_default().to_string())
    }

    pub fn iter(&self) -> impl Iterator<Item = (Axis, &str)> + '_ {
        self.0.iter().map(|(a, v)| (*a, v.as_str()))
    }

    /// `go=go1.27.3,GOGC=50`: the point as one word (also the suffix of a cell's directory,
    /// so values hold no `/`: [`Grid`] checks them).
    pub fn label(&self) -> String {
        self.iter()
            .map(|(a, v)| format!("{a}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The inverse of [`AxisValues::label`]; `None` for anything else.
    pub fn parse_label(s: &str) -> Option<AxisValues> {
        let mut out = AxisValues::default();
        if s.is_empty() {
            return Some(out);
        }
        for part in s.split(',') {
            let (a, v) = part.split_once('=')?;
            out.insert(Axis::parse(a)?, v);
        }
        Some(out)
    }
}

impl fmt::Display for AxisValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The axes of a run, each with its values in the order given. For `go`, the values are the
/// paths of the go commands (absolute once read from a file or resolved by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grid(BTreeMap<Axis, Vec<String>>);

/// Where a grid's values came from, for the one-line error naming it.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Flag,
    File(&'a Path),
}

impl Source<'_> {
    fn name(&self) -> String {
        match self {
            Source::Flag => "--matrix".into(),
            Source::File(p) => format!("--matrix-file {}", p.display()),
        }
    }
}

fn bad(src: Source<'_>, key: &str, problem: &str, fix: &str) -> BadInput {
    BadInput(format!(
        "{}: key `{key}`: {problem} (fix: {fix})",
        src.name()
    ))
}

impl Grid {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn axes(&self) -> impl Iterator<Item = Axis> + '_ {
        self.0.keys().copied()
    }

    pub fn values(&self, a: Axis) -> Option<&[String]> {
        self.0.get(&a).map(Vec::as_slice)
    }

    /// Adds an axis with its values, checked: a known axis, given once, each value well
    /// formed and given once.
    pub fn add(&mut self, src: Source<'_>, key: &str, values: Vec<String>) -> Result<(), BadInput> {
        let names: Vec<&str> = Axis::ALL.iter().map(|a| a.name()).collect();
        let axis = Axis::parse(key).ok_or_else(|| {
            bad(
                src,
                key,
                "not an axis",
                &format!("use one of {} (names are case-sensitive)", names.join(", ")),
            )
        })?;
        if self.0.contains_key(&axis) {
            return Err(bad(
                src,
                key,
                "given twice",
                &format!("list every value once, e.g. {key}=A,B"),
            ));
        }
        if values.is_empty() {
            return Err(bad(src, key, "no values", axis.expected()));
        }
        for (i, v) in values.iter().enumerate() {
            if !axis.check(v) {
                return Err(bad(
                    src,
                    key,
                    &format!("`{v}` is not a value of {axis}"),
                    axis.expected(),
                ));
            }
            if values[..i].contains(v) {
                return Err(bad(
                    src,
                    key,
                    &format!("`{v}` given twice"),
                    "list every value once",
                ));
            }
        }
        self.0.insert(axis, values);
        Ok(())
    }

    /// Adds `--matrix AXIS=V1,V2,...`.
    pub fn add_flag(&mut self, arg: &str) -> Result<(), BadInput> {
        let Some((key, vals)) = arg.split_once('=') else {
            return Err(BadInput(format!(
                "--matrix {arg}: not AXIS=V1,V2,... (fix: e.g. --matrix GOGC=50,100,off)"
            )));
        };
        let values = vals
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        self.add(Source::Flag, key.trim(), values)
    }

    /// Reads a matrix file (the TOML shape in the module doc). Relative `go` paths are taken
    /// from the file's directory; a bare command name (`go`) is looked up on `PATH` later.
    pub fn add_file(&mut self, path: &Path) -> Result<(), BadInput> {
        let src = Source::File(path);
        let text = std::fs::read_to_string(path).map_err(|e| {
            BadInput(format!(
                "--matrix-file {}: cannot read: {e} (fix: pass an existing TOML file)",
                path.display()
            ))
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            BadInput(format!(
                "--matrix-file {}: not TOML: {} (fix: one key per axis, each a list, e.g. GOGC = [50, 100, \"off\"])",
                path.display(),
                e.message().replace('\n', " ")
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (key, value) in table {
            let list = value.as_array().ok_or_else(|| {
                bad(
                    src,
                    &key,
                    "not a list",
                    "write KEY = [V1, V2], e.g. GOGC = [50, 100]",
                )
            })?;
            let mut values = Vec::new();
            for v in list {
                let s = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(n) => n.to_string(),
                    other => {
                        return Err(bad(
                            src,
                            &key,
                            &format!("`{other}` is neither a string nor an integer"),
                            "quote it",
                        ))
                    }
                };
                values.push(if key == Axis::Go.name() && s.contains('/') {
                    absolute(base, &s)
                } else {
                    s
                });
            }
            self.add(src, &key, values)?;
        }
        Ok(())
    }

    /// Makes relative `go` paths absolute against `cwd` (flags are relative to where the
    /// command ran), so `run.json` names them wherever `--resume` runs.
    pub fn absolutize_go(&mut self, cwd: &Path) {
        if let Some(vs) = self.0.get_mut(&Axis::Go) {
            for v in vs.iter_mut() {
                if v.contains('/') {
                    *v = absolute(cwd, v);
                }
            }
        }
    }

    /// Adds `other`'s axes and values not here yet (merging runs that sweep the same axes).
    pub fn union(&mut self, other: &Grid) {
        for (a, vs) in &other.0 {
            let mine = self.0.entry(*a).or_default();
            for v in vs {
                if !mine.contains(v) {
                    mine.push(v.clone());
                }
            }
        }
    }

    /// Every point of the cross product, in a fixed order (axes in column order, values as
    /// given), with `go` values mapped by `go_version` (path → version). One empty point when
    /// the grid is empty.
    pub fn points(&self, go_version: impl Fn(&str) -> String) -> Vec<AxisValues> {
        let mut out = vec![AxisValues::default()];
        for (axis, values) in &self.0 {
            out = out
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.insert(*axis, v.clone());
                        q
                    })
                })
                .collect();
        }
        for p in &mut out {
            if let Some(path) = p.get(Axis::Go).map(String::from) {
                p.insert(Axis::Go, go_version(&path));
            }
        }
        out
    }
}

fn absolute(base: &Path, p: &str) -> String {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p.display().to_string()
    } else {
        base.join(p).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_into_a_cross_product_in_column_order() {
        let mut g = Grid::default();
        g.add_flag("GOMAXPROCS=1,2").unwrap();
        g.add_flag("GOGC=50,off").unwrap();
        let labels: Vec<String> = g
            .points(|p| p.to_string())
            .iter()
            .map(AxisValues::label)
            .collect();
        assert_eq!(
            labels,
            [
                "GOGC=50,GOMAXPROCS=1",
                "GOGC=50,GOMAXPROCS=2",
                "GOGC=off,GOMAXPROCS=1",
                "GOGC=off,GOMAXPROCS=2"
            ]
        );
        assert_eq!(
            Grid::default().points(|p| p.into()),
            vec![AxisValues::default()]
        );
    }

    #[test]
    fn go_points_carry_the_version_not_the_path() {
        let mut g = Grid::default();
        g.add_flag("go=/a/go,/b/go").unwrap();
        let pts = g.points(|p| {
            if p == "/a/go" {
                "go1.26.8".into()
            } else {
                "go1.27.3".into()
            }
        });
        assert_eq!(pts[1].get(Axis::Go), Some("go1.27.3"));
        assert_eq!(g.values(Axis::Go).unwrap(), ["/a/go", "/b/go"]);
    }

    #[test]
    fn bad_values_name_the_flag_the_key_and_the_fix_in_one_line() {
        for (arg, want) in [
            ("GOGC=abc", "`abc` is not a value of GOGC"),
            ("gogc=50", "not an axis"),
            ("GOMEMLIMIT=64MB", "`64MB` is not a value of GOMEMLIMIT"),
            ("GOMAXPROCS=0", "`0` is not a value of GOMAXPROCS"),
            ("GOGC=", "no values"),
            ("GOGC=50,50", "`50` given twice"),
            ("GOGC", "not AXIS=V1,V2"),
        ] {
            let e = Grid::default().add_flag(arg).unwrap_err().to_string();
            assert!(
                e.starts_with("--matrix")
                    && e.contains(want)
                    && e.contains("(fix: ")
                    && !e.contains('\n'),
                "{arg}: {e}"
            );
        }
        let mut g = Grid::default();
        g.add_flag("GOGC=50").unwrap();
        assert!(g
            .add_flag("GOGC=100")
            .unwrap_err()
            .to_string()
            .contains("given twice"));
    }

    #[test]
    fn values_sort_as_numbers_with_off_last() {
        let mut v: Vec<String> = ["off", "200", "50"].map(String::from).to_vec();
        sort_values(Axis::Gogc, &mut v);
        assert_eq!(v, ["50", "200", "off"]);
        let mut m: Vec<String> = ["1GiB", "off", "64MiB"].map(String::from).to_vec();
        sort_values(Axis::Gomemlimit, &mut m);
        assert_eq!(m, ["64MiB", "1GiB", "off"]);
        let mut g: Vec<String> = ["go1.27.3", "go1.26.8"].map(String::from).to_vec();
        sort_values(Axis::Go, &mut g);
        assert_eq!(g, ["go1.26.8", "go1.27.3"]);
    }

    #[test]
    fn byte_counts_parse_as_go_reads_them() {
        assert_eq!(parse_byte_count("64MiB"), Some(64 << 20));
        assert_eq!(parse_byte_count("1024"), Some(1024));
        assert_eq!(parse_byte_count("7B"), Some(7));
        for bad in ["", "MiB", "64mb", "64 MiB", "-1"] {
            assert_eq!(parse_byte_count(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_matrix_file_reads_lists_and_resolves_go_paths_beside_it() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("m.toml");
        std::fs::write(&f, "go = [\"go\", \"venv/bin/go\"]\nGOGC = [50, \"off\"]\n").unwrap();
        let mut g = Grid::default();
        g.add_file(&f).unwrap();
        assert_eq!(
            g.values(Axis::Go).unwrap(),
            [
                "go".to_string(),
                d.path().join("venv/bin/go").display().to_string()
            ]
        );
        assert_eq!(g.values(Axis::Gogc).unwrap(), ["50", "off"]);
        for (text, want) in [
            ("GOGC = 50\n", "not a list"),
            ("GOGC = [\"abc\"]\n", "`abc` is not a value of GOGC"),
            ("colour = [1]\n", "not an axis"),
            ("GOGC = [", "not TOML"),
            ("GOGC = [1.5]\n", "neither a string nor an integer"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = Grid::default().add_file(&f).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--matrix-file {}", f.display()))
                    && e.contains(want)
                    && e.contains("(fix: ")
                    && !e.contains('\n'),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn the_shipped_default_grid_reads() {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/matrix/default.toml");
        let mut g = Grid::default();
        g.add_file(&f).unwrap();
        assert_eq!(g.values(Axis::Gogc).unwrap(), ["50", "100", "off"]);
    }

    #[test]
    fn labels_round_trip_and_values_serialize_by_axis_name() {
        let mut p = AxisValues::default();
        p.insert(Axis::Gogc, "50");
        p.insert(Axis::Go, "go1.27.3");
        assert_eq!(p.label(), "go=go1.27.3,GOGC=50");
        assert_eq!(AxisValues::parse_label(&p.label()), Some(p.clone()));
        assert_eq!(AxisValues::parse_label("x=1"), None);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"go":"go1.27.3","GOGC":"50"}"#
        );
        let back: AxisValues = serde_json::from_str(r#"{"GOGC":"50","go":"go1.27.3"}"#).unwrap();
        assert_eq!(back, p);
    }
}
