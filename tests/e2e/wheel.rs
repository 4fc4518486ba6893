//! The Python wheel: built from this repository with maturin (`bindings = "bin"`), installed into
//! a fresh venv with pip, and the `planrun` it puts on PATH writes a bundled plan, applies a
//! plan and rolls it back.

use std::path::Path;
use std::process::Command;

use crate::support::{self, repo_root, run_ok as run, Project};

/// Builds the wheel into `out_dir` and returns its path. The build has a target directory of
/// its own (`target/wheel-build`): the test binaries' `target/debug/planrun` is never replaced
/// under the tests that run it, and later builds are incremental.
fn build_wheel(out_dir: &Path) -> std::path::PathBuf {
    let maturin_venv = support::cached_venv(
        "maturin-venv",
        &repo_root().join("tests/wheel-requirements.txt"),
    );
    // The build loads both cores: suites that are timed wait for it.
    let _busy = support::busy();
    run(
        Command::new(maturin_venv.join("bin/maturin"))
            .args(["build", "--profile", "dev", "--strip", "--quiet"])
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(support::target_dir().join("wheel-build"))
            .arg("--out")
            .arg(out_dir)
            .env_remove("CARGO_TARGET_DIR"),
        "maturin build",
    );
    let wheels: Vec<_> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels.into_iter().next().unwrap()
}

#[test]
fn the_wheel_installs_a_planrun_that_runs_plans() {
    let scratch = tempfile::tempdir().unwrap();
    let wheel = build_wheel(scratch.path());
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("planrun-{}-py3-none-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    let venv = scratch.path().join("venv");
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-index", "--no-deps"])
            .arg(&wheel),
        "pip install the wheel",
    );
    let planrun = venv.join("bin/planrun");
    let version = run(Command::new(&planrun).arg("--version"), "planrun --version");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with(&format!("planrun {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    let project = Project::fixture("targets/mini");
    let in_project = |args: &[&str], what: &str| {
        run(
            Command::new(&planrun)
                .args(args)
                .current_dir(project.path())
                .env("NO_COLOR", "1")
                .env_remove("CI")
                .env_remove("GITHUB_ACTIONS"),
            what,
        )
    };
    in_project(&["init", "xdist"], "planrun init xdist");
    assert!(project.join("plans/xdist.toml").is_file());
    assert!(project.join("plans/plan.schema.json").is_file());
    let listed = in_project(&["plans"], "planrun plans");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("xdist "));

    let plan = repo_root().join("tests/fixtures/apply/edits.toml");
    let plan = plan.to_str().unwrap();
    let before = project.read("app.py");
    let applied = in_project(&["apply", plan, "--target", "."], "planrun apply");
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(stderr.contains("applied in "), "{stderr}");
    assert_ne!(project.read("app.py"), before, "the plan edited app.py");
    in_project(&["rollback", "--target", "."], "planrun rollback");
    assert_eq!(project.read("app.py"), before, "rolled back");
}
