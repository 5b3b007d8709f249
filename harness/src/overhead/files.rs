//! The overhead study's result files, as bytes: `overhead.csv` (one row per fixture × probe
//! set × interval × repetition), `overhead-summary.csv` (min/median/max ratio over
//! repetitions, with the target where one applies), `probe-scale.csv`, `harness-cost.csv`,
//! `fidelity-levels.csv` and a short `overhead.md` (its tables written by [`crate::table::Table`]). Writing them is the
//! caller's job ([`crate::fsio::write_atomic`]).
//!
//! The CSVs are self-describing: column names carry their units (`_s` seconds, `_bytes`
//! bytes, `_pct` percent, `ops_per_s`), `ratio` is sampled over unsampled throughput, and
//! empty cells mean "not measured" (an empty window, a probe that was never taken).

use super::measure::{summarize, Summary};
use super::{FidelityRow, HarnessRow, Results, ScaleRow, StudyMeta, ThroughputRow};
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Throughput target: the default probe set at 1 Hz costs the fixture at most 2% of its
/// throughput (median ratio over repetitions).
pub const TARGET_RATIO: f64 = 0.98;
/// The interval the throughput target applies to, seconds.
pub const TARGET_INTERVAL_S: f64 = 1.0;
/// Harness target: at most 2% of one core per fixture sampled at 1 Hz.
pub const TARGET_HARNESS_PCT_PER_FIXTURE: f64 = 2.0;

/// A row of `overhead-summary.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SummaryRow {
    pub fixture: String,
    pub probe_set: String,
    pub interval_s: f64,
    pub reps: usize,
    pub ratio_min: f64,
    pub ratio_median: f64,
    pub ratio_max: f64,
    /// The same over ops per fixture CPU second (robust to other processes on the machine).
    pub cpu_ratio_min: Option<f64>,
    pub cpu_ratio_median: Option<f64>,
    pub cpu_ratio_max: Option<f64>,
    /// Median over repetitions of sampled over unsampled p50 and p99 latency.
    pub p50_ratio_median: Option<f64>,
    pub p99_ratio_median: Option<f64>,
    /// The median ratio this row must reach, where a target applies (default set at 1 s).
    pub target_ratio: Option<f64>,
    pub target_met: Option<bool>,
}

