//! Heap profiles → in-use [`HeapSite`]s by allocation site.
//!
//! Owns what an allocation site is ([`alloc_site`]) and the `top` cut with its
//! [`OTHER_SITE`] remainder. Frame names come from [`super::symbolize`]; it must not read the
//! wire format beyond the sample types and values.
//!
//! [`heap_sites`] finds the `inuse_space` and `inuse_objects` sample types by name (never by
//! position) and aggregates them by allocation site: the first frame that is not
//! `runtime.*`/`internal/runtime/*`/`runtime/internal/*` (falling back to the innermost frame
//! when all are runtime, as `go tool pprof` shows `runtime.mallocgc`).
//!
//! Values are already scaled. Go's `runtime/pprof/protomem.go` (`writeHeapProto`, read in Go
//! 1.26.8) writes every sample through `scaleHeapSample(count, size, rate)`, which multiplies
//! the sampled count and bytes by `1/(1-exp(-avgSize/rate))` to estimate the unsampled
//! totals, and leaves them unscaled only when `rate <= 1` (every allocation sampled). The
//! profile's `period` field carries the rate. So no further scaling happens here; the numbers
//! are estimates unless `period == 1`. The same writer already strips leading `runtime.*` and
//! `internal/runtime/*` frames from allocation stacks (unless that would leave none), so the
//! site rule here mostly agrees with what Go emits.

use super::symbolize::Symbolizer;
use super::wire::Profile;
use super::PprofError;
use crate::sample::HeapSite;
use std::collections::HashMap;

/// The site name given to the aggregate of heap sites cut by [`heap_sites`]'s `top`.
pub const OTHER_SITE: &str = "(other)";

/// True for frames that are runtime machinery in an allocation stack.
pub fn is_runtime_frame(name: &str) -> bool {
    name.starts_with("runtime.")
        || name.starts_with("internal/runtime/")
        || name.starts_with("runtime/internal/")
}

/// The allocation site of a heap stack (innermost first): the first frame that is not
/// [`is_runtime_frame`]; if there is none, the innermost frame.
pub fn alloc_site<S: AsRef<str>>(frames: &[S]) -> String {
    frames
        .iter()
        .map(AsRef::as_ref)
        .find(|f| !is_runtime_frame(f))
        .or_else(|| frames.first().map(AsRef::as_ref))
        .unwrap_or("(unknown)")
        .to_string()
}

