//! The budgets plans end to end: plans/budgets.toml on examples/budget-demo names every test
//! over its budget and rolls back, passes once the slow tests are fixed, and keeps its markers
//! and profiles when budgets only warn; a `mark` dry run against a saved baseline is what apply
//! writes; coverage and memory-growth gates pass and fail on purpose-built suites.
//!
//! The demo's slow tests sleep, so their times hold on a loaded machine: no exclusive lock.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{self, lines, plan, repo_root, Output, Project};

/// The four tests of the demo over budget, as pytest prints their ids, with their budgets.
const OVER: [(&str, &str); 4] = [
    (
        "tests/integration/test_checkout.py::test_checkout_settles_with_the_gateway",
        "**/integration",
    ),
    (
        "tests/unit/test_rates.py::TestRates::test_germany",
        "**/unit",
    ),
    (
        "tests/unit/test_rates.py::TestRates::test_with_vat[fr-1200]",
        "**/unit",
    ),
    (
        "tests/unit/test_rates.py::TestRates::test_with_vat[nl-1210]",
        "**/unit",
    ),
];

/// `planrun apply plans/<plan_name> --target <copy> --var runs=1 --var warmup=0 <extra...>`.
fn apply<'a>(project: &'a Project, plan_name: &str, extra: &[&str]) -> crate::support::Test<'a> {
    let mut args: Vec<OsString> = vec![
        "apply".into(),
        plan(plan_name).into(),
        "--target".into(),
        project.path().into(),
        "--var".into(),
        "runs=1".into(),
        "--var".into(),
        "warmup=0".into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    project.test().args(args)
}

