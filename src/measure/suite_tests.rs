//! Tests of the suite runner, with real shell commands and a fake pytest.

use super::*;
use crate::journal::paths::junit_dir;

/// A stand-in for pytest: writes a junit file to the `--junitxml=` path it is given. `t_flip`
/// fails on every second run (counted in the file `count`), so it is flaky.
const FAKE_PYTEST: &str = r#"#!/bin/sh
for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > count
flip=''; failures=0
if [ $((n % 2)) -eq 0 ]; then flip='<failure message="boom"/>'; failures=1; fi
echo "fake pytest run $n"
cat > "$out" <<XML
<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="$failures" skipped="1" tests="3" time="0.3"><testcase classname="tests.test_x" name="t_ok" time="0.200"/><testcase classname="tests.test_x" name="t_flip" time="0.050">$flip</testcase><testcase classname="tests.test_x" name="t_skip" time="0.000"><skipped message="no"/></testcase></testsuite></testsuites>
XML
[ "$failures" -eq 0 ]
"#;

fn spec(dir: &Path, command: &str, framework: Framework) -> SuiteSpec {
    SuiteSpec {
        warmup_collect: false,
        command: command.to_string(),
        cwd: dir.to_path_buf(),
        env: Vec::new(),
        warmup: 1,
        runs: 3,
        max_runs: None,
        max_time: None,
        auto_timeout: None,
        framework,
        timeout: None,
        log_dir: dir.join("logs"),
        junit_dir: dir.join("junit"),
        record: "baseline".to_string(),
        budgets: Vec::new(),
        coverage: None,
        shards: None,
    }
}

fn quiet(_: Progress) {}

/// A warmup of `warmup = "collect"` is one `--collect-only -q` pass of the same command, with no
/// junit file asked of it; it is never promoted to a counted run however close its time, and
/// says nothing of how long a run takes to `timeout = "auto"`.
#[test]
fn a_collect_warmup_is_one_collection_pass_that_never_counts() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "sleep 0.2\necho \"$*\" >> args.log\ncase \" $* \" in *' --collect-only '*) echo '3 tests collected'; exit 0 ;; esac\n{}",
        FAKE_PYTEST.trim_start_matches("#!/bin/sh\n")
    );
    fs::write(dir.path().join("fake_pytest"), script).unwrap();
    let s = SuiteSpec {
        warmup_collect: true,
        runs: 1,
        max_runs: Some(3),
        ..spec(dir.path(), "sh fake_pytest -q", Framework::Pytest)
    };
    let mut results = Vec::new();
    let record = run_suite_until(&s, &Control::default(), &mut quiet, &mut |_| true).unwrap();
    assert_eq!((record.warmup, record.runs), (1, 1), "{record:?}");
    let warm = &record.samples[0];
    assert!(
        warm.warmup && !warm.promoted && warm.counts.is_none(),
        "{warm:?}"
    );
    let args = fs::read_to_string(dir.path().join("args.log")).unwrap();
    let lines: Vec<&str> = args.lines().collect();
    assert_eq!(lines[0], "-q --collect-only -q");
    assert!(lines[1].starts_with("-q --junitxml="), "{args}");
    assert_eq!(lines.len(), 2, "{args}");
    // The counted run is the only one the auto timeout learns from.
    results.extend(record.samples.iter().map(|sample| RunResult {
        sample: sample.clone(),
        tests: Vec::new(),
        warnings: Vec::new(),
        extras: crate::measure::record::RunExtras::default(),
    }));
    assert_eq!(own_walls(&s, &results), vec![record.samples[1].wall]);
    let full = SuiteSpec {
        warmup_collect: false,
        ..spec(dir.path(), "true", Framework::Pytest)
    };
    assert_eq!(own_walls(&full, &results).len(), 2);
}

