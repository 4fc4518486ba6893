//! Running one shell command the way nextest does: its own process group, output streamed to a
//! log file, timeout and cancellation that end the whole tree, and the kernel's account of it.
//!
//! The child is put in a new process group so that a signal reaches every process it started
//! (pytest-xdist workers, servers started by fixtures), not only the shell. On timeout or cancel
//! the group gets SIGTERM, then SIGKILL once the grace period is over. Processes the command leaves
//! behind in its group when it exits are ended the same way, so nothing outlives its step.
//!
//! Output goes through a pipe to a [`CappedLog`], so a chatty command cannot fill the disk: the
//! log keeps its most recent part (what [`tail`] quotes in messages) under `log_max`.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::caplog::{self, CappedLog};
use crate::process::{proctree, rss};

/// The default time between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// How often the cancel flag is checked while a command runs (timeouts wake the loop exactly).
const WATCH: Duration = Duration::from_millis(50);

/// How often the group is checked while it is being ended.
const POLL: Duration = Duration::from_millis(10);

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command line, run as `sh -c`.
    pub command: String,
    /// The working directory.
    pub cwd: PathBuf,
    /// Extra environment variables, on top of planrun's own environment.
    pub env: Vec<(String, String)>,
    /// Longest time the command may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// The file stdout and stderr are appended to (created with its parent directories).
    pub log: PathBuf,
    /// Time between SIGTERM and SIGKILL when the command must end.
    pub grace: Duration,
    /// The log's size cap in bytes (`None`: unbounded); the most recent output is kept.
    pub log_max: Option<u64>,
}

impl CommandSpec {
    /// A spec with no extra environment, no timeout, the default grace period and the log cap
    /// `PLANRUN_LOG_MAX` sets (8 MiB by default).
    pub fn new(
        command: impl Into<String>,
        cwd: impl Into<PathBuf>,
        log: impl Into<PathBuf>,
    ) -> Self {
        CommandSpec {
            command: command.into(),
            cwd: cwd.into(),
            env: Vec::new(),
            timeout: None,
            log: log.into(),
            grace: DEFAULT_GRACE,
            log_max: caplog::max_from_env(),
        }
    }
}

/// Cancellation flags shared with the signal handler; clones share the same flags.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    force: Arc<AtomicBool>,
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Sets the flag: running commands are ended and no new one starts.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for the scheduler and the signal handler.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// Cancels and skips the grace period: groups being ended get SIGKILL at once (a second
    /// Ctrl-C, as in nextest).
    pub fn force(&self) {
        self.cancel();
        self.force.store(true, Ordering::SeqCst);
    }

    /// Whether the grace period is to be skipped.
    pub fn is_forced(&self) -> bool {
        self.force.load(Ordering::SeqCst)
    }

    /// The force flag itself, for the signal handler.
    pub fn force_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.force)
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Status {
    /// It exited with this code.
    Exited(i32),
    /// A signal it did not get from planrun ended it.
    Signaled(i32),
    /// It ran past its timeout and was ended.
    TimedOut,
    /// planrun was interrupted and ended it.
    Cancelled,
}

impl Status {
    /// The shell-style exit code: a signal n is 128+n, a timeout 124 (like `timeout(1)`), a
    /// cancel 130 (SIGINT).
    pub fn code(&self) -> i32 {
        match *self {
            Status::Exited(code) => code,
            Status::Signaled(signal) => 128 + signal,
            Status::TimedOut => 124,
            Status::Cancelled => 128 + libc::SIGINT,
        }
    }

    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        *self == Status::Exited(0)
    }
}

/// What running a command cost and how it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// User CPU time of the command and every descendant it waited for.
    pub cpu_user: Duration,
    /// System CPU time, likewise.
    pub cpu_system: Duration,
    /// Peak resident memory of the whole tree in KiB, when sampled.
    pub rss_peak_kb: Option<u64>,
}

