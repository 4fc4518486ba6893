//! The plan schema as an editor uses it (a real JSON Schema validator, Python's jsonschema):
//! the bundled plans are valid, and a typo in a step is named as an unknown field of that
//! step's action, not as "not valid under any of the given schemas".

use crate::support::{self, Project};

/// Every error jsonschema finds in the TOML file `plan` against the committed schema, one
/// `path: message` line each.
fn schema_errors(plan: &std::path::Path) -> String {
    let script = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
plan = tomllib.loads(open(sys.argv[2], encoding="utf-8").read())
for e in jsonschema.Draft7Validator(schema).iter_errors(plan):
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
"#;
    let out = std::process::Command::new(support::python())
        .arg("-c")
        .arg(script)
        .arg(support::repo_root().join("schemas/plan.schema.json"))
        .arg(plan)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_bundled_plans_are_valid_under_the_schema() {
    for plan in ["xdist.toml", "persistence-demo.toml"] {
        assert_eq!(schema_errors(&support::plan(plan)), "", "{plan}");
    }
}

#[test]
fn a_typo_in_a_step_is_named_in_that_steps_terms() {
    let project = Project::fixture("targets/mini");
    project.write(
        "typo.toml",
        "name = \"t\"\ndescription = \"d\"\n[[phase]]\nid = \"p\"\n  [[phase.step]]\n  id = \"s\"\n  action = \"run\"\n  comand = \"echo\"\n",
    );
    assert_eq!(
        schema_errors(&project.join("typo.toml")),
        "phase/0/step/0: Additional properties are not allowed ('comand' was unexpected)\n\
         phase/0/step/0: 'command' is a required property\n"
    );
}
