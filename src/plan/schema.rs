//! The JSON Schema of the plan language, generated from the serde model so it can never drift.
//!
//! Two things are added to what schemars derives: a stable `$id`, and steps discriminated on
//! their `action`. schemars gives an internally tagged enum as a `oneOf` of its variants, and a
//! typo in one (`comand` in a `run` step) then fails every variant, so an editor can only say
//! "not valid under any of the given schemas". Each variant becomes a definition of its own
//! (`RunStep`, titled "`run` step"), chosen with `if`/`then` on the `action` constant, so the
//! editor checks the step against that one and names the unknown field.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::model::Plan;

/// The schema's `$id`: where a plan's `#:schema` line can point (see the README), stable
/// across releases of this format version.
pub const SCHEMA_ID: &str = "https://planrun.dev/schema/v1/plan.schema.json";

/// The schema as schemars derives it from the serde model, steps as a `oneOf` of variants:
/// what the strict loader walks (it picks a step's variant by its `action` itself).
pub fn model_schema() -> Value {
    SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Plan>()
        .to_value()
}

/// The published plan schema (draft-07, which TOML language servers such as taplo
/// understand): [`model_schema`] with its `$id` and steps discriminated on `action`.
pub fn plan_schema() -> Value {
    let mut schema = model_schema();
    if let Some(root) = schema.as_object_mut() {
        root.insert("$id".into(), SCHEMA_ID.into());
        if let Some(defs) = root.get_mut("definitions").and_then(Value::as_object_mut) {
            discriminate(defs);
        }
    }
    schema
}

/// Rewrites every definition that is a `oneOf` of objects told apart by a constant `action`
/// into `if`/`then` branches over one definition per variant.
fn discriminate(defs: &mut Map<String, Value>) {
    let names: Vec<String> = defs.keys().cloned().collect();
    for name in names {
        let Some(variants) = defs
            .get(&name)
            .and_then(|d| d.get("oneOf"))
            .and_then(Value::as_array)
            .cloned()
        else {
            continue;
        };
        let actions: Option<Vec<String>> = variants
            .iter()
            .map(|v| {
                v.pointer("/properties/action/const")?
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        let Some(actions) = actions else { continue };
        let mut branches = Vec::new();
        for (action, mut variant) in actions.iter().zip(variants) {
            let def = format!("{}{name}", camel(action));
            if let Some(obj) = variant.as_object_mut() {
                obj.insert("title".into(), format!("`{action}` step").into());
            }
            defs.insert(def.clone(), variant);
            branches.push(json!({
                "if": { "properties": { "action": { "const": action } }, "required": ["action"] },
                "then": { "$ref": format!("#/definitions/{def}") },
            }));
        }
        let description = defs
            .get(&name)
            .and_then(|d| d.get("description"))
            .cloned()
            .unwrap_or(Value::Null);
        defs.insert(
            name,
            json!({
                "description": description,
                "type": "object",
                "required": ["action"],
                "properties": {
                    "action": { "description": "What the step does; it decides the other fields.", "enum": actions },
                },
                "allOf": branches,
            }),
        );
    }
}

/// `pytest-config` -> `PytestConfig`.
fn camel(action: &str) -> String {
    action
        .split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
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
        assert_eq!(schema["$id"], super::SCHEMA_ID);
        assert_eq!(schema["title"], "Plan");
        assert!(schema["properties"]["name"]["description"].is_string());
    }

    #[test]
    fn steps_are_chosen_by_their_action() {
        let schema = super::plan_schema();
        let step = &schema["definitions"]["Step"];
        assert!(step.get("oneOf").is_none(), "{step:#}");
        let branches = step["allOf"].as_array().unwrap();
        let run = branches
            .iter()
            .find(|b| b["if"]["properties"]["action"]["const"] == "run")
            .unwrap();
        assert_eq!(run["then"]["$ref"], "#/definitions/RunStep");
        let def = &schema["definitions"]["RunStep"];
        assert_eq!(def["title"], "`run` step");
        assert_eq!(def["additionalProperties"], false);
        assert!(def["properties"]["command"].is_object());
        assert!(schema["definitions"]["PytestConfigStep"].is_object());
        let actions = step["properties"]["action"]["enum"].as_array().unwrap();
        assert_eq!(actions.len(), branches.len());
        assert!(actions.iter().any(|a| a == "suite"));
    }
}