#[test]
fn a_command_suite_is_timed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(dir.path(), "sleep 0.1; echo done", Framework::Command);
    let mut events = Vec::new();
    let record = run_suite(&s, &Control::default(), &mut |p| events.push(p)).unwrap();
    assert_eq!(
        (record.warmup, record.runs, record.samples.len()),
        (1, 3, 4)
    );
    assert!(
        record.wall.median >= 0.1 && record.wall.median < 0.3,
        "{:?}",
        record.wall
    );
    assert_eq!(record.runs_green, 1.0);
    assert_eq!(record.metric("passed"), None);
    assert!(record.rss_peak_mb.is_some());
    // Each run's memory over time, in seconds and MiB, peaking at the run's peak.
    for sample in &record.samples {
        let memory = &sample.memory;
        assert!(!memory.is_empty(), "{sample:?}");
        assert!(memory.windows(2).all(|w| w[0][0] < w[1][0]), "{memory:?}");
        assert!(
            memory.iter().all(|p| p[0] <= sample.wall + 0.1),
            "{memory:?}"
        );
        let high = memory.iter().map(|p| p[1]).fold(0.0, f64::max);
        let peak = sample.rss_peak_mb.unwrap();
        assert!((high - peak).abs() <= 0.01, "{high} vs {peak}");
    }
    let kinds: Vec<(bool, u32, u32, bool)> = events
        .iter()
        .map(|p| (p.warmup, p.index, p.of, p.finished.is_some()))
        .collect();
    assert_eq!(kinds.len(), 8);
    assert_eq!(kinds[0], (true, 1, 1, false));
    assert_eq!(kinds[1], (true, 1, 1, true));
    assert_eq!(kinds[7], (false, 3, 3, true));
    assert!(events.windows(2).all(|w| w[0].elapsed <= w[1].elapsed));
    let log = dir.path().join("logs/baseline-run-2.log");
    assert_eq!(fs::read_to_string(log).unwrap(), "done\n");
    assert!(dir.path().join("logs/baseline-warmup-1.log").exists());
}

#[test]
fn a_pytest_suite_reads_junit_and_finds_the_flaky_test() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("fake_pytest"), FAKE_PYTEST).unwrap();
    let s = SuiteSpec {
        runs: 4,
        ..spec(dir.path(), "sh fake_pytest -q", Framework::Pytest)
    };
    let record = run_suite(&s, &Control::default(), &mut quiet).unwrap();
    // Counted runs are 2..=5: runs 2 and 4 fail.
    assert_eq!(record.flaky, vec!["tests.test_x::t_flip"]);
    assert_eq!((record.passed, record.failed, record.skipped), (1, 1, 1));
    assert_eq!(record.tests, 3);
    assert_eq!(record.runs_green, 0.5);
    assert_eq!(record.durations["tests.test_x::t_ok"], 0.2);
    assert_eq!(record.slowest, Some(0.2));
    assert_eq!(record.slowest_tests[0].id, "tests.test_x::t_ok");
    let codes: Vec<i32> = record.samples.iter().map(|s| s.exit_code).collect();
    assert_eq!(codes, [0, 1, 0, 1, 0]);
    assert_eq!(record.command, "sh fake_pytest -q");
    assert!(record.warnings.iter().any(|w| w.contains("flaky")));
}

#[test]
fn a_failing_run_is_recorded_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let record = run_suite(
        &spec(dir.path(), "exit 1", Framework::Command),
        &Control::default(),
        &mut quiet,
    )
    .unwrap();
    assert_eq!(record.runs_green, 0.0);
    assert!(record.samples.iter().all(|s| s.exit_code == 1));
}

#[test]
fn missing_junit_fails_with_the_last_output() {
    let dir = tempfile::tempdir().unwrap();
    let command = "for i in $(seq 1 30); do echo line $i; done; exit 4";
    let err = run_suite(
        &spec(dir.path(), command, Framework::Pytest),
        &Control::default(),
        &mut quiet,
    )
    .unwrap_err();
    assert!(
        matches!(&err, SuiteError::Junit { run, .. } if run == "warmup 1"),
        "{err}"
    );
    assert!(
        err.to_string().contains("the junit file was not written"),
        "{err}"
    );
    let tail = err.output();
    assert_eq!(tail.len(), TAIL_LINES);
    assert_eq!(tail.last().map(String::as_str), Some("line 30"));
}

#[test]
fn unparsable_junit_is_an_error_too() {
    let dir = tempfile::tempdir().unwrap();
    let script = "for a in \"$@\"; do case \"$a\" in --junitxml=*) out=\"${a#--junitxml=}\" ;; esac; done; echo '<html/>' > \"$out\"";
    fs::write(dir.path().join("bad"), script).unwrap();
    let err = run_suite(
        &spec(dir.path(), "sh bad", Framework::Pytest),
        &Control::default(),
        &mut quiet,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no <testsuite> element"), "{err}");
}

#[test]
fn timeout_cancel_and_zero_runs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SuiteSpec {
        timeout: Some(Duration::from_millis(100)),
        ..spec(dir.path(), "echo started; sleep 10", Framework::Command)
    };
    let err = run_suite(&slow, &Control::default(), &mut quiet).unwrap_err();
    assert!(matches!(err, SuiteError::TimedOut { .. }), "{err}");
    assert_eq!(err.output(), ["started"]);
    assert!(err.to_string().contains("timed out after 100ms"), "{err}");

    let control = Control::default();
    control.cancel.cancel();
    let err = run_suite(&slow, &control, &mut quiet).unwrap_err();
    assert!(matches!(err, SuiteError::Cancelled));

    let none = SuiteSpec {
        runs: 0,
        ..spec(dir.path(), "true", Framework::Command)
    };
    assert!(matches!(
        run_suite(&none, &Control::default(), &mut quiet),
        Err(SuiteError::NoRuns)
    ));
}

