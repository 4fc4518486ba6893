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
//! Lines of the older `pgid starttime` form cannot be checked this way and are skipped. A group
//! that is a plan's `service` has its step id as a fifth field, so that rollback can stop it with
//! its own stop command before anything is killed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::proctree::{self, ProcInfo};

/// The file name of the record inside a run's journal directory.
pub const FILE: &str = "groups";

/// Where the kernel gives the id of the current boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// Where the process groups of one apply are written down; clones write to the same record. The
/// default records nothing.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    file: Option<Arc<Record>>,
}

/// The record's path, and the file once the first line has opened it: one `open` per apply,
/// not one per command.
#[derive(Debug)]
struct Record {
    path: PathBuf,
    open: Mutex<Option<File>>,
}

/// One recorded group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    pgid: i32,
    start: u64,
    session: i32,
    boot: String,
    /// The service this group is, for a service's group.
    service: Option<String>,
}

impl Groups {
    /// Groups recorded into `file`, a line each (the file is created by the first one).
    pub fn record_in(file: PathBuf) -> Self {
        Groups {
            file: Some(Arc::new(Record {
                path: file,
                open: Mutex::new(None),
            })),
        }
    }

    /// Notes that a process group led by `pid` has started.
    pub fn spawned(&self, pid: u32) {
        self.append(pid, None, None);
    }

    /// As [`Groups::spawned`], with what `/proc` showed of the leader just after its start (the
    /// spawner reads it anyway): one read of `/proc/<pid>/stat` per command, not two.
    pub(super) fn spawned_seen(&self, pid: u32, seen: Option<&ProcInfo>) {
        self.append(pid, None, seen);
    }

    /// Notes that the process group led by `pid` is the service `name` (an identifier: one word).
    pub fn service(&self, pid: u32, name: &str) {
        self.append(pid, Some(name), None);
    }

    fn append(&self, pid: u32, service: Option<&str>, seen: Option<&ProcInfo>) {
        let Some(record) = self.file.as_deref() else {
            return;
        };
        let Some(mut line) = record_line(pid, seen) else {
            return;
        };
        if let Some(name) = service.filter(|n| !n.is_empty() && !n.contains(char::is_whitespace)) {
            line.push(' ');
            line.push_str(name);
        }
        line.push('\n');
        let mut open = record.open.lock().unwrap_or_else(|p| p.into_inner());
        let file = match open.take() {
            Some(file) => Ok(file),
            None => OpenOptions::new()
                .create(true)
                .append(true)
                .open(&record.path),
        };
        // One write of one short line to a file opened for appending, so a line is never
        // half there. No fsync: what must survive is a kill of planrun, and the page cache
        // outlives that.
        let written = file.and_then(|mut f| {
            f.write_all(line.as_bytes())?;
            *open = Some(f);
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!("cannot record process group {pid}: {e}");
        }
    }
}

/// The record line for the group `pid` leads; `None` when it is already gone.
fn record_line(pid: u32, seen: Option<&ProcInfo>) -> Option<String> {
    let id = match seen {
        Some(info) => *info,
        None => identity(pid)?,
    };
    // Without a boot id the line can never be matched, which errs on the side of not killing.
    let boot = boot_id().unwrap_or("-");
    Some(format!("{pid} {} {} {boot}", id.start, id.session))
}

/// Kills every process still alive in a recorded group that is provably the one recorded (see
/// the module doc); returns how many were signalled.
pub fn reap(file: &Path) -> usize {
    reap_pids(file).len()
}

/// [`reap`], giving the pids killed, so that a later sweep (which may still see them alive for
/// the moment a SIGKILL takes to land) does not count them twice.
pub fn reap_pids(file: &Path) -> std::collections::BTreeSet<u32> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Default::default();
    };
    let groups: Vec<Group> = text.lines().filter_map(parse_line).collect();
    if groups.is_empty() {
        return Default::default();
    }
    let Some(boot) = boot_id() else {
        tracing::warn!("cannot read {BOOT_ID}: recorded process groups are left alone");
        return Default::default();
    };
    let table = proctree::scan();
    groups
        .iter()
        .filter(|g| g.boot == boot)
        .flat_map(|group| kill_ours(group, &table, libc::SIGKILL))
        .collect()
}

/// A service that a killed apply recorded and that still runs: the members of its group that
/// are provably the recorded ones (see the module doc) are checked again at every use.
#[derive(Debug, Clone)]
pub struct LeftService {
    /// The service's step id.
    pub name: String,
    group: Group,
}

