use super::*;
use crate::suggest::profile::{
    CoverageUse, DjangoUse, FixtureTiming, SharedFile, SqliteUse, TestTiming,
};

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
            cpu: None,
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
        ..Profile::default()
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

/// On one CPU two workers of CPU-bound tests only take turns: no speed-up is predicted, and
/// little to gain is said; tests that mostly sleep still gain.
#[test]
fn one_cpu_gains_nothing_from_workers_unless_the_tests_sleep() {
    let mut p = profile(40, 0.5, 1.0);
    let a = analyze(&p, 1);
    assert!(a.parallel[0].mid > p.wall, "{:?}", a.parallel);
    assert!(a.little_to_gain, "{:?}", a.opportunities);
    p.sched = Some(crate::suggest::profile::Sched {
        cpu: 2.0,
        wait: 0.0,
        elapsed: 20.0,
    });
    let a = analyze(&p, 1);
    assert!(a.parallel[0].mid < p.wall * 0.7, "{:?}", a.parallel);
    assert_eq!(a.opportunities[0].kind, Kind::ParallelWorkers);
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
    let s = serial(&p, 2);
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

/// A suite under pytest-cov whose second run without coverage took `without` seconds.
fn covered(p: &mut Profile, python: (u32, u32), without: f64, branch: bool) {
    p.python = Some(python);
    p.coverage = Some(CoverageUse {
        tracer: "CTracer".into(),
        config_file: Some("setup.cfg".into()),
        branch,
        pytest_cov: true,
    });
    p.reverse_wall = Some(without);
    p.reverse_without_coverage = true;
}

/// On Python 3.12 coverage's measured cost becomes an opportunity: its share of the cost saved,
/// widened by the noise assumed for a second run that could not show it.
#[test]
fn coverage_cost_on_python_3_12_is_an_opportunity() {
    // 20 tests of 0.2 s: two workers would save little next to coverage's 6 s.
    let mut p = profile(20, 0.2, 6.0);
    let wall = p.wall;
    covered(&mut p, (3, 12), wall - 6.0, false);
    assert!((p.coverage_overhead().unwrap() - 6.0).abs() < 1e-9);
    assert!((p.noise() - crate::suggest::profile::ASSUMED_NOISE).abs() < 1e-12);
    let a = analyze(&p, 1);
    let cov = a
        .opportunities
        .iter()
        .find(|o| o.kind == Kind::Coverage)
        .expect("a coverage opportunity");
    let spread = 0.1 * wall;
    assert!(
        (cov.saving.mid - 6.0 * 0.6).abs() < 1e-9,
        "{:?}",
        cov.saving
    );
    assert!((cov.saving.low - (6.0 - spread) * 0.3).abs() < 1e-9);
    assert!((cov.saving.high - (6.0 + spread) * 0.9).abs() < 1e-9);
    assert!(
        cov.evidence[0].contains("costs 6.00 s"),
        "{:?}",
        cov.evidence
    );
    assert_eq!(
        cov.steps[1],
        "ini: [coverage:run] of setup.cfg: core = \"sysmon\""
    );
    assert!(a.notes.is_empty(), "{:?}", a.notes);
}

/// The same suite on Python 3.11, or with branch coverage on 3.12: no opportunity, and a note
/// that says why sysmon does not apply.
#[test]
fn coverage_on_older_pythons_or_with_branches_is_a_note() {
    let mut p = profile(20, 0.2, 6.0);
    let wall = p.wall;
    covered(&mut p, (3, 11), wall - 6.0, false);
    let a = analyze(&p, 1);
    assert!(a.opportunities.iter().all(|o| o.kind != Kind::Coverage));
    assert_eq!(a.notes.len(), 1);
    assert!(
        a.notes[0].contains("COVERAGE_CORE=sysmon does not apply on Python 3.11: sys.monitoring needs Python 3.12 or later"),
        "{}",
        a.notes[0]
    );
    covered(&mut p, (3, 12), wall - 6.0, true);
    let a = analyze(&p, 1);
    assert!(a.opportunities.iter().all(|o| o.kind != Kind::Coverage));
    assert!(a.notes[0].contains("does not apply to branch coverage on Python 3.12"));
    // A cost within the noise predicts nothing, and says so.
    covered(&mut p, (3, 12), wall - 0.5, false);
    let a = analyze(&p, 1);
    assert!(a.opportunities.iter().all(|o| o.kind != Kind::Coverage));
    assert!(
        a.notes[0].contains("costs 0.50 s, 5% of the run")
            && a.notes[0].contains("within the machine's noise"),
        "{}",
        a.notes[0]
    );
    // Already on sys.monitoring: nothing to change.
    p.coverage.as_mut().unwrap().tracer = "SysMonitor".into();
    assert!(analyze(&p, 1).notes[0].contains("already uses sys.monitoring"));
}

#[test]
fn the_coverage_setting_goes_where_coverage_reads_it() {
    use crate::suggest::coverage::{config_target, ConfigTarget};
    let ini = |p: &str, s: &'static str| Some(ConfigTarget::Ini(p.into(), s));
    assert_eq!(config_target(None), ini(".coveragerc", "run"));
    assert_eq!(
        config_target(Some(".coveragerc")),
        ini(".coveragerc", "run")
    );
    assert_eq!(
        config_target(Some("tox.ini")),
        ini("tox.ini", "coverage:run")
    );
    assert_eq!(
        config_target(Some("pyproject.toml")),
        Some(ConfigTarget::Toml("pyproject.toml".into()))
    );
    assert_eq!(config_target(Some("/etc/coveragerc")), None);
    assert_eq!(config_target(Some("../other/.coveragerc")), None);
}

/// Five slow tests among 45 instant ones: markers, ranked after what makes the suite faster,
/// and not enough on their own to call the suite worth a change.
#[test]
fn a_few_slow_tests_give_markers() {
    let mut p = profile(50, 0.01, 0.5);
    for t in p.tests.iter_mut().take(5) {
        t.call = 2.0;
    }
    p.wall = 0.5 + p.test_seconds();
    let a = analyze(&p, 2);
    let m = a
        .opportunities
        .iter()
        .find(|o| o.kind == Kind::Markers)
        .expect("markers");
    assert!(m.title.contains("run the 45 fast ones"), "{}", m.title);
    let slow: f64 = p.tests.iter().take(5).map(|t| t.total()).sum();
    assert!((m.saving.mid - slow).abs() < 1e-9);
    assert!(m.saving.low <= m.saving.mid && m.saving.mid <= m.saving.high);
    assert!(
        m.evidence[0].starts_with("5 of 50 tests take"),
        "{:?}",
        m.evidence
    );
    // Ranked after what makes the suite faster, and no such change on its own.
    assert_eq!(a.opportunities[0].kind, Kind::ParallelWorkers);
    assert_eq!(a.opportunities.last().unwrap().kind, Kind::Markers);
    assert!(!a.little_to_gain);
    p.already_parallel = true;
    let a = analyze(&p, 2);
    assert_eq!(a.opportunities.len(), 1);
    assert!(a.little_to_gain, "markers do not make the suite faster");
    // Every test slow: no fast profile to run.
    let all = profile(50, 2.0, 0.5);
    assert!(crate::suggest::tiers::markers(&all).is_none());
}

/// pytest-django building its database in a third of the run, without --reuse-db.
#[test]
fn a_django_database_built_each_run_is_a_fixture_opportunity() {
    let mut p = profile(20, 0.1, 1.0);
    // The first test that needs the database builds it.
    p.tests[0].setup += 4.0;
    p.tests[0].session_setup = 4.0;
    p.wall += 4.0;
    p.django = Some(DjangoUse {
        reuse_db: false,
        nomigrations: true,
    });
    p.fixtures.push(FixtureTiming {
        scope: "session".into(),
        ..fixture("django_db_setup", 1, 4.0)
    });
    let a = analyze(&p, 1);
    let d = &a.opportunities[0];
    assert_eq!((d.kind, d.shape), (Kind::FixtureScope, Some(Shape::Django)));
    assert!(d.title.ends_with("(--reuse-db)"), "{}", d.title);
    assert!((d.saving.mid - 3.2).abs() < 1e-9);
    assert_eq!(d.steps[0], "pytest-config: addopts += --reuse-db");
    p.django = Some(DjangoUse {
        reuse_db: true,
        nomigrations: true,
    });
    assert!(analyze(&p, 1).opportunities.is_empty());
}

/// A fixture that creates a SQLAlchemy engine per test: its shape and the seed's recipe.
#[test]
fn an_engine_per_test_is_the_sqlalchemy_shape() {
    let mut p = profile(30, 0.2, 1.0);
    p.fixtures.push(fixture("session", 30, 5.0));
    p.sqlalchemy.insert("session".into(), 30);
    let a = analyze(&p, 1);
    let o = &a.opportunities[0];
    assert_eq!(o.shape, Some(Shape::SqlalchemyEngine));
    assert!(o.evidence[1].contains("30 engines"), "{:?}", o.evidence);
    assert!(o.steps[0].contains("join_transaction_mode=\"create_savepoint\""));
}

/// An engine per test whose tests connect to PostgreSQL is the backend demo's shape: named with
/// its share and the backend pattern's remedy, saving all but a few percent of its rebuilds.
#[test]
fn an_engine_per_test_on_postgres_is_the_backend_shape() {
    let mut p = profile(30, 0.2, 1.0);
    p.fixtures.push(fixture("engine", 30, 5.0));
    p.sqlalchemy.insert("engine".into(), 30);
    p.postgres = p.tests.iter().map(|t| (t.id.clone(), 1)).collect();
    let a = analyze(&p, 1);
    let o = &a.opportunities[0];
    assert_eq!(
        (o.shape, o.fixture.as_deref()),
        (Some(Shape::Postgres), Some("engine"))
    );
    assert!((o.share.unwrap() - 5.0 / 7.0).abs() < 1e-9);
    assert!(
        o.evidence[1].contains("30 engines) and 30 test(s) connect to PostgreSQL"),
        "{:?}",
        o.evidence
    );
    assert!(o.steps[0].contains("each test in a transaction rolled back"));
    assert!((o.saving.mid - 5.0 * (29.0 / 30.0) * FIXTURE_KEPT_POSTGRES).abs() < 1e-9);
}
