//! Probes: one read of one source of a running fixture (a pprof profile, the kit's JSON
//! endpoints, `/proc`). Each returns its part of a [`Sample`](crate::sample::Sample) or a
//! one-line reason.
//!
//! Owns the HTTP client (every call has a timeout, every body a size bound), the `/proc`
//! parser, the reading of the kit's goleak report, and the one goleak request a prober may
//! have in flight ([`GoleakSlot`]). Must not decide when to probe (that is
//! [`crate::record::repetition`]) nor write traces.

use crate::record::{pprof, std_metrics};
use crate::sample::{HeapSite, ProcMem, StackGroup, Truth, Work};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Largest profile body a probe accepts. A goroutine profile of 100k goroutines on one
/// stack is a few KiB gzipped and a large program's heap profile a few MiB; 32 MiB bounds the
/// harness's memory against a fixture that streams garbage.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Largest JSON body (the kit's metrics, truth and work endpoints are a few KiB).
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// Heap sites kept per sample: enough to see every fixture's leak site with room to spare,
/// few enough that traces stay small.
pub const HEAP_TOP_SITES: usize = 40;

/// How long one goleak request may take before the probe gives up (recorded as missing).
/// goleak's `Find` dumps every goroutine's stack at each attempt and, while it finds any,
/// retries 20 times with sleeps doubling from 1 µs up to 100 ms (0.43 s of sleep in all).
/// Measured here (Go 1.26.8, 2 shared cores), one request took 1–30 ms when goleak found
/// nothing, 0.45–0.49 s with 10–300 goroutines found, 0.83 s with 700, 0.6–0.7 s with 1k
/// idle ones, 11 s with 10k and more than 57 s with 100k. A request runs beside the ticks
/// ([`GoleakSlot`]), so a slow one delays only goleak's own next verdict; 15 s covers 10k
/// goroutines, and a verdict later than that is too late to matter in runs of tens of seconds.
pub const GOLEAK_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// goleak's report (`/leakbench/goleak`). Absent (off) in runs recorded before it existed.
    #[serde(default)]
    pub goleak: bool,
}

impl Default for ProbeSet {
    /// Everything but `heap_gc` (it forces a GC in every program, leaking or not).
    ///
    /// goleak is on, so the main matrix scores it. Its request runs beside the ticks
    /// ([`GoleakSlot`]), so it never delays a sample nor its stamp: at a 0.5 s interval, on
    /// three leaks where each verdict took 0.45–0.8 s, samples came a median 0.500 s apart (at
    /// most 0.557 s) with goleak on, as with it off. Its cost is in the program, and only while
    /// it finds goroutines: each verdict then dumps every stack 21 times over 0.45 s (stopping
    /// the world each time), and back-to-back verdicts raised the allocation rate of the six
    /// fixtures where it found goroutines by 3–9 MB/s (+25–80 %) and their GC rate by 14–78 %
    /// (2 repetitions each, on against off), which moves the heap detectors' results there.
    /// Where it finds nothing it is one stack dump per tick. That is goleak's own cost, as a
    /// GC per sample is the `goroutineleak` profile's, which is on too.
    fn default() -> Self {
        ProbeSet {
            metrics: true,
            proc: true,
            goroutine: true,
            heap: true,
            heap_gc: false,
            goroutineleak: true,
            truth: true,
            goleak: true,
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
            goleak: false,
        }
    }
}

/// Talks to one fixture.
#[derive(Clone)]
pub struct Prober {
    http: Http,
    pid: u32,
    spawn_mono_ns: u64,
    goleak: Arc<Mutex<GoleakSlot>>,
}

/// The HTTP side of a prober: what a request needs, and nothing that outlives one.
#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
}

/// The goleak request in flight, if any, shared by a [`Prober`]'s clones.
///
/// One goleak verdict takes 0.45 s or more whenever goleak finds goroutines (see
/// [`GOLEAK_TIMEOUT`]): most of a 0.5 s interval, more with many goroutines. Awaited beside the
/// other probes it would hold up every sample (a sample is stamped when its last probe
/// answered, so every other detector's evidence would be stamped up to a Find later) and
/// stretch the ticks. So a sample starts a request only if none is in flight
/// ([`Prober::goleak_start`]), and takes the verdict once the request has finished
/// ([`Prober::goleak_take`]): in the same sample if it finished while the other probes ran,
/// else in a later one, and samples in between have none. The verdict is taken before its
/// sample is stamped, so an alarm never precedes its evidence; at most one request is in
/// flight, so a slow `Find` is never piled on. Dropping the last prober aborts the request.
#[derive(Default)]
pub struct GoleakSlot {
    in_flight: Option<JoinHandle<Result<Vec<StackGroup>, String>>>,
}

