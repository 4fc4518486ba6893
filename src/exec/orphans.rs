//! Process groups an apply started, written down as they start, so that after the apply itself
//! is killed (SIGKILL leaves no chance to clean up) `planrun rollback` can end whatever they left
//! running before it restores files that those processes might still write.
//!
//! Each line of the record is `pgid starttime`; the start time (clock ticks since boot, from
//! `/proc/<pid>/stat`) tells a group we started from a later one that happens to reuse its id.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::measure::proctree;

/// The file name of the record inside a run's journal directory.
pub const FILE: &str = "groups";

static RECORD: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Starts recording process groups into `file` (or stops, with `None`).
pub fn track(file: Option<PathBuf>) {
    *RECORD.lock().unwrap_or_else(|p| p.into_inner()) = file;
}

/// Notes that a process group led by `pid` has started.
pub fn spawned(pid: u32) {
    let guard = RECORD.lock().unwrap_or_else(|p| p.into_inner());
    let Some(file) = guard.as_ref() else { return };
    let Some(start) = start_time(pid) else { return };
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        // No fsync: what must survive is a kill of planrun, and the page cache outlives that.
        .and_then(|mut f| writeln!(f, "{pid} {start}"));
    if let Err(e) = written {
        tracing::warn!("cannot record process group {pid}: {e}");
    }
}

/// Kills every process still alive in a recorded group; returns how many were signalled.
pub fn reap(file: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(file) else {
        return 0;
    };
    let groups: Vec<(i32, u64)> = text
        .lines()
        .filter_map(|l| {
            let (pgid, start) = l.split_once(' ')?;
            Some((pgid.parse().ok()?, start.trim().parse().ok()?))
        })
        .collect();
    if groups.is_empty() {
        return 0;
    }
    let mut killed = 0;
    for info in proctree::scan() {
        let ours = groups.iter().any(|&(pgid, started)| {
            info.pgrp == pgid && start_time(info.pid).is_some_and(|s| s >= started)
        });
        if ours && !info.is_zombie() {
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

/// A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&text)
}

fn parse_start_time(stat: &str) -> Option<u64> {
    // After the parenthesised command name: state is field 3, starttime field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn start_time_is_field_22() {
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987654));
    }

    #[test]
    fn reap_kills_a_recorded_group_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & sleep 60; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        std::fs::write(&file, format!("{pid} {}\n", start_time(pid).unwrap())).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(reap(&file) >= 2, "sh and its sleeps are signalled");
        let status = child.wait().unwrap();
        assert!(!status.success());
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!proctree::group_alive(pid as i32));
    }

    #[test]
    fn a_group_started_before_the_record_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        let later = start_time(pid).unwrap() + 1_000_000;
        std::fs::write(&file, format!("{pid} {later}\n")).unwrap();
        assert_eq!(reap(&file), 0);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
