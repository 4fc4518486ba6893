//! The journal's entries and their log: one record per mutation (a JSON header line, then a
//! file's old bytes), appended and synced once, so journaling an edit costs a single fsync.
//!
//! A record's payload is summed with BLAKE3 (`b3`), and the sum is under the record's MAC, so a
//! torn payload is recognized and a payload swapped for another is refused. Logs written before
//! carry a 64-bit FNV-1a `sum` (MAC domain v1); they are still read and rolled back, since a
//! journal may be in flight while planrun is upgraded, but never written.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::JournalError;
use super::trust;

/// The kind word of a file entry.
pub const FILE: &str = "file";
/// The kind of a directory entry.
pub const DIR: &str = "dir";
/// The kind of a Python environment entry.
pub const ENV: &str = "env";
/// The kind of an undo command entry.
pub const UNDO: &str = "undo";
/// The kind of a service entry.
pub const SERVICE: &str = "service";
/// The kind of a state switch entry.
pub const SWITCH: &str = "switch";

/// One recorded mutation, written before the mutation happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A file about to be written or deleted, and what it was before.
    File {
        /// Relative to the target.
        path: PathBuf,
        /// Its state before the run touched it.
        before: Before,
    },
    /// A directory the run is about to create (removed on rollback when empty).
    Dir {
        /// Relative to the target.
        path: PathBuf,
    },
    /// A Python environment about to change.
    Env {
        /// The interpreter; relative paths are relative to the target.
        python: PathBuf,
        /// Its venv; relative paths are relative to the target.
        venv: Option<PathBuf>,
        /// The venv did not exist: rollback deletes it.
        created_venv: bool,
        /// Which environment this is; rollback refuses to touch another (none for a created
        /// venv, which does not exist yet).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<crate::envjournal::EnvIdentity>,
        /// The snapshot's directory in the run directory; none when the install changes nothing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<String>,
        /// blake3 (hex) of the snapshot's `manifest.json`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manifest: Option<String>,
    },
    /// What a journaled path held after a step of the run (the newest one per path counts): a
    /// path that differs from it at rollback was changed by someone else since (drift). A
    /// file's bytes are the payload, so the drift can be shown as a diff.
    After {
        /// Relative to the target.
        path: PathBuf,
        /// Its state then.
        after: After,
    },
    /// The caches under the target (`__pycache__`, `.pytest_cache`) before the run's first
    /// command, so rollback can remove the ones the run's commands created.
    Caches {
        /// Cache directories that existed, relative to the target.
        dirs: Vec<PathBuf>,
        /// The files inside them then, relative to the target.
        files: Vec<PathBuf>,
    },
    /// The target's entries ([`super::leftovers::scan`]) before the run's first command, or
    /// (`end`) when the apply ended: rollback moves what appeared in between into the run's
    /// `leftovers/` folder.
    Tree {
        /// Recorded when the apply ended.
        end: bool,
        /// Every entry then, relative to the target, sorted.
        paths: Vec<PathBuf>,
    },
    /// The bytecode in the run's environment before its first command
    /// ([`crate::envjournal::bytecode`]): rollback removes what the run's commands added.
    Bytecode {
        /// The environment's directories (absolute).
        roots: Vec<PathBuf>,
        /// Its `__pycache__` directories and `.pyc` files then (absolute, sorted).
        paths: Vec<PathBuf>,
    },
    /// A command to run on rollback (the `undo` of a `run` step).
    Undo {
        /// The step it belongs to.
        step: String,
        /// A shell command line, sealed ([`super::trust::seal`]).
        command: String,
        /// The command as people may see it: secrets masked.
        #[serde(default)]
        shown: String,
        /// Extra environment variables.
        env: BTreeMap<String, String>,
        /// Working directory; relative paths are relative to the target.
        cwd: PathBuf,
    },
    /// A service the run is about to start (a `service` step): how to stop it, and the
    /// directory planrun made for it, for a rollback after the apply was killed while it ran.
    /// The apply stops its services itself; a rollback replays nothing for this entry.
    Service {
        /// The step.
        step: String,
        /// Its stop command, sealed ([`super::trust::seal`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop: Option<String>,
        /// The stop command as people may see it: secrets masked.
        #[serde(default)]
        shown: String,
        /// The environment of its commands, values sealed.
        env: BTreeMap<String, String>,
        /// Working directory; relative paths are relative to the target.
        cwd: PathBuf,
        /// The directory planrun makes for it (absolute, in the system temp directory).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir: Option<PathBuf>,
    },
    /// The target being switched between the state an earlier record was measured in and the
    /// state after the changes since (interleaved measurement, [`super::switch`]): written,
    /// durably, when a switch begins and when it is done. Rollback replays nothing for it; its
    /// presence tells drift detection that the files may hold their state at `mark` too.
    Switch {
        /// The last entry before the changes being switched.
        mark: u32,
        /// The state the target is being brought to: `before` or `after`.
        to: String,
        /// The switch is done (else it began).
        done: bool,
    },
}

