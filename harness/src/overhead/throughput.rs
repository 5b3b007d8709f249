//! The throughput study (`overhead.csv`): each fixture's non-leaking twin works as fast as it
//! can on one P while unsampled (A) and sampled (B) windows alternate in one process, A B on
//! even repetitions and B A on odd ones; a row is one pair, its ratio B's throughput over A's.
//! B samples on the recorder's schedule ([`crate::record::ticker::Pace::Every`], the probe
//! timeout `leakbench run` uses for that interval).
//!
//! Owns the pairs' order and their rows. Must not summarize them (that is [`super::files`]).

use super::measure;
use super::options::probe_set;
use super::window::{self, Probing};
use super::{check_alive, loadavg_1m, start, State};
use crate::record::fixture_build::BuiltFixture;
use crate::record::probe::Prober;
use crate::record::repetition::probe_timeout;
use crate::record::repetition::STOP_GRACE;
use crate::record::ticker::Pace;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Timeout of the window-edge work reads: generous, since a loaded machine can delay an
/// answer, and a lost read costs a whole window.
const WORK_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// One A/B pair of the throughput study: a row of `overhead.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThroughputRow {
    pub fixture: String,
    /// Probe set name ([`super::PROBE_SET_NAMES`]).
    pub probe_set: String,
    pub interval_s: f64,
    pub rep: u32,
    /// `ab` (unsampled first) or `ba`.
    pub order: String,
    pub window_s_unsampled: f64,
    pub window_s_sampled: f64,
    pub ops_per_s_unsampled: f64,
    pub ops_per_s_sampled: f64,
    /// Sampled over unsampled throughput (1 = free, 0.98 = 2% lost).
    pub ratio: Option<f64>,
    pub p50_s_unsampled: Option<f64>,
    pub p50_s_sampled: Option<f64>,
    pub p99_s_unsampled: Option<f64>,
    pub p99_s_sampled: Option<f64>,
    /// CPU time of the fixture process in each window (user + system, all threads).
    pub fixture_cpu_s_unsampled: Option<f64>,
    pub fixture_cpu_s_sampled: Option<f64>,
    /// Ops per second of fixture CPU time, both ways, and their ratio: the lost work without
    /// the noise of other processes taking the fixture's core (see [`measure::WorkWindow::ops_per_cpu_s`]).
    pub ops_per_cpu_s_unsampled: Option<f64>,
    pub ops_per_cpu_s_sampled: Option<f64>,
    pub cpu_ratio: Option<f64>,
    /// Samples taken in the sampled window.
    pub samples: u32,
    /// Probe failures in the sampled window (a failed probe did less work than a real one).
    pub probe_failures: u32,
    /// 1-minute load average at the end of the pair: how noisy the machine was.
    pub loadavg_1m: Option<f64>,
}

/// Runs every pair of one fixture, a row each.
pub(super) async fn fixture(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let combos = o.combos();
    let est_s = o.warmup_s + (o.reps as f64) * combos.len() as f64 * 2.0 * (o.window_s + 1.0);
    let mut args = vec![
        "-fixed".to_string(),
        "-ops-rate=0".into(),
        "-workers=1".into(),
        format!("-duration={}s", (est_s * 2.0 + 120.0).ceil() as u64),
    ];
    args.extend(o.fixture_args.iter().cloned());
    let log = logs.join(format!("throughput-{}.log", fixture.name));
    let mut fx = start(fixture, args, log).await?;
    let reader = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, WORK_READ_TIMEOUT);
    tokio::time::sleep(Duration::from_secs_f64(o.warmup_s)).await;
    let len = Duration::from_secs_f64(o.window_s);
    for rep in 0..o.reps {
        for (name, interval) in &combos {
            check_alive(&mut fx).await?;
            let set = probe_set(name).expect("validated");
            let every = Duration::from_secs_f64(*interval);
            let sampler = Prober::new(fx.addr, fx.pid, fx.spawn_mono_ns, probe_timeout(every));
            let unsampled = || window::measure(&reader, fx.pid, None, len);
            let sampled = || {
                let probing = Probing {
                    prober: &sampler,
                    set,
                    pace: Pace::Every(every),
                };
                window::measure(&reader, fx.pid, Some(probing), len)
            };
            let ab = rep % 2 == 0;
            let (a, b) = if ab {
                let a = unsampled().await?;
                (a, sampled().await?)
            } else {
                let b = sampled().await?;
                (unsampled().await?, b)
            };
            let ((wa, _), (wb, smp)) = (a, b);
            let row = ThroughputRow {
                fixture: fixture.name.clone(),
                probe_set: name.clone(),
                interval_s: *interval,
                rep,
                order: if ab { "ab" } else { "ba" }.into(),
                window_s_unsampled: wa.elapsed_s,
                window_s_sampled: wb.elapsed_s,
                ops_per_s_unsampled: wa.ops_per_s,
                ops_per_s_sampled: wb.ops_per_s,
                ratio: measure::ratio(wb.ops_per_s, wa.ops_per_s),
                p50_s_unsampled: wa.p50_s,
                p50_s_sampled: wb.p50_s,
                p99_s_unsampled: wa.p99_s,
                p99_s_sampled: wb.p99_s,
                fixture_cpu_s_unsampled: wa.cpu_s,
                fixture_cpu_s_sampled: wb.cpu_s,
                ops_per_cpu_s_unsampled: wa.ops_per_cpu_s(),
                ops_per_cpu_s_sampled: wb.ops_per_cpu_s(),
                cpu_ratio: wb
                    .ops_per_cpu_s()
                    .zip(wa.ops_per_cpu_s())
                    .and_then(|(b, a)| measure::ratio(b, a)),
                samples: smp.samples,
                probe_failures: smp.failures,
                loadavg_1m: loadavg_1m(),
            };
            let line = format!(
                "throughput {} {} every {}s rep {}: ratio {} ({:.0} vs {:.0} ops/s, {} samples{})",
                row.fixture,
                row.probe_set,
                row.interval_s,
                rep,
                row.ratio.map_or("-".into(), |r| format!("{r:.4}")),
                row.ops_per_s_sampled,
                row.ops_per_s_unsampled,
                row.samples,
                if row.probe_failures > 0 {
                    format!(", {} probe failures", row.probe_failures)
                } else {
                    String::new()
                }
            );
            st.results.throughput.push(row);
            st.done(&line)?;
        }
    }
    fx.stop(STOP_GRACE).await;
    Ok(())
}
