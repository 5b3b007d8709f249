//! The results table a command prints when it has scored a run (`run`, `run-all`, `replay`),
//! as hyperfine and criterion print theirs: one line per detector, the figures a reader
//! compares first. The full detail is in the files it names. A live recording, which has no
//! scores, gets the table of first alarms instead ([`alarms`]).
//!
//! Owns which columns the terminal shows and how they are spelled. Must not compute scores
//! (it reads a [`Summary`]) nor print (callers do).

use crate::evaluate::alarms::{AlarmRecord, AlarmRow};
use crate::evaluate::score::{Aggregate, Summary};
use crate::table::Table;

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.0}%", 100.0 * x))
}

fn secs(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.1} s"))
}

/// Leaking repetitions judged for this aggregate (caught, missed, or alarmed before onset).
fn leaking(a: &Aggregate) -> usize {
    a.tp + a.fn_ + a.fp_early
}

/// Non-leaking repetitions judged (false alarm or silent).
fn clean(a: &Aggregate) -> usize {
    a.fp - a.fp_early + a.tn
}

/// One row per detector: leaks caught (k/n, recall), false alarms on non-leaking
/// repetitions (k/n, rate), precision, median and p90 latency, rows not judged.
pub fn results(summary: &Summary) -> Table {
    let mut t = Table::new([
        "detector",
        "caught",
        "recall",
        "false alarms",
        "FA rate",
        "precision",
        "latency p50",
        "p90",
        "not judged",
    ])
    .right_aligned(&[false, true, true, true, true, true, true, true, true]);
    for a in &summary.by_detector {
        t.push(vec![
            a.detector.clone(),
            format!("{}/{}", a.tp, leaking(a)),
            pct(a.recall),
            format!("{}/{}", a.fp - a.fp_early, clean(a)),
            pct(a.false_alarm_rate),
            pct(a.precision),
            secs(a.latency_median_s),
            secs(a.latency_p90_s),
            a.na.to_string(),
        ]);
    }
    t
}

/// One row per recording × detector: when it first fired (seconds since the recording
/// started), what grew and where, or that it stayed silent, or why it cannot say. Fired
/// first, by time.
pub fn alarms(rows: &[AlarmRow]) -> Table {
    let mut recs: Vec<AlarmRecord> = rows.iter().map(AlarmRecord::from).collect();
    let order = |r: &AlarmRecord| match r.state.as_str() {
        "fired" => 0,
        "silent" => 1,
        _ => 2,
    };
    recs.sort_by(|a, b| {
        (a.recording.as_str(), a.rep, order(a))
            .cmp(&(b.recording.as_str(), b.rep, order(b)))
            .then(
                a.alarm_s
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.alarm_s.unwrap_or(f64::INFINITY)),
            )
    });
    let several = recs
        .iter()
        .any(|r| (&r.recording, r.rep) != (&recs[0].recording, recs[0].rep));
    let mut t = Table::new(["detector", "first alarm", "grew", "site", "detail"])
        .right_aligned(&[false, true]);
    for r in recs {
        let name = if several {
            format!("{} {}/{}", r.detector, r.recording, r.rep)
        } else {
            r.detector
        };
        t.push(vec![
            name,
            match r.state.as_str() {
                "fired" => secs(r.alarm_s),
                "silent" => "silent".into(),
                _ => "n/a".into(),
            },
            r.grew.unwrap_or_else(|| "–".into()),
            r.site.unwrap_or_else(|| "–".into()),
            r.detail,
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score;

    #[test]
    fn one_line_per_detector_with_counts_that_add_up() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/replay/run");
        let traces = crate::trace::load_run(&dir).unwrap();
        let rows = crate::evaluate::replay::score_traces(
            &traces,
            crate::evaluate::detect::registry(),
            &crate::evaluate::detect::Params::default(),
        );
        let summary = score::summarize(&rows);
        let t = results(&summary);
        assert_eq!(t.rows.len(), summary.by_detector.len());
        for (row, a) in t.rows.iter().zip(&summary.by_detector) {
            assert_eq!(row[0], a.detector);
            // Every judged row is in exactly one of the two denominators.
            assert_eq!(leaking(a) + clean(a) + a.na, a.rows, "{}", a.detector);
        }
        let text = t.text();
        assert!(
            text.lines().count() == summary.by_detector.len() + 2,
            "{text}"
        );
    }
}
