//! Profile decoding cost: what the harness spends per probe turning a pprof body into the
//! trace's stack groups and heap sites (`pprof::decode` + `stack_groups` / `heap_sites`).
//!
//! Inputs: the reference profiles in `testdata/pprof/` (small, known content) and larger
//! profiles captured from running fixtures in `benches/data/` (see its README for how to
//! regenerate them). Run with `cargo bench --bench pprof_decode`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakbench::record::pprof;
use std::hint::black_box;
use std::path::Path;

fn read(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("could not read {}: {e}", p.display()))
}

/// (name, file, is a heap profile)
const PROFILES: &[(&str, &str, bool)] = &[
    ("goroutine-13", "testdata/pprof/goroutine.pb.gz", false),
    (
        "goroutineleak-7",
        "testdata/pprof/goroutineleak.pb.gz",
        false,
    ),
    ("heap-ref", "testdata/pprof/heap.pb.gz", true),
    (
        "goroutine-10k-idle",
        "benches/data/goroutine-10k.pb.gz",
        false,
    ),
    (
        "goroutine-leaking-sender",
        "benches/data/goroutine-leaking.pb.gz",
        false,
    ),
    ("heap-map-cache", "benches/data/heap-map-cache.pb.gz", true),
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pprof");
    for &(name, file, heap) in PROFILES {
        let body = read(file);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| pprof::decode(black_box(&body)).unwrap())
        });
        let p = pprof::decode(&body).unwrap();
        if heap {
            g.bench_function(format!("heap_sites/{name}"), |b| {
                b.iter(|| {
                    pprof::heap_sites(black_box(&p), leakbench::record::probe::HEAP_TOP_SITES)
                        .unwrap()
                })
            });
        } else {
            g.bench_function(format!("stack_groups/{name}"), |b| {
                b.iter(|| pprof::stack_groups(black_box(&p)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
