//! The scale study (`probe-scale.csv`): the cost of one probe against the number of goroutines
//! (`idle-goroutines -goroutines N`), from an unsampled window (A) and one probed back to back
//! with a rest between ([`crate::record::ticker::Pace::After`]) (B), each bracketed by the
//! runtime's own stop-the-world pause histograms. A row charges B's excess over A to each
//! probe.
//!
//! Owns the levels, their windows and rows. Must not summarize them (that is [`super::files`]).

use super::measure::{self, PauseDelta, PauseSnapshot, WorkWindow};
use super::options::probe_set;
use super::window::{self, Probing, Sampling};
use super::{check_alive, loadavg_1m, start, State};
use crate::clock::monotonic_ns;
use crate::record::fixture_build::BuiltFixture;
use crate::record::probe::{ProbeSet, Prober};
use crate::record::repetition::STOP_GRACE;
use crate::record::ticker::Pace;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// One A/B pair of the scale study: a row of `probe-scale.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScaleRow {
    pub goroutines: u64,
    pub probe: String,
    pub rep: u32,
    /// Probes taken in the sampled window.
    pub probes: u32,
    /// Wall time of one probe at the harness (request, transfer, decode), median and max.
    pub probe_s_median: Option<f64>,
    pub probe_s_max: Option<f64>,
    pub ops_per_s_unsampled: f64,
    pub ops_per_s_sampled: f64,
    pub ratio: Option<f64>,
    /// Worker time lost per probe: `window_s × (1 − ratio) / probes`.
    pub lost_worker_s_per_probe: Option<f64>,
    /// Ops per fixture CPU second, sampled over unsampled.
    pub cpu_ratio: Option<f64>,
    /// Fixture CPU spent on something other than ops, per probe, beyond the unsampled rate:
    /// `(cpu_sampled − ops_sampled / ops_per_cpu_s_unsampled) / probes`. Unlike lost worker
    /// time, other processes taking the fixture's core do not count.
    pub lost_cpu_s_per_probe: Option<f64>,
    /// Non-GC stop-the-world pauses in the sampled window, per probe, beyond the unsampled
    /// window's rate.
    pub stw_other_per_probe: Option<f64>,
    pub stw_other_s_per_probe: Option<f64>,
    /// Longest non-GC pause in the sampled window (bucket upper edge).
    pub stw_other_max_s: Option<f64>,
    /// GC pauses (sum of both STW phases), per probe, beyond the unsampled window's rate.
    pub stw_gc_s_per_probe: Option<f64>,
    pub stw_gc_max_s: Option<f64>,
    /// Upper bound of the slowest op's latency bucket, both ways: the worker's longest stall.
    pub max_op_s_unsampled: Option<f64>,
    pub max_op_s_sampled: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

/// Reads the fixture's pause snapshot once it is newer than `after_mono_ns`.
async fn fresh_pauses(path: &Path, after_mono_ns: u64) -> anyhow::Result<PauseSnapshot> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(s) = serde_json::from_str::<PauseSnapshot>(&text) {
                if s.mono_ns > after_mono_ns {
                    return Ok(s);
                }
            }
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{}: no pause snapshot newer than the window after 3 s (is the fixture writing it?)",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the fixture runs at least `n` goroutines (they start after readiness).
async fn wait_goroutines(p: &Prober, n: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = p
            .metrics()
            .await
            .map_err(|e| anyhow::anyhow!("could not read /leakbench/metrics: {e}"))?;
        if m.get(crate::sample::metric::GOROUTINES)
            .copied()
            .unwrap_or(0.0)
            >= n as f64
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the fixture did not reach {n} goroutines within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A window of the scale study ([`window::measure`]), bracketed by pause snapshots taken
/// after its edges. A probed window ends at the first tick at or after `len`, so it can run up
/// to one `gap` longer than an unprobed one: [`scale_row`] scales A to B's length.
async fn scale_window(
    reader: &Prober,
    pid: u32,
    probes: Option<ProbeSet>,
    len: Duration,
    gap: Duration,
    pauses: &Path,
) -> anyhow::Result<ScaleWindow> {
    let p0 = fresh_pauses(pauses, monotonic_ns()).await?;
    let probing = probes.map(|set| Probing {
        prober: reader,
        set,
        pace: Pace::After(gap),
    });
    let (w, s) = window::measure(reader, pid, probing, len).await?;
    let p1 = fresh_pauses(pauses, monotonic_ns()).await?;
    Ok((
        w,
        s,
        measure::pause_delta(&p0.other, &p1.other),
        measure::pause_delta(&p0.gc, &p1.gc),
    ))
}

/// Runs every pair of one goroutine count, a row each.
pub(super) async fn level(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    n: u64,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let pauses = logs.join(format!("pauses-{n}.json"));
    let _ = std::fs::remove_file(&pauses);
    let est_s = o.warmup_s + o.reps as f64 * o.scale_probes.len() as f64 * 2.0 * (o.window_s + 2.0);
    let args = vec![
        "-fixed".to_string(),
        "-ops-rate=0".into(),
        "-workers=1".into(),
        format!("-goroutines={n}"),
        format!("-pauses-file={}", pauses.display()),
        format!("-duration={}s", (est_s * 2.0 + 180.0).ceil() as u64),
    ];
    let log = logs.join(format!("scale-{n}.log"));
    let mut fx = start(fixture, args, log).await?;
    // Profiles of 100k goroutines take long on one P under load: a generous timeout.
    let reader = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, Duration::from_secs(30));
    wait_goroutines(&reader, n).await?;
    tokio::time::sleep(Duration::from_secs_f64(o.warmup_s)).await;
    let len = Duration::from_secs_f64(o.window_s);
    let gap = Duration::from_secs_f64(o.scale_gap_s);
    for rep in 0..o.reps {
        for name in &o.scale_probes {
            check_alive(&mut fx).await?;
            let set = probe_set(name).expect("validated");
            let ab = rep % 2 == 0;
            let unsampled = || scale_window(&reader, fx.pid, None, len, gap, &pauses);
            let sampled = || scale_window(&reader, fx.pid, Some(set), len, gap, &pauses);
            let (a, b) = if ab {
                let a = unsampled().await?;
                (a, sampled().await?)
            } else {
                let b = sampled().await?;
                (unsampled().await?, b)
            };
            let row = scale_row(n, name, rep, &a, &b);
            let line = format!(
                "scale {n} goroutines {name} rep {rep}: probe {} s, lost {} s/probe, STW {} s/probe (max {} s)",
                fmt_opt(row.probe_s_median),
                fmt_opt(row.lost_worker_s_per_probe),
                fmt_opt(row.stw_other_s_per_probe.zip(row.stw_gc_s_per_probe).map(|(a, b)| a + b)),
                fmt_opt(measure::max_opt(row.stw_other_max_s, row.stw_gc_max_s)),
            );
            st.results.scale.push(row);
            st.done(&line)?;
        }
    }
    fx.stop(STOP_GRACE).await;
    Ok(())
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3e}"))
}

