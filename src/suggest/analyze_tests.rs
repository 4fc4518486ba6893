use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::suggest::profile::{FixtureTiming, SharedFile, SqliteUse, TestTiming};

/// A profile of `n` tests of `each` seconds in two files, `overhead` seconds around them.
fn profile(n: usize, each: f64, overhead: f64) -> Profile {
    let tests: Vec<TestTiming> = (0..n)
        .map(|i| TestTiming {
            id: format!("tests/test_{}.py::t{i}", i % 2),
            setup: each * 0.9,
            call: each * 0.1,
            teardown: 0.0,
            outcome: "passed".into(),
            session_setup: 0.0,
        })
        .collect();
    Profile {
        command: "python -m pytest".into(),
        wall: overhead + each * n as f64,
        cpu: 1.0,
        cores: 2,
        collected: n as u64,
        passed: n as u64,
        failed: 0,
        skipped: 0,
        errors: 0,
        collection: 0.1,
        tests,
        fixtures: Vec::new(),
        sqlite: Vec::new(),
        tmp_created: BTreeMap::new(),
        postgres: BTreeMap::new(),
        shared_files: Vec::new(),
        log: PathBuf::new(),
        reverse_wall: None,
        order_dependent: Vec::new(),
        xdist_startup: Vec::new(),
        already_parallel: false,
    }
}

fn fixture(name: &str, count: u64, seconds: f64) -> FixtureTiming {
    FixtureTiming {
        name: name.into(),
        scope: "function".into(),
        defined_in: "tests".into(),
        count,
        seconds,
    }
}

/// The persistence demo's shape: a per-test SQLite file fixture that is 90% of the run comes
/// first, ahead of parallel workers on two cores, with its share and the seed's shape.
#[test]
fn the_expensive_database_fixture_ranks_first() {
    let mut p = profile(100, 0.2, 1.0);
    p.fixtures.push(fixture("manager", 100, 18.0));
    p.fixtures.push(fixture("tmp_path", 3, 0.01));
    p.sqlite = (0..100)
        .map(|i| SqliteUse {
            path: format!("/tmp/db-{i}.db"),
            tests: vec![format!("tests/test_{}.py::t{i}", i % 2)],
            fixtures: vec!["manager".into()],
        })
        .collect();
    let a = analyze(&p, 2);
    assert!(!a.little_to_gain);
    let top = &a.opportunities[0];
    assert_eq!(top.kind, Kind::FixtureScope);
    assert_eq!(top.fixture.as_deref(), Some("manager"));
    assert_eq!(top.shape, Some(Shape::SqliteFile));
    assert!((top.share.unwrap() - 18.0 / 21.0).abs() < 1e-9);
    // 99 of 100 builds saved: the estimate keeps what a page copy leaves, the pessimistic end
    // half; the optimistic end is all the time of the tests that used it (0.2 s each, their
    // bodies against a file database included) but one build.
    assert!((top.saving.mid - 18.0 * 0.99 * FIXTURE_KEPT_SQLITE).abs() < 1e-9);
    assert!((top.saving.low - 18.0 * 0.99 * 0.5).abs() < 1e-9);
    assert!(
        (top.saving.high - (100.0 * 0.2 - 0.18)).abs() < 1e-9,
        "{:?}",
        top.saving
    );
    assert_eq!(a.opportunities[1].kind, Kind::ParallelWorkers);
    assert!(a.opportunities[1].saving.mid < top.saving.mid);
    assert!(a.risks.is_empty(), "{:?}", a.risks);
}

/// A second of tests in half a second of start-up: two workers would not pay for themselves.
#[test]
fn a_fast_suite_has_little_to_gain() {
    let p = profile(20, 0.01, 0.5);
    let a = analyze(&p, 2);
    assert!(a.little_to_gain, "{:?}", a.opportunities);
    assert!(a.opportunities.is_empty());
    // The prediction is still there, and slower than the run it was made from.
    assert!(a.parallel[0].mid > p.wall);
}

