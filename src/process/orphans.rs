//! Process groups an apply started, written down as they start, so that after the apply itself
//! is killed (SIGKILL leaves no chance to clean up) `planrun rollback` can end whatever they left
//! running before it restores files that those processes might still write.
//!
//! Each line of the record is `pgid starttime sid boot_id`: the leader's start time (clock ticks
//! since boot, from `/proc/<pid>/stat`), its session and the kernel's boot id. A group is ended
//! only when it is provably the one recorded, since after a SIGKILL the id may belong to someone
//! else by the time rollback runs:
//!
//! - the boot id must match (start times restart at every boot);
//! - if a process with pid `pgid` exists, it must have the recorded start time: then it is our
//!   leader, and its group's members are ours. Any other start time means the pid was reused,
//!   which Linux only does once no group of that id has members left, so nothing of ours remains;
//! - if no such process exists, the group may still have members (the leader exited first): Linux
//!   does not reuse the pid while they live, so members in the recorded session that started no
//!   earlier than the leader are ours.
//!
//! Lines of the older `pgid starttime` form cannot be checked this way and are skipped.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::process::proctree;

/// The file name of the record inside a run's journal directory.
pub const FILE: &str = "groups";

/// Where the kernel gives the id of the current boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

static RECORD: Mutex<Option<PathBuf>> = Mutex::new(None);

/// What identifies a process beyond its reusable pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    /// The process group id.
    pgrp: i32,
    /// The session id.
    session: i32,
    /// Start time in clock ticks since boot.
    start: u64,
}

/// One recorded group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    pgid: i32,
    start: u64,
    session: i32,
    boot: String,
}

/// Starts recording process groups into `file` (or stops, with `None`).
pub fn track(file: Option<PathBuf>) {
    *RECORD.lock().unwrap_or_else(|p| p.into_inner()) = file;
}

/// Notes that a process group led by `pid` has started.
pub fn spawned(pid: u32) {
    let guard = RECORD.lock().unwrap_or_else(|p| p.into_inner());
    let Some(file) = guard.as_ref() else { return };
    let Some(line) = record_line(pid) else { return };
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        // No fsync: what must survive is a kill of planrun, and the page cache outlives that.
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::warn!("cannot record process group {pid}: {e}");
    }
}

/// The record line for the group `pid` leads; `None` when it is already gone.
fn record_line(pid: u32) -> Option<String> {
    let id = identity(pid)?;
    // Without a boot id the line can never be matched, which errs on the side of not killing.
    let boot = boot_id().unwrap_or_else(|| "-".to_string());
    Some(format!("{pid} {} {} {boot}", id.start, id.session))
}

/// Kills every process still alive in a recorded group that is provably the one recorded (see
/// the module doc); returns how many were signalled.
pub fn reap(file: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(file) else {
        return 0;
    };
    let groups: Vec<Group> = text.lines().filter_map(parse_line).collect();
    if groups.is_empty() {
        return 0;
    }
    let Some(boot) = boot_id() else {
        tracing::warn!("cannot read {BOOT_ID}: recorded process groups are left alone");
        return 0;
    };
    let mut killed = 0;
    let table = proctree::scan();
    for group in groups.iter().filter(|g| g.boot == boot) {
        let leader = u32::try_from(group.pgid).ok().and_then(identity);
        let ours = |id: &Identity| match leader {
            Some(l) => l.start == group.start && id.pgrp == group.pgid,
            None => id.pgrp == group.pgid && id.session == group.session && id.start >= group.start,
        };
        if leader.is_some_and(|l| l.start != group.start) {
            tracing::debug!(
                pgid = group.pgid,
                "pid reused since the record; group left alone"
            );
            continue;
        }
        for info in table
            .iter()
            .filter(|i| i.pgrp == group.pgid && !i.is_zombie())
        {
            // Read again right before the kill: the scan may be a moment old.
            if !identity(info.pid).is_some_and(|id| ours(&id)) {
                continue;
            }
            if let Ok(pid) = i32::try_from(info.pid) {
                // SAFETY: kill(2) with a pid we just read from /proc; failure is harmless.
                if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                    killed += 1;
                }
            }
        }
    }
    killed
}

/// A record line; `None` (skipped) for lines of the old two-field form or anything malformed.
fn parse_line(line: &str) -> Option<Group> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [pgid, start, session, boot] = fields.as_slice() else {
        if !line.trim().is_empty() {
            tracing::warn!("process group record `{line}` has no identity to check; left alone");
        }
        return None;
    };
    Some(Group {
        pgid: pgid.parse().ok().filter(|p: &i32| *p > 0)?,
        start: start.parse().ok()?,
        session: session.parse().ok()?,
        boot: boot.to_string(),
    })
}

/// The id of the current boot.
fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string(BOOT_ID).ok()?;
    Some(id.trim().to_string()).filter(|id| !id.is_empty())
}

/// A process's group, session and start time, from `/proc/<pid>/stat`.
fn identity(pid: u32) -> Option<Identity> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_identity(&text)
}

