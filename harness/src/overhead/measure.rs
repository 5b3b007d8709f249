//! The arithmetic of overhead: work done in a window (throughput, latency percentiles from
//! the fixture's histogram delta), A/B ratios, min/median/max summaries, pause-histogram
//! deltas and the harness's own CPU and peak RSS from `/proc/self`.
//!
//! Pure functions over numbers (the `/proc` readers excepted, which only parse); no process
//! is started or probed here.

use crate::sample::Work;
use serde::{Deserialize, Serialize};

/// The work a fixture did between two reads of `/leakbench/work`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WorkWindow {
    /// Seconds between the two reads (harness monotonic clock).
    pub elapsed_s: f64,
    pub ops: u64,
    pub ops_per_s: f64,
    /// Median op latency in the window, seconds (interpolated inside its histogram bucket).
    pub p50_s: Option<f64>,
    /// 99th-percentile op latency, seconds.
    pub p99_s: Option<f64>,
    /// Upper bound of the highest non-empty latency bucket: the longest op was at most this
    /// long (the last bound, when it fell in the open-ended bucket).
    pub max_bound_s: Option<f64>,
    /// CPU time the fixture process used in the window (user + system, all threads), seconds.
    pub cpu_s: Option<f64>,
}

impl WorkWindow {
    /// Ops per second of the fixture's own CPU time: unlike ops per wall second, this does not
    /// drop when other processes take the fixture's core, only when the fixture spends CPU on
    /// something other than ops (such as answering a probe).
    pub fn ops_per_cpu_s(&self) -> Option<f64> {
        self.cpu_s.filter(|&c| c > 0.0).map(|c| self.ops as f64 / c)
    }
}

/// Work done between `before` and `after`, read `elapsed_s` apart. `None` when the windows
/// do not line up (different histogram bounds, counters that went back, no time elapsed).
pub fn work_window(before: &Work, after: &Work, elapsed_s: f64) -> Option<WorkWindow> {
    if elapsed_s <= 0.0
        || after.ops < before.ops
        || before.bounds_s != after.bounds_s
        || before.counts.len() != after.counts.len()
    {
        return None;
    }
    let delta: Option<Vec<u64>> = after
        .counts
        .iter()
        .zip(&before.counts)
        .map(|(a, b)| a.checked_sub(*b))
        .collect();
    let delta = delta?;
    let ops = after.ops - before.ops;
    Some(WorkWindow {
        elapsed_s,
        ops,
        ops_per_s: ops as f64 / elapsed_s,
        p50_s: hist_quantile(&after.bounds_s, &delta, 0.50),
        p99_s: hist_quantile(&after.bounds_s, &delta, 0.99),
        max_bound_s: hist_max_bound(&after.bounds_s, &delta),
        cpu_s: None,
    })
}

/// The `q` quantile (0..=1) of a histogram with upper bounds `bounds_s` and `counts`
/// (`counts.len() == bounds_s.len() + 1`; the last bucket is everything above the last bound),
/// interpolated linearly inside the bucket it falls in (the first bucket starts at 0). In the
/// open-ended last bucket it is the last bound: a lower bound on the truth. `None` when the
/// histogram is empty or malformed.
pub fn hist_quantile(bounds_s: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    if counts.len() != bounds_s.len() + 1 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    // The rank of the quantile, 1-based: the smallest r with r >= q·total (at least 1).
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut below = 0u64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && below + n >= rank {
            let Some(&hi) = bounds_s.get(i) else {
                return bounds_s.last().copied();
            };
            let lo = if i == 0 { 0.0 } else { bounds_s[i - 1] };
            let frac = (rank - below) as f64 / n as f64;
            return Some(lo + (hi - lo) * frac);
        }
        below += n;
    }
    bounds_s.last().copied()
}

/// Upper bound of the highest non-empty bucket (the last bound for the open-ended bucket).
pub fn hist_max_bound(bounds_s: &[f64], counts: &[u64]) -> Option<f64> {
    let i = counts.iter().rposition(|&n| n > 0)?;
    bounds_s.get(i).or(bounds_s.last()).copied()
}

/// The larger of two optional values (either may be missing).
pub fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Sampled over unsampled throughput: 1.0 means sampling cost nothing, 0.98 that it cost 2%.
/// `None` when the unsampled window did no work.
pub fn ratio(sampled: f64, unsampled: f64) -> Option<f64> {
    (unsampled > 0.0 && sampled.is_finite()).then(|| sampled / unsampled)
}

/// Minimum, median and maximum of a set of values (NaN excluded).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// `None` for an empty set. The median of an even count is the mean of the middle two.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        n,
        min: v[0],
        median,
        max: v[n - 1],
    })
}

/// A runtime/metrics pause histogram as the `idle-goroutines` fixture writes it: non-empty
/// buckets as `[lo_s, hi_s, count]`, cumulative since the fixture started.
pub type PauseBuckets = Vec<[f64; 3]>;

/// The `-pauses-file` snapshot of the `idle-goroutines` fixture.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PauseSnapshot {
    /// `CLOCK_MONOTONIC` ns when the fixture read the histograms.
    pub mono_ns: u64,
    /// `/sched/pauses/total/other:seconds`: stop-the-world pauses not for GC (profiles, ...).
    pub other: PauseBuckets,
    /// `/sched/pauses/total/gc:seconds`.
    pub gc: PauseBuckets,
}

/// Pauses that happened between two snapshots of one histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PauseDelta {
    pub count: u64,
    /// Sum of bucket midpoints × counts, seconds (runtime buckets are narrow, ~12% wide).
    pub total_s: f64,
    /// Upper edge of the highest bucket that gained a pause, seconds.
    pub max_s: f64,
}