/// Many equal tests and no expensive fixture: parallel workers, with the workers' figures.
#[test]
fn a_long_suite_of_equal_tests_goes_parallel() {
    let p = profile(40, 0.5, 1.0);
    let a = analyze(&p, 4);
    let top = &a.opportunities[0];
    assert_eq!(top.kind, Kind::ParallelWorkers);
    let w = top.workers.unwrap();
    assert_eq!(w.workers, 4);
    assert!(top.saving.low < top.saving.mid && top.saving.mid < top.saving.high);
    assert_eq!(a.parallel.len(), 3);
    assert!(top.saving.speedup_low(p.wall) > 1.0);
}

#[test]
fn shared_files_sqlite_paths_and_postgres_are_risks() {
    let mut p = profile(10, 0.01, 0.5);
    p.shared_files.push(SharedFile {
        path: ".cache/common_paths.json".into(),
        writers: vec!["a".into(), "b".into()],
        tests: vec!["a".into(), "b".into(), "c".into()],
    });
    p.sqlite.push(SqliteUse {
        path: "/srv/app.db".into(),
        tests: vec!["a".into(), "b".into()],
        fixtures: Vec::new(),
    });
    p.postgres.insert("a".into(), 2);
    let a = analyze(&p, 2);
    let messages: Vec<&str> = a.risks.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with("`.cache/common_paths.json` is written by 2 test(s) and used by 3")
    );
    assert!(messages[1].contains("/srv/app.db"));
    assert!(messages[2].contains("PostgreSQL"));
}

#[test]
fn ranking_puts_the_larger_estimate_then_the_surer_first() {
    let o = |mid: f64, low: f64| Opportunity {
        kind: Kind::Collection,
        title: format!("{mid}/{low}"),
        evidence: Vec::new(),
        saving: Saving {
            low,
            mid,
            high: mid * 2.0,
        },
        steps: Vec::new(),
        fixture: None,
        share: None,
        shape: None,
        workers: None,
    };
    let mut all = vec![o(1.0, 0.5), o(3.0, 1.0), o(3.0, 2.0), o(2.0, 0.1)];
    rank(&mut all);
    let titles: Vec<&str> = all.iter().map(|o| o.title.as_str()).collect();
    assert_eq!(titles, ["3/2", "3/1", "2/0.1", "1/0.5"]);
    assert!(worth_it(o(1.0, 0.0).saving, 5.0));
    assert!(!worth_it(o(0.4, 0.0).saving, 2.0));
    assert!(!worth_it(o(1.0, 0.0).saving, 20.0));
}

/// A session fixture that the first test happened to build is counted once per worker, not
/// also as that test's own time (xdist13's 3 s service wait).
#[test]
fn a_session_fixture_is_not_the_first_tests_own_time() {
    let mut p = profile(10, 0.3, 1.0);
    p.tests[0].setup += 3.0;
    p.tests[0].session_setup = 3.0;
    p.wall += 3.0;
    p.fixtures.push(FixtureTiming {
        scope: "session".into(),
        ..fixture("service", 1, 3.0)
    });
    let s = serial(&p);
    assert!((s.session_fixtures - 3.0).abs() < 1e-9);
    assert!(
        s.tests.iter().all(|t| (t.1 - 0.3).abs() < 1e-9),
        "{:?}",
        s.tests
    );
    // 0.9 s start-up for the controller and again for the workers, 0.1 s collection, 3 s
    // service, xdist, 5 tests of 0.3 s on each worker.
    let two = crate::suggest::parallel::predict(&s, 2, crate::suggest::parallel::Dist::Load);
    let expected = 1.8 + 0.1 + 3.0 + crate::suggest::parallel::XDIST_SPAWN + 1.5 * 1.05;
    assert!((two.mid - expected).abs() < 1e-9, "{two:?}");
}

#[test]
fn a_suite_already_on_xdist_gets_no_parallel_prediction() {
    let mut p = profile(40, 0.5, 1.0);
    p.already_parallel = true;
    let a = analyze(&p, 4);
    assert!(a.parallel.is_empty());
    assert!(a
        .opportunities
        .iter()
        .all(|o| o.kind != Kind::ParallelWorkers));
    assert!(a.risks[0]
        .message
        .starts_with("the suite already runs on pytest-xdist workers"));
}
