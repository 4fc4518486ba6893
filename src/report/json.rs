//! The JSON report: `report.json`, the source every other format and `planrun report` read back.

use serde_json::Value;

use super::model::RunReport;

/// The report as pretty-printed JSON, ending with a newline.
pub fn to_json(report: &RunReport) -> String {
    let filled;
    let report = if report.records.values().any(|r| r.comparison.is_some()) {
        filled = with_speeds(report);
        &filled
    } else {
        report
    };
    // Serializing plain structs, string-keyed maps and `Value`s cannot fail; the fallback only
    // keeps this function total.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("failed to serialize the report: {e}") }).to_string()
    });
    text.push('\n');
    text
}

/// `report` with each record's `comparison.speed` filled in: the figure the verdicts use
/// ([`super::compare::speed`]), so `report.json` never says another ratio than the gates.
fn with_speeds(report: &RunReport) -> RunReport {
    let mut out = report.clone();
    for (name, record) in &mut out.records {
        let Some(c) = record.comparison.as_mut() else {
            continue;
        };
        c.speed = super::compare::speed(&report.records, name, &c.with).map(|s| {
            crate::measure::record::SpeedFigure {
                ratio: s.figure.widened.estimate,
                low: s.figure.widened.low,
                high: s.figure.widened.high,
                confidence: s.figure.widened.confidence,
                basis: s.mode().to_string(),
            }
        });
    }
    out
}

/// Reads a report back from its JSON text.
///
/// JSON has no infinity or NaN, so serde_json writes such numbers as `null` (a gate dividing by a
/// zero baseline produces one). A plain `f64` field cannot read `null` back, so those entries are
/// dropped from a gate's `values` and a `null` run duration reads as 0: the gate's explanation
/// still shows the number. A record stored as `null` (one that could not be serialized) is
/// dropped too: there is nothing in it to show.
pub fn from_json(text: &str) -> serde_json::Result<RunReport> {
    let mut value: Value = serde_json::from_str(text)?;
    if let Some(records) = value.get_mut("records").and_then(Value::as_object_mut) {
        records.retain(|_, r| !r.is_null());
    }
    if let Some(gates) = value.get_mut("gates").and_then(Value::as_array_mut) {
        for gate in gates {
            if let Some(values) = gate.get_mut("values").and_then(Value::as_object_mut) {
                values.retain(|_, v| !v.is_null());
            }
        }
    }
    if let Some(duration) = value.get_mut("duration_s").filter(|v| v.is_null()) {
        *duration = Value::from(0.0);
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::sample;
    use super::*;

    /// tests/fixtures/report/report.json, which the integration tests render through
    /// `planrun report`, is this sample: the two cannot drift apart.
    #[test]
    fn the_committed_report_fixture_is_the_sample() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/report/report.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == to_json(&sample()),
            "{} is not `to_json(&fixture::sample())`",
            path.display()
        );
    }

    #[test]
    fn json_round_trips() {
        let report = sample();
        let text = to_json(&report);
        assert_eq!(serde_json::from_str::<RunReport>(&text).unwrap(), report);
        assert_eq!(from_json(&text).unwrap(), report);
    }

    #[test]
    fn reports_from_before_records_were_typed_still_read() {
        // Records were stored as JSON values, which wrote their keys sorted, and a record
        // that could not be serialized as `null`.
        let report = sample();
        let mut old: Value = serde_json::from_str(&to_json(&report)).unwrap();
        old["records"]["broken"] = Value::Null;
        let text = serde_json::to_string_pretty(&old).unwrap();
        assert!(
            text.contains("\"cores\": 4,\n      \"cpu_seconds\""),
            "{text}"
        );
        assert_eq!(from_json(&text).unwrap(), report);
    }

    #[test]
    fn json_is_pretty_and_uses_kebab_case_statuses() {
        let text = to_json(&sample());
        assert!(text.starts_with("{\n  \"format_version\": 1,\n"), "{text}");
        assert!(text.contains("\"status\": \"gate-failed\""));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn non_finite_gate_values_still_read_back() {
        let mut report = sample();
        report.gates[0].values.insert("ratio".into(), f64::INFINITY);
        report.duration_s = f64::NAN;
        let text = to_json(&report);
        assert!(serde_json::from_str::<RunReport>(&text).is_err());
        let back = from_json(&text).unwrap();
        assert_eq!(back.gates[0].values.get("ratio"), None);
        assert_eq!(back.gates[0].values.get("after.passed"), Some(&117.0));
        assert_eq!(back.duration_s, 0.0);
    }
}
