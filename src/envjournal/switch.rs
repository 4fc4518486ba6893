//! Switching an environment between its state before an install and after it, for interleaved
//! measurement: what the install added or removed is moved aside under a stash name in its own
//! directory and back (one rename each, so a package directory keeps its bytecode caches and a
//! switch costs a few renames), and what it changed in place is rewritten from saved copies with
//! its recorded mode and mtime.
//!
//! Every step is atomic (a rename), so at any moment each path is in its before state or in its
//! after state, and a stash is a name [`is_stash`] recognises: a rollback after a crash in the
//! middle of a switch deletes the stashes as leftovers of planrun's own and restores the rest
//! from the snapshot as it always does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EnvJournalError;
use super::identity::EnvIdentity;
use super::manifest::{self, is_cache, is_stash, stash_of, Node, Tree};

/// How one path differs between the two states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Item {
    /// The install added it (with everything under it).
    Added {
        /// The path.
        path: PathBuf,
    },
    /// The install removed it (with everything under it).
    Removed {
        /// The path.
        path: PathBuf,
    },
    /// A file or symlink the install changed in place.
    Changed {
        /// The path.
        path: PathBuf,
        /// Its node before, with the saved copy of a file's content.
        before: Node,
        /// Its node after, with the saved copy of a file's content.
        after: Node,
    },
}

/// One environment's switch: the items that differ, and where the copies of their contents are.
#[derive(Debug, Clone)]
pub struct EnvSwitch {
    /// The interpreter, for messages.
    pub python: PathBuf,
    identity: EnvIdentity,
    items: Vec<Item>,
    /// The snapshot (its `files/` holds the copies of the before contents).
    before_files: PathBuf,
    /// Where the copies of the after contents are (in its `files/`).
    after_files: PathBuf,
}

/// What [`prepare`] cannot switch, in words.
pub type Unswitchable = String;

/// Prepares switching the environment snapshotted in `snapshot` (its `manifest.json` hashing to
/// `manifest_hash`) between that state and the one it is in now; the after contents of paths
/// changed in place are copied into `after_files`' `files/`. `Err(Ok(reason))` when the environment cannot
/// be switched exactly (a path changed in place without a saved copy, a path that changed kind).
pub fn prepare(
    snapshot: &Path,
    manifest_hash: &str,
    identity: &EnvIdentity,
    after_files: &Path,
) -> Result<EnvSwitch, Result<Unswitchable, EnvJournalError>> {
    let before =
        manifest::read_checked(&snapshot.join(manifest::BEFORE), manifest_hash).map_err(Err)?;
    identity.check().map_err(Err)?;
    let now = manifest::scan(&before.layout.roots).map_err(Err)?;
    let items = diff(&before.entries, &now).map_err(Ok)?;
    let copies = after_files.join(manifest::FILES);
    fs::create_dir_all(&copies).map_err(|e| {
        Err(EnvJournalError::io(
            format!("create `{}`", copies.display()),
            e,
        ))
    })?;
    let mut saved = Vec::with_capacity(items.len());
    for item in items {
        // What the install removed is gone: its stash is made from the snapshot's copies, so
        // the before state can be moved in with one rename.
        if let Item::Removed { path } = &item {
            stash_removed(path, &before.entries, snapshot)?;
        }
        saved.push(match item {
            Item::Changed {
                path,
                before,
                after,
            } => {
                let after = save_copy(&path, after, &copies).map_err(Err)?;
                Item::Changed {
                    path,
                    before,
                    after,
                }
            }
            other => other,
        });
    }
    Ok(EnvSwitch {
        python: identity.python.clone(),
        identity: identity.clone(),
        items: saved,
        before_files: snapshot.to_path_buf(),
        after_files: after_files.to_path_buf(),
    })
}

/// The items between `before` and `now`, caches and stashes left out; an added or removed
/// directory stands for everything under it.
fn diff(before: &Tree, now: &Tree) -> Result<Vec<Item>, Unswitchable> {
    let mut items = Vec::new();
    let mut covered: Vec<PathBuf> = Vec::new();
    let under = |covered: &[PathBuf], p: &Path| covered.iter().any(|c| p.starts_with(c));
    let paths: std::collections::BTreeSet<&PathBuf> = before.keys().chain(now.keys()).collect();
    for path in paths {
        if is_cache(path) || is_stash(path) || under(&covered, path) {
            continue;
        }
        match (before.get(path), now.get(path)) {
            (Some(b), Some(a)) if b.same(a) => {}
            (None, Some(_)) => {
                items.push(Item::Added { path: path.clone() });
                covered.push(path.clone());
            }
            (Some(_), None) => {
                items.push(Item::Removed { path: path.clone() });
                covered.push(path.clone());
            }
            (Some(b), Some(a)) => match (b, a) {
                (Node::File { copy: None, .. }, Node::File { .. }) => {
                    return Err(format!(
                        "`{}` changed in place and its old content was not saved",
                        path.display()
                    ))
                }
                (Node::File { .. }, Node::File { .. })
                | (Node::Symlink { .. }, Node::Symlink { .. }) => items.push(Item::Changed {
                    path: path.clone(),
                    before: b.clone(),
                    after: a.clone(),
                }),
                // A directory's mode only: nothing a suite's speed depends on.
                (Node::Dir { .. }, Node::Dir { .. }) => {}
                _ => {
                    return Err(format!(
                        "`{}` changed from a {} to a {}",
                        path.display(),
                        b.word(),
                        a.word()
                    ))
                }
            },
            (None, None) => {}
        }
    }
    Ok(items)
}

