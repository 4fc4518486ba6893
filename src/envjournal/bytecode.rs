//! The bytecode planrun's own runs leave in an environment: the `__pycache__` directories and
//! `.pyc` files under its roots are listed before the run's first command, and on rollback the
//! new ones are removed, in an environment outside the target as inside it. Only bytecode is
//! ever removed (Python writes it again whenever it needs it), never followed through a symlink.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Whether `path` is bytecode or a bytecode directory.
fn is_bytecode(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "__pycache__")
        || path.extension().is_some_and(|e| e == "pyc" || e == "pyo")
}

/// Every `__pycache__` directory and `.pyc` file under `roots` (absolute, sorted).
pub fn scan(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        let Ok(items) = fs::read_dir(&dir) else {
            continue;
        };
        for item in items.flatten() {
            let path = item.path();
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path.clone());
            }
            if !kind.is_symlink() && is_bytecode(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Removes the bytecode under `roots` that is not in `before`; returns what went (a directory
/// once, not each file in it).
pub fn remove_new(roots: &[PathBuf], before: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let before: BTreeSet<&PathBuf> = before.iter().collect();
    let mut removed: Vec<PathBuf> = Vec::new();
    for path in scan(roots) {
        if before.contains(&path) || removed.iter().any(|r| path.starts_with(r)) {
            continue;
        }
        let gone = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match gone {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_bytecode_goes_and_old_bytecode_and_sources_stay() {
        let t = tempfile::tempdir().unwrap();
        let site = t.path().join("lib/site-packages");
        fs::create_dir_all(site.join("pkg/__pycache__")).unwrap();
        fs::write(site.join("pkg/__init__.py"), "").unwrap();
        fs::write(site.join("pkg/__pycache__/__init__.cpython-311.pyc"), "old").unwrap();
        let roots = [t.path().to_path_buf()];
        let before = scan(&roots);
        fs::write(site.join("pkg/__pycache__/mod.cpython-311.pyc"), "new").unwrap();
        fs::create_dir_all(site.join("other/__pycache__")).unwrap();
        fs::write(site.join("other/__pycache__/a.cpython-311.pyc"), "new").unwrap();
        fs::write(site.join("other/a.py"), "").unwrap();
        let removed = remove_new(&roots, &before).unwrap();
        assert_eq!(
            removed,
            [
                site.join("other/__pycache__"),
                site.join("pkg/__pycache__/mod.cpython-311.pyc")
            ]
        );
        assert_eq!(scan(&roots), before);
        assert!(site.join("other/a.py").exists());
    }
}
