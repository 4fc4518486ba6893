//! A hostile or careless repository cannot make planrun leave processes behind, lose who owns
//! its files, call planrun's own writes drift on a full disk, or crash on input it was handed.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{python, repo_root, Project};

fn mini() -> Project {
    Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"))
}

/// Writes `text` as `plan.toml` in a fresh temp dir outside the target.
fn plan(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

/// A process that is gone or only a zombie waiting for a reaper.
fn dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// The pids written, one a file, in `dir`.
fn pids_in(dir: &Path) -> Vec<u32> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| t.trim().parse().unwrap())
        .collect()
}

/// A test module that starts `escapes` (shell commands that write their pid into `pids` and,
/// 4 s later, `marker` into the target) and returns at once.
fn escaping_tests(pids: &Path, escapes: &[&str]) -> String {
    let mut text = String::from("import subprocess, time, os\n\n\ndef test_escape():\n");
    for (i, escape) in escapes.iter().enumerate() {
        let script = format!(
            "echo $$ > {}/{i}; sleep 4; echo x > {}/marker",
            pids.display(),
            "$TARGET"
        );
        text.push_str(&format!(
            "    subprocess.Popen({escape} + [\"sh\", \"-c\", {script:?}], \
             env=dict(os.environ, TARGET=os.getcwd()))\n"
        ));
    }
    text.push_str(&format!(
        "    while len(os.listdir({:?})) < {}:\n        time.sleep(0.01)\n",
        pids.display().to_string(),
        escapes.len()
    ));
    text
}

const SUITE_PLAN: &str = r#"
name = "escape"
description = "A suite whose tests start processes that leave its group."
[[phase]]
id = "p"
  [[phase.step]]
  id = "measure"
  action = "suite"
  command = "${python} -m pytest -q -p no:cacheprovider"
  runs = 1
  warmup = 0
  record = "baseline"
"#;

/// Waits past the moment the escaped processes would have written into the target.
fn outlive_the_escapes(started: Instant) {
    let until = Duration::from_secs(5);
    if let Some(left) = until.checked_sub(started.elapsed()) {
        std::thread::sleep(left);
    }
}

#[test]
fn a_suite_whose_tests_setsid_and_wipe_their_environment_leaves_no_process() {
    let project = mini();
    let pids = tempfile::tempdir().unwrap();
    project.write(
        "tests/test_escape.py",
        &escaping_tests(
            pids.path(),
            &[
                r#"["setsid"]"#,
                // No mark survives `env -i`: only the subreaper brings this one back.
                r#"["setsid", "env", "-i"]"#,
            ],
        ),
    );
    let (_dir, plan) = plan(SUITE_PLAN);
    let started = Instant::now();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var"])
        .arg(format!("python={}", python().display()))
        .status(0)
        .stdout_unchecked("the run's summary; the processes are what is checked")
        .stderr_contains("3 passed, 0 failed")
        .run();
    let pids = pids_in(pids.path());
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in &pids {
        assert!(dead(*pid), "process {pid} outlived the apply");
    }
    outlive_the_escapes(started);
    assert!(
        !project.join("marker").exists(),
        "a process of the suite wrote into the target after the apply"
    );
}

#[test]
fn a_timed_out_step_that_double_forks_leaves_no_process() {
    let project = mini();
    let pids = tempfile::tempdir().unwrap();
    let pid = pids.path().join("0");
    let (_dir, plan) = plan(&format!(
        r#"
name = "escape"
description = "A step that double-forks out of its group and then hangs."
[[phase]]
id = "p"
  [[phase.step]]
  id = "hang"
  action = "run"
  command = "(setsid sh -c 'trap \"\" TERM; echo $$ > {pid}; sleep 4; echo x > marker' &); while [ ! -s {pid} ]; do sleep 0.01; done; sleep 100"
  timeout = "2s"
"#,
        pid = pid.display()
    ));
    let started = Instant::now();
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(3)
        .stdout_unchecked("the run's summary; the processes are what is checked")
        .stderr_unchecked("the step's timeout; the processes are what is checked")
        .run();
    let pid: u32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    assert!(dead(pid), "the double-forked process outlived the apply");
    outlive_the_escapes(started);
    assert!(!project.join("marker").exists());
}

