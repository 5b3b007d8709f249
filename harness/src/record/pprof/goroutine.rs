//! Goroutine profiles (`goroutine`, `goroutineleak`) → [`StackGroup`]s.
//!
//! Owns what a goroutine stack means: where it blocks ([`blocking_site`]) and why it waits
//! ([`wait_reason`]). Frame names come from [`super::symbolize`]; it must not read the wire
//! format beyond the sample values.
//!
//! [`stack_groups`] merges samples with identical frame lists (the profile may split one stack
//! over several samples, e.g. by pprof labels) into one [`StackGroup`]. Frames are function
//! names innermost first; inlined calls are expanded (a Location's `line`s are innermost
//! first: "the last entry represents the caller into which the preceding entries were
//! inlined").
//!
//! `site` is the first frame from the top that is neither runtime machinery nor a standard
//! blocking primitive — the place where user code blocks. Skipped (see [`is_blocking_frame`]):
//! `runtime.*`, `internal/*` (which covers `internal/poll`, `internal/sync`,
//! `internal/runtime/*`), `runtime/internal/*`, `sync.runtime_*`, the methods of the `sync`
//! primitives (`sync.(*Mutex).*`, `sync.(*RWMutex).*`, `sync.(*WaitGroup).*`,
//! `sync.(*Cond).*`, `sync.(*Once).*`) and `time.Sleep`. The sync primitives are skipped
//! because every WaitGroup leak in a program would otherwise share the site
//! `sync.(*WaitGroup).Wait`; their identity is kept in `wait` (`sync.WaitGroup`,
//! `sync.Mutex`, ...) instead. Other standard-library frames are *not* skipped: a goroutine in
//! a `select` inside `context.(*cancelCtx).propagateCancel.func2` has that as its site, and
//! one blocked in a network read has a `net.*` site. `runtime/pprof.*` is not runtime
//! machinery either (it starts `runtime/`, not `runtime.`), so the goroutine writing the
//! profile has site `runtime/pprof.writeRuntimeProfile`. If every frame is skipped (system
//! goroutines), the site is the outermost frame other than `runtime.goexit`: the goroutine's
//! entry function.
//!
//! `wait` ([`wait_reason`]) is derived from the skipped top frames: a park frame
//! (`runtime.gopark`/`runtime.goparkunlock`) plus `runtime.chansend` → `chan send`,
//! `runtime.chanrecv` → `chan receive`, `runtime.selectgo`/`runtime.block` → `select`,
//! `runtime.netpollblock`/`internal/poll.*` → `IO wait`, `time.Sleep`/`runtime.timeSleep` →
//! `sleep`, RWMutex/Mutex/WaitGroup/Cond frames → `sync.RWMutex`/`sync.Mutex`/
//! `sync.WaitGroup`/`sync.Cond`, any other semacquire → `sync`, anything else parked →
//! `waiting`. Without a park frame: a syscall frame on top → `syscall`, else `running` (e.g.
//! the goroutine that is writing the profile).
//!
//! Groups are sorted by count descending, then site, then frames, for determinism.

use super::symbolize::Symbolizer;
use super::wire::Profile;
use super::PprofError;
use crate::sample::StackGroup;
use std::collections::HashMap;

/// True for frames that are runtime machinery or a standard blocking primitive, skipped when
/// looking for the site where user code blocks (see the module doc).
pub fn is_blocking_frame(name: &str) -> bool {
    name.starts_with("runtime.")
        || name.starts_with("internal/")
        || name.starts_with("runtime/internal/")
        || name.starts_with("sync.runtime_")
        || name.starts_with("sync.(*Mutex).")
        || name.starts_with("sync.(*RWMutex).")
        || name.starts_with("sync.(*WaitGroup).")
        || name.starts_with("sync.(*Cond).")
        || name.starts_with("sync.(*Once).")
        || name == "time.Sleep"
}

/// Where a goroutine with this stack (innermost first) blocks: the first frame that is not
/// [`is_blocking_frame`]; if there is none, the outermost frame other than `runtime.goexit`.
pub fn blocking_site<S: AsRef<str>>(frames: &[S]) -> String {
    frames
        .iter()
        .map(AsRef::as_ref)
        .find(|f| !is_blocking_frame(f))
        .or_else(|| {
            frames
                .iter()
                .rev()
                .map(AsRef::as_ref)
                .find(|f| *f != "runtime.goexit")
        })
        .unwrap_or("(unknown)")
        .to_string()
}

