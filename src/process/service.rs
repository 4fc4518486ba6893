//! A long-running command, such as the database server a test suite talks to: started in a
//! process group of its own and left running, polled until a readiness command succeeds, and
//! stopped when asked: its stop command first, then SIGTERM to the group, then SIGKILL once the
//! grace period is over.
//!
//! Its group is written down, with its name, in the orphans record as it starts, so that a
//! service left behind by a killed planrun is found again ([`super::orphans::left_services`])
//! and stopped the same way by [`stop_left`].

use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::child::{self, Exit, Mark, Spawned, Status, POLL};
use super::control::{Cancel, Control};
use super::orphans::{Groups, LeftService};
use super::spawn::{self, CommandSpec, DRAIN};

/// How often the readiness command is tried.
pub const READY_INTERVAL: Duration = Duration::from_millis(200);

/// The longest a stop command may take before the group gets SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a service left behind may take to go after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// A running service. Dropped without [`Service::stop`], its group gets SIGKILL.
#[derive(Debug)]
pub struct Service {
    pgid: i32,
    exit: mpsc::Receiver<Exit>,
    exited: Option<Status>,
    log_done: mpsc::Receiver<()>,
    grace: Duration,
    stopped: bool,
    /// What it and every process it started carry, so that its daemons are ended with it.
    mark: Mark,
}

/// Why a service did not become ready.
#[derive(Debug)]
pub enum NotReady {
    /// It exited first, so.
    Exited(Status),
    /// The readiness command had not succeeded when this much time was up.
    TimedOut(Duration),
    /// planrun was interrupted.
    Cancelled,
    /// The readiness command could not be started.
    Probe(io::Error),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Exited(status) => write!(f, "it exited before it was ready ({status})"),
            NotReady::TimedOut(limit) => write!(
                f,
                "it was not ready after {}",
                humantime::format_duration(Duration::from_secs(limit.as_secs()))
            ),
            NotReady::Cancelled => f.write_str("interrupted before it was ready"),
            NotReady::Probe(e) => write!(f, "its readiness command could not start: {e}"),
        }
    }
}

/// How a service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It had already exited by itself, with this status.
    Exited(Status),
    /// Its stop command ended it.
    StopCommand,
    /// SIGTERM ended it.
    Terminated,
    /// It needed SIGKILL.
    Killed,
}

/// What stopping a service came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopped {
    /// How it ended.
    pub ending: Ending,
    /// How its stop command ended, when one ran.
    pub stop_status: Option<Status>,
    /// How long stopping it took.
    pub seconds: f64,
}

impl Service {
    /// Starts `spec.command` with `sh -c` in a new process group, its output appended to
    /// `spec.log`, and records the group as the service `name` in `control.groups`.
    pub fn start(spec: &CommandSpec, name: &str, control: &Control) -> io::Result<Service> {
        if control.cancel.is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let (command, log_done) = spawn::shell(spec)?;
        let Spawned {
            pid, exit, mark, ..
        } = child::spawn_in_group(command, &control.scope)?;
        control.groups.service(pid, name);
        Ok(Service {
            pgid: i32::try_from(pid).unwrap_or(0),
            exit,
            exited: None,
            log_done,
            grace: spec.grace,
            stopped: false,
            mark,
        })
    }

    /// The id of its process group (the pid of the command planrun started).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// How it exited, if it has.
    pub fn exited(&mut self) -> Option<Status> {
        if self.exited.is_none() {
            match self.exit.try_recv() {
                Ok(exit) => self.exited = Some(status_of(exit)),
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => self.exited = Some(Status::Exited(-1)),
            }
        }
        self.exited
    }

