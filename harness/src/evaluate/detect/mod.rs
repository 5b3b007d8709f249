//! The detector seam: the [`Detector`] trait, the [`Alarm`] it raises, the registry of every
//! detector leakbench ships ([`registry`], [`by_name`]), the [`Feeder`] that drives one
//! detector over samples, live or replayed, and the [`DetectorSet`] a command scores with:
//! the registry's entries plus detectors declared at run time in a file ([`external`]).
//!
//! A built-in detector consumes one trace's samples in time order, keeps its own state, does
//! no I/O and is deterministic: the same samples give the same alarms, so a live run and a
//! replay of its recorded trace agree. Adding one is one file here implementing the trait,
//! plus one line in [`REGISTRY`]. An external detector is a program in any language, run as
//! its own process per trace and spoken to in JSON lines (`docs/detector-protocol.md`); it
//! is untrusted, so [`external`] bounds it in time and output and turns its faults into a
//! reason.
//!
//! **Warm-up.** Samples before the scenario's `warmup_s` are never shown to a detector, nor
//! samples whose time does not increase. [`Gate`] is the one place that says which samples a
//! detector sees: the [`Feeder`] ([`crate::evaluate::replay`] feeds built-in detectors through
//! it with [`first_alarm`], a live run with one [`Feeder::push`] per sample taken) and
//! [`external`] use it alike. Detectors that need a baseline (CUSUM's pre-change mean, the
//! threshold's starting count) take it from their own first samples after warm-up.
//!
//! Must not score: it raises alarms, nothing else. Must not read files or processes, except
//! [`external`], which reads its declaration file and runs the declared program.

mod c_gap;
mod cusum;
mod deriv;
pub mod external;
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
use crate::scenario::Observable;
use serde::Serialize;
use std::fmt;
use std::path::Path;

pub use cusum::ARL0 as CUSUM_ARL0;
pub use window::{PostGcLive, TimeWindow, Trend, TrendRule};

