//! Tests of [`super`]: processes that leave their command's group are ended with it.

use super::*;
use crate::process::child::Status;
use crate::process::spawn::{run, CommandSpec};
use crate::process::testing::wait_for;
use crate::process::Control;
use std::fs;
use std::path::Path;
use std::process::{Child, Command};

/// A process that is gone or only a zombie waiting for a reaper.
fn dead(pid: u32) -> bool {
    proctree::read(pid, &mut String::new()).is_none_or(|p| p.is_zombie())
}

fn pid_in(file: &Path) -> u32 {
    fs::read_to_string(file).unwrap().trim().parse().unwrap()
}

/// A command that starts `escape` in the background and exits once `escape` wrote its pid.
fn escaping(dir: &Path, escape: &str) -> CommandSpec {
    let pid = dir.join("pid");
    let command = format!(
        "{escape} & while [ ! -s {pid} ]; do sleep 0.01; done",
        pid = pid.display()
    );
    let mut spec = CommandSpec::new(command, dir, dir.join("out.log"));
    spec.grace = Duration::from_millis(300);
    spec
}

#[test]
fn a_setsid_child_is_ended_when_its_command_exits() {
    let dir = tempfile::tempdir().unwrap();
    let spec = escaping(
        dir.path(),
        "setsid sh -c 'echo $$ > pid; sleep 2; touch late; sleep 30'",
    );
    assert!(run(&spec, &Control::default(), false)
        .unwrap()
        .status
        .success());
    let pid = pid_in(&dir.path().join("pid"));
    assert!(dead(pid), "the setsid child outlived its command");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!dir.path().join("late").exists());
}

#[test]
fn a_double_fork_out_of_a_timed_out_command_is_ended() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = escaping(
        dir.path(),
        "(setsid sh -c 'trap \"\" TERM; echo $$ > pid; while :; do sleep 0.05; done' &)",
    );
    spec.command.push_str("; sleep 100");
    spec.timeout = Some(Duration::from_secs(1));
    let outcome = run(&spec, &Control::default(), false).unwrap();
    assert_eq!(outcome.status, Status::TimedOut);
    let pid = pid_in(&dir.path().join("pid"));
    assert!(
        wait_for(|| dead(pid)),
        "a grandchild ignoring SIGTERM outlived the timeout"
    );
}

fn marked(value: &str) -> Child {
    Command::new("sleep")
        .arg("30")
        .env(VAR, value)
        .spawn()
        .unwrap()
}

#[test]
fn a_mark_matches_only_itself() {
    let mut other = marked("run-a/10");
    let since = proctree::read(other.id(), &mut String::new())
        .unwrap()
        .start;
    assert_eq!(end_marked("run-a/1", since, None), 0);
    assert!(!dead(other.id()));
    assert_eq!(end_marked("run-a/10", since, None), 1);
    other.wait().unwrap();
}

#[test]
fn processes_older_than_the_command_are_not_its_own() {
    let mut older = marked("run-b/1");
    let start = proctree::read(older.id(), &mut String::new())
        .unwrap()
        .start;
    assert_eq!(end_marked("run-b/1", start + 1, None), 0);
    assert!(!dead(older.id()));
    older.kill().unwrap();
    older.wait().unwrap();
}

#[test]
fn what_a_killed_run_left_is_ended_by_its_run_id_only() {
    let mut left = marked("run-c/3");
    let mut other = marked("run-cd/1");
    assert_eq!(end_left("run-c", &BTreeSet::new()), 1);
    left.wait().unwrap();
    assert!(!dead(other.id()));
    other.kill().unwrap();
    other.wait().unwrap();
}

/// The rollback's note counts distinct processes: one the group kill already signalled (still
/// alive for the moment the signal takes to land) is neither signalled nor counted again.
#[test]
fn what_was_already_killed_is_not_counted_again() {
    let mut left = marked("run-e/1");
    let already = BTreeSet::from([left.id()]);
    assert_eq!(end_left("run-e", &already), 0);
    assert!(!dead(left.id()), "left to the kill that named it");
    assert_eq!(end_left("run-e", &BTreeSet::new()), 1);
    left.wait().unwrap();
}

#[test]
fn marks_are_distinct_and_name_their_run() {
    let scope = Scope::new("20261207T0519 x/y");
    let (a, b) = (scope.mark(), Scope::new("20261207T0519 x/y").mark());
    assert_ne!(a, b, "two scopes of one name still never share a mark");
    assert!(a.starts_with("20261207T0519_x_y/"), "{a}");
}

/// The pid of `command`, started in the background by a shell that then exits, with `mark`:
/// an orphan this process adopts, as a subreaper.
fn orphaned(command: &str, mark: &str) -> u32 {
    // The kernel's flag only: the layer's own (which also reaps signalled children) stays off,
    // so that the other tests keep waiting for their children themselves.
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("pid");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{command} & echo $! > {}", pid.display()))
        .env(VAR, mark)
        .status()
        .unwrap();
    assert!(status.success());
    pid_in(&pid)
}

/// As a subreaper, an orphan that left its group comes back as a child of this process: the
/// quick check finds it by its mark among the children (and tells other marks apart), so the
/// sweep still ends it without the scan of all of `/proc`.
#[test]
fn a_subreaper_finds_an_orphan_among_its_children() {
    let orphan = orphaned("setsid sleep 30", "run-sub/1");
    assert!(wait_for(|| own_children().unwrap().contains(&orphan)));
    // The test harness's threads come and go: an orphan adopted by one that ends moves to
    // another between two reads of the lists, so the check is polled, not read once.
    assert!(wait_for(|| child_carries(b"PLANRUN_SCOPE=run-sub/1\0")));
    assert!(!child_carries(b"PLANRUN_SCOPE=run-sub/2\0"));
    assert_eq!(end_marked("run-sub/1", 0, None), 1);
    assert!(dead(orphan));
}

/// An orphan that ended is found among the main thread's children, for the end of the run to
/// reap it, and one a waiter of this layer owns is left to that waiter.
#[test]
fn an_adopted_orphan_that_ended_is_found_without_a_scan_of_all_of_proc() {
    // The subshell outlives its parent by a moment, then ends: a zombie this process adopted.
    let orphan = orphaned("(sleep 0.2; exit 0)", "run-sub/3");
    assert!(wait_for(
        || adopted_zombies(&BTreeSet::new()).contains(&orphan)
    ));
    assert!(!adopted_zombies(&BTreeSet::from([orphan])).contains(&orphan));
    wait_nohang(orphan);
    assert!(!adopted_zombies(&BTreeSet::new()).contains(&orphan));
}

/// The end of a run skips its scan of `/proc` only when this process has no child: one that
/// a thread of it started (here, this test's) is seen.
#[test]
fn a_live_child_is_seen_by_the_check_for_none() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    assert!(!childless());
    child.kill().unwrap();
    child.wait().unwrap();
}
