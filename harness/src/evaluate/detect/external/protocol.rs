//! The wire of the detector protocol, version [`super::PROTOCOL_VERSION`]: the lines the
//! harness writes ([`hello_line`], [`sample_line`]) and the one answer line it reads per
//! sample ([`read_answer`]). JSON lines, UTF-8, each ending in `\n`:
//!
//! ```text
//! harness → detector  {"hello":{"protocol":"leakbench-detector","version":1,"detector":"leakprof",
//!                       "warmup_s":2.0,"interval_s":0.5,"limits":{...}}}
//! harness → detector  {"t":2.04,"metrics":{...},"goroutines":[...],...}     one Sample
//! detector → harness  {}                                                  nothing seen
//! harness → detector  {"t":2.54,...}
//! detector → harness  {"alarm":{"t_s":2.54,"site":"main.f","grew":"goroutines",
//!                       "confidence":0.9,"detail":"why, in one line"}}
//! ```
//!
//! A sample is the trace schema ([`crate::sample::Sample`]) exactly as `trace.jsonl` holds it,
//! but for `truth`: the fixture's own ground truth is the answer key, and a detector must
//! not see it.
//!
//! **The time rule.** An alarm is raised at the sample it answers: `t_s` must be that
//! sample's `t` (to within [`T_TOLERANCE_S`], for languages that print fewer digits), and the
//! alarm is recorded at exactly that `t`. Earlier is "time goes backwards" (a detector cannot
//! have known before it was shown the sample); later is "not the sample's time". Both are
//! faults, as are unknown fields, an unknown `grew` and a confidence outside `0..=1`: a
//! strict protocol turns a typo into a reason instead of a silently different score.
//!
//! Owns these shapes and the checks on an answer. Must not start processes or time anything
//! (that is [`super::session`]).

use super::{FaultKind, Limits, MAX_LINE_BYTES, MAX_STDOUT_BYTES, PROTOCOL_VERSION};
use crate::evaluate::detect::Alarm;
use crate::leak_class::Observable;
use crate::sample::Sample;
use serde::{Deserialize, Serialize};

/// The `protocol` field of the hello line.
pub const PROTOCOL_NAME: &str = "leakbench-detector";

/// How far `t_s` may be from the sample's `t` and still be that sample's time: a
/// microsecond, far below any sampling interval, far above float printing error.
pub const T_TOLERANCE_S: f64 = 1e-6;

/// The first line a detector reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hello {
    pub protocol: &'static str,
    pub version: u32,
    /// The detector's name, as declared.
    pub detector: String,
    /// Samples before this time (seconds since spawn) are not sent.
    pub warmup_s: f64,
    /// The trace's sampling interval, seconds.
    pub interval_s: f64,
    pub limits: HelloLimits,
}

/// The limits the detector runs under, so it can tell what a fault will be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelloLimits {
    pub sample_timeout_s: f64,
    pub trace_timeout_s: f64,
    pub max_line_bytes: usize,
    pub max_stdout_bytes: u64,
}

#[derive(Serialize)]
struct HelloLine<'a> {
    hello: &'a Hello,
}

impl Hello {
    pub fn new(detector: &str, warmup_s: f64, interval_s: f64, limits: &Limits) -> Self {
        Hello {
            protocol: PROTOCOL_NAME,
            version: PROTOCOL_VERSION,
            detector: detector.to_string(),
            warmup_s,
            interval_s,
            limits: HelloLimits {
                sample_timeout_s: limits.sample.as_secs_f64(),
                trace_timeout_s: limits.trace.as_secs_f64(),
                max_line_bytes: MAX_LINE_BYTES,
                max_stdout_bytes: MAX_STDOUT_BYTES,
            },
        }
    }
}

/// `{"hello":{...}}\n`.
pub fn hello_line(h: &Hello) -> Vec<u8> {
    line(&HelloLine { hello: h })
}

/// The sample as `trace.jsonl` holds it, without `truth`, and a newline.
pub fn sample_line(s: &Sample) -> Vec<u8> {
    if s.truth.is_none() {
        return line(s);
    }
    line(&Sample {
        truth: None,
        ..s.clone()
    })
}

fn line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).expect("plain data serializes");
    out.push(b'\n');
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    #[serde(default)]
    alarm: Option<AlarmAnswer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlarmAnswer {
    t_s: f64,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    grew: Option<String>,
    confidence: f64,
    #[serde(default)]
    detail: String,
}

