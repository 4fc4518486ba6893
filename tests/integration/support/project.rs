//! Temp copies of example repositories and fixture targets, as committed, with tree digests.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{fnv1a, repo_root, Test};

/// Entries never copied from an example: local environments and planrun's own state.
const NOT_COPIED: &[&str] = &[".venv", ".planrun", "__pycache__", ".pytest_cache"];

/// Entries `hash_tree` ignores: planrun's state and what running Python leaves behind.
const NOT_HASHED: &[&str] = &[".planrun", ".venv", "__pycache__", ".pytest_cache"];

/// A temporary copy of `examples/<name>`, removed when dropped.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Copies `examples/<name>` as committed (see [`Project::from_dir`]) into a temp dir.
    pub fn new(name: &str) -> Project {
        let src = repo_root().join("examples").join(name);
        assert!(src.is_dir(), "no example {}", src.display());
        Project::from_dir(&src)
    }

    /// Copies a directory of this repository into a temp dir, e.g. a fixture target under
    /// tests/fixtures/targets/: its content as committed in git when it is committed, so that
    /// whatever an apply left in the working tree (the README's first command optimizes
    /// examples/persistence-demo in place) never becomes a test's starting point; else the
    /// working tree without its venv, caches or `.planrun`.
    pub fn from_dir(src: &Path) -> Project {
        assert!(src.is_dir(), "no directory {}", src.display());
        let name = src
            .file_name()
            .map_or("dir".into(), |n| n.to_string_lossy());
        let dir = tempfile::Builder::new()
            .prefix(&format!("planrun-{name}-"))
            .tempdir()
            .expect("create a temp dir");
        if !copy_committed(src, dir.path()) {
            copy_tree(src, dir.path());
        }
        Project { dir }
    }

    /// The copy's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the copy.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A file of the copy as text.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Writes a file of the copy, creating its directory.
    pub fn write(&self, rel: impl AsRef<Path>, text: &str) {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent directory");
        }
        let mut f =
            File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(text.as_bytes()).expect("write file");
    }

    /// Every file's mode and content digest (`len:fnv64`), keyed by relative path, ignoring
    /// `.planrun`, `.venv` and Python caches: equal maps mean byte-for-byte equal trees.
    pub fn hash_tree(&self) -> BTreeMap<PathBuf, (u32, String)> {
        let mut out = BTreeMap::new();
        hash_into(self.path(), self.path(), &mut out);
        out
    }

    /// A run of the real `planrun` in the copy, to be given its arguments and expectations.
    pub fn test(&self) -> Test<'_> {
        Test::in_project(self)
    }
}

/// Extracts `src` as committed at HEAD into `dst`; false when it is not in a git work tree
/// or not committed (a new fixture still being written), and nothing was extracted.
fn copy_committed(src: &Path, dst: &Path) -> bool {
    let Ok(rel) = src.strip_prefix(repo_root()) else {
        return false;
    };
    let Some(rel_text) = rel.to_str().filter(|r| !r.is_empty()) else {
        return false;
    };
    let archive = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["archive", "--format=tar", "HEAD", "--", rel_text])
        .output();
    let Some(archive) = archive
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())
    else {
        return false;
    };
    let mut tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dst)
        .arg(format!("--strip-components={}", rel.components().count()))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run tar");
    tar.stdin
        .take()
        .expect("tar's stdin")
        .write_all(&archive.stdout)
        .expect("feed tar");
    assert!(tar.wait().expect("wait for tar").success(), "tar failed");
    fs::read_dir(dst).is_ok_and(|mut d| d.next().is_some())
}

fn copy_tree(src: &Path, dst: &Path) {
    for entry in fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.expect("read directory entry");
        let name = entry.file_name();
        if NOT_COPIED.iter().any(|n| name == *n) {
            continue;
        }
        let (from, to) = (entry.path(), dst.join(&name));
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            fs::create_dir(&to).expect("create directory");
            copy_tree(&from, &to);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from).expect("read link"), &to)
                .expect("copy symlink");
        } else {
            // fs::copy keeps the permission bits, which hash_tree compares.
            fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
    }
}

/// Mode and `size:digest` of every file and symlink under `dir` (keys relative to `root`),
/// skipping the entries named in [`NOT_HASHED`]: what a target's own tree is compared by.
pub fn hash_into(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u32, String)>) {
    digest_into(root, dir, NOT_HASHED, out);
}

/// Mode and `size:digest` of every file and symlink under `dir`, keyed by path relative to
/// `dir`, skipping the entries named in `skip` (`&[]` for all, bytecode included).
pub fn digest_tree(dir: &Path, skip: &[&str]) -> BTreeMap<PathBuf, (u32, String)> {
    let mut out = BTreeMap::new();
    digest_into(dir, dir, skip, &mut out);
    out
}

fn digest_into(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<PathBuf, (u32, String)>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("read directory entry");
        if skip.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).expect("stat");
        let rel = path
            .strip_prefix(root)
            .expect("path under root")
            .to_path_buf();
        if meta.is_dir() {
            digest_into(root, &path, skip, out);
        } else {
            let bytes = if meta.file_type().is_symlink() {
                fs::read_link(&path)
                    .expect("read link")
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(&path).expect("read file")
            };
            out.insert(
                rel,
                (
                    meta.permissions().mode(),
                    format!("{}:{:016x}", bytes.len(), fnv1a(&bytes)),
                ),
            );
        }
    }
}

impl Project {
    /// Copies `tests/fixtures/<rel>` (a fixture target) into a temp dir, like [`Project::new`].
    pub fn fixture(rel: &str) -> Project {
        Project::from_dir(&repo_root().join("tests/fixtures").join(rel))
    }
}
