//! What a venv the run created holds, listed after every step, so rollback removes only what
//! planrun put there and leaves anything else (a person's file dropped into the venv since)
//! with a message.
//!
//! The list is a file in the run's journal directory, MAC'd under the user key like every
//! record: a list planted or edited in a shipped journal is refused, not followed. A run killed
//! before its first list was written removes the venv whole, as before: the venv was checked
//! not to exist when the run made it, and nothing but the run could have filled it since.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::outcome::Outcome;
use super::trust;

/// Keeps these MACs apart from the journal's others.
const DOMAIN: &str = "created venv list v1";
/// The largest list read.
const MAX_LIST: u64 = 256 << 20;

/// The list's file in `run_dir` for the venv at `rel` (target-relative).
fn list_path(run_dir: &Path, rel: &Path) -> PathBuf {
    let name = trust::hash(rel.as_os_str().as_bytes());
    run_dir.join(format!("created-venv-{}.list", &name[..16]))
}

/// Every entry under `venv` (relative, `/`-separated, never through a symlink), directories
/// marked with a trailing `/`, sorted. Names holding a newline are left out (kept on rollback).
fn walk(venv: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(venv.join(&dir))? {
            let item = item?;
            let rel = dir.join(item.file_name());
            let mut line = rel.as_os_str().as_bytes().to_vec();
            if line.contains(&b'\n') {
                continue;
            }
            if item.file_type()?.is_dir() {
                line.push(b'/');
                stack.push(rel);
            }
            out.push(line);
        }
    }
    out.sort();
    Ok(out)
}

/// Lists what the venv at `venv` (absolute; `rel` from the target) holds now, with what it
/// held at every earlier listing, durably. The union matters when an install into the venv is
/// switched across for interleaved pairs: a run killed mid-switch leaves the venv in an earlier
/// state, whose files (a package the install upgraded) were listed when that state was current.
pub fn write(run_dir: &Path, rel: &Path, venv: &Path) -> Result<(), JournalError> {
    write_with(run_dir, rel, venv, &[])
}

/// [`write`], listing also `extra` (absolute paths inside `venv`, each with whether it is a
/// directory): what planrun is about to create there (the stashes of a switch).
pub fn write_with(
    run_dir: &Path,
    rel: &Path,
    venv: &Path,
    extra: &[(PathBuf, bool)],
) -> Result<(), JournalError> {
    let mut entries =
        walk(venv).map_err(|e| JournalError::io(format!("list `{}`", venv.display()), e))?;
    for (path, is_dir) in extra {
        let Ok(inside) = path.strip_prefix(venv) else {
            continue;
        };
        let mut line = inside.as_os_str().as_bytes().to_vec();
        if line.is_empty() || line.contains(&b'\n') {
            continue;
        }
        if *is_dir {
            line.push(b'/');
        }
        entries.push(line);
    }
    // What earlier lists named stays listed: a run killed while switched back to an earlier
    // state leaves that state's files (a package version an install replaced) in the venv.
    if let Some(earlier) = read(run_dir, rel)? {
        entries.extend(earlier);
    }
    entries.sort();
    entries.dedup();
    let body = entries.join(&b'\n');
    let mac = trust::mac(DOMAIN, &[rel.as_os_str().as_bytes(), &body])?;
    let mut text = mac.into_bytes();
    text.push(b'\n');
    text.extend_from_slice(&body);
    let path = list_path(run_dir, rel);
    crate::fsutil::write_atomic(&path, &text, Some(0o600))
        .map_err(|e| JournalError::io(format!("write `{}`", path.display()), e))
}

/// The entries the list of the venv at `rel` names, its MAC checked; `None` when the run
/// wrote no list.
fn read(run_dir: &Path, rel: &Path) -> Result<Option<Vec<Vec<u8>>>, JournalError> {
    let path = list_path(run_dir, rel);
    let text = match crate::fsutil::read_nofollow(&path, MAX_LIST) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(format!("read `{}`", path.display()), e)),
    };
    let corrupt = |reason: &str| JournalError::Corrupt {
        path: path.clone(),
        reason: reason.into(),
    };
    let split = text.iter().position(|b| *b == b'\n').unwrap_or(text.len());
    let (mac, body) = (&text[..split], text.get(split + 1..).unwrap_or_default());
    let mac = std::str::from_utf8(mac).map_err(|_| corrupt("its MAC is not text"))?;
    if !trust::verify(DOMAIN, &[rel.as_os_str().as_bytes(), body], mac)? {
        return Err(corrupt(
            "its MAC does not hold: it was not written by planrun here",
        ));
    }
    Ok(Some(
        body.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    ))
}