/// Reads the answer `line` (without its newline) to the sample at `t`: `Ok(None)` for `{}`,
/// the alarm (at exactly `t`) for `{"alarm":{...}}`, or what is wrong with it.
pub fn read_answer(line: &str, t: f64) -> Result<Option<Alarm>, FaultKind> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| FaultKind::InvalidJson {
            t,
            error: e.to_string(),
            line: excerpt(line),
        })?;
    if !value.is_object() {
        return Err(FaultKind::BadAnswer {
            t,
            problem: format!("the answer is not a JSON object: `{}`", excerpt(line)),
        });
    }
    let answer: Answer = serde_json::from_value(value).map_err(|e| FaultKind::BadAnswer {
        t,
        problem: e.to_string(),
    })?;
    let Some(a) = answer.alarm else {
        return Ok(None);
    };
    if a.t_s < t - T_TOLERANCE_S {
        return Err(FaultKind::Backwards { t, t_s: a.t_s });
    }
    if a.t_s > t + T_TOLERANCE_S {
        return Err(FaultKind::NotSampleTime { t, t_s: a.t_s });
    }
    if !(0.0..=1.0).contains(&a.confidence) {
        return Err(FaultKind::BadAnswer {
            t,
            problem: format!("confidence {} is outside 0..=1", a.confidence),
        });
    }
    let grew = match a.grew.as_deref() {
        None => None,
        Some(c) => Some(Observable::parse(c).ok_or_else(|| FaultKind::BadAnswer {
            t,
            problem: format!(
                "unknown `grew` value `{}` (one of {}, or null)",
                excerpt(c),
                Observable::ALL.map(|c| c.as_str()).join(", ")
            ),
        })?),
    };
    Ok(Some(Alarm {
        t,
        grew,
        site: a.site.filter(|s| !s.is_empty()),
        confidence: a.confidence,
        detail: a.detail,
    }))
}

/// At most 80 characters of what a detector wrote, on one line, for a reason.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= MAX {
        flat
    } else {
        format!("{}…", flat.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Truth;
    use std::time::Duration;

    #[test]
    fn the_hello_line_names_the_protocol_version_warmup_and_limits() {
        let limits = Limits {
            sample: Duration::from_millis(1500),
            trace: Duration::from_secs(60),
        };
        let h = hello_line(&Hello::new("d", 2.0, 0.5, &limits));
        assert_eq!(*h.last().unwrap(), b'\n');
        let v: serde_json::Value = serde_json::from_slice(&h).unwrap();
        let h = &v["hello"];
        assert_eq!(h["protocol"], "leakbench-detector");
        assert_eq!(h["version"], PROTOCOL_VERSION);
        assert_eq!(
            (h["warmup_s"].as_f64(), h["interval_s"].as_f64()),
            (Some(2.0), Some(0.5))
        );
        assert_eq!(h["limits"]["sample_timeout_s"].as_f64(), Some(1.5));
        assert_eq!(
            h["limits"]["max_line_bytes"].as_u64(),
            Some(MAX_LINE_BYTES as u64)
        );
    }

    #[test]
    fn a_sample_is_sent_as_the_trace_holds_it_without_the_truth() {
        let s = Sample {
            t: 3.25,
            truth: Some(Truth {
                onset_s: Some(1.0),
                units: 4,
                site: "main.f".into(),
            }),
            ..Default::default()
        };
        let line = sample_line(&s);
        assert!(!String::from_utf8_lossy(&line).contains("truth"));
        let back: Sample = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            back,
            Sample {
                truth: None,
                ..s.clone()
            }
        );
        let without = Sample { truth: None, ..s };
        let mut want = serde_json::to_vec(&without).unwrap();
        want.push(b'\n');
        assert_eq!(sample_line(&without), want);
    }

    #[test]
    fn answers_nothing_or_an_alarm_at_the_samples_time() {
        assert_eq!(read_answer("{}", 2.5), Ok(None));
        assert_eq!(read_answer(r#"{"alarm":null}"#, 2.5), Ok(None));
        let a = read_answer(
            r#"{"alarm":{"t_s":2.5000001,"site":"main.f","grew":"goroutines","confidence":0.75,"detail":"x"}}"#,
            2.5,
        )
        .unwrap()
        .unwrap();
        assert_eq!(a.t, 2.5, "recorded at the sample's own time");
        assert_eq!(a.grew, Some(Observable::Goroutines));
        assert_eq!(a.site.as_deref(), Some("main.f"));
        assert_eq!((a.confidence, a.detail.as_str()), (0.75, "x"));
        let bare = read_answer(r#"{"alarm":{"t_s":2.5,"confidence":1,"site":""}}"#, 2.5)
            .unwrap()
            .unwrap();
        assert_eq!((bare.grew, bare.site), (None, None));
    }

    #[test]
    fn a_broken_answer_is_a_fault_saying_what_broke() {
        let t = 4.0;
        let cases: &[(&str, &str)] = &[
            ("not json", "invalid JSON"),
            ("{\"alarm\":", "invalid JSON"),
            (
                r#"{"alarm":{"t_s":3.0,"confidence":1}}"#,
                "time went backwards",
            ),
            (
                r#"{"alarm":{"t_s":9.0,"confidence":1}}"#,
                "not the sample's time",
            ),
            (r#"{"alarm":{"t_s":4.0,"confidence":1.5}}"#, "outside 0..=1"),
            (
                r#"{"alarm":{"t_s":4.0,"confidence":1,"grew":"heap"}}"#,
                "unknown `grew` value `heap`",
            ),
            (r#"{"alarm":{"t_s":4.0}}"#, "missing field `confidence`"),
            (
                r#"{"alarm":{"t_s":4.0,"confidence":1,"clas":"map"}}"#,
                "unknown field `clas`",
            ),
            (r#"{"alert":{}}"#, "unknown field `alert`"),
            ("[]", "not a JSON object"),
            ("3", "not a JSON object"),
        ];
        for (line, want) in cases {
            let e = read_answer(line, t).unwrap_err().to_string();
            assert!(e.contains(want), "{line}: {e}");
            assert!(e.contains("t=4.000"), "{line}: {e}");
        }
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("a\nb"), "a b");
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
