//! Processes that left their command's process group (`setsid`, a double fork) found again and
//! ended with it, so that no process outlives the step, the service or the run that started it.
//!
//! A process group is not enough: `setsid` makes a new session and group, and a double fork
//! hands the grandchild to the reaper. So every command planrun starts carries a mark in its
//! environment ([`VAR`]), which every descendant inherits through `fork` and `exec` whatever
//! group or session it moves to; ending a command ends every process carrying its mark and all
//! their descendants. A descendant that wipes its environment (`env -i`) loses the mark, which is
//! why planrun is also a child subreaper ([`become_subreaper`]): orphans come back to planrun
//! rather than to init, and the end of a run ends every process still below planrun.
//! cgroups would do both in one, but they need a delegated hierarchy that most machines and CI
//! containers do not give an unprivileged process.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::proctree::{self, ProcInfo};

/// The environment variable holding a command's mark: `<run>/<n>`.
pub const VAR: &str = "PLANRUN_SCOPE";

/// How long finding and stopping the processes, and then their going after SIGKILL, may take
/// before the rest is left to the kernel.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often the process table is scanned again while processes are being ended.
const POLL: Duration = Duration::from_millis(10);

/// Whether this process became a child subreaper.
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Pids of the children that a waiter thread of this layer reaps; an adopted orphan is any
/// other child, and only those are reaped here.
static OWN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// The number of the next mark: one counter for the whole process, so that no two commands
/// share a mark whichever scope they run in.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The run every command's mark belongs to.
#[derive(Debug, Clone)]
pub struct Scope {
    run: Arc<str>,
}

impl Default for Scope {
    /// A scope named after this process, for commands run outside an apply.
    fn default() -> Self {
        Scope::new(&format!("pid{}", std::process::id()))
    }
}

impl Scope {
    /// The scope of run `run` (characters outside `[A-Za-z0-9._-]` become `_`).
    pub fn new(run: &str) -> Self {
        Scope {
            run: clean(run).into(),
        }
    }

