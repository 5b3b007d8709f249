//! Faulty fixtures (`go-fixtures/cmd/faulty`): each fault ends its repetition with the right
//! status and reason, every HTTP call is bounded in time and size, the harness's own memory
//! stays bounded, and the other scenarios of the run complete.

use crate::support::{finish, peak_rss, Sandbox};
use leakbench::record::fixture_log::{CUT_MARKER, MAX_LOG_BYTES};
use leakbench::record::probe::{MAX_BODY_BYTES, MAX_JSON_BYTES};
use std::time::Duration;

/// What one faulty scenario must end as. Timing-insensitive: statuses and reasons do not
/// depend on how fast the machine is (`hang` and `spew` take the 15 s readiness timeout).
struct Expect {
    scenario: &'static str,
    status: &'static str,
    /// Each must appear in `end.json`'s reason.
    reason: &'static [&'static str],
    /// Each must appear in `fixture.log`.
    log: &'static [&'static str],
}

const CASES: &[Expect] = &[
    Expect {
        scenario: "ok",
        status: "completed",
        reason: &["ran 2.0 s"],
        log: &[],
    },
    Expect {
        scenario: "sender",
        status: "completed",
        reason: &["ran 3.0 s"],
        log: &[],
    },
    Expect {
        scenario: "crash",
        status: "crashed",
        reason: &["exit status: 3", "crashing on purpose"],
        log: &[],
    },
    Expect {
        scenario: "hang",
        status: "not_ready",
        reason: &["not ready after"],
        log: &[],
    },
    Expect {
        scenario: "exit-early",
        status: "not_ready",
        reason: &["exited before it was ready", "giving up before ready"],
        log: &[],
    },
    Expect {
        scenario: "spew",
        status: "not_ready",
        reason: &["not ready after"],
        log: &[],
    },
    Expect {
        scenario: "chatty",
        status: "completed",
        reason: &["ran 2.0 s"],
        // Cut at the budget, and its last words (after 64 MiB) still kept.
        log: &[
            CUT_MARKER,
            "bytes of stderr dropped after the cut",
            "faulty: done chatting",
        ],
    },
    Expect {
        scenario: "garbage",
        status: "completed",
        reason: &[],
        log: &[],
    },
    Expect {
        scenario: "slow",
        status: "completed",
        reason: &[],
        log: &[],
    },
    Expect {
        scenario: "huge",
        status: "completed",
        reason: &[],
        log: &[],
    },
    Expect {
        scenario: "not-loopback",
        status: "not_ready",
        reason: &["not loopback", "0.0.0.0"],
        log: &[],
    },
    Expect {
        scenario: "port-taken",
        status: "not_ready",
        reason: &["address already in use"],
        log: &[],
    },
    Expect {
        scenario: "port-taken-once",
        status: "completed",
        reason: &[],
        log: &["address already in use", "LEAKBENCH READY"],
    },
    Expect {
        scenario: "balloon",
        status: "killed_at_cap",
        reason: &["passed the cap of 96 MiB"],
        log: &[],
    },
];

/// The HTTP probes a sample carries (everything but `/proc`).
const HTTP_PROBES: [&str; 6] = [
    "metrics",
    "truth",
    "work",
    "goroutine",
    "heap",
    "goroutineleak",
];

/// The reasons of a sample's missing HTTP probes, by probe (every HTTP probe must be missing).
fn missing_http(sample: &serde_json::Value) -> Vec<String> {
    let missing = sample["missing"].as_array().cloned().unwrap_or_default();
    HTTP_PROBES
        .iter()
        .map(|p| {
            missing
                .iter()
                .find(|m| m["probe"] == *p)
                .and_then(|m| m["reason"].as_str())
                .unwrap_or_else(|| panic!("probe {p} is not recorded as missing: {sample}"))
                .to_string()
        })
        .collect()
}

