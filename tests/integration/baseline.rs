//! A red baseline is never kept, end to end with real pytest: a suite where every test fails,
//! one that cannot collect, and one with no test stop the apply with exit 8 before any change
//! (the target byte for byte as it was); failures declared known let it go on, test by test;
//! and records that ran other tests (pytest-xdist workers that collected different tests) get
//! no speed verdict.

use serde_json::Value;

use crate::support::{lines, Project};

/// A plan: a pytest baseline of `tests_b` (`known` as its extra lines), then an edit of
/// `app.cfg` and an after suite running `after_args`, with one gate `check`.
fn plan(known: &str, after_args: &str, check: &str) -> String {
    let python = crate::support::python();
    format!(
        r#"name = "red"
description = "a baseline, an edit, an after suite"

[[phase]]
id = "before"
  [[phase.step]]
  id = "measure"
  action = "suite"
  command = "{python} -m pytest -q -p no:cacheprovider tests_b"
  record = "baseline"
  runs = 1
  warmup = 0
  {known}

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "app.cfg"
  pattern = "slow"
  replacement = "fast"

  [[phase.step]]
  id = "after"
  needs = ["edit"]
  action = "suite"
  command = "{python} -m pytest -q -p no:cacheprovider {after_args} tests_b"
  record = "after"
  runs = 1
  warmup = 0

  [[phase.gate]]
  check = "{check}"
"#,
        python = python.display()
    )
}

/// A target with `app.cfg`, the plan, and the test files given.
fn project(plan_text: &str, files: &[(&str, &str)]) -> Project {
    let project = Project::fixture("gates/target");
    project.write("red.toml", plan_text);
    project.write("app.cfg", "mode = slow\n");
    for (path, text) in files {
        project.write(path, text);
    }
    project
}

fn apply(project: &Project, extra: &[&str], status: i32) -> crate::support::Output {
    project
        .test()
        .args(["apply", "red.toml", "--target", "."])
        .args(extra)
        .status(status)
        // stderr: measured times vary; the tests check its lines below.
        .stderr_contains("planrun apply red")
        .run()
}

/// Applies red.toml, which must stop with exit 8 for a red baseline, and prints `why` (the
/// lines under the failed step, up to its hint); the one run takes one measurement, so
/// everything else is fixed.
fn red(project: &Project, extra: &[&str], why: &[&str]) {
    let mut want = vec![
        "planrun apply red -> [TARGET] (run [RUN])",
        "▶ measure suite",
        "  measure: run 1/1 took [DURATION]",
        "✗ measure [DURATION]  baseline `baseline` is red: refusing to change the target before \
         it is worth comparing with",
    ];
    want.extend(why);
    want.extend([
        "✗ baseline `baseline` is red; rolling back",
        "↺ rolled back in [DURATION]: 0 restored, 0 deleted, 0 environments restored",
        "records: baseline [DURATION]",
        "baseline red, nothing kept in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); \
         exit 8",
        "report: .planrun/runs/[RUN]/report.json",
    ]);
    project
        .test()
        .args(["apply", "red.toml", "--target", "."])
        .args(extra)
        .status(8)
        .stderr(lines(&want))
        .run();
}

/// The JSON report of the only run.
fn report(project: &Project) -> Value {
    let runs = project.join(".planrun/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("report.json").exists())
        .expect("a run with a report");
    serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap()
}

/// Fails unless stderr contains every one of `needles`.
fn says(out: &crate::support::Output, needles: &[&str]) {
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle}\n{}", out.stderr);
    }
}

const FAILED_GATE: &str = "after.failed <= baseline.failed";

/// A test that fails when `app.cfg` says `fast` (the plan's change breaks it).
const BROKEN_BY_CHANGE: &str = "def test_breaks():\n    assert 'slow' in open('app.cfg').read()\n";

/// Every test fails: exit 8 naming each, the after suite never runs, and the target is as it
/// was (the gate `after.failed <= baseline.failed` would have passed on it).
#[test]
fn a_red_baseline_stops_with_exit_8_naming_the_tests() {
    let project = project(
        &plan("", "", FAILED_GATE),
        &[(
            "tests_b/test_red.py",
            "def test_one():\n    assert 1 == 2\n\ndef test_two():\n    assert False, 'nope'\n",
        )],
    );
    let before = project.hash_tree();
    // The after suite never runs.
    red(
        &project,
        &[],
        &[
            "  - no test passed: 2 ran, 2 failed, 0 errors",
            "  - 2 failing tests not declared known: tests_b/test_red.py::test_one, \
             tests_b/test_red.py::test_two",
            "hint: fix the failing tests first, or declare them known: `known_failures = \
             [\"tests_b/test_red.py::test_one\", \"tests_b/test_red.py::test_two\"]` on step \
             `measure`, `--known-failures FILE` (one id a line), or `--accept-baseline-failures`; \
             gates then allow no new failure",
        ],
    );
    assert_eq!(project.hash_tree(), before);
    let report = report(&project);
    assert_eq!(report["status"], "baseline-red");
    assert_eq!(report["exit_code"], 8);
    assert_eq!(report["records"]["baseline"]["failed"], 2);
    // Even with every failure taken as known, a suite that passes nothing is no baseline.
    red(
        &project,
        &["--accept-baseline-failures", "--reapply"],
        &[
            "  - no test passed: 2 ran, 2 failed, 0 errors",
            "hint: fix the failing tests first, or declare them known: `known_failures = []` on \
             step `measure`, `--known-failures FILE` (one id a line), or \
             `--accept-baseline-failures`; gates then allow no new failure",
        ],
    );
    assert_eq!(project.hash_tree(), before);
}