/// Runs `spec` to the end, its output appended to `spec.log`; samples tree RSS if asked.
///
/// A non-zero exit is an `Ok` outcome; `Err` means the command could not be started or waited for.
/// When `cancel` is already set, nothing is started and the outcome is `Cancelled`.
pub fn run(spec: &CommandSpec, cancel: &Cancel, sample_rss: bool) -> io::Result<Outcome> {
    if cancel.is_cancelled() {
        return Ok(Outcome {
            status: Status::Cancelled,
            wall: Duration::ZERO,
            cpu_user: Duration::ZERO,
            cpu_system: Duration::ZERO,
            rss_peak_kb: None,
        });
    }
    if let Some(dir) = spec.log.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut log = CappedLog::open(&spec.log, spec.log_max)?;
    let (output, child_output) = os_pipe::pipe()?;
    // An absolute path spares a failed execve per PATH entry on every step.
    let mut expr = duct::cmd("/bin/sh", ["-c", spec.command.as_str()])
        .dir(&spec.cwd)
        .stdin_null()
        .stderr_to_stdout()
        .stdout_file(child_output)
        .unchecked()
        .before_spawn(|command| {
            command.process_group(0);
            Ok(())
        });
    for (name, value) in &spec.env {
        expr = expr.env(name, value);
    }

    // CPU time comes from RUSAGE_CHILDREN: it grows when a child is reaped, by that child's time
    // plus the time of every descendant it reaped itself. Suites run alone, so the delta around
    // one run is that run's tree; for `run` steps in parallel it may include a neighbour's.
    let cpu_before = children_cpu();
    let started = Instant::now();
    tracing::debug!(command = %spec.command, cwd = %spec.cwd.display(), "spawning");
    let handle = expr.start()?;
    // The expression holds planrun's copy of the pipe's write end; the log sees the end of the
    // output only once every copy is closed.
    drop(expr);
    let (copied, log_done) = mpsc::channel();
    thread::spawn(move || {
        if let Err(e) = log.copy_from(output) {
            tracing::warn!("cannot write the log: {e}");
        }
        let _ = copied.send(());
    });
    let pid = handle.pids().first().copied().unwrap_or(0);
    let pgid = i32::try_from(pid).unwrap_or(0);
    tracing::debug!(pid, "started in its own process group");
    crate::process::orphans::spawned(pid);
    let sampler = sample_rss.then(|| rss::RssSampler::start(pid, rss::DEFAULT_INTERVAL));

    let result = thread::scope(|scope| {
        // A blocking wait in its own thread stamps the exit the moment it happens; polling would
        // add up to one poll interval to every wall time.
        let (tx, rx) = mpsc::channel();
        let handle = &handle;
        scope.spawn(move || {
            let waited = handle.wait().map(|out| out.status);
            let _ = tx.send((Instant::now(), waited));
        });
        let mut forced = None;
        let (ended, waited) = loop {
            let until_timeout = spec
                .timeout
                .map_or(WATCH, |t| t.saturating_sub(started.elapsed()));
            match rx.recv_timeout(WATCH.min(until_timeout)) {
                Ok(done) => break done,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break (Instant::now(), Err(io::Error::other("waiter thread ended")))
                }
            }
            if cancel.is_cancelled() {
                forced = Some(Status::Cancelled);
            } else if spec.timeout.is_some_and(|t| started.elapsed() >= t) {
                forced = Some(Status::TimedOut);
            }
            if forced.is_some() {
                let forced = || cancel.is_forced();
                let done =
                    terminate_group(pgid, spec.grace, &forced, || match rx.recv_timeout(POLL) {
                        Ok(done) => Some(done),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            Some((Instant::now(), Err(io::Error::other("waiter thread ended"))))
                        }
                    });
                break done;
            }
        };
        (forced, ended, waited)
    });
    let (forced, ended, waited) = result;
    let exit = waited?;
    // Leftovers after a normal exit get the same treatment as a timeout.
    if forced.is_none() && pgid > 0 {
        end_leftovers(pgid, spec.grace);
    }
    // A process that left the group (`setsid`) may keep the pipe open for ever; after a while
    // the copier is left to finish on its own rather than holding up the step.
    if log_done.recv_timeout(DRAIN).is_err() {
        tracing::debug!("output pipe still open after the command ended; log left to drain");
    }
    let rss_peak_kb = sampler.and_then(rss::RssSampler::stop);
    let (user, system) = children_cpu();
    let status = forced.unwrap_or_else(|| match (exit.code(), exit.signal()) {
        (Some(code), _) => Status::Exited(code),
        (None, Some(signal)) => Status::Signaled(signal),
        (None, None) => Status::Exited(-1),
    });
    Ok(Outcome {
        status,
        wall: ended.saturating_duration_since(started),
        cpu_user: user.saturating_sub(cpu_before.0),
        cpu_system: system.saturating_sub(cpu_before.1),
        rss_peak_kb,
    })
}

/// How long the log may take to drain once the command's group is gone.
const DRAIN: Duration = Duration::from_secs(2);

