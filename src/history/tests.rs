use std::collections::BTreeMap;

use super::entry::{git_commit, Entry, FORMAT};
use super::file::{append, check_appendable, parse, read, MAX_BYTES, MAX_LINE};
use super::window::{known, Window};
use crate::report::model::RunStatus;

fn entry(run: &str, stage: &str, code: u8, wall: f64) -> Entry {
    let mut after = BTreeMap::new();
    after.insert("wall.median".to_string(), wall / 2.0);
    Entry {
        v: FORMAT,
        run_id: run.into(),
        time: "2026-12-02T06:00:00Z".into(),
        plan: "p".into(),
        stage: Some(stage.into()),
        forced: false,
        commit: None,
        status: if code == 0 {
            RunStatus::Passed
        } else {
            RunStatus::GateFailed
        },
        exit_code: code,
        duration_s: wall,
        records: BTreeMap::from([("after".to_string(), after)]),
        gates: Vec::new(),
        mac: None,
    }
}

#[test]
fn a_window_reads_the_last_runs_of_its_stage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    for (i, (stage, code)) in [("dev", 1), ("dev", 0), ("ci", 1), ("dev", 0), ("dev", 0)]
        .iter()
        .enumerate()
    {
        append(
            &path,
            &entry(&format!("r{i}"), stage, *code, 10.0 + i as f64),
        )
        .unwrap();
    }
    let file = read(&path).unwrap();
    assert_eq!(file.entries.len(), 5);
    let all = Window::of(&file, "p", Some("dev"), 20);
    assert_eq!(all.metric("runs"), Some(4.0));
    assert_eq!(all.metric("green"), Some(3.0));
    assert_eq!(all.metric("green_streak"), Some(3.0));
    assert_eq!(all.metric("fail_rate"), Some(0.25));
    // Walls of the dev runs: 10, 11, 13, 14.
    assert_eq!(all.metric("wall.median"), Some(12.0));
    assert_eq!(all.metric("wall.max"), Some(14.0));
    assert_eq!(all.metric("after.wall.median"), Some(6.0));
    assert_eq!(all.metric("after.nonsense"), None);
    let last_two = Window::of(&file, "p", Some("dev"), 2);
    assert_eq!(last_two.metric("runs"), Some(2.0));
    assert_eq!(last_two.metric("fail_rate"), Some(0.0));
    let none = Window::of(&file, "p", Some("nightly"), 20);
    assert_eq!(none.metric("runs"), Some(0.0));
    assert_eq!(none.metric("fail_rate"), None, "no rate of no runs");
    assert_eq!(none.metric("wall.median"), None);
    let other_plan = Window::of(&file, "q", Some("dev"), 20);
    assert_eq!(other_plan.metric("runs"), Some(0.0));
}

#[test]
fn torn_and_corrupt_lines_are_named_and_skipped() {
    let good = serde_json::to_string(&entry("a", "dev", 0, 1.0).signed().unwrap()).unwrap();
    let text = format!(
        "{good}\n\n{{not json\n{good}\n{{\"v\":99,\"run_id\":\"x\"}}\n{good}\n{{\"v\":1,\"ru"
    );
    let file = parse(text.as_bytes());
    assert_eq!(
        file.entries.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 4, 6]
    );
    let bad: Vec<usize> = file.unreadable.iter().map(|u| u.line).collect();
    assert_eq!(bad, [3, 5, 7]);
    let warnings = file.warnings(std::path::Path::new("h.jsonl"));
    assert!(
        warnings[0].starts_with("h.jsonl:3: unreadable history line skipped (key must be a string"),
        "{}",
        warnings[0]
    );
    assert!(file.unreadable[1].error.contains("format version 99"));
    let w = Window::of(&file, "p", Some("dev"), 20);
    assert_eq!(w.metric("runs"), Some(3.0));
    assert_eq!(w.metric("unreadable"), Some(3.0));
}

#[test]
fn an_append_after_a_torn_line_starts_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(&path, "{\"v\":1,\"run").unwrap();
    append(&path, &entry("b", "dev", 0, 1.0)).unwrap();
    let file = read(&path).unwrap();
    assert_eq!(file.unreadable.len(), 1);
    assert_eq!(file.entries.len(), 1);
    assert_eq!(file.entries[0].0, 2);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
}

#[test]
fn concurrent_appenders_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    // Long lines (well over PIPE_BUF) so only the lock keeps them whole.
    let big = "x".repeat(9000);
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = &path;
            let big = &big;
            s.spawn(move || {
                for i in 0..25 {
                    let mut e = entry(&format!("t{t}-{i}"), "dev", 0, 1.0);
                    e.commit = Some(big.clone());
                    append(path, &e).unwrap();
                }
            });
        }
    });
    let file = read(&path).unwrap();
    assert!(file.unreadable.is_empty(), "{:?}", file.unreadable.first());
    assert_eq!(file.entries.len(), 200);
}

#[test]
fn a_missing_history_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let file = read(&dir.path().join("none.jsonl")).unwrap();
    assert!(file.entries.is_empty() && file.unreadable.is_empty());
}

