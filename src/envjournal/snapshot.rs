//! Taking a snapshot before an install: the manifest of the whole environment and copies of
//! every file the distributions about to be replaced or removed own, made durable with one
//! sync; and sealing it after the install with a stat-only manifest of what the install left.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::affected::Affected;
use super::distinfo::{self, Dist};
use super::durable;
use super::error::EnvJournalError;
use super::identity::EnvIdentity;
use super::layout::EnvLayout;
use super::manifest::{self, Manifest, Node};
use crate::fsutil;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotSummary {
    /// blake3 (hex) of `manifest.json`: the journal keeps it, restore checks it.
    pub manifest_hash: String,
    /// Entries in the manifest.
    pub entries: usize,
    /// Files whose content was saved.
    pub copies: usize,
    /// Bytes saved.
    pub bytes: u64,
    /// Distributions to be replaced or removed.
    pub replaced: Vec<String>,
    /// Distributions to be added.
    pub added: Vec<String>,
    /// Time taken, in seconds.
    pub seconds: f64,
}

/// Snapshots the environment into `dir` (created; it must not exist) before an install that
/// changes `affected`. Returns once everything in `dir` is durable.
pub fn take(
    dir: &Path,
    layout: &EnvLayout,
    identity: &EnvIdentity,
    affected: &Affected,
) -> Result<SnapshotSummary, EnvJournalError> {
    let started = Instant::now();
    let io = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| EnvJournalError::io(context, e)
    };
    let files_dir = dir.join(manifest::FILES);
    fs::create_dir_all(&files_dir).map_err(io("create", &files_dir))?;
    let mut entries = manifest::scan(&layout.roots)?;
    let dists = distinfo::installed(&layout.site_packages);
    let to_save = files_to_save(layout, &dists, &affected.replaced);
    let (mut copies, mut bytes) = (0, 0u64);
    let mut written: Vec<PathBuf> = Vec::new();
    for path in &to_save {
        let Some(Node::File { copy, .. }) = entries.get_mut(path) else {
            continue;
        };
        let content = fs::read(path).map_err(io("read", path))?;
        let hash = blake3::hash(&content).to_hex().to_string();
        let saved = files_dir.join(&hash);
        if !saved.exists() {
            let tmp = files_dir.join(format!("{hash}.tmp"));
            fs::write(&tmp, &content).map_err(io("write", &tmp))?;
            fs::rename(&tmp, &saved).map_err(io("write", &saved))?;
            bytes += content.len() as u64;
            written.push(saved);
        }
        *copy = Some(hash);
        copies += 1;
    }
    let manifest = Manifest {
        version: 1,
        identity: identity.clone(),
        layout: layout.clone(),
        freeze: distinfo::freeze(&dists),
        replaced: affected.replaced.clone(),
        added: affected.added.clone(),
        entries,
    };
    let json = serde_json::to_vec(&manifest)
        .map_err(|e| EnvJournalError::io("encode the manifest", std::io::Error::other(e)))?;
    let path = dir.join(manifest::BEFORE);
    fs::write(&path, &json).map_err(io("write", &path))?;
    written.push(path);
    make_durable(dir, &written)?;
    Ok(SnapshotSummary {
        manifest_hash: blake3::hash(&json).to_hex().to_string(),
        entries: manifest.entries.len(),
        copies,
        bytes,
        replaced: affected.replaced.clone(),
        added: affected.added.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The files owned by the distributions named in `replaced`, with the bytecode of their modules
/// (see [`with_bytecode`]); every file of `site-packages` when one of them does not say what it
/// owns.
fn files_to_save(layout: &EnvLayout, dists: &[Dist], replaced: &[String]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for dist in dists.iter().filter(|d| replaced.contains(&d.name)) {
        match distinfo::owned_files(dist) {
            Some(files) => out.extend(files),
            None => {
                tracing::warn!(
                    dist = dist.name,
                    "no RECORD, installed-files.txt or top_level.txt; saving all of site-packages"
                );
                for site in &layout.site_packages {
                    distinfo::walk_files(site, &mut out);
                }
            }
        }
    }
    with_bytecode(&mut out);
    out
}

/// Adds the compiled bytecode of every module in `files`: `DIR/__pycache__/NAME.*.pyc` for each
/// `DIR/NAME.py`. Installers that compile (Poetry's `--compile`, pip's default) need not list
/// these in `RECORD`, and uninstalling the module deletes them with it: without a copy,
/// rollback could not put them back.
pub fn with_bytecode(files: &mut BTreeSet<PathBuf>) {
    let mut stems: std::collections::BTreeMap<PathBuf, Vec<String>> = Default::default();
    for file in files.iter() {
        let (Some(dir), Some(stem)) = (file.parent(), file.file_stem()) else {
            continue;
        };
        if file.extension().is_some_and(|e| e == "py") {
            stems
                .entry(dir.join("__pycache__"))
                .or_default()
                .push(format!("{}.", stem.to_string_lossy()));
        }
    }
    for (cache, stems) in stems {
        let Ok(entries) = fs::read_dir(&cache) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".pyc") && stems.iter().any(|s| name.starts_with(s.as_str())) {
                files.insert(entry.path());
            }
        }
    }
}

