//! The caches a test run leaves in a target (`__pycache__/`, `.pytest_cache/`): found before the
//! run's first command and again at rollback, so those the run created go away with it.
//!
//! Environments are not walked (a directory holding `pyvenv.cfg`: the environment journal
//! owns what changes there), nor `.git`, `.planrun` or `node_modules`, and symlinks are never
//! followed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Names of the cache directories a Python test run creates.
pub(crate) const CACHE_DIRS: [&str; 2] = ["__pycache__", ".pytest_cache"];

/// Directories never walked into.
pub(crate) const SKIP: [&str; 4] = [".git", crate::fsutil::STATE_DIR, "node_modules", ".hg"];

/// The caches found under a target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Cache directories, relative to the target, sorted.
    pub dirs: Vec<PathBuf>,
    /// Every file inside them, relative to the target, sorted.
    pub files: Vec<PathBuf>,
}

/// Whether a target-relative path lies in a cache directory.
pub fn is_cache(rel: &Path) -> bool {
    rel.components()
        .any(|c| CACHE_DIRS.iter().any(|d| c.as_os_str() == *d))
}

/// Whether a cache file is journaled so it comes back byte for byte: pytest's own cache (a
/// few small files a person may rely on, e.g. `--lf`), not bytecode, which Python rewrites.
pub fn worth_keeping(rel: &Path) -> bool {
    rel.components().any(|c| c.as_os_str() == ".pytest_cache")
}

/// Every cache directory under `target` and the files in them.
pub fn scan(target: &Path) -> Found {
    let mut found = Found::default();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(items) = fs::read_dir(target.join(&rel)) else {
            continue;
        };
        for item in items.flatten() {
            let Ok(kind) = item.file_type() else { continue };
            if !kind.is_dir() {
                continue;
            }
            let name = item.file_name();
            let child = rel.join(&name);
            if CACHE_DIRS.iter().any(|d| name == *d) {
                files_under(target, &child, &mut found.files);
                found.dirs.push(child);
            } else if !SKIP.iter().any(|d| name == *d) && !item.path().join("pyvenv.cfg").exists() {
                stack.push(child);
            }
        }
    }
    found.dirs.sort();
    found.files.sort();
    found
}

fn files_under(target: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(items) = fs::read_dir(target.join(rel)) else {
        return;
    };
    for item in items.flatten() {
        let child = rel.join(item.file_name());
        match item.file_type() {
            Ok(kind) if kind.is_dir() => files_under(target, &child, out),
            Ok(_) => out.push(child),
            Err(_) => {}
        }
    }
}

/// What removing new caches did: the paths removed, relative to the target.
pub fn remove_new(target: &Path, before: &Found) -> io::Result<Vec<PathBuf>> {
    let now = scan(target);
    let mut removed = Vec::new();
    for dir in &now.dirs {
        if before.dirs.contains(dir) {
            continue;
        }
        // A cache directory inside a new one went with it.
        if removed.iter().any(|r: &PathBuf| dir.starts_with(r)) {
            continue;
        }
        match fs::remove_dir_all(target.join(dir)) {
            Ok(()) => removed.push(dir.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    for file in &now.files {
        if before.files.binary_search(file).is_ok() || removed.iter().any(|r| file.starts_with(r)) {
            continue;
        }
        match fs::remove_file(target.join(file)) {
            Ok(()) => removed.push(file.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    // Directories inside existing caches that only new files filled are empty now.
    for dir in &before.dirs {
        prune_empty(&target.join(dir), false);
    }
    Ok(removed)
}

/// Removes empty directories below `dir` (and `dir` itself when `remove_self`).
fn prune_empty(dir: &Path, remove_self: bool) {
    if let Ok(items) = fs::read_dir(dir) {
        for item in items.flatten() {
            if item.file_type().is_ok_and(|k| k.is_dir()) {
                prune_empty(&item.path(), true);
            }
        }
    }
    if remove_self {
        let _ = fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_caches_go_and_old_ones_stay_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        fs::create_dir_all(t.join("pkg/__pycache__")).unwrap();
        fs::write(t.join("pkg/__pycache__/a.pyc"), "old").unwrap();
        fs::create_dir_all(t.join(".venv/lib/__pycache__")).unwrap();
        fs::write(t.join(".venv/pyvenv.cfg"), "home = /usr\n").unwrap();
        let before = scan(t);
        assert_eq!(before.dirs, vec![PathBuf::from("pkg/__pycache__")]);
        assert!(!is_cache(Path::new("pkg/a.py")));
        assert!(is_cache(Path::new("pkg/__pycache__/a.pyc")));

        fs::write(t.join("pkg/__pycache__/b.pyc"), "new").unwrap();
        fs::create_dir_all(t.join("tests/__pycache__")).unwrap();
        fs::write(t.join("tests/__pycache__/c.pyc"), "new").unwrap();
        fs::create_dir_all(t.join(".pytest_cache/v/cache")).unwrap();
        fs::write(t.join(".pytest_cache/v/cache/nodeids"), "[]").unwrap();
        fs::write(t.join(".venv/lib/__pycache__/x.pyc"), "env").unwrap();

        let removed = remove_new(t, &before).unwrap();
        assert_eq!(scan(t), before);
        assert!(removed.contains(&PathBuf::from(".pytest_cache")));
        assert_eq!(fs::read(t.join("pkg/__pycache__/a.pyc")).unwrap(), b"old");
        assert!(
            t.join(".venv/lib/__pycache__/x.pyc").exists(),
            "environments are not ours to clean here"
        );
    }
}
