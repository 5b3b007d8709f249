//! How much do lost samples change the scores? The measurement behind
//! `fidelity::MAX_P99_GAP_INTERVALS` and `MAX_MISSED_FRACTION`.
//!
//! Re-scores a recorded run after dropping every n-th sample from warm-up on (n = 50, 20, 10,
//! 5, 3, 2), each repetition still judged (its stored fidelity is the original's), and prints,
//! per n, the resulting p99 gap and missed fraction beside how many judged rows changed outcome
//! and how far latencies moved. Nothing is written.
//!
//! ```text
//! cargo run --release -p leakbench --example thin_samples -- results/<run>
//! ```
use std::path::Path;

use anyhow::{Context, Result};
use leakbench::evaluate::detect::{registry, Params};
use leakbench::evaluate::replay::score_traces;
use leakbench::evaluate::score::Outcome;
use leakbench::fidelity::{self, Fidelity};
use leakbench::stats;
use leakbench::trace::{load_run, Trace};

/// Drops every `n`-th sample taken from warm-up on; the stored fidelity stays the original's,
/// so the repetition is judged as it was and only the samples differ.
fn thinned(t: &Trace, n: usize) -> Trace {
    let mut t = t.clone();
    let original = fidelity::of_trace(&t);
    if let Some(end) = t.end.as_mut() {
        end.fidelity = Some(original);
    }
    let warmup = t.meta.scenario.warmup_s;
    let mut i = 0usize;
    t.samples.retain(|s| {
        if s.t < warmup {
            return true;
        }
        i += 1;
        !i.is_multiple_of(n)
    });
    t
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: thin_samples RUN_DIR (a recorded run directory)")?;
    let traces = load_run(Path::new(&dir)).with_context(|| format!("reading {dir}"))?;
    let base = score_traces(&traces, registry(), &Params::default());
    println!("drop every | p99 gap (median) | missed | judged rows | outcome changed | latency moved p50 / p90 / max");
    for n in [50usize, 20, 10, 5, 3, 2] {
        let thin: Vec<Trace> = traces.iter().map(|t| thinned(t, n)).collect();
        let rows = score_traces(&thin, registry(), &Params::default());
        let (mut judged, mut changed, mut moved) = (0usize, 0usize, Vec::new());
        for (a, b) in base.iter().zip(&rows) {
            assert_eq!(
                (&a.scenario, &a.detector, a.rep),
                (&b.scenario, &b.detector, b.rep)
            );
            if a.outcome == Outcome::Na || b.outcome == Outcome::Na {
                continue;
            }
            judged += 1;
            changed += usize::from(a.outcome != b.outcome);
            if let (Some(x), Some(y)) = (a.latency_s, b.latency_s) {
                moved.push((y - x).abs());
            }
        }
        let fids: Vec<Fidelity> = thin
            .iter()
            .map(|t| {
                Fidelity::of(
                    t.samples.iter().map(|s| s.t),
                    t.meta.interval_s,
                    t.meta.scenario.warmup_s,
                )
            })
            .collect();
        let p99: Vec<f64> = fids.iter().filter_map(|f| f.gap_p99_s).collect();
        let missed =
            fids.iter().map(Fidelity::missed_fraction).sum::<f64>() / fids.len().max(1) as f64;
        moved.sort_by(f64::total_cmp);
        let q = |p: f64| stats::quantile(&moved, p).unwrap_or(0.0);
        println!(
            "1 in {n:<5} | {:.3} s | {:.1} % | {judged} | {changed} ({:.1} %) | {:.2} / {:.2} / {:.2} s",
            stats::median(&p99).unwrap_or(0.0),
            missed * 100.0,
            changed as f64 / judged.max(1) as f64 * 100.0,
            q(0.5),
            q(0.9),
            moved.last().copied().unwrap_or(0.0),
        );
    }
    Ok(())
}