/// `path`'s inode, link count, owner and group.
fn stat(path: &Path) -> (u64, u64, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path).unwrap();
    (m.ino(), m.nlink(), m.uid(), m.gid())
}

fn chown_tree(dir: &Path, id: u32) {
    std::os::unix::fs::lchown(dir, Some(id), Some(id)).unwrap();
    if fs::symlink_metadata(dir).unwrap().is_dir() {
        for entry in fs::read_dir(dir).unwrap() {
            chown_tree(&entry.unwrap().path(), id);
        }
    }
}

#[test]
fn root_keeps_a_users_owners_and_hard_links_through_apply_and_rollback() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can own files for another user");
        return;
    }
    let project = mini();
    fs::hard_link(project.join("app.py"), project.join("app_link.py")).unwrap();
    chown_tree(project.path(), 1000);
    let before = stat(&project.join("app.py"));
    assert_eq!((before.1, before.2, before.3), (2, 1000, 1000));
    let templates = tempfile::tempdir().unwrap();
    fs::write(templates.path().join("new.txt"), "made by planrun\n").unwrap();
    let plan_path = templates.path().join("plan.toml");
    fs::write(
        &plan_path,
        r#"
name = "owners"
description = "An edit of a hard-linked file and a new file in a new folder."
[[phase]]
id = "p"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "def add"
  replacement = "def add_"
  [[phase.step]]
  id = "new"
  action = "write"
  template = "new.txt"
  path = "made/here/new.txt"
"#,
    )
    .unwrap();
    let original = project.read("app.py");
    project
        .test()
        .args(["apply", plan_path.to_str().unwrap(), "--target", "."])
        .status(0)
        .stdout_unchecked("the run's summary; owners are what is checked")
        .stderr_unchecked("progress; owners are what is checked")
        .run();
    assert_eq!(
        stat(&project.join("app.py")),
        before,
        "apply split or gave away"
    );
    assert!(project.read("app_link.py").contains("def add_"));
    for new in ["made", "made/here", "made/here/new.txt"] {
        let (_, _, uid, gid) = stat(&project.join(new));
        assert_eq!((uid, gid), (1000, 1000), "{new} is not the user's");
    }
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's summary; owners are what is checked")
        .stderr_unchecked("notes; owners are what is checked")
        .run();
    assert_eq!(
        stat(&project.join("app.py")),
        before,
        "rollback split or gave away"
    );
    assert_eq!(project.read("app_link.py"), original);
    assert!(!project.join("made").exists());
}

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

/// `dir` bind-mounted read-only over itself until dropped; `None` where mounting is not allowed.
struct ReadOnly(std::path::PathBuf);

