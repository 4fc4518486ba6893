//! One child in its own process group, watched to its end: a timeout or a cancel ends the whole
//! group, and so does the child's exit for whatever it left running in it.
//!
//! The child is put in a new process group so that a signal reaches every process it started
//! (pytest-xdist workers, servers started by fixtures), not only the one planrun spawned, and so
//! that a Ctrl-C at the terminal reaches planrun only: planrun decides how its commands end. The
//! group gets SIGTERM, then SIGKILL once the grace period is over (at once after a second Ctrl-C).

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::control::{Cancel, Control};
use super::pidwait::{Output, Watched};
use super::{pidwait, proctree, rss, scope};

/// How long the log may take to drain once the command's group is gone.
pub(super) const DRAIN: Duration = Duration::from_secs(2);

/// The default time between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// How often the cancel flag is checked while a command runs (timeouts wake the loop exactly).
const WATCH: Duration = Duration::from_millis(50);

/// How often the group is checked while it is being ended.
pub(super) const POLL: Duration = Duration::from_millis(10);

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

    pub(super) fn of(exit: ExitStatus) -> Status {
        match (exit.code(), exit.signal()) {
            (Some(code), _) => Status::Exited(code),
            (None, Some(signal)) => Status::Signaled(signal),
            (None, None) => Status::Exited(-1),
        }
    }
}

/// Worded as the standard library words an exit status (`exit status: 1`, `signal: 9`).
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(code) => write!(f, "exit status: {code}"),
            Status::Signaled(signal) => write!(f, "signal: {signal}"),
            Status::TimedOut => f.write_str("timed out"),
            Status::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What running a command cost and how it ended.
#[derive(Debug, Clone, PartialEq)]
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
    /// The whole tree's memory over time, when sampled (at most [`rss::SERIES_POINTS`] points).
    pub rss_series: Vec<rss::RssPoint>,
}

impl Outcome {
    /// The outcome of a command that was cancelled before it started.
    pub(super) fn not_started() -> Outcome {
        Outcome {
            status: Status::Cancelled,
            wall: Duration::ZERO,
            cpu_user: Duration::ZERO,
            cpu_system: Duration::ZERO,
            rss_peak_kb: None,
            rss_series: Vec::new(),
        }
    }
}

/// How long a command may run and how it is ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest time the command may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when the command must end.
    pub grace: Duration,
}

/// Starts `command` (its stdout and stderr already set; stdin is `/dev/null`) in a new process
/// group recorded in `control.groups`, and waits for it under `limits`; samples tree RSS if
/// asked. `Err` means it could not be started or waited for.
/// `output`, when given, is copied to its log in this thread while the command runs, and
/// drained (up to [`DRAIN`]) once it has exited.
pub(super) fn run(
    command: Command,
    limits: Limits,
    control: &Control,
    sample_rss: bool,
    output: Option<Output>,
) -> io::Result<Outcome> {
    // CPU time comes from RUSAGE_CHILDREN: it grows when a child is reaped, by that child's time
    // plus the time of every descendant it reaped itself. Suites run alone, so the delta around
    // one run is that run's tree; for `run` steps in parallel it may include a neighbour's.
    let cpu_before = children_cpu();
    let started = Instant::now();
    let (child, mark, seen) = start_in_group(command, &control.scope)?;
    let pid = child.id();
    let mut watched = Watched::new(child, output);
    let pgid = i32::try_from(pid).unwrap_or(0);
    control.groups.spawned_seen(pid, seen.as_ref());
    let sampler = sample_rss.then(|| rss::RssSampler::start(pid, rss::DEFAULT_INTERVAL));
    let (forced, (ended, waited)) = watch(&mut watched, pgid, started, limits, &control.cancel);
    let trace = sampler.map(rss::RssSampler::finish).unwrap_or_default();
    let exit = waited?;
    // Leftovers after a normal exit get the same treatment as a timeout.
    if forced.is_none() && pgid > 0 {
        end_leftovers(pgid, limits.grace);
    }
    // Then whatever left the group (`setsid`, a double fork), found by the mark it inherited.
    mark.end(Some(pid));
    watched.drain(DRAIN);
    let (user, system) = children_cpu();
    Ok(Outcome {
        status: forced.unwrap_or_else(|| Status::of(exit)),
        wall: ended.saturating_duration_since(started),
        cpu_user: user.saturating_sub(cpu_before.0),
        cpu_system: system.saturating_sub(cpu_before.1),
        rss_peak_kb: Some(trace.peak_kb).filter(|&kb| kb > 0),
        rss_series: trace.series,
    })
}