/// Removes what the list of the venv at `venv` names, deepest first, and the venv itself when
/// nothing else is left: [`Outcome::VenvRemoved`], or [`Outcome::DirKept`] when entries planrun
/// did not list remain. `None` when the run wrote no list (the caller removes the venv whole).
pub fn remove_listed(
    run_dir: &Path,
    rel: &Path,
    venv: &Path,
) -> Result<Option<Outcome>, JournalError> {
    let Some(mut listed) = read(run_dir, rel)? else {
        return Ok(None);
    };
    // Deepest first, so a directory is emptied before it is removed.
    let depth = |l: &Vec<u8>| {
        let name = l.strip_suffix(b"/").unwrap_or(l);
        name.iter().filter(|b| **b == b'/').count()
    };
    listed.sort_by_key(|l| std::cmp::Reverse(depth(l)));
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e: io::Error| JournalError::io(format!("remove `{}`", p.display()), e)
    };
    for line in &listed {
        // The bytecode Python wrote beside listed modules since the last list (a suite that
        // imported them): derived from what planrun put there, and never a person's.
        if let Some(dir) = line.strip_suffix(b"/") {
            let cache = venv
                .join(std::ffi::OsStr::from_bytes(dir))
                .join("__pycache__");
            if safe(dir)
                && real_dirs(venv, dir)
                && real_dirs(venv, &[dir, b"/__pycache__"].concat())
            {
                fs::remove_dir_all(&cache).map_err(io_err(&cache))?;
            }
        }
    }
    for line in listed {
        let (name, is_dir) = match line.strip_suffix(b"/") {
            Some(name) => (name, true),
            None => (line.as_slice(), false),
        };
        let name = Path::new(std::ffi::OsStr::from_bytes(name));
        if name.is_absolute()
            || name
                .components()
                .any(|c| c == std::path::Component::ParentDir)
        {
            continue;
        }
        let abs = venv.join(name);
        let Ok(meta) = fs::symlink_metadata(&abs) else {
            continue;
        };
        let result = if is_dir && meta.is_dir() {
            match fs::remove_dir(&abs) {
                Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => Ok(()),
                other => other,
            }
        } else if !is_dir && !meta.is_dir() {
            fs::remove_file(&abs)
        } else {
            // A file where a directory was listed, or the reverse: not what planrun made.
            Ok(())
        };
        result.map_err(io_err(&abs))?;
    }
    match fs::remove_dir(venv) {
        Ok(()) => Ok(Some(Outcome::VenvRemoved)),
        Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => Ok(Some(Outcome::DirKept)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Outcome::Unchanged)),
        Err(e) => Err(io_err(venv)(e)),
    }
}

/// Whether every directory from `venv` down to `venv/rel` is a directory, none a symlink: what
/// is removed under it stays in the venv.
fn real_dirs(venv: &Path, rel: &[u8]) -> bool {
    let mut at = venv.to_path_buf();
    Path::new(std::ffi::OsStr::from_bytes(rel))
        .components()
        .all(|c| {
            at.push(c);
            fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir())
        })
}

