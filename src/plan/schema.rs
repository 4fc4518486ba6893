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

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/plan.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == super::plan_schema_text(),
            "schemas/plan.schema.json is stale; run `cargo run -- schema > schemas/plan.schema.json`"
        );
    }

    #[test]
    fn schema_is_draft07_with_title_and_descriptions() {
        let schema = super::plan_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["title"], "Plan");
        assert!(schema["properties"]["name"]["description"].is_string());
    }
}
