//! The trace schema: one [`Sample`] per sampling tick, as written to `trace.jsonl`.
//!
//! This module owns the data shapes that cross every seam of the pipeline (sampler →
//! trace → detectors → scoring). It holds no I/O and no logic beyond small derived
//! quantities; anything that reads a process or a file lives elsewhere.
//!
//! Units are in the field names: `_s` seconds, `_bytes` bytes. Every time is seconds on the
//! harness's monotonic clock since the fixture process was spawned (`t = 0`), so times from
//! different probes and the fixture's own ground truth share one axis.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One tick of the sampler for one fixture. Probes that failed are `None` here and listed in
/// [`Sample::missing`] with the reason; a missing probe is data, not an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since spawn (monotonic) at which this tick's last probe answered. Strictly
    /// increasing in a trace.
    pub t: f64,
    /// Scalar runtime/metrics values by their runtime/metrics name
    /// (e.g. `/sched/goroutines:goroutines`, `/gc/heap/live:bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, f64>>,
    /// Process memory read from `/proc/PID/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_mem: Option<ProcMem>,
    /// The goroutine profile, grouped by stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutines: Option<Vec<StackGroup>>,
    /// The `goroutineleak` profile (GC-reachability leak report), grouped by stack. `None`
    /// where the Go version has no such profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutine_leak: Option<Vec<StackGroup>>,
    /// What goleak (`go.uber.org/goleak`, served at `/leakbench/goleak`) reports: the
    /// goroutines started since the program's start-up snapshot that outlived goleak's retries,
    /// grouped by stack (see [`StackGroup`] for how its fields read here). `None` where the
    /// program does not serve it (listed in [`Sample::missing`]), and also, unlisted, at a tick
    /// where no goleak verdict completed since the previous one (a verdict can take longer
    /// than an interval: see [`crate::record::probe::GoleakSlot`]). Absent from traces
    /// recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goleak: Option<Vec<StackGroup>>,
    /// When the goleak verdict that finished at this tick was asked for, seconds since spawn:
    /// its `Find` ran from then on. Present exactly where a verdict finished (in `goleak`, or
    /// its failure in `missing`), so goleak's own cadence (at most one request per
    /// [`crate::record::probe::ProbeSet::goleak_period_ms`]) can be read off a trace. Absent
    /// from traces recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goleak_asked_s: Option<f64>,
    /// In-use heap by allocation site (from the heap profile), largest first, truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<Vec<HeapSite>>,
    /// The fixture's measured ground truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth: Option<Truth>,
    /// Work the fixture has done so far (for overhead as lost work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<Work>,
    /// Probes that failed at this tick, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
}

/// Memory of the fixture process as the kernel sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcMem {
    /// `VmRSS`.
    pub rss_bytes: u64,
    /// `RssAnon`: anonymous resident memory (heap of Go and of C alike).
    pub anon_bytes: u64,
}

/// Goroutines that share one stack, as grouped by the goroutine profile (or by the goleak
/// probe, from goleak's stack dumps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackGroup {
    /// Number of goroutines with this stack.
    pub count: u64,
    /// Why they wait. From a profile: derived from the runtime frames at the top of the stack
    /// (`chan send`, `chan receive`, `select`, `sync`, `IO wait`, `sleep`, `running`, ...).
    /// From goleak: the runtime's own wait reason, as a stack dump's header gives it
    /// (`chan send`, `select`, `sync.Mutex.Lock`, `sync.WaitGroup.Wait`, ...).
    pub wait: String,
    /// The first non-runtime function from the top of the stack: where user code blocks.
    pub site: String,
    /// Function names, innermost first. A profile's frames include the runtime's (down to
    /// `runtime.goexit`); a stack dump's (goleak) do not.
    pub frames: Vec<String>,
}

/// In-use heap attributed to one allocation site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeapSite {
    /// The first non-runtime function from the top of the allocation stack.
    pub site: String,
    pub inuse_bytes: u64,
    pub inuse_objects: u64,
}

