//! `summary.json`: the [`Summary`] as pretty JSON, floats rounded to 6 decimals (stable
//! across platforms and free of `0.30000000000000004` noise); not applicable is `null`.

use crate::evaluate::score::Summary;
use serde_json::Value;

/// Decimal places kept in floats.
const DECIMALS: i32 = 6;

fn round(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(0.0);
            let p = 10f64.powi(DECIMALS);
            serde_json::Number::from_f64((x * p).round() / p).map_or(Value::Null, Value::Number)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(round).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, round(v))).collect()),
        v => v,
    }
}

pub fn summary(s: &Summary) -> Vec<u8> {
    let v = round(serde_json::to_value(s).expect("summary serializes"));
    let mut out = serde_json::to_vec_pretty(&v).expect("value serializes");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score::tests::{alarm, trace};
    use crate::evaluate::score::{score_row, summarize};

    #[test]
    fn rounds_floats_keeps_nulls_and_field_names() {
        let leak = trace(true, Some(5.0));
        let rows = vec![score_row(
            &leak,
            "d",
            Some(&alarm(5.1, None, None)),
            Some(0.3),
        )];
        let text = String::from_utf8(summary(&summarize(&rows))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let d = &v["by_detector"][0];
        assert_eq!(d["latency_median_s"], serde_json::json!(0.1));
        assert_eq!(d["latency_over_oracle_median"], serde_json::json!(0.333333));
        assert_eq!(d["fn"], serde_json::json!(0));
        assert_eq!(d["class"], Value::Null);
        assert_eq!(d["false_alarm_rate"], Value::Null);
        assert_eq!(v["by_detector_class"][0]["class"], serde_json::json!("map"));
    }
}
