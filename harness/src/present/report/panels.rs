//! Which metrics a scenario's timeline shows: three panels chosen from what its leak grows
//! (`truth.grows`, most telling first), each a few of the scalars the detectors watch, taken
//! from the trace's samples. No class appears here: a new leak shape gets its panels from the
//! observables it names. The timeline chart ([`crate::present::plot::timeline`]) only draws
//! what it is given.

use crate::evaluate::detect::Watched;
use crate::present::plot::timeline::{Panel, Series};
use crate::present::plot::Unit;
use crate::sample::Sample;
use crate::scenario::Observable;

/// One small multiple of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PanelKind {
    Goroutines,
    Heap,
    Memory,
    Finalizers,
}

/// Panels shown on every timeline.
const PANELS: usize = 3;

/// After the panels of what grows, the others in this order: the Go heap and process memory
/// move with most leaks, goroutines with some, the finalizer queue with few.
const FILL: [PanelKind; 4] = [
    PanelKind::Heap,
    PanelKind::Memory,
    PanelKind::Goroutines,
    PanelKind::Finalizers,
];

/// The panel that shows an observable grow.
fn panel_of(o: Observable) -> PanelKind {
    match o {
        Observable::Goroutines => PanelKind::Goroutines,
        Observable::GoHeap => PanelKind::Heap,
        Observable::CMemory => PanelKind::Memory,
        Observable::FinalizerQueue => PanelKind::Finalizers,
    }
}

/// The panels for a leak that grows `grows`: theirs first, in the scenario's order, then
/// [`FILL`], [`PANELS`] in all.
fn panels_for(grows: &[Observable]) -> Vec<PanelKind> {
    let mut out: Vec<PanelKind> = Vec::new();
    for k in grows.iter().map(|o| panel_of(*o)).chain(FILL) {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.truncate(PANELS);
    out
}

/// The timeline panels for a scenario whose leak grows `grows`, from a trace's samples;
/// series (and panels) without data are left out, so a missing probe shows as an absent line
/// rather than a flat zero.
pub fn timeline_panels(grows: &[Observable], samples: &[Sample]) -> Vec<Panel> {
    let series = |label: &str, w: Watched| Series {
        label: label.to_string(),
        points: w.series(samples),
    };
    let go_runtime = Series {
        label: "Go runtime memory".into(),
        points: samples
            .iter()
            .filter_map(|s| Some((s.t, s.go_runtime_bytes()?)))
            .collect(),
    };
    panels_for(grows)
        .into_iter()
        .map(|k| match k {
            PanelKind::Goroutines => Panel {
                title: "Goroutines".into(),
                unit: Unit::Count("goroutines"),
                series: vec![
                    series("all goroutines", Watched::Goroutines),
                    series("in goroutineleak profile", Watched::GoroutineLeakProfile),
                ],
            },
            PanelKind::Heap => Panel {
                title: "Go heap".into(),
                unit: Unit::Bytes,
                series: vec![
                    series("heap objects (with garbage)", Watched::HeapAlloc),
                    series("live heap after GC", Watched::HeapLive),
                ],
            },
            PanelKind::Memory => Panel {
                title: "Process memory".into(),
                unit: Unit::Bytes,
                series: vec![
                    series("RSS", Watched::Rss),
                    go_runtime.clone(),
                    series("C gap (RSS − Go)", Watched::CGap),
                ],
            },
            PanelKind::Finalizers => Panel {
                title: "Finalizer and cleanup queue".into(),
                unit: Unit::Count("objects"),
                series: vec![series("queued, not yet run", Watched::FinalizerBacklog)],
            },
        })
        .map(|mut p| {
            p.series.retain(|s| !s.points.is_empty());
            p
        })
        .filter(|p| !p.series.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::metric;

    fn sample(t: f64, kv: &[(&str, f64)]) -> Sample {
        Sample {
            t,
            metrics: Some(kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn panels_follow_what_grows_and_drop_missing_series() {
        let g = |t: f64, n: f64| sample(t, &[(metric::GOROUTINES, n)]);
        let p = timeline_panels(&[Observable::Goroutines], &[g(0.0, 5.0), g(1.0, 7.0)]);
        assert_eq!(p.len(), 1, "only goroutines have data: {p:?}");
        assert_eq!(p[0].title, "Goroutines");
        assert_eq!(p[0].series.len(), 1);
        assert_eq!(p[0].series[0].points, vec![(0.0, 5.0), (1.0, 7.0)]);
    }

    #[test]
    fn what_grows_decides_the_order_of_panels() {
        let both = |t: f64| {
            sample(
                t,
                &[
                    (metric::GOROUTINES, 5.0),
                    (metric::HEAP_OBJECTS_BYTES, 1e6),
                    (metric::FINALIZERS_QUEUED, 3.0),
                    (metric::FINALIZERS_EXECUTED, 1.0),
                ],
            )
        };
        let titles = |grows: &[Observable]| -> Vec<String> {
            timeline_panels(grows, &[both(0.0), both(1.0)])
                .into_iter()
                .map(|p| p.title)
                .collect()
        };
        use Observable::*;
        assert_eq!(titles(&[Goroutines]), ["Goroutines", "Go heap"]);
        assert_eq!(titles(&[GoHeap]), ["Go heap", "Goroutines"]);
        assert_eq!(
            titles(&[FinalizerQueue, GoHeap]),
            ["Finalizer and cleanup queue", "Go heap"]
        );
    }

    /// The five classes of the first benchmark keep the panels they had when the choice
    /// matched on the class: what their leaks grow gives the same three, in the same order.
    #[test]
    fn legacy_classes_keep_their_panels() {
        use PanelKind::*;
        let of = |c: &str| {
            let class = crate::scenario::LeakClass::parse(c).unwrap();
            panels_for(class.legacy_grows().unwrap())
        };
        assert_eq!(of("goroutine"), [Goroutines, Heap, Memory]);
        assert_eq!(of("context"), [Goroutines, Heap, Memory]);
        assert_eq!(of("map"), [Heap, Memory, Goroutines]);
        assert_eq!(of("finalizer"), [Finalizers, Heap, Memory]);
        assert_eq!(of("cgo"), [Memory, Heap, Goroutines]);
    }
}
