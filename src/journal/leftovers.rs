//! Files the run's commands left in the target: the tree is listed before the run's first
//! command and again when the apply ends, and on rollback what appeared in between (a test
//! database's `-wal` file, a report a suite writes) is moved into the run's report folder,
//! `.planrun/runs/<id>/leftovers/`, and listed, rather than left behind or deleted.
//!
//! What counts: every file, symlink or directory that did not exist before the first command,
//! existed when the apply ended (or, for an apply that was killed, exists now), and that
//! planrun did not write itself (the journal restores those). Not walked: `.git`, `.hg`,
//! `.planrun`, `node_modules`, environments (a directory holding `pyvenv.cfg`: the environment
//! journal owns them) and Python's caches (`__pycache__`, `.pytest_cache`: removed or restored
//! by the caches entry). A file a person creates after the apply ended is theirs and stays.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::caches::{CACHE_DIRS, SKIP};

/// Every entry under `target` (relative, sorted), less what is not walked (see the module).
pub fn scan(target: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(items) = fs::read_dir(target.join(&rel)) else {
            continue;
        };
        for item in items.flatten() {
            let name = item.file_name();
            if CACHE_DIRS.iter().chain(SKIP.iter()).any(|d| name == *d) {
                continue;
            }
            let child = rel.join(&name);
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() {
                if item.path().join("pyvenv.cfg").exists() {
                    continue;
                }
                stack.push(child.clone());
            }
            out.push(child);
        }
    }
    out.sort();
    out
}

/// The outermost paths of `now` that are new since `start`, were there at `end` (when the
/// apply's end was recorded) and are not `known` (journaled by planrun itself).
pub fn created(
    start: &[PathBuf],
    end: Option<&[PathBuf]>,
    now: &[PathBuf],
    known: &BTreeSet<PathBuf>,
) -> Vec<PathBuf> {
    let start: BTreeSet<&PathBuf> = start.iter().collect();
    let end: Option<BTreeSet<&PathBuf>> = end.map(|e| e.iter().collect());
    let mut out: Vec<PathBuf> = Vec::new();
    for path in now {
        let new = !start.contains(path)
            && end.as_ref().is_none_or(|e| e.contains(path))
            && !known.contains(path);
        // `now` is sorted: a directory comes before what is inside it.
        if new && !out.iter().any(|o| path.starts_with(o)) {
            out.push(path.clone());
        }
    }
    out
}

/// Moves each of `paths` (relative to `target`) to the same place under `into`; returns each
/// path moved with where it went. A path that cannot be moved stays where it is (logged).
pub fn move_into(target: &Path, paths: &[PathBuf], into: &Path) -> Vec<(String, PathBuf)> {
    let mut moved = Vec::new();
    for rel in paths {
        let from = target.join(rel);
        let to = into.join(rel);
        let done: io::Result<()> = to
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::rename(&from, &to));
        match done {
            Ok(()) => moved.push((rel.display().to_string(), to)),
            Err(e) => tracing::warn!("left `{}` in place: {e}", from.display()),
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_run_created_is_found_and_moved_and_the_rest_stays() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("t");
        for dir in ["tests", ".git", ".venv", "tests/__pycache__"] {
            fs::create_dir_all(target.join(dir)).unwrap();
        }
        fs::write(target.join(".venv/pyvenv.cfg"), "").unwrap();
        fs::write(target.join("tests/test_db.py"), "").unwrap();
        let start = scan(&target);
        assert_eq!(
            start,
            [PathBuf::from("tests"), PathBuf::from("tests/test_db.py")]
        );
        fs::write(target.join("tests/db.sqlite-wal"), "w").unwrap();
        fs::create_dir_all(target.join("out/deep")).unwrap();
        fs::write(target.join("out/deep/r.txt"), "r").unwrap();
        fs::write(target.join("pytest.ini"), "[pytest]\n").unwrap();
        fs::write(target.join(".git/index"), "").unwrap();
        fs::write(target.join(".venv/x.pyc"), "").unwrap();
        let end = scan(&target);
        // Written after the apply ended: a person's.
        fs::write(target.join("notes.txt"), "mine").unwrap();
        let known: BTreeSet<PathBuf> = [PathBuf::from("pytest.ini")].into();
        let now = scan(&target);
        let new = created(&start, Some(&end), &now, &known);
        assert_eq!(
            new,
            [PathBuf::from("out"), PathBuf::from("tests/db.sqlite-wal")]
        );
        let killed = created(&start, None, &now, &known);
        assert!(killed.contains(&PathBuf::from("notes.txt")));
        let into = t.path().join("leftovers");
        let moved = move_into(&target, &new, &into);
        assert_eq!(moved.len(), 2);
        assert_eq!(fs::read(into.join("out/deep/r.txt")).unwrap(), b"r");
        assert!(!target.join("tests/db.sqlite-wal").exists());
        assert!(target.join("notes.txt").exists());
    }
}
