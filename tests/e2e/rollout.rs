//! The staged example plan (plans/xdist-isolation-demo.toml) on the locator demo: fifteen runs
//! of a real suite a stage, so it lives in the end-to-end group; the staged rollout's own rules
//! are tested quickly in tests/integration/stages.rs.

use serde_json::Value;

use crate::support::{self, newest_report, Project};

/// Seed 003 on the locator demo: with the feature flag the parallel suite is green in ten runs
/// and the dev stage is kept; without it the workers trample the shared cache, the verify gate
/// fails and pytest.ini is restored byte for byte.
fn locator(isolation: &str, status: i32) -> (Project, Value) {
    let project = Project::new("locator-demo");
    let before = project.read("pytest.ini");
    let python = format!("python={}", support::python().display());
    let out = project
        .test()
        .arg("apply")
        .arg(support::plan("xdist-isolation-demo.toml"))
        .args(["--target", ".", "--stage", "dev", "--var", &python])
        .args(["--var", &format!("isolation={isolation}")])
        // The test checks the flag's effect, not timing on a shared machine.
        .args(["--var", "max_time_ratio=5"])
        .status(status)
        .stderr_unchecked("measured numbers vary")
        .run();
    let report = newest_report(&project);
    if status != 0 {
        assert_eq!(project.read("pytest.ini"), before, "{}", out.stderr);
    }
    (project, report)
}

#[test]
fn locator_rollout_with_the_flag_is_kept() {
    let (project, report) = locator("1", 0);
    assert_eq!(report["records"]["verify"]["runs"], 10);
    assert_eq!(report["records"]["verify"]["runs_green"], 1.0);
    assert!(project.read("pytest.ini").contains("-n 2"));
    let history = std::fs::read_to_string(project.join(".planrun/history.jsonl")).unwrap();
    assert!(history.contains("\"stage\":\"dev\""), "{history}");
}

#[test]
fn locator_rollout_without_the_flag_is_rolled_back() {
    let (_, report) = locator("0", 1);
    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["check"] == "verify.runs_green >= 1 - 0.05")
        .unwrap()
        .clone();
    assert_eq!(gate["status"], "fail");
    assert!(report["records"]["verify"]["runs_green"].as_f64().unwrap() < 0.95);
    assert_eq!(report["records"]["serial"]["runs_green"], 1.0);
}
