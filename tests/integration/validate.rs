//! `planrun validate`, `graph` and `schema` run as the real binary on tests/fixtures/plans.

use std::process::{Command, Output};

fn planrun(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_planrun"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const DIR: &str = "tests/fixtures/plans";

#[test]
fn a_valid_plan_prints_one_summary_line() {
    let out = planrun(&[
        "validate",
        &format!("{DIR}/good.toml"),
        &format!("{DIR}/small.toml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "tests/fixtures/plans/good.toml: ok — 2 phases, 5 steps, 2 gates\n\
         tests/fixtures/plans/small.toml: ok — 2 phases, 3 steps, 1 gate\n"
    );
}

#[test]
fn a_typo_is_rendered_with_place_and_hint() {
    let out = planrun(&["validate", &format!("{DIR}/typo.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: unknown field `need` in step `measure`\n  \
         --> tests/fixtures/plans/typo.toml:11:3\n   |\n\
         11 |   need = [\"deps\"]\n   |   ^^^^\n   \
         = help: did you mean `needs`?\n\n\
         invalid: tests/fixtures/plans/typo.toml: 1 problem\n\n"
    );
}

#[test]
fn a_cycle_shows_its_path() {
    let out = planrun(&["validate", &format!("{DIR}/cycle.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("error: dependency cycle: a -> c -> b -> a\n --> tests/fixtures/plans/cycle.toml:9:12\n"), "{err}");
}

#[test]
fn every_problem_of_a_bad_plan_is_reported_and_good_plans_still_pass() {
    let out = planrun(&[
        "validate",
        &format!("{DIR}/bad.toml"),
        &format!("{DIR}/good.toml"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "tests/fixtures/plans/good.toml: ok — 2 phases, 5 steps, 2 gates\n"
    );
    let err = text(&out.stderr);
    for line in [
        "error: dependency cycle: measure -> phase two -> phase one -> measure",
        "error: unknown variable `pyhton` in step `measure`",
        "error: path `/etc/passwd` in step `write` is absolute",
        "error: template `../outside.txt` in step `write` leaves the plan's directory with `..`",
        "error: duplicate step id `measure`",
        "   = note: first defined at line 12",
        "error: step `measure` needs unknown step `mesure`",
        "  --> tests/fixtures/plans/bad.toml:36:53",
        "invalid: tests/fixtures/plans/bad.toml: 9 problems",
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "missing `{line}` in:\n{err}"
        );
    }
}

#[test]
fn vars_come_from_the_command_line() {
    let plan = format!("{DIR}/vars.toml");
    let out = planrun(&["validate", &plan]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: unknown variable `runs` in step `s`"));
    let out = planrun(&["validate", &plan, "--var", "runs=5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = planrun(&["validate", &plan, "--var", "runs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`--var runs` lacks a value"));
}

#[test]
fn missing_and_binary_files_are_errors_not_panics() {
    let out = planrun(&["validate", "no/such/plan.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: failed to read plan `no/such/plan.toml`"));
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin.toml");
    std::fs::write(&bin, [0u8, 159, 146, 150, 255, b'\n']).unwrap();
    let out = planrun(&["validate", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: the plan is not valid UTF-8"));
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let plan = format!("{DIR}/small.toml");
    let dot = planrun(&["graph", &plan]);
    assert_eq!(dot.status.code(), Some(0));
    let dot = text(&dot.stdout);
    assert!(dot.starts_with("digraph plan {\n"), "{dot}");
    for line in [
        "  subgraph cluster_1 {",
        "    n0 [label=\"deps\\ninstall\"];",
        "  n2 -> n3;",
    ] {
        assert!(
            dot.lines().any(|l| l == line),
            "missing `{line}` in:\n{dot}"
        );
    }
    let mermaid = planrun(&["graph", &plan, "--format", "mermaid"]);
    assert_eq!(mermaid.status.code(), Some(0));
    let mermaid = text(&mermaid.stdout);
    assert!(
        mermaid
            .starts_with("flowchart TD\n  subgraph p0[\"base\"]\n    n0[\"deps<br/>install\"]\n"),
        "{mermaid}"
    );
    assert!(mermaid.lines().any(|l| l == "  n2 --> n3"), "{mermaid}");
    let bad = planrun(&["graph", &format!("{DIR}/cycle.toml")]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn schema_matches_the_committed_file() {
    let out = planrun(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/plan.schema.json"
    ))
    .unwrap();
    assert!(
        text(&out.stdout) == committed,
        "schemas/plan.schema.json is stale; run `cargo run -- schema > schemas/plan.schema.json`"
    );
}
