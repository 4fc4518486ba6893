use super::*;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

/// A committed repository with `sub/a.txt`, `b.txt`, a symlink and a file never added.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    fs::create_dir(t.join("sub")).unwrap();
    fs::write(t.join("sub/a.txt"), "a").unwrap();
    fs::write(t.join("b.txt"), "b").unwrap();
    std::os::unix::fs::symlink("b.txt", t.join("link")).unwrap();
    git(t, &["init", "-q"]);
    git(t, &["add", "."]);
    git(t, &["commit", "-qm", "init"]);
    fs::write(t.join("loose.txt"), "not tracked").unwrap();
    dir
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn only_changed_tracked_files_are_named() {
    let plain = tempfile::tempdir().unwrap();
    fs::write(plain.path().join("a"), "a").unwrap();
    assert!(
        uncommitted(plain.path(), &names(&["a"])).is_empty(),
        "no git"
    );
    let dir = repo();
    let t = dir.path();
    let all = names(&["sub/a.txt", "b.txt", "link", "loose.txt", "missing.txt"]);
    assert!(uncommitted(t, &all).is_empty());
    fs::write(t.join("sub/a.txt"), "changed").unwrap();
    fs::write(t.join("b.txt"), "c").unwrap();
    fs::remove_file(t.join("link")).unwrap();
    std::os::unix::fs::symlink("elsewhere", t.join("link")).unwrap();
    assert_eq!(uncommitted(t, &all), names(&["sub/a.txt", "b.txt", "link"]));
    // The same content again is clean whatever its timestamps say.
    fs::write(t.join("b.txt"), "b").unwrap();
    assert_eq!(uncommitted(t, &all), names(&["sub/a.txt", "link"]));
    fs::remove_file(t.join("sub/a.txt")).unwrap();
    assert_eq!(
        uncommitted(t, &names(&["sub/a.txt"])),
        names(&["sub/a.txt"])
    );
}

#[test]
fn index_v4_subdirectory_targets_and_absolute_paths_are_read() {
    let dir = repo();
    let t = dir.path();
    for n in 0..5 {
        fs::write(t.join(format!("sub/file-{n}.txt")), format!("{n}")).unwrap();
    }
    git(t, &["add", "."]);
    git(t, &["update-index", "--index-version", "4"]);
    fs::write(t.join("sub/file-3.txt"), "three").unwrap();
    let sub = t.join("sub");
    assert_eq!(
        uncommitted(&sub, &names(&["file-2.txt", "file-3.txt", "a.txt"])),
        names(&["file-3.txt"])
    );
    let abs = t.join("sub/file-3.txt").display().to_string();
    assert_eq!(uncommitted(t, std::slice::from_ref(&abs)), vec![abs]);
}

#[test]
fn files_git_is_told_not_to_look_at_are_not_named() {
    let dir = repo();
    let t = dir.path();
    git(t, &["update-index", "--assume-unchanged", "b.txt"]);
    git(t, &["update-index", "--skip-worktree", "sub/a.txt"]);
    fs::write(t.join("b.txt"), "changed").unwrap();
    fs::write(t.join("sub/a.txt"), "changed").unwrap();
    assert!(uncommitted(t, &names(&["b.txt", "sub/a.txt"])).is_empty());
}

#[test]
fn a_hostile_index_reads_as_nothing() {
    let dir = repo();
    let t = dir.path();
    fs::write(t.join("b.txt"), "changed").unwrap();
    let index = t.join(".git/index");
    fs::remove_file(&index).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &index).unwrap();
    assert!(uncommitted(t, &names(&["b.txt"])).is_empty());
    fs::remove_file(&index).unwrap();
    fs::write(&index, b"DIRC\0\0\0\x02\xff\xff\xff\xff").unwrap();
    assert!(uncommitted(t, &names(&["b.txt"])).is_empty());
}

#[test]
fn varints_decode_as_git_writes_them() {
    assert_eq!(varint(&[0x05]), Some((5, 1)));
    assert_eq!(varint(&[0x80, 0x00]), Some((128, 2)));
    assert_eq!(varint(&[0x80]), None);
    assert!(object_format_is_sha256(
        "[core]\n\tbare = false\n[extensions]\n\tobjectFormat = sha256\n"
    ));
    assert!(!object_format_is_sha256(
        "[core]\n\tobjectformat = sha256\n"
    ));
}

proptest::proptest! {
    /// An index planted by a repository is read or refused, never a panic or a runaway
    /// allocation, whatever its bytes.
    #[test]
    fn any_index_bytes_read_or_refused(
        version in 2u32..=4,
        count in proptest::prelude::any::<u32>(),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
    ) {
        let mut bytes = b"DIRC".to_vec();
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(&body);
        for hash_len in [20, 32] {
            let entries = parse_index(&bytes, hash_len);
            proptest::prop_assert!(entries.map_or(0, |e| e.len()) <= body.len() / 62 + 1);
        }
    }
}
