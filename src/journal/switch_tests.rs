//! Switching a target between a mark's state and the state after: exact both ways, and drift
//! detection that takes the switches as planrun's own and a person's edit as drift.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::journal::replay;
use crate::journal::state::RunMeta;

fn begin(target: &Path) -> Journal {
    Journal::begin(
        target,
        RunMeta {
            plan: "p".into(),
            plan_path: PathBuf::from("plans/p.toml"),
            plan_hash: String::new(),
        },
    )
    .unwrap()
}

fn drift(journal: &Journal) -> Vec<String> {
    let entries = entry::read_log(journal.run_dir(), true).unwrap();
    replay::drift(journal.target(), journal.run_dir(), &entries)
        .unwrap()
        .into_iter()
        .map(|d| d.path)
        .collect()
}

#[test]
fn switches_files_between_the_mark_and_after_and_none_of_it_is_drift() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    fs::write(t.join("pytest.ini"), "[pytest]\n").unwrap();
    let journal = begin(t);
    // Before the mark: an edit that stays in both states.
    journal
        .write_file(Path::new("pytest.ini"), b"[pytest]\naddopts = -q\n", None)
        .unwrap();
    journal.seal_files().unwrap();
    let mark = journal.last_seq();
    // After it: the same file edited again, and a new file.
    journal
        .write_file(
            Path::new("pytest.ini"),
            b"[pytest]\naddopts = -q -n 2\n",
            None,
        )
        .unwrap();
    journal
        .write_file(Path::new("conftest.py"), b"# new\n", None)
        .unwrap();
    journal.seal_files().unwrap();
    let mut sw = journal.switcher(mark).unwrap().unwrap();
    assert_eq!(sw.size(), (2, 0));
    sw.switch(State::Before).unwrap();
    assert_eq!(
        fs::read_to_string(t.join("pytest.ini")).unwrap(),
        "[pytest]\naddopts = -q\n"
    );
    assert!(!t.join("conftest.py").exists());
    assert!(drift(&journal).is_empty(), "{:?}", drift(&journal));
    sw.switch(State::After).unwrap();
    assert_eq!(
        fs::read_to_string(t.join("pytest.ini")).unwrap(),
        "[pytest]\naddopts = -q -n 2\n"
    );
    assert_eq!(
        fs::read_to_string(t.join("conftest.py")).unwrap(),
        "# new\n"
    );
    sw.finish().unwrap();
    assert!(drift(&journal).is_empty());
    // A person's edit is still drift.
    fs::write(t.join("pytest.ini"), "[pytest]\n# mine\n").unwrap();
    assert_eq!(drift(&journal), ["pytest.ini"]);
}

#[test]
fn the_journal_says_each_switch_before_and_after_it_happens() {
    let dir = tempfile::tempdir().unwrap();
    let journal = begin(dir.path());
    let mark = journal.last_seq();
    journal
        .write_file(Path::new("a.txt"), b"a\n", None)
        .unwrap();
    let mut sw = journal.switcher(mark).unwrap().unwrap();
    sw.switch(State::Before).unwrap();
    sw.switch(State::After).unwrap();
    let notes: Vec<(String, bool)> = entry::read_log(journal.run_dir(), true)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Switch { to, done, mark: m } => {
                assert_eq!(m, mark);
                Some((to, done))
            }
            _ => None,
        })
        .collect();
    let want = [
        ("before", false),
        ("before", true),
        ("after", false),
        ("after", true),
    ];
    assert_eq!(notes, want.map(|(s, d)| (s.to_string(), d)).to_vec());
}

#[test]
fn an_undo_command_after_the_mark_cannot_be_switched() {
    let dir = tempfile::tempdir().unwrap();
    let journal = begin(dir.path());
    let mark = journal.last_seq();
    journal
        .record_undo("seed", "rm -f db", &Default::default(), dir.path())
        .unwrap();
    let reason = journal.switcher(mark).unwrap().unwrap_err();
    assert_eq!(reason, "step `seed` has an undo command");
}