/// Why a goroutine with this stack (innermost first) waits, from the runtime and blocking
/// frames at its top (see the module doc for the mapping).
pub fn wait_reason<S: AsRef<str>>(frames: &[S]) -> &'static str {
    let top: Vec<&str> = frames
        .iter()
        .map(AsRef::as_ref)
        .take_while(|f| is_blocking_frame(f))
        .collect();
    let any = |pred: &dyn Fn(&str) -> bool| top.iter().any(|f| pred(f));
    let parked = any(&|f| f == "runtime.gopark" || f == "runtime.goparkunlock");
    if !parked {
        let first = frames.first().map(AsRef::as_ref).unwrap_or("");
        let syscall = [
            "syscall.",
            "internal/runtime/syscall.",
            "runtime/internal/syscall.",
        ]
        .iter()
        .any(|p| first.starts_with(p));
        return if syscall { "syscall" } else { "running" };
    }
    if any(&|f| f == "runtime.chansend") {
        "chan send"
    } else if any(&|f| f == "runtime.chanrecv") {
        "chan receive"
    } else if any(&|f| f == "runtime.selectgo" || f == "runtime.block") {
        "select"
    } else if any(&|f| f == "runtime.netpollblock" || f.starts_with("internal/poll.")) {
        "IO wait"
    } else if any(&|f| f == "time.Sleep" || f == "runtime.timeSleep") {
        "sleep"
    } else if any(&|f| f.contains("(*RWMutex)") || f.contains("SemacquireRWMutex")) {
        "sync.RWMutex"
    } else if any(&|f| f.contains("(*Mutex)") || f.contains("SemacquireMutex")) {
        "sync.Mutex"
    } else if any(&|f| f.contains("(*WaitGroup)") || f.contains("SemacquireWaitGroup")) {
        "sync.WaitGroup"
    } else if any(&|f| f.contains("(*Cond)") || f.contains("notifyListWait")) {
        "sync.Cond"
    } else if any(&|f| f.to_ascii_lowercase().contains("semacquire")) {
        "sync"
    } else {
        "waiting"
    }
}

