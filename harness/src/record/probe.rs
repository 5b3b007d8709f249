//! Probes: one read of one source of a running fixture (a pprof profile, the kit's JSON
//! endpoints, `/proc`). Each returns its part of a [`Sample`] or a one-line reason.
//!
//! Owns the HTTP client (every call has a timeout, every body a size bound) and the
//! `/proc` parser. Must not decide when to probe (that is [`crate::record::repetition`]) nor write traces.

use crate::record::pprof;
use crate::sample::{HeapSite, ProcMem, StackGroup, Truth, Work};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Largest profile body a probe accepts. A goroutine profile of 100k goroutines on one
/// stack is a few KiB gzipped and a large program's heap profile a few MiB; 32 MiB bounds the
/// harness's memory against a fixture that streams garbage.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Largest JSON body (the kit's metrics, truth and work endpoints are a few KiB).
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// Heap sites kept per sample: enough to see every fixture's leak site with room to spare,
/// few enough that traces stay small.
pub const HEAP_TOP_SITES: usize = 40;

/// Which probes a sampler runs. The default set is what `leakbench run` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeSet {
    pub metrics: bool,
    pub proc: bool,
    pub goroutine: bool,
    pub heap: bool,
    /// Ask for `?gc=1` (a forced GC before the heap profile). Off by default: it changes the
    /// program being measured.
    pub heap_gc: bool,
    pub goroutineleak: bool,
    pub truth: bool,
}

impl Default for ProbeSet {
    fn default() -> Self {
        ProbeSet {
            metrics: true,
            proc: true,
            goroutine: true,
            heap: true,
            heap_gc: false,
            goroutineleak: true,
            truth: true,
        }
    }
}

impl ProbeSet {
    pub fn none() -> Self {
        ProbeSet {
            metrics: false,
            proc: false,
            goroutine: false,
            heap: false,
            heap_gc: false,
            goroutineleak: false,
            truth: false,
        }
    }
}

/// Talks to one fixture.
#[derive(Clone)]
pub struct Prober {
    client: reqwest::Client,
    base: String,
    pid: u32,
    spawn_mono_ns: u64,
}

#[derive(Deserialize)]
struct TruthJson {
    onset_mono_ns: Option<u64>,
    #[serde(default)]
    units: u64,
    #[serde(default)]
    site: String,
}

impl Prober {
    /// `timeout` bounds every request (connect and body).
    pub fn new(addr: SocketAddr, pid: u32, spawn_mono_ns: u64, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        Prober {
            client,
            base: format!("http://{addr}"),
            pid,
            spawn_mono_ns,
        }
    }

    /// GET with a body of at most `limit` bytes.
    async fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, String> {
        let url = format!("{}{}", self.base, path);
        let mut resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| one_line(&e))?;
        if !resp.status().is_success() {
            return Err(format!("{path}: HTTP {}", resp.status()));
        }
        if resp.content_length().unwrap_or(0) as usize > limit {
            return Err(format!("{path}: body larger than {limit} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| one_line(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(format!("{path}: body larger than {limit} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let body = self.get(path, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| format!("{path}: bad JSON: {e}"))
    }

    /// Scalar runtime/metrics values.
    pub async fn metrics(&self) -> Result<BTreeMap<String, f64>, String> {
        self.get_json("/leakbench/metrics").await
    }

    /// The fixture's ground truth, onset converted to seconds since spawn.
    pub async fn truth(&self) -> Result<Truth, String> {
        let t: TruthJson = self.get_json("/leakbench/truth").await?;
        Ok(Truth {
            onset_s: t
                .onset_mono_ns
                .map(|ns| (ns as f64 - self.spawn_mono_ns as f64) / 1e9),
            units: t.units,
            site: t.site,
        })
    }

    pub async fn work(&self) -> Result<Work, String> {
        self.get_json("/leakbench/work").await
    }

    pub async fn goroutines(&self) -> Result<Vec<StackGroup>, String> {
        self.stack_profile("/debug/pprof/goroutine").await
    }

    pub async fn goroutine_leak(&self) -> Result<Vec<StackGroup>, String> {
        self.stack_profile("/debug/pprof/goroutineleak").await
    }

    async fn stack_profile(&self, path: &str) -> Result<Vec<StackGroup>, String> {
        let body = self.get(path, MAX_BODY_BYTES).await?;
        let p = pprof::decode(&body).map_err(|e| format!("{path}: {e}"))?;
        pprof::stack_groups(&p).map_err(|e| format!("{path}: {e}"))
    }

    pub async fn heap(&self, force_gc: bool) -> Result<Vec<HeapSite>, String> {
        let path = if force_gc {
            "/debug/pprof/heap?gc=1"
        } else {
            "/debug/pprof/heap"
        };
        let body = self.get(path, MAX_BODY_BYTES).await?;
        let p = pprof::decode(&body).map_err(|e| format!("{path}: {e}"))?;
        pprof::heap_sites(&p, HEAP_TOP_SITES).map_err(|e| format!("{path}: {e}"))
    }

    /// Seconds since the fixture was spawned, now (the trace's clock).
    pub fn now_s(&self) -> f64 {
        crate::clock::monotonic_ns().saturating_sub(self.spawn_mono_ns) as f64 / 1e9
    }

    pub fn proc_mem(&self) -> Result<ProcMem, String> {
        read_proc_mem(self.pid)
    }
}

fn one_line(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s.replace('\n', " ")
}

/// Reads `VmRSS` and `RssAnon` of a process.
pub fn read_proc_mem(pid: u32) -> Result<ProcMem, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_proc_status(&text).ok_or_else(|| format!("{path}: no VmRSS line"))
}

/// Parses the memory lines of `/proc/PID/status`, which look like `VmRSS:<tab>   12345 kB`
/// and `RssAnon:<tab>    6789 kB`.
pub fn parse_proc_status(text: &str) -> Option<ProcMem> {
    Some(ProcMem {
        rss_bytes: status_field_bytes(text, "VmRSS:")?,
        anon_bytes: status_field_bytes(text, "RssAnon:").unwrap_or(0),
    })
}

/// One `kB` field of a `/proc/PID/status` text (`VmRSS:`, `VmHWM:`, ...), in bytes.
pub fn status_field_bytes(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_parses() {
        let text = "Name:\tx\nVmRSS:\t   12345 kB\nRssAnon:\t    6789 kB\nRssFile:\t 1 kB\n";
        assert_eq!(
            parse_proc_status(text),
            Some(ProcMem {
                rss_bytes: 12345 * 1024,
                anon_bytes: 6789 * 1024
            })
        );
        assert_eq!(parse_proc_status("Name:\tx\n"), None);
    }

    #[test]
    fn own_process_memory_is_readable() {
        let m = read_proc_mem(std::process::id()).unwrap();
        assert!(m.rss_bytes > 0 && m.anon_bytes > 0 && m.anon_bytes <= m.rss_bytes);
    }

    /// A server that accepts and never answers: the probe must give up at its timeout.
    #[tokio::test]
    async fn a_silent_endpoint_times_out() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let p = Prober::new(addr, 0, 0, Duration::from_millis(300));
        let t0 = std::time::Instant::now();
        let e = p.metrics().await.unwrap_err();
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t0.elapsed()
        );
        assert!(!e.is_empty());
        drop(l);
    }
}
