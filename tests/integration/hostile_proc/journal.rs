//! What planrun keeps in `.planrun/` is cleared and set aside as its messages say, and keeps
//! no secret: locks from another host, live locks, tampered journals, logs, uv's lock.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{mini, plan};
use crate::support::Project;

/// Writes `.planrun/lock` naming `pid` on `host`.
fn plant_lock(project: &Project, pid: u32, host: &str) -> std::path::PathBuf {
    use planrun::journal::lock::{lock_path, LockInfo};
    let info = LockInfo {
        pid,
        host: host.to_string(),
        started: "2026-01-01T00:00:00Z".into(),
        command: "apply".into(),
    };
    let lock = lock_path(project.path());
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    fs::write(&lock, serde_json::to_vec(&info).unwrap()).unwrap();
    lock
}

#[test]
fn unlock_of_a_live_lock_exits_locked() {
    let project = mini();
    // This test's own process: alive, on this host.
    let lock = plant_lock(
        &project,
        std::process::id(),
        &planrun::journal::lock::host_name(),
    );
    project
        .test()
        .args(["unlock", "--target", "."])
        .status(6)
        .stderr_contains("is locked by `apply`")
        .run();
    assert!(lock.exists());
}

#[test]
fn a_lock_shipped_from_another_host_is_cleared_as_its_hint_says() {
    let project = mini();
    let lock = plant_lock(&project, 1, "build-host-that-made-the-tarball");
    let refused = project
        .test()
        .args(["apply", &plan(EDIT).1, "--target", "."])
        .status(6)
        .stderr_unchecked("checked below")
        .run();
    assert!(
        refused
            .stderr
            .contains("hint: if no planrun runs on that host (the lock came with the repository, or the machine is gone), `planrun unlock --force` clears it"),
        "{}",
        refused.stderr
    );
    project
        .test()
        .args(["unlock", "--target", "."])
        .status(6)
        .stderr_contains("`planrun unlock --force` clears it")
        .run();
    assert!(lock.exists());
    project
        .test()
        .args(["unlock", "--force", "--target", "."])
        .stdout_contains("removed the lock of `apply` (pid 1 on build-host-that-made-the-tarball")
        .run();
    assert!(!lock.exists());
}

/// One edit of a tracked file.
const EDIT: &str = r#"
name = "edit"
description = "One edit."
[[phase]]
id = "p"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"
"#;

/// The run ids in the copy's journal.
fn journal_ids(project: &Project) -> Vec<String> {
    fs::read_dir(project.join(".planrun/journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn abandoning_a_journal_whose_records_were_edited_quarantines_it() {
    let project = mini();
    let (_dir, edit) = plan(EDIT);
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        .stdout_unchecked("the run's summary")
        .stderr_unchecked("progress")
        .run();
    let id = journal_ids(&project).pop().unwrap();
    let log = project.join(format!(".planrun/journal/{id}/entries.log"));
    let text = fs::read(&log).unwrap();
    let at = text.windows(6).position(|w| w == b"app.py").unwrap();
    let mut tampered = text.clone();
    tampered[at..at + 6].copy_from_slice(b"apq.py");
    fs::write(&log, tampered).unwrap();
    project
        .test()
        .args(["rollback", "--target", ".", "--abandon", &id])
        .stdout_contains("which was not written here, in ./.planrun/quarantine/")
        .run();
    assert!(project.join(format!(".planrun/quarantine/{id}")).is_dir());
    assert!(!project.join(format!(".planrun/journal/{id}")).exists());
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(items) = fs::read_dir(&d) else {
            continue;
        };
        for item in items {
            let path = item.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn secrets_raw_and_base64_never_reach_logs_reports_or_the_journal() {
    let project = mini();
    let secret = "s3cr3t-v4lue-42";
    let encoded = "czNjcjN0LXY0bHVlLTQy";
    let (_dir, plan) = plan(
        r#"
name = "secret"
description = "A command that prints its token, raw and base64-encoded."
[vars]
api_token = "placeholder"
[[phase]]
id = "p"
  [[phase.step]]
  id = "leak"
  action = "run"
  command = "echo raw=${api_token}; printf %s '${api_token}' | base64; echo leaked >> out.txt"
  changes = ["out.txt"]
  undo = "echo undo=${api_token}"
"#,
    );
    let reports = tempfile::tempdir().unwrap();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var"])
        .arg(format!("api_token={secret}"))
        .arg("--report-dir")
        .arg(reports.path())
        .stdout_unchecked("the run's summary; files are what is checked")
        .stderr_unchecked("progress; files are what is checked")
        .run();
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback's summary")
        .stderr_unchecked("notes")
        .run();
    let logs = files_containing(project.path(), b"raw=***");
    assert!(
        !logs.is_empty(),
        "the command's log was not written, masked"
    );
    assert!(
        !files_containing(reports.path(), b"raw=***").is_empty(),
        "the report dir's logs were not written, masked"
    );
    for needle in [secret, encoded] {
        for dir in [project.path(), reports.path()] {
            let found = files_containing(dir, needle.as_bytes());
            assert!(found.is_empty(), "`{needle}` in {found:?}");
        }
    }
}

#[test]
fn a_sigkill_during_uvs_dry_run_leaves_no_lock_in_the_persons_venv() {
    let project = mini();
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip", ".venv"])
        .current_dir(project.path())
        .status()
        .unwrap();
    assert!(made.success());
    let venv = project.join(".venv");
    let tools = tempfile::tempdir().unwrap();
    let flag = tools.path().join("dry-run-started");
    // A stand-in for uv whose dry run, like uv's, takes the venv's `.lock`, and then hangs.
    let uv = tools.path().join("uv");
    fs::write(
        &uv,
        format!(
            "#!/bin/sh\ncase \"$*\" in *--dry-run*) : > '{venv}/.lock'; touch '{flag}'; sleep 60;; esac\n",
            venv = venv.display(),
            flag = flag.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&uv, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_dir, plan) = plan(
        r#"
name = "install"
description = "An install into the person's venv."
[vars]
python = ".venv/bin/python"
[[phase]]
id = "p"
  [[phase.step]]
  id = "deps"
  action = "install"
  packages = ["six"]
  installer = "uv"
"#,
    );
    let apply = project
        .test()
        .args(["apply", &plan, "--target", "."])
        .env("UV", &uv)
        .status(128 + libc::SIGKILL)
        .stdout_unchecked("killed mid-run")
        .stderr_unchecked("killed mid-run")
        .spawn();
    let started = Instant::now();
    while !flag.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dry run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(venv.join(".lock").exists());
    apply.signal(libc::SIGKILL);
    apply.wait();
    project
        .test()
        .args(["rollback", "--target", "."])
        .env("UV", &uv)
        .stdout_unchecked("the rollback's summary")
        .stderr_contains("which uv left in the environment when the run")
        .run();
    assert!(
        !venv.join(".lock").exists(),
        "uv's lock was left in the venv"
    );
}
