//! Signals during an apply: SIGINT and SIGTERM roll back and exit 130 with the step's process
//! group dead; after SIGKILL, `planrun rollback` restores files and the environment.

use std::path::Path;
use std::process::Command;

use super::{apply_edits, fixture, mini, snapshot, wait_for};
use crate::support::lines;
use crate::support::{env_path, uv_cache_dir, Project};

/// Whether any process of group `pgid` still exists (zombies included, until reaped).
fn group_alive(pgid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence; nothing is delivered.
    unsafe { libc::killpg(pgid as libc::pid_t, 0) == 0 }
}

/// The pid a plan command wrote to `file`.
fn read_pid(file: &Path) -> u32 {
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Starts an apply of signal.toml, waits until its long command runs, sends `signal`, and
/// checks the exit code, the tree and that the command's whole process group is gone.
fn interrupt_with(signal: libc::c_int) {
    let project = mini();
    let before = snapshot(&project);
    let outside = tempfile::tempdir().unwrap();
    let pidfile = outside.path().join("pid");
    let child = project
        .test()
        .args([
            "apply",
            &fixture("signal.toml"),
            "--target",
            ".",
            "--var",
            &format!("pidfile={}", pidfile.display()),
        ])
        .status(130)
        .stderr_contains("interrupted by a signal; rolling back")
        .spawn();
    wait_for("the long command to start", || pidfile.exists());
    let pgid = read_pid(&pidfile);
    assert!(group_alive(pgid));
    // The edits of the first phase are in place while the command runs.
    assert_ne!(snapshot(&project), before);

    child.signal(signal);
    child.wait();
    assert_eq!(snapshot(&project), before);
    // Orphaned members are reaped by init asynchronously; they must all go, not just the shell.
    wait_for("the step's process group to die", || !group_alive(pgid));
}

#[test]
fn sigint_rolls_back_exits_130_and_kills_the_step_group() {
    interrupt_with(libc::SIGINT);
}

#[test]
fn sigterm_rolls_back_exits_130_and_kills_the_step_group() {
    interrupt_with(libc::SIGTERM);
}

/// Runs a tool of the shared venv (uv) in the project, with the shared cache.
fn tool(project: &Project, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(project.path())
        .env("PATH", env_path())
        .env("UV_CACHE_DIR", uv_cache_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn freeze(project: &Project) -> String {
    tool(
        project,
        &["uv", "pip", "freeze", "--python", ".venv/bin/python"],
    )
}

#[test]
fn sigkill_then_rollback_restores_tree_and_environment() {
    let project = mini();
    tool(&project, &["uv", "venv", "-q", ".venv"]);
    tool(
        &project,
        &[
            "uv",
            "pip",
            "install",
            "-q",
            "--python",
            ".venv/bin/python",
            "iniconfig==2.0.0",
        ],
    );
    let before = snapshot(&project);
    let frozen = freeze(&project);
    assert!(frozen.contains("iniconfig==2.0.0"), "{frozen}");

    let outside = tempfile::tempdir().unwrap();
    let pidfile = outside.path().join("pid");
    let child = project
        .test()
        .args([
            "apply",
            &fixture("kill.toml"),
            "--target",
            ".",
            "--var",
            &format!("pidfile={}", pidfile.display()),
        ])
        .status(128 + libc::SIGKILL)
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .stderr_contains("planrun apply kill -> [TARGET] (run [RUN])")
        .spawn();
    wait_for("the sleep step to run", || pidfile.exists());
    let pgid = read_pid(&pidfile);
    // The sleep step's log is being written: the run is mid-flight. The step writes its pid
    // file before its echo, and the log pump copies the echo a moment later: wait for it.
    let run = super::run_ids(&project).pop().expect("a run directory");
    let log = project
        .path()
        .join(format!(".planrun/runs/{run}/logs/sleep.log"));
    wait_for("the sleep step's log to say it sleeps", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("sleeping"))
    });
    child.signal(libc::SIGKILL);
    child.wait();
    // The report rewritten after each step is whole after a crash and says what finished.
    let report: serde_json::Value =
        serde_json::from_str(&project.read(format!(".planrun/runs/{run}/report.json"))).unwrap();
    let steps = report["steps"].as_array().unwrap();
    let six = steps.iter().find(|s| s["id"] == "six").unwrap();
    assert_eq!(six["status"], "ok", "{report:#}");
    // SIGKILL leaves the step's group running; it is not part of what is checked here.
    // SAFETY: killpg only sends a signal to the group this test's plan started.
    unsafe { libc::killpg(pgid as libc::pid_t, libc::SIGKILL) };

    assert_ne!(snapshot(&project), before);
    assert!(freeze(&project).contains("six==1.16.0"));
    project
        .test()
        .args(["apply", &fixture("edits.toml"), "--target", "."])
        .status(2)
        .stderr(lines(&[
            "error: an interrupted run must be rolled back: planrun rollback \
             --target [TARGET]",
            "  hint: if you already put things right by hand, `planrun \
             rollback --abandon RUN --target [TARGET]` ends it (`planrun \
             history` lists the runs)",
        ]))
        .run();

    project
        .test()
        .args(["rollback", "--target", "."])
        // stdout: concurrent steps journal in either order; measured numbers vary.
        .stdout_contains("rolled back run [RUN] (plan kill) in [DURATION]")
        .stdout_contains("  deleted   tests/helpers/conftest.py")
        .stdout_contains("  removed   tests/helpers/")
        .stdout_contains("  restored  app.py")
        .stderr(lines(&[
            "note: cleared the stale lock of `apply` (pid [PID] on [HOST], started [TIME])",
        ]))
        .run();
    assert_eq!(snapshot(&project), before);
    assert_eq!(freeze(&project), frozen);
    apply_edits(&project);
}