/// A file's state before the run, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Before {
    /// The file did not exist.
    Absent,
    /// A regular file; its bytes are the record's payload.
    File {
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Symlink {
        /// What it pointed to.
        target: PathBuf,
    },
}

/// A path's state after a step, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum After {
    /// Nothing was there.
    Absent,
    /// A regular file with this content hash ([`super::trust::hash`]); its bytes are the payload.
    File {
        /// Permission bits.
        mode: u32,
        /// BLAKE3 of its bytes, hex.
        hash: String,
    },
    /// A symbolic link.
    Symlink {
        /// What it pointed to.
        target: PathBuf,
    },
}

impl After {
    /// The after-state of an image, and the bytes to store with it.
    pub fn of(image: &crate::fsutil::FileImage) -> (After, &[u8]) {
        use crate::fsutil::FileImage;
        match image {
            FileImage::Absent => (After::Absent, &[]),
            FileImage::Symlink { target } => (
                After::Symlink {
                    target: target.clone(),
                },
                &[],
            ),
            FileImage::File { bytes, mode } => (
                After::File {
                    mode: *mode,
                    hash: trust::hash(bytes),
                },
                bytes,
            ),
        }
    }
}

impl Entry {
    /// The kind word of this entry.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::File { .. } => FILE,
            Entry::Dir { .. } => DIR,
            Entry::Env { .. } => ENV,
            Entry::After { .. } => "after",
            Entry::Caches { .. } => "caches",
            Entry::Tree { .. } => "tree",
            Entry::Bytecode { .. } => "bytecode",
            Entry::Undo { .. } => UNDO,
            Entry::Service { .. } => SERVICE,
            Entry::Switch { .. } => SWITCH,
        }
    }
}

/// The log of a run: records appended in order, each durable before its mutation happens.
pub const LOG: &str = "entries.log";

/// The header line of one record; a file's old bytes follow it directly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    seq: u32,
    entry: Entry,
    /// Length of the payload after the header line.
    len: u64,
    /// BLAKE3 of the payload (hex), so a record torn by a crash is recognized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b3: Option<String>,
    /// FNV-1a of the payload, in logs written before `b3` (read, never written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum: Option<u64>,
    /// The MAC of the run id, `seq`, `entry` and the payload sum under this user's key.
    #[serde(default)]
    mac: String,
}

/// The MAC domain of a record summed with BLAKE3.
const RECORD_MAC: &str = "planrun record v2";
/// The MAC domain of a record summed with FNV-1a (logs written before BLAKE3).
const LEGACY_RECORD_MAC: &str = "planrun record v1";

/// How a record's payload was summed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sum {
    /// BLAKE3, hex: what planrun writes.
    Blake3(String),
    /// 64-bit FNV-1a: what logs written before hold.
    Fnv(u64),
}

impl Sum {
    /// The sum a header carries: BLAKE3 when present, else the legacy FNV-1a.
    fn of_header(header: &Header) -> Option<Sum> {
        match (&header.b3, header.sum) {
            (Some(b3), _) => Some(Sum::Blake3(b3.clone())),
            (None, Some(fnv)) => Some(Sum::Fnv(fnv)),
            (None, None) => None,
        }
    }

    /// Whether `payload` has this sum.
    fn matches(&self, payload: &[u8]) -> bool {
        match self {
            Sum::Blake3(hex) => trust::same(&trust::hash(payload), hex),
            Sum::Fnv(sum) => fnv1a(payload) == *sum,
        }
    }
}

/// 64-bit FNV-1a (the `fnv` crate's hasher over the bytes alone, no length prefix).
fn fnv1a(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

fn record_mac(run_id: &str, seq: u32, entry: &Entry, sum: &Sum) -> Result<String, JournalError> {
    let json = entry_json(entry)?;
    let (domain, sum) = match sum {
        Sum::Blake3(hex) => (RECORD_MAC, hex.as_bytes().to_vec()),
        Sum::Fnv(fnv) => (LEGACY_RECORD_MAC, fnv.to_le_bytes().to_vec()),
    };
    trust::mac(
        domain,
        &[run_id.as_bytes(), &seq.to_le_bytes(), &json, &sum],
    )
}

fn entry_json(entry: &Entry) -> Result<Vec<u8>, JournalError> {
    serde_json::to_vec(entry)
        .map_err(|e| JournalError::io("encode a journal entry", io::Error::other(e)))
}

/// One record read back from a run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number (1-based, in recording order).
    pub seq: u32,
    /// What was recorded.
    pub entry: Entry,
    /// Where its payload lies in the log (offset, length).
    pub payload: (u64, u64),
}

/// A journaled file and its content before the run (`None`: it did not exist).
pub type BeforeImage = (PathBuf, Option<Vec<u8>>);

