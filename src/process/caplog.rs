//! A step's log file with a size cap: output is appended as it arrives, and once the file grows
//! past the cap its oldest part is dropped, keeping the most recent output (what a failure message
//! quotes) and a first line that says how much was dropped.
//!
//! The cap comes from `PLANRUN_LOG_MAX` (bytes, or with a `K`, `M` or `G` suffix for KiB, MiB,
//! GiB; `0` or `off` for no cap), 8 MiB by default. A file past the cap is cut to half of it, on
//! a line boundary, so the copy that cutting costs is paid once per half a cap of output. The cut
//! version is written beside the log and renamed over it, so a reader never sees a half-written
//! file. [`tail`] reads the last lines back from the end, for failure messages.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::redact::Redactor;

/// The cap when `PLANRUN_LOG_MAX` is not set: 8 MiB.
pub const DEFAULT_MAX: u64 = 8 * 1024 * 1024;

/// The environment variable that sets the cap.
pub const ENV: &str = "PLANRUN_LOG_MAX";

/// The smallest cap honoured, so the marker line and a useful tail always fit.
pub const MIN_MAX: u64 = 4096;

/// How the marker line starts; the next line is the oldest one kept.
const MARKER: &str = "[planrun: log capped at ";

/// Parses a size such as `8388608`, `512K`, `8M`, `1G`; `None` for no cap (`0`, `off`).
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let upper = t.to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, unit) = match upper.char_indices().last() {
        Some((i, 'K')) => (&upper[..i], 1u64 << 10),
        Some((i, 'M')) => (&upper[..i], 1 << 20),
        Some((i, 'G')) => (&upper[..i], 1 << 30),
        _ => (upper, 1),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 8M, 512K or 1048576"))?;
    let bytes = n
        .checked_mul(unit)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    Ok((bytes > 0).then_some(bytes.max(MIN_MAX)))
}

/// The cap `PLANRUN_LOG_MAX` asks for; the default when unset, and (with a warning) when it
/// does not parse.
pub fn max_from_env() -> Option<u64> {
    match std::env::var(ENV) {
        Err(_) => Some(DEFAULT_MAX),
        Ok(text) => parse_size(&text).unwrap_or_else(|e| {
            tracing::warn!("{ENV}: {e}; using the default of 8M");
            Some(DEFAULT_MAX)
        }),
    }
}

/// An open log file that keeps itself under its cap.
#[derive(Debug)]
pub struct CappedLog {
    path: PathBuf,
    /// `None` until the first byte of output (see [`CappedLog::lazy`]).
    file: Option<File>,
    max: Option<u64>,
    /// Bytes in the file, marker included.
    len: u64,
    /// Bytes of the marker line at the head of the file (0 without one).
    marker_len: u64,
    /// Output bytes dropped so far.
    dropped: u64,
    /// Hides the run's secrets before anything reaches the file.
    redact: Redactor,
}

/// A log closed before its output ended (a capture's two streams share one) still gets what
/// its redactor held back.
impl Drop for CappedLog {
    fn drop(&mut self) {
        if let Err(e) = self.flush_held() {
            tracing::warn!("cannot write the end of `{}`: {e}", self.path.display());
        }
    }
}

impl CappedLog {
    /// Opens `path` for appending (created with its parent directories when missing); an
    /// earlier marker's count carries on.
    pub fn open(path: &Path, max: Option<u64>) -> io::Result<CappedLog> {
        let mut log = CappedLog::lazy(path, max);
        log.opened()?;
        Ok(log)
    }

    /// A log of `path` that is opened (and created) only when the first byte of output comes: a
    /// command that writes nothing leaves no file. Creating a file is most of what a quick
    /// step costs planrun on a busy ext4 disk (allocating its inode), and a silent step's
    /// log would be empty.
    pub fn lazy(path: &Path, max: Option<u64>) -> CappedLog {
        CappedLog {
            path: path.to_path_buf(),
            file: None,
            max,
            len: 0,
            marker_len: 0,
            dropped: 0,
            redact: Redactor::new(),
        }
    }