#[test]
fn env_reaches_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let s = SuiteSpec {
        env: vec![("CODE".to_string(), "3".to_string())],
        warmup: 0,
        runs: 1,
        ..spec(dir.path(), "exit $CODE", Framework::Command)
    };
    let record = run_suite(&s, &Control::default(), &mut quiet).unwrap();
    assert_eq!(record.samples[0].exit_code, 3);
}

#[test]
fn a_junit_file_with_duplicates_and_bad_times_gives_sane_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
cat > "$out" <<XML
<testsuites><testsuite tests="4"><testcase classname="m" name="a" time="-5.0"/><testcase classname="m" name="a" time="-5.0"/><testcase classname="m" name="b" time="NaN"/><testcase classname="m" name="c" time="0.25"/></testsuite></testsuites>
XML
"#;
    fs::write(dir.path().join("fake_pytest"), script).unwrap();
    let s = SuiteSpec {
        warmup: 0,
        runs: 1,
        ..spec(dir.path(), "sh fake_pytest", Framework::Pytest)
    };
    let record = run_suite(&s, &Control::default(), &mut quiet).unwrap();
    assert_eq!((record.tests, record.passed), (3, 3));
    assert_eq!(record.slowest, Some(0.25));
    assert!(record.durations.values().all(|t| *t >= 0.0));
    let joined = record.warnings.join("\n");
    assert!(joined.contains("more than once"), "{joined}");
    assert!(joined.contains("non-finite"), "{joined}");
}

#[test]
fn junit_files_go_under_the_junit_dir_and_are_removed_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
echo "$out" >> seen
echo '<testsuite><testcase classname="m" name="a"/></testsuite>' > "$out"
"#;
    fs::write(dir.path().join("fake_pytest"), script).unwrap();
    let s = SuiteSpec {
        warmup: 0,
        runs: 2,
        ..spec(dir.path(), "sh fake_pytest", Framework::Pytest)
    };
    run_suite(&s, &Control::default(), &mut quiet).unwrap();
    let seen = fs::read_to_string(dir.path().join("seen")).unwrap();
    let paths: Vec<&Path> = seen.lines().map(Path::new).collect();
    assert_eq!(paths.len(), 2);
    let junit_dir = fs::canonicalize(dir.path().join("junit")).unwrap();
    for path in &paths {
        assert!(path.is_absolute(), "{path:?}");
        let parent = path.parent().and_then(Path::parent).unwrap();
        assert_eq!(fs::canonicalize(parent).unwrap(), junit_dir);
        assert!(!path.exists(), "{path:?} was left behind");
    }
    let name = paths[0].parent().unwrap().file_name().unwrap();
    assert!(
        name.to_string_lossy().starts_with("baseline-run-1-"),
        "{name:?}"
    );
    assert_eq!(fs::read_dir(&junit_dir).unwrap().count(), 0);
}

#[test]
fn a_junit_dir_planted_as_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("junit")).unwrap();
    let s = spec(dir.path(), "true", Framework::Pytest);
    let err = run_suite(&s, &Control::default(), &mut quiet).unwrap_err();
    assert!(err.to_string().contains("junit"), "{err}");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn stale_junit_dirs_of_other_runs_are_removed_and_links_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let outside = dir.path().join("outside");
    fs::create_dir_all(outside.join("keep")).unwrap();
    fs::write(outside.join("keep/junit.xml"), "mine").unwrap();
    for run in ["killed", "current"] {
        let junit = junit_dir(&runs.join(run)).join("baseline-run-1-x");
        fs::create_dir_all(&junit).unwrap();
        fs::write(junit.join("junit.xml"), "<testsuite/>").unwrap();
        fs::write(runs.join(run).join("journal"), "kept").unwrap();
    }
    fs::create_dir_all(runs.join("linked")).unwrap();
    std::os::unix::fs::symlink(&outside, junit_dir(&runs.join("linked"))).unwrap();
    fs::write(runs.join("not-a-run"), "file").unwrap();

    let removed = clean_stale_junit(&runs, &runs.join("current"));
    assert_eq!(removed, vec![junit_dir(&runs.join("killed"))]);
    assert!(!junit_dir(&runs.join("killed")).exists());
    assert!(runs.join("killed/journal").exists(), "only junit/ goes");
    assert!(runs
        .join("current/junit/baseline-run-1-x/junit.xml")
        .exists());
    assert_eq!(
        fs::read_to_string(outside.join("keep/junit.xml")).unwrap(),
        "mine"
    );
    assert!(clean_stale_junit(&dir.path().join("missing"), &runs).is_empty());
}

