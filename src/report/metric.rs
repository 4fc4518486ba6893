//! Reading one metric out of a serialized suite record by its dotted path.

use serde_json::Value;

/// The value of `path` (e.g. `wall.median`, `flaky`) in `record`: numbers as they are, booleans as
/// 0 or 1, arrays as their length; `None` when the path is missing or names an object or a string.
pub fn metric(record: &Value, path: &str) -> Option<f64> {
    let mut node = record;
    for key in path.split('.') {
        node = node.as_object()?.get(key)?;
    }
    match node {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Array(items) => Some(items.len() as f64),
        Value::Null | Value::String(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "wall": {"median": 3.2, "stddev": 0.05},
            "passed": 120,
            "flaky": ["t::a", "t::b"],
            "ok": true,
            "name": "x",
            "gone": null,
        })
    }

    #[test]
    fn dotted_paths_reach_nested_numbers() {
        assert_eq!(metric(&record(), "wall.median"), Some(3.2));
        assert_eq!(metric(&record(), "passed"), Some(120.0));
    }

    #[test]
    fn arrays_count_as_their_length() {
        assert_eq!(metric(&record(), "flaky"), Some(2.0));
    }

    #[test]
    fn booleans_are_zero_or_one() {
        assert_eq!(metric(&record(), "ok"), Some(1.0));
    }

    #[test]
    fn missing_or_non_numeric_paths_are_none() {
        for path in [
            "wall",
            "name",
            "gone",
            "wall.max",
            "passed.x",
            "",
            "nope.median",
        ] {
            assert_eq!(metric(&record(), path), None, "{path}");
        }
        assert_eq!(metric(&json!(5), "x"), None);
    }
}
