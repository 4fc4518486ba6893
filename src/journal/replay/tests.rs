//! Rollback tests: exact restores, stacking, crashes at every point, idempotence.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::journal::record::Journal;
use crate::journal::state::{ensure_not_interrupted, history, interrupted, RunMeta};
use crate::process::Control;
use crate::pyenv::PythonEnv;

/// Every path under `root` except `.planrun/`: kind, bytes and mode.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (bool, Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(crate::fsutil::STATE_DIR) {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, (true, Vec::new(), mode));
                stack.push(path);
            } else {
                out.insert(rel, (false, fs::read(&path).unwrap(), mode));
            }
        }
    }
    out
}

fn meta(plan: &str) -> RunMeta {
    RunMeta {
        plan: plan.into(),
        plan_path: PathBuf::from(format!("plans/{plan}.toml")),
        plan_hash: String::new(),
    }
}

fn edit(journal: &Journal, rel: &str, bytes: &[u8]) {
    journal.write_file(Path::new(rel), bytes, None).unwrap();
}

fn sample_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("setup.cfg"), "[tool:pytest]\n").unwrap();
    fs::write(dir.path().join("run.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.path().join("old.txt"), "bye").unwrap();
    dir
}

#[test]
fn rollback_restores_edits_creations_deletions_and_modes() {
    let dir = sample_tree();
    let t = dir.path();
    let before = snapshot(t);
    let journal = Journal::begin(t, meta("xdist")).unwrap();
    edit(&journal, "setup.cfg", b"[tool:pytest]\naddopts = -n auto\n");
    edit(&journal, "setup.cfg", b"edited twice");
    edit(&journal, "conf/new/pytest.ini", b"[pytest]\n");
    let old = journal.record_file(Path::new("old.txt")).unwrap();
    fs::remove_file(old).unwrap();
    let script = journal.record_file(Path::new("run.sh")).unwrap();
    fs::set_permissions(script, fs::Permissions::from_mode(0o600)).unwrap();
    journal.set_status(Status::Applied).unwrap();

    let runs = history(t).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].status, runs[0].files_touched),
        (Status::Applied, 4)
    );
    let report = rollback_latest(t, Default::default()).unwrap().unwrap();
    assert_eq!(snapshot(t), before);
    let outcomes: Vec<_> = report.actions.iter().map(|a| &a.outcome).collect();
    assert!(outcomes.contains(&&Outcome::Deleted) && outcomes.contains(&&Outcome::DirRemoved));
    assert_eq!(history(t).unwrap()[0].status, Status::RolledBack);
    assert!(rollback_latest(t, Default::default()).unwrap().is_none());
    assert!(
        rollback_run(t, journal.run_id(), Default::default())
            .unwrap()
            .already_rolled_back
    );
}

#[test]
fn applies_stack_like_commits() {
    let dir = sample_tree();
    let t = dir.path();
    let first = Journal::begin(t, meta("one")).unwrap();
    edit(&first, "setup.cfg", b"one");
    first.set_status(Status::Applied).unwrap();
    drop(first);
    let second = Journal::begin(t, meta("two")).unwrap();
    edit(&second, "setup.cfg", b"two");
    second.set_status(Status::Applied).unwrap();
    assert_eq!(history(t).unwrap()[0].plan, "two");
    assert_eq!(
        rollback_latest(t, Default::default())
            .unwrap()
            .unwrap()
            .plan,
        "two"
    );
    assert_eq!(fs::read(t.join("setup.cfg")).unwrap(), b"one");
    assert_eq!(
        rollback_latest(t, Default::default())
            .unwrap()
            .unwrap()
            .plan,
        "one"
    );
    assert_eq!(fs::read(t.join("setup.cfg")).unwrap(), b"[tool:pytest]\n");
}