/// Builds the stash of `path`, which the install removed, from its entries in `before` (and
/// everything under it) with the copies in `files`' `files/`. `Err(Ok(reason))` when a file of it has no
/// saved copy.
fn stash_removed(
    path: &Path,
    before: &Tree,
    files: &Path,
) -> Result<(), Result<Unswitchable, EnvJournalError>> {
    let stash = stash_of(path);
    let io = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| Err(EnvJournalError::io(context, e))
    };
    // Entries sort parents first.
    for (p, node) in before.range(path.to_path_buf()..) {
        if !p.starts_with(path) {
            break;
        }
        if is_cache(p) {
            continue;
        }
        let rel = p.strip_prefix(path).unwrap_or(Path::new(""));
        let to = if rel.as_os_str().is_empty() {
            stash.clone()
        } else {
            stash.join(rel)
        };
        match node {
            Node::Dir { mode } => {
                fs::create_dir(&to).map_err(io("create", &to))?;
                fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(*mode))
                    .map_err(io("set the mode of", &to))?;
            }
            Node::File { copy: None, .. } => {
                return Err(Ok(format!(
                    "`{}` was removed and no copy of it was saved",
                    p.display()
                )))
            }
            _ => super::restore::write_back(files, &to, node).map_err(Err)?,
        }
    }
    Ok(())
}

/// Saves the content of the file at `path` (now) under its blake3 in `dir`.
fn save_copy(path: &Path, node: Node, dir: &Path) -> Result<Node, EnvJournalError> {
    let Node::File {
        mode,
        size,
        mtime_ns,
        ..
    } = node
    else {
        return Ok(node);
    };
    let bytes =
        fs::read(path).map_err(|e| EnvJournalError::io(format!("read `{}`", path.display()), e))?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let saved = dir.join(&hash);
    if !saved.exists() {
        fs::write(&saved, &bytes)
            .map_err(|e| EnvJournalError::io(format!("write `{}`", saved.display()), e))?;
    }
    Ok(Node::File {
        mode,
        size,
        mtime_ns,
        copy: Some(hash),
    })
}

/// What one switch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switched {
    /// Paths renamed (to or from their stash).
    pub moved: usize,
    /// Files rewritten from copies.
    pub written: usize,
}

impl EnvSwitch {
    /// How many paths differ between the two states.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Every path a switch puts under a stash name (absolute, with whether it is a directory):
    /// the stash of each added path with what is under it now, and the stash already built
    /// for each removed one. A venv's list names them, so a rollback after a crash in the
    /// middle of a switch removes them with the venv.
    pub fn stash_paths(&self) -> Vec<(PathBuf, bool)> {
        let mut out = Vec::new();
        for item in &self.items {
            let (Item::Added { path } | Item::Removed { path }) = item else {
                continue;
            };
            let from = match item {
                Item::Added { .. } => path.clone(),
                _ => stash_of(path),
            };
            let stash = stash_of(path);
            let mut stack = vec![PathBuf::new()];
            while let Some(rel) = stack.pop() {
                let at = from.join(&rel);
                let Ok(meta) = fs::symlink_metadata(&at) else {
                    continue;
                };
                let is_dir = meta.is_dir();
                out.push((
                    if rel.as_os_str().is_empty() {
                        stash.clone()
                    } else {
                        stash.join(&rel)
                    },
                    is_dir,
                ));
                if is_dir {
                    for entry in fs::read_dir(&at).into_iter().flatten().flatten() {
                        stack.push(rel.join(entry.file_name()));
                    }
                }
            }
        }
        out
    }