/// A module that cannot be imported: exit 8 naming the module and its error, even though the
/// other module's test passes; an install before the baseline is rolled back like any failure.
#[test]
fn a_collection_error_stops_with_exit_8_naming_the_error() {
    let text = plan("", "", FAILED_GATE).replace(
        "[[phase]]\nid = \"before\"\n",
        "[[phase]]\nid = \"before\"\n  [[phase.step]]\n  id = \"prepare\"\n  action = \"run\"\n  command = \"echo made > made.txt\"\n  undo = \"rm made.txt\"\n\n",
    );
    let text = text.replace(
        "  id = \"measure\"\n",
        "  id = \"measure\"\n  needs = [\"prepare\"]\n",
    );
    let project = project(
        &text,
        &[
            ("tests_b/test_ok.py", "def test_ok():\n    pass\n"),
            (
                "tests_b/test_bad.py",
                "import module_that_is_not_there\n\ndef test_x():\n    pass\n",
            ),
        ],
    );
    let before = project.hash_tree();
    let out = apply(&project, &["--accept-baseline-failures"], 8);
    says(
        &out,
        &[
            "1 collection error: `tests_b/test_bad.py`: ImportError while importing test module",
            "No module named 'module_that_is_not_there'",
            "pytest exited 2",
            "fix the suite so that it collects and runs tests",
        ],
    );
    assert!(!project.join("made.txt").exists());
    assert_eq!(project.hash_tree(), before);
}

/// A suite that collects no test: exit 8, "no test ran".
#[test]
fn an_empty_suite_stops_with_exit_8() {
    let project = project(
        &plan("", "", FAILED_GATE),
        &[("tests_b/helpers.py", "VALUE = 1\n")],
    );
    let before = project.hash_tree();
    red(
        &project,
        &[],
        &[
            "  - pytest exited 5 (no tests were collected)",
            "  - no test ran",
            "hint: fix the suite so that it collects and runs tests as the repository is (run its \
             command by hand), then apply again",
        ],
    );
    assert_eq!(project.hash_tree(), before);
}

const KNOWN: &str = "def test_ok():\n    pass\n\ndef test_known():\n    assert 0, 'known'\n";

