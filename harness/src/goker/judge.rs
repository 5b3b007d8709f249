//! The GoKer judgement of one detector on one recorded repetition: is its first alarm right
//! by the answers of Go's own test?
//!
//! Go's test describes a leaked goroutine as `<function>(<args>) [<wait reason>]`: the
//! goroutine's entry function (the frame above `created by`, `main.` dropped) and the runtime's
//! wait reason (`chan send`, `sync.Mutex.Lock`, ...). The goroutines an alarm blames are the
//! stack groups of the profile the detector watches, in the sample that raised the alarm,
//! whose blocking site is the alarm's site; each is described the same way ([`describe`]) and
//! matched against the case's expected regexes. Profiles carry frames, not the runtime's wait
//! reason, so the reason is read from the frames at the top of the stack: exact for sync
//! primitives and `select {}`, and for a channel operation both the plain and the `(nil chan)`
//! reason are tried, since the frames of the two are the same.
//!
//! Verdicts:
//! - **hit**: an alarm at or after the case started, on a case that leaks, blaming a goroutine
//!   that matches an expected regex (strict or flaky list), or blaming none (detectors that
//!   watch a count name no goroutine: `localized` is then unknown);
//! - **false alarm**: an alarm whose blamed goroutines match no expected regex, an alarm before
//!   the case started, or any alarm on a case that must not leak;
//! - **miss**: no alarm on a case that leaks (for a flaky case the leak may not have happened:
//!   flaky misses are reported, never counted against recall per repetition);
//! - **silent**: no alarm on a case that must not leak;
//! - **not judged**: the repetition did not produce a usable trace, or the detector never got
//!   its data after the case started (the case kept the program too busy to answer probes).
//!
//! Must not run processes or write files: traces in, [`Judgement`]s out.

use crate::evaluate::detect::{self, DetectorSpec, Params, Watched};
use crate::goker::cases::{Case, Kind};
use crate::goker::plan::Mode;
use crate::record::pprof;
use crate::sample::{Sample, StackGroup};
use crate::trace::Trace;
use regex::Regex;
use serde::Serialize;

/// A verdict (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Hit,
    FalseAlarm,
    Miss,
    Silent,
    NotJudged,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Hit => "hit",
            Verdict::FalseAlarm => "false-alarm",
            Verdict::Miss => "miss",
            Verdict::Silent => "silent",
            Verdict::NotJudged => "not-judged",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One case × mode × repetition × detector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub case: String,
    pub project: String,
    pub kind: Kind,
    pub mode: Mode,
    pub rep: u32,
    pub detector: String,
    pub verdict: Verdict,
    /// When the case started, seconds since spawn (the wrapper's measured onset).
    pub onset_s: Option<f64>,
    pub alarm_s: Option<f64>,
    /// Alarm − onset, hits only.
    pub latency_s: Option<f64>,
    /// The goroutines the alarm blamed, as Go's test describes them.
    pub blamed: Vec<String>,
    /// The expected regex one of them matched.
    pub matched: Option<String>,
    /// Whether the alarm named goroutines that matched; `None` when it named none.
    pub localized: Option<bool>,
    pub note: String,
}

/// Why a repetition left no trace to judge, if it did not: unfinished, or ended otherwise than
/// usably. Unlike the main matrix's scoring ([`crate::evaluate::score::unscorable`]), late samples alone do not
/// refuse a repetition: GoKer cases run as Go's test runs them, strict ones with
/// `GOMAXPROCS=1` and all without asynchronous preemption, so a case that computes for a while
/// holds the program's only P and the probe at its start answers up to a second late, in
/// nearly every repetition (measured: run-all's subset, 30 test-mode repetitions, every one had
/// one gap of 0.8–1.5 s at the case's start, a p99 gap past 2 intervals in 29). That lateness
/// is the program's, not the machine's; a detector that got no data at all after the case
/// started is not judged by [`judge_trace`]'s own rule.
fn unusable(t: &Trace) -> Option<String> {
    crate::evaluate::score::unfinished(t)
}

