//! Tests of how runs combine into a record.

use super::*;
use crate::metrics::METRICS;

fn sample(wall: f64, status: Status, counts: Option<Counts>) -> RunSample {
    RunSample {
        warmup: false,
        promoted: false,
        wall,
        cpu_user: wall / 2.0,
        cpu_system: 0.0,
        rss_peak_mb: Some(wall * 100.0),
        status,
        exit_code: status.code(),
        counts,
        log: PathBuf::from("x.log"),
        memory: Vec::new(),
        pair: None,
    }
}

fn counts(passed: u64, failed: u64, errors: u64) -> Counts {
    Counts {
        passed,
        failed,
        skipped: 1,
        errors,
        tests: passed + failed + errors + 1,
    }
}

fn test(id: &str, outcome: Outcome, time: f64) -> TestResult {
    TestResult {
        id: id.to_string(),
        outcome,
        time,
        ..TestResult::default()
    }
}

fn pytest_run(wall: f64, c: Counts, tests: Vec<TestResult>) -> RunResult {
    let code = if c.failed + c.errors > 0 { 1 } else { 0 };
    RunResult {
        sample: sample(wall, Status::Exited(code), Some(c)),
        tests,
        warnings: Vec::new(),
        extras: Default::default(),
    }
}

fn three_runs() -> Vec<RunResult> {
    let mut warm = pytest_run(
        9.0,
        counts(0, 5, 0),
        vec![test("t::warm", Outcome::Failed, 9.0)],
    );
    warm.sample.warmup = true;
    vec![
        warm,
        pytest_run(
            2.0,
            counts(3, 0, 0),
            vec![
                test("t::a", Outcome::Passed, 0.5),
                test("t::flip", Outcome::Passed, 0.1),
                test("t::s", Outcome::Skipped, 0.0),
            ],
        ),
        pytest_run(
            4.0,
            counts(2, 1, 0),
            vec![
                test("t::a", Outcome::Passed, 0.7),
                test("t::flip", Outcome::Failed, 0.3),
                test("t::s", Outcome::Skipped, 0.0),
            ],
        ),
        pytest_run(
            3.0,
            counts(3, 0, 0),
            vec![
                test("t::a", Outcome::Passed, 0.6),
                test("t::flip", Outcome::Passed, 0.2),
                test("t::s", Outcome::Skipped, 0.0),
            ],
        ),
    ]
}

/// The counted runs of `runs` with a process that grew 1, 3 and 2 MiB and coverage of 90, 85
/// and 88 percent; the warmup's (worse) figures count for nothing.
fn with_extras(mut runs: Vec<RunResult>) -> Vec<RunResult> {
    let cover = |percent: f64| crate::measure::coverage::Coverage {
        percent,
        statements: 100,
        missing: (100.0 - percent) as u64,
        files: BTreeMap::new(),
    };
    for (run, (kb, percent)) in
        runs.iter_mut()
            .zip([(99_000, 10.0), (1024, 90.0), (3072, 85.0), (2048, 88.0)])
    {
        run.extras.rss_growth_kb = Some(kb);
        run.extras.coverage = Some(cover(percent));
    }
    runs
}

#[test]
fn growth_is_the_most_and_coverage_the_least_over_counted_runs() {
    let r = Record::from_runs("pytest", Framework::Pytest, with_extras(three_runs()), 2).unwrap();
    assert_eq!(r.metric("rss_growth_mb"), Some(3.0));
    assert_eq!(r.metric("coverage"), Some(85.0));
    // No budgets: no count, so a gate on `over_budget` says it has no value.
    assert_eq!(r.metric("over_budget"), None);
    let r = r.with_budgets(
        &[crate::measure::budget::Budget::parse("t::a", 0.25).unwrap()],
        &BTreeMap::new(),
    );
    assert_eq!(r.metric("over_budget"), Some(1.0));
    assert_eq!(r.over_budget[0].id, "t::a");
    assert_eq!(r.budgets["t::a"], 0.25);
}

#[test]
fn counted_runs_combine_conservatively() {
    let r = Record::from_runs("pytest -q", Framework::Pytest, three_runs(), 2).unwrap();
    assert_eq!((r.warmup, r.runs), (1, 3));
    assert_eq!((r.wall.min, r.wall.median, r.wall.max), (2.0, 3.0, 4.0));
    assert_eq!((r.passed, r.failed, r.errors, r.tests), (2, 1, 0, 4));
    assert!((r.runs_green - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(r.flaky, vec!["t::flip"]);
    assert_eq!(r.durations["t::a"], 0.6);
    assert_eq!(r.slowest, Some(0.6));
    assert_eq!(r.slowest_tests[0].id, "t::a");
    assert_eq!(r.slowest_tests.len(), 3);
    assert!(
        !r.durations.contains_key("t::warm"),
        "warmup tests are not counted"
    );
    // cpu is half the wall on 2 cores.
    assert!((r.cpu_util - 0.25).abs() < 1e-12);
    assert_eq!(r.cpu_seconds, 1.5);
    assert_eq!(r.rss_peak_mb, Some(400.0));
    assert_eq!(r.samples.len(), 4);
    assert!(r.samples[0].warmup);
    assert!(r.warnings.iter().any(|w| w.contains("1 of 3 counted runs")));
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("1 flaky test: t::flip")));
}

