use super::*;
use crate::measure::junit::Counts;
use crate::measure::record::{CollectionError, RunSample, TestFailure, TestSet};

fn record(executed: &[&str], failing: &[&str], exit_code: i32) -> Record {
    let mut r = crate::report::fixture::record();
    r.runs = 1;
    r.passed = (executed.len() - failing.len()) as u64;
    r.failed = failing.len() as u64;
    r.failures = failing
        .iter()
        .map(|id| TestFailure {
            id: id.to_string(),
            outcome: Outcome::Failed,
            runs: 1,
            ..TestFailure::default()
        })
        .collect();
    r.test_set = Some(TestSet {
        executed: executed.iter().map(|s| s.to_string()).collect(),
        ..TestSet::default()
    });
    r.samples = vec![RunSample {
        warmup: false,
        pair: None,
        promoted: false,
        wall: 1.0,
        cpu_user: 1.0,
        cpu_system: 0.0,
        rss_peak_mb: None,
        status: crate::process::Status::Exited(exit_code),
        exit_code,
        counts: Some(Counts::default()),
        log: "x.log".into(),
        memory: Vec::new(),
    }];
    r
}

#[test]
fn a_green_baseline_passes_and_known_failures_are_taken() {
    let green = record(&["t::a", "t::b"], &[], 0);
    assert_eq!(check("m", "baseline", &green, Known::default()), Ok(vec![]));
    let one = record(&["t::a", "t::b"], &["t::b"], 1);
    let refused = check("m", "baseline", &one, Known::default()).unwrap_err();
    assert_eq!(
        refused.problems,
        ["1 failing test not declared known: t::b"]
    );
    assert!(!refused.broken);
    let message = refused.message();
    assert!(
        message.contains("`known_failures = [\"t::b\"]` on step `m`"),
        "{message}"
    );
    let known = Known {
        patterns: &["t::*"],
        accept_all: false,
    };
    assert_eq!(check("m", "baseline", &one, known), Ok(vec!["t::b".into()]));
    let all = Known {
        patterns: &[],
        accept_all: true,
    };
    assert_eq!(check("m", "baseline", &one, all), Ok(vec!["t::b".into()]));
}

#[test]
fn a_suite_that_runs_nothing_or_passes_nothing_is_refused_whatever_is_known() {
    let all = Known {
        patterns: &[],
        accept_all: true,
    };
    let empty = record(&[], &[], 5);
    let r = check("m", "baseline", &empty, all).unwrap_err();
    assert_eq!(
        r.problems,
        ["pytest exited 5 (no tests were collected)", "no test ran"]
    );
    assert!(r.broken && r.message().contains("fix the suite so that it collects"));
    let red = record(&["t::a", "t::b"], &["t::a", "t::b"], 1);
    let r = check("m", "baseline", &red, all).unwrap_err();
    assert_eq!(r.problems, ["no test passed: 2 ran, 2 failed, 0 errors"]);
    let mut broken = record(&["t::a"], &[], 2);
    broken.errors = 1;
    broken.test_set.as_mut().unwrap().collection_errors = vec![CollectionError {
        id: "tests.test_bad".into(),
        summary:
            "ImportError while importing test module (ModuleNotFoundError: No module named 'x')"
                .into(),
    }];
    let r = check("m", "baseline", &broken, all).unwrap_err();
    assert_eq!(
        r.problems[0],
        "1 collection error: `tests.test_bad`: ImportError while importing test module (ModuleNotFoundError: No module named 'x')"
    );
    assert!(
        r.problems[1].starts_with("pytest exited 2"),
        "{:?}",
        r.problems
    );
}

#[test]
fn command_suites_and_long_failure_lists() {
    let mut command = record(&[], &[], 0);
    command.framework = Framework::Command;
    assert_eq!(check("m", "b", &command, Known::default()), Ok(vec![]));
    let ids: Vec<String> = (0..12).map(|i| format!("t::{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut executed = refs.clone();
    executed.push("t::ok");
    let many = record(&executed, &refs, 1);
    let r = check("m", "b", &many, Known::default()).unwrap_err();
    assert!(r.problems[0].ends_with("and 4 more"), "{:?}", r.problems);
}