/// The detectors that judge goroutines: those watching the goroutine count or a goroutine
/// profile. (Heap, C memory and finalizer detectors watch what GoKer cases do not leak.)
pub fn goroutine_detectors() -> Vec<DetectorSpec> {
    detect::registry()
        .iter()
        .filter(|d| blamed_source(d.watches).is_some())
        .copied()
        .collect()
}

/// Where the goroutines a detector blames are listed in a sample, and whether their `wait` is
/// the runtime's own wait reason (goleak reads it from a stack dump's header) or one derived
/// from profile frames.
struct Source {
    groups: fn(&Sample) -> Option<&Vec<StackGroup>>,
    runtime_wait: bool,
}

fn blamed_source(w: Watched) -> Option<Source> {
    match w {
        Watched::GoroutineLeakProfile => Some(Source {
            groups: |s| s.goroutine_leak.as_ref(),
            runtime_wait: false,
        }),
        Watched::Goroutines => Some(Source {
            groups: |s| s.goroutines.as_ref(),
            runtime_wait: false,
        }),
        Watched::Goleak => Some(Source {
            groups: |s| s.goleak.as_ref(),
            runtime_wait: true,
        }),
        _ => None,
    }
}

/// The wait reasons Go's runtime may have printed for a goroutine parked with these frames
/// (innermost first); see the module doc.
pub fn wait_reasons<S: AsRef<str>>(frames: &[S]) -> Vec<String> {
    let top: Vec<&str> = frames
        .iter()
        .map(AsRef::as_ref)
        .take_while(|f| pprof::is_blocking_frame(f))
        .collect();
    let has = |name: &str| top.contains(&name);
    if has("runtime.block") {
        return vec!["select (no cases)".into()];
    }
    if has("runtime.selectgo") {
        return vec!["select".into()];
    }
    if has("runtime.chansend") {
        return vec!["chan send".into(), "chan send (nil chan)".into()];
    }
    if has("runtime.chanrecv") {
        return vec!["chan receive".into(), "chan receive (nil chan)".into()];
    }
    // sync.(*RWMutex).RLock → sync.RWMutex.RLock: the innermost method of a sync primitive is
    // what the runtime names (RWMutex.Lock waiting on its inner Mutex says sync.Mutex.Lock).
    if let Some(m) = top.iter().find_map(|f| {
        let rest = f.strip_prefix("sync.(*")?;
        let (ty, method) = rest.split_once(").")?;
        Some(format!("sync.{ty}.{method}"))
    }) {
        return vec![m];
    }
    vec![pprof::wait_reason(frames).to_string()]
}

/// The goroutine's entry function: the outermost frame but `runtime.goexit`, `main.` dropped,
/// as Go's test reads it from the line above `created by`.
pub fn entry_function<S: AsRef<str>>(frames: &[S]) -> String {
    let f = frames
        .iter()
        .rev()
        .map(AsRef::as_ref)
        .find(|f| *f != "runtime.goexit")
        .unwrap_or("(unknown)");
    f.strip_prefix("main.").unwrap_or(f).to_string()
}

/// A goroutine group as Go's test describes it, once per possible wait reason:
/// `Cockroach1055.func2(...) [chan receive]`. `runtime_wait`: the group's `wait` is the
/// runtime's own reason (from a stack dump), taken as it is.
pub fn describe(g: &StackGroup, runtime_wait: bool) -> Vec<String> {
    let f = entry_function(&g.frames);
    let reasons = if runtime_wait && !g.wait.is_empty() {
        vec![g.wait.clone()]
    } else {
        wait_reasons(&g.frames)
    };
    reasons
        .into_iter()
        .map(|r| format!("{f}(...) [{r}]"))
        .collect()
}

/// The case's expected regexes, compiled (validated when the cases were read).
pub struct Expected {
    regexes: Vec<(String, Regex)>,
}

impl Expected {
    pub fn of(c: &Case) -> Expected {
        Expected {
            regexes: c
                .all_leaks()
                .filter_map(|r| Some((r.clone(), Regex::new(r).ok()?)))
                .collect(),
        }
    }

