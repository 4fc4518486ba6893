//! The JSON Schema of the plan language, generated from the serde model so it can never drift.

use schemars::generate::SchemaSettings;

use super::model::Plan;

/// The plan schema (draft-07, which TOML language servers such as taplo understand).
pub fn plan_schema() -> serde_json::Value {
    SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Plan>()
        .to_value()
}

/// The schema as pretty JSON with a trailing newline, exactly as committed in `schemas/`.
pub fn plan_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&plan_schema()).unwrap_or_default();
    text.push('\n');
    text
}
