//! Running a program for its output: stdout and stderr come back as strings (and are appended to
//! a log file too, when one is given), under the same process group, timeout and cancellation as
//! every other command.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::caplog::{self, CappedLog};
use super::child::{self, Limits, Outcome, DEFAULT_GRACE};
use super::control::Control;
use super::spawn::DRAIN;

/// A program to run with its arguments, no shell in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program: a path, or a name looked up in `PATH`.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The working directory; `None` for planrun's own.
    pub cwd: Option<PathBuf>,
    /// Extra environment variables, on top of planrun's own environment.
    pub env: Vec<(OsString, OsString)>,
    /// Longest time it may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when it must end.
    pub grace: Duration,
    /// A file stdout and stderr are also appended to, capped at `PLANRUN_LOG_MAX`.
    pub log: Option<PathBuf>,
}

impl Invocation {
    /// `program` with no arguments, no limit and no log.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Invocation {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            timeout: None,
            grace: DEFAULT_GRACE,
            log: None,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Runs it in `dir`.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.env.extend(
            vars.into_iter()
                .map(|(k, v)| (k.as_ref().to_os_string(), v.as_ref().to_os_string())),
        );
        self
    }

    /// Ends it after `timeout`, when there is one.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Appends its output to `log` too, when there is one.
    pub fn log(mut self, log: Option<PathBuf>) -> Self {
        self.log = log;
        self
    }
}

/// The command line as a person would type it (arguments unquoted).
impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program.to_string_lossy())?;
        for arg in &self.args {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        Ok(())
    }
}

/// What a captured command printed, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    /// How it ended and what it cost.
    pub outcome: Outcome,
    /// Its standard output (invalid UTF-8 replaced).
    pub stdout: String,
    /// Its standard error, likewise.
    pub stderr: String,
}

/// Runs `inv` to the end and returns what it printed. A non-zero exit is an `Ok`; `Err` means it
/// could not be started or waited for. When `control.cancel` is already set, nothing is started
/// and the outcome is `Cancelled`.
pub fn capture(inv: &Invocation, control: &Control) -> io::Result<Captured> {
    if control.cancel.is_cancelled() {
        return Ok(Captured {
            outcome: Outcome::not_started(),
            stdout: String::new(),
            stderr: String::new(),
        });
    }
    let log = match &inv.log {
        Some(path) => Some(Arc::new(Mutex::new(CappedLog::open(
            path,
            caplog::max_from_env(),
        )?))),
        None => None,
    };
    let (out_read, out_write) = os_pipe::pipe()?;
    let (err_read, err_write) = os_pipe::pipe()?;
    let mut command = Command::new(&inv.program);
    command
        .args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdout(out_write)
        .stderr(err_write);
    if let Some(dir) = &inv.cwd {
        command.current_dir(dir);
    }
    let stdout = Collector::start(out_read, log.clone());
    let stderr = Collector::start(err_read, log);
    tracing::debug!(command = %inv, "spawning");
    let limits = Limits {
        timeout: inv.timeout,
        grace: inv.grace,
    };
    let outcome = child::run(command, limits, control, false, None)?;
    Ok(Captured {
        outcome,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
    })
}

/// The log both output streams are appended to, in the order their chunks arrive.
type SharedLog = Arc<Mutex<CappedLog>>;

/// A thread reading one output stream to its end.
struct Collector {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Collector {
    fn start(mut from: os_pipe::PipeReader, log: Option<SharedLog>) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (sent, done) = mpsc::channel();
        let into = Arc::clone(&bytes);
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut log_failed = false;
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                lock(&into).extend_from_slice(&buf[..n]);
                if let Some(log) = log.as_ref().filter(|_| !log_failed) {
                    if let Err(e) = lock(log).write(&buf[..n]) {
                        tracing::warn!("cannot write the log: {e}");
                        log_failed = true;
                    }
                }
            }
            let _ = sent.send(());
        });
        Collector { bytes, done }
    }

    /// What was read by the time the stream ended, or by [`DRAIN`] after the command did: a
    /// process that left the group (`setsid`) may hold the stream open for ever.
    fn finish(self) -> String {
        if self.done.recv_timeout(DRAIN).is_err() {
            tracing::debug!("output pipe still open after the command ended; output cut there");
        }
        String::from_utf8_lossy(&lock(&self.bytes)).into_owned()
    }
}

/// Locks a mutex that a panicking thread may have left poisoned; the data is plain bytes.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::child::Status;
    use crate::process::control::Cancel;
    use crate::process::orphans::Groups;
    use crate::process::proctree;
    use crate::process::testing::wait_for;
    use std::time::Instant;

    #[test]
    fn output_comes_back_apart_and_the_log_gets_both() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/x.log");
        let inv = Invocation::new("sh")
            .args(["-c", "echo \"out $V\"; echo err >&2; exit 3"])
            .envs([("V", "here")])
            .cwd(dir.path())
            .log(Some(log.clone()));
        let got = capture(&inv, &Control::default()).unwrap();
        assert_eq!(got.outcome.status, Status::Exited(3));
        assert_eq!(
            (got.stdout.as_str(), got.stderr.as_str()),
            ("out here\n", "err\n")
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(logged.len(), "out here\nerr\n".len());
        assert!(logged.contains("out here\n") && logged.contains("err\n"));
        assert_eq!(
            inv.to_string(),
            "sh -c echo \"out $V\"; echo err >&2; exit 3"
        );
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let inv = Invocation::new("/nonexistent/program");
        assert!(capture(&inv, &Control::default()).is_err());
    }

    #[test]
    fn captured_commands_run_in_their_own_group_and_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("groups");
        let control = Control::new(Cancel::new(), Groups::record_in(record.clone()));
        let inv = Invocation::new("sh").args(["-c", "cat /proc/$$/stat"]);
        let got = capture(&inv, &control).unwrap();
        let stat = proctree::parse_stat(&got.stdout).unwrap();
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() };
        assert_ne!(stat.pgrp, ours);
        assert_eq!(stat.pgrp as u32, stat.pid, "it leads its group");
        let line = std::fs::read_to_string(&record).unwrap();
        assert!(line.starts_with(&format!("{} ", stat.pid)), "{line}");
    }

    #[test]
    fn a_timeout_or_a_cancel_ends_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let script = format!("sleep 30 & touch {}; sleep 30; wait", started.display());
        let inv = Invocation::new("sh").args(["-c", script.as_str()]);
        let t = Instant::now();
        let timed = inv.clone().timeout(Some(Duration::from_millis(200)));
        let got = capture(&timed, &Control::default()).unwrap();
        assert_eq!(got.outcome.status, Status::TimedOut);
        let cancel = Cancel::new();
        let setter = cancel.clone();
        std::fs::remove_file(&started).ok();
        let watcher = thread::spawn(move || {
            assert!(wait_for(|| started.exists()));
            setter.cancel();
        });
        let got = capture(&inv, &Control::new(cancel, Groups::default())).unwrap();
        watcher.join().unwrap();
        assert_eq!(got.outcome.status, Status::Cancelled);
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}
