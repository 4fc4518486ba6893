//! Tests of shard specs, the shards' results as one run, and their figures.

use super::*;
use crate::measure::junit::TestResult;
use crate::measure::record::{RunExtras, RunSample};
use crate::process::Status;

fn test(id: &str, time: f64) -> TestResult {
    TestResult {
        id: id.to_string(),
        outcome: Outcome::Passed,
        time,
        ..TestResult::default()
    }
}

/// A shard's run of `ids` (1 s each) out of the collection `all`, taking `wall` seconds.
fn shard(wall: f64, ids: &[&str], all: &[&str], code: i32) -> RunResult {
    let n = ids.len() as u64;
    RunResult {
        sample: RunSample {
            warmup: false,
            promoted: false,
            wall,
            cpu_user: wall,
            cpu_system: 0.5,
            rss_peak_mb: Some(10.0),
            status: Status::Exited(code),
            exit_code: code,
            counts: Some(Counts {
                passed: n,
                tests: n,
                ..Counts::default()
            }),
            log: PathBuf::from(format!("shard-{wall}.log")),
            memory: vec![[0.0, 1.0]],
            pair: None,
        },
        tests: ids.iter().map(|id| test(id, 1.0)).collect(),
        warnings: Vec::new(),
        extras: RunExtras {
            all_tests: all.iter().map(|s| s.to_string()).collect(),
            ..RunExtras::default()
        },
    }
}

const ALL: &[&str] = &["t::a", "t::b", "t::c", "t::d"];

#[test]
fn shards_become_one_run_on_the_slowest_wall_with_cpu_and_counts_summed() {
    let run = combine(
        vec![
            (1, shard(3.0, &["t::a", "t::b"], ALL, 0)),
            (2, shard(5.0, &["t::c", "t::d"], ALL, 1)),
        ],
        true,
    )
    .unwrap();
    assert_eq!(run.sample.wall, 5.0);
    assert_eq!(run.sample.cpu_user + run.sample.cpu_system, 9.0);
    assert_eq!(run.sample.counts.unwrap().tests, 4);
    assert_eq!(run.tests.len(), 4);
    // The failing shard's status and log speak for the run.
    assert_eq!(
        (run.sample.exit_code, run.sample.log.to_str()),
        (1, Some("shard-5.log"))
    );
    let walls: Vec<f64> = run.extras.shards.iter().map(|s| s.wall).collect();
    assert_eq!(walls, [3.0, 5.0]);
    assert_eq!(run.extras.all_tests, ALL);
}

#[test]
fn a_test_in_no_shard_or_in_two_fails_the_run_naming_it() {
    let missing = combine(
        vec![
            (1, shard(1.0, &["t::a"], ALL, 0)),
            (2, shard(1.0, &["t::c", "t::d"], ALL, 0)),
        ],
        true,
    )
    .unwrap_err();
    assert_eq!(missing, "1 collected test(s) ran in no shard: t::b");
    let twice = combine(
        vec![
            (1, shard(1.0, &["t::a", "t::b", "t::c"], ALL, 0)),
            (2, shard(1.0, &["t::c", "t::d"], ALL, 0)),
        ],
        true,
    )
    .unwrap_err();
    assert_eq!(
        twice,
        "1 test(s) ran in more than one shard: t::c (shards 1, 2)"
    );
    // One shard of a matrix is checked only once the jobs are merged.
    assert!(combine(vec![(2, shard(1.0, &["t::c"], ALL, 0))], false).is_ok());
}

/// Every process collects every module: a module that cannot be collected is one error, not
/// one per shard, and not a test run twice.
#[test]
fn a_collection_error_every_shard_saw_counts_once() {
    let broken = |wall| {
        let mut r = shard(wall, &["t::a"], &["t::a"], 2);
        r.tests.push(TestResult {
            id: "tests.test_broken".into(),
            outcome: Outcome::Error,
            message: Some("collection failure".into()),
            ..TestResult::default()
        });
        r.sample.counts = Some(Counts {
            errors: 1,
            tests: 2,
            ..Counts::default()
        });
        r
    };
    let mut second = broken(1.0);
    second.tests.remove(0);
    second.extras.all_tests.clear();
    let run = combine(vec![(1, broken(1.0)), (2, second)], true).unwrap();
    assert_eq!(run.sample.counts.unwrap().errors, 1);
    assert_eq!(run.tests.len(), 2);
}