#[test]
fn history_metrics_known_to_validation() {
    assert!(known("green_streak", &[]));
    assert!(known("after.wall.median", &["after"]));
    assert!(!known("after.wall.median", &["before"]));
    assert!(!known("after.slowest", &["after"]), "not kept per run");
    assert!(!known("streak", &[]));
}

#[test]
fn the_commit_is_read_from_git_files_without_running_git() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().join(".git");
    std::fs::create_dir_all(git.join("refs/heads")).unwrap();
    let hash = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    assert_eq!(git_commit(dir.path()), None, "an unborn branch");
    std::fs::write(
        git.join("packed-refs"),
        format!("# pack-refs\n{hash} refs/heads/main\n"),
    )
    .unwrap();
    assert_eq!(git_commit(dir.path()).as_deref(), Some(hash));
    std::fs::write(
        git.join("refs/heads/main"),
        format!("{}\n", hash.replace('0', "f")),
    )
    .unwrap();
    assert_eq!(git_commit(dir.path()), Some(hash.replace('0', "f")));
    std::fs::write(git.join("HEAD"), format!("{hash}\n")).unwrap();
    assert_eq!(
        git_commit(dir.path()).as_deref(),
        Some(hash),
        "a detached HEAD"
    );
    std::fs::write(git.join("HEAD"), "ref: refs/../../../etc/passwd\n").unwrap();
    assert_eq!(git_commit(dir.path()), None);
    std::fs::remove_file(git.join("HEAD")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", git.join("HEAD")).unwrap();
    assert_eq!(git_commit(dir.path()), None, "a device is not read");
    assert_eq!(git_commit(&dir.path().join("nowhere")), None);
}

#[test]
fn lines_not_signed_with_this_users_key_count_for_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    append(&path, &entry("ours", "dev", 0, 1.0)).unwrap();
    let unsigned = serde_json::to_string(&entry("forged", "dev", 0, 1.0)).unwrap();
    let mut altered = entry("ours", "dev", 0, 1.0).signed().unwrap();
    altered.exit_code = 1;
    let altered = serde_json::to_string(&altered).unwrap();
    let other_key = {
        let mut e = entry("other", "dev", 0, 1.0);
        e.mac = Some("0".repeat(64));
        serde_json::to_string(&e).unwrap()
    };
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("{unsigned}\n{altered}\n{other_key}\n"));
    std::fs::write(&path, text).unwrap();
    let file = read(&path).unwrap();
    assert_eq!(file.entries.len(), 1);
    assert_eq!(file.entries[0].1.run_id, "ours");
    assert_eq!(file.foreign, [2, 3, 4]);
    let w = Window::of(&file, "p", Some("dev"), 20);
    assert_eq!(w.metric("green_streak"), Some(1.0));
    let warnings = file.warnings(&path);
    assert!(
        warnings.iter().any(|w| w.contains(
            "3 history lines not written by planrun on this machine were ignored (line 2, 3, 4)"
        )),
        "{warnings:?}"
    );
}

#[test]
fn a_history_symlink_is_never_read_or_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "keep\n").unwrap();
    let path = dir.path().join("h.jsonl");
    std::os::unix::fs::symlink(&outside, &path).unwrap();
    let err = append(&path, &entry("a", "dev", 0, 1.0)).unwrap_err();
    assert!(err.to_string().contains("is a symlink"), "{err}");
    assert!(check_appendable(&path).is_err());
    assert!(read(&path).is_err());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep\n");
    // A dangling one is not created through either.
    let dangling = dir.path().join("d.jsonl");
    std::os::unix::fs::symlink(dir.path().join("made.txt"), &dangling).unwrap();
    assert!(append(&dangling, &entry("a", "dev", 0, 1.0)).is_err());
    assert!(!dir.path().join("made.txt").exists());
}

#[test]
fn devices_and_huge_histories_are_read_within_bounds() {
    let zero = std::path::Path::new("/dev/zero");
    let err = read(zero).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(check_appendable(zero).is_err());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let long = format!("{}\n", "x".repeat(MAX_LINE + 1));
    let mut text = long.repeat((MAX_BYTES as usize / long.len()) + 1);
    let good = serde_json::to_string(&entry("last", "dev", 0, 1.0).signed().unwrap()).unwrap();
    text.push_str(&format!("{long}{good}\n"));
    std::fs::write(&path, &text).unwrap();
    let file = read(&path).unwrap();
    assert_eq!(file.truncated_from, Some(text.len() as u64));
    assert_eq!(file.entries.len(), 1);
    assert!(file
        .unreadable
        .iter()
        .all(|u| u.error.contains("longer than")));
    let warnings = file.warnings(&path);
    assert!(
        warnings[0].contains("only its last 16 MiB were read"),
        "{}",
        warnings[0]
    );
}

/// A line is verified by serialising what was parsed again: every float must come back as the
/// same bits (serde_json's `float_roundtrip`), or some lines of a real apply read as forged.
#[test]
fn a_signed_line_with_any_timing_reads_back_authentic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Timings as measured: seconds with every bit of a double's mantissa in use.
        let wall = (x >> 11) as f64 / (1u64 << 53) as f64 * 300.0;
        let line = serde_json::to_string(&entry("r", "dev", 0, wall).signed().unwrap()).unwrap();
        let back: Entry = serde_json::from_str(&line).unwrap();
        assert!(back.authentic(), "{line}");
    }
}
