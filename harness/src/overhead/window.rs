//! One measurement window of the throughput and scale studies: the fixture's work counters and
//! CPU time read at both ends, and in between either nothing (A, unsampled) or samples taken on
//! a [`crate::record::ticker`] schedule (B), each by [`take_sample`] as `leakbench run` takes
//! them.
//!
//! Owns a window's edges and what the sampling in it did. Must not decide the order of windows
//! or turn them into rows (the studies do).

use super::measure::{self, WorkWindow};
use crate::record::probe::{ProbeSet, Prober};
use crate::record::repetition::take_sample;
use crate::record::ticker::{Pace, Tick, Ticker};
use crate::sample::Work;
use anyhow::Context;
use std::time::Duration;
use tokio::time::Instant;

/// What a sampled window did besides the work.
#[derive(Debug, Default)]
pub struct Sampling {
    pub samples: u32,
    /// Probe failures (a failed probe did less work than a real one).
    pub failures: u32,
    /// Wall time of each sample from its tick, seconds.
    pub durations_s: Vec<f64>,
}

/// Samples to take in a window: with this prober and probe set, at this pace.
pub struct Probing<'a> {
    pub prober: &'a Prober,
    pub set: ProbeSet,
    pub pace: Pace,
}

/// One window of `len`: work read through `reader` at both ends, the CPU time of process
/// `pid` beside it. With `probing`, a sample is taken at every tick until the first tick at or
/// after `len`; a sample still running then is awaited, so its cost lands in this window and
/// not the next.
pub async fn measure(
    reader: &Prober,
    pid: u32,
    probing: Option<Probing<'_>>,
    len: Duration,
) -> anyhow::Result<(WorkWindow, Sampling)> {
    let w0 = read_work(reader).await?;
    let c0 = measure::proc_cpu_s(pid);
    let t0 = Instant::now();
    let mut s = Sampling::default();
    match probing {
        None => tokio::time::sleep(len).await,
        Some(p) => {
            let mut ticks = Ticker::new(p.pace, t0 + len);
            while let Tick::Due(at) = ticks.next().await {
                let smp = take_sample(p.prober, &p.set).await;
                s.durations_s.push(at.elapsed().as_secs_f64());
                s.samples += 1;
                s.failures += smp.missing.len() as u32;
            }
        }
    }
    let w1 = read_work(reader).await?;
    let c1 = measure::proc_cpu_s(pid);
    let el = t0.elapsed().as_secs_f64();
    let mut w = measure::work_window(&w0, &w1, el)
        .context("the fixture's work counters went backwards or changed shape")?;
    w.cpu_s = c0.zip(c1).map(|(a, b)| b - a);
    Ok((w, s))
}

async fn read_work(p: &Prober) -> anyhow::Result<Work> {
    p.work()
        .await
        .map_err(|e| anyhow::anyhow!("could not read /leakbench/work: {e}"))
}
