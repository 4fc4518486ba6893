//! `planrun suggest` on real suites: the persistence demo's database fixture named first and
//! its plan applied, the locator demo's shared cache reported as a risk, a fast suite left
//! alone, a real project's suite from its PyPI sdist, coverage's cost measured, and bad input
//! refused with a clear error.

use std::ffi::OsString;

use serde_json::Value;

use crate::support::{exclusive as heavy, python, Output, Project, Test};

/// `planrun suggest --target <copy> --var python=<shared venv> <extra...>`.
fn suggest<'a>(project: &'a Project, extra: &[&str]) -> Test<'a> {
    let mut args: Vec<OsString> = vec![
        "suggest".into(),
        "--target".into(),
        project.path().into(),
        "--var".into(),
        format!("python={}", python().display()).into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    project.test().args(args)
}

/// The persistence demo with only its session tests (17 tests), so that a real profile, a
/// real apply and its runs take seconds rather than minutes.
fn small_persistence() -> Project {
    let project = Project::new("persistence-demo");
    for file in [
        "test_containers",
        "test_images",
        "test_lifecycle",
        "test_migrations",
        "test_operations",
        "test_ports",
    ] {
        std::fs::remove_file(project.join(format!("tests/{file}.py"))).unwrap();
    }
    project
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("suggest --json printed no JSON ({e})\n{}", out.all()))
}

/// The database fixture comes first with its share of the run and the seed's shape; the plan
/// written from it validates, and `planrun apply` verifies it: every gate passes.
#[test]
fn persistence_database_fixture_comes_first_and_its_plan_applies() {
    let _heavy = heavy();
    let project = small_persistence();
    let plans = tempfile::tempdir().unwrap();
    let plan = plans.path().join("suggested.toml");
    let out = suggest(&project, &["--json", "--write", plan.to_str().unwrap()])
        .stdout_unchecked("measured figures vary; parsed below")
        .stderr_contains("wrote ")
        .stderr_contains("(from bundled plan `persistence-demo`, for opportunity 1)")
        .run();
    let report = json(&out);
    let top = &report["opportunities"][0];
    assert_eq!(top["kind"], "fixture-scope", "{report:#}");
    assert_eq!(top["fixture"], "manager", "{report:#}");
    assert_eq!(top["shape"], "sqlite-file", "{report:#}");
    let share = top["share"].as_f64().unwrap();
    assert!(share > 0.5 && share < 1.0, "manager's share: {share}");
    let saving = &top["saving"];
    let (low, mid, high) = (
        saving["low"].as_f64().unwrap(),
        saving["mid"].as_f64().unwrap(),
        saving["high"].as_f64().unwrap(),
    );
    assert!(0.0 < low && low < mid && mid < high, "{saving}");
    assert_eq!(report["little_to_gain"], false);
    assert_eq!(report["plan_from"], "persistence-demo");
    assert_eq!(report["profile"]["tests"], 17);
    // The fixture's evidence names what was seen: one SQLite file per set-up.
    let evidence = top["evidence"].to_string();
    assert!(evidence.contains("17 database files"), "{evidence}");
    // The plugin measured the tests' CPU: the estimate is the in-memory one (their waits on the
    // database file go, their CPU stays).
    assert!(
        evidence.contains("waiting on the database file"),
        "{evidence}"
    );
    assert!(plans
        .path()
        .join("templates/persistence/conftest.py")
        .is_file());
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.starts_with("# Written by `planrun suggest` from bundled plan `persistence-demo`"));
    assert!(
        text.contains("check = \"after.wall.median <= baseline.wall.median * 0."),
        "the gate derived from the prediction\n{text}"
    );
    Test::new()
        .args([OsString::from("validate"), plan.clone().into()])
        .stdout_contains(": ok")
        .run();
    let before = project.hash_tree();
    project
        .test()
        .args([
            OsString::from("apply"),
            plan.clone().into(),
            "--target".into(),
            project.path().into(),
        ])
        .stdout_unchecked("the apply's report")
        .stderr_contains("gates passed")
        .stderr_contains("; exit 0")
        .run();
    assert_ne!(project.hash_tree(), before, "the apply kept its change");
}

