//! The history file: whole-line appends under an exclusive lock, fsynced; reading that keeps
//! every line it can and names every line it cannot.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::entry::Entry;

/// A line of the history that is not a run: torn by a killed job, or mangled by a bad merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    /// Its line number, from 1.
    pub line: usize,
    /// Why it does not read.
    pub error: String,
}

/// The history as read: the runs in file order, with their line numbers, and the lines that
/// could not be read.
#[derive(Debug, Clone, Default)]
pub struct HistoryFile {
    /// `(line number, run)` in file order (oldest first).
    pub entries: Vec<(usize, Entry)>,
    /// Lines skipped, each with why.
    pub unreadable: Vec<Unreadable>,
}

impl HistoryFile {
    /// One warning line per unreadable line, for the commands that read the history.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        self.unreadable
            .iter()
            .map(|u| {
                format!(
                    "{}:{}: unreadable history line skipped ({}); it is not counted as a run",
                    path.display(),
                    u.line,
                    u.error
                )
            })
            .collect()
    }
}

/// Just the version of a line.
#[derive(serde::Deserialize)]
struct Version {
    v: u32,
}

/// Reads the history at `path`; a missing file is an empty history.
pub fn read(path: &Path) -> io::Result<HistoryFile> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HistoryFile::default()),
        Err(e) => return Err(e),
    };
    Ok(parse(&bytes))
}

/// Parses history text: one JSON object per line; blank lines are nothing.
pub fn parse(bytes: &[u8]) -> HistoryFile {
    let mut out = HistoryFile::default();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = i + 1;
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) if entry.v == super::entry::FORMAT => out.entries.push((number, entry)),
            Ok(entry) => out.unreadable.push(Unreadable {
                line: number,
                error: format!(
                    "format version {} (this planrun reads {})",
                    entry.v,
                    super::entry::FORMAT
                ),
            }),
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

/// Appends `entry` as one line to the history at `path`, creating it (and its directory's
/// entry) if needed. The line is written whole under an exclusive `flock`, after a newline
/// if a torn line was left without one, and fsynced before the lock is released, so
/// concurrent appenders never interleave and a finished append survives a crash.
pub fn append(path: &Path, entry: &Entry) -> io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
    line.push(b'\n');
    let dir = crate::fsutil::parent_or_dot(path);
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
    }
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
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
