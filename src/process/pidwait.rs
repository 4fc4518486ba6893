//! Waiting for a command in the calling thread: its exit comes on a pidfd and its output on its
//! pipe, both in one `poll`, so a command costs neither a waiter thread nor an output-pump thread.
//! Each of those was a thread start and a wake-up on every step's critical path, which on a busy
//! machine is a wait for a core each time. Where the kernel has no pidfd (before Linux 5.3), a
//! waiter thread reports the exit instead, as it does for services.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Child;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::caplog::CappedLog;
use super::scope;

/// The moment the leader exited and how.
pub(super) type Exit = (Instant, io::Result<std::process::ExitStatus>);

/// A command's output on its way to its log: the pipe's read end and the log.
pub(super) struct Output {
    /// The read end; every write end is the command's (and its descendants').
    pub pipe: os_pipe::PipeReader,
    /// Where the output goes.
    pub log: CappedLog,
}

/// How the leader's exit is learnt.
enum Exits {
    /// Its pidfd turns readable; the child is reaped here.
    Pidfd { fd: OwnedFd, child: Child },
    /// A waiter thread sends it (no pidfd on this kernel).
    Thread(mpsc::Receiver<Exit>),
    /// It has been reported.
    Reported,
}

/// One running command: its exit and its output, waited for together.
pub(super) struct Watched {
    pid: u32,
    exits: Exits,
    output: Option<Output>,
    buf: Vec<u8>,
    /// The log could not be written: the rest of the output is read and dropped.
    log_failed: bool,
}

/// The slice a waiter-thread exit is checked at while output keeps the poll busy.
const THREAD_CHECK: Duration = Duration::from_millis(10);

impl Watched {
    /// Watches `child` (already registered as this layer's own) and copies `output`.
    pub fn new(child: Child, output: Option<Output>) -> Watched {
        let pid = child.id();
        let exits = match pidfd_open(pid) {
            Ok(fd) => Exits::Pidfd { fd, child },
            Err(e) => {
                tracing::debug!("no pidfd ({e}); a thread waits for the command");
                Exits::Thread(waiter(child))
            }
        };
        Watched {
            pid,
            exits,
            output,
            buf: Vec::new(),
            log_failed: false,
        }
    }

    /// Waits up to `timeout` for the leader's exit, copying output meanwhile; `None` when it has
    /// not exited by then (or was reported already).
    pub fn wait(&mut self, timeout: Duration) -> Option<Exit> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Exits::Thread(rx) = &self.exits {
                match rx.try_recv() {
                    Ok(exit) => return self.reported(exit),
                    Err(mpsc::TryRecvError::Disconnected) => {
                        let gone = (Instant::now(), Err(io::Error::other("waiter thread ended")));
                        return self.reported(gone);
                    }
                    Err(mpsc::TryRecvError::Empty) if self.output.is_none() => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        return match rx.recv_timeout(left) {
                            Ok(exit) => self.reported(exit),
                            Err(mpsc::RecvTimeoutError::Timeout) => None,
                            Err(mpsc::RecvTimeoutError::Disconnected) => self.reported((
                                Instant::now(),
                                Err(io::Error::other("waiter thread ended")),
                            )),
                        };
                    }
                    Err(mpsc::TryRecvError::Empty) => {}
                }
            }
            let exit_fd = match &self.exits {
                Exits::Pidfd { fd, .. } => Some(fd.as_raw_fd()),
                Exits::Thread(_) => None,
                Exits::Reported => return None,
            };
            let pipe_fd = self.output.as_ref().map(|o| o.pipe.as_raw_fd());
            let mut left = deadline.saturating_duration_since(Instant::now());
            if exit_fd.is_none() {
                left = left.min(THREAD_CHECK);
            }
            let (exited, readable) = poll(exit_fd, pipe_fd, left);
            if readable {
                self.copy_some();
            }
            if exited {
                let Exits::Pidfd { child, .. } = &mut self.exits else {
                    unreachable!("only a pidfd reports an exit through poll")
                };
                let waited = child.wait();
                let exit = (Instant::now(), waited);
                return self.reported(exit);
            }
            // A command that writes without pause still has its timeout and cancel checked.
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    fn reported(&mut self, exit: Exit) -> Option<Exit> {
        if matches!(self.exits, Exits::Pidfd { .. }) {
            scope::reaped(self.pid);
        }
        self.exits = Exits::Reported;
        Some(exit)
    }

    /// One read of the pipe into the log; the end of the output flushes the log and closes it.
    fn copy_some(&mut self) {
        let Some(out) = &mut self.output else { return };
        if self.buf.is_empty() {
            self.buf = vec![0u8; 64 * 1024];
        }
        match out.pipe.read(&mut self.buf) {
            Ok(0) => self.end_output(),
            Ok(n) if !self.log_failed => {
                if let Err(e) = out.log.write(&self.buf[..n]) {
                    tracing::warn!("cannot write the log: {e}");
                    self.log_failed = true;
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!("cannot read the command's output: {e}");
                self.end_output();
            }
        }
    }

    fn end_output(&mut self) {
        if let Some(mut out) = self.output.take() {
            if !self.log_failed {
                if let Err(e) = out.log.flush_held() {
                    tracing::warn!("cannot write the log: {e}");
                }
            }
        }
    }

    /// After the exit: the output left in the pipe, until every writer has closed it or `within`
    /// has passed; a process that left the group may keep the pipe open for ever, so the rest
    /// is then left to a thread rather than holding up the step.
    pub fn drain(mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while let Some(out) = &self.output {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let fd = out.pipe.as_raw_fd();
            if poll(None, Some(fd), left).1 {
                self.copy_some();
            }
        }
        if let Some(mut out) = self.output.take() {
            tracing::debug!("output pipe still open after the command ended; log left to drain");
            thread::spawn(move || {
                if let Err(e) = out.log.copy_from(out.pipe) {
                    tracing::warn!("cannot write the log: {e}");
                }
            });
        }
    }
}