pub(super) use super::pidwait::Exit;

/// A child started as the leader of a new process group (stdin `/dev/null`); a waiter thread
/// reports its exit on `exit`.
pub(super) struct Spawned {
    /// Its pid, which is also its group's id.
    pub pid: u32,
    /// Its exit, once it has happened.
    pub exit: mpsc::Receiver<Exit>,
    /// The mark it and every descendant carry.
    pub mark: Mark,
}

/// The mark one command carries in its environment, and when it started.
#[derive(Debug, Clone)]
pub(super) struct Mark {
    value: String,
    /// The leader's start time (clock ticks since boot): nothing older carries the mark.
    since: u64,
}

impl Mark {
    /// Ends every process that carries the mark (see [`scope::end_marked`]); the leader `spare`
    /// is left for its waiter to reap.
    pub fn end(&self, spare: Option<u32>) -> usize {
        scope::end_marked(&self.value, self.since, spare)
    }
}

/// Starts `command` in a new process group of its own, carrying a new mark of `scope`; a waiter
/// thread reports its exit (a service's, which runs for the whole apply).
pub(super) fn spawn_in_group(command: Command, scope: &scope::Scope) -> io::Result<Spawned> {
    let (child, mark, _) = start_in_group(command, scope)?;
    let pid = child.id();
    // A blocking wait in its own thread stamps the exit the moment it happens; polling would add
    // up to one poll interval to every wall time.
    Ok(Spawned {
        pid,
        exit: pidwait::waiter(child),
        mark,
    })
}

/// Starts `command` in a new process group of its own, carrying a new mark of `scope`, and
/// registered as this layer's own child (see [`scope::own`]): the child, its mark, and what
/// `/proc` showed of it just after it started.
fn start_in_group(
    mut command: Command,
    scope: &scope::Scope,
) -> io::Result<(Child, Mark, Option<proctree::ProcInfo>)> {
    let value = scope.mark();
    command
        .stdin(Stdio::null())
        .process_group(0)
        .env(scope::VAR, &value);
    // Registered before its waiter exists, so that reaping adopted orphans never takes it.
    let mut own = scope::own();
    let child = command.spawn()?;
    let pid = child.id();
    own.insert(pid);
    drop(own);
    // The command holds planrun's copies of the output pipes' write ends; their readers see the
    // end of the output only once every copy is closed.
    drop(command);
    // Not reaped yet, so its stat is there even if it already exited.
    let seen = proctree::read(pid, &mut String::new());
    let since = seen.map_or(0, |p| p.start);
    tracing::debug!(pid, mark = %value, "started in its own process group");
    Ok((child, Mark { value, since }, seen))
}

/// Waits for the exit of the leader of group `pgid` on `rx`, ending the group on timeout or
/// cancel; returns the status that ending it gave (`None` when it exited by itself) and the exit.
fn watch(
    watched: &mut Watched,
    pgid: i32,
    started: Instant,
    limits: Limits,
    cancel: &Cancel,
) -> (Option<Status>, Exit) {
    loop {
        let until_timeout = limits
            .timeout
            .map_or(WATCH, |t| t.saturating_sub(started.elapsed()));
        if let Some(done) = watched.wait(WATCH.min(until_timeout)) {
            return (None, done);
        }
        let forced = if cancel.is_cancelled() {
            Status::Cancelled
        } else if limits.timeout.is_some_and(|t| started.elapsed() >= t) {
            Status::TimedOut
        } else {
            continue;
        };
        let done = terminate_group(pgid, limits.grace, &|| cancel.is_forced(), || {
            watched.wait(POLL)
        });
        return (Some(forced), done);
    }
}

/// SIGTERM to the group, up to `grace` for the leader (whose exit `wait_leader` reports) and the
/// rest of the group to go, then SIGKILL; returns the leader's exit once it has been reaped.
pub(super) fn terminate_group<T>(
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
pub(super) fn end_leftovers(pgid: i32, grace: Duration) {
    if proctree::group_alive(pgid) {
        terminate_group(pgid, grace, &|| false, || Some(()));
    }
}

/// Sends `signal` to every process in group `pgid`; a group already gone is not an error.
pub(super) fn signal_group(pgid: i32, signal: i32) {
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
fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::new(secs, micros.saturating_mul(1000))
}
