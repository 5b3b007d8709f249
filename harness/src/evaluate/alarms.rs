//! Alarms without verdicts: which detectors would have fired on a live recording, and when.
//!
//! A service recorded live ([`crate::trace::Recording`]) has no ground truth: nobody declared
//! whether it leaks, nor since when. So nothing here is judged: no TP or FP, no recall, no
//! latency, no oracle bound. Each detector is fed the recording's samples exactly as
//! [`crate::evaluate::replay`] feeds a scenario's (built-in ones through
//! [`detect::first_alarm`], external ones through their process), and says one of three
//! things ([`Firing`]): its first alarm, silence, or not applicable (it watches a scalar the
//! recording does not hold: the service does not serve its probe, so its silence says
//! nothing). [`replay_live`] writes them to `alarms.csv`, which the live report draws.
//!
//! Owns these rows and `alarms.csv`'s format. Must not sample processes, score, or draw.

use crate::evaluate::detect::external::{self, protocol::Hello};
use crate::evaluate::detect::{self, Alarm, DetectorSet, Gate, Params, Watched};
use crate::fsio;
use crate::run_dir::{RunDir, ALARMS_CSV};
use crate::trace::{self, Recording};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What one detector did on one recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Firing {
    /// Its first alarm.
    Fired(Alarm),
    /// It saw its scalar and stayed silent.
    Silent,
    /// It could not say: the scalar it watches is absent from the recording, or (an external
    /// detector) it misbehaved. Why, in one line.
    NotApplicable(String),
}

impl Firing {
    /// `fired`, `silent` or `not-applicable`: the `state` column of `alarms.csv`.
    pub fn state(&self) -> &'static str {
        match self {
            Firing::Fired(_) => "fired",
            Firing::Silent => "silent",
            Firing::NotApplicable(_) => "not-applicable",
        }
    }
}

/// One recording × detector.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRow {
    /// The recording's name.
    pub recording: String,
    pub rep: u32,
    pub detector: String,
    /// The scalar it watches.
    pub watches: Watched,
    pub firing: Firing,
}

/// Every detector of `set` on `rec`, built-in ones first, in the set's order.
pub fn first_alarms(rec: &Recording, set: &DetectorSet, params: &Params) -> Vec<AlarmRow> {
    let warmup_s = rec.meta.warmup_s;
    let row = |detector: &str, watches: Watched, alarm: Option<Alarm>| AlarmRow {
        recording: rec.meta.name.clone(),
        rep: rec.meta.rep,
        detector: detector.to_string(),
        watches,
        firing: match alarm {
            Some(a) => Firing::Fired(a),
            None => match absent(rec, watches) {
                Some(why) => Firing::NotApplicable(why),
                None => Firing::Silent,
            },
        },
    };
    let mut rows: Vec<AlarmRow> = set
        .builtin
        .iter()
        .map(|spec| {
            let alarm = detect::first_alarm(spec, params, &rec.samples, warmup_s);
            row(spec.name, spec.watches, alarm)
        })
        .collect();
    for ext in &set.external {
        let hello = Hello::new(&ext.name, warmup_s, rec.meta.interval_s, &ext.limits);
        let mut gate = Gate::new(warmup_s);
        let verdict =
            external::session::run(ext, &hello, rec.samples.iter().filter(|s| gate.admits(s.t)));
        rows.push(match verdict {
            Ok(alarm) => row(&ext.name, ext.watches, alarm),
            Err(fault) => AlarmRow {
                firing: Firing::NotApplicable(format!("detector fault: {fault}")),
                ..row(&ext.name, ext.watches, None)
            },
        });
    }
    rows
}

/// Why a silent detector says nothing here, if it does not: its scalar is in no sample it was
/// shown (the rule [`crate::evaluate::score::watched_absent`] states for scored traces).
fn absent(rec: &Recording, watched: Watched) -> Option<String> {
    if crate::evaluate::score::watched_seen(&rec.samples, rec.meta.warmup_s, watched) {
        return None;
    }
    Some(if watched == Watched::Goleak && !rec.meta.probes.goleak {
        "goleak is not asked of a live service (leakbench's kit serves it; each verdict stops the world)".to_string()
    } else {
        format!("no {watched} data in this recording (the service does not serve it)")
    })
}

/// A row of `alarms.csv`: times in seconds since the recording started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmRecord {
    pub recording: String,
    pub rep: u32,
    pub detector: String,
    pub watches: String,
    /// `fired`, `silent` or `not-applicable`.
    pub state: String,
    pub alarm_s: Option<f64>,
    /// What it saw grow (an observable), if it says.
    pub grew: Option<String>,
    pub site: Option<String>,
    pub confidence: Option<f64>,
    /// The alarm's own line, or why the detector is not applicable.
    pub detail: String,
}

impl From<&AlarmRow> for AlarmRecord {
    fn from(r: &AlarmRow) -> Self {
        let alarm = match &r.firing {
            Firing::Fired(a) => Some(a),
            _ => None,
        };
        AlarmRecord {
            recording: r.recording.clone(),
            rep: r.rep,
            detector: r.detector.clone(),
            watches: r.watches.to_string(),
            state: r.firing.state().to_string(),
            alarm_s: alarm.map(|a| a.t),
            grew: alarm.and_then(|a| a.grew).map(|g| g.as_str().to_string()),
            site: alarm.and_then(|a| a.site.clone()),
            confidence: alarm.map(|a| a.confidence),
            detail: match &r.firing {
                Firing::Fired(a) => a.detail.clone(),
                Firing::Silent => String::new(),
                Firing::NotApplicable(why) => why.clone(),
            },
        }
    }
}

