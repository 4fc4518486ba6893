//! Project files an install step touches stay consistent: a uv project's `uv.lock` follows the
//! `pyproject.toml` that `record_in` changed, and both come back byte for byte on rollback.

use crate::support::{repo_root, tools_venv, Project};

/// `uv lock --check` in the project succeeds: the lock matches pyproject.toml.
fn uv_lock_check(project: &Project) {
    let out = std::process::Command::new(tools_venv().join("bin/uv"))
        .args(["lock", "--check"])
        .current_dir(project.path())
        .env("UV_CACHE_DIR", crate::support::uv_cache_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "uv lock --check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_uv_projects_lock_follows_its_dev_group_and_comes_back() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/uvproject"));
    let (pyproject, lock) = (project.read("pyproject.toml"), project.read("uv.lock"));
    let six = crate::deps::record_plan("\"six==1.16.0\"", "");
    let plan = six.path.as_str();
    project
        .test()
        .args(["apply", plan, "--target", ".", "--dry-run"])
        .stdout_contains("$ uv lock")
        .stdout_contains("record: six==1.16.0 -> [dependency-groups].dev (nothing declares pytest; the project's dev or test group)\n")
        .stdout_contains("+dev = [\n+    \"iniconfig>=2\",\n+    \"six==1.16.0\",\n+]\n")
        .run();
    project
        .test()
        .args(["apply", plan, "--target", "."])
        // stderr: measured numbers vary.
        .apply_progress(
            "record",
            "applied in [DURATION]: 0/0 gates passed, 2 files changed (+18 -2); exit 0",
        )
        .stderr_contains("▶ deps install")
        .run();
    assert!(project.read("pyproject.toml").contains("\"six==1.16.0\""));
    assert!(project.read("uv.lock").contains("name = \"six\""));
    uv_lock_check(&project);

    project
        .test()
        .args(["rollback", "--target", "."])
        // stdout: concurrent steps journal in either order.
        .stdout_contains("rolled back run [RUN] (plan record) in [DURATION]")
        .stdout_contains("  restored  uv.lock")
        .stdout_contains("  restored  pyproject.toml")
        .stdout_contains("  removed   .venv/ (venv created by the run)")
        .run();
    assert_eq!(project.read("pyproject.toml"), pyproject);
    assert_eq!(project.read("uv.lock"), lock);
    uv_lock_check(&project);
}