/// Groups throughput rows by (fixture, probe set, interval), in first-seen order.
pub fn summary_rows(rows: &[ThroughputRow]) -> Vec<SummaryRow> {
    let mut order: Vec<(String, String, u64)> = Vec::new();
    let mut groups: BTreeMap<(String, String, u64), Vec<&ThroughputRow>> = BTreeMap::new();
    for r in rows {
        let key = (
            r.fixture.clone(),
            r.probe_set.clone(),
            r.interval_s.to_bits(),
        );
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    let lat_ratio = |g: &[&ThroughputRow], f: fn(&ThroughputRow) -> (Option<f64>, Option<f64>)| {
        let v: Vec<f64> = g
            .iter()
            .filter_map(|r| match f(r) {
                (Some(s), Some(u)) if u > 0.0 => Some(s / u),
                _ => None,
            })
            .collect();
        summarize(&v).map(|s| s.median)
    };
    order
        .into_iter()
        .filter_map(|key| {
            let g = &groups[&key];
            let ratios: Vec<f64> = g.iter().filter_map(|r| r.ratio).collect();
            let Summary {
                n,
                min,
                median,
                max,
            } = summarize(&ratios)?;
            let cpu = summarize(&g.iter().filter_map(|r| r.cpu_ratio).collect::<Vec<_>>());
            let interval_s = f64::from_bits(key.2);
            let target =
                (key.1 == "default" && interval_s == TARGET_INTERVAL_S).then_some(TARGET_RATIO);
            Some(SummaryRow {
                p50_ratio_median: lat_ratio(g, |r| (r.p50_s_sampled, r.p50_s_unsampled)),
                p99_ratio_median: lat_ratio(g, |r| (r.p99_s_sampled, r.p99_s_unsampled)),
                fixture: key.0,
                probe_set: key.1,
                interval_s,
                reps: n,
                ratio_min: min,
                ratio_median: median,
                ratio_max: max,
                cpu_ratio_min: cpu.map(|c| c.min),
                cpu_ratio_median: cpu.map(|c| c.median),
                cpu_ratio_max: cpu.map(|c| c.max),
                target_ratio: target,
                target_met: target.map(|t| median >= t),
            })
        })
        .collect()
}

/// Rows as CSV with a header (the field names), even when there are no rows: the header of
/// an empty file is taken from a default row, so it can never drift from the fields.
pub fn csv_bytes<T: Serialize + Default>(rows: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.serialize(T::default())?;
        let all = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        let header_end = all
            .iter()
            .position(|&b| b == b'\n')
            .map_or(all.len(), |i| i + 1);
        return Ok(all[..header_end].to_vec());
    }
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn throughput_csv(rows: &[ThroughputRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(rows)
}
pub fn summary_csv(rows: &[SummaryRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(rows)
}
pub fn scale_csv(rows: &[ScaleRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(rows)
}
pub fn harness_csv(rows: &[HarnessRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(rows)
}
pub fn fidelity_csv(rows: &[FidelityRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(rows)
}

/// The most fixtures at once at which every repetition completed and was judged, among the
/// levels measured (levels need not be in order).
pub fn full_fidelity_jobs(rows: &[FidelityRow]) -> Option<usize> {
    rows.iter()
        .filter(|x| x.too_late == 0 && x.completed == x.fixtures)
        .map(|x| x.fixtures)
        .max()
}

/// Every result file by name.
pub fn all(r: &Results, meta: &StudyMeta) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let summary = summary_rows(&r.throughput);
    Ok(vec![
        ("overhead.csv", throughput_csv(&r.throughput)?),
        ("overhead-summary.csv", summary_csv(&summary)?),
        ("probe-scale.csv", scale_csv(&r.scale)?),
        ("harness-cost.csv", harness_csv(&r.harness)?),
        ("fidelity-levels.csv", fidelity_csv(&r.fidelity)?),
        ("overhead.md", markdown(r, &summary, meta).into_bytes()),
    ])
}

fn f(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// Seconds in a readable unit (µs, ms, s).
fn secs(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v.abs() < 1e-3 => format!("{:.1} µs", v * 1e6),
        Some(v) if v.abs() < 1.0 => format!("{:.2} ms", v * 1e3),
        Some(v) => format!("{v:.2} s"),
    }
}

/// The short report: settings, the three tables, which targets hold.
pub fn markdown(r: &Results, summary: &[SummaryRow], meta: &StudyMeta) -> String {
    let o = &meta.options;
    let mut s = String::new();
    let _ = writeln!(s, "# Overhead\n");
    let _ = writeln!(
        s,
        "leakbench {} · {} · {} CPUs ({}, kernel {}) · started {} · load average at start {} · fixtures run with GOMAXPROCS={}, one worker, `-ops-rate 0`.\n",
        meta.harness_version,
        meta.go_version,
        meta.machine.cpus,
        meta.machine.arch,
        meta.machine.kernel,
        meta.started_utc,
        f(meta.loadavg_at_start, 2),
        meta.fixture_gomaxprocs
    );
    let _ = writeln!(
        s,
        "Windows of {} s after {} s of warm-up, {} repetition(s), unsampled (A) and sampled (B) alternating A B / B A. `ratio` = sampled ÷ unsampled throughput (ops per wall second, counted by the fixture); `per-CPU ratio` = the same over ops per second of the fixture's own CPU time, which other processes taking the fixture's core do not disturb (on a busy machine, read this one). Raw rows: `overhead.csv`; settings: `overhead-meta.json`.\n",
        o.window_s, o.warmup_s, o.reps
    );
    if !summary.is_empty() {
        let _ = writeln!(s, "## Throughput: sampled ÷ unsampled\n");
        let mut t = Table::new([
            "fixture",
            "probe set",
            "interval",
            "reps",
            "ratio min",
            "median",
            "max",
            "per-CPU ratio min",
            "median",
            "max",
            "p50 lat. ratio",
            "p99 lat. ratio",
            "target",
        ]);
        for x in summary {
            t.push(vec![
                x.fixture.clone(),
                x.probe_set.clone(),
                format!("{} s", x.interval_s),
                x.reps.to_string(),
                format!("{:.4}", x.ratio_min),
                format!("{:.4}", x.ratio_median),
                format!("{:.4}", x.ratio_max),
                f(x.cpu_ratio_min, 4),
                f(x.cpu_ratio_median, 4),
                f(x.cpu_ratio_max, 4),
                f(x.p50_ratio_median, 2),
                f(x.p99_ratio_median, 2),
                match x.target_met {
                    Some(true) => format!("≥ {} ✓", TARGET_RATIO),
                    Some(false) => format!("≥ {} ✗", TARGET_RATIO),
                    None => String::new(),
                },
            ]);
        }
        s.push_str(&t.markdown());
        s.push('\n');
    }
    if !r.scale.is_empty() {
        let _ = writeln!(s, "## Probe cost at scale (medians over repetitions)\n");
        let _ = writeln!(
            s,
            "`probe`: wall time at the harness. `lost work`: worker time the fixture lost per probe (throughput deficit × window ÷ probes; with one P this is all runtime work done for the probe, plus any time other processes took the core). `lost CPU`: fixture CPU spent on something other than ops per probe, beyond the unsampled rate (not affected by other processes). `STW`: stop-the-world time per probe from the runtime's own pause histograms (`/sched/pauses/total/other` + `gc`), beyond the unsampled rate; `max STW`: longest pause seen (bucket edge).\n"
        );
        let mut t = Table::new([
            "goroutines",
            "probe",
            "probes/window",
            "probe",
            "lost work/probe",
            "lost CPU/probe",
            "STW/probe",
            "max STW",
            "max op (A → B)",
        ]);
        let mut groups: BTreeMap<(u64, String), Vec<&ScaleRow>> = BTreeMap::new();
        for x in &r.scale {
            groups
                .entry((x.goroutines, x.probe.clone()))
                .or_default()
                .push(x);
        }
        for ((n, probe), g) in groups {
            let med = |h: fn(&ScaleRow) -> Option<f64>| {
                summarize(&g.iter().filter_map(|x| h(x)).collect::<Vec<_>>()).map(|s| s.median)
            };
            let max = |h: fn(&ScaleRow) -> Option<f64>| {
                summarize(&g.iter().filter_map(|x| h(x)).collect::<Vec<_>>()).map(|s| s.max)
            };
            t.push(vec![
                n.to_string(),
                probe,
                f(med(|x| Some(x.probes as f64)), 0),
                secs(med(|x| x.probe_s_median)),
                secs(med(|x| x.lost_worker_s_per_probe)),
                secs(med(|x| x.lost_cpu_s_per_probe)),
                secs(med(|x| {
                    Some(x.stw_other_s_per_probe? + x.stw_gc_s_per_probe?)
                })),
                secs(max(|x| {
                    super::measure::max_opt(x.stw_other_max_s, x.stw_gc_max_s)
                })),
                format!(
                    "{} → {}",
                    secs(max(|x| x.max_op_s_unsampled)),
                    secs(max(|x| x.max_op_s_sampled))
                ),
            ]);
        }
        s.push_str(&t.markdown());
        s.push('\n');
    }
    if !r.harness.is_empty() {
        let _ = writeln!(s, "## Harness cost\n");
        let _ = writeln!(
            s,
            "Harness CPU (user + system, `/proc/self/stat`) and peak RSS (`VmHWM`, reset per phase) with K fixtures running, unsampled (`idle`) and sampled at 1 Hz with the default probes, traces serialized and written as `leakbench run` does.\n"
        );
        let mut t = Table::new([
            "phase",
            "fixtures",
            "window",
            "samples",
            "CPU",
            "% of a core",
            "% per fixture",
            "peak RSS",
        ]);
        for x in &r.harness {
            t.push(vec![
                x.phase.clone(),
                x.fixtures.to_string(),
                format!("{:.1} s", x.window_s),
                x.samples.to_string(),
                format!("{:.3} s", x.cpu_s),
                format!("{:.2}", x.cpu_pct_of_core),
                format!("{:.2}", x.cpu_pct_per_fixture),
                format!(
                    "{}{}",
                    x.peak_rss_bytes
                        .map_or("–".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
                    if x.peak_rss_reset { "" } else { " (lifetime)" }
                ),
            ]);
        }
        s.push_str(&t.markdown());
        s.push('\n');
    }
    if !r.fidelity.is_empty() {
        let _ = writeln!(s, "## Recording fidelity: fixtures at once\n");
        let _ = writeln!(
            s,
            "The default matrix's scenarios recorded K at once, as `leakbench run --jobs K` records them, each for the window shown. A repetition is too late to judge when its p99 gap between samples passes {} intervals or it missed over {:.0} % of its samples. `recording CPU`: the harness's and its fixtures' own CPU over the level's wall time; `machine busy`: every process on the machine (`/proc/stat`). Traces: `fidelity/k-K/`.\n",
            crate::fidelity::MAX_P99_GAP_INTERVALS,
            crate::fidelity::MAX_MISSED_FRACTION * 100.0
        );
        let mut t = Table::new([
            "fixtures",
            "window",
            "completed",
            "too late",
            "p99 gap (median)",
            "worst p99 gap",
            "longest gap",
            "missed",
            "recording CPU",
            "machine busy",
            "load",
        ]);
        let cores = |x: Option<f64>| x.map_or("–".into(), |c| format!("{c:.2} cores"));
        for x in &r.fidelity {
            t.push(vec![
                x.fixtures.to_string(),
                format!("{} s", x.window_s),
                format!("{}/{}", x.completed, x.fixtures),
                x.too_late.to_string(),
                secs(x.gap_p99_median_s),
                secs(x.gap_p99_max_s),
                secs(x.gap_max_s),
                format!("{:.1} %", x.missed_pct),
                cores(x.recording_cores),
                cores(x.machine_busy_cores),
                f(x.loadavg_1m, 1),
            ]);
        }
        s.push_str(&t.markdown());
        s.push('\n');
    }
    let _ = writeln!(s, "## Targets\n");
    let t: Vec<&SummaryRow> = summary.iter().filter(|x| x.target_met.is_some()).collect();
    if t.is_empty() {
        let _ = writeln!(
            s,
            "- Throughput (default probes at 1 Hz, median ratio ≥ {TARGET_RATIO}): not measured."
        );
    }
    for x in t {
        let _ =
            writeln!(
            s,
            "- Throughput, {} (default probes at 1 Hz, median ratio ≥ {TARGET_RATIO}): {:.4} — {}.",
            x.fixture,
            x.ratio_median,
            if x.target_met == Some(true) { "holds" } else { "does not hold" }
        );
    }
    match r.harness.iter().find(|x| x.phase == "sampling") {
        Some(x) => {
            let _ = writeln!(
                s,
                "- Harness CPU (≤ {TARGET_HARNESS_PCT_PER_FIXTURE}% of a core per fixture at 1 Hz): {:.2}% — {}.",
                x.cpu_pct_per_fixture,
                if x.cpu_pct_per_fixture <= TARGET_HARNESS_PCT_PER_FIXTURE {
                    "holds"
                } else {
                    "does not hold"
                }
            );
        }
        None => {
            let _ = writeln!(
                s,
                "- Harness CPU (≤ {TARGET_HARNESS_PCT_PER_FIXTURE}% of a core per fixture at 1 Hz): not measured."
            );
        }
    }
    if !r.fidelity.is_empty() {
        let _ = writeln!(
            s,
            "- Fixtures at once with every repetition completed and judged: {}.",
            full_fidelity_jobs(&r.fidelity).map_or("none of the levels measured".into(), |k| {
                format!("up to {k} of the levels measured")
            })
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(probe_set: &str, interval_s: f64, rep: u32, ratio: f64) -> ThroughputRow {
        ThroughputRow {
            fixture: "idle-goroutines".into(),
            probe_set: probe_set.into(),
            interval_s,
            rep,
            order: if rep.is_multiple_of(2) { "ab" } else { "ba" }.into(),
            window_s_unsampled: 5.0,
            window_s_sampled: 5.25,
            ops_per_s_unsampled: 1000.0,
            ops_per_s_sampled: 1000.0 * ratio,
            ratio: Some(ratio),
            p50_s_unsampled: Some(0.000005),
            p50_s_sampled: Some(0.00001),
            p99_s_unsampled: Some(0.0001),
            p99_s_sampled: None,
            fixture_cpu_s_unsampled: Some(5.0),
            fixture_cpu_s_sampled: None,
            ops_per_cpu_s_unsampled: Some(1000.0),
            ops_per_cpu_s_sampled: None,
            cpu_ratio: None,
            samples: 5,
            probe_failures: 0,
            loadavg_1m: Some(1.5),
        }
    }

    /// A snapshot of the exact bytes: the CSV is read by other tools (the chart), so its
    /// columns and number formatting are a contract.
    #[test]
    fn throughput_csv_bytes_are_stable() {
        let full =
            String::from_utf8(throughput_csv(&[row("default", 1.0, 0, 0.99)]).unwrap()).unwrap();
        assert_eq!(
            full,
            "fixture,probe_set,interval_s,rep,order,window_s_unsampled,window_s_sampled,ops_per_s_unsampled,ops_per_s_sampled,ratio,p50_s_unsampled,p50_s_sampled,p99_s_unsampled,p99_s_sampled,fixture_cpu_s_unsampled,fixture_cpu_s_sampled,ops_per_cpu_s_unsampled,ops_per_cpu_s_sampled,cpu_ratio,samples,probe_failures,loadavg_1m\n\
             idle-goroutines,default,1.0,0,ab,5.0,5.25,1000.0,990.0,0.99,5e-6,0.00001,0.0001,,5.0,,1000.0,,,5,0,1.5\n"
        );
        let empty = String::from_utf8(throughput_csv(&[]).unwrap()).unwrap();
        assert_eq!(
            empty,
            format!("{}\n", full.lines().next().unwrap()),
            "header only"
        );
    }

    #[test]
    fn summary_groups_reps_and_checks_the_target() {
        let rows = vec![
            row("default", 1.0, 0, 0.97),
            row("default", 5.0, 0, 1.0),
            row("default", 1.0, 1, 0.99),
            row("default", 1.0, 2, 0.985),
            row("goroutine", 1.0, 0, 0.9),
        ];
        let s = summary_rows(&rows);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].probe_set.as_str(), s[0].interval_s, s[0].reps),
            ("default", 1.0, 3)
        );
        assert_eq!(
            (s[0].ratio_min, s[0].ratio_median, s[0].ratio_max),
            (0.97, 0.985, 0.99)
        );
        assert_eq!(s[0].target_met, Some(true));
        assert_eq!(s[0].p50_ratio_median, Some(2.0));
        assert_eq!(s[0].p99_ratio_median, None);
        assert_eq!(s[1].target_met, None, "no target at 5 s");
        assert_eq!(s[2].target_ratio, None);
    }

    /// The three tables of `overhead.md`, byte for byte (the format predates the shared
    /// table writer and must not change with it).
    #[test]
    fn overhead_md_tables_are_stable() {
        let throughput = vec![row("default", 1.0, 0, 0.99), row("goroutine", 1.0, 0, 0.9)];
        let scale = vec![ScaleRow {
            goroutines: 10000,
            probe: "goroutine".into(),
            probes: 4,
            probe_s_median: Some(0.0025),
            lost_worker_s_per_probe: Some(0.0000005),
            stw_other_s_per_probe: Some(0.001),
            stw_gc_s_per_probe: Some(0.0005),
            stw_other_max_s: Some(0.002),
            max_op_s_unsampled: Some(0.5),
            max_op_s_sampled: Some(2.0),
            ..Default::default()
        }];
        let harness = vec![HarnessRow {
            phase: "sampling".into(),
            fixtures: 4,
            interval_s: 1.0,
            window_s: 10.0,
            samples: 40,
            cpu_s: 0.123,
            cpu_pct_of_core: 1.23,
            cpu_pct_per_fixture: 0.3,
            peak_rss_bytes: Some(3 * 1048576),
            peak_rss_reset: false,
        }];
        let fidelity = vec![FidelityRow {
            fixtures: 22,
            interval_s: 0.5,
            window_s: 20.0,
            completed: 22,
            too_late: 0,
            gap_p99_median_s: Some(0.52),
            gap_p99_max_s: Some(0.6),
            gap_max_s: Some(0.9),
            missed_pct: 0.3,
            wall_s: 22.0,
            recording_cores: Some(1.1),
            machine_busy_cores: None,
            loadavg_1m: Some(3.08),
        }];
        let r = Results {
            throughput,
            scale,
            harness,
            fidelity,
        };
        let meta = StudyMeta {
            harness_version: "0.1.0".into(),
            go_version: "go1.25".into(),
            machine: crate::record::run::Machine {
                cpus: 2,
                kernel: "6.1".into(),
                arch: "x86_64".into(),
            },
            started_utc: "2025-01-01T00:00:00Z".into(),
            fixture_gomaxprocs: 1,
            loadavg_at_start: None,
            options: super::super::OverheadOptions::standard(
                "o".into(),
                "go".into(),
                "f".into(),
                "c".into(),
            ),
            probe_sets: vec![],
        };
        let md = markdown(&r, &summary_rows(&r.throughput), &meta);
        for table in [
            "| fixture | probe set | interval | reps | ratio min | median | max | per-CPU ratio min | median | max | p50 lat. ratio | p99 lat. ratio | target |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|\n\
             | idle-goroutines | default | 1 s | 1 | 0.9900 | 0.9900 | 0.9900 | – | – | – | 2.00 | – | ≥ 0.98 ✓ |\n\
             | idle-goroutines | goroutine | 1 s | 1 | 0.9000 | 0.9000 | 0.9000 | – | – | – | 2.00 | – |  |\n\n",
            "| goroutines | probe | probes/window | probe | lost work/probe | lost CPU/probe | STW/probe | max STW | max op (A → B) |\n\
             |---|---|---|---|---|---|---|---|---|\n\
             | 10000 | goroutine | 4 | 2.50 ms | 0.5 µs | – | 1.50 ms | 2.00 ms | 500.00 ms → 2.00 s |\n\n",
            "| phase | fixtures | window | samples | CPU | % of a core | % per fixture | peak RSS |\n\
             |---|---|---|---|---|---|---|---|\n\
             | sampling | 4 | 10.0 s | 40 | 0.123 s | 1.23 | 0.30 | 3.0 MiB (lifetime) |\n\n",
            "| fixtures | window | completed | too late | p99 gap (median) | worst p99 gap | longest gap | missed | recording CPU | machine busy | load |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n\
             | 22 | 20 s | 22/22 | 0 | 520.00 ms | 600.00 ms | 900.00 ms | 0.3 % | 1.10 cores | – | 3.1 |\n\n",
            "- Fixtures at once with every repetition completed and judged: up to 22 of the levels measured.",
        ] {
            assert!(md.contains(table), "expected\n{table}\nin\n{md}");
        }
    }
}