type ScaleWindow = (WorkWindow, Sampling, PauseDelta, PauseDelta);

/// Turns an unsampled (`a`) and a sampled (`b`) window into a row: per-probe figures are the
/// sampled window's excess over the unsampled one at the same duration.
fn scale_row(n: u64, probe: &str, rep: u32, a: &ScaleWindow, b: &ScaleWindow) -> ScaleRow {
    let (wa, _, oa, ga) = a;
    let (wb, s, ob, gb) = b;
    let k = s.samples.max(1) as f64;
    let scale = wb.elapsed_s / wa.elapsed_s;
    let per = |x: f64| Some(x / k).filter(|_| s.samples > 0);
    let ratio = measure::ratio(wb.ops_per_s, wa.ops_per_s);
    let d = measure::summarize(&s.durations_s);
    let nonzero = |x: f64| Some(x).filter(|&v| v > 0.0);
    ScaleRow {
        goroutines: n,
        probe: probe.into(),
        rep,
        probes: s.samples,
        probe_s_median: d.map(|d| d.median),
        probe_s_max: d.map(|d| d.max),
        ops_per_s_unsampled: wa.ops_per_s,
        ops_per_s_sampled: wb.ops_per_s,
        ratio,
        lost_worker_s_per_probe: ratio.and_then(|r| per(wb.elapsed_s * (1.0 - r))),
        cpu_ratio: wb
            .ops_per_cpu_s()
            .zip(wa.ops_per_cpu_s())
            .and_then(|(b, a)| measure::ratio(b, a)),
        lost_cpu_s_per_probe: wb
            .cpu_s
            .zip(wa.ops_per_cpu_s())
            .and_then(|(c, rate)| per(c - wb.ops as f64 / rate)),
        stw_other_per_probe: per(ob.count as f64 - oa.count as f64 * scale),
        stw_other_s_per_probe: per(ob.total_s - oa.total_s * scale),
        stw_other_max_s: nonzero(ob.max_s),
        stw_gc_s_per_probe: per(gb.total_s - ga.total_s * scale),
        stw_gc_max_s: nonzero(gb.max_s),
        max_op_s_unsampled: wa.max_bound_s,
        max_op_s_sampled: wb.max_bound_s,
        loadavg_1m: loadavg_1m(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_rows_charge_the_excess_per_probe() {
        let w = |ops_per_s: f64, max: f64| WorkWindow {
            elapsed_s: 2.0,
            ops: (ops_per_s * 2.0) as u64,
            ops_per_s,
            p50_s: None,
            p99_s: None,
            max_bound_s: Some(max),
            cpu_s: Some(2.0 * ops_per_s / 1000.0),
        };
        let pd = |count, total_s, max_s| PauseDelta {
            count,
            total_s,
            max_s,
        };
        let a = (
            w(1000.0, 1e-4),
            Sampling::default(),
            pd(0, 0.0, 0.0),
            pd(2, 2e-4, 1e-4),
        );
        let b = (
            w(900.0, 1e-2),
            Sampling {
                samples: 4,
                failures: 0,
                durations_s: vec![0.01, 0.02, 0.03, 0.05],
            },
            pd(8, 4e-4, 1e-4),
            pd(6, 6e-4, 2e-4),
        );
        let r = scale_row(1000, "goroutine", 0, &a, &b);
        assert_eq!(r.probes, 4);
        assert!((r.ratio.unwrap() - 0.9).abs() < 1e-12);
        // 10% of a 2 s window over 4 probes.
        assert!((r.lost_worker_s_per_probe.unwrap() - 0.05).abs() < 1e-12);
        // The sampled window used 1.8 CPU-s for 1800 ops at 1000 ops per CPU-s: no loss.
        assert!(r.lost_cpu_s_per_probe.unwrap().abs() < 1e-12);
        assert!((r.cpu_ratio.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(r.stw_other_per_probe, Some(2.0));
        assert!((r.stw_other_s_per_probe.unwrap() - 1e-4).abs() < 1e-15);
        assert!((r.stw_gc_s_per_probe.unwrap() - 1e-4).abs() < 1e-15);
        assert_eq!(r.probe_s_median, Some(0.025));
        assert_eq!(r.max_op_s_sampled, Some(1e-2));
    }
}
