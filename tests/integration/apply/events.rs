//! What an apply's event log holds: data a reader needs no parsing for (what failed, how its
//! command ended, the rollback), while the terminal says the same in words.

use serde_json::{json, Value};

use super::{fixture, run_ids};
use crate::support::mini;

/// The event log's lines of one run.
fn events(project: &crate::support::Project, id: &str) -> Vec<Value> {
    project
        .read(format!(".planrun/runs/{id}/events.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_failed_step_is_logged_as_what_failed_and_the_terminal_names_the_cause() {
    let project = mini();
    project
        .test()
        .args(["apply", &fixture("failing.toml"), "--target", ".", "--jobs", "1"])
        .status(3)
        .stderr_contains(
            "`echo about to fail; echo on stderr >&2; exit 3` exited with status 3\n  | about to fail\n  | on stderr",
        )
        .stderr_contains("step `boom` failed; rolling back")
        .run();
    let id = run_ids(&project).pop().expect("a run directory");
    let lines = events(&project, &id);
    let failed = lines
        .iter()
        .find(|l| l["event"] == "step-finished" && l["step"]["id"] == "boom")
        .expect("the failed step's line");
    assert_eq!(
        failed["failure"],
        json!({
            "kind": "command-exited",
            "status": {"kind": "exited", "value": 3},
            "output": ["about to fail", "on stderr"],
        })
    );
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    let rolling = kinds.iter().position(|k| *k == "rolling-back");
    let rolled = kinds.iter().position(|k| *k == "rolled-back");
    assert!(rolling.is_some() && rolling < rolled, "{kinds:?}");
    let rolled = &lines[rolled.unwrap()]["rollback"];
    assert_eq!(rolled["reason"], "step `boom` failed");
    assert_eq!(rolled["ok"], true);
    assert!(
        rolled["restored"]
            .as_array()
            .is_some_and(|r| r.iter().any(|p| p == "app.py")),
        "{rolled}"
    );
}