/// Groups a goroutine or goroutineleak profile by stack. The count is the value of the one
/// sample type (`goroutine/count` or `goroutineleak/count`); with several sample types, the
/// one named `goroutine` or `goroutineleak` is used.
pub fn stack_groups(p: &Profile) -> Result<Vec<StackGroup>, PprofError> {
    let index = if p.sample_type.len() == 1 {
        0
    } else {
        match p.sample_type_index("goroutine")? {
            Some(i) => i,
            None => p
                .sample_type_index("goroutineleak")?
                .ok_or_else(|| PprofError::MissingSampleType("goroutine".into()))?,
        }
    };
    let sym = Symbolizer::new(p);
    let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
    for s in &p.sample {
        let n = s.value_at(index, "goroutine count")?;
        let frames = sym.frames(s)?;
        let c = counts.entry(frames).or_insert(0);
        *c = c.saturating_add(n);
    }
    let mut groups: Vec<StackGroup> = counts
        .into_iter()
        .map(|(frames, count)| StackGroup {
            count,
            wait: wait_reason(&frames).to_string(),
            site: blocking_site(&frames),
            frames,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.site.cmp(&b.site))
            .then_with(|| a.frames.cmp(&b.frames))
    });
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{synth, GOROUTINE, GOROUTINE_LEAK};
    use super::super::{decode, sample_total};
    use super::*;
    use prost::Message;

    fn group<'a>(groups: &'a [StackGroup], site: &str) -> Option<&'a StackGroup> {
        groups.iter().find(|g| g.site == site)
    }

    #[test]
    fn goroutine_profile_groups() {
        let p = decode(GOROUTINE).unwrap();
        assert_eq!(p.sample_type_names().unwrap(), vec!["goroutine"]);
        let g = stack_groups(&p).unwrap();
        let sender = group(&g, "main.blockedSender").unwrap();
        assert_eq!(sender.count, 7);
        assert_eq!(sender.wait, "chan send");
        assert_eq!(
            sender.frames[..4],
            [
                "runtime.gopark",
                "runtime.chansend",
                "runtime.chansend1",
                "main.blockedSender"
            ]
        );
        let recv = group(&g, "main.blockedReceiver").unwrap();
        assert_eq!((recv.count, recv.wait.as_str()), (3, "chan receive"));
        let sel = group(&g, "main.selectForever").unwrap();
        assert_eq!((sel.count, sel.wait.as_str()), (2, "select"));
        // The goroutine writing the profile.
        let me = group(&g, "runtime/pprof.writeRuntimeProfile").unwrap();
        assert_eq!((me.count, me.wait.as_str()), (1, "running"));
        assert!(me.frames.iter().any(|f| f == "main.main"));
        assert_eq!(g.len(), 4);
        // Sorted by count descending.
        let counts: Vec<u64> = g.iter().map(|g| g.count).collect();
        assert_eq!(counts, vec![7, 3, 2, 1]);
        assert_eq!(sample_total(&p, "goroutine"), Some(13));
        assert_eq!(sample_total(&p, "nope"), None);
    }

    #[test]
    fn goroutineleak_profile_lists_only_unreachable() {
        let p = decode(GOROUTINE_LEAK).unwrap();
        assert_eq!(p.sample_type_names().unwrap(), vec!["goroutineleak"]);
        let g = stack_groups(&p).unwrap();
        let sender = group(&g, "main.blockedSender").unwrap();
        assert_eq!((sender.count, sender.wait.as_str()), (7, "chan send"));
        // Receivers and selects block on channels held by globals: reachable, not leaked.
        assert!(group(&g, "main.blockedReceiver").is_none());
        assert!(group(&g, "main.selectForever").is_none());
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn inlined_frames_expand_and_identical_stacks_merge() {
        let stack = || {
            vec![
                vec!["runtime.gopark"],
                // main.sendResult inlined into main.worker: innermost first.
                vec!["runtime.chansend1", "main.sendResult", "main.worker"],
                vec!["runtime.goexit"],
            ]
        };
        let p = synth(&[(2, stack()), (5, stack())]);
        // Round-trip through the wire format, un-gzipped.
        let p = decode(&p.encode_to_vec()).unwrap();
        let g = stack_groups(&p).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].count, 7);
        assert_eq!(
            g[0].frames,
            [
                "runtime.gopark",
                "runtime.chansend1",
                "main.sendResult",
                "main.worker",
                "runtime.goexit"
            ]
        );
        assert_eq!(g[0].site, "main.sendResult");
    }

    #[test]
    fn bad_references_and_values_are_errors() {
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.sample[0].location_id.push(999);
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::MissingLocation(999))
        ));
        let p = synth(&[(-1, vec![vec!["main.f"]])]);
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::NegativeValue { .. })
        ));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.sample[0].value.clear();
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::MissingValue { .. })
        ));
    }

    fn classify(frames: &[&str]) -> (&'static str, String) {
        (wait_reason(frames), blocking_site(frames))
    }

    #[test]
    fn wait_reasons_and_sites() {
        let cases: &[(&[&str], &str, &str)] = &[
            (
                &[
                    "runtime.gopark",
                    "runtime.chansend",
                    "runtime.chansend1",
                    "main.sendResult",
                    "main.handle",
                    "runtime.goexit",
                ],
                "chan send",
                "main.sendResult",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.chanrecv",
                    "runtime.chanrecv2",
                    "main.loop",
                ],
                "chan receive",
                "main.loop",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.selectgo",
                    "context.(*cancelCtx).propagateCancel.func2",
                    "runtime.goexit",
                ],
                "select",
                "context.(*cancelCtx).propagateCancel.func2",
            ),
            (
                &["runtime.gopark", "runtime.block", "main.forever"],
                "select",
                "main.forever",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireWaitGroup",
                    "sync.(*WaitGroup).Wait",
                    "main.waitAll",
                ],
                "sync.WaitGroup",
                "main.waitAll",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "internal/sync.runtime_SemacquireMutex",
                    "internal/sync.(*Mutex).lockSlow",
                    "internal/sync.(*Mutex).Lock",
                    "sync.(*Mutex).Lock",
                    "main.(*store).put",
                ],
                "sync.Mutex",
                "main.(*store).put",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireRWMutexR",
                    "sync.(*RWMutex).RLock",
                    "main.get",
                ],
                "sync.RWMutex",
                "main.get",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.goparkunlock",
                    "sync.runtime_notifyListWait",
                    "sync.(*Cond).Wait",
                    "main.consumer",
                ],
                "sync.Cond",
                "main.consumer",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.netpollblock",
                    "internal/poll.runtime_pollWait",
                    "internal/poll.(*pollDesc).wait",
                    "internal/poll.(*FD).Read",
                    "net.(*netFD).Read",
                    "net.(*conn).Read",
                    "main.serve",
                ],
                "IO wait",
                "net.(*netFD).Read",
            ),
            (
                &["runtime.gopark", "time.Sleep", "main.poll"],
                "sleep",
                "main.poll",
            ),
            (
                &["runtime.gopark", "runtime.gcBgMarkWorker", "runtime.goexit"],
                "waiting",
                "runtime.gcBgMarkWorker",
            ),
            (
                &[
                    "runtime.goroutineProfileWithLabels",
                    "runtime/pprof.writeRuntimeProfile",
                    "main.main",
                    "runtime.main",
                ],
                "running",
                "runtime/pprof.writeRuntimeProfile",
            ),
            (
                &[
                    "internal/runtime/syscall.Syscall6",
                    "syscall.Syscall",
                    "syscall.read",
                    "os.(*File).Read",
                    "main.readAll",
                ],
                "syscall",
                "syscall.Syscall",
            ),
            (&["main.spin"], "running", "main.spin"),
            (&[], "running", "(unknown)"),
        ];
        for (frames, wait, site) in cases {
            assert_eq!(classify(frames), (*wait, site.to_string()), "{frames:?}");
        }
    }
}