    /// Whether the two states are the same.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Brings every item to its before (`to_after` false) or after state; items already there
    /// are left alone, so a switch cut short is finished by running it again. `pause` runs
    /// halfway (a test's hook).
    pub fn switch(
        &self,
        to_after: bool,
        pause: &mut dyn FnMut(),
    ) -> Result<Switched, EnvJournalError> {
        self.identity.check()?;
        let mut done = Switched::default();
        let half = self.items.len() / 2;
        for (i, item) in self.items.iter().enumerate() {
            if i == half {
                pause();
            }
            match item {
                Item::Added { path } => {
                    done.moved += usize::from(move_between(path, to_after)?);
                }
                Item::Removed { path } => {
                    done.moved += usize::from(move_between(path, !to_after)?);
                }
                Item::Changed {
                    path,
                    before,
                    after,
                } => {
                    let (node, dir) = if to_after {
                        (after, &self.after_files)
                    } else {
                        (before, &self.before_files)
                    };
                    done.written += usize::from(write_node(path, node, dir)?);
                }
            }
        }
        Ok(done)
    }

    /// Deletes the stashes the after state leaves (what the install removed, which the
    /// snapshot holds for rollback): the environment ends as the install left it.
    pub fn clean(&self) -> Result<(), EnvJournalError> {
        for item in &self.items {
            if let Item::Removed { path } = item {
                let stash = stash_of(path);
                let removed = match fs::symlink_metadata(&stash) {
                    Ok(m) if m.is_dir() => fs::remove_dir_all(&stash),
                    Ok(_) => fs::remove_file(&stash),
                    Err(e) => Err(e),
                };
                match removed {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(EnvJournalError::io(
                            format!("remove `{}`", stash.display()),
                            e,
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

/// Puts `path` in place (`present`) or in its stash; whether anything moved.
fn move_between(path: &Path, present: bool) -> Result<bool, EnvJournalError> {
    let stash = stash_of(path);
    let (from, to) = if present {
        (stash.as_path(), path)
    } else {
        (path, stash.as_path())
    };
    match fs::rename(from, to) {
        Ok(()) => Ok(true),
        // Already where it belongs (a switch finished again, or one cut short).
        Err(e) if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(to).is_ok() => {
            Ok(false)
        }
        Err(e) => Err(EnvJournalError::io(
            format!("move `{}` to `{}`", from.display(), to.display()),
            e,
        )),
    }
}

/// Writes `node` at `path` from the copy in `dir` through a temporary name (one rename), with
/// its mode and mtime, as a restore does; whether anything was written.
fn write_node(path: &Path, node: &Node, dir: &Path) -> Result<bool, EnvJournalError> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if manifest::node_of(path, &meta).is_ok_and(|n| n.same(node)) {
            return Ok(false);
        }
    }
    super::restore::write_back(dir, path, node)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, copy: Option<&str>) -> Node {
        Node::File {
            mode: 0o644,
            size,
            mtime_ns: 1,
            copy: copy.map(str::to_string),
        }
    }

    fn tree(nodes: &[(&str, Node)]) -> Tree {
        nodes
            .iter()
            .map(|(p, n)| (PathBuf::from(p), n.clone()))
            .collect()
    }

    #[test]
    fn the_diff_names_each_added_or_removed_top_path_once_and_ignores_caches() {
        let dir = Node::Dir { mode: 0o755 };
        let before = tree(&[
            ("/sp", dir.clone()),
            ("/sp/six.py", file(1, Some("h"))),
            ("/sp/six-1.16.dist-info", dir.clone()),
            ("/sp/six-1.16.dist-info/RECORD", file(1, Some("r"))),
        ]);
        let now = tree(&[
            ("/sp", dir.clone()),
            ("/sp/six.py", file(2, None)),
            ("/sp/six-1.17.dist-info", dir.clone()),
            ("/sp/six-1.17.dist-info/RECORD", file(1, None)),
            ("/sp/__pycache__/six.cpython-312.pyc", file(9, None)),
            ("/sp/.old.planrun-off", file(3, None)),
        ]);
        let items = diff(&before, &now).unwrap();
        assert_eq!(
            items,
            [
                Item::Removed {
                    path: "/sp/six-1.16.dist-info".into()
                },
                Item::Added {
                    path: "/sp/six-1.17.dist-info".into()
                },
                Item::Changed {
                    path: "/sp/six.py".into(),
                    before: file(1, Some("h")),
                    after: file(2, None),
                },
            ]
        );
    }

    #[test]
    fn a_file_changed_in_place_without_its_old_copy_cannot_be_switched() {
        let before = tree(&[("/sp/a.py", file(1, None))]);
        let now = tree(&[("/sp/a.py", file(2, None))]);
        assert_eq!(
            diff(&before, &now).unwrap_err(),
            "`/sp/a.py` changed in place and its old content was not saved"
        );
    }

    #[test]
    fn stashes_are_named_beside_their_path_and_recognised_below_it() {
        let stash = stash_of(Path::new("/sp/xdist"));
        assert_eq!(stash, Path::new("/sp/.xdist.planrun-off"));
        assert!(is_stash(&stash.join("__init__.py")));
        assert!(!is_stash(Path::new("/sp/xdist/__init__.py")));
    }
}
