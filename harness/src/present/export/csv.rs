//! `scores.csv`: one row per scenario × detector × repetition.
//!
//! Columns, in order (the first twelve are the stable interface; later ones may be added):
//! `scenario,class,leaking,detector,rep,outcome,onset_s,alarm_s,latency_s,oracle_s,site,site_ok,`
//! `role,class_ok,alarm_class,confidence,timely,note`. Times in seconds with 3 decimals,
//! confidence with 3; booleans `true`/`false`; not applicable is the empty field. `class` is
//! the scenario's (its cause, free text); `alarm_class` is what the alarm saw grow (an
//! observable: `goroutines`, `go-heap`, `c-memory`, `finalizer-queue`), and `class_ok` says
//! whether the scenario grows it.
//!
//! A run that sweeps axes ([`crate::axes`]) has one more column per axis swept, after
//! `note`, named as the axis (`go`, `GOGC`, `GOMEMLIMIT`, `GOMAXPROCS`), holding the row's
//! value; a run without axes has none, so its file is as it always was.

use super::fixed;
use crate::evaluate::score::ScoreRow;

pub const HEADER: [&str; 18] = [
    "scenario",
    "class",
    "leaking",
    "detector",
    "rep",
    "outcome",
    "onset_s",
    "alarm_s",
    "latency_s",
    "oracle_s",
    "site",
    "site_ok",
    "role",
    "class_ok",
    "alarm_class",
    "confidence",
    "timely",
    "note",
];

fn flag(b: Option<bool>) -> String {
    b.map(|b| b.to_string()).unwrap_or_default()
}

/// The rows as CSV bytes, in the order given (callers sort, see [`crate::evaluate::score::sort_rows`]).
pub fn scores(rows: &[ScoreRow]) -> Vec<u8> {
    let axes = crate::axes::columns(rows.iter().map(|r| &r.axes));
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER.iter().copied().chain(axes.iter().map(|a| a.name())))
        .expect("writing to memory");
    for r in rows {
        let fields = [
            r.scenario.clone(),
            r.class.to_string(),
            r.leaking.to_string(),
            r.detector.clone(),
            r.rep.to_string(),
            r.outcome.to_string(),
            fixed(r.onset_s, 3),
            fixed(r.alarm_s, 3),
            fixed(r.latency_s, 3),
            fixed(r.oracle_s, 3),
            r.site.clone().unwrap_or_default(),
            flag(r.site_ok),
            r.role.to_string(),
            flag(r.class_ok),
            r.alarm_class.map(|c| c.to_string()).unwrap_or_default(),
            fixed(r.confidence, 3),
            flag(r.timely),
            r.note.clone(),
        ];
        w.write_record(fields.into_iter().chain(r.axes.fields(&axes)))
            .expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axes::Axis;
    use crate::evaluate::score::score_row;
    use crate::evaluate::score::tests::{alarm, trace};
    use crate::scenario::Observable;

    #[test]
    fn snapshot() {
        let leak = trace(true, Some(5.0));
        let rows = vec![
            score_row(
                &leak,
                "det-a",
                Some(&alarm(
                    7.25,
                    Some(Observable::GoHeap),
                    Some("main.f, \"x\""),
                )),
                Some(1.0 / 3.0),
            ),
            score_row(&trace(false, None), "det-a", None, None),
        ];
        let text = String::from_utf8(scores(&rows)).unwrap();
        assert_eq!(
            text,
            "scenario,class,leaking,detector,rep,outcome,onset_s,alarm_s,latency_s,oracle_s,site,site_ok,role,class_ok,alarm_class,confidence,timely,note\n\
             t,map,true,det-a,0,TP,5.000,7.250,2.250,0.333,\"main.f, \"\"x\"\"\",true,leak,true,go-heap,0.900,true,\n\
             t,map,false,det-a,0,TN,,,,,,,hard-negative,,,,,\n"
        );
    }

    #[test]
    fn a_sweep_adds_a_column_per_axis_present() {
        let mut a = trace(false, None);
        a.meta.axes.insert(Axis::Gogc, "50");
        let mut b = trace(false, None);
        b.meta.axes.insert(Axis::Gogc, "off");
        b.meta.axes.insert(Axis::Go, "go1.27.3");
        let rows = vec![
            score_row(&a, "det-a", None, None),
            score_row(&b, "det-a", None, None),
        ];
        let text = String::from_utf8(scores(&rows)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with(",timely,note,go,GOGC"), "{}", lines[0]);
        assert!(lines[1].ends_with(",,50"), "{}", lines[1]);
        assert!(lines[2].ends_with(",go1.27.3,off"), "{}", lines[2]);
    }
}