impl Drop for GoleakSlot {
    fn drop(&mut self) {
        if let Some(h) = self.in_flight.take() {
            h.abort();
        }
    }
}

/// The kit's goleak report (`/leakbench/goleak`, docs/fixture-contract.md). Only what the
/// probe reads: goroutine IDs, goleak's first function and the creator are not kept.
#[derive(Deserialize)]
struct GoleakJson {
    #[serde(default)]
    goroutines: Vec<GoleakGoroutine>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct GoleakGoroutine {
    state: String,
    stack: String,
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
            http: Http {
                client,
                base: format!("http://{addr}"),
            },
            pid,
            spawn_mono_ns,
            goleak: Arc::default(),
        }
    }

    async fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, String> {
        self.http.get(path, limit, None).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let body = self.get(path, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| format!("{path}: bad JSON: {e}"))
    }

    /// Scalar runtime/metrics values: the kit's `/leakbench/metrics`, or, where that is not
    /// served (HTTP 404: a program without the kit), the MemStats figures of `/debug/vars`
    /// or of `/debug/pprof/heap?debug=1` ([`std_metrics`]).
    pub async fn metrics(&self) -> Result<BTreeMap<String, f64>, String> {
        let kit = match self.get_json("/leakbench/metrics").await {
            Err(e) if e.ends_with(NOT_FOUND) => e,
            other => return other,
        };
        let vars = match self.get("/debug/vars", MAX_JSON_BYTES).await {
            Ok(body) => match std_metrics::from_expvar(&body) {
                Some(m) => return Ok(m),
                None => "/debug/vars: no memstats".to_string(),
            },
            Err(e) => e,
        };
        let heap = match self.get(HEAP_DEBUG_PATH, MAX_BODY_BYTES).await {
            Ok(body) => match std_metrics::from_heap_debug(&String::from_utf8_lossy(&body)) {
                Some(m) => return Ok(m),
                None => format!("{HEAP_DEBUG_PATH}: no runtime.MemStats block"),
            },
            Err(e) => e,
        };
        Err(format!("{kit}; {vars}; {heap}"))
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

    /// What the fixture's runtime says it runs with (the kit's `/leakbench/runtime`: Go
    /// version, GOMAXPROCS, GOGC and GOMEMLIMIT as read back from the runtime).
    pub async fn runtime(&self) -> Result<crate::trace::RuntimeFacts, String> {
        self.get_json("/leakbench/runtime").await
    }

    pub async fn goroutines(&self) -> Result<Vec<StackGroup>, String> {
        self.stack_profile("/debug/pprof/goroutine").await
    }

    pub async fn goroutine_leak(&self) -> Result<Vec<StackGroup>, String> {
        self.stack_profile("/debug/pprof/goroutineleak").await
    }

    /// Starts a goleak request unless one is in flight (see [`GoleakSlot`]). Needs a tokio
    /// runtime.
    pub fn goleak_start(&self) {
        let mut slot = self.goleak.lock().unwrap_or_else(|e| e.into_inner());
        if slot.in_flight.is_none() {
            let http = self.http.clone();
            slot.in_flight = Some(tokio::spawn(async move { http.goleak().await }));
        }
    }

    /// The verdict of the goleak request in flight, if it has finished (never waits); `None`
    /// while it runs or when none was started.
    pub async fn goleak_take(&self) -> Option<Result<Vec<StackGroup>, String>> {
        let done = {
            let mut slot = self.goleak.lock().unwrap_or_else(|e| e.into_inner());
            match &slot.in_flight {
                Some(h) if h.is_finished() => slot.in_flight.take(),
                _ => None,
            }
        }?;
        Some(
            done.await
                .unwrap_or_else(|e| Err(format!("{GOLEAK_PATH}: probe task failed: {e}"))),
        )
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

/// The heap profile as text, whose end is the MemStats block.
const HEAP_DEBUG_PATH: &str = "/debug/pprof/heap?debug=1";

/// How a probe's reason ends when the program does not serve the path.
const NOT_FOUND: &str = "HTTP 404 Not Found";

/// The kit's goleak endpoint.
pub const GOLEAK_PATH: &str = "/leakbench/goleak";

impl Http {
    /// GET with a body of at most `limit` bytes, within `timeout` if given (else the
    /// client's).
    async fn get(
        &self,
        path: &str,
        limit: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, String> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.client.get(&url);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let mut resp = req.send().await.map_err(|e| one_line(&e))?;
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

    /// One goleak verdict, grouped by stack. The report holds a stack per goroutine (about
    /// 300 bytes each), so its body may be as large as a profile's.
    async fn goleak(&self) -> Result<Vec<StackGroup>, String> {
        let body = self
            .get(GOLEAK_PATH, MAX_BODY_BYTES, Some(GOLEAK_TIMEOUT))
            .await?;
        let report: GoleakJson =
            serde_json::from_slice(&body).map_err(|e| format!("{GOLEAK_PATH}: bad JSON: {e}"))?;
        if let Some(e) = report.error {
            return Err(format!(
                "{GOLEAK_PATH}: goleak failed: {}",
                e.replace('\n', " ")
            ));
        }
        Ok(goleak_groups(&report.goroutines))
    }
}

/// Groups goleak's goroutines by wait reason and frames, as a profile groups by stack; the
/// site is chosen by the profiles' rule ([`pprof::blocking_site`]), so goleak and the
/// profiles name the same place alike. Sorted by count descending, then site, then frames.
fn goleak_groups(goroutines: &[GoleakGoroutine]) -> Vec<StackGroup> {
    let mut by_stack: BTreeMap<(Vec<String>, &str), u64> = BTreeMap::new();
    for g in goroutines {
        *by_stack
            .entry((stack_frames(&g.stack), g.state.as_str()))
            .or_default() += 1;
    }
    let mut groups: Vec<StackGroup> = by_stack
        .into_iter()
        .map(|((frames, wait), count)| StackGroup {
            count,
            wait: wait.to_string(),
            site: pprof::blocking_site(&frames),
            frames,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.site.cmp(&b.site))
            .then_with(|| a.frames.cmp(&b.frames))
    });
    groups
}

/// The function names of one goroutine's stack as a Go stack dump prints it (goleak passes
/// it on as is; `\t` is a tab), innermost first:
///
/// ```text
/// main.sendResult(0xc000020120, 0x1)
/// \t/src/cmd/x/main.go:24 +0x3c
/// net/http.(*conn).serve(0xc0001b4000, {0x8a5f30, 0xc000123000})
/// \t/usr/local/go/src/net/http/server.go:2102 +0x625
/// ...additional frames elided...
/// created by main.handle in goroutine 6
/// \t/src/cmd/x/main.go:35 +0x8a
/// ```
///
/// A function line is the name then its arguments in parentheses (the name may hold
/// parentheses itself, `(*conn)`, the arguments never do, so the last `(` starts them).
/// File lines start with a tab; the `created by` line names another goroutine's function and
/// ends the stack; the elision marker is no function.
pub fn stack_frames(stack: &str) -> Vec<String> {
    let mut frames = Vec::new();
    for line in stack.lines() {
        if line.starts_with("created by ") {
            break;
        }
        if line.is_empty() || line.starts_with('\t') || line.starts_with("...") {
            continue;
        }
        let name = line.rfind('(').map_or(line, |i| &line[..i]);
        frames.push(name.to_string());
    }
    frames
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

    /// A goroutine's stack as goleak passes it on (from a live fixture, Go 1.26.8), plus the
    /// elision marker a dump prints past 100 frames.
    const STACK: &str = "time.Sleep(0x1312d00)\n\t/usr/local/go/src/runtime/time.go:363 +0x165\n\
        main.closeConn(0x0?)\n\t/src/cmd/finalizer-slow/main.go:33 +0x25\n\
        net/http.(*conn).serve(0xc0001b4000, {0x8a5f30, 0xc000123000})\n\t/usr/local/go/src/net/http/server.go:2102 +0x625\n\
        ...additional frames elided...\n\
        created by net/http.(*Server).Serve in goroutine 7\n\t/usr/local/go/src/net/http/server.go:3454 +0x485\n";

    #[test]
    fn stack_frames_are_the_function_lines_down_to_created_by() {
        assert_eq!(
            stack_frames(STACK),
            ["time.Sleep", "main.closeConn", "net/http.(*conn).serve"]
        );
        assert!(stack_frames("").is_empty());
    }

    #[test]
    fn goleak_goroutines_group_by_stack_and_wait_with_the_profiles_site() {
        let g = |state: &str, stack: &str| GoleakGoroutine {
            state: state.into(),
            stack: stack.into(),
        };
        let send = "main.sendResult(0xc0, 0x1)\n\t/src/main.go:24 +0x3c\n\
            created by main.handle in goroutine 6\n\t/src/main.go:35 +0x8a\n";
        // Another goroutine ID and line offsets, same functions: the same stack.
        let send2 = "main.sendResult(0xc8, 0x2)\n\t/src/main.go:24 +0x3c\n\
            created by main.handle in goroutine 9\n\t/src/main.go:35 +0x8a\n";
        let groups = goleak_groups(&[
            g("sleep", STACK),
            g("chan send", send),
            g("chan send", send2),
            g("select", send),
        ]);
        let seen: Vec<(u64, &str, &str)> = groups
            .iter()
            .map(|x| (x.count, x.wait.as_str(), x.site.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (2, "chan send", "main.sendResult"),
                // time.Sleep is a blocking primitive, as in the profiles: the site is below.
                (1, "sleep", "main.closeConn"),
                (1, "select", "main.sendResult"),
            ]
        );
        assert_eq!(groups[1].frames[0], "time.Sleep");
    }

    /// A loopback HTTP server that answers every request with `status` and `body` after
    /// `delay`, one thread per connection, counting requests.
    fn serve(
        status: &'static str,
        body: &'static str,
        delay: Duration,
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = n.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let count = count.clone();
                std::thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => req.extend_from_slice(&buf[..k]),
                        }
                    }
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(delay);
                    let _ = write!(
                        c,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        (addr, n)
    }

    #[tokio::test]
    async fn a_goleak_verdict_is_taken_once_finished_with_one_request_in_flight() {
        let body = r#"{"goroutines":[{"id":7,"state":"chan send","function":"main.f","created_by":"main.g","stack":"main.f()\n\t/x.go:1 +0x1\ncreated by main.g in goroutine 1\n\t/x.go:2 +0x2\n"}],"find_s":0.3}"#;
        let (addr, requests) = serve("200 OK", body, Duration::from_millis(300));
        let p = Prober::new(addr, 0, 0, Duration::from_millis(100));
        assert!(p.goleak_take().await.is_none(), "nothing started");
        p.goleak_start();
        tokio::time::sleep(Duration::from_millis(100)).await;
        p.goleak_start(); // in flight: no second request
        assert!(p.goleak_take().await.is_none(), "still in flight");
        // Longer than the client's own timeout (100 ms): goleak has its own.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let groups = p.goleak_take().await.expect("finished").unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (
                groups[0].count,
                groups[0].wait.as_str(),
                groups[0].site.as_str()
            ),
            (1, "chan send", "main.f")
        );
        assert!(p.goleak_take().await.is_none(), "taken once");
        assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn goleak_not_served_or_failing_is_a_one_line_reason() {
        let verdict = |addr| async move {
            let p = Prober::new(addr, 0, 0, Duration::from_secs(2));
            p.goleak_start();
            for _ in 0..200 {
                if let Some(r) = p.goleak_take().await {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("no verdict in 2 s");
        };
        let (addr, _) = serve("404 Not Found", "404 page not found\n", Duration::ZERO);
        let e = verdict(addr).await.unwrap_err();
        assert_eq!(e, "/leakbench/goleak: HTTP 404 Not Found");
        let failed = r#"{"goroutines":[],"find_s":0.1,"error":"goleak: Cleanup can only\nbe passed to VerifyNone"}"#;
        let (addr, _) = serve("200 OK", failed, Duration::ZERO);
        let e = verdict(addr).await.unwrap_err();
        assert_eq!(
            e,
            "/leakbench/goleak: goleak failed: goleak: Cleanup can only be passed to VerifyNone"
        );
        let (addr, _) = serve(
            "200 OK",
            r#"{"goroutines":[],"find_s":0.001}"#,
            Duration::ZERO,
        );
        assert_eq!(verdict(addr).await, Ok(vec![]));
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