/// Makes `written` (inside `dir`) and `dir`'s own name durable.
fn make_durable(dir: &Path, written: &[PathBuf]) -> Result<(), EnvJournalError> {
    let mut written = written.to_vec();
    // The snapshot directory's own entry lives in its parent (the run directory).
    written.push(dir.join(manifest::FILES));
    written.push(dir.to_path_buf());
    durable::sync(dir, &written, &[])
}

/// Seals the snapshot in `dir` once the install finished: records what the install left (stat
/// only), so rollback can tell planrun's changes from later ones.
pub fn seal(dir: &Path) -> Result<(), EnvJournalError> {
    let path = dir.join(manifest::BEFORE);
    let bytes = fs::read(&path)
        .map_err(|e| EnvJournalError::io(format!("read `{}`", path.display()), e))?;
    let before: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| EnvJournalError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let after = manifest::scan(&before.layout.roots)?;
    let json = serde_json::to_vec(&after)
        .map_err(|e| EnvJournalError::io("encode the manifest", std::io::Error::other(e)))?;
    let path = dir.join(manifest::AFTER);
    let tmp = dir.join(format!("{}.tmp", manifest::AFTER));
    let ctx = |e| EnvJournalError::io(format!("write `{}`", path.display()), e);
    let mut file = fs::File::create(&tmp).map_err(ctx)?;
    file.write_all(&json)
        .and_then(|()| file.sync_data())
        .map_err(ctx)?;
    fs::rename(&tmp, &path).map_err(ctx)?;
    fsutil::fsync_dir(dir).map_err(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module's bytecode comes with it, another module's does not, and a package's own
    /// `__pycache__` is found beside its files.
    #[test]
    fn modules_bring_their_bytecode() {
        let t = tempfile::tempdir().unwrap();
        let site = t.path();
        fs::create_dir_all(site.join("__pycache__")).unwrap();
        fs::create_dir_all(site.join("pkg/__pycache__")).unwrap();
        for f in [
            "six.py",
            "__pycache__/six.cpython-311.pyc",
            "__pycache__/sixteen.cpython-311.pyc",
            "__pycache__/other.cpython-311.pyc",
            "pkg/__init__.py",
            "pkg/__pycache__/__init__.cpython-311.pyc",
            "pkg/__pycache__/__init__.cpython-311.opt-1.pyc",
        ] {
            fs::write(site.join(f), "x").unwrap();
        }
        let mut files: BTreeSet<PathBuf> = [site.join("six.py"), site.join("pkg/__init__.py")]
            .into_iter()
            .collect();
        with_bytecode(&mut files);
        let got: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(site).unwrap().display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "__pycache__/six.cpython-311.pyc",
                "pkg/__init__.py",
                "pkg/__pycache__/__init__.cpython-311.opt-1.pyc",
                "pkg/__pycache__/__init__.cpython-311.pyc",
                "six.py",
            ]
        );
    }
}