#[test]
fn metric_paths_resolve() {
    let r = Record::from_runs("pytest", Framework::Pytest, with_extras(three_runs()), 2)
        .unwrap()
        .with_budgets(
            &[crate::measure::budget::Budget::parse("t::a", 0.5).unwrap()],
            &BTreeMap::new(),
        );
    let mut r = r;
    r.shards = Some(crate::measure::shard_figures::ShardFigures {
        count: 2,
        only: None,
        walls: vec![3.0, 2.0],
        cpu: vec![1.0, 1.0],
        runs: vec![vec![3.0, 2.0]],
        balance: Some(2.5 / 3.0),
        durations: None,
        collected: Vec::new(),
    });
    for path in METRICS {
        assert!(r.metric(path).is_some(), "{path} has no value");
    }
    assert_eq!(
        (
            r.metric("shards"),
            r.metric("shard_wall.min"),
            r.metric("shard_wall.max")
        ),
        (Some(2.0), Some(2.0), Some(3.0))
    );
    assert_eq!(r.metric("wall.median"), Some(3.0));
    assert_eq!(r.metric("passed"), Some(2.0));
    assert_eq!(r.metric("flaky"), Some(1.0));
    assert_eq!(r.metric("runs"), Some(3.0));
    assert_eq!(r.metric("wall.nope"), None);
    assert_eq!(r.metric(""), None);
}

#[test]
fn command_suites_have_no_test_metrics() {
    let runs = vec![RunResult {
        sample: sample(0.1, Status::Exited(0), None),
        tests: Vec::new(),
        warnings: Vec::new(),
        extras: Default::default(),
    }];
    let r = Record::from_runs("sleep 0.1", Framework::Command, runs, 1).unwrap();
    assert_eq!(r.metric("passed"), None);
    assert_eq!(r.metric("flaky"), None);
    assert_eq!(r.metric("slowest"), None);
    assert_eq!(r.metric("wall.stddev"), None, "a single run has no stddev");
    assert_eq!(r.metric("runs_green"), Some(1.0));
    assert!(r.warnings.is_empty());
}

#[test]
fn a_failing_command_is_not_green() {
    let runs = vec![RunResult {
        sample: sample(0.1, Status::Exited(2), None),
        tests: Vec::new(),
        warnings: Vec::new(),
        extras: Default::default(),
    }];
    let r = Record::from_runs("false", Framework::Command, runs, 1).unwrap();
    assert_eq!(r.runs_green, 0.0);
}

#[test]
fn no_counted_run_no_record() {
    let mut only_warm = three_runs();
    only_warm.truncate(1);
    assert!(Record::from_runs("x", Framework::Pytest, only_warm, 1).is_none());
}