/// Ground truth measured by the fixture itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// When the first leaked unit was created, in seconds since spawn; `None` before the leak
    /// starts and always `None` for a non-leaking fixture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset_s: Option<f64>,
    /// Units leaked so far (goroutines, map entries, C buffers, ...).
    pub units: u64,
    /// The function that leaks (e.g. `main.sendResult`).
    #[serde(default)]
    pub site: String,
}

/// Work counted by the fixture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// Operations completed since the fixture started.
    pub ops: u64,
    /// Latency of operations since start: upper bounds in seconds and counts per bucket
    /// (`counts.len() == bounds_s.len() + 1`; the last bucket is everything above).
    #[serde(default)]
    pub bounds_s: Vec<f64>,
    #[serde(default)]
    pub counts: Vec<u64>,
}

/// A probe that produced nothing at a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub probe: String,
    pub reason: String,
}

/// runtime/metrics names the harness and detectors rely on.
pub mod metric {
    pub const GOROUTINES: &str = "/sched/goroutines:goroutines";
    pub const HEAP_LIVE: &str = "/gc/heap/live:bytes";
    pub const HEAP_OBJECTS: &str = "/gc/heap/objects:objects";
    pub const HEAP_OBJECTS_BYTES: &str = "/memory/classes/heap/objects:bytes";
    pub const MEM_TOTAL: &str = "/memory/classes/total:bytes";
    pub const MEM_RELEASED: &str = "/memory/classes/heap/released:bytes";
    /// Totals since start (not a queue length): pair with the `executed` totals.
    pub const FINALIZERS_QUEUED: &str = "/gc/finalizers/queued:finalizers";
    pub const FINALIZERS_EXECUTED: &str = "/gc/finalizers/executed:finalizers";
    pub const CLEANUPS_QUEUED: &str = "/gc/cleanups/queued:cleanups";
    pub const CLEANUPS_EXECUTED: &str = "/gc/cleanups/executed:cleanups";
    pub const GC_CYCLES: &str = "/gc/cycles/total:gc-cycles";
}

impl Sample {
    /// A runtime/metrics value, if the metrics probe answered and has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.as_ref()?.get(name).copied()
    }

    /// Goroutine count: from runtime/metrics, else summed from the goroutine profile.
    pub fn goroutine_count(&self) -> Option<f64> {
        self.metric(metric::GOROUTINES).or_else(|| {
            self.goroutines
                .as_ref()
                .map(|g| g.iter().map(|s| s.count as f64).sum())
        })
    }

    /// Memory the Go runtime has mapped and not returned to the OS, in bytes: what the
    /// runtime can account for of the process's resident memory.
    pub fn go_runtime_bytes(&self) -> Option<f64> {
        Some(self.metric(metric::MEM_TOTAL)? - self.metric(metric::MEM_RELEASED)?)
    }

    /// Resident memory the Go runtime cannot account for (C allocations, mostly), in bytes.
    pub fn c_gap_bytes(&self) -> Option<f64> {
        Some(self.proc_mem?.rss_bytes as f64 - self.go_runtime_bytes()?)
    }

    /// Finalizers and cleanups queued and not yet run: queued minus executed totals, summed
    /// over both (either may be absent on older Go versions; both absent, or a queued total
    /// without its executed total, gives `None`).
    pub fn finalizer_backlog(&self) -> Option<f64> {
        let pair =
            |queued: &str, executed: &str| Some(self.metric(queued)? - self.metric(executed)?);
        let f = pair(metric::FINALIZERS_QUEUED, metric::FINALIZERS_EXECUTED);
        let c = pair(metric::CLEANUPS_QUEUED, metric::CLEANUPS_EXECUTED);
        match (f, c) {
            (None, None) => None,
            (f, c) => Some(f.unwrap_or(0.0) + c.unwrap_or(0.0)),
        }
    }
}
