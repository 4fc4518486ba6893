//! The manifest of an environment: every entry under its roots with kind, mode, size and mtime,
//! the hash of each saved copy, and the offline freeze, as one JSON file.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EnvJournalError;
use super::identity::EnvIdentity;
use super::layout::EnvLayout;

/// The manifest of the environment before the install.
pub const BEFORE: &str = "manifest.json";
/// The stat-only manifest written once the install finished.
pub const AFTER: &str = "after.json";
/// The directory of saved copies, named by their blake3.
pub const FILES: &str = "files";

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Node {
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Length in bytes.
        size: u64,
        /// Modification time, nanoseconds since the epoch.
        mtime_ns: i64,
        /// blake3 (hex) of the saved copy of its content, when one was saved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        copy: Option<String>,
    },
    /// A directory (its mtime changes with every cache file, so it is not kept).
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Symlink {
        /// What it points to.
        target: PathBuf,
    },
}

impl Node {
    /// Whether two nodes describe the same state (a saved copy does not count).
    pub fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (
                Node::File {
                    mode,
                    size,
                    mtime_ns,
                    ..
                },
                Node::File {
                    mode: m,
                    size: s,
                    mtime_ns: t,
                    ..
                },
            ) => (mode, size, mtime_ns) == (m, s, t),
            (Node::Dir { mode }, Node::Dir { mode: m }) => mode == m,
            (Node::Symlink { target }, Node::Symlink { target: t }) => target == t,
            _ => false,
        }
    }

    /// A short word for messages.
    pub fn word(&self) -> &'static str {
        match self {
            Node::File { .. } => "file",
            Node::Dir { .. } => "directory",
            Node::Symlink { .. } => "symlink",
        }
    }
}

/// Entries by absolute path.
pub type Tree = BTreeMap<PathBuf, Node>;

/// A snapshot's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// The environment it describes.
    pub identity: EnvIdentity,
    /// Its directories.
    pub layout: EnvLayout,
    /// The offline freeze before the install.
    pub freeze: Vec<String>,
    /// Distributions the install was to replace or remove.
    pub replaced: Vec<String>,
    /// Distributions the install was to add (`name==version`).
    pub added: Vec<String>,
    /// Every entry under the layout's roots.
    pub entries: Tree,
}

/// Whether a path is a Python bytecode cache, which Python rewrites on its own and which
/// rollback may always delete.
pub fn is_cache(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pyc" || e == "pyo")
        || path.components().any(|c| c.as_os_str() == "__pycache__")
}

/// The suffix of a stashed path's name: `.name.planrun-off` beside `name`.
const STASH_SUFFIX: &str = ".planrun-off";

/// Where `path` goes while the environment is in the state that lacks it.
pub fn stash_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{STASH_SUFFIX}"))
}

/// Whether `path` is a stash of an environment switch ([`super::switch`]) or lies inside one:
/// planrun's own, deleted on rollback.
pub fn is_stash(path: &Path) -> bool {
    path.components().any(|c| {
        let n = c.as_os_str().to_string_lossy();
        n.starts_with('.') && n.ends_with(STASH_SUFFIX)
    })
}

/// Stats every entry under `roots` without following symlinks (the roots themselves included).
pub fn scan(roots: &[PathBuf]) -> Result<Tree, EnvJournalError> {
    let mut tree = Tree::new();
    for root in roots {
        scan_into(root, &mut tree)?;
    }
    Ok(tree)
}

fn scan_into(path: &Path, tree: &mut Tree) -> Result<(), EnvJournalError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Gone between listing and stat (a cache written concurrently): nothing to record.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EnvJournalError::io(format!("stat `{}`", path.display()), e)),
    };
    if path.to_str().is_none() {
        return Err(EnvJournalError::NotUtf8(path.to_path_buf()));
    }
    let node = node_of(path, &meta)?;
    let is_dir = matches!(node, Node::Dir { .. });
    tree.insert(path.to_path_buf(), node);
    if is_dir {
        let entries = fs::read_dir(path)
            .map_err(|e| EnvJournalError::io(format!("list `{}`", path.display()), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| EnvJournalError::io(format!("list `{}`", path.display()), e))?;
            scan_into(&entry.path(), tree)?;
        }
    }
    Ok(())
}

/// The node of one path, from its metadata.
pub fn node_of(path: &Path, meta: &fs::Metadata) -> Result<Node, EnvJournalError> {
    let mode = meta.permissions().mode() & 0o7777;
    let kind = meta.file_type();
    Ok(if kind.is_symlink() {
        let target = fs::read_link(path)
            .map_err(|e| EnvJournalError::io(format!("read link `{}`", path.display()), e))?;
        Node::Symlink { target }
    } else if kind.is_dir() {
        Node::Dir { mode }
    } else {
        Node::File {
            mode,
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            copy: None,
        }
    })
}

/// Reads a manifest, checking it against the blake3 the journal holds.
pub fn read_checked(path: &Path, hash: &str) -> Result<Manifest, EnvJournalError> {
    let bytes =
        fs::read(path).map_err(|e| EnvJournalError::io(format!("read `{}`", path.display()), e))?;
    if blake3::hash(&bytes).to_hex().as_str() != hash {
        return Err(EnvJournalError::ManifestMismatch(path.to_path_buf()));
    }
    serde_json::from_slice(&bytes).map_err(|e| EnvJournalError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads the after-install tree, `None` when the install never finished.
pub fn read_after(dir: &Path) -> Result<Option<Tree>, EnvJournalError> {
    let path = dir.join(AFTER);
    match fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| EnvJournalError::Corrupt {
                    path,
                    reason: e.to_string(),
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EnvJournalError::io(format!("read `{}`", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_recognized() {
        assert!(is_cache(Path::new("/v/lib/x/__pycache__")));
        assert!(is_cache(Path::new(
            "/v/lib/x/__pycache__/a.cpython-311.pyc"
        )));
        assert!(is_cache(Path::new("/v/old.pyc")));
        assert!(!is_cache(Path::new("/v/lib/x/a.py")));
    }

    #[test]
    fn scan_records_kinds_and_same_ignores_copies() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("r");
        fs::create_dir_all(root.join("d")).unwrap();
        fs::write(root.join("d/f"), "abc").unwrap();
        std::os::unix::fs::symlink("d/f", root.join("l")).unwrap();
        let tree = scan(std::slice::from_ref(&root)).unwrap();
        assert_eq!(tree.len(), 4);
        let Some(Node::File { size, .. }) = tree.get(&root.join("d/f")) else {
            panic!("{tree:?}");
        };
        assert_eq!(*size, 3);
        assert_eq!(
            tree.get(&root.join("l")),
            Some(&Node::Symlink {
                target: "d/f".into()
            })
        );
        let mut copied = tree[&root.join("d/f")].clone();
        if let Node::File { copy, .. } = &mut copied {
            *copy = Some("h".into());
        }
        assert!(copied.same(&tree[&root.join("d/f")]));
        assert!(!copied.same(&tree[&root.join("d")]));
    }
}