/// `alarms.csv`'s bytes: a header, then one row per recording × detector.
pub fn to_csv(rows: &[AlarmRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(AlarmRecord::from(r))
            .expect("a record serializes into memory");
    }
    w.into_inner().expect("an in-memory writer flushes")
}

/// Reads `alarms.csv` back (for the report).
pub fn parse_csv(text: &str) -> Result<Vec<AlarmRecord>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

/// What [`replay_live`] did.
#[derive(Debug, Clone)]
pub struct LiveReplay {
    pub recordings: Vec<Recording>,
    pub rows: Vec<AlarmRow>,
    pub written: PathBuf,
}

/// Loads every live recording of `run_dir`, runs every detector of `set` over each (default
/// parameters) and writes `alarms.csv` into it. Nothing else is written: there is nothing to
/// score.
pub fn replay_live(run_dir: &Path, set: &DetectorSet) -> anyhow::Result<LiveReplay> {
    let recordings = trace::load_recordings(run_dir).with_context(|| {
        format!(
            "could not load the live recordings of '{}'",
            run_dir.display()
        )
    })?;
    if recordings.is_empty() {
        anyhow::bail!(
            "no recordings under '{}' (fix: point at a directory written by `leakbench record`)",
            RunDir::new(run_dir).traces_dir().display()
        );
    }
    let params = Params::default();
    let rows: Vec<AlarmRow> = recordings
        .iter()
        .flat_map(|r| first_alarms(r, set, &params))
        .collect();
    let path = RunDir::new(run_dir).alarms_csv();
    fsio::write_atomic(&path, &to_csv(&rows))
        .with_context(|| format!("could not write {ALARMS_CSV}"))?;
    Ok(LiveReplay {
        recordings,
        rows,
        written: path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::probe::ProbeSet;
    use crate::run_dir::TRACE_FORMAT;
    use crate::sample::{metric, Sample, StackGroup};
    use crate::trace::{EndStatus, LiveMeta, LiveSource, TraceWriter};
    use std::collections::BTreeMap;

    /// A live recording of 60 samples at 0.5 s: goroutines (count and profile) growing by 10
    /// a second in `main.block` from 10 s on, no heap, no RSS.
    fn write_recording(run: &Path) {
        let meta = LiveMeta {
            format: TRACE_FORMAT,
            harness_version: "test".into(),
            live: LiveSource {
                url: "http://127.0.0.1:6060".into(),
                addr: "127.0.0.1:6060".into(),
                pid: None,
            },
            name: "live".into(),
            rep: 0,
            started: "2026-01-01T00:00:00Z".into(),
            interval_s: 0.5,
            duration_s: 30.0,
            warmup_s: 0.0,
            probes: ProbeSet::default(),
        };
        let mut w = TraceWriter::create_live(&RunDir::new(run).rep("live", 0), &meta).unwrap();
        for i in 0..60 {
            let t = i as f64 * 0.5;
            let leaked = if t >= 10.0 {
                ((t - 10.0) * 10.0) as u64
            } else {
                0
            };
            let mut groups = vec![StackGroup {
                count: 5,
                wait: "IO wait".into(),
                site: "net/http.(*conn).serve".into(),
                frames: vec![],
            }];
            if leaked > 0 {
                groups.push(StackGroup {
                    count: leaked,
                    wait: "chan send".into(),
                    site: "main.block".into(),
                    frames: vec![],
                });
            }
            let mut m = BTreeMap::new();
            m.insert(metric::GOROUTINES.to_string(), (5 + leaked) as f64);
            w.append(&Sample {
                t,
                metrics: Some(m),
                goroutines: Some(groups),
                ..Default::default()
            })
            .unwrap();
        }
        w.finish(EndStatus::Completed, "recorded 30.0 s", 30.0)
            .unwrap();
    }

    #[test]
    fn a_recording_shows_who_fired_when_and_who_could_not_say() {
        let dir = tempfile::tempdir().unwrap();
        write_recording(dir.path());
        let r = replay_live(dir.path(), &DetectorSet::registry()).unwrap();
        assert_eq!(r.rows.len(), detect::registry().len());
        let by = |name: &str| r.rows.iter().find(|x| x.detector == name).unwrap();
        // The stack groups grow at main.block from 10 s: stack-growth fires after that, there.
        match &by("stack-growth").firing {
            Firing::Fired(a) => {
                assert!(a.t >= 10.0, "{a:?}");
                assert_eq!(a.site.as_deref(), Some("main.block"));
            }
            other => panic!("{other:?}"),
        }
        // No heap, RSS or goleak data in the recording: those detectors cannot say.
        for name in ["deriv-heap", "c-gap", "goleak"] {
            match &by(name).firing {
                Firing::NotApplicable(why) => assert!(why.starts_with("no "), "{why}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let text = std::fs::read_to_string(&r.written).unwrap();
        let back = parse_csv(&text).unwrap();
        assert_eq!(back.len(), r.rows.len());
        let sg = back.iter().find(|x| x.detector == "stack-growth").unwrap();
        assert_eq!(
            (sg.state.as_str(), sg.site.as_deref()),
            ("fired", Some("main.block"))
        );
        // Nothing is scored: no scores.csv, no summary.
        assert!(!RunDir::new(dir.path()).scores_csv().exists());
        assert!(!RunDir::new(dir.path()).summary_json().exists());
        // And the scoring side cannot load it as a trace.
        let e = trace::load_run(dir.path()).unwrap_err();
        assert!(matches!(e, trace::TraceError::NoTruth { .. }), "{e}");
        assert!(e.to_string().contains("no ground truth"), "{e}");
    }

    #[test]
    fn a_directory_without_recordings_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = replay_live(dir.path(), &DetectorSet::registry()).unwrap_err();
        assert!(
            format!("{e:#}").contains(&dir.path().display().to_string()),
            "{e:#}"
        );
    }
}