impl LeftService {
    /// Whether any member of the group that is provably ours is still alive.
    pub fn alive(&self) -> bool {
        let table = proctree::scan();
        !ours_alive(&self.group, &table).is_empty()
    }

    /// Sends `signal` to each live member that is provably ours; returns how many got it.
    pub fn signal(&self, signal: i32) -> usize {
        signal_ours(&self.group, &proctree::scan(), signal)
    }
}

/// The services recorded in `file` whose groups still have live members of their own.
pub fn left_services(file: &Path) -> Vec<LeftService> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let Some(boot) = boot_id() else {
        return Vec::new();
    };
    let table = proctree::scan();
    text.lines()
        .filter_map(parse_line)
        .filter(|g| g.boot == boot && !ours_alive(g, &table).is_empty())
        .filter_map(|group| {
            Some(LeftService {
                name: group.service.clone()?,
                group,
            })
        })
        .collect()
}

/// The live members of `group` in `table` that are provably the recorded group's, each read
/// again from `/proc` (the scan may be a moment old); none when its id was reused.
fn ours_alive(group: &Group, table: &[ProcInfo]) -> Vec<u32> {
    let leader = u32::try_from(group.pgid).ok().and_then(identity);
    if leader.is_some_and(|l| l.start != group.start) {
        tracing::debug!(
            pgid = group.pgid,
            "pid reused since the record; group left alone"
        );
        return Vec::new();
    }
    let ours = |id: &ProcInfo| match leader {
        Some(l) => l.start == group.start && id.pgrp == group.pgid,
        None => id.pgrp == group.pgid && id.session == group.session && id.start >= group.start,
    };
    table
        .iter()
        .filter(|i| i.pgrp == group.pgid && !i.is_zombie())
        .filter(|i| identity(i.pid).is_some_and(|id| ours(&id) && !id.is_zombie()))
        .map(|i| i.pid)
        .collect()
}

/// Sends `signal` to the live members of `group` that are provably ours; returns how many.
fn signal_ours(group: &Group, table: &[ProcInfo], signal: i32) -> usize {
    kill_ours(group, table, signal).len()
}

/// The members of `group` provably ours that `signal` was delivered to.
fn kill_ours(group: &Group, table: &[ProcInfo], signal: i32) -> Vec<u32> {
    ours_alive(group, table)
        .into_iter()
        .filter(|&pid| {
            i32::try_from(pid)
                // SAFETY: kill(2) with a pid just read from /proc; failure is harmless.
                .is_ok_and(|raw| unsafe { libc::kill(raw, signal) } == 0)
        })
        .collect()
}

/// A record line; `None` (skipped) for lines of the old two-field form or anything malformed.
fn parse_line(line: &str) -> Option<Group> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let (pgid, start, session, boot, service) = match fields.as_slice() {
        [pgid, start, session, boot] => (pgid, start, session, boot, None),
        [pgid, start, session, boot, service] => (pgid, start, session, boot, Some(*service)),
        _ => {
            if !line.trim().is_empty() {
                tracing::warn!(
                    "process group record `{line}` has no identity to check; left alone"
                );
            }
            return None;
        }
    };
    Some(Group {
        pgid: pgid.parse().ok().filter(|p: &i32| *p > 0)?,
        start: start.parse().ok()?,
        session: session.parse().ok()?,
        boot: boot.to_string(),
        service: service.map(str::to_string),
    })
}

/// The id of the current boot, read once per process (it cannot change while planrun runs).
fn boot_id() -> Option<&'static str> {
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let id = std::fs::read_to_string(BOOT_ID).ok()?;
        Some(id.trim().to_string()).filter(|id| !id.is_empty())
    })
    .as_deref()
}

