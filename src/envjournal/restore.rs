//! Restoring an environment from its snapshot, offline and without an installer: what the
//! install added is deleted, what it replaced is written back from the saved copies. Paths
//! changed after the install (drift) are left alone unless forced. Running it again, or after
//! a crash part-way, finishes the job: every decision is made from what is on disk now.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::distinfo;
use super::durable;
use super::error::EnvJournalError;
use super::identity::EnvIdentity;
use super::manifest::{self, is_cache, Manifest, Node, Tree};
use super::verify;

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestoreReport {
    /// Distributions removed (there now, not before the install), as freeze lines.
    pub removed: Vec<String>,
    /// Distributions put back as they were before the install, as freeze lines.
    pub restored: Vec<String>,
    /// Files, symlinks and directories deleted.
    pub files_deleted: usize,
    /// Files, symlinks and directories written back.
    pub files_written: usize,
    /// Time taken, in seconds.
    pub seconds: f64,
}

/// The changes that bring the tree back to the manifest.
#[derive(Debug, Default)]
struct Plan {
    delete: Vec<PathBuf>,
    mkdir: Vec<(PathBuf, u32)>,
    write: Vec<(PathBuf, Node)>,
    drift: Vec<PathBuf>,
    no_copy: Vec<PathBuf>,
}