    /// A new mark for one command of this run.
    pub(super) fn mark(&self) -> String {
        format!("{}/{}", self.run, NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// What every mark of this run starts with.
    fn prefix(&self) -> String {
        format!("{}/", self.run)
    }
}

fn clean(run: &str) -> String {
    run.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// Makes this process the child subreaper of everything it starts (Linux): a process whose
/// parent dies is handed to planrun, not to init, so it stays below planrun until the run ends
/// it. Returns whether that holds.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
        let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
        if done {
            SUBREAPER.store(true, Ordering::SeqCst);
        } else {
            let e = std::io::Error::last_os_error();
            tracing::warn!("cannot become a child subreaper: {e}");
        }
        done
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Holds the registry of this layer's children while one is spawned and recorded, so that
/// [`reap_adopted`] never takes a child whose waiter has not been registered yet.
pub(super) fn own() -> MutexGuard<'static, BTreeSet<u32>> {
    OWN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Notes that `pid`'s waiter thread has reaped it.
pub(super) fn reaped(pid: u32) {
    own().remove(&pid);
}

/// Ends every process carrying `mark` that started no earlier than `since` (clock ticks since
/// boot, as in `/proc`), and all their descendants; `spare` (the command's own leader, which
/// its waiter reaps) is never reaped here. Returns how many were ended.
pub(super) fn end_marked(mark: &str, since: u64, spare: Option<u32>) -> usize {
    let needle = format!("{VAR}={mark}\0");
    if nothing_escaped(needle.as_bytes()) {
        return 0;
    }
    let me = std::process::id();
    end(
        |table| {
            let roots: Vec<u32> = table
                .iter()
                .filter(|p| p.pid != me && p.start >= since && !p.is_zombie())
                .filter(|p| carries(p.pid, needle.as_bytes(), true))
                .map(|p| p.pid)
                .collect();
            with_descendants(table, &roots)
        },
        spare,
    )
}

/// Whether no process carrying `needle` can be alive, known without the scan of all of `/proc`
/// (two of them after every command were most of planrun's own cost per step).
///
/// As a subreaper, planrun adopts every process whose parent dies: once a command's group is
/// gone, whatever of it still lives is below one of planrun's own children, and the topmost
/// such process carries the command's mark (a process that clears its environment is found by
/// the end of the run instead, as it always was). So when no child of planrun carries the mark,
/// nothing does; otherwise, or when the children cannot be read, the full scan decides.
fn nothing_escaped(needle: &[u8]) -> bool {
    SUBREAPER.load(Ordering::SeqCst) && !child_carries(needle)
}

/// Whether a live child of this process carries `needle`, or the children cannot be listed.
fn child_carries(needle: &[u8]) -> bool {
    let mut buf = String::new();
    own_children().is_none_or(|children| {
        children.into_iter().any(|pid| {
            proctree::read(pid, &mut buf).is_some_and(|p| !p.is_zombie())
                && carries(pid, needle, true)
        })
    })
}

/// The children of this process's main thread, which are every orphan it adopted; `None` when
/// the kernel does not list them.
///
/// A child belongs to the thread that forked it, so the other threads' lists hold only the
/// commands the workers started, each carrying its own mark. An orphan is handed to the
/// subreaper's first live thread, the main thread, which lives as long as the process: reading
/// its list alone is one file per command instead of a directory and a file per thread.
fn own_children() -> Option<Vec<u32>> {
    let me = std::process::id();
    let mut list = Vec::with_capacity(256);
    proctree::read_proc(&format!("/proc/self/task/{me}/children"), &mut list, None).ok()?;
    Some(
        String::from_utf8_lossy(&list)
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .collect(),
    )
}

/// Whether no thread of this process has a child, from their `/proc` lists of children;
/// `false` when that cannot be known (a kernel that does not keep the lists), so that the
/// caller falls back to the scan.
///
/// A thread that is ending (a worker of the run a moment ago) has its list gone before its
/// entry: its children, if it had any, are being handed to a live thread, so the lists are
/// read again once it is gone, for at most [`SETTLE`].
fn childless() -> bool {
    let me = std::process::id();
    let started = Instant::now();
    loop {
        match any_child(me) {
            Ok(any) => return !any,
            Err(Unsettled::Ending) if started.elapsed() < SETTLE => thread::sleep(SETTLE / 50),
            Err(_) => return false,
        }
    }
}

/// How long [`childless`] waits for ending threads to be gone.
const SETTLE: Duration = Duration::from_millis(20);

/// Why the children of this process could not be known.
enum Unsettled {
    /// A thread is ending: its list is gone, its entry not yet.
    Ending,
    /// The lists cannot be read at all.
    Unknown,
}

/// Whether a thread of this process (`me`) has a child.
fn any_child(me: u32) -> Result<bool, Unsettled> {
    let tasks = std::fs::read_dir("/proc/self/task").map_err(|_| Unsettled::Unknown)?;
    let mut list = Vec::with_capacity(64);
    for task in tasks {
        let task = task.map_err(|_| Unsettled::Unknown)?;
        let path = task.path().join("children");
        let path = path.to_str().ok_or(Unsettled::Unknown)?;
        match proctree::read_proc(path, &mut list, None) {
            Ok(()) if list.iter().all(u8::is_ascii_whitespace) => {}
            Ok(()) => return Ok(true),
            // The main thread lives as long as the process: its list missing means the kernel
            // keeps none.
            Err(_) if task.file_name().to_str() == Some(&me.to_string()) => {
                return Err(Unsettled::Unknown)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unsettled::Ending),
            Err(_) => return Err(Unsettled::Unknown),
        }
    }
    Ok(false)
}

/// Ends, at the end of a run, every process that carries a mark of `scope` and every process
/// still below planrun; returns how many were signalled.
pub fn end_run(scope: &Scope) -> usize {
    // As a subreaper, every process that carries a mark of the run is below planrun (its
    // orphans come back to planrun, not to init): with no child at all there is nothing to
    // end nor to reap, and no scan of all of `/proc` (hundreds of `stat` and `environ` reads
    // on a busy machine, the largest part of a short apply's own CPU) to find it.
    if SUBREAPER.load(Ordering::SeqCst) && childless() {
        return 0;
    }
    let needle = format!("{VAR}={}", scope.prefix());
    let me = std::process::id();
    let ended = end(
        |table| {
            let mut roots: Vec<u32> = table
                .iter()
                .filter(|p| p.pid != me && !p.is_zombie())
                .filter(|p| carries(p.pid, needle.as_bytes(), false))
                .map(|p| p.pid)
                .collect();
            roots.extend(
                proctree::descendants(table, me)
                    .into_iter()
                    .filter(|&p| p != me),
            );
            with_descendants(table, &roots)
        },
        None,
    );
    reap_adopted();
    ended
}

/// Ends the processes an earlier planrun (killed before it could) left carrying a mark of run
/// `run`, except `already` (killed a moment ago by other means, and perhaps not gone yet);
/// returns how many were signalled.
pub fn end_left(run: &str, already: &BTreeSet<u32>) -> usize {
    let needle = format!("{VAR}={}", Scope::new(run).prefix());
    let me = std::process::id();
    end(
        |table| {
            let roots: Vec<u32> = table
                .iter()
                .filter(|p| p.pid != me && !p.is_zombie() && !already.contains(&p.pid))
                .filter(|p| carries(p.pid, needle.as_bytes(), false))
                .map(|p| p.pid)
                .collect();
            with_descendants(table, &roots)
                .into_iter()
                .filter(|pid| !already.contains(pid))
                .collect()
        },
        None,
    )
}

/// Reaps the zombies among this process's children that no waiter of this layer owns: orphans
/// adopted as subreaper that ended by themselves. Only done as a subreaper: otherwise every
/// child is someone's `std::process::Child`.
pub fn reap_adopted() {
    if !SUBREAPER.load(Ordering::SeqCst) {
        return;
    }
    let own = own();
    for pid in adopted_zombies(&own) {
        wait_nohang(pid);
    }
}

/// This process's children that ended and that no waiter of this layer owns (`own`): from the
/// main thread's children, where adopted orphans are (see [`own_children`]), not from a scan
/// of all of `/proc`, unless the kernel does not list them.
fn adopted_zombies(own: &BTreeSet<u32>) -> Vec<u32> {
    let me = std::process::id();
    let mut buf = String::new();
    let children: Vec<ProcInfo> = match own_children() {
        Some(pids) => (pids.into_iter())
            .filter_map(|pid| proctree::read(pid, &mut buf))
            .collect(),
        None => proctree::scan(),
    };
    (children.into_iter())
        .filter(|p| p.ppid == me && p.is_zombie() && !own.contains(&p.pid))
        .map(|p| p.pid)
        .collect()
}

/// Stops what `select` finds with SIGSTOP, again and again until nothing new appears (a stopped
/// process cannot fork, nor act on a sibling's death), then SIGKILLs it all and waits for it to
/// go; returns how many processes were ended.
///
/// No SIGTERM and grace period here: these processes left the group that planrun ends politely,
/// and a grace period is time in which one of them acts on another's end (a shell whose `sleep`
/// was terminated goes on to its next command).
fn end(select: impl Fn(&[ProcInfo]) -> Vec<u32>, spare: Option<u32>) -> usize {
    let me = std::process::id();
    let mut stopped = BTreeSet::new();
    let started = Instant::now();
    loop {
        let table = proctree::scan();
        let new: Vec<u32> = select(&table)
            .into_iter()
            .filter(|pid| *pid != me && alive(&table, *pid) && !stopped.contains(pid))
            .collect();
        if new.is_empty() || started.elapsed() > KILL_WAIT {
            break;
        }
        for &pid in &new {
            signal(pid, libc::SIGSTOP);
        }
        stopped.extend(new);
    }
    for &pid in &stopped {
        signal(pid, libc::SIGKILL);
    }
    // Nothing stopped, nothing to wait for: no second scan of all of `/proc`.
    while !stopped.is_empty() {
        let table = proctree::scan();
        reap_ours(&table, &stopped, spare, me);
        let left: Vec<u32> = stopped
            .iter()
            .copied()
            .filter(|&pid| alive(&table, pid))
            .collect();
        if left.is_empty() {
            break;
        }
        if started.elapsed() > KILL_WAIT * 2 {
            tracing::warn!(
                "{} process(es) did not go after SIGKILL: {left:?}",
                left.len()
            );
            break;
        }
        thread::sleep(POLL);
    }
    if !stopped.is_empty() {
        tracing::debug!(
            count = stopped.len(),
            "ended processes that left their group"
        );
    }
    stopped.len()
}

/// Reaps the signalled processes that are this process's children (orphans it adopted as a
/// subreaper), the spared leader excepted.
fn reap_ours(table: &[ProcInfo], signalled: &BTreeSet<u32>, spare: Option<u32>, me: u32) {
    if !SUBREAPER.load(Ordering::SeqCst) {
        return;
    }
    for p in table {
        if p.ppid == me && p.is_zombie() && signalled.contains(&p.pid) && Some(p.pid) != spare {
            wait_nohang(p.pid);
        }
    }
}

fn wait_nohang(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid on one pid with WNOHANG only reaps that child if it has exited.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
}

fn signal(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill on one positive pid only sends a signal.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

fn alive(table: &[ProcInfo], pid: u32) -> bool {
    table.iter().any(|p| p.pid == pid && !p.is_zombie())
}

/// `roots` and everything below them, each once.
fn with_descendants(table: &[ProcInfo], roots: &[u32]) -> Vec<u32> {
    let mut all = BTreeSet::new();
    for &root in roots {
        if !all.contains(&root) {
            all.extend(proctree::descendants(table, root));
        }
    }
    all.into_iter().collect()
}

/// Whether `pid`'s environment holds `needle` as a whole variable (`exact`: the needle ends with
/// its NUL) or as the start of one.
fn carries(pid: u32, needle: &[u8], exact: bool) -> bool {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    env.split(|b| *b == 0).any(|var| {
        if exact {
            needle.strip_suffix(b"\0") == Some(var)
        } else {
            var.starts_with(needle)
        }
    })
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
