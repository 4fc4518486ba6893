//! `apply --dry-run` as `terraform plan`: the header, phases with their gates and whys,
//! `--json` shaped like report.json, `--detailed-exitcode`, and what it says when the plan's
//! change is in the target already.

use serde_json::Value;

use crate::support::mini;
use crate::support::{repo_root, Test};

fn edits_plan() -> String {
    let path = repo_root().join("tests/fixtures/apply/edits.toml");
    path.to_str().expect("UTF-8 path").to_string()
}

/// A plan whose one edit sets what mini's setup.cfg already holds.
const IN_PLACE: &str = r#"name = "in-place"
description = "Set the version mini already has."
[[phase]]
id = "edit"
title = "Pin the version"
  [[phase.step]]
  id = "metadata"
  action = "ini"
  path = "setup.cfg"
  section = "metadata"
  set = { version = "0.1" }
  [[phase.gate]]
  check = "true"
  why = "nothing to measure"
"#;

#[test]
fn the_dry_run_opens_with_a_header_and_shows_phases_gates_and_whys() {
    let project = mini();
    project.write("plan.toml", IN_PLACE);
    Test::in_project(&project)
        .args(["apply", "plan.toml", "--dry-run"])
        .stdout(
            "plan       in-place (plan.toml)\n\
             target     [TARGET]\n\
             phases     edit\n\
             \n\
             phase edit  Pin the version\n  \
             step metadata (ini)\n    \
             setup.cfg (already as planned, unchanged)\n  \
             gate true\n    \
             why: nothing to measure\n\
             \n\
             plan: 0 files to change, 0 packages to install, 0 commands, 0 timed suites, 1 gate\n",
        )
        .stderr(
            "warning: every file this plan edits already holds its change (setup.cfg): the \
             change seems to be in the target already, and applying would measure the suite \
             against itself\n",
        )
        .run();
    // Nothing to do: --detailed-exitcode says 0.
    Test::in_project(&project)
        .args([
            "apply",
            "plan.toml",
            "--dry-run",
            "--detailed-exitcode",
            "-q",
        ])
        .stdout_unchecked("the same preview")
        .stderr_unchecked("the same warning")
        .run();
}

#[test]
fn detailed_exitcode_is_2_with_changes_pending_and_0_once_applied() {
    let project = mini();
    let plan = edits_plan();
    Test::in_project(&project)
        .args([
            "apply",
            &plan,
            "--target",
            ".",
            "--dry-run",
            "--detailed-exitcode",
        ])
        .status(2)
        .stdout_contains(
            "plan: 5 files to change, 0 packages to install, 0 commands, 0 timed suites, 0 gates\n",
        )
        .run();
    // -q: the closing verdict alone.
    Test::in_project(&project)
        .args(["apply", &plan, "--target", ".", "-q"])
        .stderr("applied in [DURATION]: 0/0 gates passed, 5 files changed (+11 -4); exit 0\n")
        .run();
    Test::in_project(&project)
        .args([
            "apply",
            &plan,
            "--target",
            ".",
            "--dry-run",
            "--detailed-exitcode",
        ])
        .stdout_unchecked("a preview against the applied files")
        .stderr_contains(
            "note: plan `edits` is already applied here (run [RUN]): apply would do nothing\n",
        )
        .run();
    Test::in_project(&project)
        .args(["apply", &plan, "--target", "."])
        .args(["--detailed-exitcode"])
        .status(2)
        .stderr_contains(
            "error: the following required arguments were not provided:\n  --dry-run\n",
        )
        .run();
}

#[test]
fn the_json_dry_run_has_report_jsons_steps_and_what_each_would_do() {
    let project = mini();
    let out = Test::in_project(&project)
        .args([
            "apply",
            &edits_plan(),
            "--target",
            ".",
            "--dry-run",
            "--json",
        ])
        .stdout_unchecked("parsed below")
        .run();
    let json: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.stdout));
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["changes_pending"], true);
    assert_eq!(json["plan"]["name"], "edits");
    let steps = json["steps"].as_array().unwrap();
    let planned = json["planned"].as_array().unwrap();
    assert_eq!(steps.len(), planned.len());
    assert_eq!(steps[0]["status"], "pending");
    assert_eq!(steps[0]["id"], planned[0]["id"]);
    let fast = planned.iter().find(|s| s["id"] == "fast").unwrap();
    assert_eq!(fast["files"][0]["path"], "app.py");
    let diff = fast["files"][0]["diff"].as_str().unwrap();
    assert!(diff.starts_with("--- a/app.py\n+++ b/app.py\n"), "{diff}");
    assert!(diff.contains("-SLOW = True\n+SLOW = False\n"), "{diff}");
    assert!(!diff.contains('\x1b'));
    // The report's own fields, as report.json has them before any step ran.
    for key in [
        "format_version",
        "target",
        "vars",
        "gates",
        "records",
        "diffstat",
    ] {
        assert!(json.get(key).is_some(), "no `{key}` in {json:#}");
    }
}