/// SIGTERM to the group, up to `grace` for the leader (whose exit `wait_leader` reports) and the
/// rest of the group to go, then SIGKILL; returns the leader's exit once it has been reaped.
fn terminate_group<T>(
    pgid: i32,
    grace: Duration,
    skip_grace: &dyn Fn() -> bool,
    mut wait_leader: impl FnMut() -> Option<T>,
) -> T {
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut leader = None;
    while Instant::now() < deadline && !skip_grace() {
        if leader.is_none() {
            leader = wait_leader();
        } else if proctree::group_alive(pgid) {
            thread::sleep(POLL);
        } else {
            break;
        }
    }
    signal_group(pgid, libc::SIGKILL);
    loop {
        if let Some(done) = leader {
            return done;
        }
        leader = wait_leader();
    }
}

/// Ends what the command left running in its group after it exited.
fn end_leftovers(pgid: i32, grace: Duration) {
    if proctree::group_alive(pgid) {
        terminate_group(pgid, grace, &|| false, || Some(()));
    }
}

/// Sends `signal` to every process in group `pgid`; a group already gone is not an error.
fn signal_group(pgid: i32, signal: i32) {
    if pgid > 0 {
        // SAFETY: killpg only sends a signal; a positive pgid can never mean "every process".
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// User and system CPU time of all reaped children of this process so far.
fn children_cpu() -> (Duration, Duration) {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    (timeval(usage.ru_utime), timeval(usage.ru_stime))
}

/// A `timeval` as a duration (negative fields, which the kernel never reports, count as zero).
pub(crate) fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::new(secs, micros.saturating_mul(1000))
}

/// The last `n` lines of the file at `log`, read from its end (never the whole file); empty when
/// it cannot be read. Invalid UTF-8 is replaced, a final newline does not make an empty line.
pub fn tail(log: &Path, n: usize) -> Vec<String> {
    const CHUNK: u64 = 8192;
    let Ok(mut file) = File::open(log) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, command: &str) -> CommandSpec {
        CommandSpec::new(command, dir, dir.join("logs/out.log"))
    }

    fn go(spec: &CommandSpec) -> Outcome {
        run(spec, &Cancel::new(), false).unwrap()
    }

    /// A process that is gone or only a zombie waiting for a reaper.
    fn dead(pid: u32) -> bool {
        proctree::read(pid, &mut String::new()).is_none_or(|p| p.is_zombie())
    }

    fn pids_in(file: &Path) -> Vec<u32> {
        fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect()
    }

    #[test]
    fn exit_codes_and_signals() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(go(&spec(dir.path(), "true")).status, Status::Exited(0));
        let failed = go(&spec(dir.path(), "exit 3")).status;
        assert_eq!(
            (failed, failed.code(), failed.success()),
            (Status::Exited(3), 3, false)
        );
        let killed = go(&spec(dir.path(), "kill -TERM $$")).status;
        assert_eq!(killed, Status::Signaled(libc::SIGTERM));
        assert_eq!(killed.code(), 143);
        assert_eq!(Status::TimedOut.code(), 124);
        assert_eq!(Status::Cancelled.code(), 130);
    }

    #[test]
    fn env_cwd_and_streamed_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "echo \"$GREETING from $(pwd)\"; echo oops >&2");
        s.env.push(("GREETING".into(), "hello".into()));
        assert!(go(&s).status.success());
        go(&s);
        let log = fs::read_to_string(&s.log).unwrap();
        let here = dir.path().canonicalize().unwrap();
        let line = format!("hello from {}\noops\n", here.display());
        assert_eq!(log, line.repeat(2), "appended, stderr joined");
    }

    #[test]
    fn log_is_written_while_the_command_runs() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), "echo early; sleep 0.5; echo late");
        let log = s.log.clone();
        let seen = thread::spawn(move || {
            thread::sleep(Duration::from_millis(250));
            fs::read_to_string(log).unwrap_or_default()
        });
        go(&s);
        assert_eq!(seen.join().unwrap(), "early\n");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let mut s = spec(
            dir.path(),
            &format!(
                "sleep 100 & echo $! >> {0}; sleep 100 & echo $! >> {0}; wait",
                pids.display()
            ),
        );
        s.timeout = Some(Duration::from_millis(300));
        s.grace = Duration::from_millis(500);
        let t = Instant::now();
        let out = go(&s);
        assert_eq!(out.status, Status::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        let pids = pids_in(&pids);
        assert_eq!(pids.len(), 2);
        assert!(pids.iter().all(|&p| dead(p)), "grandchildren survived");
    }

    #[test]
    fn sigterm_ignored_means_sigkill_after_grace() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "trap '' TERM; sleep 100 & wait; sleep 100");
        s.timeout = Some(Duration::from_millis(100));
        s.grace = Duration::from_millis(300);
        let t = Instant::now();
        assert_eq!(go(&s).status, Status::TimedOut);
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn leftovers_are_ended_when_the_command_exits() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let s = spec(
            dir.path(),
            &format!("sleep 100 & echo $! > {}; exit 0", pids.display()),
        );
        assert!(go(&s).status.success());
        assert!(dead(pids_in(&pids)[0]));
    }

    #[test]
    fn cancel_ends_a_running_command_and_prevents_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cancel = Cancel::new();
        let setter = cancel.clone();
        let t = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            setter.cancel();
        });
        let out = run(&spec(dir.path(), "sleep 100"), &cancel, false).unwrap();
        assert_eq!(out.status, Status::Cancelled);
        assert!(t.elapsed() < Duration::from_secs(3));
        let marker = dir.path().join("ran");
        let again = spec(dir.path(), &format!("touch {}", marker.display()));
        assert_eq!(
            run(&again, &cancel, false).unwrap().status,
            Status::Cancelled
        );
        assert!(!marker.exists());
        assert!(cancel.flag().load(Ordering::SeqCst));
    }

    #[test]
    fn force_skips_the_grace_period_of_a_command_ignoring_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "trap '' TERM; sleep 100 & wait; sleep 100");
        // An hour of grace: the command only ends (and the test only finishes) because `force`
        // sends SIGKILL without waiting for it.
        s.grace = Duration::from_secs(3600);
        let cancel = Cancel::new();
        let setter = cancel.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            setter.cancel();
            thread::sleep(Duration::from_millis(300));
            setter.force();
        });
        let out = run(&s, &cancel, false).unwrap();
        assert_eq!(out.status, Status::Cancelled);
        assert!(cancel.is_forced());
    }

    #[test]
    fn wall_cpu_and_rss_are_measured() {
        let dir = tempfile::tempdir().unwrap();
        let out = go(&spec(dir.path(), "sleep 0.2"));
        // Only a sanity bound above: how close the figure is lives in the suite benchmark.
        assert!(out.wall >= Duration::from_millis(200) && out.wall < Duration::from_secs(5));
        // No upper bound on the CPU of `sleep`: RUSAGE_CHILDREN counts every child this test
        // binary reaps, and other tests reap theirs at the same moment (it failed in CI so).
        assert_eq!(out.rss_peak_kb, None);
        let busy = "python3 -c 'import time\nt=time.time()\nwhile time.time()-t<0.3: pass'";
        let out = run(&spec(dir.path(), busy), &Cancel::new(), true).unwrap();
        assert!(
            out.cpu_user + out.cpu_system >= Duration::from_millis(200),
            "{out:?}"
        );
        assert!(out.rss_peak_kb.unwrap() > 1000, "{out:?}");
    }

    #[test]
    fn the_log_is_capped_keeping_the_tail_and_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(
            dir.path(),
            "i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; echo done >&2",
        );
        s.log_max = Some(64 * 1024);
        assert!(go(&s).status.success());
        let text = fs::read_to_string(&s.log).unwrap();
        assert!(text.len() <= 64 * 1024, "{}", text.len());
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("[planrun: log capped at 65536 bytes (PLANRUN_LOG_MAX); ")
                && first.ends_with(" earlier bytes dropped]"),
            "{first}"
        );
        assert_eq!(tail(&s.log, 2), vec!["line 19999", "done"]);
        let second = text.lines().nth(1).unwrap();
        let n: u32 = second.strip_prefix("line ").unwrap().parse().unwrap();
        let kept = text.lines().skip(1).count() as u32;
        assert_eq!(
            n + kept,
            20001,
            "every line after the marker is there, in order"
        );
    }

    #[test]
    fn a_process_holding_the_output_open_does_not_hold_up_the_step() {
        let dir = tempfile::tempdir().unwrap();
        // setsid takes the sleeper out of the group, so it is not ended with it; it keeps the
        // pipe's write end until it exits.
        let s = spec(dir.path(), "setsid sleep 6 & echo started");
        let t = Instant::now();
        assert!(go(&s).status.success());
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(fs::read_to_string(&s.log).unwrap(), "started\n");
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
