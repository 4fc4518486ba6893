//! Tests of joining one-shard records from a matrix's jobs.

use std::path::PathBuf;

use super::*;
use crate::measure::framework::Framework;
use crate::measure::junit::{Counts, Outcome, TestResult};
use crate::measure::record::{RunExtras, RunResult};
use crate::measure::shard::{self, ShardSpec};
use crate::process::Status;

const ALL: &[&str] = &["t::a", "t::b", "t::c", "t::d"];

/// The record a job running shard `index` of `count` makes: one counted run per wall, each
/// running `ids` (a second each) out of `ALL`.
fn part(index: u32, count: u32, walls: &[f64], ids: &[&str]) -> Record {
    let runs: Vec<RunResult> = walls
        .iter()
        .map(|&wall| {
            let run = RunResult {
                sample: RunSample {
                    warmup: false,
                    promoted: false,
                    wall,
                    cpu_user: 1.0,
                    cpu_system: 0.0,
                    rss_peak_mb: Some(50.0),
                    status: Status::Exited(0),
                    exit_code: 0,
                    counts: Some(Counts {
                        passed: ids.len() as u64,
                        tests: ids.len() as u64,
                        ..Counts::default()
                    }),
                    log: PathBuf::from(format!("s{index}.log")),
                    memory: Vec::new(),
                    pair: None,
                },
                tests: ids
                    .iter()
                    .map(|id| TestResult {
                        id: id.to_string(),
                        outcome: Outcome::Passed,
                        time: 1.0,
                        ..TestResult::default()
                    })
                    .collect(),
                warnings: Vec::new(),
                extras: RunExtras {
                    all_tests: ALL.iter().map(|s| s.to_string()).collect(),
                    ..RunExtras::default()
                },
            };
            shard::combine(vec![(index, run)], false).unwrap()
        })
        .collect();
    let sh = ShardSpec::new(count, Some(index), BTreeMap::new(), None);
    let counted: Vec<&RunResult> = runs.iter().collect();
    let figures = shard::figures(&sh, &counted);
    let mut r = Record::from_runs("pytest", Framework::Pytest, runs, 2).unwrap();
    r.shards = figures;
    r
}

fn named(parts: Vec<Record>) -> Vec<(String, Record)> {
    parts
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("job{}.json", i + 1), r))
        .collect()
}

#[test]
fn the_whole_is_the_slowest_shard_run_by_run_with_cpu_and_tests_summed() {
    let whole = merge(
        "after",
        named(vec![
            part(2, 2, &[3.0, 5.0], &["t::c", "t::d"]),
            part(1, 2, &[4.0, 4.0], &["t::a", "t::b"]),
        ]),
    )
    .unwrap();
    // Run 1: max(4, 3) = 4; run 2: max(4, 5) = 5.
    let walls: Vec<f64> = whole.samples.iter().map(|s| s.wall).collect();
    assert_eq!(walls, [4.0, 5.0]);
    assert_eq!(whole.wall.median, 4.5);
    assert_eq!((whole.tests, whole.passed, whole.runs), (4, 4, 2));
    assert_eq!(whole.cpu_seconds, 2.0);
    let f = whole.shards.as_ref().unwrap();
    assert_eq!((f.count, f.only), (2, None));
    assert_eq!(f.runs, [vec![4.0, 3.0], vec![4.0, 5.0]]);
    // Shard 1 median 4, shard 2 median 4; per run 3.5/4 and 4.5/5: the median 0.8875.
    assert_eq!(f.walls, [4.0, 4.0]);
    assert!((whole.metric("balance").unwrap() - 0.8875).abs() < 1e-9);
    assert_eq!(whole.durations.len(), 4);
    assert_eq!(whole.test_set.as_ref().unwrap().executed.len(), 4);
}

#[test]
fn a_shard_absent_or_given_twice_is_named() {
    let e = merge(
        "after",
        named(vec![
            part(1, 3, &[1.0], &["t::a"]),
            part(1, 3, &[1.0], &["t::a"]),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "record `after` of 3 shards: no report holds shard 2, 3; shard 1 (job1.json, job2.json) given twice"
    );
    let e = merge(
        "after",
        named(vec![
            part(1, 2, &[1.0], &["t::a"]),
            part(2, 3, &[1.0], &["t::b"]),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "record `after` was split into 2 shards in `job1.json` but into 3 in `job2.json`"
    );
    let mut whole = part(1, 1, &[1.0], ALL);
    whole.shards = None;
    let e = merge("after", named(vec![whole])).unwrap_err();
    assert!(e.to_string().contains("not one shard of a matrix"), "{e}");
}

/// Jobs that balanced different durations run some tests twice and others never: the merge
/// names them rather than report a suite that did not run.
#[test]
fn a_test_run_by_two_jobs_or_by_none_fails_the_merge() {
    let e = merge(
        "after",
        named(vec![
            part(1, 2, &[1.0], &["t::a", "t::b"]),
            part(2, 2, &[1.0], &["t::b", "t::c"]),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "record `after`: 1 collected test(s) ran in no shard: t::d; 1 test(s) ran in more than one shard: t::b (shards 1, 2); the jobs must balance the same durations (commit or cache the same `.test_durations` for every job) and collect the same tests"
    );
}

/// Each job's pairs cancel its own machine's drift; joined across jobs they would not, and the
/// merge says so rather than keep a paired interval it cannot stand behind.
#[test]
fn parts_measured_in_pairs_are_said_to_be_compared_on_medians() {
    let plain = part(1, 2, &[1.0], &["t::a", "t::b"]);
    assert_eq!(unpaired_note("after", std::slice::from_ref(&plain)), None);
    let mut paired = part(2, 2, &[1.0], &["t::c", "t::d"]);
    paired.comparison = Some(crate::measure::record::Comparison {
        with: "baseline".into(),
        mode: crate::measure::record::INTERLEAVED.into(),
        reason: None,
        seed: Some(1),
        pairs: 3,
        switch_ms: None,
        speed: None,
    });
    let note = unpaired_note("after", &[plain, paired]).unwrap();
    assert!(
        note.starts_with("`after` was measured in interleaved pairs with `baseline` within each job; pairs are not joined across jobs"),
        "{note}"
    );
    assert!(
        note.ends_with("compared on medians, without a paired interval"),
        "{note}"
    );
}
