//! Running one shell command (`sh -c`), its stdout and stderr joined and streamed to a log file.
//!
//! Output goes through a pipe to a [`CappedLog`], so a chatty command cannot fill the disk: the
//! log keeps its most recent part (what [`tail`](super::caplog::tail) quotes in messages) under
//! `log_max`. How the command is started in its own group, watched for its timeout and cancel, and
//! ended with whatever it left behind is [`super::child`]'s.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::caplog::{self, CappedLog};
use super::child::{self, Limits, Outcome, DEFAULT_GRACE};
use super::control::Control;
use super::pidwait::Output;

pub(super) use super::child::DRAIN;

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
    /// The file stdout and stderr are appended to (created with its parent directories at the
    /// first byte of output by [`run`]; at once for a service).
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

/// `sh -c` of `spec`'s command in its directory and environment, its stdout and stderr joined
/// into one pipe whose read end comes back with `log`, for the caller to copy.
fn shell_piped(spec: &CommandSpec, log: CappedLog) -> io::Result<(Command, Output)> {
    let (pipe, child_output) = os_pipe::pipe()?;
    // An absolute path spares a failed execve per PATH entry on every step.
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", spec.command.as_str()])
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdout(child_output.try_clone()?)
        .stderr(child_output);
    tracing::debug!(command = %spec.command, cwd = %spec.cwd.display(), "spawning");
    Ok((command, Output { pipe, log }))
}

/// `sh -c` of `spec`'s command, its output copied into `spec.log` by a thread of its own (a
/// service's, which runs beside the steps); the receiver hears once the log has all the output
/// there will be.
pub(super) fn shell(spec: &CommandSpec) -> io::Result<(Command, mpsc::Receiver<()>)> {
    let (
        command,
        Output {
            pipe: output,
            mut log,
        },
    ) = shell_piped(spec, CappedLog::open(&spec.log, spec.log_max)?)?;
    let (copied, log_done) = mpsc::channel();
    thread::spawn(move || {
        if let Err(e) = log.copy_from(output) {
            tracing::warn!("cannot write the log: {e}");
        }
        let _ = copied.send(());
    });
    Ok((command, log_done))
}