#[test]
fn crash_after_journaling_before_or_mid_write_is_rolled_back() {
    let dir = sample_tree();
    let t = dir.path();
    let before = snapshot(t);
    let journal = Journal::begin(t, meta("crash")).unwrap();
    edit(&journal, "setup.cfg", b"done");
    // Journaled, then killed before writing.
    journal.record_file(Path::new("new/file.txt")).unwrap();
    // Journaled, then killed inside write_atomic: only its temporary file exists.
    let abs = journal.record_file(Path::new("run.sh")).unwrap();
    fs::write(fsutil::temp_path(&abs), "half").unwrap();
    let id = journal.run_id().to_string();
    drop(journal);

    let found = interrupted(t).unwrap().unwrap();
    assert_eq!(found.id, id);
    let err = ensure_not_interrupted(t).unwrap_err().to_string();
    assert!(err.contains("an interrupted run must be rolled back: planrun rollback --target"));
    rollback_latest(t, Default::default()).unwrap().unwrap();
    assert_eq!(snapshot(t), before);
    assert!(interrupted(t).unwrap().is_none());
}

#[test]
fn a_run_whose_lock_is_held_is_not_interrupted() {
    let dir = sample_tree();
    let t = dir.path();
    let _lock = crate::journal::lock::Lock::acquire(t, "apply").unwrap();
    let journal = Journal::begin(t, meta("live")).unwrap();
    edit(&journal, "setup.cfg", b"x");
    assert!(interrupted(t).unwrap().is_none());
}

#[test]
fn rollback_cut_short_finishes_and_runs_undo_once() {
    let dir = sample_tree();
    let t = dir.path();
    let journal = Journal::begin(t, meta("undo")).unwrap();
    edit(&journal, "setup.cfg", b"a");
    let env = BTreeMap::from([("WHO".to_string(), "undo".to_string())]);
    journal
        .record_undo("svc", "echo $WHO >> ../undo.log", &env, &t.join("sub"))
        .unwrap();
    fs::create_dir(t.join("sub")).unwrap();
    edit(&journal, "old.txt", b"b");
    edit(&journal, "made/here.txt", b"c");
    journal.set_status(Status::Applied).unwrap();
    let before_rollback = snapshot(t);

    // A rollback killed after undoing the newest three entries (here.txt, made/, old.txt, undo).
    let run_dir = journal.run_dir().to_path_buf();
    let entries = entry::read_log(&run_dir, true).unwrap();
    let mut partial = RollbackReport {
        run_id: journal.run_id().into(),
        plan: "undo".into(),
        already_rolled_back: false,
        actions: Vec::new(),
        seconds: 0.0,
        saved: Vec::new(),
        leftovers: Vec::new(),
    };
    assert!(replay(t, &run_dir, &entries[1..], &mut partial, false).is_empty());
    assert_ne!(snapshot(t), before_rollback);
    assert_eq!(fs::read_to_string(t.join("undo.log")).unwrap(), "undo\n");

    let report = rollback_run(t, journal.run_id(), Default::default()).unwrap();
    assert_eq!(fs::read_to_string(t.join("undo.log")).unwrap(), "undo\n");
    assert!(report
        .actions
        .iter()
        .any(|a| a.outcome == Outcome::AlreadyDone));
    assert_eq!(fs::read(t.join("setup.cfg")).unwrap(), b"[tool:pytest]\n");
    assert_eq!(fs::read(t.join("old.txt")).unwrap(), b"bye");
    assert!(!t.join("made").exists());
}

