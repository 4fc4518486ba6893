//! File systems that fill up or are read-only: exit codes say what happened, and planrun never
//! takes its own writes for a person's.

use std::fs;
use std::path::Path;

use super::{mini, plan};
use crate::support::repo_root;

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
        if code == 2 {
            assert!(
                applied
                    .stderr
                    .contains("hint: nothing was changed; free space"),
                "{}",
                applied.stderr
            );
        }
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
