//! The history file: whole-line appends under an exclusive `flock` (a short wait for another
//! appender, released by the kernel if the process dies; see `crate::journal::lock` for why the
//! target's apply lock is a different mechanism), fsynced; reading that keeps
//! every line it can and names every line it cannot.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::entry::Entry;

/// The most of a history file read: its last this many bytes (about ten thousand runs).
pub const MAX_BYTES: u64 = 16 << 20;
/// The longest line read as a run; a longer one is unreadable.
pub const MAX_LINE: usize = 1 << 20;

/// A line of the history that is not a run: torn by a killed job, or mangled by a bad merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    /// Its line number, from 1.
    pub line: usize,
    /// Why it does not read.
    pub error: String,
}

/// The history as read: the runs in file order, with their line numbers, and the lines that
/// could not be read or were not written by planrun on this machine.
#[derive(Debug, Clone, Default)]
pub struct HistoryFile {
    /// `(line number, run)` in file order (oldest first), each authenticated.
    pub entries: Vec<(usize, Entry)>,
    /// Lines skipped, each with why.
    pub unreadable: Vec<Unreadable>,
    /// Lines that read as runs but carry no valid MAC under this user's key: shipped in a
    /// repository, forged, or written under another key. They count for nothing.
    pub foreign: Vec<usize>,
    /// The file's size when only its last [`MAX_BYTES`] were read (line numbers then count
    /// from the first whole line read).
    pub truncated_from: Option<u64>,
}

impl HistoryFile {
    /// One warning line per unreadable line, and one for the foreign lines and for a file too
    /// large to read whole, for the commands that read the history.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(size) = self.truncated_from {
            out.push(format!(
                "{}: the history holds {size} bytes; only its last {} MiB were read (line numbers below count from there)",
                path.display(),
                MAX_BYTES >> 20
            ));
        }
        out.extend(self.unreadable.iter().map(|u| {
            format!(
                "{}:{}: unreadable history line skipped ({}); it is not counted as a run",
                path.display(),
                u.line,
                u.error
            )
        }));
        if !self.foreign.is_empty() {
            let shown: Vec<String> = self.foreign.iter().take(5).map(usize::to_string).collect();
            let more = if self.foreign.len() > 5 { ", ..." } else { "" };
            out.push(format!(
                "{}: {} not written by planrun on this machine {} ignored (line {}{more}); they do not count toward promotion. Jobs sharing a history (a CI cache) need the same key: set PLANRUN_KEY (README, \"CI gated rollout\")",
                path.display(),
                crate::ui::count(self.foreign.len(), "history line"),
                if self.foreign.len() == 1 { "was" } else { "were" },
                shown.join(", ")
            ));
        }
        out
    }
}

/// Just the version of a line.
#[derive(serde::Deserialize)]
struct Version {
    v: u32,
}

/// Why a history file was not read.
fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("`{}` {why}", path.display()),
    )
}

/// Opens the history at `path` without following a symlink there, refusing anything but a
/// regular file; `None` when it does not exist.
fn open_checked(path: &Path, file: io::Result<File>) -> io::Result<Option<File>> {
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if crate::fsutil::is_symlink_refusal(&e) => {
            return Err(refused(
                path,
                "is a symlink, and planrun does not follow one to its history (a repository may ship it to point anywhere); remove it, or name the real file with --history",
            ))
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(refused(
            path,
            "is not a regular file; remove it, or name a file with --history",
        ));
    }
    Ok(Some(file))
}