    /// The first expected regex any description matches.
    pub fn matching<'a>(&'a self, descriptions: &[String]) -> Option<&'a str> {
        self.regexes
            .iter()
            .find(|(_, re)| descriptions.iter().any(|d| re.is_match(d)))
            .map(|(s, _)| s.as_str())
    }
}

/// Judges every detector in `specs` on one trace of `case` in `mode`.
pub fn judge_trace(t: &Trace, case: &Case, mode: Mode, specs: &[DetectorSpec]) -> Vec<Judgement> {
    let expected = Expected::of(case);
    specs
        .iter()
        .map(|spec| {
            let mut j = Judgement {
                case: case.name.clone(),
                project: case.project.clone(),
                kind: case.kind(),
                mode,
                rep: t.meta.rep,
                detector: spec.name.to_string(),
                verdict: Verdict::NotJudged,
                onset_s: t.onset_s(),
                alarm_s: None,
                latency_s: None,
                blamed: vec![],
                matched: None,
                localized: None,
                note: String::new(),
            };
            if let Some(why) = unusable(t) {
                j.note = why;
                return j;
            }
            // A detector that never got its data after the case started did not look: a
            // case can keep the program too busy to answer probes (Kubernetes58107 runs 10⁸
            // lock operations), which is not the detector's miss.
            let from = if case.no_leak { 0.0 } else { j.onset_s.unwrap_or(f64::INFINITY) };
            if !spec.watches.series(&t.samples).iter().any(|(ts, _)| *ts >= from) {
                j.note = format!(
                    "the program did not answer the probe of {} ({}) after the case started",
                    spec.name, spec.watches
                );
                return j;
            }
            let alarm = detect::first_alarm(
                spec,
                &Params::default(),
                &t.samples,
                t.meta.scenario.warmup_s,
            );
            j.alarm_s = alarm.as_ref().map(|a| a.t);
            let Some(a) = alarm else {
                j.verdict = if case.no_leak {
                    Verdict::Silent
                } else {
                    Verdict::Miss
                };
                return j;
            };
            if let (Some(site), Some(src)) = (&a.site, blamed_source(spec.watches)) {
                let groups = t
                    .samples
                    .iter()
                    .find(|s| s.t == a.t)
                    .and_then(|s| (src.groups)(s));
                let mut blamed: Vec<String> = blamed_groups(groups.map_or(&[][..], |g| g), site)
                    .iter()
                    .flat_map(|g| describe(g, src.runtime_wait))
                    .collect();
                blamed.sort();
                blamed.dedup();
                j.blamed = blamed;
                j.matched = expected.matching(&j.blamed).map(str::to_string);
                j.localized = Some(j.matched.is_some());
            }
            j.verdict = match (case.no_leak, j.onset_s) {
                (true, _) => {
                    j.note = "the case must report no leak".into();
                    Verdict::FalseAlarm
                }
                (false, None) => {
                    j.note = "no onset in the trace: the program never answered the truth probe after the case started".into();
                    Verdict::NotJudged
                }
                (false, Some(onset)) if a.t < onset => {
                    j.note = "alarm before the case started".into();
                    Verdict::FalseAlarm
                }
                (false, Some(onset)) => match j.localized {
                    Some(false) => {
                        j.note = "blames goroutines that match no expected leak".into();
                        Verdict::FalseAlarm
                    }
                    _ => {
                        j.latency_s = Some(a.t - onset);
                        if j.localized.is_none() {
                            j.note = "the detector names no goroutine".into();
                        }
                        Verdict::Hit
                    }
                },
            };
            j
        })
        .collect()
}

