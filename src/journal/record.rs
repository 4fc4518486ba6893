//! Recording a run: each before-image is appended to the run's log and synced before the caller
//! mutates anything.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::entry::{self, Before, Entry};
use super::error::JournalError;
use super::lock;
use super::paths;
use super::state::{self, RunMeta, RunRecord, Status};
use crate::envjournal::{self, Affected, EnvIdentity, EnvLayout};
use crate::fsutil::{self, FileImage};
use crate::pyenv::PythonEnv;

/// An open run on a target. Safe to share between threads: recording is serialized so entry
/// numbers follow the order in which mutations were announced.
#[derive(Debug)]
pub struct Journal {
    target: PathBuf,
    run_dir: PathBuf,
    id: String,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    next: u32,
    /// The run's log, opened for appending.
    log: fs::File,
    /// Its length after the last complete record.
    len: u64,
    /// A failed append could not be cut back off: later records would be unreadable after it.
    poisoned: bool,
    files: HashSet<PathBuf>,
    /// The after-state last recorded for each journaled file.
    after: std::collections::HashMap<PathBuf, entry::After>,
    /// The caches were recorded (once per run).
    caches: bool,
    /// The target's tree when the apply ended was recorded.
    tree_end: bool,
    dirs: HashSet<PathBuf>,
    /// Venvs this run created (absolute): rollback deletes them whole, so installs into them
    /// need no snapshot.
    created: HashSet<PathBuf>,
    /// The snapshot of each interpreter's latest install, until it is sealed.
    unsealed: HashMap<PathBuf, PathBuf>,
    record: RunRecord,
}

