//! Root applying to a person's checkout leaves every file the person's, hard links whole.

use std::fs;
use std::path::Path;

use super::mini;

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