/// Pauses in `after` not in `before` (buckets matched by their edges).
pub fn pause_delta(before: &PauseBuckets, after: &PauseBuckets) -> PauseDelta {
    let mut d = PauseDelta::default();
    for b in after {
        let prior = before
            .iter()
            .find(|p| p[0] == b[0] && p[1] == b[1])
            .map_or(0.0, |p| p[2]);
        let n = (b[2] - prior).max(0.0);
        if n > 0.0 {
            d.count += n as u64;
            d.total_s += n * (b[0] + b[1]) / 2.0;
            d.max_s = d.max_s.max(b[1]);
        }
    }
    d
}

/// CPU time this process has used so far (user + system), seconds, from `/proc/self/stat`.
pub fn self_cpu_s() -> Option<f64> {
    stat_cpu_s("/proc/self/stat")
}

/// CPU time process `pid` has used so far (user + system, all threads), seconds.
pub fn proc_cpu_s(pid: u32) -> Option<f64> {
    stat_cpu_s(&format!("/proc/{pid}/stat"))
}

fn stat_cpu_s(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    parse_stat_cpu_ticks(&text).map(|t| t as f64 / tck.max(1) as f64)
}

/// utime + stime in clock ticks from a `/proc/PID/stat` line, which looks like
/// `1234 (name with) spaces) S 1 ... utime stime ...`: fields 14 and 15, counted after the
/// last `)` so a command name with spaces or parentheses cannot shift them.
pub fn parse_stat_cpu_ticks(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is f[0], so field n is f[n - 3].
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// `VmHWM` (peak resident set) of this process, bytes.
pub fn self_peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    crate::record::probe::status_field_bytes(&text, "VmHWM:")
}

/// Resets this process's `VmHWM` to its current RSS (`echo 5 > /proc/self/clear_refs`,
/// Linux ≥ 4.0), so the next read is the peak of what follows. Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(ops: u64, counts: Vec<u64>) -> Work {
        Work {
            ops,
            bounds_s: vec![0.001, 0.002, 0.005],
            counts,
        }
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let b = [0.001, 0.002, 0.005];
        // 100 ops: 50 in (0, 1ms], 40 in (1, 2ms], 9 in (2, 5ms], 1 above 5ms.
        let c = [50, 40, 9, 1];
        assert_eq!(hist_quantile(&b, &c, 0.5), Some(0.001));
        let p75 = hist_quantile(&b, &c, 0.75).unwrap();
        assert!((p75 - 0.001625).abs() < 1e-12, "{p75}");
        let p99 = hist_quantile(&b, &c, 0.99).unwrap();
        assert!((p99 - 0.005).abs() < 1e-12, "{p99}");
        assert_eq!(
            hist_quantile(&b, &c, 1.0),
            Some(0.005),
            "open bucket: last bound"
        );
        assert_eq!(hist_quantile(&b, &[0, 0, 0, 0], 0.5), None);
        assert_eq!(hist_quantile(&b, &[1, 2], 0.5), None, "malformed");
        assert_eq!(hist_max_bound(&b, &c), Some(0.005));
        assert_eq!(hist_max_bound(&b, &[3, 1, 0, 0]), Some(0.002));
    }

    #[test]
    fn windows_take_deltas_and_refuse_mismatches() {
        let w = work_window(
            &work(100, vec![100, 0, 0, 0]),
            &work(300, vec![150, 150, 0, 0]),
            2.0,
        )
        .unwrap();
        assert_eq!(w.ops, 200);
        assert_eq!(w.ops_per_s, 100.0);
        // The delta is 50 in the first bucket, 150 in the second: the median is in the second.
        let p50 = w.p50_s.unwrap();
        assert!(
            (p50 - (0.001 + 0.001 * 50.0 / 150.0)).abs() < 1e-12,
            "{p50}"
        );
        assert_eq!(w.max_bound_s, Some(0.002));
        assert!(work_window(
            &work(300, vec![1, 0, 0, 0]),
            &work(100, vec![1, 0, 0, 0]),
            1.0
        )
        .is_none());
        assert!(work_window(&work(1, vec![5, 0, 0, 0]), &work(2, vec![4, 0, 0, 0]), 1.0).is_none());
        assert!(work_window(&work(1, vec![0; 4]), &work(2, vec![0; 4]), 0.0).is_none());
    }

    #[test]
    fn ratio_and_summary() {
        assert_eq!(ratio(98.0, 100.0), Some(0.98));
        assert_eq!(ratio(1.0, 0.0), None);
        let s = summarize(&[1.0, f64::NAN, 0.5, 0.9]).unwrap();
        assert_eq!(
            s,
            Summary {
                n: 3,
                min: 0.5,
                median: 0.9,
                max: 1.0
            }
        );
        assert_eq!(summarize(&[2.0, 1.0]).unwrap().median, 1.5);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn pause_deltas_count_new_pauses_only() {
        let before = vec![[1e-6, 2e-6, 3.0]];
        let after = vec![[1e-6, 2e-6, 5.0], [1e-3, 2e-3, 1.0]];
        let d = pause_delta(&before, &after);
        assert_eq!(d.count, 3);
        assert!((d.total_s - (2.0 * 1.5e-6 + 1.5e-3)).abs() < 1e-12);
        assert_eq!(d.max_s, 2e-3);
        assert_eq!(pause_delta(&after, &after), PauseDelta::default());
    }

    #[test]
    fn proc_stat_cpu_fields_survive_odd_names() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 1 0 7 1 1";
        assert_eq!(parse_stat_cpu_ticks(line), Some(281));
        assert!(self_cpu_s().is_some());
        assert!(proc_cpu_s(std::process::id()).is_some());
        assert!(self_peak_rss_bytes().unwrap() > 0);
    }
}