/// Whether a listed name stays inside the venv (relative, no `..`).
fn safe(name: &[u8]) -> bool {
    let name = Path::new(std::ffi::OsStr::from_bytes(name));
    !name.is_absolute()
        && !name
            .components()
            .any(|c| c == std::path::Component::ParentDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A package an install upgraded is listed at the step before it; after a switch back to
    /// that state (a run killed between pairs), its files are removed too.
    #[test]
    fn what_earlier_listings_named_is_removed_too() {
        let run = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        let venv = target.path().join(".venv");
        let old = venv.join("lib/site/six-1.16.0.dist-info");
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("RECORD"), "old").unwrap();
        let rel = Path::new(".venv");
        write(run.path(), rel, &venv).unwrap();
        fs::remove_dir_all(&old).unwrap();
        let new = venv.join("lib/site/six-1.17.0.dist-info");
        fs::create_dir_all(&new).unwrap();
        fs::write(new.join("RECORD"), "new").unwrap();
        write(run.path(), rel, &venv).unwrap();
        // Switched back to the earlier state: the old version's files are there again.
        fs::remove_dir_all(&new).unwrap();
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("RECORD"), "old").unwrap();
        assert_eq!(
            remove_listed(run.path(), rel, &venv).unwrap(),
            Some(Outcome::VenvRemoved)
        );
        assert!(!venv.exists());
    }

    #[test]
    fn only_listed_entries_go_and_a_persons_file_keeps_the_venv() {
        let run = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        let venv = target.path().join(".venv");
        fs::create_dir_all(venv.join("lib/site/pkg")).unwrap();
        fs::write(venv.join("pyvenv.cfg"), "home = /usr\n").unwrap();
        fs::write(venv.join("lib/site/pkg/a.py"), "a").unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", venv.join("python")).unwrap();
        let rel = Path::new(".venv");
        write(run.path(), rel, &venv).unwrap();
        fs::write(venv.join("lib/site/mine.txt"), "a person's").unwrap();
        let outcome = remove_listed(run.path(), rel, &venv).unwrap();
        assert_eq!(outcome, Some(Outcome::DirKept));
        assert_eq!(
            fs::read_to_string(venv.join("lib/site/mine.txt")).unwrap(),
            "a person's"
        );
        assert!(!venv.join("lib/site/pkg").exists());
        assert!(!venv.join("pyvenv.cfg").exists());
        fs::remove_file(venv.join("lib/site/mine.txt")).unwrap();
        write(run.path(), rel, &venv).unwrap();
        assert_eq!(
            remove_listed(run.path(), rel, &venv).unwrap(),
            Some(Outcome::VenvRemoved)
        );
        assert!(!venv.exists());
        assert_eq!(
            remove_listed(run.path(), Path::new("other"), &venv).unwrap(),
            None
        );
    }

    /// What a switch will stash and the bytecode Python wrote beside listed modules since the
    /// list go with the venv; a person's file elsewhere still keeps it.
    #[test]
    fn stashes_named_ahead_and_new_bytecode_go_with_the_venv() {
        let run = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        let venv = target.path().join(".venv");
        fs::create_dir_all(venv.join("lib/site/six")).unwrap();
        fs::write(venv.join("lib/site/six/a.py"), "a").unwrap();
        let rel = Path::new(".venv");
        let stash = venv.join("lib/site/.six.planrun-off");
        let extra = [(stash.clone(), true), (stash.join("a.py"), false)];
        write_with(run.path(), rel, &venv, &extra).unwrap();
        // Mid-switch: six moved aside, bytecode written since the list.
        fs::rename(venv.join("lib/site/six"), &stash).unwrap();
        fs::create_dir_all(venv.join("lib/site/__pycache__")).unwrap();
        fs::write(venv.join("lib/site/__pycache__/x.pyc"), "pyc").unwrap();
        assert_eq!(
            remove_listed(run.path(), rel, &venv).unwrap(),
            Some(Outcome::VenvRemoved)
        );
        assert!(!venv.exists());
    }

    #[test]
    fn an_edited_list_is_refused() {
        let run = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        let venv = target.path().join(".venv");
        fs::create_dir_all(&venv).unwrap();
        fs::write(venv.join("keep.txt"), "x").unwrap();
        let rel = Path::new(".venv");
        write(run.path(), rel, &venv).unwrap();
        let path = list_path(run.path(), rel);
        let mut text = fs::read(&path).unwrap();
        text.extend_from_slice(b"\n../../elsewhere");
        fs::write(&path, text).unwrap();
        assert!(matches!(
            remove_listed(run.path(), rel, &venv),
            Err(JournalError::Corrupt { .. })
        ));
        assert!(venv.join("keep.txt").exists());
    }
}