/// A thread that reaps `child` and sends its exit, stamped the moment it happens (a blocking
/// wait: polling would add up to one poll interval to every wall time).
pub(super) fn waiter(mut child: Child) -> mpsc::Receiver<Exit> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let waited = child.wait();
        scope::reaped(pid);
        let _ = tx.send((Instant::now(), waited));
    });
    rx
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: the descriptor was just returned to this process and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Polls the pidfd and the pipe for up to `timeout`: whether the leader exited, and whether the
/// pipe has something to read (data or its end).
fn poll(exit: Option<RawFd>, pipe: Option<RawFd>, timeout: Duration) -> (bool, bool) {
    let mut fds: Vec<libc::pollfd> = [exit, pipe]
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Rounded up: a poll that returns before its deadline would spin.
    let ms = timeout.as_micros().div_ceil(1000);
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid array of two pollfds; a negative fd is ignored by poll.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return (false, false);
    }
    let ready = |p: &libc::pollfd| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    (ready(&fds[0]), ready(&fds[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A child of `sh -c script` with its output on a pipe, registered as this layer's own.
    fn start(script: &str, log: &std::path::Path) -> (Child, Output) {
        let (pipe, write) = os_pipe::pipe().unwrap();
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", script])
            .stdout(write.try_clone().unwrap())
            .stderr(write);
        let child = command.spawn().unwrap();
        drop(command);
        let log = CappedLog::open(log, None).unwrap();
        (child, Output { pipe, log })
    }

    /// Without a pidfd (a kernel before 5.3), a waiter thread reports the exit, and the output
    /// is still copied in the waiting thread; with one, the same comes out.
    #[test]
    fn the_exit_and_the_output_come_through_a_pidfd_or_a_waiter_thread() {
        let dir = tempfile::tempdir().unwrap();
        for thread in [false, true] {
            let log = dir.path().join(format!("{thread}.log"));
            let (child, output) = start("seq 1 20000; exit 3", &log);
            let mut watched = Watched::new(child, Some(output));
            if thread {
                let Exits::Pidfd { child, .. } =
                    std::mem::replace(&mut watched.exits, Exits::Reported)
                else {
                    panic!("this kernel has pidfds")
                };
                watched.exits = Exits::Thread(waiter(child));
            }
            let exit = loop {
                if let Some(exit) = watched.wait(Duration::from_millis(50)) {
                    break exit;
                }
            };
            assert_eq!(exit.1.unwrap().code(), Some(3), "thread: {thread}");
            // Reported once.
            assert!(watched.wait(Duration::ZERO).is_none());
            watched.drain(Duration::from_secs(5));
            let text = std::fs::read_to_string(&log).unwrap();
            assert_eq!(text.lines().count(), 20000, "thread: {thread}");
            assert!(text.ends_with("19999\n20000\n"));
        }
    }
}
