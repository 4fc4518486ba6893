//! Long outputs as reviewed insta snapshots (tests/integration/snapshots/): the dry run of each
//! seed plan against its demo, the diagnostics of bad plans, and the Markdown report of a fixed
//! report.json.

use std::fs;

use crate::support::{plan, repo_root, Project, Test};

/// `planrun apply plans/<plan> --dry-run` on a copy of `examples/<demo>`.
fn dry_run(plan_name: &str, demo: &str) {
    let project = Project::new(demo);
    let before = project.hash_tree();
    project
        .test()
        .arg("apply")
        .arg(plan(plan_name))
        .args(["--target", ".", "--dry-run"])
        // Only the header's paths vary (the plan file, the target copy, uv): normalised.
        .stdout_snapshot(&format!(
            "dry-run-{}-{demo}",
            plan_name.trim_end_matches(".toml")
        ))
        .run();
    assert_eq!(project.hash_tree(), before, "a dry run touches nothing");
}

#[test]
fn dry_run_of_persistence_on_its_demo() {
    dry_run("persistence-demo.toml", "persistence-demo");
}

#[test]
fn dry_run_of_xdist_on_its_demo() {
    dry_run("xdist.toml", "persistence-demo");
}

/// One step of every action previewed in colour, as a terminal shows it (the escape codes are
/// in the snapshot): each action's own lines, its diffs, and the notes between them.
#[test]
fn dry_run_of_every_action_in_colour() {
    let project = crate::support::mini();
    let before = project.hash_tree();
    project
        .test()
        .arg("apply")
        .arg(repo_root().join("tests/fixtures/dryrun/every-action.toml"))
        .args(["--target", ".", "--dry-run", "--color", "always"])
        .stdout_snapshot("dry-run-every-action-colour")
        .run();
    assert_eq!(project.hash_tree(), before, "a dry run touches nothing");
}

#[test]
fn dry_run_of_xdist_on_the_other_layouts() {
    for demo in ["pyproject-demo", "setupcfg-demo", "toxini-demo"] {
        dry_run("xdist.toml", demo);
    }
}

#[test]
fn diagnostics_of_bad_plans() {
    for name in [
        "unknown-field",
        "unknown-var",
        "cycle",
        "bad-gate",
        "bad-duration",
        "path-escape",
    ] {
        Test::new()
            .arg("validate")
            .arg(format!("tests/fixtures/plans/diagnostics/{name}.toml"))
            .status(2)
            .verbatim()
            .stderr_snapshot(&format!("diagnostics-{name}"))
            .run();
    }
}

/// The report of src/report/fixture.rs (tests/fixtures/report/report.json, kept equal to it by
/// a unit test), rendered by `planrun report` from a run directory.
#[test]
fn markdown_report_of_a_fixed_run() {
    let target = tempfile::tempdir().unwrap();
    let run = target.path().join(".planrun/runs/20260101T000000Z-0001");
    fs::create_dir_all(&run).unwrap();
    fs::copy(
        repo_root().join("tests/fixtures/report/report.json"),
        run.join("report.json"),
    )
    .unwrap();
    Test::new()
        .current_dir(target.path())
        .args(["report", "--target", ".", "--format", "markdown"])
        // A fixed report: its numbers, ids and paths are the fixture's own.
        .verbatim()
        .stdout_snapshot("report-markdown")
        .run();
}
