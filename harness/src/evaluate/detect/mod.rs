//! The detector seam: the [`Detector`] trait, the [`Alarm`] it raises, the registry of every
//! detector leakbench ships ([`registry`], [`by_name`]) and the [`Feeder`] that drives one
//! detector over samples, live or replayed.
//!
//! A detector consumes one trace's samples in time order, keeps its own state, does no I/O
//! and is deterministic: the same samples give the same alarms, so a live run and a replay
//! of its recorded trace agree. Adding a detector is one file here implementing the trait,
//! plus one line in [`REGISTRY`].
//!
//! **Warm-up.** Samples before the scenario's `warmup_s` are never shown to a detector. The
//! [`Feeder`] is the one place that enforces this: [`crate::evaluate::replay`] feeds detectors through
//! it ([`first_alarm`]), and a live run must too, one [`Feeder::push`] per sample taken. Detectors that need a baseline (CUSUM's
//! pre-change mean, the threshold's starting count) take it from their own first samples
//! after warm-up.
//!
//! Must not read files or processes, and must not score: it raises alarms, nothing else.

mod c_gap;
mod cusum;
mod deriv;
mod finalizer_backlog;
mod goleak;
mod goroutine_threshold;
mod goroutineleak_profile;
mod heap_site_growth;
mod predict_linear;
mod stack_growth;
mod theil_sen;
mod window;

#[cfg(test)]
pub(crate) mod testkit;

use crate::sample::{metric, Sample};
use crate::scenario::LeakClass;
use serde::Serialize;
use std::fmt;

pub use cusum::ARL0 as CUSUM_ARL0;
pub use window::{PostGcLive, TimeWindow, Trend, TrendRule};

/// A detector's verdict that a leak is under way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Seconds since spawn: the time of the sample that raised it.
    pub t: f64,
    /// The leak class, when the evidence tells it; `None` means "class unknown", which is
    /// scored as a wrong class, never guessed.
    pub class: Option<LeakClass>,
    /// The function the detector blames (a profile site such as `main.sendResult`), if any.
    pub site: Option<String>,
    /// How sure the detector is, in `0..=1` (never NaN).
    pub confidence: f64,
    /// One human-readable line: the statistic and the threshold it crossed.
    pub detail: String,
}

/// The scalar a detector watches, for the oracle bound and for charts. Detectors that look
/// at profiles (stack groups, heap sites) name the scalar their profile sums to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Watched {
    /// Goroutine count ([`Sample::goroutine_count`]), goroutines.
    Goroutines,
    /// Heap bytes in objects, live and not yet swept (`/memory/classes/heap/objects:bytes`,
    /// what `go_memstats_heap_alloc_bytes` exports): has the GC sawtooth.
    HeapAlloc,
    /// Live heap marked by the last GC (`/gc/heap/live:bytes`), one value per GC cycle
    /// (see [`PostGcLive`]): no sawtooth.
    HeapLive,
    /// Resident set size, bytes.
    Rss,
    /// RSS minus the Go runtime's memory ([`Sample::c_gap_bytes`]), bytes.
    CGap,
    /// Finalizers plus cleanups queued and not yet run, objects.
    FinalizerBacklog,
    /// Goroutines in the `goroutineleak` profile.
    GoroutineLeakProfile,
    /// Goroutines goleak reports ([`Sample::goleak`]).
    Goleak,
    /// In-use bytes summed over the heap profile's sites.
    HeapProfile,
}

impl Watched {
    pub fn as_str(self) -> &'static str {
        match self {
            Watched::Goroutines => "goroutines",
            Watched::HeapAlloc => "heap-alloc",
            Watched::HeapLive => "heap-live",
            Watched::Rss => "rss",
            Watched::CGap => "c-gap",
            Watched::FinalizerBacklog => "finalizer-backlog",
            Watched::GoroutineLeakProfile => "goroutineleak-profile",
            Watched::Goleak => "goleak",
            Watched::HeapProfile => "heap-profile",
        }
    }

    /// A streaming reader of this scalar (stateful only for [`Watched::HeapLive`]).
    pub fn extractor(self) -> Extractor {
        Extractor {
            what: self,
            post_gc: PostGcLive::default(),
        }
    }

    /// The `(t, value)` points of this scalar over samples in time order.
    pub fn series(self, samples: &[Sample]) -> Vec<(f64, f64)> {
        let mut x = self.extractor();
        samples
            .iter()
            .filter_map(|s| x.next(s).map(|v| (s.t, v)))
            .collect()
    }
}

impl fmt::Display for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads one [`Watched`] scalar from successive samples.
#[derive(Debug, Clone)]
pub struct Extractor {
    what: Watched,
    post_gc: PostGcLive,
}

