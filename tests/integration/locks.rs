//! Project files an install step touches stay consistent: a uv project's `uv.lock` follows the
//! `pyproject.toml` that `record_in` changed, and both come back byte for byte on rollback.

use crate::support::{lines, repo_root, tools_venv, Project};

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
        .stdout(lines(&[
            "plan       record ([TMP]/plan.toml)",
            "target     [TARGET]",
            "env        .venv (none found; step `deps` creates the venv)",
            "installer  uv ([REPO]/target/test-venv/bin/uv)",
            "phases     p",
            "",
            "phase p",
            "  step deps (install)",
            "    install into .venv/bin/python (creates the venv): six==1.16.0",
            "    record: six==1.16.0 -> [dependency-groups].dev (nothing declares pytest; the \
             project's dev or test group)",
            "--- a/pyproject.toml",
            "+++ b/pyproject.toml",
            "@@ -5,7 +5,10 @@",
            " dependencies = []",
            " ",
            " [dependency-groups]",
            "-dev = [\"iniconfig>=2\"]",
            "+dev = [",
            "+    \"iniconfig>=2\",",
            "+    \"six==1.16.0\",",
            "+]",
            " ",
            " [build-system]",
            " requires = [\"hatchling\"]",
            "    $ uv lock  (uv.lock follows pyproject.toml; keeps revision 5)",
            "",
            "plan: 1 file to change, 1 package to install, 0 commands, 0 timed suites, 0 gates",
        ]))
        .run();
    project
        .test()
        .args(["apply", plan, "--target", "."])
        .stderr(lines(&[
            "planrun apply record -> [TARGET] (run [RUN])",
            "▶ deps install",
            "✓ deps [DURATION]  created .venv; installed six==1.16.0 with uv",
            "applied in [DURATION]: 0/0 gates passed, 2 files changed (+18 -2); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert!(project.read("pyproject.toml").contains("\"six==1.16.0\""));
    assert!(project.read("uv.lock").contains("name = \"six\""));
    uv_lock_check(&project);

    project
        .test()
        .args(["rollback", "--target", "."])
        // One step: its files and its venv are undone in one order.
        .stdout(lines(&[
            "rolled back run [RUN] (plan record) in [DURATION]",
            "  restored  uv.lock",
            "  restored  pyproject.toml",
            "  removed   .venv/ (venv created by the run)",
        ]))
        .run();
    assert_eq!(project.read("pyproject.toml"), pyproject);
    assert_eq!(project.read("uv.lock"), lock);
    uv_lock_check(&project);
}