#[test]
fn failed_undo_keeps_the_run_for_a_retry() {
    let dir = sample_tree();
    let t = dir.path();
    let journal = Journal::begin(t, meta("fail")).unwrap();
    edit(&journal, "setup.cfg", b"a");
    journal
        .record_undo("svc", "test -f fixed", &BTreeMap::new(), t)
        .unwrap();
    edit(&journal, "old.txt", b"b");
    journal.set_status(Status::Applied).unwrap();
    let err = rollback_latest(t, Default::default()).unwrap_err();
    let RollbackError::Incomplete { failures, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(failures.len(), 1);
    assert!(err.to_string().contains("test -f fixed"), "{err}");
    // Everything else was still undone; the run stays in effect for a retry.
    assert_eq!(fs::read(t.join("setup.cfg")).unwrap(), b"[tool:pytest]\n");
    assert_eq!(history(t).unwrap()[0].status, Status::Applied);
    fs::write(t.join("fixed"), "").unwrap();
    assert!(rollback_latest(t, Default::default()).unwrap().is_some());
    assert_eq!(history(t).unwrap()[0].status, Status::RolledBack);
}

#[test]
fn escaping_paths_are_refused_before_anything_is_journaled() {
    let dir = sample_tree();
    let journal = Journal::begin(dir.path(), meta("bad")).unwrap();
    assert!(journal.record_file(Path::new("../x")).is_err());
    assert!(journal.record_file(Path::new("/etc/hosts")).is_err());
    assert!(entry::read_log(journal.run_dir(), true).unwrap().is_empty());
}

#[test]
fn created_venv_is_removed_on_rollback() {
    let dir = sample_tree();
    let t = dir.path();
    let before = snapshot(t);
    let journal = Journal::begin(t, meta("venv")).unwrap();
    let env = PythonEnv::for_venv(&t.join("envs/.venv"), None);
    journal.record_env(&env, true, &Default::default()).unwrap();
    fs::create_dir_all(t.join("envs/.venv/bin")).unwrap();
    fs::write(t.join("envs/.venv/bin/python"), "").unwrap();
    let outside = PythonEnv::for_venv(Path::new("/tmp/elsewhere"), None);
    assert!(matches!(
        journal.record_env(&outside, true, &Default::default()),
        Err(JournalError::VenvOutsideTarget(_))
    ));
    rollback_latest(t, Default::default()).unwrap().unwrap();
    assert_eq!(snapshot(t), before);
}

#[test]
fn a_created_venv_replaced_by_a_symlink_is_not_followed() {
    let dir = sample_tree();
    let t = dir.path();
    let journal = Journal::begin(t, meta("venv")).unwrap();
    let env = PythonEnv::for_venv(&t.join(".venv"), None);
    journal.record_env(&env, true, &Default::default()).unwrap();
    fs::create_dir_all(t.join("keep/bin")).unwrap();
    fs::write(t.join("keep/bin/python"), "").unwrap();
    std::os::unix::fs::symlink("keep", t.join(".venv")).unwrap();
    journal.set_status(Status::Applied).unwrap();
    let err = rollback_latest(t, Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("replaced by a symlink"), "{err}");
    assert!(t.join("keep/bin/python").exists());
}

#[test]
fn real_venv_packages_are_restored_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let env = crate::envjournal::tests::uv_venv(&t.join(".venv"), &["iniconfig==2.0.0"]);
    let before = crate::envjournal::tests::hash_tree(&t.join(".venv"));
    let journal = Journal::begin(t, meta("deps")).unwrap();
    let packages = vec!["six==1.16.0".to_string()];
    let layout = crate::envjournal::EnvLayout::of_venv(&t.join(".venv")).unwrap();
    let installed = crate::envjournal::distinfo::installed(&layout.site_packages);
    let affected =
        crate::envjournal::predict(&env, &packages, &installed, &Control::default(), None).unwrap();
    journal.record_env(&env, false, &affected).unwrap();
    env.install(&packages, &Control::default()).unwrap();
    journal.seal_env(&env).unwrap();
    journal.set_status(Status::Applied).unwrap();
    let report = rollback_latest(t, Default::default()).unwrap().unwrap();
    assert_eq!(
        crate::envjournal::tests::hash_tree(&t.join(".venv")),
        before
    );
    let Outcome::EnvRestored { removed, .. } = &report.actions[0].outcome else {
        panic!("{report:?}");
    };
    assert_eq!(removed, &vec!["six==1.16.0".to_string()]);
}