    /// Runs `probe` every [`READY_INTERVAL`] until it exits 0 (each try limited to what is left
    /// of `timeout`); returns how long that took. Without a probe the service is ready at once.
    pub fn wait_ready(
        &mut self,
        probe: Option<&CommandSpec>,
        timeout: Duration,
        control: &Control,
    ) -> Result<Duration, NotReady> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Err(NotReady::Exited(status));
            }
            if control.cancel.is_cancelled() {
                return Err(NotReady::Cancelled);
            }
            let Some(probe) = probe else {
                return Ok(started.elapsed());
            };
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(NotReady::TimedOut(timeout));
            }
            let mut attempt = probe.clone();
            attempt.timeout = Some(probe.timeout.map_or(left, |t| t.min(left)));
            let outcome = spawn::run(&attempt, control, false).map_err(NotReady::Probe)?;
            if outcome.status == Status::Cancelled {
                return Err(NotReady::Cancelled);
            }
            // Something else on the service's port may answer as the service dies: a ready
            // service is one that is still running.
            if let Some(status) = self.exited() {
                return Err(NotReady::Exited(status));
            }
            if outcome.status.success() {
                return Ok(started.elapsed());
            }
            let pause = READY_INTERVAL.min(timeout.saturating_sub(started.elapsed()));
            self.wait_exit(pause, &|| control.cancel.is_cancelled());
        }
    }

    /// Stops the service: `stop` (never cancelled, at most [`STOP_TIMEOUT`]) and up to the
    /// grace period for the service to exit, then SIGTERM to its group and the grace period
    /// again, then SIGKILL. After `cancel` is forced (a second Ctrl-C) it goes straight to
    /// SIGKILL. Whatever else is left in the group is ended too.
    pub fn stop(mut self, stop: Option<&CommandSpec>, cancel: &Cancel, groups: &Groups) -> Stopped {
        let t = Instant::now();
        self.stopped = true;
        let forced = || cancel.is_forced();
        let mut stop_status = None;
        let ending = if let Some(status) = self.exited() {
            Ending::Exited(status)
        } else {
            let mut ended = None;
            if let Some(stop) = stop.filter(|_| !forced()) {
                let mut spec = stop.clone();
                spec.timeout = Some(stop.timeout.unwrap_or(STOP_TIMEOUT));
                // A fresh cancel flag: the apply's is set when it was interrupted, and the stop
                // command is how an interrupted apply ends its service cleanly.
                let control = Control::new(Cancel::new(), groups.clone());
                stop_status = spawn::run(&spec, &control, false).ok().map(|o| o.status);
                if self.wait_exit(self.grace, &forced) {
                    ended = Some(Ending::StopCommand);
                }
            }
            ended.unwrap_or_else(|| self.terminate(&forced))
        };
        if self.pgid > 0 {
            child::end_leftovers(self.pgid, self.grace);
        }
        self.mark.end(u32::try_from(self.pgid).ok());
        if self.log_done.recv_timeout(DRAIN).is_err() {
            tracing::debug!("a service's output pipe is still open; log left to drain");
        }
        Stopped {
            ending,
            stop_status,
            seconds: t.elapsed().as_secs_f64(),
        }
    }

    /// SIGTERM, up to the grace period (none once `skip_grace` holds), then SIGKILL; waits for
    /// the leader's exit.
    fn terminate(&mut self, skip_grace: &dyn Fn() -> bool) -> Ending {
        child::signal_group(self.pgid, libc::SIGTERM);
        if self.wait_exit(self.grace, skip_grace) {
            return Ending::Terminated;
        }
        child::signal_group(self.pgid, libc::SIGKILL);
        while !self.wait_exit(Duration::from_secs(3600), &|| false) {}
        Ending::Killed
    }

    /// Waits up to `limit` for the leader to exit; false when it still runs (or `give_up` held).
    fn wait_exit(&mut self, limit: Duration, give_up: &dyn Fn() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.exited().is_some() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || give_up() {
                return false;
            }
            match self
                .exit
                .recv_timeout(POLL.max(Duration::from_millis(1)).min(left))
            {
                Ok(exit) => self.exited = Some(status_of(exit)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => self.exited = Some(Status::Exited(-1)),
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.stopped && self.exited().is_none() {
            child::signal_group(self.pgid, libc::SIGKILL);
        }
        if !self.stopped {
            self.mark.end(u32::try_from(self.pgid).ok());
        }
    }
}

fn status_of((_, waited): Exit) -> Status {
    waited.map_or(Status::Exited(-1), Status::of)
}

/// Stops a service a killed planrun left running: `stop` (at most [`STOP_TIMEOUT`]; not cancelled)
/// and up to `grace` for its group to go, then SIGTERM and `grace` again, then SIGKILL; only to
/// the members provably of the recorded group.
pub fn stop_left(left: &LeftService, stop: Option<&CommandSpec>, grace: Duration) -> Stopped {
    let t = Instant::now();
    let gone_within = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            if !left.alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL * 5);
        }
    };
    let mut stop_status = None;
    let ending = 'ending: {
        if let Some(stop) = stop {
            let mut spec = stop.clone();
            spec.timeout = Some(stop.timeout.unwrap_or(STOP_TIMEOUT));
            stop_status = spawn::run(&spec, &Control::default(), false)
                .ok()
                .map(|o| o.status);
            if gone_within(grace) {
                break 'ending Ending::StopCommand;
            }
        }
        left.signal(libc::SIGTERM);
        if gone_within(grace) {
            break 'ending Ending::Terminated;
        }
        left.signal(libc::SIGKILL);
        gone_within(KILL_WAIT);
        Ending::Killed
    };
    Stopped {
        ending,
        stop_status,
        seconds: t.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::orphans::{left_services, FILE};
    use crate::process::proctree;
    use crate::process::testing::wait_for;
    use std::fs;
    use std::path::Path;

    fn spec(dir: &Path, name: &str, command: &str) -> CommandSpec {
        let mut spec = CommandSpec::new(command, dir, dir.join(format!("{name}.log")));
        spec.grace = Duration::from_millis(500);
        spec
    }

    /// A service that says it is up by creating `up`, and exits 0 once `halt` exists.
    fn polite(dir: &Path) -> CommandSpec {
        spec(
            dir,
            "svc",
            "echo starting; touch up; while [ ! -e halt ]; do sleep 0.02; done; echo halted",
        )
    }

    fn recorded(dir: &Path) -> Control {
        Control::new(Cancel::new(), Groups::record_in(dir.join(FILE)))
    }

    #[test]
    fn a_ready_service_is_stopped_by_its_stop_command_and_logs_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let control = recorded(d);
        let mut service = Service::start(&polite(d), "svc", &control).unwrap();
        let ready = spec(d, "ready", "test -e up");
        service
            .wait_ready(Some(&ready), Duration::from_secs(30), &control)
            .unwrap();
        assert!(d.join("up").exists());
        let record = fs::read_to_string(d.join(FILE)).unwrap();
        assert!(
            record
                .lines()
                .any(|l| l.starts_with(&format!("{} ", service.pgid())) && l.ends_with(" svc")),
            "{record}"
        );
        let pgid = service.pgid();
        let stop = spec(d, "stop", "touch halt");
        let stopped = service.stop(Some(&stop), &Cancel::new(), &Groups::default());
        assert_eq!(stopped.ending, Ending::StopCommand);
        assert_eq!(stopped.stop_status, Some(Status::Exited(0)));
        assert!(!proctree::group_alive(pgid));
        assert_eq!(
            fs::read_to_string(d.join("svc.log")).unwrap(),
            "starting\nhalted\n"
        );
    }

    #[test]
    fn without_a_stop_command_sigterm_then_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let control = Control::default();
        let service = Service::start(&polite(d), "svc", &control).unwrap();
        let stopped = service.stop(None, &Cancel::new(), &Groups::default());
        assert_eq!(
            (stopped.ending, stopped.stop_status),
            (Ending::Terminated, None)
        );
        // It ignores SIGTERM and its stop command does nothing: SIGKILL after the grace period.
        let stubborn = spec(
            d,
            "stubborn",
            "trap '' TERM; touch armed; while :; do sleep 0.02; done",
        );
        let mut service = Service::start(&stubborn, "stubborn", &control).unwrap();
        let armed = spec(d, "armed", "test -e armed");
        service
            .wait_ready(Some(&armed), Duration::from_secs(30), &control)
            .unwrap();
        let pgid = service.pgid();
        let stopped = service.stop(
            Some(&spec(d, "stop", "true")),
            &Cancel::new(),
            &Groups::default(),
        );
        assert_eq!(stopped.ending, Ending::Killed);
        assert_eq!(stopped.stop_status, Some(Status::Exited(0)));
        assert!(wait_for(|| !proctree::group_alive(pgid)));
    }

    #[test]
    fn a_forced_cancel_skips_the_stop_command() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let service = Service::start(&polite(d), "svc", &Control::default()).unwrap();
        let cancel = Cancel::new();
        cancel.force();
        let stop = spec(d, "stop", "touch stop-ran");
        let stopped = service.stop(Some(&stop), &cancel, &Groups::default());
        assert_eq!(stopped.stop_status, None);
        assert!(!d.join("stop-ran").exists());
        assert!(matches!(
            stopped.ending,
            Ending::Terminated | Ending::Killed
        ));
    }

    #[test]
    fn a_service_that_exits_or_never_gets_ready_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let control = Control::default();
        let never = spec(d, "never", "test -e nothing-makes-this");
        let mut dies = Service::start(&spec(d, "dies", "exit 3"), "dies", &control).unwrap();
        let err = dies
            .wait_ready(Some(&never), Duration::from_secs(30), &control)
            .unwrap_err();
        assert!(
            matches!(err, NotReady::Exited(Status::Exited(3))),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "it exited before it was ready (exit status: 3)"
        );
        let stopped = dies.stop(None, &Cancel::new(), &Groups::default());
        assert_eq!(stopped.ending, Ending::Exited(Status::Exited(3)));

        let mut slow = Service::start(&polite(d), "slow", &control).unwrap();
        let err = slow
            .wait_ready(Some(&never), Duration::from_millis(300), &control)
            .unwrap_err();
        assert!(matches!(err, NotReady::TimedOut(_)), "{err:?}");
        slow.stop(None, &Cancel::new(), &Groups::default());

        let cancel = Cancel::new();
        cancel.cancel();
        let interrupted = Control::new(cancel, Groups::default());
        assert!(Service::start(&polite(d), "x", &interrupted).is_err());
    }

    #[test]
    fn a_dropped_service_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::start(&polite(dir.path()), "svc", &Control::default()).unwrap();
        let pgid = service.pgid();
        drop(service);
        assert!(wait_for(|| !proctree::group_alive(pgid)));
    }

    #[test]
    fn a_service_left_behind_is_found_by_name_and_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let control = recorded(d);
        let mut service = Service::start(&polite(d), "db", &control).unwrap();
        let ready = spec(d, "ready", "test -e up");
        service
            .wait_ready(Some(&ready), Duration::from_secs(30), &control)
            .unwrap();
        // An ordinary command's group in the same record is not a service.
        crate::process::spawn::run(&spec(d, "cmd", "true"), &control, false).unwrap();
        let left = left_services(&d.join(FILE));
        assert_eq!(
            left.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["db"]
        );
        let stop = spec(d, "stop", "touch halt");
        let stopped = stop_left(&left[0], Some(&stop), Duration::from_secs(30));
        assert_eq!(stopped.ending, Ending::StopCommand);
        assert!(!left[0].alive());
        assert!(left_services(&d.join(FILE)).is_empty());
        // Reaped by the handle this test still holds, as a killed planrun's init would.
        assert_eq!(service.exited(), Some(Status::Exited(0)));
        service.stop(None, &Cancel::new(), &Groups::default());
    }
}