/// The groups blamed by a site: those whose blocking site it is; failing that, those with it
/// anywhere in their stack.
fn blamed_groups<'a>(groups: &'a [StackGroup], site: &str) -> Vec<&'a StackGroup> {
    let exact: Vec<&StackGroup> = groups.iter().filter(|g| g.site == site).collect();
    if !exact.is_empty() {
        return exact;
    }
    groups
        .iter()
        .filter(|g| g.frames.iter().any(|f| f == site))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(frames: &[&str]) -> StackGroup {
        let frames: Vec<String> = frames.iter().map(|s| s.to_string()).collect();
        StackGroup {
            count: 1,
            wait: pprof::wait_reason(&frames).to_string(),
            site: pprof::blocking_site(&frames),
            frames,
        }
    }

    /// A goroutine of cockroach7504 as the goroutineleak profile gave it (Go 1.26.8).
    fn mutex_group() -> StackGroup {
        group(&[
            "runtime.gopark",
            "runtime.goparkunlock",
            "runtime.semacquire1",
            "internal/sync.runtime_SemacquireMutex",
            "internal/sync.(*Mutex).lockSlow",
            "internal/sync.(*Mutex).Lock",
            "sync.(*Mutex).Lock",
            "main.(*tableNameCache_cockroach7504).get",
            "main.(*LeaseManager_cockroach7504).AcquireByName",
            "main.Cockroach7504.func2.1",
            "runtime.goexit",
        ])
    }

    #[test]
    fn describes_goroutines_as_gos_test_does() {
        assert_eq!(
            describe(&mutex_group(), false),
            vec!["Cockroach7504.func2.1(...) [sync.Mutex.Lock]"]
        );
        let rw = group(&[
            "runtime.gopark",
            "sync.runtime_SemacquireRWMutexR",
            "sync.(*RWMutex).RLock",
            "main.(*Executor_x).Start",
            "runtime.goexit",
        ]);
        assert_eq!(
            describe(&rw, false),
            vec!["(*Executor_x).Start(...) [sync.RWMutex.RLock]"]
        );
        let nil_recv = group(&[
            "runtime.gopark",
            "runtime.chanrecv",
            "runtime.chanrecv1",
            "main.NilRecv.func1",
            "runtime.goexit",
        ]);
        let d = describe(&nil_recv, false);
        assert_eq!(d.len(), 2);
        let re = Regex::new(r"NilRecv\.func1\(.* \[chan receive \(nil chan\)\]").unwrap();
        assert!(d.iter().any(|s| re.is_match(s)), "{d:?}");
        let block = group(&[
            "runtime.gopark",
            "runtime.block",
            "main.S.func1",
            "runtime.goexit",
        ]);
        assert_eq!(
            describe(&block, false),
            vec!["S.func1(...) [select (no cases)]"]
        );
        // From goleak: a stack dump's frames (no runtime ones) and the runtime's own reason.
        let dumped = StackGroup {
            count: 1,
            wait: "chan receive (nil chan)".into(),
            site: "main.NilRecv.func1".into(),
            frames: vec!["main.NilRecv.func1".into()],
        };
        assert_eq!(
            describe(&dumped, true),
            vec!["NilRecv.func1(...) [chan receive (nil chan)]"]
        );
    }

    #[test]
    fn blamed_groups_prefer_the_blocking_site() {
        let g = mutex_group();
        let other = group(&[
            "runtime.gopark",
            "runtime.chanrecv",
            "main.x",
            "runtime.goexit",
        ]);
        let gs = [g.clone(), other];
        assert_eq!(
            blamed_groups(&gs, "main.(*tableNameCache_cockroach7504).get").len(),
            1
        );
        assert_eq!(blamed_groups(&gs, "main.Cockroach7504.func2.1").len(), 1);
        assert!(blamed_groups(&gs, "main.nowhere").is_empty());
    }

    /// A trace of a case that starts at 1 s; from `leak_from_s` the goroutineleak profile holds
    /// `group`. Samples every 0.5 s to 5 s; `answered_until_s` bounds the samples that have a
    /// profile at all (later ones lost it, as from a program too busy to answer).
    fn trace(group: &StackGroup, leak_from_s: f64, answered_until_s: f64) -> Trace {
        use crate::sample::Truth;
        use crate::trace::{EndStatus, RepEnd};
        let samples = (1..=10)
            .map(|i| {
                let t = i as f64 * 0.5;
                let answered = t <= answered_until_s;
                Sample {
                    t,
                    truth: answered.then(|| Truth {
                        onset_s: (t >= 1.0).then_some(1.0),
                        units: 1,
                        site: String::new(),
                    }),
                    goroutine_leak: answered.then(|| {
                        if t >= leak_from_s {
                            vec![group.clone()]
                        } else {
                            vec![]
                        }
                    }),
                    ..Default::default()
                }
            })
            .collect();
        Trace {
            dir: "t".into(),
            meta: crate::trace::tests::meta(),
            end: Some(RepEnd {
                status: EndStatus::Completed,
                reason: String::new(),
                samples: 10,
                ended_s: 5.0,
                fidelity: None,
            }),
            samples,
        }
    }

    #[test]
    fn verdicts_follow_gos_answers() {
        let spec = [*detect::by_name("goroutineleak-profile").unwrap()];
        let mut c =
            crate::goker::plan::tests::case("Cockroach7504", "cockroach", Kind::Strict, true);
        c.expected = vec![r"Cockroach7504\.func2\.1.* \[sync\.Mutex\.Lock\]".into()];
        let judge = |t: &Trace, c: &Case| judge_trace(t, c, Mode::Test, &spec).remove(0);
        let hit = judge(&trace(&mutex_group(), 1.5, 9.0), &c);
        assert_eq!(hit.verdict, Verdict::Hit, "{hit:?}");
        assert_eq!((hit.alarm_s, hit.latency_s), (Some(1.5), Some(0.5)));
        assert_eq!(hit.matched.as_deref(), Some(c.expected[0].as_str()));
        assert_eq!(
            hit.blamed,
            vec!["Cockroach7504.func2.1(...) [sync.Mutex.Lock]"]
        );

        let other = group(&[
            "runtime.gopark",
            "runtime.chanrecv",
            "main.x.func1",
            "runtime.goexit",
        ]);
        let wrong = judge(&trace(&other, 1.5, 9.0), &c);
        assert_eq!(
            (wrong.verdict, wrong.localized),
            (Verdict::FalseAlarm, Some(false))
        );
        let early = judge(&trace(&mutex_group(), 0.5, 9.0), &c);
        assert_eq!(
            early.verdict,
            Verdict::FalseAlarm,
            "alarm before the case started"
        );
        let quiet = judge(&trace(&mutex_group(), 99.0, 9.0), &c);
        assert_eq!(quiet.verdict, Verdict::Miss);
        // One probe a second late at the case's start (the case held the program's only P):
        // a p99 gap past the main matrix's limit, still judged here.
        let mut late = trace(&mutex_group(), 1.5, 9.0);
        late.samples.remove(2);
        assert!(crate::fidelity::of_trace(&late).too_late().is_some());
        assert_eq!(judge(&late, &c).verdict, Verdict::Hit);
        let mut crashed = trace(&mutex_group(), 1.5, 9.0);
        crashed.end.as_mut().unwrap().status = crate::trace::EndStatus::NotReady;
        assert_eq!(judge(&crashed, &c).verdict, Verdict::NotJudged);
        let blind = judge(&trace(&mutex_group(), 1.5, 0.9), &c);
        assert_eq!(
            blind.verdict,
            Verdict::NotJudged,
            "no profile after the start: {blind:?}"
        );

        c.expected.clear();
        c.no_leak = true;
        assert_eq!(
            judge(&trace(&mutex_group(), 1.5, 9.0), &c).verdict,
            Verdict::FalseAlarm
        );
        assert_eq!(
            judge(&trace(&mutex_group(), 99.0, 9.0), &c).verdict,
            Verdict::Silent
        );
    }

    #[test]
    fn the_goroutine_detectors_are_those_that_can_blame_goroutines() {
        let names: Vec<&str> = goroutine_detectors().iter().map(|d| d.name).collect();
        assert!(names.contains(&"goroutineleak-profile") && names.contains(&"stack-growth"));
        assert!(names.contains(&"goleak"));
        assert!(!names.contains(&"c-gap") && !names.contains(&"deriv-heap"));
    }
}