#[test]
fn an_env_repointed_by_a_symlink_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let env = crate::envjournal::tests::uv_venv(&t.join(".venv"), &[]);
    let other = tempfile::tempdir().unwrap();
    let other_venv = other.path().join("venv");
    crate::envjournal::tests::uv_venv(&other_venv, &["six==1.16.0"]);
    let journal = Journal::begin(t, meta("deps")).unwrap();
    let packages = vec!["six==1.16.0".to_string()];
    let affected =
        crate::envjournal::predict(&env, &packages, &[], &Control::default(), None).unwrap();
    journal.record_env(&env, false, &affected).unwrap();
    env.install(&packages, &Control::default()).unwrap();
    journal.seal_env(&env).unwrap();
    journal.set_status(Status::Applied).unwrap();
    fs::rename(t.join(".venv"), t.join("old-venv")).unwrap();
    std::os::unix::fs::symlink(&other_venv, t.join(".venv")).unwrap();
    let theirs = crate::envjournal::tests::hash_tree(&other_venv);
    let err = rollback_latest(t, Default::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not the one journaled"), "{text}");
    assert!(text.contains(&other_venv.display().to_string()), "{text}");
    assert_eq!(crate::envjournal::tests::hash_tree(&other_venv), theirs);
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Vec<u8>),
    Delete(usize),
    Chmod(usize, u32),
}

