//! The check after a restore: every entry of the snapshot is back (kind, mode, size, and the
//! content hash where a copy was saved), nothing else is there but caches, and the offline
//! freeze equals the one taken with the snapshot.

use std::fs;

use super::distinfo;
use super::error::EnvJournalError;
use super::manifest::{self, is_cache, Manifest, Node};

/// Differences shown in an error at most.
const SHOWN: usize = 20;

/// Checks the environment now against the snapshot `before`.
pub fn matches(before: &Manifest) -> Result<(), EnvJournalError> {
    let now = manifest::scan(&before.layout.roots)?;
    let mut differences = Vec::new();
    for (path, old) in before.entries.iter().filter(|(p, _)| !is_cache(p)) {
        let shown = path.display();
        match now.get(path) {
            None => differences.push(format!("`{shown}` is missing")),
            Some(node) if !same_content(old, node) => {
                differences.push(format!("`{shown}` differs ({})", node.word()));
            }
            Some(_) => {
                if let Node::File {
                    copy: Some(hash), ..
                } = old
                {
                    let bytes = fs::read(path).map_err(|e| {
                        EnvJournalError::io(format!("read `{}`", path.display()), e)
                    })?;
                    if blake3::hash(&bytes).to_hex().as_str() != hash {
                        differences.push(format!("`{shown}` has other content"));
                    }
                }
            }
        }
    }
    for path in now.keys().filter(|p| !is_cache(p)) {
        if !before.entries.contains_key(path) {
            differences.push(format!("`{}` is new", path.display()));
        }
    }
    let freeze = distinfo::freeze(&distinfo::installed(&before.layout.site_packages));
    if freeze != before.freeze {
        let missing: Vec<&String> = before
            .freeze
            .iter()
            .filter(|l| !freeze.contains(l))
            .collect();
        let extra: Vec<&String> = freeze
            .iter()
            .filter(|l| !before.freeze.contains(l))
            .collect();
        differences.push(format!(
            "freeze differs: missing {missing:?}, unexpected {extra:?}"
        ));
    }
    if differences.is_empty() {
        return Ok(());
    }
    let more = differences.len().saturating_sub(SHOWN);
    differences.truncate(SHOWN);
    if more > 0 {
        differences.push(format!("and {more} more"));
    }
    Err(EnvJournalError::Unverified { differences })
}

/// Same kind, mode and size (a file's mtime is not compared: a copy's content hash is).
fn same_content(old: &Node, now: &Node) -> bool {
    match (old, now) {
        (
            Node::File { mode, size, .. },
            Node::File {
                mode: m, size: s, ..
            },
        ) => (mode, size) == (m, s),
        _ => old.same(now),
    }
}