impl Extractor {
    /// The value at this sample, or `None` if the probe is missing (or, for the live heap,
    /// no GC cycle completed since the last value).
    pub fn next(&mut self, s: &Sample) -> Option<f64> {
        match self.what {
            Watched::Goroutines => s.goroutine_count(),
            Watched::HeapAlloc => s.metric(metric::HEAP_OBJECTS_BYTES),
            Watched::HeapLive => self.post_gc.next(s),
            Watched::Rss => s.proc_mem.map(|m| m.rss_bytes as f64),
            Watched::CGap => s.c_gap_bytes(),
            Watched::FinalizerBacklog => s.finalizer_backlog(),
            Watched::GoroutineLeakProfile => s
                .goroutine_leak
                .as_ref()
                .map(|g| g.iter().map(|x| x.count as f64).sum()),
            Watched::Goleak => s
                .goleak
                .as_ref()
                .map(|g| g.iter().map(|x| x.count as f64).sum()),
            Watched::HeapProfile => s
                .heap
                .as_ref()
                .map(|h| h.iter().map(|x| x.inuse_bytes as f64).sum()),
        }
    }
}

/// A leak detector. Implementations state their parameters as named constants with a
/// comment on why, and take a [`Params`] to scale their primary threshold.
pub trait Detector: Send {
    /// The registry name (`deriv-heap`, ...).
    fn name(&self) -> &'static str;
    /// The scalar this detector watches (for the oracle bound and charts).
    fn watches(&self) -> Watched;
    /// Consumes the next sample (times strictly increase, warm-up already skipped) and
    /// returns an alarm if this sample makes the detector fire. A detector may fire again on
    /// later samples; consumers use the first alarm.
    fn observe(&mut self, s: &Sample) -> Option<Alarm>;
}

/// Knobs common to every detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Multiplies the detector's primary threshold (see each [`DetectorSpec::threshold`]):
    /// `1.0` is the default; above 1 is stricter (fewer alarms), below 1 more sensitive.
    /// Used by threshold sweeps.
    pub threshold_scale: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold_scale: 1.0,
        }
    }
}

/// One registry entry: how to make a detector and what its threshold is.
#[derive(Clone, Copy)]
pub struct DetectorSpec {
    pub name: &'static str,
    pub watches: Watched,
    /// What [`Params::threshold_scale`] multiplies, with its default, in words.
    pub threshold: &'static str,
    /// The trailing window it judges a trend over, if it has one: it cannot alarm before a
    /// leak has filled much of it.
    pub window_s: Option<f64>,
    pub make: fn(&Params) -> Box<dyn Detector>,
}

impl fmt::Debug for DetectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetectorSpec")
            .field("name", &self.name)
            .field("watches", &self.watches)
            .finish()
    }
}

/// Every detector, one line each, in report order.
pub const REGISTRY: &[DetectorSpec] = &[
    goroutine_threshold::SPEC,
    deriv::GOROUTINES,
    deriv::HEAP,
    predict_linear::SPEC,
    theil_sen::GOROUTINES,
    theil_sen::HEAP,
    cusum::GOROUTINES,
    cusum::HEAP,
    stack_growth::SPEC,
    goroutineleak_profile::SPEC,
    goleak::SPEC,
    heap_site_growth::SPEC,
    c_gap::SPEC,
    finalizer_backlog::SPEC,
];

/// Every detector leakbench ships.
pub fn registry() -> &'static [DetectorSpec] {
    REGISTRY
}

/// Why a detector could not be selected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    #[error("no detector named `{name}` (fix: use one of {known})")]
    Unknown { name: String, known: String },
}

