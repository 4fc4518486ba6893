//! Timing one command: its wall time and peak memory (from `wait4`), and its output kept aside
//! so that a failure says why.

use std::fmt::Display;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What a row's measurement returns when something it runs fails: the message for the table.
pub type Res<T> = Result<T, String>;

/// Turns any error into a [`Res`] message naming what was being done.
pub trait Ctx<T> {
    fn ctx(self, what: impl Display) -> Res<T>;
}

impl<T, E: Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: impl Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// One finished command.
pub struct Timed {
    /// Seconds from spawn to exit.
    pub wall: f64,
    /// The process's peak resident memory in MiB (`ru_maxrss` of the waited child).
    pub peak_rss_mib: f64,
    /// The exit code (128+n for a signal n).
    pub code: i32,
    /// Seconds of CPU (user + system) the process and the children it waited for used: what
    /// the work costs, which unlike `wall` does not grow with other programs' load.
    pub cpu: f64,
}

/// Runs `cmd` to completion, its output in temporary files, and times it; a non-zero exit is
/// an error carrying the tail of its output.
pub fn run(cmd: &mut Command) -> Res<Timed> {
    let timed = run_any(cmd)?;
    if timed.0.code != 0 {
        return Err(format!(
            "{cmd:?} exited {}:\n{}",
            timed.0.code,
            tail(&timed.1, 20)
        ));
    }
    Ok(timed.0)
}

/// Runs `cmd` to completion and times it, whatever its exit code; returns its output too.
pub fn run_any(cmd: &mut Command) -> Res<(Timed, String)> {
    let mut out = tempfile::tempfile().ctx("create a temporary file")?;
    let err = out.try_clone().ctx("clone a file handle")?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().ctx("clone a file handle")?)
        .stderr(err);
    let start = Instant::now();
    let child = cmd.spawn().ctx(format!("start {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unwaited child; `status` and `usage` are valid and writable.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait for {cmd:?}: {e}"));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    // The child is reaped: dropping its handle closes our copies of nothing and waits for nothing.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    out.seek(SeekFrom::Start(0)).ctx("rewind the output")?;
    // Output that is not UTF-8 is only ever shown in an error, so a lossy read is enough.
    let mut bytes = Vec::new();
    out.read_to_end(&mut bytes).ctx("read the output")?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((
        Timed {
            wall,
            peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
            code,
            cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        },
        text,
    ))
}

/// A `timeval` in seconds.
fn seconds(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A file's whole text, or an error naming it.
pub fn read(path: &std::path::Path) -> Res<String> {
    std::fs::read_to_string(path).ctx(format!("read {}", path.display()))
}

/// The 1, 5 and 15 minute load averages, as the kernel reports them.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