impl ReadOnly {
    fn mount(dir: &Path) -> Option<ReadOnly> {
        let sh = |script: String| {
            std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .is_ok_and(|s| s.success())
        };
        let d = dir.display();
        if !sh(format!("mount --bind '{d}' '{d}' 2>/dev/null")) {
            return None;
        }
        let made = ReadOnly(dir.to_path_buf());
        sh(format!("mount -o remount,ro,bind '{d}' '{d}'")).then_some(made)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_folder_does_not_fail_the_rollback_of_a_file_already_gone() {
    let project = mini();
    project.write("ro/keep.txt", "the person's\n");
    let (_dir, plan) = plan(
        r#"
name = "made"
description = "A command that makes a file in a folder."
[[phase]]
id = "p"
  [[phase.step]]
  id = "make"
  action = "run"
  command = "echo x > ro/made.txt"
  changes = ["ro/made.txt"]
"#,
    );
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .stdout_unchecked("the run's summary")
        .stderr_unchecked("progress")
        .run();
    assert_eq!(project.read("ro/made.txt"), "x\n");
    // The person removes the file and makes its folder read-only.
    fs::remove_file(project.join("ro/made.txt")).unwrap();
    let Some(_ro) = ReadOnly::mount(&project.join("ro")) else {
        eprintln!("skipped: this machine does not allow a read-only bind mount");
        return;
    };
    assert!(
        fs::write(project.join("ro/probe"), "").is_err(),
        "not read-only"
    );
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's summary")
        .stderr_unchecked("notes")
        .run();
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

/// A tmpfs of `kib` KiB mounted on a fresh directory until dropped; `None` where mounting is
/// not allowed.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// KiB still free.
    fn free_kib(&self) -> u64 {
        let out = std::process::Command::new("df")
            .args(["-k", "--output=avail"])
            .arg(self.path())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().last().unwrap().trim().parse().unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.path())
            .status();
    }
}

/// A `run` step whose command fills the disk writing two declared files, between two edits.
const FILL_PLAN: &str = r#"
name = "fill"
description = "Writes that fill the disk."
[[phase]]
id = "p"
  [[phase.step]]
  id = "a"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"
  [[phase.step]]
  id = "b"
  action = "run"
  command = "head -c 30000 /dev/zero | tr '\\0' x > pytest.ini; head -c 30000 /dev/zero | tr '\\0' y > big.txt"
  changes = ["pytest.ini", "big.txt"]
  needs = ["a"]
  [[phase.step]]
  id = "c"
  action = "write"
  template = "t.txt"
  path = "new.txt"
  needs = ["b"]
"#;

#[test]
fn a_disk_that_fills_at_any_point_is_never_drift_and_rollback_completes_once_freed() {
    let (plan_dir, plan) = plan(FILL_PLAN);
    fs::write(plan_dir.path().join("t.txt"), "z".repeat(40_000)).unwrap();
    let source = repo_root().join("tests/fixtures/targets/mini");
    let mut original = std::collections::BTreeMap::new();
    crate::support::hash_into(&source, &source, &mut original);
    let mut codes = Vec::new();
    // Free space left before the apply, in KiB: from "no room to begin" to "enough for all".
    for free in (8..=360).step_by(16) {
        let Some(disk) = SmallDisk::mount(2048) else {
            eprintln!("skipped: this machine does not allow mounting a tmpfs");
            return;
        };
        let target = disk.path().join("t");
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(&source)
            .arg(&target)
            .status()
            .unwrap();
        assert!(copied.success());
        let filler = disk.path().join("filler");
        let fill = disk.free_kib().saturating_sub(free);
        fs::write(&filler, vec![0u8; usize::try_from(fill * 1024).unwrap()]).unwrap();
        let applied = crate::support::Test::new()
            .current_dir(&target)
            .args(["apply", &plan, "--target", "."])
            .status_in(&[0, 2, 3, 4])
            .stdout_unchecked("exit code and files are what is checked")
            .stderr_unchecked("exit code and files are what is checked")
            .run();
        let code = applied.code;
        codes.push((free, code));
        let tree = |target: &Path| {
            let mut now = std::collections::BTreeMap::new();
            crate::support::hash_into(target, target, &mut now);
            now
        };
        if code == 2 || code == 3 {
            assert_eq!(tree(&target), original, "free {free} KiB, exit {code}");
        }
        fs::remove_file(&filler).unwrap();
        crate::support::Test::new()
            .current_dir(&target)
            .args(["rollback", "--target", "."])
            .status(0)
            .stdout_unchecked("files are what is checked")
            .stderr_unchecked("files are what is checked")
            .run();
        assert_eq!(tree(&target), original, "free {free} KiB, exit {code}");
        let journal = target.join(".planrun/journal");
        for run in fs::read_dir(&journal).into_iter().flatten() {
            let reserve = run.unwrap().path().join("reserve");
            assert!(
                !reserve.exists(),
                "a rolled-back run keeps its reserve: free {free} KiB, exit {code}, {:?}",
                fs::read_to_string(reserve.with_file_name("meta.json"))
            );
        }
    }
    // The disk filled at some step: some applies failed there, and others had room for all.
    assert!(codes.iter().any(|(_, c)| *c == 3), "{codes:?}");
    assert!(codes.iter().any(|(_, c)| *c == 0), "{codes:?}");
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