impl Journal {
    /// Starts a run on `target`: creates `.planrun/journal/<run-id>/meta.json` with status running.
    pub fn begin(target: &Path, meta: RunMeta) -> Result<Journal, JournalError> {
        let target = std::path::absolute(target)
            .map_err(|e| JournalError::io(format!("resolve `{}`", target.display()), e))?;
        let journal_dir = paths::ensure_journal_dir(&target)?;
        let now = SystemTime::now();
        let (id, run_dir) = (0..16u8)
            .find_map(|i| {
                let id = state::new_run_id(now, i);
                let dir = journal_dir.join(&id);
                fs::create_dir(&dir).ok().map(|()| (id, dir))
            })
            .ok_or_else(|| {
                JournalError::io(
                    format!("create a run directory in `{}`", journal_dir.display()),
                    io::Error::from(io::ErrorKind::AlreadyExists),
                )
            })?;
        let record = RunRecord {
            id: id.clone(),
            plan: meta.plan,
            plan_path: meta.plan_path,
            started: crate::timestamp::rfc3339(now),
            status: Status::Running,
            finished: None,
            pid: std::process::id(),
            host: lock::host_name(),
            plan_hash: meta.plan_hash,
            mac: String::new(),
        };
        let log_path = run_dir.join(entry::LOG);
        let log = fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| JournalError::io(format!("create `{}`", log_path.display()), e))?;
        // Room for the records a step that fills the disk still needs, taken before anything
        // changes: a disk too full for it is refused while nothing has happened yet.
        if let Err(e) = super::reserve::make(&run_dir) {
            let _ = fs::remove_dir_all(&run_dir);
            return Err(JournalError::io(
                format!("keep room for the journal in `{}`", run_dir.display()),
                e,
            ));
        }
        // Writing meta.json syncs the run directory, which makes the log's name durable too.
        // A run that could not even say it began leaves nothing behind.
        if let Err(e) = state::write_record(&run_dir, &record) {
            let _ = fs::remove_dir_all(&run_dir);
            return Err(e);
        }
        fsutil::fsync_dir(&journal_dir)
            .map_err(|e| JournalError::io(format!("sync `{}`", journal_dir.display()), e))?;
        Ok(Journal {
            target,
            run_dir,
            id,
            inner: Mutex::new(Inner {
                next: 1,
                log,
                len: 0,
                poisoned: false,
                files: HashSet::new(),
                after: std::collections::HashMap::new(),
                caches: false,
                tree_end: false,
                dirs: HashSet::new(),
                created: HashSet::new(),
                unsealed: HashMap::new(),
                record,
            }),
        })
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.id
    }

    /// The (absolute) target.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The run's directory under `.planrun/journal/`.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while recording leaves the sets consistent enough to keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the before-image of `rel` (content and mode, or absence) and the missing parent
    /// directories a write there will create; only the first call per path does anything.
    /// Returns the confined absolute path to write to.
    pub fn record_file(&self, rel: &Path) -> Result<PathBuf, JournalError> {
        let rel_str = rel
            .to_str()
            .ok_or_else(|| JournalError::NotUtf8(rel.to_path_buf()))?;
        let abs = fsutil::confine(&self.target, rel_str)?;
        // An edit through a symlink inside the target edits what the link points to, and is
        // journaled as that path: replacing the link with a file would lose the real one.
        let abs = self.through_links(&abs)?;
        let rel = abs.strip_prefix(&self.target).unwrap_or(rel).to_path_buf();
        tracing::trace!(path = %rel.display(), "journal: before-image requested");
        let mut inner = self.lock_inner();
        if inner.files.contains(&rel) {
            return Ok(abs);
        }
        self.record_missing_dirs(&mut inner, &rel)?;
        let image = FileImage::read(&abs)
            .map_err(|e| JournalError::io(format!("read `{}`", abs.display()), e))?;
        let (before, payload) = match image {
            FileImage::Absent => (Before::Absent, Vec::new()),
            FileImage::Symlink { target } => (Before::Symlink { target }, Vec::new()),
            FileImage::File { bytes, mode } => (Before::File { mode }, bytes),
        };
        let entry = Entry::File {
            path: rel.clone(),
            before,
        };
        self.write_entry(&mut inner, &entry, &payload)?;
        inner.files.insert(rel);
        Ok(abs)
    }

    /// `abs` with every symlink in it resolved, as a path under the target (which
    /// [`fsutil::confine`] has already checked it stays in).
    fn through_links(&self, abs: &Path) -> Result<PathBuf, JournalError> {
        let root = fs::canonicalize(&self.target)
            .map_err(|e| JournalError::io(format!("resolve `{}`", self.target.display()), e))?;
        // The deepest part that exists is resolved; the rest does not exist, so it has no links.
        let mut existing = abs.to_path_buf();
        let mut rest = Vec::new();
        while fs::symlink_metadata(&existing).is_err() {
            match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name.to_os_string());
                    existing = parent.to_path_buf();
                }
                _ => return Ok(abs.to_path_buf()),
            }
        }
        let mut resolved = fs::canonicalize(&existing)
            .map_err(|e| JournalError::io(format!("resolve `{}`", existing.display()), e))?;
        resolved.extend(rest.iter().rev());
        Ok(match resolved.strip_prefix(&root) {
            Ok(inside) => self.target.join(inside),
            Err(_) => abs.to_path_buf(),
        })
    }

    /// Journals `rel` and writes `bytes` there atomically (creating its directory), recording
    /// what it is about to write first: a run killed right after the write still tells the
    /// file it wrote from a person's later edit. Returns the path written.
    pub fn write_file(
        &self,
        rel: &Path,
        bytes: &[u8],
        mode: Option<u32>,
    ) -> Result<PathBuf, JournalError> {
        let abs = self.record_file(rel)?;
        let io_err = |what: &str, e| JournalError::io(format!("{what} `{}`", abs.display()), e);
        if let Some(parent) = abs.parent() {
            crate::ownership::create_dir_all(parent)
                .map_err(|e| io_err("create the directory of", e))?;
        }
        let mode = mode.or_else(|| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&abs)
                .ok()
                .map(|m| m.permissions().mode() & 0o7777)
        });
        let image = FileImage::File {
            bytes: bytes.to_vec(),
            // A new file gets the umask's mode; the after-state then records what it got.
            mode: mode.unwrap_or(0o644),
        };
        let rel = abs.strip_prefix(&self.target).unwrap_or(rel).to_path_buf();
        if mode.is_some() {
            self.record_after(&rel, &image)?;
        }
        crate::ownership::write(&abs, bytes, mode).map_err(|e| io_err("write", e))?;
        if mode.is_none() {
            let now = FileImage::read(&abs).map_err(|e| io_err("read", e))?;
            self.record_after(&rel, &now)?;
        }
        Ok(abs)
    }

    /// Records the after-state of one journaled path, unless it is the one already recorded.
    fn record_after(&self, rel: &Path, image: &FileImage) -> Result<(), JournalError> {
        let (after, bytes) = entry::After::of(image);
        let mut inner = self.lock_inner();
        if inner.after.get(rel) == Some(&after) {
            return Ok(());
        }
        let record = Entry::After {
            path: rel.to_path_buf(),
            after: after.clone(),
        };
        self.write_entry(&mut inner, &record, bytes)?;
        inner.after.insert(rel.to_path_buf(), after);
        Ok(())
    }

    /// Records what every journaled file holds now, where that changed since last time, so
    /// rollback can tell what planrun left from what a person changed later. Called after each
    /// step; caches are left out (they change by themselves whenever a suite runs).
    pub fn seal_files(&self) -> Result<(), JournalError> {
        let mut inner = self.lock_inner();
        let mut paths: Vec<PathBuf> = inner
            .files
            .iter()
            .filter(|p| !crate::journal::caches::is_cache(p))
            .cloned()
            .collect();
        paths.sort();
        for rel in paths {
            let abs = self.target.join(&rel);
            let image = match FileImage::read(&abs) {
                Ok(image) => image,
                // A directory where the file was: nothing to compare with; rollback reports it.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => continue,
                Err(e) => return Err(JournalError::io(format!("read `{}`", abs.display()), e)),
            };
            let (after, bytes) = entry::After::of(&image);
            if inner.after.get(&rel) == Some(&after) {
                continue;
            }
            let record = Entry::After {
                path: rel.clone(),
                after: after.clone(),
            };
            match self.write_entry(&mut inner, &record, bytes) {
                // On a full disk the hash alone still tells planrun's bytes from a person's;
                // only the drift diff loses its left side.
                Err(e) if is_full(&e) => self.write_entry(&mut inner, &record, &[])?,
                other => other?,
            }
            inner.after.insert(rel, after);
        }
        let mut venvs: Vec<&PathBuf> = inner.created.iter().collect();
        venvs.sort();
        for venv in venvs {
            if fs::symlink_metadata(venv).is_ok_and(|m| m.is_dir()) {
                let rel = self.relative_if_inside(venv)?;
                super::venvlist::write(&self.run_dir, &rel, venv)?;
            }
        }
        Ok(())
    }

    /// Records the caches under the target before the run's first command (later calls do
    /// nothing), and journals the files of caches that exist so they come back as they were;
    /// with them the target's tree (for [`super::leftovers`]) and the bytecode in the
    /// environment of `python` (when it exists), so rollback finds what the run's commands left.
    /// `python` is asked only the first time: finding the interpreter touches the disk, and
    /// every command step comes through here.
    pub fn record_caches(
        &self,
        python: impl FnOnce() -> Option<PathBuf>,
    ) -> Result<(), JournalError> {
        {
            let mut inner = self.lock_inner();
            if inner.caches {
                return Ok(());
            }
            inner.caches = true;
        }
        let found = crate::journal::caches::scan(&self.target);
        let entry = Entry::Caches {
            dirs: found.dirs.clone(),
            files: found.files.clone(),
        };
        let tree = Entry::Tree {
            end: false,
            paths: crate::journal::leftovers::scan(&self.target),
        };
        let bytecode = python().and_then(|p| self.bytecode_entry(&p));
        {
            // One append and one `fdatasync` for the three: all are durable before the step
            // that asked for them runs its command.
            let mut inner = self.lock_inner();
            let mut entries = vec![&entry, &tree];
            entries.extend(&bytecode);
            self.write_entries(&mut inner, &entries)?;
        }
        for rel in found
            .files
            .iter()
            .filter(|f| crate::journal::caches::worth_keeping(f))
        {
            self.record_file(rel)?;
        }
        Ok(())
    }

    /// The bytecode entry of the environment of `python`, unless it does not exist or is a venv
    /// this run created (deleted whole on rollback).
    fn bytecode_entry(&self, python: &Path) -> Option<Entry> {
        if !python.exists() {
            return None;
        }
        let venv = crate::pyenv::venv_dir_of(python).filter(|v| v.join("pyvenv.cfg").is_file());
        if let Some(v) = &venv {
            let abs = std::path::absolute(v).ok()?;
            if self.lock_inner().created.contains(&abs) {
                return None;
            }
        }
        let layout = match EnvLayout::locate(python, venv.as_deref()) {
            Ok(layout) => layout,
            Err(e) => {
                tracing::warn!("bytecode of `{}` not recorded: {e}", python.display());
                return None;
            }
        };
        let paths = envjournal::bytecode::scan(&layout.roots);
        Some(Entry::Bytecode {
            roots: layout.roots,
            paths,
        })
    }

    /// Records each missing ancestor of `rel` (outermost first) as a directory the run creates.
    fn record_missing_dirs(&self, inner: &mut Inner, rel: &Path) -> Result<(), JournalError> {
        let mut missing: Vec<PathBuf> = rel
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| fs::symlink_metadata(self.target.join(a)).is_err())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for dir in missing {
            if inner.dirs.contains(&dir) {
                continue;
            }
            self.write_entry(inner, &Entry::Dir { path: dir.clone() }, &[])?;
            inner.dirs.insert(dir);
        }
        Ok(())
    }

    /// Records `env` before it changes. With `created_venv`, its venv does not exist yet and
    /// rollback deletes it (and skips the later installs into it). Otherwise the environment's identity is recorded and, unless the
    /// install changes nothing (`affected` empty), a snapshot of it is taken in `env-<seq>/` of
    /// the run directory, durable before this returns; [`Journal::seal_env`] completes it once
    /// the install is done. Every install gets its own entry: rollback undoes them newest first.
    pub fn record_env(
        &self,
        env: &PythonEnv,
        created_venv: bool,
        affected: &Affected,
    ) -> Result<(), JournalError> {
        let python = self.relative_if_inside(&env.python)?;
        let mut inner = self.lock_inner();
        let venv_abs = env
            .venv
            .as_deref()
            .map(|v| {
                std::path::absolute(v)
                    .map_err(|e| JournalError::io(format!("resolve `{}`", v.display()), e))
            })
            .transpose()?;
        if created_venv {
            let venv =
                venv_abs.ok_or_else(|| JournalError::VenvOutsideTarget(env.python.clone()))?;
            let rel = self.relative_if_inside(&venv)?;
            if rel.is_absolute() {
                return Err(JournalError::VenvOutsideTarget(venv));
            }
            let rel_str = rel
                .to_str()
                .ok_or_else(|| JournalError::NotUtf8(rel.clone()))?;
            fsutil::confine(&self.target, rel_str)?;
            // Rollback deletes a created venv whole: "created" is checked, never assumed.
            if fs::symlink_metadata(&venv).is_ok() {
                return Err(JournalError::io(
                    format!("record `{}` as a venv this run creates", rel.display()),
                    std::io::Error::other(
                        "it exists already, and planrun records as created only what was not there",
                    ),
                ));
            }
            self.record_missing_dirs(&mut inner, &rel)?;
            let entry = Entry::Env {
                python,
                venv: Some(rel),
                created_venv: true,
                identity: None,
                snapshot: None,
                manifest: None,
            };
            self.write_entry(&mut inner, &entry, &[])?;
            inner.created.insert(venv);
            return Ok(());
        }
        // An install into a venv this run created earlier is snapshotted like any other: not
        // for rollback (which deletes the venv whole and skips it), but so that interleaved
        // measurement can switch the venv between its state after creation and after this
        // install.
        let layout = EnvLayout::locate(&env.python, env.venv.as_deref())?;
        let root = venv_abs.clone().unwrap_or_else(|| layout.root.clone());
        let identity = EnvIdentity::of(&root, &env.python)?;
        let (snapshot, manifest) = if affected.is_empty() {
            (None, None)
        } else {
            let name = format!("env-{}", inner.next);
            let dir = self.run_dir.join(&name);
            let summary = envjournal::take(&dir, &layout, &identity, affected)?;
            tracing::info!(
                entries = summary.entries,
                copies = summary.copies,
                bytes = summary.bytes,
                seconds = summary.seconds,
                "environment snapshot taken"
            );
            inner.unsealed.insert(identity.python.clone(), dir);
            (Some(name), Some(summary.manifest_hash))
        };
        let entry = Entry::Env {
            python,
            venv: venv_abs.map(|v| self.relative_if_inside(&v)).transpose()?,
            created_venv: false,
            identity: Some(identity),
            snapshot,
            manifest,
        };
        self.write_entry(&mut inner, &entry, &[])
    }

    /// Completes the snapshot of `env`'s latest install once the installer finished: records
    /// what it left, so rollback can tell later changes by a person (drift) from planrun's.
    pub fn seal_env(&self, env: &PythonEnv) -> Result<(), JournalError> {
        let python = std::path::absolute(&env.python)
            .map_err(|e| JournalError::io(format!("resolve `{}`", env.python.display()), e))?;
        let dir = self.lock_inner().unsealed.remove(&python);
        match dir {
            Some(dir) => Ok(envjournal::seal(&dir)?),
            None => Ok(()),
        }
    }

    /// Records the `undo` command of a `run` step, to be run on rollback.
    pub fn record_undo(
        &self,
        step_id: &str,
        command: &str,
        env: &BTreeMap<String, String>,
        cwd: &Path,
    ) -> Result<(), JournalError> {
        let cwd = self.relative_if_inside(cwd)?;
        let entry = Entry::Undo {
            step: step_id.to_string(),
            command: super::trust::seal(command)?,
            shown: crate::secrets::mask_output(command).into_owned(),
            env: sealed_env(env)?,
            cwd,
        };
        let mut inner = self.lock_inner();
        self.write_entry(&mut inner, &entry, &[])
    }

    /// Records a service about to start: its stop command (if any), environment and working
    /// directory, and the directory planrun makes for it, so that a rollback after a killed
    /// apply can stop it as the apply would have and remove the directory.
    pub fn record_service(
        &self,
        step_id: &str,
        stop: Option<&str>,
        env: &BTreeMap<String, String>,
        cwd: &Path,
        dir: Option<&Path>,
    ) -> Result<(), JournalError> {
        let entry = Entry::Service {
            step: step_id.to_string(),
            stop: stop.map(super::trust::seal).transpose()?,
            shown: stop
                .map(|s| crate::secrets::mask_output(s).into_owned())
                .unwrap_or_default(),
            env: sealed_env(env)?,
            cwd: self.relative_if_inside(cwd)?,
            dir: dir.map(Path::to_path_buf),
        };
        let mut inner = self.lock_inner();
        self.write_entry(&mut inner, &entry, &[])
    }

    /// Sets the run's status in `meta.json`; a run marked applied first records what its files
    /// hold, which is what a later rollback compares with.
    pub fn set_status(&self, status: Status) -> Result<(), JournalError> {
        if status == Status::Applied {
            self.seal_files()?;
        }
        if status != Status::Running {
            self.record_tree_end()?;
        }
        let mut inner = self.lock_inner();
        inner.record.status = status;
        inner.record.finished = (status != Status::Running).then(crate::timestamp::now);
        super::reserve::write_status(&self.run_dir, &inner.record)
    }

    /// Records the target's tree as the apply ends (once), if its start was recorded.
    fn record_tree_end(&self) -> Result<(), JournalError> {
        let mut inner = self.lock_inner();
        if !inner.caches || inner.tree_end {
            return Ok(());
        }
        inner.tree_end = true;
        let tree = Entry::Tree {
            end: true,
            paths: crate::journal::leftovers::scan(&self.target),
        };
        self.write_entry(&mut inner, &tree, &[])
    }

    /// `path` relative to the target when it lies inside it, else absolute.
    fn relative_if_inside(&self, path: &Path) -> Result<PathBuf, JournalError> {
        let abs = std::path::absolute(path)
            .map_err(|e| JournalError::io(format!("resolve `{}`", path.display()), e))?;
        Ok(match abs.strip_prefix(&self.target) {
            Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
            Ok(rel) => rel.to_path_buf(),
            Err(_) => abs,
        })
    }

    /// The venv this run created that `python` lies in (rollback deletes it whole).
    pub fn created_venv_of(&self, python: &Path) -> Option<PathBuf> {
        let abs = std::path::absolute(python).ok()?;
        let inner = self.lock_inner();
        inner.created.iter().find(|v| abs.starts_with(v)).cloned()
    }

    /// The sequence number of the last entry recorded (0 before any).
    pub fn last_seq(&self) -> u32 {
        self.lock_inner().next - 1
    }

    /// Appends `entry` (without payload) durably.
    pub(super) fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let mut inner = self.lock_inner();
        self.write_entry(&mut inner, entry, &[])
    }

    /// Appends one record and syncs it: once this returns, the entry survives a crash. One
    /// `fdatasync` per record is the whole cost (the log's name was made durable at `begin`).
    fn write_entry(
        &self,
        inner: &mut Inner,
        entry: &Entry,
        payload: &[u8],
    ) -> Result<(), JournalError> {
        self.write_records(inner, &[(entry, payload)])
    }

    /// Appends `entries` (without payloads) in one write and syncs them once: once this
    /// returns, all of them survive a crash; if it fails, none is in the log.
    fn write_entries(&self, inner: &mut Inner, entries: &[&Entry]) -> Result<(), JournalError> {
        let records: Vec<(&Entry, &[u8])> = entries.iter().map(|e| (*e, &[][..])).collect();
        self.write_records(inner, &records)
    }

    /// Appends `records` in one write and one `fdatasync`, numbered in order.
    fn write_records(
        &self,
        inner: &mut Inner,
        records: &[(&Entry, &[u8])],
    ) -> Result<(), JournalError> {
        let path = self.run_dir.join(entry::LOG);
        let ctx = || format!("append to `{}`", path.display());
        if inner.poisoned {
            return Err(JournalError::io(
                ctx(),
                io::Error::other("an earlier append failed and could not be undone"),
            ));
        }
        let mut bytes = Vec::new();
        for (n, (entry, payload)) in (inner.next..).zip(records) {
            bytes.extend(entry::encode(&self.id, n, entry, payload)?);
        }
        let append = |inner: &mut Inner| {
            inner
                .log
                .write_all(&bytes)
                .and_then(|()| inner.log.sync_data())
        };
        let mut written = append(inner);
        if written.as_ref().is_err_and(super::reserve::is_full)
            && inner.log.set_len(inner.len).is_ok()
            && super::reserve::release(&self.run_dir)
        {
            written = append(inner);
        }
        if let Err(e) = written {
            // A partial record in the middle would hide every record after it.
            let len = inner.len;
            if inner
                .log
                .set_len(len)
                .and_then(|()| inner.log.sync_data())
                .is_err()
            {
                inner.poisoned = true;
            }
            return Err(JournalError::io(ctx(), e));
        }
        inner.len += bytes.len() as u64;
        inner.next += u32::try_from(records.len()).unwrap_or(u32::MAX);
        Ok(())
    }
}

/// Whether a journal error is a full disk.
fn is_full(e: &JournalError) -> bool {
    matches!(e, JournalError::Io { source, .. } if super::reserve::is_full(source))
}

/// An environment with every value sealed: an undo or stop command's environment may carry a
/// secret, and the journal lies in the target, where a CI artifact or a copy of the repository
/// can take it.
fn sealed_env(env: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, JournalError> {
    env.iter()
        .map(|(k, v)| Ok((k.clone(), super::trust::seal(v)?)))
        .collect()
}