/// A detector's verdict that a leak is under way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Seconds since spawn: the time of the sample that raised it.
    pub t: f64,
    /// What the detector saw grow ([`Watched::observable`] of what it watches): the class of
    /// leak in the detectors' words. `None` when its scalar cannot tell (RSS holds Go and C
    /// memory alike), which is scored as a wrong class, never guessed.
    pub grew: Option<Observable>,
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
    /// Every series, in declaration order (a detectors file names one by [`Watched::as_str`]).
    pub const ALL: [Watched; 9] = [
        Watched::Goroutines,
        Watched::HeapAlloc,
        Watched::HeapLive,
        Watched::Rss,
        Watched::CGap,
        Watched::FinalizerBacklog,
        Watched::GoroutineLeakProfile,
        Watched::Goleak,
        Watched::HeapProfile,
    ];

    /// The inverse of [`Watched::as_str`].
    pub fn parse(s: &str) -> Option<Watched> {
        Watched::ALL.into_iter().find(|w| w.as_str() == s)
    }

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

    /// What a rise of this scalar shows growing, if it tells: every goroutine series shows
    /// goroutines, every heap series the Go heap; RSS does not tell Go from C memory.
    pub fn observable(self) -> Option<Observable> {
        match self {
            Watched::Goroutines | Watched::GoroutineLeakProfile | Watched::Goleak => {
                Some(Observable::Goroutines)
            }
            Watched::HeapAlloc | Watched::HeapLive | Watched::HeapProfile => {
                Some(Observable::GoHeap)
            }
            Watched::CGap => Some(Observable::CMemory),
            Watched::FinalizerBacklog => Some(Observable::FinalizerQueue),
            Watched::Rss => None,
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
/// comment on why, and take a [`Params`] to scale their primary threshold. What it is called
/// and what it watches are said once, in its registry entry ([`DetectorSpec`]); whoever needs
/// them holds the spec.
pub trait Detector: Send {
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

/// One registry entry: a detector's name, what it watches, how to make it and what its
/// threshold is.
#[derive(Clone, Copy)]
pub struct DetectorSpec {
    /// The registry name (`deriv-heap`, ...).
    pub name: &'static str,
    /// The scalar the detector watches (for the oracle bound and charts).
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

/// Why a detector could not be selected or declared. Bad input: the CLI exits with code 2.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    #[error("no detector named `{name}` (fix: use one of {known})")]
    Unknown { name: String, known: String },
    /// A detectors file ([`external`]) that cannot be used: which file, which key, what is
    /// wrong, how to fix it.
    #[error("{path}: key `{key}`: {problem} (fix: {fix})")]
    Declaration {
        path: String,
        key: String,
        problem: String,
        fix: String,
    },
}

/// Looks a detector up by name; the error lists the known names.
pub fn by_name(name: &str) -> Result<&'static DetectorSpec, DetectError> {
    REGISTRY
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| unknown(name, REGISTRY.iter().map(|d| d.name)))
}

fn unknown<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> DetectError {
    DetectError::Unknown {
        name: name.to_string(),
        known: known.collect::<Vec<_>>().join(", "),
    }
}

/// The detectors a command scores with: registry entries, run in-process at their compiled
/// speed, and detectors declared at run time in a file, each run as its own process per
/// trace ([`external::External`]). Built-in ones come first, in registry order; external ones
/// follow in the order of their file.
#[derive(Debug, Clone)]
pub struct DetectorSet {
    pub builtin: Vec<DetectorSpec>,
    pub external: Vec<external::External>,
}

impl DetectorSet {
    /// Every built-in detector and no external one.
    pub fn registry() -> Self {
        DetectorSet {
            builtin: REGISTRY.to_vec(),
            external: Vec::new(),
        }
    }

    /// Every built-in detector, then those declared in the detectors file `path`.
    pub fn with_file(path: &Path) -> Result<Self, DetectError> {
        Ok(DetectorSet {
            external: external::load(path)?,
            ..DetectorSet::registry()
        })
    }

    /// How many detectors, built-in and external.
    pub fn len(&self) -> usize {
        self.builtin.len() + self.external.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every name, built-in first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.builtin
            .iter()
            .map(|d| d.name)
            .chain(self.external.iter().map(|e| e.name.as_str()))
    }

    /// Only the detectors named (in this set's order); none named: all of them. An unknown
    /// name is an error listing the known ones.
    pub fn select(&self, names: &[String]) -> Result<DetectorSet, DetectError> {
        if let Some(n) = names
            .iter()
            .find(|n| !self.names().any(|k| k == n.as_str()))
        {
            return Err(unknown(n, self.names()));
        }
        let keep = |name: &str| names.is_empty() || names.iter().any(|n| n == name);
        Ok(DetectorSet {
            builtin: self
                .builtin
                .iter()
                .filter(|d| keep(d.name))
                .copied()
                .collect(),
            external: self
                .external
                .iter()
                .filter(|e| keep(&e.name))
                .cloned()
                .collect(),
        })
    }
}

/// Which samples a detector is shown, in arrival order: none before the warm-up, and only
/// those whose time increases (a broken trace must not confuse detector state). The one
/// statement of that rule, for built-in detectors (through [`Feeder`]) and external ones.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    warmup_s: f64,
    last_t: Option<f64>,
}

impl Gate {
    pub fn new(warmup_s: f64) -> Self {
        Gate {
            warmup_s,
            last_t: None,
        }
    }

    /// Whether the sample at `t` (seconds since spawn) is shown; remembers it if so.
    pub fn admits(&mut self, t: f64) -> bool {
        if t < self.warmup_s || self.last_t.is_some_and(|l| t <= l) {
            return false;
        }
        self.last_t = Some(t);
        true
    }
}

/// Drives one detector over one trace's samples, as they arrive: shows it the samples the
/// [`Gate`] admits and remembers the first alarm. It holds the detector's registry entry, so
/// whoever reads the alarm knows whose it is.
pub struct Feeder {
    spec: DetectorSpec,
    det: Box<dyn Detector>,
    gate: Gate,
    first: Option<Alarm>,
}

impl Feeder {
    /// A fresh detector made from `spec` with `params`, fed from `warmup_s` on.
    pub fn new(spec: &DetectorSpec, params: &Params, warmup_s: f64) -> Self {
        Feeder {
            spec: *spec,
            det: (spec.make)(params),
            gate: Gate::new(warmup_s),
            first: None,
        }
    }