#[test]
fn round_trips_through_json() {
    let r = Record::from_runs("pytest", Framework::Pytest, three_runs(), 2).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    let back: Record = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn unbelievable_values_are_sanitised_with_warnings() {
    let mut bad = pytest_run(
        1.0,
        Counts {
            passed: 4,
            failed: 0,
            skipped: 0,
            errors: 0,
            tests: 3,
        },
        vec![
            test("t::neg", Outcome::Passed, -5.0),
            test("t::nan", Outcome::Passed, f64::NAN),
            test("t::inf", Outcome::Passed, f64::INFINITY),
        ],
    );
    bad.warnings = vec!["junit file lists 1 test(s) more than once, counted once: t::neg".into()];
    let mut again = bad.clone();
    again.sample.wall = 1.1;
    let r = Record::from_runs("pytest", Framework::Pytest, vec![bad, again], 1).unwrap();
    assert_eq!((r.tests, r.passed), (3, 3));
    assert_eq!(r.slowest, Some(0.0));
    assert!(r.durations.values().all(|t| *t == 0.0));
    let joined = r.warnings.join("\n");
    assert_eq!(
        r.warnings
            .iter()
            .filter(|w| w.contains("more than once"))
            .count(),
        1,
        "the same warning from two runs is said once: {joined}"
    );
    assert!(joined.contains("counts capped at 3"), "{joined}");
    assert!(
        joined.contains("3 negative or non-finite test time(s)"),
        "{joined}"
    );
}

#[test]
fn failing_tests_are_kept_with_their_runs_and_last_text() {
    let failing = |outcome, text: &str| TestResult {
        file: Some("tests/t.py".into()),
        line: Some(4),
        message: Some(format!("{text} message")),
        text: Some(text.into()),
        ..test("tests/t.py::a", outcome, 0.1)
    };
    let runs = vec![
        pytest_run(
            1.0,
            counts(0, 1, 0),
            vec![failing(Outcome::Failed, "first")],
        ),
        pytest_run(
            1.0,
            counts(0, 1, 1),
            vec![
                failing(Outcome::Failed, "second"),
                test("tests/t.py::b", Outcome::Error, 0.1),
            ],
        ),
        pytest_run(
            1.0,
            counts(1, 0, 0),
            vec![test("tests/t.py::a", Outcome::Passed, 0.1)],
        ),
    ];
    let r = Record::from_runs("pytest", Framework::Pytest, runs, 2).unwrap();
    assert_eq!(r.failures.len(), 2, "{:?}", r.failures);
    let a = &r.failures[0];
    assert_eq!(
        (a.id.as_str(), a.outcome, a.runs),
        ("tests/t.py::a", Outcome::Failed, 2)
    );
    assert_eq!(a.text.as_deref(), Some("second"));
    assert_eq!(a.message.as_deref(), Some("second message"));
    assert_eq!((a.file.as_deref(), a.line), (Some("tests/t.py"), Some(4)));
    assert_eq!(
        (r.failures[1].outcome, r.failures[1].runs),
        (Outcome::Error, 1)
    );
    assert_eq!(r.flaky, ["tests/t.py::a"]);
    assert!(
        three_runs_record()
            .failures
            .iter()
            .all(|f| f.id != "t::warm"),
        "warmups count for nothing"
    );
}

fn three_runs_record() -> Record {
    Record::from_runs("pytest", Framework::Pytest, three_runs(), 2).unwrap()
}

#[test]
fn a_long_failure_text_keeps_its_end() {
    let long = format!("{}END", "x".repeat(10_000));
    let t = TestResult {
        text: Some(long),
        ..test("a", Outcome::Failed, 0.1)
    };
    let runs = vec![pytest_run(1.0, counts(0, 1, 0), vec![t])];
    let r = Record::from_runs("pytest", Framework::Pytest, runs, 2).unwrap();
    let text = r.failures[0].text.as_deref().unwrap();
    assert!(text.ends_with("END") && text.chars().count() == 4000);
}

/// The test set: what ran in a counted run (not skipped, not a collection error, not only in
/// a warmup run), and each collection error with its first line and exception.
#[test]
fn the_test_set_names_what_ran_and_what_could_not_be_collected() {
    let mut broken = test("tests/test_bad.py", Outcome::Error, 0.0);
    broken.message = Some("collection failure".into());
    broken.text = Some(
        "ImportError while importing test module 'x'.\nTraceback:\nE   ModuleNotFoundError: No module named 'y'\n".into(),
    );
    let mut setup_error = test("t::fixture", Outcome::Error, 0.1);
    setup_error.message = Some("failed on setup with \"RuntimeError\"".into());
    let mut warm = pytest_run(
        1.0,
        counts(1, 0, 0),
        vec![test("t::warm_only", Outcome::Passed, 1.0)],
    );
    warm.sample.warmup = true;
    let runs = vec![
        warm,
        pytest_run(
            1.0,
            counts(1, 1, 2),
            vec![
                test("t::b", Outcome::Passed, 0.1),
                test("t::a", Outcome::Failed, 0.1),
                test("t::skip", Outcome::Skipped, 0.0),
                broken.clone(),
                setup_error,
            ],
        ),
        pytest_run(
            1.0,
            counts(1, 0, 1),
            vec![test("t::c", Outcome::Passed, 0.1), broken],
        ),
    ];
    let record = Record::from_runs("pytest", Framework::Pytest, runs, 1).unwrap();
    let set = record.test_set.unwrap();
    assert_eq!(set.executed, ["t::a", "t::b", "t::c", "t::fixture"]);
    assert_eq!(
        set.collection_errors,
        [CollectionError {
            id: "tests/test_bad.py".into(),
            summary: "ImportError while importing test module 'x'. (ModuleNotFoundError: No module named 'y')".into(),
        }]
    );
    assert!(set.known_failures.is_empty());
    let command = Record::from_runs(
        "true",
        Framework::Command,
        vec![pytest_run(1.0, counts(1, 0, 0), Vec::new())],
        1,
    )
    .unwrap();
    assert_eq!(command.test_set, None);
}
