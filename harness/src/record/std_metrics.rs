//! Runtime figures from what any Go program with `net/http/pprof` serves, for programs
//! without the kit's `/leakbench/metrics`: the `runtime.MemStats` block at the end of
//! `/debug/pprof/heap?debug=1`, or the `memstats` object of `/debug/vars` (expvar) where served.
//! Each MemStats field is recorded under the runtime/metrics name the Go runtime documents as
//! its equivalent, so detectors read one name whatever the source.
//!
//! Owns the parsing of those two bodies and the name mapping. Must not make requests (that is
//! [`crate::record::probe`]). Figures MemStats has no equivalent for (the live heap of the last
//! GC, finalizer queues, the goroutine count) are left out: their detectors are then "not
//! judged" (the goroutine count comes from the goroutine profile instead).

use crate::sample::metric;
use std::collections::BTreeMap;

/// MemStats field → runtime/metrics name (the runtime/metrics package documents these
/// equivalences: `HeapAlloc` is `/memory/classes/heap/objects:bytes`, `Sys` is
/// `/memory/classes/total:bytes`, ...).
pub const MEMSTATS_NAMES: [(&str, &str); 5] = [
    ("HeapAlloc", metric::HEAP_OBJECTS_BYTES),
    ("HeapObjects", metric::HEAP_OBJECTS),
    ("Sys", metric::MEM_TOTAL),
    ("HeapReleased", metric::MEM_RELEASED),
    ("NumGC", metric::GC_CYCLES),
];

/// The figures of a `/debug/pprof/heap?debug=1` body: its `# runtime.MemStats` block of
/// `# Name = value` lines. `None` without the block (not a Go heap profile).
pub fn from_heap_debug(text: &str) -> Option<BTreeMap<String, f64>> {
    let block = &text[text.find("# runtime.MemStats")?..];
    let fields: BTreeMap<&str, f64> = block
        .lines()
        .filter_map(|l| {
            let (k, v) = l.strip_prefix("# ")?.split_once(" = ")?;
            Some((k.trim(), v.trim().parse().ok()?))
        })
        .collect();
    mapped(|k| fields.get(k).copied())
}

/// The figures of a `/debug/vars` body: its `memstats` object. `None` without it.
pub fn from_expvar(body: &[u8]) -> Option<BTreeMap<String, f64>> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let ms = v.get("memstats")?;
    mapped(|k| ms.get(k)?.as_f64())
}

fn mapped(field: impl Fn(&str) -> Option<f64>) -> Option<BTreeMap<String, f64>> {
    let out: BTreeMap<String, f64> = MEMSTATS_NAMES
        .iter()
        .filter_map(|(f, name)| Some((name.to_string(), field(f)?)))
        .collect();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of a real `/debug/pprof/heap?debug=1` (Go 1.26), shortened.
    const HEAP_DEBUG: &str = "heap profile: 3: 1024 [4: 2048] @ heap/1048576\n\
        1: 512 [1: 512] @ 0x1 0x2\n\
        #\t0x1\tmain.f+0x1\t/x.go:1\n\n\
        # runtime.MemStats\n# Alloc = 2336280\n# TotalAlloc = 2336280\n# Sys = 7621648\n\
        # HeapAlloc = 2336280\n# HeapSys = 3801088\n# HeapReleased = 540672\n\
        # HeapObjects = 9626\n# NumGC = 3\n# DebugGC = false\n";

    #[test]
    fn the_memstats_block_maps_to_runtime_metrics_names() {
        let m = from_heap_debug(HEAP_DEBUG).unwrap();
        assert_eq!(m[metric::HEAP_OBJECTS_BYTES], 2336280.0);
        assert_eq!(m[metric::HEAP_OBJECTS], 9626.0);
        assert_eq!(m[metric::MEM_TOTAL], 7621648.0);
        assert_eq!(m[metric::MEM_RELEASED], 540672.0);
        assert_eq!(m[metric::GC_CYCLES], 3.0);
        assert!(
            !m.contains_key(metric::HEAP_LIVE),
            "MemStats has no live heap"
        );
        assert_eq!(from_heap_debug("garbage\n"), None);
    }

    #[test]
    fn expvar_memstats_map_alike() {
        let m = from_expvar(br#"{"cmdline":["x"],"memstats":{"HeapAlloc":10,"NumGC":2}}"#).unwrap();
        assert_eq!(m[metric::HEAP_OBJECTS_BYTES], 10.0);
        assert_eq!(m[metric::GC_CYCLES], 2.0);
        assert_eq!(m.len(), 2);
        assert_eq!(from_expvar(br#"{"cmdline":["x"]}"#), None);
        assert_eq!(from_expvar(b"<html>"), None);
    }
}