fn parse_identity(stat: &str) -> Option<Identity> {
    // After the parenthesised command name: state is field 3, pgrp 5, session 6, starttime 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Identity {
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};
    use std::thread::sleep;
    use std::time::Duration;

    fn group(command: &str) -> Child {
        Command::new("sh")
            .args(["-c", command])
            .process_group(0)
            .spawn()
            .unwrap()
    }

    fn alive(pid: u32) -> bool {
        proctree::read(pid, &mut String::new()).is_some_and(|p| !p.is_zombie())
    }

    fn end(mut child: Child) {
        // SAFETY: killpg on the group this test started.
        unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
    }

    #[test]
    fn identity_reads_fields_5_6_and_22() {
        let stat = "42 (a b) c) S 1 42 40 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_identity(stat),
            Some(Identity {
                pgrp: 42,
                session: 40,
                start: 987654
            })
        );
        assert_eq!(parse_identity("42 (x) S 1"), None);
    }

    #[test]
    fn record_lines_parse_and_old_ones_are_skipped() {
        assert_eq!(
            parse_line("42 987 40 abc-def"),
            Some(Group {
                pgid: 42,
                start: 987,
                session: 40,
                boot: "abc-def".into()
            })
        );
        assert_eq!(parse_line("42 987"), None);
        assert_eq!(parse_line("0 987 40 abc"), None);
        assert_eq!(parse_line("-1 987 40 abc"), None);
        assert_eq!(parse_line("x y z w"), None);
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn reap_kills_a_recorded_group_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let mut child = group("sleep 60 & sleep 60; wait");
        let pid = child.id();
        std::fs::write(&file, format!("{}\n", record_line(pid).unwrap())).unwrap();
        sleep(Duration::from_millis(100));
        assert!(reap(&file) >= 2, "sh and its sleeps are signalled");
        let status = child.wait().unwrap();
        assert!(!status.success());
        sleep(Duration::from_millis(100));
        assert!(!proctree::group_alive(pid as i32));
    }

    /// A group leader that starts a `sleep 60` member, writes its pid to the returned file and
    /// exits after 0.3 s, leaving the member holding the group.
    fn leader_with_a_member(dir: &Path) -> (std::process::Child, PathBuf) {
        let pids = dir.join("pids");
        let child = group(&format!(
            "sleep 60 & echo $! > {}; sleep 0.3",
            pids.display()
        ));
        (child, pids)
    }

    fn member_of(pids: &Path) -> u32 {
        std::fs::read_to_string(pids)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn members_left_after_their_leader_exited_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let (mut child, pids) = leader_with_a_member(dir.path());
        let pid = child.id();
        std::fs::write(&file, format!("{}\n", record_line(pid).unwrap())).unwrap();
        // Reaped, the leader is gone from /proc; its sleep still holds the group.
        child.wait().unwrap();
        let member = member_of(&pids);
        assert!(alive(member) && !alive(pid));
        assert_eq!(reap(&file), 1);
        sleep(Duration::from_millis(100));
        assert!(!alive(member));
    }

    #[test]
    fn a_leaderless_group_in_another_session_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let (mut child, pids) = leader_with_a_member(dir.path());
        let pid = child.id();
        let id = identity(pid).unwrap();
        let boot = boot_id().unwrap();
        let line = format!("{pid} {} {} {boot}\n", id.start, id.session + 1);
        std::fs::write(&file, line).unwrap();
        child.wait().unwrap();
        let member = member_of(&pids);
        assert_eq!(reap(&file), 0);
        assert!(alive(member));
        // SAFETY: kill on the sleep this test started.
        unsafe { libc::kill(member as i32, libc::SIGKILL) };
    }

    #[test]
    fn a_reused_pgid_whose_leader_started_at_another_time_is_left_alone() {
        // A live, unrelated group now has the recorded id: its leader's start time differs from
        // the record, earlier or later, so nothing in it is touched.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let child = group("sleep 60 & sleep 60; wait");
        let pid = child.id();
        sleep(Duration::from_millis(100));
        let id = identity(pid).unwrap();
        let boot = boot_id().unwrap();
        for start in [id.start + 1_000_000, id.start.saturating_sub(1)] {
            std::fs::write(&file, format!("{pid} {start} {} {boot}\n", id.session)).unwrap();
            assert_eq!(reap(&file), 0, "recorded start {start}, real {}", id.start);
        }
        assert!(alive(pid));
        end(child);
    }

    #[test]
    fn another_boot_and_old_format_lines_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let child = group("sleep 60");
        let pid = child.id();
        let id = identity(pid).unwrap();
        std::fs::write(
            &file,
            format!(
                "{pid} {0}\n{pid} {0} {1} 00000000-0000-0000-0000-000000000000\n",
                id.start, id.session
            ),
        )
        .unwrap();
        assert_eq!(reap(&file), 0);
        assert!(alive(pid));
        end(child);
    }
}
