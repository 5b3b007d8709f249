//! The fidelity study (`fidelity-levels.csv`): how many fixtures at once this machine records
//! at full fidelity, which is what `run`'s `--jobs` default ([`crate::app::record::RUN_JOBS`])
//! is set from.
//!
//! At each level K it records K repetitions at once, as `leakbench run --jobs K` starts them
//! (all together, each with [`repetition::record`]: its tick loop, the default probes, the RSS
//! watchdog, its trace), of the default matrix's own scenarios in matrix order, cycled, each
//! shortened to the study's window. Each repetition's [`Fidelity`] is what its `end.json`
//! states; a level's row says how many would not be judged ([`Fidelity::too_late`]), the
//! median and worst p99 gap, the longest gap and the share of samples missed, beside the CPU
//! the recording used (the harness's and its fixtures', so other work on a shared machine does
//! not count) and the machine's load. The traces stay in `fidelity/k-<K>/`, a run directory
//! `leakbench replay` reads.
//!
//! Owns the levels and their rows. Must not change how a repetition is recorded.

use super::State;
use crate::fidelity::Fidelity;
use crate::record::fixture_build::{BuiltFixture, GoToolchain};
use crate::record::probe::ProbeSet;
use crate::record::repetition::RepPlan;
use crate::scenario::Scenario;
use crate::stats;
use crate::trace::EndStatus;
use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// One level of the fidelity study: a row of `fidelity-levels.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FidelityRow {
    /// Repetitions recorded at once.
    pub fixtures: usize,
    /// The repetitions' sampling interval (the scenarios'), seconds.
    pub interval_s: f64,
    /// Each repetition's `duration_s`.
    pub window_s: f64,
    /// Repetitions that completed; the others ended otherwise (not ready, crashed, …).
    pub completed: usize,
    /// Repetitions whose samples were too late to be judged.
    pub too_late: usize,
    /// Median over the repetitions of their p99 gap between samples, seconds.
    pub gap_p99_median_s: Option<f64>,
    /// The worst repetition's p99 gap, seconds.
    pub gap_p99_max_s: Option<f64>,
    /// The longest gap of any repetition, seconds.
    pub gap_max_s: Option<f64>,
    /// Samples missed over samples intended, all repetitions, percent.
    pub missed_pct: f64,
    /// Wall time of the level, from the first start to the last stop, seconds.
    pub wall_s: f64,
    /// CPU the recording used (the harness's own and its fixtures', reaped), in cores:
    /// CPU seconds over wall seconds.
    pub recording_cores: Option<f64>,
    /// CPU the whole machine used (`/proc/stat`, every process, others' too), in cores.
    pub machine_busy_cores: Option<f64>,
    /// 1-minute load average at the level's end.
    pub loadavg_1m: Option<f64>,
}

/// The repetitions of one level: the scenarios in order, cycled, `k` in all, each shortened
/// to `window_s`; a scenario's repetitions are numbered from 0 as `run` numbers them.
pub fn plans(
    scenarios: &[Scenario],
    k: usize,
    window_s: f64,
    fixtures: &BTreeMap<String, BuiltFixture>,
    toolchain: &GoToolchain,
    run_dir: &Path,
) -> Vec<RepPlan> {
    (0..k)
        .map(|i| {
            let mut scenario = scenarios[i % scenarios.len()].clone();
            scenario.duration_s = window_s;
            RepPlan {
                fixture: fixtures[&scenario.fixture].clone(),
                scenario,
                rep: (i / scenarios.len()) as u32,
                axes: Default::default(),
                toolchain: toolchain.clone(),
                run_dir: run_dir.to_path_buf(),
                probes: ProbeSet::default(),
            }
        })
        .collect()
}

/// Records every level, a row each.
pub(super) async fn study(
    st: &mut State<'_>,
    scenarios: &[Scenario],
    fixtures: &BTreeMap<String, BuiltFixture>,
    toolchain: &GoToolchain,
) -> anyhow::Result<()> {
    let o = st.opts;
    for &k in &o.fidelity_jobs {
        let dir = o.out.join("fidelity").join(format!("k-{k}"));
        let plans = plans(scenarios, k, o.fidelity_window_s, fixtures, toolchain, &dir);
        let cpu0 = recording_cpu_s();
        let busy0 = machine_busy_s();
        let t0 = Instant::now();
        let ends = super::record_at_once(&plans).await?;
        let wall_s = t0.elapsed().as_secs_f64();
        let per_s = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / wall_s);
        let fidelity: Vec<Fidelity> = ends.iter().filter_map(|(_, e)| e.fidelity).collect();
        let row = level_row(
            k,
            &plans[0].scenario,
            ends.iter()
                .filter(|(_, e)| e.status == EndStatus::Completed)
                .count(),
            &fidelity,
            LevelCost {
                wall_s,
                recording_cores: per_s(cpu0, recording_cpu_s()),
                machine_busy_cores: per_s(busy0, machine_busy_s()),
                loadavg_1m: super::loadavg_1m(),
            },
        );
        let line = format!(
            "fidelity, {k} fixtures at once: {} of {} too late to judge, p99 gap median {} s (worst {} s), {:.1} % missed, recording used {} cores",
            row.too_late,
            fidelity.len(),
            secs(row.gap_p99_median_s),
            secs(row.gap_p99_max_s),
            row.missed_pct,
            row.recording_cores.map_or("?".into(), |c| format!("{c:.2}"))
        );
        st.results.fidelity.push(row);
        st.done(&line)?;
    }
    Ok(())
}

fn secs(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.3}"))
}

/// What a level cost, measured around it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LevelCost {
    pub wall_s: f64,
    pub recording_cores: Option<f64>,
    pub machine_busy_cores: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