/// Restores the environment snapshotted in `dir`, whose `manifest.json` must hash to
/// `manifest_hash` and describe `identity`, which must still be the environment on disk.
/// With `force`, paths changed after the install are restored too.
pub fn restore(
    dir: &Path,
    manifest_hash: &str,
    identity: &EnvIdentity,
    force: bool,
) -> Result<RestoreReport, EnvJournalError> {
    let started = Instant::now();
    let (before, after, now) = load(dir, manifest_hash, identity)?;
    let plan = plan(&before.entries, after.as_ref(), &now, force);
    if !plan.drift.is_empty() && !force {
        return Err(EnvJournalError::Drift { paths: plan.drift });
    }
    if !plan.no_copy.is_empty() {
        return Err(EnvJournalError::NoCopy {
            paths: plan.no_copy,
        });
    }
    let freeze_now = distinfo::freeze(&distinfo::installed(&before.layout.site_packages));
    let (deleted, written) = execute(dir, &plan)?;
    durable::sync(&before.layout.root, &written, &deleted)?;
    let (files_deleted, files_written) = (deleted.len(), written.len());
    verify::matches(&before)?;
    let (removed, restored) = freeze_changes(&freeze_now, &before);
    tracing::info!(
        root = %before.layout.root.display(),
        files_deleted,
        files_written,
        "environment restored"
    );
    Ok(RestoreReport {
        removed,
        restored,
        files_deleted,
        files_written,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The paths of the environment snapshotted in `dir` that changed after the install (a person
/// installed or edited something since): what [`restore`] would refuse without `force`.
/// Nothing is touched; a snapshot or identity that does not check out is an error.
pub fn drift(
    dir: &Path,
    manifest_hash: &str,
    identity: &EnvIdentity,
) -> Result<Vec<PathBuf>, EnvJournalError> {
    let (before, after, now) = load(dir, manifest_hash, identity)?;
    Ok(plan(&before.entries, after.as_ref(), &now, false).drift)
}

/// The snapshot's before-manifest (checked against its hash and the identity, which must still
/// be the environment on disk), its after-manifest if the install finished, and the env now.
fn load(
    dir: &Path,
    manifest_hash: &str,
    identity: &EnvIdentity,
) -> Result<(manifest::Manifest, Option<Tree>, Tree), EnvJournalError> {
    let before = manifest::read_checked(&dir.join(manifest::BEFORE), manifest_hash)?;
    if before.identity != *identity {
        return Err(EnvJournalError::Corrupt {
            path: dir.join(manifest::BEFORE),
            reason: "it describes another environment than its journal entry".into(),
        });
    }
    identity.check()?;
    let after = manifest::read_after(dir)?;
    let now = manifest::scan(&before.layout.roots)?;
    Ok((before, after, now))
}

/// Decides, path by path, what to do; nothing is touched yet.
fn plan(before: &Tree, after: Option<&Tree>, now: &Tree, force: bool) -> Plan {
    let mut plan = Plan::default();
    // Changed since the install (when the install was seen to finish) and not a cache.
    let drifted = |path: &Path, current: Option<&Node>| {
        let Some(after) = after else { return false };
        !is_cache(path)
            && !is_leftover(path)
            && !manifest::is_stash(path)
            && match (after.get(path), current) {
                (Some(a), Some(c)) => !a.same(c),
                (None, None) => false,
                _ => true,
            }
    };
    for (path, node) in now {
        match before.get(path) {
            Some(old) if old.same(node) => {}
            old => {
                if drifted(path, Some(node)) {
                    plan.drift.push(path.clone());
                    if !force {
                        continue;
                    }
                }
                let same_kind =
                    old.is_some_and(|o| std::mem::discriminant(o) == std::mem::discriminant(node));
                if !same_kind {
                    plan.delete.push(path.clone());
                }
                if let Some(old) = old {
                    wanted(&mut plan, path, old);
                }
            }
        }
    }
    for (path, old) in before {
        if now.contains_key(path) {
            continue;
        }
        if drifted(path, None) {
            plan.drift.push(path.clone());
            if !force {
                continue;
            }
        }
        wanted(&mut plan, path, old);
    }
    // Deleting deepest first empties a directory before it goes; a deleted directory takes
    // what is below it, so its descendants need no entries of their own.
    plan.delete
        .sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let deleted: std::collections::BTreeSet<PathBuf> = plan.delete.iter().cloned().collect();
    plan.delete
        .retain(|p| !p.ancestors().skip(1).any(|a| deleted.contains(a)));
    plan.mkdir.sort_by_key(|(p, _)| p.components().count());
    plan.drift.sort();
    plan.no_copy.sort();
    plan
}

/// The temporary file of a write-back cut short by a crash: this restore's own, never drift.
fn is_leftover(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n.starts_with('.') && n.ends_with(".planrun-tmp"))
}

/// Notes how to bring `path` back to `old`.
fn wanted(plan: &mut Plan, path: &Path, old: &Node) {
    match old {
        Node::Dir { mode } => plan.mkdir.push((path.to_path_buf(), *mode)),
        Node::Symlink { .. } | Node::File { copy: Some(_), .. } => {
            plan.write.push((path.to_path_buf(), old.clone()));
        }
        // Python writes its caches again on its own; an old one that changed just goes.
        Node::File { copy: None, .. } if is_cache(path) => {
            // A cache of another kind now was queued for deletion just before this call.
            let queued = plan.delete.last().is_some_and(|d| d == path);
            if fs::symlink_metadata(path).is_ok() && !queued {
                plan.delete.push(path.to_path_buf());
            }
        }
        Node::File { copy: None, .. } => plan.no_copy.push(path.to_path_buf()),
    }
}

/// Carries out a plan; returns the paths deleted and written.
fn execute(dir: &Path, plan: &Plan) -> Result<(Vec<PathBuf>, Vec<PathBuf>), EnvJournalError> {
    let io = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| EnvJournalError::io(context, e)
    };
    let mut deleted = Vec::new();
    for path in &plan.delete {
        let removed = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(e) => Err(e),
        };
        match removed {
            Ok(()) => deleted.push(path.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("delete", path)(e)),
        }
    }
    let mut written = Vec::new();
    for (path, mode) in &plan.mkdir {
        match fs::create_dir(path) {
            Ok(()) => {
                crate::ownership::give(path, crate::ownership::owner_for(path))
                    .map_err(io("set the owner of", path))?;
                written.push(path.clone());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create", path)(e)),
        }
        fs::set_permissions(path, fs::Permissions::from_mode(*mode))
            .map_err(io("set the mode of", path))?;
    }
    for (path, node) in &plan.write {
        write_back(dir, path, node)?;
        written.push(path.clone());
    }
    Ok((deleted, written))
}

/// Writes one file or symlink back from the snapshot, through a temporary name so a crash
/// leaves either the old or the new entry.
pub(super) fn write_back(dir: &Path, path: &Path, node: &Node) -> Result<(), EnvJournalError> {
    let io = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| EnvJournalError::io(context, e)
    };
    let tmp = crate::fsutil::temp_path(path);
    let _ = fs::remove_file(&tmp);
    match node {
        Node::Symlink { target } => {
            std::os::unix::fs::symlink(target, &tmp).map_err(io("create", &tmp))?;
        }
        Node::File {
            mode,
            mtime_ns,
            copy: Some(hash),
            ..
        } => {
            let saved = dir.join(manifest::FILES).join(hash);
            let bytes = fs::read(&saved).map_err(io("read", &saved))?;
            if blake3::hash(&bytes).to_hex().as_str() != hash {
                return Err(EnvJournalError::CopyDamaged {
                    path: path.to_path_buf(),
                    expected: hash.clone(),
                });
            }
            fs::write(&tmp, &bytes).map_err(io("write", &tmp))?;
            let file = fs::File::options()
                .write(true)
                .open(&tmp)
                .map_err(io("open", &tmp))?;
            file.set_permissions(fs::Permissions::from_mode(*mode))
                .map_err(io("set the mode of", &tmp))?;
            file.set_modified(time_of(*mtime_ns))
                .map_err(io("set the mtime of", &tmp))?;
        }
        Node::File { copy: None, .. } | Node::Dir { .. } => return Ok(()),
    }
    // The file it replaces keeps its owner; a file put back takes its directory's.
    crate::ownership::give(&tmp, crate::ownership::owner_for(path))
        .map_err(io("set the owner of", &tmp))?;
    fs::rename(&tmp, path).map_err(io("write", path))
}

fn time_of(ns: i64) -> SystemTime {
    let abs = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        SystemTime::UNIX_EPOCH + abs
    } else {
        SystemTime::UNIX_EPOCH - abs
    }
}

/// The freeze lines removed and put back, comparing the freeze before the restore with the
/// snapshot's.
fn freeze_changes(now: &[String], before: &Manifest) -> (Vec<String>, Vec<String>) {
    let removed = now
        .iter()
        .filter(|l| !before.freeze.contains(l))
        .cloned()
        .collect();
    let restored = before
        .freeze
        .iter()
        .filter(|l| !now.contains(l))
        .cloned()
        .collect();
    (removed, restored)
}
