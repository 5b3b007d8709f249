//! Merging run directories: the shards of a matrix recorded on several machines
//! (`leakbench run --shard I/N`) become one run directory, scored as a whole.
//!
//! [`merge`] checks that the runs are compatible (same harness version, Go version, probe set,
//! trace format, and the same definition of every scenario they share), refuses overlapping
//! cells (a scenario × repetition recorded twice), copies every repetition's files into a
//! staging directory beside `out`, writes a merged `run.json` and a `merge.json` naming the
//! inputs, renames the staging directory to `out` (so a failed merge leaves no half-merged
//! run), and re-scores it with [`crate::evaluate::replay::replay_run`], so `scores.csv` covers every
//! cell. Every refusal is one [`BadInput`] line naming the input, the key and the fix.
//!
//! Owns what `merge.json` says and the merge rules; every path, and the trace-format gate,
//! come from [`crate::run_dir`]. Must not sample or score (replay does) and never modifies its
//! inputs.

use crate::axes::{Axis, AxisValues};
use crate::bad_input::BadInput;
use crate::evaluate::replay::{self, ReplaySummary};
use crate::fsio::{self, FsError};
use crate::record::run::{self, Shard};
use crate::run_dir::{RepDir, RunDir, RunInfo, TRACE_FORMAT};
use crate::scenario::Scenario;
use crate::trace::TraceError;
use anyhow::Context;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One input of a merge, as recorded in `merge.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MergedInput {
    pub dir: PathBuf,
    pub shard: Option<Shard>,
    pub machine: run::Machine,
    pub started: String,
    /// Repetitions taken from it.
    pub cells: usize,
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct MergeReport {
    pub out: PathBuf,
    pub inputs: Vec<MergedInput>,
    /// Repetitions in the merged run.
    pub cells: usize,
    /// When every input is a shard of the same `N`: the shard indices none of them covers
    /// (empty when the matrix is complete).
    pub missing_shards: Vec<u32>,
    pub replay: ReplaySummary,
}

fn bad(msg: String) -> anyhow::Error {
    BadInput(msg).into()
}

/// A scenario's definition without where it was loaded from (checkouts differ by machine).
fn definition(s: &Scenario) -> Scenario {
    Scenario {
        path: PathBuf::new(),
        ..s.clone()
    }
}

/// Checks that `b` (from `b_dir`) can be merged with `a` (from `a_dir`).
fn check_compatible(
    a_dir: &RunDir,
    a: &RunInfo,
    b_dir: &RunDir,
    b: &RunInfo,
) -> anyhow::Result<()> {
    let fix = "merge only shards of one matrix: the same leakbench, Go, probes, repetitions and shard count";
    let differ = |key: &str, va: String, vb: String| {
        bad(format!(
            "merge: {}: key `{key}` is {vb} but {} has {va} (fix: {fix})",
            b_dir.run_json().display(),
            a_dir.path().display()
        ))
    };
    if a.harness_version != b.harness_version {
        return Err(differ(
            "harness_version",
            a.harness_version.clone(),
            b.harness_version.clone(),
        ));
    }
    let (axes_a, axes_b) = (axis_names(a.matrix.axes()), axis_names(b.matrix.axes()));
    if axes_a != axes_b {
        return Err(bad(format!(
            "merge: {}: key `matrix` sweeps {axes_b} but {} sweeps {axes_a} (fix: merge only runs whose cells have the same axes)",
            b_dir.run_json().display(),
            a_dir.path().display()
        )));
    }
    // Runs that sweep Go toolchains hold cells of several Go versions: the version is part of
    // each cell's identity then, not of the run's.
    let sweeps_go = a.matrix.values(Axis::Go).is_some();
    if !sweeps_go && a.go_version != b.go_version {
        return Err(differ(
            "go_version",
            a.go_version.clone(),
            b.go_version.clone(),
        ));
    }
    // Shards of one matrix share its repetitions and its number of slices.
    if a.reps != b.reps {
        return Err(differ("reps", a.reps.to_string(), b.reps.to_string()));
    }
    if let (Some(sa), Some(sb)) = (a.shard, b.shard) {
        if sa.count != sb.count {
            return Err(differ(
                "shard",
                format!("a slice of {}", sa.count),
                format!("a slice of {}", sb.count),
            ));
        }
    }
    if a.probes != b.probes {
        return Err(differ(
            "probes",
            serde_json::to_string(&a.probes).unwrap_or_default(),
            serde_json::to_string(&b.probes).unwrap_or_default(),
        ));
    }
    for sb in &b.scenario_defs {
        if let Some(sa) = a.scenario_defs.iter().find(|s| s.name == sb.name) {
            if definition(sa) != definition(sb) {
                return Err(bad(format!(
                    "merge: {}: key `scenario_defs` defines scenario `{}` differently from {} (fix: merge only shards of one matrix, recorded from the same scenario files)",
                    b_dir.run_json().display(),
                    sb.name,
                    a_dir.path().display()
                )));
            }
        }
    }
    Ok(())
}

/// A repetition of an input: `(cell, rep-k)`, its place under `traces/` (the cell is the
/// scenario with its axis values, if the run sweeps any).
fn cell_of(rep: &RepDir) -> (String, String) {
    (rep.cell(), rep.name())
}

/// `GOGC,GOMAXPROCS`, or `no axis`.
fn axis_names(axes: impl Iterator<Item = Axis>) -> String {
    let names: Vec<&str> = axes.map(Axis::name).collect();
    if names.is_empty() {
        "no axis".into()
    } else {
        names.join(",")
    }
}

/// The axes a repetition's `meta.json` says it was recorded at (none in older traces).
fn rep_axes(v: &serde_json::Value) -> AxisValues {
    v.get("axes")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default()
}

/// Refuses a repetition whose trace format or versions differ from its run's.
fn check_rep(rep: &RepDir, info: &RunInfo) -> anyhow::Result<()> {
    let p = rep.meta_json();
    let fix = "re-record it with this leakbench, or merge only runs of one version";
    let v = rep.read_meta_json().map_err(|e| match e {
        TraceError::Format { msg, .. } => bad(format!(
            "merge: {}: not a leakbench trace ({msg}) (fix: merge only run directories written by `leakbench run`)",
            p.display()
        )),
        TraceError::Version { found, .. } => bad(format!(
            "merge: {}: key `format` is trace format {found} but this leakbench reads format {TRACE_FORMAT} (fix: {fix})",
            p.display()
        )),
        TraceError::Fs(e) => e.into(),
        e @ TraceError::NoTruth { .. } => bad(format!("merge: {e}")),
    })?;
    let axes = rep_axes(&v);
    let (got, want) = (axis_names(axes.axes()), axis_names(info.matrix.axes()));
    if got != want {
        return Err(bad(format!(
            "merge: {}: key `axes` has {got} but its run sweeps {want} (fix: merge only runs whose cells have the same axes)",
            p.display()
        )));
    }
    for (key, want) in [
        ("go_version", &info.go_version),
        ("harness_version", &info.harness_version),
    ] {
        // A cell of a Go sweep has its own version (one of the run's).
        if key == "go_version" && axes.get(Axis::Go).is_some() {
            continue;
        }
        let got = v.get(key).and_then(|g| g.as_str()).unwrap_or_default();
        if got != want {
            return Err(bad(format!(
                "merge: {}: key `{key}` is {got} but its run.json says {want} (fix: {fix})",
                p.display()
            )));
        }
    }
    Ok(())
}

fn copy_dir_files(from: &Path, to: &Path) -> Result<(), FsError> {
    fsio::create_dir_all(to)?;
    let rd = std::fs::read_dir(from).map_err(|e| FsError::new("could not read", from, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| FsError::new("could not read", from, e))?;
        let src = entry.path();
        if src.is_file() {
            let dst = to.join(entry.file_name());
            std::fs::copy(&src, &dst).map_err(|e| FsError::new("could not copy", &src, e))?;
        }
    }
    Ok(())
}

/// Merges the run directories `inputs` into the new directory `out`, then scores it.
/// `out` must not exist (or be an empty directory): a merge never overwrites.
pub fn merge(inputs: &[PathBuf], out: &Path) -> anyhow::Result<MergeReport> {
    if inputs.is_empty() {
        return Err(bad(
            "merge: no run directories given (fix: pass two or more, e.g. `leakbench merge shard-1 shard-2 --out merged`)".into(),
        ));
    }
    let empty_dir = out.is_dir() && std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
    if out.exists() && !empty_dir {
        return Err(bad(format!(
            "merge: --out {}: already exists (fix: choose a new directory; merge never overwrites)",
            out.display()
        )));
    }
    let mut infos: Vec<(RunDir, RunInfo)> = Vec::new();
    for dir in inputs {
        let dir = RunDir::open(dir).map_err(|e| bad(format!("merge: {e}")))?;
        let info = dir.load_info().map_err(|e| bad(format!("merge: {e}")))?;
        if let Some((d0, i0)) = infos.first() {
            check_compatible(d0, i0, &dir, &info)?;
        }
        infos.push((dir, info));
    }

    // Every cell once.
    let mut owner: BTreeMap<(String, String), &Path> = BTreeMap::new();
    let mut plan: Vec<RepDir> = Vec::new();
    let mut per_input = vec![0usize; inputs.len()];
    for (k, (dir, info)) in infos.iter().enumerate() {
        for rep in dir.reps()? {
            check_rep(&rep, info)?;
            let cell = cell_of(&rep);
            if let Some(first) = owner.get(&cell) {
                return Err(bad(format!(
                    "merge: {} {} is in both {} and {} (fix: merge runs of disjoint shards, e.g. --shard 1/2 and --shard 2/2 of one matrix)",
                    cell.0,
                    cell.1,
                    first.display(),
                    dir.path().display()
                )));
            }
            owner.insert(cell, dir.path());
            plan.push(rep);
            per_input[k] += 1;
        }
    }

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fsio::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".leakbench-merge-")
        .tempdir_in(parent)
        .map_err(|e| FsError::new("could not create a staging directory in", parent, e))?;
    let staged_run = RunDir::new(staging.path());
    for rep in &plan {
        copy_dir_files(rep.path(), rep.in_run(&staged_run).path())?;
    }

    let first = &infos[0].1;
    let mut scenarios: Vec<String> = Vec::new();
    let mut defs: Vec<Scenario> = Vec::new();
    for (_, info) in &infos {
        for n in &info.scenarios {
            if !scenarios.contains(n) {
                scenarios.push(n.clone());
            }
        }
        for s in &info.scenario_defs {
            if !defs.iter().any(|d| d.name == s.name) {
                defs.push(s.clone());
            }
        }
    }
    let mut go_versions: Vec<String> = Vec::new();
    let mut matrix = first.matrix.clone();
    for (_, info) in &infos {
        for v in info.go_version.split(',') {
            if !go_versions.iter().any(|g| g == v) {
                go_versions.push(v.to_string());
            }
        }
        matrix.union(&info.matrix);
    }
    let merged = RunInfo {
        harness_version: first.harness_version.clone(),
        go_version: go_versions.join(","),
        scenarios,
        scenario_defs: defs,
        reps: infos.iter().map(|(_, i)| i.reps).max().unwrap_or(1),
        shard: None,
        jobs: first.jobs,
        probes: first.probes,
        machine: first.machine.clone(),
        started: infos
            .iter()
            .map(|(_, i)| i.started.clone())
            .min()
            .unwrap_or_default(),
        matrix,
    };
    let merged_inputs: Vec<MergedInput> = infos
        .iter()
        .zip(&per_input)
        .map(|((dir, info), cells)| MergedInput {
            dir: dir.path().to_path_buf(),
            shard: info.shard,
            machine: info.machine.clone(),
            started: info.started.clone(),
            cells: *cells,
        })
        .collect();
    staged_run.save_info(&merged)?;
    let mut merge_json =
        serde_json::to_vec_pretty(&serde_json::json!({ "inputs": merged_inputs }))?;
    merge_json.push(b'\n');
    fsio::write_atomic(&staged_run.merge_json(), &merge_json)?;

    if empty_dir {
        std::fs::remove_dir(out).map_err(|e| FsError::new("could not replace", out, e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(|e| FsError::new("could not rename into", out, e))?;

    let missing_shards = missing_shards(&infos.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>());
    let replay = replay::replay_run(out)
        .with_context(|| format!("merged into {} but could not score it", out.display()))?;
    Ok(MergeReport {
        out: out.to_path_buf(),
        inputs: merged_inputs,
        cells: plan.len(),
        missing_shards,
        replay,
    })
}

/// When every run is a shard of the same count `N`, the shard indices none covers.
fn missing_shards(infos: &[RunInfo]) -> Vec<u32> {
    let shards: Option<Vec<Shard>> = infos.iter().map(|i| i.shard).collect();
    let Some(shards) = shards else {
        return Vec::new();
    };
    let Some(n) = shards.first().map(|s| s.count) else {
        return Vec::new();
    };
    if shards.iter().any(|s| s.count != n) {
        return Vec::new();
    }
    let have: BTreeSet<u32> = shards.iter().map(|s| s.index).collect();
    (1..=n).filter(|i| !have.contains(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::probe::ProbeSet;
    use crate::trace::{EndStatus, TraceWriter};

    fn info(shard: Option<Shard>) -> RunInfo {
        let meta = crate::trace::tests::meta();
        RunInfo {
            harness_version: meta.harness_version.clone(),
            go_version: meta.go_version.clone(),
            scenarios: vec![meta.scenario.name.clone()],
            scenario_defs: vec![meta.scenario.clone()],
            reps: 2,
            shard,
            jobs: 1,
            probes: ProbeSet::default(),
            machine: run::Machine::this(),
            started: "2025-01-01T00:00:00Z".into(),
            matrix: Default::default(),
        }
    }

    /// A run directory of the test scenario's repetitions `reps` at each of `points` (one
    /// sweep over `flag`, e.g. `GOGC=50,100`), its run.json saying so.
    fn swept_dir(root: &Path, name: &str, flag: &str, reps: &[u32]) -> PathBuf {
        let dir = RunDir::new(root.join(name));
        let mut grid = crate::axes::Grid::default();
        grid.add_flag(flag).unwrap();
        for point in grid.points(|p| p.into()) {
            for rep in reps {
                let mut meta = crate::trace::tests::meta();
                meta.rep = *rep;
                meta.axes = point.clone();
                let rd = dir.cell_rep(&meta.scenario.name, &point, *rep);
                let mut w = TraceWriter::create(&rd, &meta).unwrap();
                w.append(&crate::sample::Sample::default()).unwrap();
                w.finish(EndStatus::Completed, "done", 1.0).unwrap();
            }
        }
        let mut i = info(None);
        i.matrix = grid;
        dir.save_info(&i).unwrap();
        dir.path().to_path_buf()
    }

    #[test]
    fn merges_runs_of_the_same_axes_cell_by_cell() {
        let t = tempfile::tempdir().unwrap();
        let a = swept_dir(t.path(), "a", "GOGC=50,100", &[0]);
        let b = swept_dir(t.path(), "b", "GOGC=50,100", &[1]);
        let out = t.path().join("m");
        let r = merge(&[a.clone(), b], &out).unwrap();
        assert_eq!(r.cells, 4);
        let info = RunDir::new(&out).load_info().unwrap();
        assert_eq!(info.matrix.values(Axis::Gogc).unwrap(), ["50", "100"]);
        // The same scenario and repetition at two GOGC values are two cells, not an overlap;
        // the same at the same value is.
        let c = swept_dir(t.path(), "c", "GOGC=100", &[0]);
        let e = merge(&[a, c], &t.path().join("m2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t@GOGC=100 rep-0 is in both"), "{e}");
    }

    #[test]
    fn refuses_to_mix_cells_whose_axes_differ() {
        let t = tempfile::tempdir().unwrap();
        let gogc = swept_dir(t.path(), "gogc", "GOGC=50", &[0]);
        let procs = swept_dir(t.path(), "procs", "GOMAXPROCS=1", &[1]);
        let plain = run_dir(t.path(), "plain", &[2], None);
        let out = t.path().join("m");
        for (x, y, want) in [
            (&gogc, &procs, "key `matrix` sweeps GOMAXPROCS but"),
            (&gogc, &plain, "key `matrix` sweeps no axis but"),
            (&plain, &gogc, "key `matrix` sweeps GOGC but"),
        ] {
            let e = merge(&[x.clone(), y.clone()], &out).unwrap_err();
            assert!(crate::bad_input::is_bad_input(&e), "{e:#}");
            let s = e.to_string();
            assert!(
                s.contains(want)
                    && s.contains("fix: merge only runs whose cells have the same axes")
                    && !s.contains('\n'),
                "{s}"
            );
        }
        // A repetition whose own meta.json disagrees with its run.json is refused too.
        let lying = swept_dir(t.path(), "lying", "GOGC=50", &[3]);
        let mut i = RunDir::new(&lying).load_info().unwrap();
        i.matrix = Default::default();
        RunDir::new(&lying).save_info(&i).unwrap();
        let e = merge(&[plain, lying], &out).unwrap_err().to_string();
        assert!(
            e.contains("key `axes` has GOGC but its run sweeps no axis"),
            "{e}"
        );
        assert!(!out.exists(), "a refused merge writes nothing");
    }

    /// A run directory holding repetitions `reps` of the test scenario, with one sample each.
    fn run_dir(root: &Path, name: &str, reps: &[u32], shard: Option<Shard>) -> PathBuf {
        let dir = RunDir::new(root.join(name));
        for rep in reps {
            let mut meta = crate::trace::tests::meta();
            meta.rep = *rep;
            let mut w = TraceWriter::create(&dir.rep(&meta.scenario.name, *rep), &meta).unwrap();
            w.append(&crate::sample::Sample::default()).unwrap();
            w.finish(EndStatus::Completed, "done", 1.0).unwrap();
        }
        dir.save_info(&info(shard)).unwrap();
        dir.path().to_path_buf()
    }

    #[test]
    fn merges_disjoint_shards_and_scores_the_whole() {
        let t = tempfile::tempdir().unwrap();
        let a = run_dir(t.path(), "a", &[0], Some(Shard { index: 1, count: 2 }));
        let b = run_dir(t.path(), "b", &[1], Some(Shard { index: 2, count: 2 }));
        let out = t.path().join("merged");
        let r = merge(&[a, b], &out).unwrap();
        assert_eq!((r.cells, r.missing_shards.len()), (2, 0));
        let out = RunDir::new(out);
        assert_eq!(out.reps().unwrap().len(), 2);
        assert!(out.scores_csv().exists() && out.merge_json().exists());
        let merged = out.load_info().unwrap();
        assert_eq!((merged.shard, merged.reps), (None, 2));
        // No staging directory is left beside it.
        let stray: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(stray.is_empty());
    }

    #[test]
    fn refuses_overlap_incompatible_runs_and_existing_out_in_one_line() {
        let t = tempfile::tempdir().unwrap();
        let a = run_dir(t.path(), "a", &[0, 1], Some(Shard { index: 1, count: 3 }));
        let b = run_dir(t.path(), "b", &[1], Some(Shard { index: 2, count: 3 }));
        let out = t.path().join("m");
        let one_line_bad = |e: anyhow::Error, want: &str| {
            assert!(crate::bad_input::is_bad_input(&e), "{e:#}");
            let s = e.to_string();
            assert!(s.contains(want) && !s.contains('\n'), "{s}");
        };
        one_line_bad(
            merge(&[a.clone(), b.clone()], &out).unwrap_err(),
            "rep-1 is in both",
        );
        assert!(!out.exists(), "a refused merge writes nothing");

        let c = run_dir(t.path(), "c", &[2], None);
        let mut i = info(None);
        i.go_version = "go1.20".into();
        RunDir::new(&c).save_info(&i).unwrap();
        one_line_bad(
            merge(&[a.clone(), c.clone()], &out).unwrap_err(),
            "`go_version`",
        );

        let d = run_dir(t.path(), "d", &[2], None);
        let m = RunDir::new(&d).rep("t", 2).meta_json();
        let text = std::fs::read_to_string(&m).unwrap();
        std::fs::write(&m, text.replace("\"format\": 1", "\"format\": 7")).unwrap();
        one_line_bad(merge(&[a.clone(), d], &out).unwrap_err(), "trace format 7");

        let e = run_dir(t.path(), "e", &[2], None);
        let mut i = info(None);
        i.scenario_defs[0].duration_s = 99.0;
        RunDir::new(&e).save_info(&i).unwrap();
        one_line_bad(merge(&[a.clone(), e], &out).unwrap_err(), "differently");

        std::fs::create_dir_all(out.join("x")).unwrap();
        one_line_bad(
            merge(std::slice::from_ref(&a), &out).unwrap_err(),
            "already exists",
        );
        one_line_bad(
            merge(&[t.path().join("nope")], &t.path().join("n")).unwrap_err(),
            "no run.json",
        );
        // A partial set of shards merges, and says which are missing.
        let r = merge(&[a], &t.path().join("partial")).unwrap();
        assert_eq!(r.missing_shards, vec![2, 3]);
    }
}