/// Every file a run journaled, with its content before the run; symlinks are left out. What
/// the run changed is the difference with what is there now.
pub fn file_before_images(run_dir: &Path) -> Result<Vec<BeforeImage>, JournalError> {
    let mut out = Vec::new();
    for record in read_log(run_dir, false)? {
        if let Entry::File { path, before } = &record.entry {
            match before {
                Before::Absent => out.push((path.clone(), None)),
                Before::File { .. } => {
                    out.push((path.clone(), Some(read_payload(run_dir, &record)?)));
                }
                Before::Symlink { .. } => {}
            }
        }
    }
    Ok(out)
}

/// Encodes one record: a JSON header line, then the payload.
/// The record is signed for `run_id`, so it cannot be moved into another run either.
pub fn encode(
    run_id: &str,
    seq: u32,
    entry: &Entry,
    payload: &[u8],
) -> Result<Vec<u8>, JournalError> {
    let b3 = trust::hash(payload);
    let header = Header {
        seq,
        entry: entry.clone(),
        len: payload.len() as u64,
        mac: record_mac(run_id, seq, entry, &Sum::Blake3(b3.clone()))?,
        b3: Some(b3),
        sum: None,
    };
    let mut bytes = serde_json::to_vec(&header)
        .map_err(|e| JournalError::io("encode a journal record", io::Error::other(e)))?;
    bytes.push(b'\n');
    bytes.extend_from_slice(payload);
    Ok(bytes)
}

/// Parses a run's log. A record torn by a crash can only be the last one written, and its
/// mutation never happened (it waits for the record to be durable), so reading stops there.
/// With `check_payloads` false, payload sums are not checked (for counting). Every record's
/// MAC is checked: one that this user did not write makes the whole log untrusted.
pub fn read_log(run_dir: &Path, check_payloads: bool) -> Result<Vec<Record>, JournalError> {
    let path = run_dir.join(LOG);
    let bytes = match crate::fsutil::read_nofollow(&path, super::paths::MAX_LOG) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(format!("read `{}`", path.display()), e)),
    };
    let run_id = run_dir.file_name().unwrap_or_default().to_string_lossy();
    let (records, macs) = parse_log(&bytes, check_payloads);
    for (record, (sum, mac)) in records.iter().zip(macs) {
        let wanted = record_mac(&run_id, record.seq, &record.entry, &sum)?;
        if !trust::same(&wanted, &mac) {
            return Err(JournalError::Foreign {
                run_id: run_id.into_owned(),
                dir: run_dir.to_path_buf(),
            });
        }
    }
    Ok(records)
}

/// The records of a log, and for each its payload sum and MAC as stored.
fn parse_log(bytes: &[u8], check_payloads: bool) -> (Vec<Record>, Vec<(Sum, String)>) {
    let mut macs = Vec::new();
    let mut records = Vec::new();
    let mut at = 0usize;
    while let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') {
        let Ok(header) = serde_json::from_slice::<Header>(&bytes[at..at + nl]) else {
            break;
        };
        let start = at + nl + 1;
        let Some(end) = usize::try_from(header.len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|end| *end <= bytes.len())
        else {
            break;
        };
        let Some(sum) = Sum::of_header(&header) else {
            break;
        };
        if check_payloads && !sum.matches(&bytes[start..end]) {
            break;
        }
        records.push(Record {
            seq: header.seq,
            entry: header.entry,
            payload: (start as u64, header.len),
        });
        macs.push((sum, header.mac));
        at = end;
    }
    (records, macs)
}

/// Reads a record's payload (a file's old bytes).
pub fn read_payload(run_dir: &Path, record: &Record) -> Result<Vec<u8>, JournalError> {
    use std::os::unix::fs::FileExt;
    let path = run_dir.join(LOG);
    let ctx = || format!("read `{}`", path.display());
    let file = fs::File::open(&path).map_err(|e| JournalError::io(ctx(), e))?;
    let (offset, len) = record.payload;
    let len = usize::try_from(len).map_err(|e| JournalError::io(ctx(), io::Error::other(e)))?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, offset)
        .map_err(|e| JournalError::io(ctx(), e))?;
    Ok(bytes)
}

/// `000042.done`: written once a non-idempotent entry (an undo command) has been undone.
pub fn done_name(seq: u32) -> String {
    format!("{seq:06}.done")
}

/// Whether an entry is already marked undone.
pub fn is_done(run_dir: &Path, seq: u32) -> bool {
    run_dir.join(done_name(seq)).exists()
}

/// Marks an entry undone, durably.
pub fn mark_done(run_dir: &Path, seq: u32) -> io::Result<()> {
    let file = fs::File::create(run_dir.join(done_name(seq)))?;
    file.sync_all()?;
    crate::fsutil::fsync_dir(run_dir)
}

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;
