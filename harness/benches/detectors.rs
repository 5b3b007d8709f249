//! Detector cost per sample: every detector in the registry, fed every sample of a recorded
//! trace from a fresh state, as replay and live detection do. Criterion reports the time per
//! element, i.e. per sample. Also the cost of parsing one trace line (`Sample` from JSON),
//! which replay pays before any detector runs.
//!
//! Inputs: recorded traces in `benches/data/traces/<scenario>/` (see `benches/data/README.md`
//! for the recipe). Run with `cargo bench --bench detectors`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakbench::evaluate::detect::{registry, Params};
use leakbench::sample::Sample;
use std::hint::black_box;
use std::path::Path;

const TRACES: &[&str] = &["goroutine-abandoned-sender", "map-unbounded-cache"];

fn bench(c: &mut Criterion) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/traces");
    for name in TRACES {
        let rep = leakbench::run_dir::RepDir::at(data.join(name));
        let trace = leakbench::trace::load(&rep)
            .unwrap_or_else(|e| panic!("could not load bench trace {}: {e}", rep.path().display()));
        let samples = &trace.samples;
        let mut g = c.benchmark_group(format!("detect/{name}"));
        g.throughput(Throughput::Elements(samples.len() as u64));
        for spec in registry() {
            g.bench_function(spec.name, |b| {
                b.iter(|| {
                    let mut d = (spec.make)(&Params::default());
                    let mut alarms = 0u32;
                    for s in samples {
                        alarms += d.observe(black_box(s)).is_some() as u32;
                    }
                    alarms
                })
            });
        }
        g.finish();

        let text = std::fs::read_to_string(rep.trace_jsonl()).expect("trace.jsonl");
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        let mut g = c.benchmark_group(format!("trace/{name}"));
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.bench_function("parse_sample_json", |b| {
            b.iter(|| {
                for l in &lines {
                    black_box(serde_json::from_str::<Sample>(black_box(l)).unwrap());
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