    /// The file, opened for appending (created with its parent directories when missing) the
    /// first time; an earlier marker's count carries on.
    fn opened(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let path = &self.path;
            // The directory is made only when the open says it is missing: a run's steps share one.
            let file = match append(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        Some(dir) => fs::create_dir_all(dir)?,
                        None => return Err(e),
                    }
                    append(path)?
                }
                opened => opened?,
            };
            let len = file.metadata()?.len();
            // A new (empty) log has no marker to carry on from; only an earlier log is read.
            let (marker_len, dropped) = if len == 0 {
                (0, 0)
            } else {
                read_marker(path).unwrap_or((0, 0))
            };
            (self.len, self.marker_len, self.dropped) = (len, marker_len, dropped);
            self.file = Some(file);
            self.keep_under_cap()?;
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Appends `buf`, then cuts the file if it went past the cap.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        let masked = self.redact.feed(buf);
        self.append_masked(&masked)
    }

    fn append_masked(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.opened()?.write_all(buf)?;
        self.len += buf.len() as u64;
        self.keep_under_cap()
    }

    /// Writes what the redactor still holds back: the output has ended.
    pub fn flush_held(&mut self) -> io::Result<()> {
        let held = self.redact.finish();
        self.append_masked(&held)
    }

    /// Copies everything `from` yields into the log until it ends. After a write error (a full
    /// disk) the rest is still read and dropped, so the command never blocks on a full pipe;
    /// the first error is returned at the end.
    pub fn copy_from(&mut self, mut from: impl Read) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut failed = None;
        loop {
            match from.read(&mut buf) {
                Ok(0) => {
                    if failed.is_none() {
                        failed = self.flush_held().err();
                    }
                    return failed.map_or(Ok(()), Err);
                }
                Ok(n) if failed.is_none() => {
                    if let Err(e) = self.write(&buf[..n]) {
                        failed = Some(e);
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed.unwrap_or(e)),
            }
        }
    }

    /// Output bytes dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn keep_under_cap(&mut self) -> io::Result<()> {
        let Some(max) = self.max else {
            return Ok(());
        };
        if self.len <= max {
            return Ok(());
        }
        let body = self.len - self.marker_len;
        let keep = (max / 2).min(body);
        let mut tail = vec![0u8; usize::try_from(keep).unwrap_or(0)];
        let mut reader = File::open(&self.path)?;
        reader.seek(SeekFrom::Start(self.len - keep))?;
        reader.read_exact(&mut tail)?;
        // Start at a line boundary unless the kept part is one long line.
        let start = match tail.iter().position(|&b| b == b'\n') {
            Some(i) if i + 1 < tail.len() => i + 1,
            _ => 0,
        };
        let tail = &tail[start..];
        self.dropped += body - tail.len() as u64;
        let marker = format!(
            "{MARKER}{max} bytes ({ENV}); {} earlier bytes dropped]\n",
            self.dropped
        );
        let tmp = self.path.with_extension("log.cut");
        {
            // A name under `.planrun/`: a leftover (or planted) file or link there is removed,
            // never written through, and the new one is made afresh (O_EXCL never follows).
            match fs::remove_file(&tmp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut out = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            out.write_all(marker.as_bytes())?;
            out.write_all(tail)?;
        }
        fs::rename(&tmp, &self.path)?;
        self.file = Some(append(&self.path)?);
        self.marker_len = marker.len() as u64;
        self.len = self.marker_len + tail.len() as u64;
        Ok(())
    }
}

/// The last `n` lines of the file at `log`, read from its end (never the whole file); empty when
/// it cannot be read. Invalid UTF-8 is replaced, a final newline does not make an empty line.
pub fn tail(log: &Path, n: usize) -> Vec<String> {
    const CHUNK: u64 = 8192;
    let Ok(mut file) = open_read(log) else {
        return Vec::new();
    };
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return Vec::new();
    };
    let mut start = len;
    let mut bytes: Vec<u8> = Vec::new();
    // Read backwards until there are more than n line breaks (or the file is exhausted).
    while start > 0 && bytes.iter().filter(|&&b| b == b'\n').count() <= n {
        let step = CHUNK.min(start);
        start -= step;
        let mut chunk = vec![0; usize::try_from(step).unwrap_or(0)];
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_exact(&mut chunk).is_err() {
            return Vec::new();
        }
        chunk.extend_from_slice(&bytes);
        bytes = chunk;
    }
    let text = String::from_utf8_lossy(&bytes);
    if text.is_empty() {
        return Vec::new();
    }
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let skip = lines.len().saturating_sub(n);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// Opens a log for reading without following a symlink at its name (logs live under `.planrun/`).
fn open_read(path: &Path) -> io::Result<File> {
    std::os::unix::fs::OpenOptionsExt::custom_flags(OpenOptions::new().read(true), libc::O_NOFOLLOW)
        .open(path)
}

fn append(path: &Path) -> io::Result<File> {
    // Logs live under `.planrun/`: a symlink planted at a log's name is not written through.
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        OpenOptions::new().create(true).append(true),
        libc::O_NOFOLLOW,
    )
    .open(path)
}