/// In-use heap by allocation site, largest `inuse_bytes` first (ties by site), keeping the
/// `top` largest and aggregating the rest into one [`OTHER_SITE`] entry appended last. Sites
/// with zero in-use bytes and objects are dropped. Values are used as the profile carries
/// them, which Go has already scaled for sampling (see the module doc).
pub fn heap_sites(p: &Profile, top: usize) -> Result<Vec<HeapSite>, PprofError> {
    let space = p
        .sample_type_index("inuse_space")?
        .ok_or_else(|| PprofError::MissingSampleType("inuse_space".into()))?;
    let objects = p
        .sample_type_index("inuse_objects")?
        .ok_or_else(|| PprofError::MissingSampleType("inuse_objects".into()))?;
    let sym = Symbolizer::new(p);
    let mut by_site: HashMap<String, (u64, u64)> = HashMap::new();
    for s in &p.sample {
        let bytes = s.value_at(space, "inuse_space")?;
        let objs = s.value_at(objects, "inuse_objects")?;
        if bytes == 0 && objs == 0 {
            continue;
        }
        let site = alloc_site(&sym.frames(s)?);
        let e = by_site.entry(site).or_insert((0, 0));
        e.0 = e.0.saturating_add(bytes);
        e.1 = e.1.saturating_add(objs);
    }
    let mut sites: Vec<HeapSite> = by_site
        .into_iter()
        .map(|(site, (inuse_bytes, inuse_objects))| HeapSite {
            site,
            inuse_bytes,
            inuse_objects,
        })
        .collect();
    sites.sort_by(|a, b| {
        b.inuse_bytes
            .cmp(&a.inuse_bytes)
            .then_with(|| a.site.cmp(&b.site))
    });
    if sites.len() > top {
        let rest = sites.split_off(top);
        sites.push(HeapSite {
            site: OTHER_SITE.to_string(),
            inuse_bytes: rest
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.inuse_bytes)),
            inuse_objects: rest
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.inuse_objects)),
        });
    }
    Ok(sites)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{GOROUTINE, HEAP};
    use super::super::{decode, sample_total};
    use super::*;

    #[test]
    fn heap_profile_sites() {
        let p = decode(HEAP).unwrap();
        let names = p.sample_type_names().unwrap();
        assert_eq!(
            names,
            vec![
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space"
            ]
        );
        // MemProfileRate = 1: every allocation sampled, so Go did not scale (rate <= 1).
        assert_eq!(p.period, 1);
        let sites = heap_sites(&p, usize::MAX).unwrap();
        let a = sites
            .iter()
            .find(|s| s.site == "main.allocRetained")
            .unwrap();
        // 1000 `make([]byte, 1024)` retained by a global array (whose own storage is static,
        // not a heap allocation). With rate 1 the count is exact, not an estimate.
        assert_eq!(a.inuse_objects, 1000);
        // 1024 is a size class, so the bytes are exact too: 1000 * 1024. Allow up to the next
        // size class (1152) in case a regenerated profile comes from a Go with other classes.
        assert!(
            (1000 * 1024..=1000 * 1152).contains(&a.inuse_bytes),
            "{}",
            a.inuse_bytes
        );
        assert_eq!(sites[0].site, "main.allocRetained");
        assert!(sites
            .iter()
            .all(|s| s.inuse_bytes > 0 || s.inuse_objects > 0));
        let total_bytes: u64 = sites.iter().map(|s| s.inuse_bytes).sum();
        let total_objs: u64 = sites.iter().map(|s| s.inuse_objects).sum();
        assert_eq!(Some(total_bytes as i64), sample_total(&p, "inuse_space"));
        assert_eq!(Some(total_objs as i64), sample_total(&p, "inuse_objects"));
        // No runtime frame is a site unless the whole stack was runtime.
        for s in &sites {
            assert!(!s.site.starts_with("internal/runtime/"), "{}", s.site);
        }

        // Truncation: top 1 plus "(other)" holding the rest.
        let cut = heap_sites(&p, 1).unwrap();
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[0], *a);
        assert_eq!(cut[1].site, OTHER_SITE);
        assert_eq!(cut[1].inuse_bytes, total_bytes - a.inuse_bytes);
        assert_eq!(cut[1].inuse_objects, total_objs - a.inuse_objects);
        // Nothing cut: no "(other)".
        let all = heap_sites(&p, sites.len()).unwrap();
        assert!(all.iter().all(|s| s.site != OTHER_SITE));
    }

    #[test]
    fn heap_needs_heap_sample_types() {
        let p = decode(GOROUTINE).unwrap();
        assert!(matches!(
            heap_sites(&p, 10),
            Err(PprofError::MissingSampleType(_))
        ));
    }

    #[test]
    fn alloc_sites() {
        assert_eq!(
            alloc_site(&["runtime.malg", "runtime.newproc1", "main.spawn"]),
            "main.spawn"
        );
        assert_eq!(
            alloc_site(&["runtime.makemap", "main.newCache"]),
            "main.newCache"
        );
        assert_eq!(
            alloc_site(&["main._Cfunc_CString", "main.leakC"]),
            "main._Cfunc_CString"
        );
        assert_eq!(
            alloc_site(&["runtime.mallocgc", "runtime.main"]),
            "runtime.mallocgc"
        );
        assert_eq!(alloc_site::<&str>(&[]), "(unknown)");
    }
}