#[test]
fn faulty_fixtures_end_with_their_reason_and_the_run_goes_on() {
    let sb = Sandbox::new("faults");
    let names: Vec<&str> = CASES.iter().map(|c| c.scenario).collect();
    let child = sb.run(&names, &["--jobs", "16"]).spawn().unwrap();
    let pid = child.id();
    // The harness's peak RSS, read while it runs (a reaped process has no /proc entry).
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(p) = peak_rss(pid) {
            peak = peak.max(p);
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    });
    let (status, stderr) = finish(child, Duration::from_secs(180));
    let peak = watcher.join().unwrap();
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");

    for c in CASES {
        let end = sb
            .end(c.scenario, 0)
            .unwrap_or_else(|| panic!("{}: no end.json; stderr:\n{stderr}", c.scenario));
        assert_eq!(end["status"], c.status, "{}: {end}", c.scenario);
        let reason = end["reason"].as_str().unwrap();
        assert!(
            !reason.contains('\n'),
            "{}: reason is not one line",
            c.scenario
        );
        for r in c.reason {
            assert!(
                reason.contains(r),
                "{}: reason lacks `{r}`: {reason}",
                c.scenario
            );
        }
        let log = std::fs::read_to_string(sb.rep_dir(c.scenario, 0).fixture_log()).unwrap();
        for l in c.log {
            assert!(log.contains(l), "{}: log lacks `{l}`:\n{log}", c.scenario);
        }
        // The trace holds exactly the samples end.json counts: nothing lost, nothing torn.
        assert_eq!(
            sb.samples(c.scenario, 0).len() as u64,
            end["samples"].as_u64().unwrap(),
            "{}",
            c.scenario
        );
    }

    // A fixture flooding stdout without a newline: the log keeps a bounded cut of it.
    let spew = std::fs::metadata(sb.rep_dir("spew", 0).fixture_log()).unwrap();
    assert!(spew.len() < 1 << 20, "spew log is {} bytes", spew.len());
    // A ready fixture writing 64 MiB to stderr: the log stops at the budget (plus the marker
    // line and the stdout lines read before readiness).
    let chatty = std::fs::metadata(sb.rep_dir("chatty", 0).fixture_log()).unwrap();
    assert!(
        chatty.len() <= MAX_LOG_BYTES + (64 << 10),
        "chatty log is {} bytes",
        chatty.len()
    );

    // Port taken every time: three attempts on three ports, then given up.
    let log = std::fs::read_to_string(sb.rep_dir("port-taken", 0).fixture_log()).unwrap();
    assert_eq!(log.matches("faulty args:").count(), 3, "{log}");

    // Killed at the cap with its trace kept: samples before the kill, memory rising.
    let balloon = sb.samples("balloon", 0);
    assert!(balloon.len() >= 2, "balloon: {} samples", balloon.len());

    // Garbage: every HTTP probe recorded as missing with a decode error, /proc still read.
    // On a loaded machine a probe may time out instead; most must see the garbage itself.
    let (mut decoded, mut total) = (0, 0);
    for s in sb.samples("garbage", 0) {
        for r in missing_http(&s) {
            let garbage = r.contains("bad JSON") || r.contains("decode");
            assert!(garbage || r.contains("timed out"), "{r}");
            decoded += usize::from(garbage);
            total += 1;
        }
        assert!(s["proc_mem"].is_object(), "{s}");
    }
    assert!(
        decoded * 2 > total,
        "only {decoded} of {total} garbage probes failed on decoding"
    );
    assert!(sb.samples("garbage", 0).len() >= 4);

    // Slow: every call times out, and the repetition still ends on schedule.
    let slow = sb.samples("slow", 0);
    assert!(slow.len() >= 3, "slow: {} samples", slow.len());
    for s in &slow {
        for r in missing_http(s) {
            assert!(r.contains("timed out"), "{r}");
        }
    }
    let end = sb.end("slow", 0).unwrap();
    assert!(
        end["ended_s"].as_f64().unwrap() < 2.0 + 3.0,
        "slow probes delayed the end: {end}"
    );

    // Huge: every body stops at the bound (or the timeout), and the harness's memory stays
    // bounded by the concurrent probes of one sample, not by what the fixture sends.
    for s in sb.samples("huge", 0) {
        for r in missing_http(&s) {
            assert!(
                r.contains("body larger than") || r.contains("timed out"),
                "{r}"
            );
        }
    }
    // Three JSON probes and three profile probes run at once.
    let bound = 3 * MAX_JSON_BYTES as u64 + 3 * MAX_BODY_BYTES as u64 + (192 << 20);
    assert!(peak > 0, "the harness's peak RSS was never read");
    assert!(
        peak < bound,
        "harness peak RSS {} MiB exceeds {} MiB",
        peak >> 20,
        bound >> 20
    );
    sb.assert_no_survivors("after the faulty run");
}