    /// Feeds one sample; returns the alarm if this sample raised the *first* one.
    pub fn push(&mut self, s: &Sample) -> Option<&Alarm> {
        if !self.gate.admits(s.t) {
            return None;
        }
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

    /// The registry entry of the detector being fed.
    pub fn spec(&self) -> &DetectorSpec {
        &self.spec
    }
}

/// The first alarm of the detector `spec` makes with `params` over recorded samples (warm-up
/// skipped).
pub fn first_alarm(
    spec: &DetectorSpec,
    params: &Params,
    samples: &[Sample],
    warmup_s: f64,
) -> Option<Alarm> {
    let mut f = Feeder::new(spec, params, warmup_s);
    for s in samples {
        if f.push(s).is_some() {
            break;
        }
    }
    f.first
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
            let f = Feeder::new(d, &Params::default(), 0.0);
            assert_eq!(f.spec().name, d.name);
            assert!(!d.threshold.is_empty());
        }
        assert_eq!(by_name("c-gap").unwrap().name, "c-gap");
        let e = by_name("nope").unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.contains("deriv-heap"), "{e}");
    }

    #[test]
    fn every_watched_series_is_listed_once_and_parses_back_from_its_name() {
        // A new series fails to compile here: give it the next position, and add it to ALL.
        let position = |w: Watched| match w {
            Watched::Goroutines => 0,
            Watched::HeapAlloc => 1,
            Watched::HeapLive => 2,
            Watched::Rss => 3,
            Watched::CGap => 4,
            Watched::FinalizerBacklog => 5,
            Watched::GoroutineLeakProfile => 6,
            Watched::Goleak => 7,
            Watched::HeapProfile => 8,
        };
        for (i, w) in Watched::ALL.into_iter().enumerate() {
            assert_eq!(position(w), i, "{w}");
            assert_eq!(Watched::parse(w.as_str()), Some(w));
        }
        assert_eq!(Watched::parse("cpu"), None);
    }

    #[test]
    fn a_detector_set_selects_by_name_among_built_in_and_external_ones() {
        let mut set = DetectorSet::registry();
        set.external
            .push(external::External::for_test("/bin/true", &[], 1.0));
        assert_eq!(set.len(), registry().len() + 1);
        let picked = set.select(&["t".into(), "c-gap".into()]).unwrap();
        assert_eq!(picked.names().collect::<Vec<_>>(), vec!["c-gap", "t"]);
        assert_eq!(set.select(&[]).unwrap().len(), set.len());
        let e = set.select(&["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.ends_with(", t)"), "{e}");
    }

    #[test]
    fn feeder_skips_warmup_and_non_increasing_times_and_keeps_the_first_alarm() {
        struct Every;
        impl Detector for Every {
            fn observe(&mut self, s: &Sample) -> Option<Alarm> {
                Some(Alarm {
                    t: s.t,
                    grew: None,
                    site: None,
                    confidence: 1.0,
                    detail: String::new(),
                })
            }
        }
        fn every(_: &Params) -> Box<dyn Detector> {
            Box::new(Every)
        }
        const EVERY: DetectorSpec = DetectorSpec {
            name: "every",
            watches: Watched::Goroutines,
            threshold: "any sample",
            window_s: None,
            make: every,
        };
        let at = |t| Sample {
            t,
            ..Default::default()
        };
        let p = Params::default();
        let mut f = Feeder::new(&EVERY, &p, 2.0);
        assert_eq!(f.spec().name, "every");
        assert!(f.push(&at(1.0)).is_none(), "warm-up is not fed");
        assert_eq!(f.push(&at(2.5)).map(|a| a.t), Some(2.5));
        assert!(
            f.push(&at(3.0)).is_none(),
            "only the first alarm is returned"
        );
        assert_eq!(f.first_alarm().unwrap().t, 2.5);
        let samples = [at(0.0), at(3.0), at(2.0), at(4.0)];
        assert_eq!(first_alarm(&EVERY, &p, &samples, 2.5).unwrap().t, 3.0);
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