/// Runs `spec` to the end, its output appended to `spec.log` (created at its first byte: a
/// command that writes nothing leaves no log); samples tree RSS if asked.
///
/// A non-zero exit is an `Ok` outcome; `Err` means the command could not be started or waited for.
/// When `control.cancel` is already set, nothing is started and the outcome is `Cancelled`.
pub fn run(spec: &CommandSpec, control: &Control, sample_rss: bool) -> io::Result<Outcome> {
    if control.cancel.is_cancelled() {
        return Ok(Outcome::not_started());
    }
    // A command that writes nothing leaves no log file (see `CappedLog::lazy`).
    let log = CappedLog::lazy(&spec.log, spec.log_max);
    let (command, output) = shell_piped(spec, log)?;
    let limits = Limits {
        timeout: spec.timeout,
        grace: spec.grace,
    };
    // The output is copied in this thread while it waits for the exit (see `pidwait`).
    child::run(command, limits, control, sample_rss, Some(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::caplog::tail;
    use crate::process::child::Status;
    use crate::process::control::Cancel;
    use crate::process::orphans::Groups;
    use crate::process::proctree;
    use crate::process::testing::wait_for;
    use std::fs;
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    fn spec(dir: &Path, command: &str) -> CommandSpec {
        CommandSpec::new(command, dir, dir.join("logs/out.log"))
    }

    fn go(spec: &CommandSpec) -> Outcome {
        run(spec, &Control::default(), false).unwrap()
    }

    fn watched(cancel: &Cancel) -> Control {
        Control::new(cancel.clone(), Groups::default())
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

    /// Starts a thread that waits for each file in turn to exist and then runs its action.
    fn on_files(steps: Vec<(PathBuf, Box<dyn FnOnce() + Send>)>) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            for (file, then) in steps {
                assert!(
                    wait_for(|| file.exists()),
                    "{} never appeared",
                    file.display()
                );
                then();
            }
        })
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
        let go_on = dir.path().join("go");
        // The command goes on only once the test has read the log, so what the log held then
        // was written while it ran.
        let s = spec(
            dir.path(),
            &format!(
                "echo early; while [ ! -e {} ]; do sleep 0.01; done; echo late",
                go_on.display()
            ),
        );
        let log = s.log.clone();
        let seen = thread::spawn(move || {
            let written = || fs::read_to_string(&log).is_ok_and(|t| !t.is_empty());
            assert!(wait_for(written), "nothing reached the log");
            let seen = fs::read_to_string(&log).unwrap();
            fs::write(go_on, "").unwrap();
            seen
        });
        assert!(go(&s).status.success());
        assert_eq!(seen.join().unwrap(), "early\n");
        assert_eq!(fs::read_to_string(&s.log).unwrap(), "early\nlate\n");
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
        // Long beside the few milliseconds the shell needs to start both sleeps, even on a
        // loaded machine, so that both are there for the timeout to end.
        s.timeout = Some(Duration::from_secs(1));
        s.grace = Duration::from_millis(500);
        let t = Instant::now();
        let out = go(&s);
        assert_eq!(out.status, Status::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
        let pids = pids_in(&pids);
        assert_eq!(pids.len(), 2);
        assert!(pids.iter().all(|&p| dead(p)), "grandchildren survived");
    }

    #[test]
    fn sigterm_ignored_means_sigkill_after_grace() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "trap '' TERM; sleep 100 & wait; sleep 100");
        // Long beside the shell's start, so that the trap is set when SIGTERM comes.
        s.timeout = Some(Duration::from_secs(1));
        s.grace = Duration::from_millis(300);
        let t = Instant::now();
        assert_eq!(go(&s).status, Status::TimedOut);
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(1300) && took < Duration::from_secs(4),
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
        let started = dir.path().join("started");
        let cancel = Cancel::new();
        let setter = cancel.clone();
        let t = Instant::now();
        let watcher = on_files(vec![(started.clone(), Box::new(move || setter.cancel()))]);
        let running = spec(
            dir.path(),
            &format!("touch {}; sleep 100", started.display()),
        );
        let out = run(&running, &watched(&cancel), false).unwrap();
        watcher.join().unwrap();
        assert_eq!(out.status, Status::Cancelled);
        assert!(t.elapsed() < Duration::from_secs(3));
        let marker = dir.path().join("ran");
        let again = spec(dir.path(), &format!("touch {}", marker.display()));
        assert_eq!(
            run(&again, &watched(&cancel), false).unwrap().status,
            Status::Cancelled
        );
        assert!(!marker.exists());
        assert!(cancel.flag().load(Ordering::SeqCst));
    }

    #[test]
    fn force_skips_the_grace_period_of_a_command_ignoring_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let [armed, ready, termed] = ["armed", "ready", "termed"].map(|f| dir.path().join(f));
        // A member that notes SIGTERM and carries on, started before the leader ignores it.
        let mut s = spec(
            dir.path(),
            &format!(
                "(trap 'touch {termed}' TERM; touch {armed}; while :; do sleep 0.01; done) & \
                 trap '' TERM; touch {ready}; wait; sleep 100",
                termed = termed.display(),
                armed = armed.display(),
                ready = ready.display(),
            ),
        );
        // An hour of grace: the command only ends (and the test only finishes) because `force`
        // sends SIGKILL without waiting for it.
        s.grace = Duration::from_secs(3600);
        let cancel = Cancel::new();
        let (setter, forcer) = (cancel.clone(), cancel.clone());
        let watcher = on_files(vec![
            (armed, Box::new(|| {})),
            (ready, Box::new(move || setter.cancel())),
            // SIGTERM reached the group: the grace period has begun.
            (termed, Box::new(move || forcer.force())),
        ]);
        let out = run(&s, &watched(&cancel), false).unwrap();
        watcher.join().unwrap();
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
        // A fixed amount of work, not a length of time: a loaded machine takes longer over it,
        // but it costs the same CPU (well over 0.2 s even on a fast one).
        let busy = "python3 -c 'for _ in range(30_000_000): pass'";
        let out = run(&spec(dir.path(), busy), &Control::default(), true).unwrap();
        assert!(out.status.success(), "{out:?}");
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

    /// The output is copied by the thread that waits for the command: a command writing more
    /// than a pipe holds (64 KiB) is read while it runs, or it would block for ever.
    #[test]
    fn output_past_a_pipe_buffer_is_copied_while_the_command_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(
            dir.path(),
            "head -c 1000000 /dev/zero | tr '\\0' x; echo; echo end >&2",
        );
        s.timeout = Some(Duration::from_secs(60));
        assert_eq!(go(&s).status, Status::Exited(0));
        let log = fs::read_to_string(&s.log).unwrap();
        assert_eq!(log.len(), 1_000_000 + "\nend\n".len());
        assert!(log.ends_with("x\nend\n"), "{:?}", &log[log.len() - 10..]);
    }

    /// A command that writes without a pause keeps the copying busy; its timeout is still
    /// checked, and it ends.
    #[test]
    fn a_command_writing_without_pause_still_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "yes");
        s.timeout = Some(Duration::from_millis(500));
        s.grace = Duration::from_millis(200);
        s.log_max = Some(64 * 1024);
        let t = Instant::now();
        assert_eq!(go(&s).status, Status::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
        assert!(fs::read_to_string(&s.log).unwrap().ends_with("y\n"));
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
    fn groups_are_recorded_through_the_control() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("groups");
        let control = Control::new(Cancel::new(), Groups::record_in(record.clone()));
        assert!(run(&spec(dir.path(), "sleep 0.05"), &control, false)
            .unwrap()
            .status
            .success());
        let text = fs::read_to_string(&record).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