/// The locator demo is fast, and its ServiceLocator's on-disk cache is one fixed file that many
/// tests write: a risk for parallel workers, reported whatever the verdict on speed.
#[test]
fn locator_shared_cache_is_an_xdist_risk() {
    let project = Project::new("locator-demo");
    let out = suggest(&project, &[])
        .stdout_contains("\nrisks:\n  - `.cache/common_paths.json` is written by 16 test(s) and used by 16: pytest-xdist workers would share it (key it by PYTEST_XDIST_WORKER, as the locator demo's fix does)\n")
        .stdout_contains("parallel workers, predicted wall (serial ")
        .stderr_contains("profiling the suite of ")
        .run();
    assert!(out.stdout.starts_with("profiled `"), "{}", out.stdout);
    let report = json(
        &suggest(&project, &["--json"])
            .stdout_unchecked("parsed")
            .stderr_unchecked("progress")
            .run(),
    );
    let risks = report["risks"].as_array().unwrap();
    assert_eq!(risks.len(), 1, "{report:#}");
    assert_eq!(risks[0]["kind"], "parallel-workers");
    assert!(!report["parallel"].as_array().unwrap().is_empty());
}

/// A handful of instant tests: nothing pays for itself, and --write writes nothing.
#[test]
fn a_fast_suite_has_little_to_gain_and_gets_no_plan() {
    let project = crate::support::mini();
    let plans = tempfile::tempdir().unwrap();
    let plan = plans.path().join("p.toml");
    let out = suggest(&project, &["--write", plan.to_str().unwrap()])
        .stdout_contains("\nlittle to gain: no change is predicted to save 10% of the run and 0.5 s; the suite is already fast for what it does\n")
        .stderr_contains("note: wrote no plan: there is little to gain")
        .run();
    assert!(!out.stdout.contains("opportunities,"), "{}", out.stdout);
    assert!(!plan.exists());
    let report = json(
        &suggest(&project, &["--json"])
            .stdout_unchecked("parsed")
            .stderr_unchecked("progress")
            .run(),
    );
    assert_eq!(report["little_to_gain"], true);
    assert_eq!(report["opportunities"], Value::Array(Vec::new()));
    assert_eq!(report["plan"], Value::Null);
    sched_and_reports(&report["profile"]);
}

/// The profile counts every report (what xdist's workers would send their controller: setup,
/// call and teardown of a test that ran, two of one skipped at setup) and, on Linux, says how
/// the scheduler treated the tests' process: time on a CPU and waiting for one, no more than
/// the time that passed.
fn sched_and_reports(profile: &Value) {
    let tests = profile["tests"].as_u64().unwrap();
    let reports = profile["reports"].as_u64().unwrap();
    assert!(
        tests > 0 && (2 * tests..=3 * tests).contains(&reports),
        "{profile:#}"
    );
    if cfg!(target_os = "linux") {
        let s = &profile["sched"];
        let f = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{profile:#}"));
        assert!(f("cpu") > 0.0 && f("wait") >= 0.0, "{profile:#}");
        assert!(
            f("cpu") + f("wait") <= f("elapsed") * 1.05 + 0.01,
            "{profile:#}"
        );
    }
}

#[test]
fn a_missing_target_is_refused() {
    Test::new()
        .args(["suggest", "--target", "no/such/dir"])
        .status(2)
        .stderr_contains("error: target `no/such/dir` is not a directory")
        .stderr_contains("pass an existing repository with --target DIR")
        .run();
}

#[test]
fn a_target_without_python_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "no code here\n").unwrap();
    Test::new()
        .args([
            OsString::from("suggest"),
            "--target".into(),
            dir.path().into(),
        ])
        .redact(dir.path().display().to_string(), "[DIR]")
        .status(2)
        .stderr_contains("error: target `[DIR]` has no Python files")
        .run();
}

