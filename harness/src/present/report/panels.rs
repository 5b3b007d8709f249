//! Which metrics a scenario's timeline shows: three panels chosen by its leak class (most
//! telling first), each a few of the scalars the detectors watch, taken from the trace's
//! samples. The timeline chart ([`crate::present::plot::timeline`]) only draws what it is given.

use crate::evaluate::detect::Watched;
use crate::present::plot::timeline::{Panel, Series};
use crate::present::plot::Unit;
use crate::sample::Sample;
use crate::scenario::LeakClass;

/// One small multiple of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PanelKind {
    Goroutines,
    Heap,
    Memory,
    Finalizers,
}

/// Which metrics matter for a class, most telling first.
fn panels_for(class: LeakClass) -> [PanelKind; 3] {
    use PanelKind::*;
    match class {
        LeakClass::Goroutine | LeakClass::Context => [Goroutines, Heap, Memory],
        LeakClass::Map => [Heap, Memory, Goroutines],
        LeakClass::Finalizer => [Finalizers, Heap, Memory],
        LeakClass::Cgo => [Memory, Heap, Goroutines],
    }
}

/// The timeline panels for a scenario of `class` from a trace's samples; series (and panels)
/// without data are left out, so a missing probe shows as an absent line rather than a flat
/// zero.
pub fn timeline_panels(class: LeakClass, samples: &[Sample]) -> Vec<Panel> {
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
    panels_for(class)
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
    fn panels_follow_the_class_and_drop_missing_series() {
        let g = |t: f64, n: f64| sample(t, &[(metric::GOROUTINES, n)]);
        let p = timeline_panels(LeakClass::Goroutine, &[g(0.0, 5.0), g(1.0, 7.0)]);
        assert_eq!(p.len(), 1, "only goroutines have data: {p:?}");
        assert_eq!(p[0].title, "Goroutines");
        assert_eq!(p[0].series.len(), 1);
        assert_eq!(p[0].series[0].points, vec![(0.0, 5.0), (1.0, 7.0)]);
    }

    #[test]
    fn the_class_decides_the_order_of_panels() {
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
        let titles = |c: LeakClass| -> Vec<String> {
            timeline_panels(c, &[both(0.0), both(1.0)])
                .into_iter()
                .map(|p| p.title)
                .collect()
        };
        assert_eq!(titles(LeakClass::Goroutine), ["Goroutines", "Go heap"]);
        assert_eq!(titles(LeakClass::Map), ["Go heap", "Goroutines"]);
        assert_eq!(
            titles(LeakClass::Finalizer),
            ["Finalizer and cleanup queue", "Go heap"]
        );
    }
}