/// The length of the marker line at the head of `path` and the count it gives.
fn read_marker(path: &Path) -> Option<(u64, u64)> {
    let mut head = vec![0u8; 256];
    let n = open_read(path).ok()?.read(&mut head).ok()?;
    let head = std::str::from_utf8(&head[..n]).ok()?;
    let line = head.split_inclusive('\n').next()?;
    let rest = line.strip_prefix(MARKER)?;
    let count = rest.split("; ").nth(1)?.split(' ').next()?.parse().ok()?;
    Some((line.len() as u64, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lazy log is no file until its first byte (a silent command leaves nothing), and from
    /// then on the same log as an opened one, its cap included.
    #[test]
    fn a_lazy_log_is_created_at_its_first_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/quiet.log");
        let mut log = CappedLog::lazy(&path, Some(MIN_MAX));
        log.write(b"").unwrap();
        log.flush_held().unwrap();
        drop(log);
        assert!(!path.exists() && !dir.path().join("logs").exists());
        let mut log = CappedLog::lazy(&path, Some(MIN_MAX));
        assert!(!path.exists());
        log.write(b"hello\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello\n");
        for i in 0..2000 {
            log.write(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(log);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(MARKER) && text.ends_with("line 1999\n"),
            "{text:.80}"
        );
        assert!(text.len() as u64 <= MIN_MAX);
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("8M"), Ok(Some(8 << 20)));
        assert_eq!(parse_size("512k"), Ok(Some(512 << 10)));
        assert_eq!(parse_size("1GiB"), Ok(Some(1 << 30)));
        assert_eq!(parse_size(" 1048576 "), Ok(Some(1 << 20)));
        assert_eq!(parse_size("10"), Ok(Some(MIN_MAX)));
        assert_eq!(parse_size("0"), Ok(None));
        assert_eq!(parse_size("off"), Ok(None));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn the_tail_is_kept_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        let mut all = String::new();
        for i in 0..2000 {
            let line = format!("line {i}\n");
            log.write(line.as_bytes()).unwrap();
            all.push_str(&line);
        }
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.len() as u64 <= MIN_MAX, "{}", text.len());
        let (marker, kept) = text.split_once('\n').unwrap();
        assert!(
            all.ends_with(kept),
            "the kept part is the end of the output"
        );
        assert!(
            kept.starts_with("line "),
            "cut on a line boundary: {kept:.20}"
        );
        assert!(kept.ends_with("line 1999\n"));
        let dropped = all.len() - kept.len();
        assert_eq!(log.dropped(), dropped as u64);
        assert_eq!(
            marker,
            format!("[planrun: log capped at 4096 bytes (PLANRUN_LOG_MAX); {dropped} earlier bytes dropped]")
        );
        assert!(!dir.path().join("x.log.cut").exists());
    }

    #[test]
    fn a_link_planted_at_the_cut_files_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, "keep me\n").unwrap();
        let path = dir.path().join("x.log");
        std::os::unix::fs::symlink(&outside, path.with_extension("log.cut")).unwrap();
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        for i in 0..2000 {
            log.write(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(log.dropped() > 0, "the log was cut");
        assert_eq!(fs::read_to_string(&outside).unwrap(), "keep me\n");
        assert!(fs::read_to_string(&path).unwrap().ends_with("line 1999\n"));
    }

    #[test]
    fn a_reopened_log_keeps_counting_and_no_cap_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let chunk = "y".repeat(999) + "\n";
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        for _ in 0..10 {
            log.write(chunk.as_bytes()).unwrap();
        }
        let first = log.dropped();
        drop(log);
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        for _ in 0..10 {
            log.write(chunk.as_bytes()).unwrap();
        }
        assert!(log.dropped() > first);
        assert_eq!(
            fs::read_to_string(&path)
                .unwrap()
                .matches("[planrun:")
                .count(),
            1
        );
        let path = dir.path().join("free.log");
        let mut log = CappedLog::open(&path, None).unwrap();
        for _ in 0..10 {
            log.write(chunk.as_bytes()).unwrap();
        }
        assert_eq!(fs::metadata(&path).unwrap().len(), 10_000);
    }

    #[test]
    fn a_failing_log_still_drains_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        // Writing through a read-only handle fails like a full disk does.
        log.file = Some(File::open(&path).unwrap());
        let mut input = io::Cursor::new(vec![b'x'; 300_000]);
        assert!(log.copy_from(&mut input).is_err());
        assert_eq!(input.position(), 300_000, "everything was read");
    }

    #[test]
    fn one_long_line_is_cut_inside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut log = CappedLog::open(&path, Some(MIN_MAX)).unwrap();
        log.write("z".repeat(10_000).as_bytes()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let (_, kept) = text.split_once('\n').unwrap();
        assert_eq!(kept, "z".repeat(2048));
    }

    #[test]
    fn tail_reads_the_last_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let body: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        fs::write(&log, body).unwrap();
        assert_eq!(tail(&log, 2), vec!["line 4998", "line 4999"]);
        assert_eq!(tail(&log, 20).len(), 20);
        fs::write(&log, "a\nb").unwrap();
        assert_eq!(tail(&log, 5), vec!["a", "b"]);
        fs::write(&log, "").unwrap();
        assert!(tail(&log, 5).is_empty());
        assert!(tail(&dir.path().join("missing"), 5).is_empty());
    }
}