/// A fresh venv of the shared one's interpreter, without pytest.
#[test]
fn an_interpreter_without_pytest_is_refused() {
    let project = crate::support::mini();
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new(python())
        .args(["-m", "venv", "--without-pip"])
        .arg(dir.path().join("venv"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "python -m venv");
    project
        .test()
        .args([
            OsString::from("suggest"),
            "--var".into(),
            format!("python={}", dir.path().join("venv/bin/python").display()).into(),
        ])
        .redact(dir.path().display().to_string(), "[VENV]")
        .status(2)
        .stderr_contains("error: `[VENV]/venv/bin/python` (--var python) cannot import pytest")
        .stderr_contains("pass --var python=PATH naming an interpreter with pytest installed")
        .run();
}

#[test]
fn a_suite_without_tests_and_a_red_suite_are_refused() {
    let project = crate::support::mini();
    std::fs::remove_dir_all(project.join("tests")).unwrap();
    project.write("tests/helpers.py", "X = 1\n");
    suggest(&project, &[])
        .status(8)
        .stderr_contains("error: the suite ran no test")
        .stderr_contains("--collect-only")
        .run();
    project.write(
        "tests/test_red.py",
        "def test_red():\n    assert 1 == 2\n\ndef test_green():\n    pass\n",
    );
    suggest(&project, &[])
        .status(8)
        .stderr_contains("error: the suite is red: 1 failed, 0 errors of 2 tests")
        .stderr_contains("suggest predicts from a green run")
        .run();
}

/// With busy loops on every CPU and one more beside it, the profile sees the machine busy: the
/// tests' process waited for a CPU (a share well under a whole one), which the parallel
/// prediction then leaves the workers; the loops hold the shared "busy" lock, so suites that
/// time themselves wait. Linux's schedstat says it; other systems have no such figure.
#[cfg(target_os = "linux")]
#[test]
fn busy_loops_beside_the_profile_show_as_a_busy_machine() {
    let project = crate::support::mini();
    project.write(
        "tests/test_spin.py",
        "import time\n\n\ndef test_spins():\n    end = time.process_time() + 0.5\n    while time.process_time() < end:\n        pass\n",
    );
    let _hold = crate::support::busy();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _loops = crate::support::busy_loops(cores + 1);
    let report = json(
        &suggest(&project, &["--json"])
            .stdout_unchecked("parsed")
            .stderr_unchecked("progress")
            .run(),
    );
    let sched = &report["profile"]["sched"];
    let (cpu, wait) = (
        sched["cpu"].as_f64().unwrap(),
        sched["wait"].as_f64().unwrap(),
    );
    assert!(cpu >= 0.5, "{report:#}");
    assert!(cpu / (cpu + wait) < 0.9, "{report:#}");
}

/// A PostgreSQL server on a port of its own (the backend plan's throwaway server takes a free
/// one) is seen through the driver's connect, asyncpg's here, as SQLAlchemy calls it: a
/// stand-in module with asyncpg's `connect` signature, since the project has no server.
#[test]
fn an_asyncpg_connection_on_any_port_is_a_postgres_risk() {
    let project = crate::support::mini();
    project.write(
        "asyncpg.py",
        "async def connect(dsn=None, **kwargs):\n    return dsn\n",
    );
    project.write(
        "tests/test_pg.py",
        "import asyncio\n\nimport asyncpg\n\n\ndef test_connects():\n    assert asyncio.run(asyncpg.connect('postgresql://u@127.0.0.1:55999/db'))\n",
    );
    let report = json(
        &suggest(&project, &["--json"])
            .stdout_unchecked("parsed")
            .stderr_unchecked("progress")
            .run(),
    );
    assert_eq!(report["profile"]["tests_using_postgres"], 1, "{report:#}");
    let risks = report["risks"].to_string();
    assert!(
        risks.contains("1 test(s) connect to PostgreSQL: each worker needs a database of its own"),
        "{risks}"
    );
}

/// A test that passes only after another: the run in reverse order shows it, as a risk.
#[test]
fn a_test_that_needs_another_is_order_dependent() {
    let project = crate::support::mini();
    project.write(
        "tests/test_order.py",
        "SEEN = []\n\ndef test_first():\n    SEEN.append(1)\n\ndef test_second():\n    assert SEEN\n",
    );
    suggest(&project, &[])
        .stdout_contains(", 1 test(s) changed outcome\n")
        .stdout_contains("\nrisks:\n  - 1 test(s) changed outcome when the suite ran in reverse order: tests/test_order.py::test_second; they depend on other tests, and pytest-xdist reorders tests too\n")
        .stderr_contains("(two runs: in order, then in reverse)")
        .run();
}

/// A suite whose own configuration runs it on xdist workers: no parallel prediction from
/// workers' times, and it says why.
#[test]
fn a_suite_already_on_xdist_says_so() {
    let project = crate::support::mini();
    let ini = project
        .read("pytest.ini")
        .replace("addopts = -q", "addopts = -q -n 2");
    assert!(ini.contains("-n 2"), "{ini}");
    project.write("pytest.ini", &ini);
    let out = suggest(&project, &["--json"])
        .stdout_unchecked("parsed")
        .stderr_unchecked("progress")
        .run();
    let report = json(&out);
    assert_eq!(report["parallel"], Value::Array(Vec::new()), "{report:#}");
    assert!(report["risks"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("the suite already runs on pytest-xdist workers"));
    assert_eq!(report["profile"]["tests"], 2, "{report:#}");
}

/// `--write` never overwrites: an existing plan file is refused before the suite runs, and
/// left as it was.
#[test]
fn write_refuses_an_existing_plan() {
    let project = crate::support::mini();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("mine.toml");
    std::fs::write(&plan, "# a person's plan\n").unwrap();
    suggest(&project, &["--write", plan.to_str().unwrap()])
        .redact(dir.path().display().to_string(), "[DIR]")
        .status(2)
        .stderr_contains("error: refusing to overwrite `[DIR]/mine.toml`")
        .stderr_contains("remove it, or give --write another path")
        .run();
    assert_eq!(
        std::fs::read_to_string(&plan).unwrap(),
        "# a person's plan\n"
    );
}

/// Ctrl-C while the suite runs: the suite's process (in a group of its own, which the terminal's
/// SIGINT does not reach) is stopped, and suggest ends with 130, having written nothing.
#[test]
fn an_interrupt_stops_the_suite_and_ends_with_130() {
    let project = crate::support::mini();
    let pid_file = project.join("pytest.pid");
    project.write(
        "tests/test_slow.py",
        &format!(
            "import os, time\n\ndef test_slow():\n    open({:?}, 'w').write(str(os.getpid()))\n    time.sleep(120)\n",
            pid_file.display().to_string()
        ),
    );
    let plans = tempfile::tempdir().unwrap();
    let plan = plans.path().join("p.toml");
    let mut running = suggest(&project, &["--write", plan.to_str().unwrap()])
        .status(130)
        .stderr_contains("error: interrupted")
        .stderr_contains("nothing in the target was changed")
        .spawn();
    let started = std::time::Instant::now();
    while !pid_file.exists() {
        assert!(
            running.is_running(),
            "suggest ended before the suite started"
        );
        assert!(started.elapsed().as_secs() < 120, "the suite never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pytest: libc::pid_t = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    running.signal(libc::SIGINT);
    running.wait();
    // An orphan is reaped by init a moment after its parent's end: allow it that moment.
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = || unsafe { libc::kill(pytest, 0) } == 0;
    let ended = std::time::Instant::now();
    while alive() && ended.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!alive(), "pytest (pid {pytest}) outlived suggest");
    assert!(!plan.exists());
}

/// pytest's own count of the tests it collects in `project`.
fn collected(project: &Project) -> u64 {
    let out = std::process::Command::new(python())
        .args([
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(project.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "730 tests collected in 0.53s"
    text.lines()
        .filter(|l| l.contains(" collected"))
        .find_map(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count in pytest --collect-only:\n{text}"))
}

/// Every figure of one interval in order: pessimistic end, estimate, optimistic end.
fn ordered(v: &Value, low: &str, high: &str) {
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("no {k} in {v}"));
    assert!(f(low) <= f("mid") && f("mid") <= f(high), "{v}");
}

/// A real project's suite (pyflakes 3.2.0 from its PyPI sdist: 730 tests): the profile counts
/// what pytest collects, its parts fit in its wall, every interval is ordered, two workers are
/// predicted, it says nothing of coverage (none runs), and a plan it writes validates.
#[test]
fn a_real_projects_suite_gets_a_sane_profile() {
    let _heavy = heavy();
    let sdist = crate::suggest_sdists::REAL
        .iter()
        .find(|s| s.name == "pyflakes")
        .unwrap();
    let src = crate::suggest_sdists::fetch(sdist, &crate::support::target_dir(), &python());
    let project = Project::from_dir(&src);
    let expected = collected(&project);
    let plans = tempfile::tempdir().unwrap();
    let plan = plans.path().join("suggested.toml");
    let out = suggest(&project, &["--json", "--write", plan.to_str().unwrap()])
        .stdout_unchecked("measured figures vary; parsed below")
        .stderr_unchecked("which plan, if any, depends on the machine's speed; checked below")
        .run();
    let report = json(&out);
    let profile = &report["profile"];
    assert_eq!(profile["tests"], expected, "{profile:#}");
    let f = |k: &str| profile[k].as_f64().unwrap();
    assert!(f("passed") > 0.9 * expected as f64, "{profile:#}");
    assert!(f("wall") > 0.0);
    assert!(
        f("collection") + f("test_seconds") <= f("wall") * 1.01,
        "{profile:#}"
    );
    assert!(f("reverse_wall") > 0.0);
    sched_and_reports(profile);
    assert_eq!(profile["coverage"], Value::Null);
    assert_eq!(report["notes"], Value::Array(Vec::new()));
    for o in report["opportunities"].as_array().unwrap() {
        ordered(&o["saving"], "low", "high");
        assert!(o["saving"]["mid"].as_f64().unwrap() > 0.0, "{o:#}");
        assert!(!o["evidence"].as_array().unwrap().is_empty());
        assert!(!o["steps"].as_array().unwrap().is_empty());
    }
    let parallel = report["parallel"].as_array().unwrap();
    assert_eq!(parallel[0]["workers"], 2, "{report:#}");
    for p in parallel {
        ordered(p, "low", "high");
    }
    match report["plan"].as_str() {
        Some(_) => {
            assert!(!report["little_to_gain"].as_bool().unwrap());
            Test::new()
                .args([OsString::from("validate"), plan.clone().into()])
                .stdout_contains(": ok")
                .run();
        }
        None => assert!(!plan.exists()),
    }
}

/// A suite under pytest-cov on the shared venv's Python (3.11): coverage's cost is measured
/// (the second run goes with --no-cov), and the note says sysmon needs 3.12.
#[test]
fn coverage_on_python_3_11_is_measured_and_sysmon_does_not_apply() {
    let project = crate::support::mini();
    let ini = project
        .read("pytest.ini")
        .replace("addopts = -q", "addopts = -q --cov=. --cov-report=");
    assert!(ini.contains("--cov=."), "{ini}");
    project.write("pytest.ini", &ini);
    let report = json(
        &suggest(&project, &["--json"])
            .stdout_unchecked("parsed")
            .stderr_unchecked("progress")
            .run(),
    );
    let profile = &report["profile"];
    assert_eq!(
        profile["python_version"],
        serde_json::json!([3, 11]),
        "{profile:#}"
    );
    assert_eq!(profile["coverage"]["tracer"], "CTracer", "{profile:#}");
    assert_eq!(profile["coverage"]["pytest_cov"], true);
    assert!(profile["coverage_overhead"].is_number(), "{profile:#}");
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report:#}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.starts_with("coverage.py (its C tracer) costs "),
        "{note}"
    );
    assert!(note.contains("(pytest-cov's --no-cov); COVERAGE_CORE=sysmon does not apply on Python 3.11: sys.monitoring needs Python 3.12 or later"), "{note}");
    assert!(report["opportunities"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["kind"] != "coverage"));
    suggest(&project, &[])
        .stdout_contains("in reverse order without coverage (--no-cov): ")
        .stdout_contains("\nnotes:\n  - coverage.py (its C tracer) costs ")
        .stderr_contains("profiling the suite of ")
        .run();
}
