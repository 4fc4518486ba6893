//! Project files an install step touches stay consistent: a uv project's `uv.lock` follows the
//! `pyproject.toml` that `record_in` changed, and both come back byte for byte on rollback.

use std::fs;

use crate::support::{repo_root, tools_venv, Project};

fn uv_lock_check(project: &Project) -> crate::support::Output {
    let out = std::process::Command::new(tools_venv().join("bin/uv"))
        .args(["lock", "--check"])
        .current_dir(project.path())
        .env("UV_CACHE_DIR", crate::support::uv_cache_dir())
        .output()
        .unwrap();
    crate::support::Output::from_std(out)
}

#[test]
fn a_uv_projects_lock_follows_its_dev_group_and_comes_back() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/uvproject"));
    let (pyproject, lock) = (project.read("pyproject.toml"), project.read("uv.lock"));
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(
        &plan,
        r#"
name = "record"
description = "Install a dev dependency and record it in the project."
[[phase]]
id = "p"
  [[phase.step]]
  id = "six"
  action = "install"
  packages = ["six==1.16.0"]
  record_in = "auto"
"#,
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let preview = project.planrun(["apply", plan, "--target", ".", "--dry-run"]);
    preview
        .expect_code(0)
        .expect_stdout("$ uv lock")
        .expect_stdout("+dev = [\"iniconfig>=2\", \"six==1.16.0\"]");
    project
        .planrun(["apply", plan, "--target", "."])
        .expect_code(0);
    assert!(project.read("pyproject.toml").contains("\"six==1.16.0\""));
    assert!(project.read("uv.lock").contains("name = \"six\""));
    uv_lock_check(&project).expect_code(0);

    project
        .planrun(["rollback", "--target", "."])
        .expect_code(0);
    assert_eq!(project.read("pyproject.toml"), pyproject);
    assert_eq!(project.read("uv.lock"), lock);
    uv_lock_check(&project).expect_code(0);
}