/// One failure declared known (plan field): the apply goes on; a new failure after the change
/// fails the gate naming it, and the known one is not named.
#[test]
fn a_known_failure_goes_on_and_a_new_failure_is_named() {
    let project = project(
        &plan(
            "known_failures = [\"tests_b/test_k.py::test_known\"]",
            "",
            FAILED_GATE,
        ),
        &[
            ("tests_b/test_k.py", KNOWN),
            ("tests_b/test_change.py", BROKEN_BY_CHANGE),
        ],
    );
    let out = apply(&project, &[], 1);
    assert!(
        out.stderr
            .contains("1 known failure in the baseline: tests_b/test_k.py::test_known"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("after.failed 1 <= baseline.failed 0"),
        "{}",
        out.stderr
    );
    let gate = &report(&project)["gates"][0];
    assert_eq!(gate["status"], "fail");
    let named: Vec<&str> = gate["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["tests_b/test_change.py::test_breaks"]);
    assert_eq!(project.read("app.cfg"), "mode = slow\n");
    // The same with `--accept-baseline-failures` instead of the plan's list.
    let accepted = self::project(
        &plan("", "", FAILED_GATE),
        &[
            ("tests_b/test_k.py", KNOWN),
            ("tests_b/test_change.py", BROKEN_BY_CHANGE),
        ],
    );
    let out = apply(&accepted, &["--accept-baseline-failures"], 1);
    assert!(
        out.stderr.contains("after.failed 1 <= baseline.failed 0"),
        "{}",
        out.stderr
    );
    assert_eq!(accepted.read("app.cfg"), "mode = slow\n");
}

/// Known through `--known-failures FILE`, with no new failure: kept (exit 0), and a known
/// failure the change fixed is reported as fixed.
#[test]
fn known_failures_from_a_file_keep_a_change_and_a_fixed_one_is_said() {
    let project = project(
        &plan(
            "",
            "",
            "after.failed == 0 and after.passed == baseline.passed",
        ),
        &[
            ("tests_b/test_k.py", KNOWN),
            (
                "tests_b/test_fix.py",
                "def test_fixed_by_change():\n    assert 'fast' in open('app.cfg').read()\n",
            ),
        ],
    );
    project.write(
        "known.txt",
        "# failing on main since the last release\ntests_b/test_k.py::*\ntests_b/test_fix.py::test_fixed_by_change\n",
    );
    let out = apply(&project, &["--known-failures", "known.txt"], 0);
    assert!(
        out.stderr.contains(
            "known failure `tests_b/test_fix.py::test_fixed_by_change` passes in `after`: fixed"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(project.read("app.cfg"), "mode = fast\n");
    let bad = self::project(&plan("", "", FAILED_GATE), &[("tests_b/test_k.py", KNOWN)]);
    bad.write("known.txt", "tests_b/test_k.py::test_known\n\n*\n");
    bad.test()
        .args([
            "apply",
            "red.toml",
            "--target",
            ".",
            "--known-failures",
            "known.txt",
        ])
        .status(2)
        .stderr_contains("known.txt:3: known failure `*` matches every test")
        .run();
}

/// pytest-xdist workers collect different tests (a parameter from the worker's pid): the after
/// record runs no test, and the speed gate fails naming pytest-xdist's own words.
#[test]
fn xdist_workers_that_collect_different_tests_get_no_speed_verdict() {
    let project = project(
        &plan("", "-n 2", "after.wall.median <= baseline.wall.median / 1.1"),
        &[
            ("tests_b/test_ok.py", "def test_ok():\n    pass\n"),
            (
                "tests_b/test_pid.py",
                "import os\nimport pytest\n\n@pytest.mark.parametrize('n', [os.getpid()])\ndef test_per_process(n):\n    pass\n",
            ),
        ],
    );
    let out = apply(&project, &[], 1);
    says(
        &out,
        &[
            // Which worker pytest-xdist names first depends on which finished collecting first.
            "no speed verdict: `after` ran no test (pytest-xdist: \"Different tests were collected between gw",
            "the workers collected different tests, so ids or their order depend on the process",
            "... FAIL",
        ],
    );
    assert!(!out.stderr.contains("x faster"), "{}", out.stderr);
    assert_eq!(project.read("app.cfg"), "mode = slow\n");
}

/// The after suite runs a subset: a speed gate fails naming what ran on one side only.
#[test]
fn records_of_different_tests_are_not_compared_on_speed() {
    let project = project(
        &plan(
            "",
            "--deselect tests_b/test_two.py::test_slow",
            "after.wall.median <= baseline.wall.median",
        ),
        &[
            ("tests_b/test_one.py", "def test_fast():\n    pass\n"),
            (
                "tests_b/test_two.py",
                "import time\n\ndef test_slow():\n    time.sleep(0.5)\n",
            ),
        ],
    );
    let out = apply(&project, &[], 1);
    assert!(
        out.stderr.contains("no speed verdict: `after` and `baseline` ran different tests: 0 only in `after`, 1 only in `baseline` (tests_b/test_two.py::test_slow)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("x faster"), "{}", out.stderr);
    // The summary does not compare them either.
    assert!(
        out.stderr
            .contains("s (other tests ran: speed not compared)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("× faster"), "{}", out.stderr);
}

/// The issue's case, with the bundled xdist plan: a module that does not import used to give
/// "4/4 gates passed ... exit 0". Now exit 8 after the baseline, and the venv the plan's first
/// step created is gone again with everything else as it was.
#[test]
fn the_bundled_xdist_plan_refuses_a_suite_that_cannot_collect() {
    let project = Project::new("setupcfg-demo");
    project.write(
        "tests/test_broken.py",
        "import merkle.not_a_module\n\ndef test_never():\n    pass\n",
    );
    let before = project.hash_tree();
    let out = project
        .test()
        .arg("apply")
        .arg(crate::support::plan("xdist.toml"))
        .args(["--target", ".", "--var", "runs=1", "--var", "warmup=0"])
        .status(8)
        // stderr: install and run times vary; its lines are checked below.
        .stderr_contains("planrun apply xdist")
        .run();
    says(
        &out,
        &[
            "1 collection error: `tests/test_broken.py`: ImportError while importing test module",
            "No module named 'merkle.not_a_module'",
            "baseline red, nothing kept",
        ],
    );
    assert!(!out.stderr.contains("xdist install"), "{}", out.stderr);
    assert!(
        !project.join(".venv").exists(),
        "the created venv is rolled back"
    );
    assert_eq!(project.hash_tree(), before);
}

/// `planrun validate` points at a known failure that matches every test, with a hint.
#[test]
fn validate_points_at_a_known_failure_that_names_no_test() {
    let project = project(
        &plan(
            "known_failures = [\"tests_b/t.py::a\", \"**\"]",
            "",
            FAILED_GATE,
        ),
        &[],
    );
    project
        .test()
        .args(["validate", "red.toml"])
        .status(2)
        .stderr_contains(
            "error: known failure 2 in step `measure` matches every test\n  --> red.toml:13:40\n",
        )
        .stderr_contains(
            "= help: name the failing tests (or their module with `tests/test_x.py::*`)",
        )
        .run();
}