/// Reads the history at `path` (its last [`MAX_BYTES`] at most); a missing file is an empty
/// history. A symlink there or anything but a regular file is refused.
pub fn read(path: &Path) -> io::Result<HistoryFile> {
    // Without the key no line can be authenticated: say why rather than ignore them all.
    crate::journal::trust::key_ready()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let Some(mut file) = open_checked(path, crate::fsutil::open_nofollow(path))? else {
        return Ok(HistoryFile::default());
    };
    let size = file.metadata()?.len();
    let truncated_from = (size > MAX_BYTES).then_some(size);
    if truncated_from.is_some() {
        file.seek(SeekFrom::Start(size - MAX_BYTES))?;
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut bytes)?;
    if truncated_from.is_some() {
        // The first line read is most likely the tail of one cut in half.
        let first = bytes
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first);
    }
    Ok(HistoryFile {
        truncated_from,
        ..parse(&bytes)
    })
}

/// Parses history text: one JSON object per line; blank lines are nothing. Only lines whose
/// MAC holds are runs.
pub fn parse(bytes: &[u8]) -> HistoryFile {
    let mut out = HistoryFile::default();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = i + 1;
        if line.len() > MAX_LINE {
            out.unreadable.push(Unreadable {
                line: number,
                error: format!("longer than {} KiB", MAX_LINE >> 10),
            });
            continue;
        }
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) if entry.v != super::entry::FORMAT => out.unreadable.push(Unreadable {
                line: number,
                error: format!(
                    "format version {} (this planrun reads {})",
                    entry.v,
                    super::entry::FORMAT
                ),
            }),
            Ok(entry) if entry.authentic() => out.entries.push((number, entry)),
            Ok(_) => out.foreign.push(number),
            Err(e) => out.unreadable.push(Unreadable {
                line: number,
                // A line from another planrun version says so rather than which field it lacks.
                error: match serde_json::from_slice::<Version>(line) {
                    Ok(Version { v }) if v != super::entry::FORMAT => format!(
                        "format version {v} (this planrun reads {})",
                        super::entry::FORMAT
                    ),
                    _ => e.to_string(),
                },
            }),
        }
    }
    out
}

/// Appends `entry`, signed with this user's key, as one line to the history at `path`,
/// creating it (and its directory) if needed. A symlink at `path`, or anything but a regular
/// file, is refused: nothing is written through it. The line is written whole under an
/// exclusive `flock`, after a newline if a torn line was left without one, and fsynced before
/// the lock is released, so concurrent appenders never interleave and a finished append
/// survives a crash.
pub fn append(path: &Path, entry: &Entry) -> io::Result<()> {
    let entry = entry.clone().signed()?;
    let mut line = serde_json::to_vec(&entry).map_err(io::Error::other)?;
    line.push(b'\n');
    let dir = crate::fsutil::parent_or_dot(path);
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
    }
    let created = std::fs::symlink_metadata(path).is_err();
    let opened = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let Some(mut file) = open_checked(path, opened)? else {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    };
    let _lock = FileLock::exclusive(&file)?;
    if ends_without_newline(&mut file)? {
        line.insert(0, b'\n');
    }
    file.write_all(&line)?;
    file.sync_all()?;
    if created {
        crate::fsutil::fsync_dir(crate::fsutil::parent_or_dot(path))?;
    }
    Ok(())
}

/// Refuses, before an apply changes anything, a history it could not append to safely: a
/// symlink or something other than a regular file at `path`.
pub fn check_appendable(path: &Path) -> io::Result<()> {
    open_checked(path, crate::fsutil::open_nofollow(path)).map(drop)
}

/// Whether the file is non-empty and its last byte is not a newline (a torn last line).
fn ends_without_newline(file: &mut File) -> io::Result<bool> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// An exclusive `flock` on an open file, released on drop.
/// (The file must outlive the lock; closing it would release the lock early, never late.)
struct FileLock(std::os::unix::io::RawFd);

impl FileLock {
    fn exclusive(file: &File) -> io::Result<Self> {
        loop {
            // SAFETY: flock on a descriptor the caller's `File` owns while the lock is held.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock(file.as_raw_fd()));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking cannot fail in a way worth reporting (close unlocks too).
        unsafe {
            libc::flock(self.0, libc::LOCK_UN);
        }
    }
}
