//! The harness study (`harness-cost.csv`): the harness's own CPU (utime + stime from
//! `/proc/self/stat`) and peak RSS (`VmHWM`, reset before each phase) with K fixtures at once,
//! in two phases of the same shape:
//!
//! - `idle`: each fixture is started as its repetition would start it
//!   ([`RepPlan::launch_spec`]), left unsampled for the phase, and stopped;
//! - `sampling`: the K repetitions are recorded at once by [`crate::record::repetition::record`], the very
//!   function `leakbench run` records with: its tick loop at 1 Hz, the default probes, the RSS
//!   watchdog, each trace written to `harness-cost/traces/harness-cost/rep-K/`.
//!
//! Both phases start and stop their fixtures, so `sampling` is what recording costs the harness
//! per fixture, and `sampling − idle` the recording loop alone. Live detection, which
//! `leakbench run` adds on each sample ([`crate::record::run`]), is not in the figure.
//!
//! Owns the phases and their rows. Must not change how a repetition is recorded.

use super::measure;
use super::options::NEUTRAL_FIXTURE;
use super::State;
use crate::record::fixture_build::{BuiltFixture, GoToolchain};
use crate::record::launch;
use crate::record::probe::ProbeSet;
use crate::record::repetition::{RepPlan, STOP_GRACE};
use crate::scenario::{self, Scenario};
use crate::trace::EndStatus;
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The sampling interval of the study, seconds: 1 Hz, the rate the harness's CPU target is
/// stated at.
pub const INTERVAL_S: f64 = 1.0;

/// One phase of the harness study: a row of `harness-cost.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HarnessRow {
    /// `idle` (fixtures running, nothing sampled) or `sampling`.
    pub phase: String,
    pub fixtures: usize,
    pub interval_s: f64,
    pub window_s: f64,
    pub samples: u64,
    /// Harness CPU (user + system) in the phase, seconds.
    pub cpu_s: f64,
    /// `cpu_s / window_s × 100`: percent of one core.
    pub cpu_pct_of_core: f64,
    pub cpu_pct_per_fixture: f64,
    /// Harness `VmHWM` at the end of the phase, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Whether `VmHWM` was reset at the start of the phase (else it is the lifetime peak).
    pub peak_rss_reset: bool,
}

/// The repetitions' scenario, as a scenario file would state it: the neutral fixture's twin
/// with the kit's default paced workload (the cost of sampling, not of a saturated machine),
/// on one P as every fixture of the study, recorded for `window_s` at [`INTERVAL_S`].
fn scenario(window_s: f64) -> anyhow::Result<Scenario> {
    let text = format!(
        r#"description = "leakbench overhead: what recording costs the harness"
fixture = "{NEUTRAL_FIXTURE}"
env = {{ GOMAXPROCS = "1" }}
duration_s = {window_s:?}
interval_s = {INTERVAL_S:?}

[leak]
fixed = true

[truth]
leaking = false
class = "goroutine"
site = ''
"#
    );
    Ok(scenario::parse(
        Path::new("harness-cost.toml"),
        &text,
        None,
    )?)
}

/// Runs both phases, a row each.
pub(super) async fn study(
    st: &mut State<'_>,
    fixture: &BuiltFixture,
    toolchain: &GoToolchain,
    logs: &Path,
) -> anyhow::Result<()> {
    let o = st.opts;
    let k = o.harness_fixtures;
    let scenario = scenario(o.harness_window_s)?;
    let plans: Vec<RepPlan> = (0..k as u32)
        .map(|rep| RepPlan {
            scenario: scenario.clone(),
            rep,
            axes: Default::default(),
            fixture: fixture.clone(),
            toolchain: toolchain.clone(),
            run_dir: o.out.join("harness-cost"),
            probes: ProbeSet::default(),
        })
        .collect();
    for phase in ["idle", "sampling"] {
        let reset = measure::reset_peak_rss();
        let cpu0 = measure::self_cpu_s().context("could not read /proc/self/stat")?;
        let t0 = Instant::now();
        let samples = if phase == "idle" {
            unsampled(&plans, logs).await?;
            0
        } else {
            record_all(&plans).await?
        };
        let el = t0.elapsed().as_secs_f64();
        let cpu = measure::self_cpu_s().context("could not read /proc/self/stat")? - cpu0;
        let row = HarnessRow {
            phase: phase.into(),
            fixtures: k,
            interval_s: scenario.interval_s,
            window_s: el,
            samples,
            cpu_s: cpu,
            cpu_pct_of_core: cpu / el * 100.0,
            cpu_pct_per_fixture: cpu / el * 100.0 / k as f64,
            peak_rss_bytes: measure::self_peak_rss_bytes(),
            peak_rss_reset: reset,
        };
        let line = format!(
            "harness {phase}, {k} fixtures: {:.2}% of a core per fixture, peak RSS {:.1} MiB",
            row.cpu_pct_per_fixture,
            row.peak_rss_bytes.unwrap_or(0) as f64 / 1048576.0
        );
        st.results.harness.push(row);
        st.done(&line)?;
    }
    Ok(())
}

/// Starts every fixture at once as its repetition would, leaves it unsampled for the
/// scenario's duration after its readiness, and stops it as a repetition does.
async fn unsampled(plans: &[RepPlan], logs: &Path) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for p in plans {
        let mut spec = p.launch_spec();
        spec.log_path = logs.join(format!("harness-{}.log", p.rep));
        let len = Duration::from_secs_f64(p.scenario.duration_s);
        let name = p.fixture.name.clone();
        tasks.spawn(async move {
            let mut f = launch::launch(&spec)
                .await
                .with_context(|| format!("could not start fixture {name}"))?;
            tokio::time::sleep(len).await;
            f.stop(STOP_GRACE).await;
            f.drain_log().await;
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("a fixture task panicked")??;
    }
    Ok(())
}

/// Records every repetition at once, as `leakbench run --jobs K` would; returns the samples
/// they took. A repetition that did not complete fails the study: its cost is not the cost
/// of a recording.
async fn record_all(plans: &[RepPlan]) -> anyhow::Result<u64> {
    let mut samples = 0;
    for (p, end) in super::record_at_once(plans).await? {
        if end.status != EndStatus::Completed {
            anyhow::bail!(
                "harness study: repetition {} ended {}: {} (its files are in {})",
                p.rep,
                end.status,
                end.reason,
                p.dir().path().display()
            );
        }
        samples += end.samples;
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Role;

    #[test]
    fn the_study_records_the_neutral_twin_on_one_p_at_one_hz() {
        let s = scenario(2.5).unwrap();
        assert_eq!(s.name, "harness-cost");
        assert_eq!(s.fixture, NEUTRAL_FIXTURE);
        assert_eq!(s.role(), Role::Twin);
        assert_eq!((s.duration_s, s.interval_s), (2.5, INTERVAL_S));
        assert_eq!(s.env.get("GOMAXPROCS").map(String::as_str), Some("1"));
        assert!(s.fixture_args(0).contains(&"-fixed".to_string()));
        // The kit's default paced workload: no flag of the throughput study's saturation.
        assert!(!s.fixture_args(0).iter().any(|a| a.starts_with("-ops-rate")));
    }
}