/// Looks a detector up by name; the error lists the known names.
pub fn by_name(name: &str) -> Result<&'static DetectorSpec, DetectError> {
    REGISTRY
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| DetectError::Unknown {
            name: name.to_string(),
            known: REGISTRY
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Drives one detector over one trace's samples, as they arrive: skips the warm-up, skips
/// samples whose time does not increase (a broken trace must not confuse detector state),
/// and remembers the first alarm.
pub struct Feeder {
    det: Box<dyn Detector>,
    warmup_s: f64,
    last_t: Option<f64>,
    first: Option<Alarm>,
}

impl Feeder {
    pub fn new(det: Box<dyn Detector>, warmup_s: f64) -> Self {
        Feeder {
            det,
            warmup_s,
            last_t: None,
            first: None,
        }
    }

    /// Feeds one sample; returns the alarm if this sample raised the *first* one.
    pub fn push(&mut self, s: &Sample) -> Option<&Alarm> {
        if s.t < self.warmup_s || self.last_t.is_some_and(|l| s.t <= l) {
            return None;
        }
        self.last_t = Some(s.t);
        let alarm = self.det.observe(s)?;
        if self.first.is_some() {
            return None;
        }
        self.first = Some(alarm);
        self.first.as_ref()
    }

    /// The first alarm so far.
    pub fn first_alarm(&self) -> Option<&Alarm> {
        self.first.as_ref()
    }

    pub fn detector(&self) -> &dyn Detector {
        self.det.as_ref()
    }
}

/// The first alarm of a detector over recorded samples (warm-up skipped).
pub fn first_alarm(det: Box<dyn Detector>, samples: &[Sample], warmup_s: f64) -> Option<Alarm> {
    let mut f = Feeder::new(det, warmup_s);
    for s in samples {
        if f.push(s).is_some() {
            break;
        }
    }
    f.first
}

/// Class by the package of a blamed site: a function in package `context` (such as the
/// watcher goroutine `context.(*cancelCtx).propagateCancel.func2`, or an allocation inside
/// `context.WithCancel`) means contexts pile up. Domain knowledge about Go's standard library,
/// not about any scenario.
pub(crate) fn is_context_site(site: &str) -> bool {
    site.starts_with("context.")
}

/// A confidence from a one-sided p-value (`1 − p`, clamped to `0..=1`).
pub(crate) fn confidence_from_p(p: f64) -> f64 {
    (1.0 - p).clamp(0.0, 1.0)
}

/// A confidence for a value past a threshold: `1 − threshold/value`, 0 at the threshold,
/// approaching 1 far past it.
pub(crate) fn confidence_past(value: f64, threshold: f64) -> f64 {
    if value <= 0.0 || threshold <= 0.0 {
        return 0.0;
    }
    (1.0 - threshold / value).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcMem;
    use std::collections::BTreeMap;

    #[test]
    fn a_stated_window_is_the_one_the_threshold_describes() {
        let stated = regex::Regex::new(r"over (\d+) s").unwrap();
        for d in registry() {
            let in_text = stated
                .captures(d.threshold)
                .map(|c| c[1].parse::<f64>().unwrap());
            assert_eq!(
                d.window_s, in_text,
                "{}: window_s vs threshold `{}`",
                d.name, d.threshold
            );
        }
    }

    #[test]
    fn registry_names_are_unique_and_by_name_lists_them_on_error() {
        let mut names: Vec<&str> = registry().iter().map(|d| d.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate detector names");
        for d in registry() {
            let det = (d.make)(&Params::default());
            assert_eq!(det.name(), d.name);
            assert_eq!(det.watches(), d.watches);
            assert!(!d.threshold.is_empty());
        }
        assert_eq!(by_name("c-gap").unwrap().name, "c-gap");
        let e = by_name("nope").unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.contains("deriv-heap"), "{e}");
    }

    #[test]
    fn feeder_skips_warmup_and_non_increasing_times_and_keeps_the_first_alarm() {
        struct Every;
        impl Detector for Every {
            fn name(&self) -> &'static str {
                "every"
            }
            fn watches(&self) -> Watched {
                Watched::Goroutines
            }
            fn observe(&mut self, s: &Sample) -> Option<Alarm> {
                Some(Alarm {
                    t: s.t,
                    class: None,
                    site: None,
                    confidence: 1.0,
                    detail: String::new(),
                })
            }
        }
        let at = |t| Sample {
            t,
            ..Default::default()
        };
        let mut f = Feeder::new(Box::new(Every), 2.0);
        assert!(f.push(&at(1.0)).is_none(), "warm-up is not fed");
        assert_eq!(f.push(&at(2.5)).map(|a| a.t), Some(2.5));
        assert!(
            f.push(&at(3.0)).is_none(),
            "only the first alarm is returned"
        );
        assert_eq!(f.first_alarm().unwrap().t, 2.5);
        let samples = [at(0.0), at(3.0), at(2.0), at(4.0)];
        assert_eq!(first_alarm(Box::new(Every), &samples, 2.5).unwrap().t, 3.0);
    }

    #[test]
    fn watched_scalars_read_their_sources() {
        let mut m = BTreeMap::new();
        m.insert(metric::MEM_TOTAL.to_string(), 100.0);
        m.insert(metric::MEM_RELEASED.to_string(), 10.0);
        m.insert(metric::FINALIZERS_QUEUED.to_string(), 50.0);
        m.insert(metric::FINALIZERS_EXECUTED.to_string(), 20.0);
        m.insert(metric::CLEANUPS_QUEUED.to_string(), 7.0);
        let s = Sample {
            t: 1.0,
            metrics: Some(m),
            proc_mem: Some(ProcMem {
                rss_bytes: 150,
                anon_bytes: 120,
            }),
            ..Default::default()
        };
        assert_eq!(Watched::CGap.extractor().next(&s), Some(60.0));
        assert_eq!(Watched::Rss.extractor().next(&s), Some(150.0));
        // Cleanups have no executed total here: only the finalizer backlog counts.
        assert_eq!(s.finalizer_backlog(), Some(30.0));
        assert_eq!(Watched::Goroutines.extractor().next(&s), None);
        assert_eq!(Watched::GoroutineLeakProfile.series(&[s]), vec![]);
    }
}