#[test]
fn figures_give_each_shards_median_wall_and_the_balance() {
    let sh = ShardSpec::new(2, None, BTreeMap::new(), None);
    let runs: Vec<RunResult> = [(4.0, 2.0), (6.0, 6.0), (4.0, 4.0)]
        .iter()
        .map(|&(a, b)| {
            combine(
                vec![
                    (1, shard(a, &["t::a"], &[], 0)),
                    (2, shard(b, &["t::b"], &[], 0)),
                ],
                true,
            )
            .unwrap()
        })
        .collect();
    let counted: Vec<&RunResult> = runs.iter().collect();
    let f = figures(&sh, &counted).unwrap();
    assert_eq!(f.walls, [4.0, 4.0]);
    assert_eq!(f.runs, [vec![4.0, 2.0], vec![6.0, 6.0], vec![4.0, 4.0]]);
    // Per run 0.75, 1, 1: the median.
    assert_eq!(f.balance, Some(1.0));
    assert!(even_split_note(&sh).unwrap().contains("evenly by count"));
    let part = ShardSpec::new(2, Some(1), BTreeMap::new(), Some("x".into()));
    let f = figures(&part, &counted).unwrap();
    assert_eq!((f.only, f.balance), (Some(1), None));
    assert!(even_split_note(&part).is_none());
}

#[test]
fn shard_slices_parse_and_agree_with_the_plan_or_say_why_not() {
    assert_eq!("2/4".parse::<Slice>(), Ok(Slice { index: 2, count: 4 }));
    for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/65", ""] {
        let e = bad.parse::<Slice>().unwrap_err();
        assert!(e.contains("write `i/N`"), "{bad}: {e}");
    }
    let s = Slice { index: 1, count: 3 };
    assert_eq!(resolve(Shards::Matrix, Some(s)), Ok(Some(3)));
    assert_eq!(resolve(Shards::Matrix, None), Ok(None));
    assert_eq!(resolve(Shards::Count(4), None), Ok(Some(4)));
    assert_eq!(
        resolve(Shards::Count(4), Some(s)).unwrap_err(),
        "`--shard 1/3` splits into 3 shards but the step says `shards = 4`"
    );
}

/// pytest-split's file in both its forms; a symlink planted in its place, or bad JSON, is not
/// read; unbelievable times are dropped; what planrun writes reads back.
#[test]
fn durations_files_read_in_pytest_splits_forms_and_write_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DURATIONS_FILE);
    std::fs::write(&path, r#"{"t::a": 1.5, "t::b": -1, "t::c": 0.25}"#).unwrap();
    let d = read_durations(&path).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d["t::a"], 1.5);
    std::fs::write(&path, r#"[["t::a", 2.0], ["t::b", 3.0]]"#).unwrap();
    assert_eq!(read_durations(&path).unwrap()["t::b"], 3.0);
    std::fs::write(&path, durations_json(&d)).unwrap();
    assert_eq!(read_durations(&path).unwrap(), d);
    std::fs::write(&path, "not json").unwrap();
    assert!(read_durations(&path).is_none());
    std::fs::remove_file(&path).unwrap();
    assert!(read_durations(&path).is_none());
    let elsewhere = dir.path().join("real");
    std::fs::write(&elsewhere, r#"{"t::a": 1}"#).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert!(read_durations(&path).is_none());
}

/// A matrix job balances from the durations file alone (every job has it alike); a local
/// suite adds the apply's earlier records.
#[test]
fn a_matrix_job_balances_from_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DURATIONS_FILE), r#"{"t::a": 1}"#).unwrap();
    let earlier = crate::measure::record::Record::from_runs(
        "pytest",
        crate::measure::framework::Framework::Pytest,
        vec![shard(2.0, &["t::b"], &[], 0)],
        1,
    )
    .unwrap();
    let job = spec_for(
        Shards::Matrix,
        Some(Slice { index: 2, count: 3 }),
        dir.path(),
        [&earlier].into_iter(),
    )
    .unwrap();
    assert_eq!((job.count, job.only), (3, Some(2)));
    assert_eq!(job.durations.lock().unwrap().len(), 1);
    let local = spec_for(Shards::Count(2), None, dir.path(), [&earlier].into_iter()).unwrap();
    assert_eq!(local.durations.lock().unwrap().len(), 2);
    assert_eq!(
        local.source.as_deref(),
        Some("`.test_durations` and the earlier records")
    );
    assert!(spec_for(Shards::Matrix, None, dir.path(), std::iter::empty()).is_none());
}