const FILES: [&str; 4] = ["a.txt", "b.bin", "d/c.txt", "d/e/f.txt"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..FILES.len(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(i, b)| Op::Write(i, b)),
        (0..FILES.len()).prop_map(Op::Delete),
        (
            0..FILES.len(),
            prop_oneof![Just(0o600), Just(0o644), Just(0o755), Just(0o444)]
        )
            .prop_map(|(i, m)| Op::Chmod(i, m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Any sequence of edits, cut short by a crash after any journaled step, rolls back to the
    /// exact tree (contents, modes, directories).
    #[test]
    fn rollback_restores_the_exact_tree(
        initial in proptest::collection::vec(any::<bool>(), FILES.len()),
        ops in proptest::collection::vec(op(), 1..12),
        crash_at in 0usize..12,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        for (i, present) in initial.iter().enumerate() {
            if *present {
                let p = t.join(FILES[i]);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, format!("initial {i}")).unwrap();
            }
        }
        let before = snapshot(t);
        let journal = Journal::begin(t, meta("prop")).unwrap();
        for (n, op) in ops.iter().enumerate() {
            let i = match op { Op::Write(i, _) | Op::Delete(i) | Op::Chmod(i, _) => *i };
            let abs = journal.record_file(Path::new(FILES[i])).unwrap();
            if n >= crash_at {
                // Killed after the journal entry, before the mutation.
                break;
            }
            match op {
                Op::Write(_, bytes) => {
                    fs::create_dir_all(abs.parent().unwrap()).unwrap();
                    fsutil::write_atomic(&abs, bytes, None).unwrap();
                }
                Op::Delete(_) if abs.exists() => fs::remove_file(&abs).unwrap(),
                Op::Chmod(_, mode) if abs.exists() => {
                    fs::set_permissions(&abs, fs::Permissions::from_mode(*mode)).unwrap()
                }
                _ => {}
            }
            // The end of planrun's step: what it left is recorded.
            journal.seal_files().unwrap();
        }
        drop(journal);
        rollback_latest(t, Default::default()).unwrap().unwrap();
        prop_assert_eq!(snapshot(t), before.clone());
        // Idempotent: replaying the whole run again (as after a crash just before the status
        // was written) changes nothing.
        let id = history(t).unwrap()[0].id.clone();
        let run_dir = paths::run_dir(t, &id);
        let mut record = state::read_record(&run_dir).unwrap();
        record.status = Status::Running;
        state::write_record(&run_dir, &record).unwrap();
        let again = rollback_run(t, &id, Default::default()).unwrap();
        prop_assert!(again.actions.iter().all(|a| a.outcome == Outcome::Unchanged));
        prop_assert_eq!(snapshot(t), before);
    }
}

/// One step of a person's day with planrun.
#[derive(Debug, Clone)]
enum Day {
    /// An apply that writes these files (index, content); `killed` stops it before its end.
    Apply(Vec<(usize, u8)>, bool),
    /// The person edits a file.
    Edit(usize, u8),
    /// `planrun rollback`, with or without `--force`.
    Rollback(bool),
}

fn day() -> impl Strategy<Value = Day> {
    prop_oneof![
        (
            proptest::collection::vec((0..FILES.len(), any::<u8>()), 1..3),
            any::<bool>()
        )
            .prop_map(|(w, k)| Day::Apply(w, k)),
        (0..FILES.len(), any::<u8>()).prop_map(|(i, b)| Day::Edit(i, b)),
        any::<bool>().prop_map(Day::Rollback),
    ]
}

/// Every copy `--force` saved under any run's `drift/`.
fn saved_copies(t: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(runs) = fs::read_dir(paths::journal_dir(t)) else {
        return out;
    };
    for run in runs.flatten() {
        let mut stack = vec![paths::drift_dir(&run.path())];
        while let Some(dir) = stack.pop() {
            for item in fs::read_dir(&dir).into_iter().flatten().flatten() {
                if item.file_type().unwrap().is_dir() {
                    stack.push(item.path());
                } else {
                    out.push(fs::read(item.path()).unwrap());
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random applies (some killed), edits by a person and rollbacks (some forced) never lose
    /// a byte of the person's edits (each is still in its file, or saved by `--force`) and
    /// never touch a path outside the target.
    #[test]
    fn a_persons_edits_are_never_lost(days in proptest::collection::vec(day(), 1..10)) {
        let dir = tempfile::tempdir().unwrap();
        let (t, sibling) = (dir.path().join("t"), dir.path().join("sibling"));
        fs::create_dir_all(&t).unwrap();
        fs::create_dir_all(&sibling).unwrap();
        fs::write(sibling.join("keep"), "untouched").unwrap();
        // The person's latest version of each file: it must survive.
        let mut theirs: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        for day in &days {
            match day {
                Day::Apply(writes, killed) => {
                    if interrupted(&t).unwrap().is_some() {
                        continue; // planrun refuses to apply until that run is rolled back
                    }
                    let journal = Journal::begin(&t, meta("day")).unwrap();
                    for (i, b) in writes {
                        let abs = journal.record_file(Path::new(FILES[*i])).unwrap();
                        fs::create_dir_all(abs.parent().unwrap()).unwrap();
                        fsutil::write_atomic(&abs, &[b'p', *b], None).unwrap();
                        theirs.remove(i);
                    }
                    if !killed {
                        journal.seal_files().unwrap();
                        journal.set_status(Status::Applied).unwrap();
                    }
                }
                Day::Edit(i, b) => {
                    let p = t.join(FILES[*i]);
                    fs::create_dir_all(p.parent().unwrap()).unwrap();
                    let content = vec![b'u', *b, b'!'];
                    fs::write(&p, &content).unwrap();
                    theirs.insert(*i, content);
                }
                Day::Rollback(force) => {
                    let opts = RollbackOptions { force: *force };
                    match rollback_latest(&t, opts) {
                        Ok(_) | Err(RollbackError::Drift { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            let saved = saved_copies(&t);
            for (i, content) in &theirs {
                let now = fs::read(t.join(FILES[*i])).ok();
                prop_assert!(
                    now.as_ref() == Some(content) || saved.contains(content),
                    "{day:?} lost the edit of {}", FILES[*i]
                );
            }
        }
        prop_assert_eq!(fs::read_dir(&sibling).unwrap().count(), 1);
        prop_assert_eq!(fs::read_to_string(sibling.join("keep")).unwrap(), "untouched");
    }
}

/// Undo commands lead a process group of their own, out of reach of a second Ctrl-C sent to
/// planrun's group during the automatic rollback.
#[test]
fn undo_commands_run_in_their_own_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let journal = Journal::begin(t, meta("undo")).unwrap();
    let leads = r#"test "$(cut -d' ' -f5 /proc/$$/stat)" = "$$""#;
    journal
        .record_undo("s", leads, &BTreeMap::new(), t)
        .unwrap();
    journal.set_status(Status::Applied).unwrap();
    let report = rollback_latest(t, Default::default()).unwrap().unwrap();
    assert_eq!(report.actions[0].outcome, Outcome::UndoRan);
}