/// A process as `/proc` shows it now; `None` when it is gone.
fn identity(pid: u32) -> Option<ProcInfo> {
    proctree::read(pid, &mut String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::testing::{live_members, wait_for};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};

    fn group(command: &str) -> Child {
        Command::new("sh")
            .args(["-c", command])
            .process_group(0)
            .stdin(Stdio::piped())
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

    /// A group of `sh` and two `sleep 60`, once all three are in `/proc`.
    fn group_of_three() -> Child {
        let child = group("sleep 60 & sleep 60; wait");
        let pgid = child.id() as i32;
        assert!(
            wait_for(|| live_members(pgid) >= 3),
            "the sleeps never started"
        );
        child
    }

    #[test]
    fn record_lines_parse_and_old_ones_are_skipped() {
        assert_eq!(
            parse_line("42 987 40 abc-def"),
            Some(Group {
                pgid: 42,
                start: 987,
                session: 40,
                boot: "abc-def".into(),
                service: None,
            })
        );
        assert_eq!(
            parse_line("42 987 40 abc-def postgres").and_then(|g| g.service),
            Some("postgres".into())
        );
        assert_eq!(parse_line("42 987"), None);
        assert_eq!(parse_line("0 987 40 abc"), None);
        assert_eq!(parse_line("-1 987 40 abc"), None);
        assert_eq!(parse_line("x y z w"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("42 987 40 abc pg extra"), None);
    }

    #[test]
    fn groups_are_recorded_through_the_handle_and_nowhere_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let child = group("read _");
        let pid = child.id();
        Groups::default().spawned(pid);
        assert!(!file.exists());
        let groups = Groups::record_in(file.clone());
        groups.clone().spawned(pid);
        groups.spawned(pid);
        let line = record_line(pid, None).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{line}\n{line}\n")
        );
        end(child);
    }

    #[test]
    fn reap_kills_a_recorded_group_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let mut child = group_of_three();
        let pid = child.id();
        std::fs::write(&file, format!("{}\n", record_line(pid, None).unwrap())).unwrap();
        assert!(reap(&file) >= 2, "sh and its sleeps are signalled");
        let status = child.wait().unwrap();
        assert!(!status.success());
        // SIGKILL is delivered at once, but a member dies when the kernel next schedules it.
        assert!(wait_for(|| !proctree::group_alive(pid as i32)));
    }

    /// A group leader that starts a `sleep 60` member, writes its pid to the returned file and
    /// exits once [`release`] closes its stdin, leaving the member holding the group.
    fn leader_with_a_member(dir: &Path) -> (std::process::Child, PathBuf) {
        let pids = dir.join("pids");
        let child = group(&format!("sleep 60 & echo $! > {}; read _", pids.display()));
        (child, pids)
    }

    /// Lets the leader exit and reaps it.
    fn release(mut leader: Child) {
        drop(leader.stdin.take());
        leader.wait().unwrap();
    }

    fn member_of(pids: &Path) -> u32 {
        std::fs::read_to_string(pids)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// The spawner's own read of `/proc` records the same line as a fresh read would, so the
    /// group is recognised (and reaped) alike.
    #[test]
    fn a_group_recorded_from_the_spawners_read_is_the_same_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let (child, pids) = leader_with_a_member(dir.path());
        let pid = child.id();
        let seen = identity(pid).unwrap();
        Groups::record_in(file.clone()).spawned_seen(pid, Some(&seen));
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written, format!("{}\n", record_line(pid, None).unwrap()));
        release(child);
        let member = member_of(&pids);
        assert_eq!(reap(&file), 1);
        assert!(wait_for(|| !alive(member)));
    }

    #[test]
    fn members_left_after_their_leader_exited_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let (child, pids) = leader_with_a_member(dir.path());
        let pid = child.id();
        std::fs::write(&file, format!("{}\n", record_line(pid, None).unwrap())).unwrap();
        // Reaped, the leader is gone from /proc; its sleep still holds the group.
        release(child);
        let member = member_of(&pids);
        assert!(alive(member) && !alive(pid));
        assert_eq!(reap(&file), 1);
        assert!(wait_for(|| !alive(member)));
    }

    #[test]
    fn a_leaderless_group_in_another_session_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let (child, pids) = leader_with_a_member(dir.path());
        let pid = child.id();
        let id = identity(pid).unwrap();
        let boot = boot_id().unwrap();
        let line = format!("{pid} {} {} {boot}\n", id.start, id.session + 1);
        std::fs::write(&file, line).unwrap();
        release(child);
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
        let child = group_of_three();
        let pid = child.id();
        let id = identity(pid).unwrap();
        let boot = boot_id().unwrap();
        for start in [id.start + 1_000_000, id.start.saturating_sub(1)] {
            std::fs::write(&file, format!("{pid} {start} {} {boot}\n", id.session)).unwrap();
            assert_eq!(reap(&file), 0, "recorded start {start}, real {}", id.start);
        }
        assert!(alive(pid));
        assert_eq!(live_members(pid as i32), 3);
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