/// An adaptive suite asks after each counted run from `runs` on and stops when told; it never
/// goes past `max_runs`; `max_time` stops it too.
#[test]
fn an_adaptive_suite_runs_until_enough_or_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let s = SuiteSpec {
        warmup: 0,
        runs: 2,
        max_runs: Some(6),
        ..spec(dir.path(), "true", Framework::Command)
    };
    let mut asked = Vec::new();
    let record = run_suite_until(&s, &Control::default(), &mut quiet, &mut |r| {
        asked.push(r.runs);
        r.runs >= 4
    })
    .unwrap();
    assert_eq!((record.runs, asked), (4, vec![2, 3, 4]));
    let never = run_suite_until(&s, &Control::default(), &mut quiet, &mut |_| false).unwrap();
    assert_eq!(never.runs, 6);
    let timed = SuiteSpec {
        max_time: Some(Duration::ZERO),
        ..s.clone()
    };
    let stopped = run_suite_until(&timed, &Control::default(), &mut quiet, &mut |_| false).unwrap();
    assert_eq!(stopped.runs, 2);
}

#[test]
fn a_warmup_counts_unless_it_is_an_outlier() {
    assert!(counts_as_run(10.4, &[10.0]));
    assert!(!counts_as_run(12.0, &[10.0]), "20% slower: cold caches");
    assert!(counts_as_run(10.05, &[10.0, 10.1, 9.9]));
    assert!(
        !counts_as_run(10.9, &[10.0, 10.001, 10.002]),
        "far beyond the runs' spread"
    );
    assert!(!counts_as_run(1.0, &[]));
}

#[test]
fn the_auto_timeout_follows_the_slowest_run_so_far() {
    let rule = AutoTimeout::new(Some(10.0));
    assert_eq!(
        auto_timeout(rule, &[]),
        (Duration::from_secs(90), Some(10.0))
    );
    assert_eq!(
        auto_timeout(rule, &[20.0, 5.0]),
        (Duration::from_secs(120), Some(20.0))
    );
    assert_eq!(
        auto_timeout(AutoTimeout::new(None), &[]),
        (AUTO_TIMEOUT_FIRST, None)
    );
}

/// A run past the auto limit is a result, not a step failure: recorded with an error, the
/// suite takes no more runs, and the warning says how long and why.
#[test]
fn a_run_past_the_auto_timeout_is_recorded_as_a_run_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // The first run is quick; the second one hangs until its limit (3 x quick + 0.3 s) ends it.
    fs::write(
        dir.path().join("hang_second"),
        "if [ -f ran ]; then echo stuck; sleep 30; else touch ran; fi\n",
    )
    .unwrap();
    let s = SuiteSpec {
        warmup: 0,
        runs: 3,
        auto_timeout: Some(AutoTimeout {
            earlier_slowest: None,
            margin: Duration::from_millis(300),
            first: Duration::from_secs(20),
        }),
        ..spec(dir.path(), "sh hang_second", Framework::Command)
    };
    let record = run_suite(&s, &Control::default(), &mut quiet).unwrap();
    assert_eq!((record.runs, record.errors), (2, 1));
    assert!(record.runs_green < 1.0);
    let warning = record
        .warnings
        .iter()
        .find(|w| w.contains("timed out"))
        .unwrap_or_else(|| panic!("{:?}", record.warnings));
    assert!(
        warning.starts_with("run 2 of `sh hang_second` timed out after"),
        "{warning}"
    );
    assert!(warning.contains("3x the slowest run so far"), "{warning}");
    assert!(
        record.warnings.iter().any(|w| w.contains("stuck")),
        "{:?}",
        record.warnings
    );
}