/// The directory of the only run on `project`.
fn only_run(project: &Project) -> PathBuf {
    let runs: Vec<PathBuf> = fs::read_dir(project.join(".planrun/runs"))
        .expect("a runs directory")
        .map(|e| e.expect("a run").path())
        .collect();
    assert_eq!(runs.len(), 1, "expected one run, got {runs:?}");
    runs.into_iter().next().unwrap()
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// `(check, status)` of every gate of a report.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| {
            (
                g["check"].as_str().unwrap_or_default().to_string(),
                g["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The ids a record lists as over budget.
fn over_ids(report: &Value, record: &str) -> Vec<String> {
    report["records"][record]["over_budget"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The test ids pytest selects in the project with `-m expr`, from its own venv (the demo's
/// own `addopts` emptied: its `-q` and ours would list files, not tests).
fn selected(project: &Project, expr: &str) -> Vec<String> {
    let out = Command::new(project.join(".venv/bin/python"))
        .args([
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-o",
            "addopts=",
            "-p",
            "no:cacheprovider",
            "-m",
            expr,
        ])
        .current_dir(project.path())
        .output()
        .expect("run pytest");
    assert!(
        out.status.success(),
        "pytest -m {expr}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("::"))
        .map(str::to_string)
        .collect()
}

fn rollback(project: &Project) {
    project
        .test()
        .args([
            OsString::from("rollback"),
            "--target".into(),
            project.path().into(),
        ])
        // What was restored depends on what the apply left.
        .stdout_contains("rolled back run [RUN] (plan budgets")
        .run();
}

/// The error output names each of the four tests over budget with its median, budget and
/// excess, under the gate that failed.
fn names_the_tests_over_budget(test: crate::support::Test<'_>, verdict: &str) -> Output {
    let mut test = test.stderr_contains(format!(
        "== 0 ... {verdict}  (every test under a `unit` directory under 0.1 s, every other test under 2 s)\n"
    ));
    for (id, key) in OVER {
        test = test.stderr_contains(format!(
            "\n    over budget in `after`: {id} [DURATION] > [DURATION] ({key}), [DURATION] over\n"
        ));
    }
    test.run()
}

/// The demo as shipped: four tests are over budget, so the budget gate fails and names each
/// of them (terminal, JUnit, summary.md, report.json), every other gate passes, and the demo
/// is rolled back byte for byte.
#[test]
fn the_budgets_plan_names_every_test_over_budget_and_rolls_back() {
    let project = Project::new("budget-demo");
    let before = project.hash_tree();
    let out = names_the_tests_over_budget(
        apply(&project, "budgets.toml", &[])
            .status(1)
            .stderr_contains("planrun apply budgets -> [TARGET] (run [RUN])\n")
            .stderr_contains(
                "✓ baseline [DURATION]  median [DURATION] ± [DURATION], 11 passed, 0 failed, ",
            )
            .stderr_contains(" over budget, coverage ")
            .stderr_contains("✗ gate failed: after.over_budget == 0; rolling back\n")
            .stderr_contains("report: .planrun/runs/[RUN]/report.json\n"),
        "FAIL",
    );
    assert!(
        out.stderr.contains("gate failed, rolled back in"),
        "{}",
        out.stderr
    );
    let run = only_run(&project);
    let report = read_json(&run.join("report.json"));
    assert_eq!(report["status"], "gate-failed");
    for (check, status) in verdicts(&report) {
        let want = if check == "after.over_budget == 0" {
            "fail"
        } else {
            "pass"
        };
        assert_eq!(status, want, "{check}: {report:#}");
    }
    let ids = over_ids(&report, "after");
    for (id, _) in OVER {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
    let slowest = &report["records"]["after"]["over_budget"][0];
    assert_eq!(slowest["id"], OVER[0].0, "slowest first");
    assert_eq!(slowest["budget"], 2.0);
    let coverage = report["records"]["after"]["coverage"]["percent"]
        .as_f64()
        .expect("coverage");
    assert!(coverage > 90.0, "{coverage}");
    assert!(
        report["records"]["after"]["coverage"]["files"]["shop/rates.py"]["percent"]
            .as_f64()
            .is_some(),
        "per-file coverage"
    );
    let growth = report["records"]["after"]["rss_growth_mb"]
        .as_f64()
        .expect("growth");
    assert!((0.0..10.0).contains(&growth), "{growth}");
    let junit = fs::read_to_string(run.join("junit.xml")).expect("junit.xml");
    let summary = fs::read_to_string(run.join("summary.md")).expect("summary.md");
    for (id, key) in OVER {
        assert!(
            junit.contains(&format!("over budget in `after`: {id} ")),
            "{id} in\n{junit}"
        );
        assert!(
            summary.contains(&format!("| after | `{id}` | "))
                && summary.contains(&format!("(`{key}`)")),
            "{id} in\n{summary}"
        );
    }
    assert_eq!(project.hash_tree(), before, "rolled back byte for byte");
    assert!(!project.join(".venv").exists(), "the venv it made is gone");
}

/// With budgets only warning, the apply keeps the markers (registered in pyproject.toml, set
/// by the conftest hook from the committed durations) and the profiles; pytest then selects
/// by them; rollback gives the demo back.
#[test]
fn the_warn_plan_keeps_markers_and_profiles() {
    let project = Project::new("budget-demo");
    let before = project.hash_tree();
    names_the_tests_over_budget(
        apply(&project, "budgets-warn.toml", &[])
            .status(0)
            .apply_progress(
                "budgets-warn",
                "applied in [DURATION]: 6/7 gates passed, 4 files changed (+61 -0); exit 0",
            ),
        "warn",
    );
    let pyproject = project.read("pyproject.toml");
    for line in [
        "    \"fast: measured median under 0.1 s (planrun mark)\",\n",
        "    \"medium: measured median 0.1 s to 1 s (planrun mark)\",\n",
        "    \"slow: measured median over 1 s (planrun mark)\",\n",
    ] {
        assert!(pyproject.contains(line), "{pyproject}");
    }
    // The hook goes into the repository's top conftest, which every test is under; the
    // demo's own tests/conftest.py is left as it is.
    assert_eq!(
        project.read("tests/conftest.py"),
        fs::read_to_string(repo_root().join("examples/budget-demo/tests/conftest.py")).unwrap(),
        "the demo's own fixtures are kept"
    );
    let conftest = project.read("conftest.py");
    assert!(conftest.trim_end().ends_with("# <<< planrun mark <<<"));
    let durations = read_json(&project.join(".test-durations.json"));
    assert_eq!(
        durations["durations"].as_object().map(|d| d.len()),
        Some(11)
    );
    assert_eq!(
        project.read("TESTING.md"),
        fs::read_to_string(repo_root().join("plans/templates/budgets/TESTING.md")).unwrap()
    );
    assert_eq!(
        selected(&project, "slow"),
        ["tests/integration/test_checkout.py::test_checkout_settles_with_the_gateway"]
    );
    let medium = selected(&project, "medium");
    for (id, _) in &OVER[1..] {
        assert!(medium.iter().any(|m| m == id), "{id} in {medium:?}");
    }
    assert_eq!(
        selected(&project, "not medium and not slow").len() + medium.len() + 1,
        11
    );
    rollback(&project);
    assert_eq!(project.hash_tree(), before, "rolled back byte for byte");
}

/// Once the slow lookups are gone every gate passes, and every test is marked fast.
#[test]
fn the_budgets_plan_passes_once_the_slow_tests_are_fixed() {
    let project = Project::new("budget-demo");
    for (file, constant) in [
        ("shop/rates.py", "LOOKUP_LATENCY = 0.25"),
        ("shop/checkout.py", "SETTLEMENT_DELAY = 2.2"),
    ] {
        let text = project.read(file);
        assert!(text.contains(constant), "{file}");
        let name = constant.split(' ').next().unwrap_or_default();
        project.write(file, &text.replace(constant, &format!("{name} = 0")));
    }
    apply(&project, "budgets.toml", &[])
        .status(0)
        .apply_progress(
            "budgets",
            "applied in [DURATION]: 7/7 gates passed, 4 files changed (+61 -0); exit 0",
        )
        .stderr_contains("gate after.over_budget 0 == 0 ... pass\n")
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    assert!(over_ids(&report, "after").is_empty());
    assert_eq!(report["records"]["fast"]["tests"], 11, "every test is fast");
    let fast = selected(&project, "fast");
    assert_eq!(fast.len(), 11, "{fast:?}");
}

/// A plan whose baseline suite a saved record can stand in for, and a mark step reading it.
const MARK_PLAN: &str = r#"name = "mark"
description = "mark the tests from the baseline's durations"

[[phase]]
id = "measure"
  [[phase.step]]
  id = "baseline"
  action = "suite"
  command = "false"
  record = "baseline"
  baseline = true

[[phase]]
id = "mark"
needs = ["measure"]
  [[phase.step]]
  id = "markers"
  action = "mark"
  from = "baseline"
  fast = 0.05
  slow = 0.5
  durations = "tests/.test-durations.json"
  conftest = "tests/conftest.py"
"#;

/// A saved record as `--save-baseline` writes it, with three tests' medians.
fn saved_record() -> String {
    serde_json::json!({
        "command": "pytest", "framework": "pytest", "warmup": 0, "runs": 1,
        "wall": {"min": 1.0, "median": 1.0, "mean": 1.0, "max": 1.0, "stddev": null},
        "passed": 3, "failed": 0, "skipped": 0, "errors": 0, "tests": 3, "runs_green": 1.0,
        "flaky": [], "slowest": 0.9, "p95_test": 0.9, "rss_peak_mb": null, "cpu_util": 0.5,
        "cpu_seconds": 0.5, "cores": 2, "samples": [],
        "durations": {
            "tests/test_demo.py::test_quick": 0.002,
            "tests/test_demo.py::test_param[a-1]": 0.2,
            "tests/test_demo.py::test_slow": 0.9
        },
        "slowest_tests": [], "warnings": []
    })
    .to_string()
}

/// The new content of `file` in a dry run's diff (the `+` lines of its hunk).
fn new_file_in_diff(diff: &str, file: &str) -> String {
    let start = diff
        .find(&format!("+++ b/{file}\n"))
        .unwrap_or_else(|| panic!("no diff of {file} in\n{diff}"));
    let mut out = String::new();
    for line in diff[start..].lines().skip(2) {
        if line.starts_with("--- ") || line.starts_with("step ") || !line.starts_with('+') {
            break;
        }
        out.push_str(&line[1..]);
        out.push('\n');
    }
    out
}

/// Without a saved baseline the dry run says the durations depend on a record measured
/// earlier in the run; with `--baseline FILE` it shows their real diff, and apply writes
/// exactly that (the conftest too), journaled: rollback removes both.
#[test]
fn a_mark_dry_run_against_a_saved_baseline_is_what_apply_writes() {
    let project = Project::fixture("gates/target");
    project.write("mark.toml", MARK_PLAN);
    project.write("saved/baseline.json", &saved_record());
    let before = project.hash_tree();
    project
        .test()
        .args(["apply", "mark.toml", "--target", ".", "--dry-run"])
        .stdout_contains(
            "  note: `tests/.test-durations.json` depends on record `baseline`, measured earlier in this run: its content is known only then (`--baseline NAME` shows it from a saved record)\n",
        )
        .stdout_contains("\nplan: 3 files to change, 0 packages to install, 0 commands, 1 timed suite, 0 gates\n")
        .run();
    let dry = project
        .test()
        .args([
            "apply",
            "mark.toml",
            "--target",
            ".",
            "--dry-run",
            "--baseline",
            "saved/baseline.json",
        ])
        .stdout_contains("  (not run: record `baseline` comes from the saved baseline)\n")
        .stdout_contains("  marks 3 tests from the saved baseline's record `baseline`\n")
        .stdout_contains("+    \"tests/test_demo.py::test_param[a-1]\": 0.200,\n")
        .run();
    let durations = new_file_in_diff(&dry.stdout, "tests/.test-durations.json");
    let conftest = new_file_in_diff(&dry.stdout, "tests/conftest.py");
    project
        .test()
        .args([
            "apply",
            "mark.toml",
            "--target",
            ".",
            "--baseline",
            "saved/baseline.json",
        ])
        .stderr(lines(&[
            "planrun apply mark -> [TARGET] (run [RUN])",
            "▶ baseline suite",
            "✓ baseline [DURATION]  record `baseline` from saved baseline `saved/baseline.json`",
            "▶ markers mark",
            "✓ markers [DURATION]",
            "records: baseline [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 3 files changed (+34 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert_eq!(project.read("tests/.test-durations.json"), durations);
    assert_eq!(project.read("tests/conftest.py"), conftest);
    let written = read_json(&project.join("tests/.test-durations.json"));
    assert_eq!(written["fast_below"], 0.05);
    assert_eq!(written["durations"]["tests/test_demo.py::test_slow"], 0.9);
    assert!(project
        .read("pytest.ini")
        .contains("slow: measured median over 0.5 s (planrun mark)"));
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_contains("rolled back run [RUN] (plan mark)")
        .run();
    assert_eq!(project.hash_tree(), before);
}

/// A plan over the calc fixture, run with the shared venv's pytest-cov: a baseline with
/// coverage, `replace` of `pattern` by `replacement` in the tests, and the suite again, held to
/// `check`. The suites keep `LEAK_MB` mebibytes alive in one test.
fn calc_plan(check: &str) -> String {
    format!(
        r#"name = "calc"
description = "coverage and memory of the calc suite before and after a change to its tests"

[[phase]]
id = "before"
  [[phase.step]]
  id = "baseline"
  action = "suite"
  command = "${{python}} -m pytest"
  record = "baseline"
  runs = 1
  warmup = 0
  coverage = true
  coverage_source = ["calc"]

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "tests/test_calc.py"
  pattern = "${{pattern}}"
  replacement = "${{replacement}}"

  [[phase.step]]
  id = "after"
  needs = ["edit"]
  action = "suite"
  command = "${{python}} -m pytest"
  record = "after"
  runs = 1
  warmup = 0
  coverage = true
  coverage_source = ["calc"]
  env = {{ LEAK_MB = "${{leak_mb}}" }}

  [[phase.gate]]
  check = "{check}"
"#
    )
}

/// Applies `calc_plan(check)` with the edit `pattern` -> `replacement` and `leak_mb`.
fn calc(
    check: &str,
    pattern: &str,
    replacement: &str,
    leak_mb: u32,
    status: i32,
) -> (Project, Output, Value) {
    let project = Project::fixture("budgets/calc");
    project.write("calc.toml", &calc_plan(check));
    let out = project
        .test()
        .args(["apply", "calc.toml", "--target", "."])
        .arg("--var")
        .arg(format!("python={}", support::python().display()))
        .arg("--var")
        .arg(format!("pattern={pattern}"))
        .arg("--var")
        .arg(format!("replacement={replacement}"))
        .arg("--var")
        .arg(format!("leak_mb={leak_mb}"))
        .status(status)
        // stderr: measured numbers vary; the verdicts are checked below.
        .stderr_contains("planrun apply calc -> [TARGET] (run [RUN])\n")
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    (project, out, report)
}

/// Renaming a test keeps coverage; disabling the division test drops it below the baseline,
/// and the failed gate says by how much and which file lost it; the target is rolled back.
#[test]
fn a_coverage_gate_passes_and_fails_on_purpose() {
    let check = "after.coverage >= baseline.coverage - 0.5";
    let (_, out, report) = calc(check, "def test_add(", "def test_add_renamed(", 0, 0);
    assert!(
        out.stderr
            .contains("gate after.coverage 100 >= baseline.coverage 100 - 0.5 = 99.50 ... pass\n"),
        "{}",
        out.stderr
    );
    assert_eq!(report["records"]["after"]["coverage"]["percent"], 100.0);
    let (project, out, report) = calc(check, "def test_div(", "def _test_div(", 0, 1);
    let after = report["records"]["after"]["coverage"]["percent"]
        .as_f64()
        .expect("coverage");
    assert!(after < 90.0, "{after}");
    assert_eq!(
        report["records"]["after"]["coverage"]["files"]["calc.py"]["missing"],
        4
    );
    for needle in [
        "gate after.coverage ",
        " >= baseline.coverage 100 - 0.5 = 99.50 ... FAIL\n",
        "    coverage of `after`: ",
        "% (4 of 17 statements missed); least covered: calc.py ",
    ] {
        assert!(out.stderr.contains(needle), "{needle} in\n{}", out.stderr);
    }
    assert_eq!(
        project.read("tests/test_calc.py"),
        fs::read_to_string(repo_root().join("tests/fixtures/budgets/calc/tests/test_calc.py"))
            .unwrap(),
        "rolled back"
    );
}

/// A test that keeps 40 MiB alive grows its process by about that much; the same suite
/// without the leak does not: the growth gate fails and passes on them.
#[test]
fn a_memory_growth_gate_catches_a_test_that_keeps_memory_alive() {
    let check = "after.rss_growth_mb < 10";
    let (_, _, report) = calc(check, "def test_add(", "def test_addition(", 40, 1);
    let grown = report["records"]["after"]["rss_growth_mb"]
        .as_f64()
        .expect("growth");
    assert!((35.0..60.0).contains(&grown), "{grown}");
    let (_, _, report) = calc(check, "def test_add(", "def test_addition(", 0, 0);
    let flat = report["records"]["after"]["rss_growth_mb"]
        .as_f64()
        .expect("growth");
    assert!(flat < 5.0, "{flat}");
}