/// A level's row from its repetitions' fidelity.
pub fn level_row(
    k: usize,
    scenario: &Scenario,
    completed: usize,
    fidelity: &[Fidelity],
    cost: LevelCost,
) -> FidelityRow {
    let p99: Vec<f64> = fidelity.iter().filter_map(|f| f.gap_p99_s).collect();
    let missed: u64 = fidelity.iter().map(|f| f.missed).sum();
    let intended: u64 = fidelity.iter().map(|f| f.samples + f.missed).sum();
    FidelityRow {
        fixtures: k,
        interval_s: scenario.interval_s,
        window_s: scenario.duration_s,
        completed,
        too_late: fidelity.iter().filter(|f| f.too_late().is_some()).count(),
        gap_p99_median_s: stats::median(&p99),
        gap_p99_max_s: p99.iter().copied().reduce(f64::max),
        gap_max_s: fidelity.iter().filter_map(|f| f.gap_max_s).reduce(f64::max),
        missed_pct: if intended == 0 {
            0.0
        } else {
            missed as f64 / intended as f64 * 100.0
        },
        wall_s: cost.wall_s,
        recording_cores: cost.recording_cores,
        machine_busy_cores: cost.machine_busy_cores,
        loadavg_1m: cost.loadavg_1m,
    }
}

/// CPU seconds used so far by the harness and its reaped children (the fixtures).
fn recording_cpu_s() -> Option<f64> {
    let secs = |who| {
        // SAFETY: getrusage writes into the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        (unsafe { libc::getrusage(who, &mut u) } == 0).then(|| {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            tv(u.ru_utime) + tv(u.ru_stime)
        })
    };
    Some(secs(libc::RUSAGE_SELF)? + secs(libc::RUSAGE_CHILDREN)?)
}

/// CPU seconds the whole machine has been busy so far (`/proc/stat`, all CPUs: everything
/// but idle and iowait).
fn machine_busy_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let busy = parse_proc_stat_busy_ticks(&text)?;
    // SAFETY: sysconf only reads a configuration value.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(busy as f64 / tck.max(1) as f64)
}

/// Busy clock ticks from `/proc/stat`'s first line,
/// `cpu  user nice system idle iowait irq softirq steal guest guest_nice`: all but idle and
/// iowait (guest time is already inside user and nice).
pub fn parse_proc_stat_busy_ticks(text: &str) -> Option<u64> {
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// The levels' scenarios: the default matrix (`scenarios/`), as `run-all` runs it.
pub fn matrix(dir: &Path, fixtures_dir: &Path) -> anyhow::Result<Vec<Scenario>> {
    let all = crate::scenario::load_dir(dir, Some(fixtures_dir))
        .with_context(|| format!("fidelity study: could not load {}", dir.display()))?;
    anyhow::ensure!(
        !all.is_empty(),
        "fidelity study: no scenarios in {} (fix: run inside the repository)",
        dir.display()
    );
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        assert_eq!(
            parse_proc_stat_busy_ticks(stat),
            Some(100 + 5 + 50 + 3 + 2 + 1)
        );
        assert_eq!(parse_proc_stat_busy_ticks("intr 1 2 3\n"), None);
        let here = std::fs::read_to_string("/proc/stat").unwrap();
        assert!(parse_proc_stat_busy_ticks(&here).is_some());
        assert!(recording_cpu_s().unwrap() > 0.0);
    }

    fn at(every: f64, n: usize) -> Fidelity {
        Fidelity::of((0..n).map(|i| i as f64 * every), 0.5, 0.0)
    }

    #[test]
    fn a_level_row_counts_the_late_and_the_missed() {
        let sc = crate::trace::tests::meta().scenario;
        let reps = [at(0.5, 41), at(0.5, 41), at(0.6, 34)];
        let row = level_row(3, &sc, 3, &reps, LevelCost::default());
        assert_eq!((row.fixtures, row.completed, row.too_late), (3, 3, 1));
        // 0.6 s apart over 19.8 s: 41 intended, 34 taken.
        assert!(
            (row.missed_pct - 7.0 / 123.0 * 100.0).abs() < 1e-9,
            "{row:?}"
        );
        assert!((row.gap_p99_median_s.unwrap() - 0.5).abs() < 1e-9);
        assert!((row.gap_p99_max_s.unwrap() - 0.6).abs() < 1e-9);
        assert_eq!(
            (row.interval_s, row.window_s),
            (sc.interval_s, sc.duration_s)
        );
    }

    #[test]
    fn levels_cycle_the_matrix_and_number_repetitions_per_scenario() {
        let mut a = crate::trace::tests::meta().scenario;
        a.name = "a".into();
        let mut b = a.clone();
        b.name = "b".into();
        let fx = BuiltFixture {
            name: a.fixture.clone(),
            path: "fx".into(),
            hash: "h".into(),
            cached: true,
        };
        let fixtures = BTreeMap::from([(a.fixture.clone(), fx)]);
        let tc = GoToolchain {
            go: "go".into(),
            version: "go1.26.8".into(),
            major: 1,
            minor: 26,
        };
        let p = plans(&[a, b], 5, 3.0, &fixtures, &tc, Path::new("/r"));
        let got: Vec<(&str, u32, f64)> = p
            .iter()
            .map(|p| (p.scenario.name.as_str(), p.rep, p.scenario.duration_s))
            .collect();
        assert_eq!(
            got,
            [
                ("a", 0, 3.0),
                ("b", 0, 3.0),
                ("a", 1, 3.0),
                ("b", 1, 3.0),
                ("a", 2, 3.0)
            ]
        );
    }
}
