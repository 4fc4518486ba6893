//! Suites, gates and reports end to end: real pytest runs on a small demo target, verdicts with
//! their numbers, rollback on a failed gate, CI output, saved baselines and every exit code.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::lines;
use crate::support::{self, Output, Project, Test};

/// A plan of this module's fixtures.
fn plan(name: &str) -> PathBuf {
    support::repo_root().join("tests/fixtures/gates").join(name)
}

/// A fresh copy of the demo target.
fn target() -> Project {
    Project::fixture("gates/target")
}

/// `python=<the shared venv's interpreter>`, so suites need no install step.
fn python_var() -> String {
    format!("python={}", support::python().display())
}

/// `planrun apply <plan> --target . <extra>` with exactly the CI variables in `env` (the
/// builder removes the ones the test process may have inherited, so a CI machine cannot change
/// a verdict).
fn apply<'a>(
    project: &'a Project,
    plan_name: &str,
    extra: &[&str],
    env: &[(&str, &OsStr)],
) -> Test<'a> {
    project
        .test()
        .arg("apply")
        .arg(plan(plan_name))
        .args(["--target", "."])
        .args(extra)
        .envs(env.iter().copied())
}

/// The run directories under `.planrun/runs/`, oldest first (run ids sort by time).
fn run_dirs(project: &Project) -> Vec<PathBuf> {
    let dir = project.join(".planrun/runs");
    let mut runs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs
}

/// The only run's directory.
fn only_run(project: &Project) -> PathBuf {
    let runs = run_dirs(project);
    assert_eq!(runs.len(), 1, "expected one run, got {runs:?}");
    runs.into_iter().next().unwrap()
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The gate of `report` whose check is `check`.
fn gate<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["check"] == check)
        .unwrap_or_else(|| panic!("no gate `{check}` in {:#}", report["gates"]))
}

/// The step of `report` whose id is `id`.
fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step `{id}` in {:#}", report["steps"]))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The three numbers of a printed `a <= b * k = c ... verdict` line for the wall-time gate.
fn wall_verdict(stderr: &str, factor: &str, verdict: &str) -> (f64, f64, f64) {
    let pattern = format!(
        // The interval follows the substituted expression: `(1.95x faster, 99% CI 1.64-2.33x,
        // 3+3 runs)`.
        r"(?m)^gate after\.wall\.median ([0-9.]+) <= baseline\.wall\.median ([0-9.]+) \* {} = ([0-9.]+) \([0-9.]+x (?:faster|slower), 99% CI [0-9.e+-]+x, (?:[0-9]+\+[0-9]+ runs|[0-9]+ pairs interleaved[^)]*)\) \.\.\. {verdict}",
        regex::escape(factor)
    );
    let caps = regex::Regex::new(&pattern)
        .unwrap()
        .captures(stderr)
        .unwrap_or_else(|| panic!("no verdict line matching {pattern}\n{stderr}"));
    let n = |i: usize| caps[i].parse::<f64>().unwrap();
    (n(1), n(2), n(3))
}

/// `limit` is `b * k` as a verdict prints them: each to three significant digits, so the
/// product recomputed from the printed `b` may differ from the printed `limit` by both
/// roundings (about 1%).
fn printed_product(limit: f64, b: f64, k: f64) -> bool {
    (limit - b * k).abs() <= 0.011 * limit.abs().max(b * k) + 1e-9
}

/// `a` and `b` agree to the three significant digits a verdict prints.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.006 * a.abs().max(b.abs()) + 1e-9
}

/// Every log a step of `report` names exists in the target.
fn step_logs_exist(project: &Project, report: &Value) {
    for step in report["steps"].as_array().unwrap() {
        if let Some(log) = step["log"].as_str() {
            assert!(project.join(log).is_file(), "step log missing: {step:#}");
        }
    }
}

/// No line of stdout is a GitHub workflow command.
fn no_annotations(out: &Output) {
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("::")),
        "no `::` annotation lines on stdout:\n{}",
        out.stdout
    );
}

#[test]
fn a_gate_that_must_pass_applies_and_reports_its_numbers() {
    // Its speed gate must pass: no other test's commands may share the cores with its suites.
    let _heavy = support::exclusive();
    let project = target();
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("step-summary.md");
    // GitHub variables without --ci: neither annotations nor a step summary.
    let out = apply(
        &project,
        "gate.toml",
        &["--var", &python_var(), "--json"],
        &[
            ("GITHUB_ACTIONS", "true".as_ref()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
        ],
    )
    .stdout_unchecked("parsed and checked field by field below")
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    .apply_progress(
        "gates-speedup",
        "applied in [DURATION]: 2/2 gates passed, 1 file changed (+1 -1); exit 0",
    )
    .stderr_contains("gate after.failed 0 == 0 and after.passed 12 == baseline.passed 12 ... pass")
    .run();
    let run = only_run(&project);
    let report = read_json(&run.join("report.json"));
    let printed: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("--json stdout does not parse: {e}\n{}", out.stdout));
    assert_eq!(printed, report, "--json prints the report written to disk");
    assert_eq!(report["status"], "passed");
    assert_eq!(report["exit_code"], 0);
    assert!(report.get("rollback").is_none());

    let green = gate(
        &report,
        "after.failed == 0 and after.passed == baseline.passed",
    );
    assert_eq!(green["status"], "pass");
    assert_eq!(
        green["explanation"],
        "after.failed 0 == 0 and after.passed 12 == baseline.passed 12"
    );
    let wall = gate(&report, "after.wall.median <= baseline.wall.median * 0.9");
    assert_eq!(wall["status"], "pass", "{wall:#}");
    assert_eq!(wall["why"], "shorter sleeps must pay for themselves");
    let (after, base) = (
        num(&wall["values"]["after.wall.median"]),
        num(&wall["values"]["baseline.wall.median"]),
    );
    assert_eq!(after, num(&report["records"]["after"]["wall"]["median"]));
    assert_eq!(base, num(&report["records"]["baseline"]["wall"]["median"]));
    assert!(after <= base * 0.9, "{after} <= {base} * 0.9");
    assert!(wall["explanation"]
        .as_str()
        .unwrap()
        .starts_with("after.wall.median "));

    let (a, b, limit) = wall_verdict(&out.stderr, "0.9", "pass");
    assert!(
        close(a, after) && close(b, base),
        "{a} {b} vs {after} {base}"
    );
    assert!(
        printed_product(limit, b, 0.9) && a <= limit,
        "{a} <= {b} * 0.9 = {limit}"
    );

    assert_eq!(project.read("delay.py").lines().last(), Some("DELAY = 0.0"));
    assert!(step(&report, "after")["log"].is_string());
    step_logs_exist(&project, &report);
    no_annotations(&out);
    assert!(
        !summary.exists(),
        "the step summary is written only in CI mode"
    );
}

#[test]
fn a_tightened_gate_rolls_back_to_identical_bytes_and_tells_ci() {
    let project = target();
    let before = project.hash_tree();
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("step-summary.md");
    fs::write(&summary, "# earlier step\n").unwrap();
    let artifacts = scratch.path().join("artifacts");
    let out = apply(
        &project,
        "gate.toml",
        &[
            "--var",
            &python_var(),
            "--var",
            "runs=2",
            "--var",
            "factor=0.01",
            "--ci",
            "--annotate-passing",
            "--report-dir",
            artifacts.to_str().unwrap(),
        ],
        &[
            ("GITHUB_ACTIONS", "true".as_ref()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
            ("GITHUB_WORKSPACE", support::repo_root().as_os_str()),
        ],
    )
    .status(1)
    // stdout: measured numbers vary.
    .stdout_contains(
        "::notice file=tests/fixtures/gates/gate.toml,line=45,title=planrun gate passed::\
         after.failed == 0 and after.passed == baseline.passed — after.failed 0 == 0 and \
         after.passed 12 == baseline.passed 12 (the suite must stay green)",
    )
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    .apply_progress(
        "gates-speedup",
        "gate failed, rolled back in [DURATION]: 1/2 gates passed, 1 \
         file changed (+1 -1); exit 1",
    )
    .stderr_contains("gate after.failed 0 == 0 and after.passed 12 == baseline.passed 12 ... pass")
    .run();
    assert_eq!(project.hash_tree(), before, "the target is byte-identical");

    let run = only_run(&project);
    let report = read_json(&run.join("report.json"));
    assert_eq!(report["status"], "gate-failed");
    assert_eq!(report["exit_code"], 1);
    let check = "after.wall.median <= baseline.wall.median * 0.01";
    let failed = gate(&report, check);
    assert_eq!(failed["status"], "fail");
    let rollback = &report["rollback"];
    assert_eq!(rollback["ok"], true);
    assert_eq!(rollback["restored"], serde_json::json!(["delay.py"]));
    assert!(
        rollback["reason"].as_str().unwrap().contains(check),
        "{rollback:#}"
    );
    let (a, b, limit) = wall_verdict(&out.stderr, "0.01", "FAIL");
    assert!(
        a > limit && printed_product(limit, b, 0.01),
        "{a} > {b} * 0.01 = {limit}"
    );
    assert!(
        out.stderr
            .contains("FAIL  (shorter sleeps must pay for themselves)"),
        "{}",
        out.stderr
    );

    // GitHub: one annotation per evaluated gate (the passing one as asked), on stdout, each
    // at its gate's line in the plan; a gate on times names no test.
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{annotations:#?}");
    assert!(annotations
        .iter()
        .any(|l| l.starts_with(&format!(
            "::error file=tests/fixtures/gates/gate.toml,line=49,title=planrun gate failed::{check} — after.wall.median "
        )) && l.ends_with("(shorter sleeps must pay for themselves)")));
    assert!(annotations.iter().any(|l| l.starts_with(
        "::notice file=tests/fixtures/gates/gate.toml,line=45,title=planrun gate passed::after.failed == 0 and \
         after.passed == baseline.passed — after.failed 0 == 0"
    )));

    let markdown = fs::read_to_string(run.join("summary.md")).unwrap();
    let appended = fs::read_to_string(&summary).unwrap();
    assert_eq!(
        appended.strip_prefix("# earlier step\n").map(str::trim_end),
        Some(markdown.trim_end()),
        "GITHUB_STEP_SUMMARY gets summary.md appended"
    );
    for file in ["report.json", "junit.xml", "summary.md", "report.html"] {
        assert_eq!(
            fs::read(artifacts.join(file)).unwrap(),
            fs::read(run.join(file)).unwrap(),
            "--report-dir copies {file}"
        );
    }

    // junit.xml: a testcase per step and per gate, a failure for the failed gate only.
    let junit = fs::read_to_string(run.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let named = |class: &str| -> Vec<&str> {
        cases
            .iter()
            .filter(|c| c.attribute("classname") == Some(class))
            .map(|c| c.attribute("name").unwrap())
            .collect()
    };
    assert_eq!(named("planrun.step"), ["before", "shorter-sleeps", "after"]);
    assert_eq!(
        named("planrun.gate"),
        [
            "after.failed == 0 and after.passed == baseline.passed",
            check
        ]
    );
    let failures: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failures, [check]);

    // summary.md: the records side by side and the gates with their verdicts.
    assert!(markdown.contains("| metric | baseline | after | after/baseline |"));
    assert!(markdown.contains("| passed | 12 | 12 |"), "{markdown}");
    assert!(markdown.contains("## Gates"));
    let gate_row = markdown
        .lines()
        .find(|l| l.contains(&format!("`{check}`")))
        .unwrap_or_else(|| panic!("no gate row\n{markdown}"));
    assert!(gate_row.to_lowercase().contains("fail"), "{gate_row}");
    assert!(gate_row.contains("shorter sleeps must pay for themselves"));
}

/// Parses pytest's final summary line (`1 failed, 10 passed, 1 skipped, 1 error in 0.61s`).
fn pytest_counts(text: &str) -> [u64; 4] {
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && l.contains("passed"))
        .unwrap_or_else(|| panic!("no summary line\n{text}"));
    let re = regex::Regex::new(r"(\d+) (passed|failed|skipped|errors?)").unwrap();
    let mut counts = [0; 4];
    for caps in re.captures_iter(line) {
        let slot = match &caps[2] {
            "passed" => 0,
            "failed" => 1,
            "skipped" => 2,
            _ => 3,
        };
        counts[slot] = caps[1].parse().unwrap();
    }
    counts
}

#[test]
fn a_record_counts_what_pytest_itself_reports() {
    let project = target();
    apply(&project, "record.toml", &["--var", &python_var()], &[])
        .stderr(lines(&[
            "planrun apply gates-record -> [TARGET] (run [RUN])",
            "▶ mixed suite",
            "  mixed: run 1/1 took [DURATION]",
            "  warning: 1 of 1 counted runs were not green (non-zero exit, failure or error)",
            "✓ mixed [DURATION]  median [DURATION] ± [DURATION], 10 passed, 1 failed",
            "records: mixed [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    let record = &report["records"]["mixed"];

    let pytest = std::process::Command::new(support::python())
        .args(["-m", "pytest", "-q"])
        .current_dir(project.path())
        .env("GATES_FAIL", "1")
        .env("GATES_ERROR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&pytest.stdout);
    let [passed, failed, skipped, errors] = pytest_counts(&text);
    assert_eq!([passed, failed, skipped, errors], [10, 1, 1, 1], "{text}");
    let field = |name: &str| record[name].as_u64().unwrap();
    assert_eq!(field("passed"), passed);
    assert_eq!(field("failed"), failed);
    assert_eq!(field("skipped"), skipped);
    assert_eq!(field("errors"), errors);
    assert_eq!(field("tests"), passed + failed + skipped + errors);
    assert_eq!(record["runs_green"], 0.0);
    let samples = record["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 1);
    assert_eq!(
        samples[0]["exit_code"].as_i64(),
        pytest.status.code().map(i64::from)
    );
    assert!(record["durations"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.ends_with("test_quick[7]")));
}

#[test]
fn two_xdist_workers_peak_higher_than_one_process() {
    let project = target();
    apply(&project, "xdist.toml", &["--var", &python_var()], &[])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "gates-xdist-memory",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    let serial = &report["records"]["serial"];
    let parallel = &report["records"]["parallel"];
    assert_eq!(serial["passed"], 12);
    assert_eq!(parallel["passed"], 12, "xdist ran the same tests");
    let (one, two) = (num(&serial["rss_peak_mb"]), num(&parallel["rss_peak_mb"]));
    // A controller and two workers are three interpreters against one.
    assert!(
        two > one * 1.5,
        "rss_peak_mb with -n 2 {two} vs alone {one}"
    );
}

#[test]
fn a_test_failing_every_other_run_is_flaky() {
    let project = target();
    let outside = tempfile::tempdir().unwrap();
    let counter = outside.path().join("counter");
    apply(
        &project,
        "flaky.toml",
        &[
            "--var",
            &python_var(),
            "--var",
            &format!("counter={}", counter.display()),
        ],
        &[],
    )
    .stderr(lines(&[
        "planrun apply gates-flaky -> [TARGET] (run [RUN])",
        "▶ twice suite",
        "  twice: run 1/2 took [DURATION]",
        "  twice: run 2/2 took [DURATION]",
        "  warning: 1 of 2 counted runs were not green (non-zero exit, failure or error)",
        "  warning: 1 flaky test: tests/test_demo.py::test_every_other_run",
        "✓ twice [DURATION]  median [DURATION] ± [DURATION], 11 passed, 1 failed",
        "records: twice [DURATION]",
        "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        "report: .planrun/runs/[RUN]/report.json",
    ]))
    .run();
    assert_eq!(fs::read_to_string(&counter).unwrap(), "2", "two runs");
    let report = read_json(&only_run(&project).join("report.json"));
    let record = &report["records"]["twice"];
    let flaky: Vec<&str> = record["flaky"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(flaky.len(), 1, "{flaky:?}");
    assert!(flaky[0].ends_with("test_every_other_run"), "{flaky:?}");
    assert_eq!(record["runs_green"], 0.5);
    assert_eq!(record["failed"], 1);
    assert_eq!(record["passed"], 11);
}

#[test]
fn a_warn_gate_reports_and_keeps_the_changes() {
    let project = target();
    let out = apply(&project, "warn.toml", &[], &[])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "gates-warn",
            "applied in [DURATION]: 0/1 gates passed, 1 file changed (+1 -1); exit 0",
        )
        .stderr_contains("records: quick [DURATION]")
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "passed");
    let warned = gate(&report, "quick.wall.median < 0");
    assert_eq!(warned["status"], "warn");
    assert_eq!(warned["on_fail"], "warn");
    assert!(warned["explanation"]
        .as_str()
        .unwrap()
        .starts_with("quick.wall.median "));
    assert!(report.get("rollback").is_none(), "{report:#}");
    assert_eq!(project.read("delay.py").lines().last(), Some("DELAY = 0.0"));
    assert!(
        out.stderr
            .contains("< 0 ... warn  (an untrusted criterion)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_gate_on_a_metric_no_run_produced_fails_clearly() {
    let project = target();
    let before = project.hash_tree();
    // CI mode without GITHUB_ACTIONS: no annotations.
    let out = apply(&project, "missing.toml", &["--ci"], &[])
        .status(1)
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "gates-missing-metric",
            "gate failed, rolled back in [DURATION]: 0/1 gates passed, 1 \
             file changed (+1 -1); exit 1",
        )
        .stderr_contains(
            "gate no run produced `quick.passed` ... ERROR  (would hold for \
             any count, so only a missing metric can fail it)",
        )
        .stderr_contains("records: quick [DURATION]")
        .run();
    assert_eq!(project.hash_tree(), before);
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "gate-failed");
    let missing = gate(&report, "quick.passed >= 0");
    assert_eq!(missing["status"], "error");
    assert_eq!(missing["message"], "no run produced `quick.passed`");
    assert!(
        out.stderr
            .contains("no run produced `quick.passed` ... ERROR"),
        "{}",
        out.stderr
    );
    no_annotations(&out);
}

/// gate.toml applied with `args`, both gates passing.
fn green_apply(project: &Project, args: &[&str]) {
    apply(project, "gate.toml", args, &[])
        // Its steps' progress lines interleave, and the speed verdict's numbers vary.
        .apply_progress(
            "gates-speedup",
            "applied in [DURATION]: 2/2 gates passed, 1 file changed (+1 -1); exit 0",
        )
        .stderr_contains(
            "gate after.failed 0 == 0 and after.passed 12 == baseline.passed 12 ... pass",
        )
        .run();
}

/// Rolls back what [`green_apply`] did: delay.py and the cache pytest left.
fn green_rollback(project: &Project) {
    project
        .test()
        .args(["rollback", "--target", "."])
        // The edit and the cache are journaled by steps that run at once, in either order.
        .stdout_contains("rolled back run [RUN] (plan gates-speedup) in [DURATION]")
        .stdout_contains("  restored  delay.py")
        .stdout_contains("  removed   .pytest_cache (a cache the run created)")
        .run();
}

#[test]
fn a_saved_baseline_stands_in_for_the_baseline_suite() {
    let project = target();
    // Generous factor: this test is about where the numbers come from, not about speed.
    let vars = [
        "--var",
        &python_var(),
        "--var",
        "runs=2",
        "--var",
        "factor=100",
    ]
    .map(String::from);
    let args = |extra: &[&str]| -> Vec<String> {
        vars.iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let first = args(&["--save-baseline", "main"]);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    green_apply(&project, &first);
    let saved = read_json(&project.join(".planrun/baselines/main.json"));
    let run1 = only_run(&project);
    let report1 = read_json(&run1.join("report.json"));
    assert_eq!(saved, report1["records"]["baseline"]);

    green_rollback(&project);
    assert_eq!(
        project.read("delay.py").lines().last(),
        Some("DELAY = 0.15")
    );

    let second = args(&["--baseline", "main"]);
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    green_apply(&project, &second);
    let runs = run_dirs(&project);
    assert_eq!(runs.len(), 2);
    let run2 = &runs[1];
    let report2 = read_json(&run2.join("report.json"));
    assert_eq!(
        report2["baselines_used"],
        serde_json::json!({"baseline": "main"})
    );
    assert_eq!(report2["records"]["baseline"], saved);
    let before = step(&report2, "before");
    assert!(before.get("log").is_none(), "{before:#}");
    assert!(before["message"]
        .as_str()
        .unwrap()
        .contains("saved baseline `main`"));
    let logs: Vec<String> = fs::read_dir(run2.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.iter().all(|l| !l.starts_with("baseline"))
            && logs.iter().any(|l| l.starts_with("after")),
        "the baseline suite did not run: {logs:?}"
    );
    let wall = gate(&report2, "after.wall.median <= baseline.wall.median * 100");
    assert_eq!(wall["status"], "pass");
    assert_eq!(
        wall["values"]["baseline.wall.median"],
        saved["wall"]["median"]
    );

    // A record file elsewhere works as well as a saved name.
    green_rollback(&project);
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("main-branch.json");
    fs::copy(project.join(".planrun/baselines/main.json"), &file).unwrap();
    let third = args(&["--baseline", file.to_str().unwrap()]);
    let third: Vec<&str> = third.iter().map(String::as_str).collect();
    green_apply(&project, &third);
    let report3 = read_json(&run_dirs(&project)[2].join("report.json"));
    assert_eq!(
        report3["baselines_used"]["baseline"],
        file.to_str().unwrap()
    );
    assert_eq!(report3["records"]["baseline"], saved);

    // `planrun report` re-renders a past run in each format.
    let id1 = run1.file_name().unwrap().to_str().unwrap();
    let json = project
        .test()
        .args(["report", id1, "--target", ".", "--format", "json"])
        .stdout_unchecked("parsed and checked field by field below")
        .run();
    let rendered: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rendered, report1);
    let id2 = run2.file_name().unwrap().to_str().unwrap();
    let markdown = project
        .test()
        .args(["report", id2, "--target", ".", "--format", "markdown"])
        // stdout: measured numbers vary.
        .stdout_contains("# gates-speedup — ✅ passed")
        .stdout_contains(
            "Measure the demo suite, make its tests sleep less, keep it only \
             if faster and still green.",
        )
        .stdout_contains(
            "plan `[REPO]/tests/fixtures/gates/gate.toml` · target `[TARGET]` \
             · run `[RUN]` · [DURATION] · exit 0",
        )
        .stdout_contains("## Records")
        .stdout_contains("| metric | baseline | after | after/baseline |")
        .stdout_contains("|---|---:|---:|---|")
        .stdout_contains("| tests | 13 | 13 | = |")
        .stdout_contains("| passed | 12 | 12 | = |")
        .stdout_contains("| failed | 0 | 0 | = |")
        .stdout_contains("| errors | 0 | 0 | = |")
        .stdout_contains("| skipped | 1 | 1 | = |")
        .stdout_contains("| runs_green | 100% | 100% | = |")
        .stdout_contains("| flaky | 0 | 0 | = |")
        .stdout_contains("- `baseline` comes from the saved baseline `main`, not from this run")
        .stdout_contains("## Gates")
        .stdout_contains("| verdict | check | explanation | why |")
        .stdout_contains("|---|---|---|---|")
        .stdout_contains(
            "| ✅ pass | `after.failed == 0 and after.passed == \
             baseline.passed` | `after.failed 0 == 0 and after.passed 12 == \
             baseline.passed 12` | the suite must stay green |",
        )
        .stdout_contains("## Steps")
        .stdout_contains("| status | phase | step | action | duration | note |")
        .stdout_contains("|---|---|---|---|---:|---|")
        .stdout_contains(
            "| ✅ ok | measure | before | suite | [DURATION] | record \
             `baseline` from saved baseline `main` |",
        )
        .stdout_contains("| ✅ ok | speedup | shorter-sleeps | replace | [DURATION] |  |")
        .stdout_contains(
            "| ✅ ok | speedup | after | suite | [DURATION] | median \
             [DURATION] ± [DURATION], 12 passed, 0 failed<br>log: \
             `.planrun/runs/[RUN]/logs/after-run-2.log` |",
        )
        .stdout_contains("## Changes")
        .stdout_contains("1 file changed, 1 insertion(+), 1 deletion(-)")
        .run();
    assert_eq!(
        markdown.stdout.trim_end(),
        fs::read_to_string(run2.join("summary.md"))
            .unwrap()
            .trim_end()
    );
    let junit = project
        .test()
        .args(["report", id1, "--target", ".", "--format", "junit"])
        .stdout_unchecked("parsed and checked field by field below")
        .run();
    roxmltree::Document::parse(&junit.stdout).unwrap();
    assert_eq!(
        junit.stdout.trim_end(),
        fs::read_to_string(run1.join("junit.xml"))
            .unwrap()
            .trim_end()
    );
}

#[test]
fn exit_2_for_an_invalid_plan_or_a_bad_var() {
    let project = target();
    apply(&project, "invalid.toml", &[], &[])
        .status(2)
        .stderr(lines(&[
            "error: missing field `command` in step `suite`",
            " --> [REPO]/tests/fixtures/gates/invalid.toml:8:3",
            "  |",
            "8 |   [[phase.step]]",
            "  |   ^^^^^^^^^^^^^^",
            "  = help: add `command = ...` (the test command, run with `sh \
             -c` in the target directory)",
            "",
            "error: unknown field `comand` in step `suite`",
            "  --> [REPO]/tests/fixtures/gates/invalid.toml:11:3",
            "   |",
            "11 |   comand = \"python3 -m pytest -q\"",
            "   |   ^^^^^^",
            "   = help: did you mean `command`?",
            "",
        ]))
        .run();
    apply(&project, "gate.toml", &["--var", "factor"], &[])
        .status(2)
        .stderr("error: `--var factor` lacks a value; write `--var factor=VALUE`\n")
        .run();
    // A baseline that does not exist, or a plan with no suite for it to stand in for, is a
    // command-line error found before anything runs.
    apply(&project, "gate.toml", &["--baseline", "nope"], &[])
        .status(2)
        .stderr(lines(&[
            "error: no baseline `nope`: neither \
             `[TARGET]/.planrun/baselines/nope.json` nor a file of that name \
             exists",
            "  hint: save one with `planrun apply --save-baseline NAME`, or \
             pass a record JSON file",
        ]))
        .run();
    apply(&project, "steps.toml", &["--save-baseline", "main"], &[])
        .status(2)
        .stderr(lines(&[
            "error: --save-baseline main given, but no suite step of the plan \
             has `baseline = true`",
            "  hint: mark the suite that measures the baseline with `baseline \
             = true`",
        ]))
        .run();
    assert!(!project.join(".planrun/runs").exists(), "nothing ran");
}

#[test]
fn exit_3_for_a_failing_step_rolled_back() {
    let project = target();
    let before = project.hash_tree();
    apply(&project, "steps.toml", &[], &[])
        .status(3)
        .stderr_contains("exited with status 7")
        .run();
    assert_eq!(project.hash_tree(), before);
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "step-failed");
    assert_eq!(step(&report, "boom")["status"], "failed");
    assert_eq!(report["rollback"]["ok"], true);
}

#[test]
fn exit_4_when_an_undo_command_fails_during_rollback() {
    let project = target();
    apply(&project, "steps.toml", &["--var", "undo=exit 9"], &[])
        .status(4)
        .stderr_contains("is incomplete")
        .stderr_contains("planrun rollback --target")
        .stdout("  restored  delay.py\n")
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "rollback-failed");
    assert_eq!(report["exit_code"], 4);
    assert_eq!(report["rollback"]["ok"], false);
    assert!(
        report["rollback"]["message"]
            .as_str()
            .unwrap()
            .contains("exit 9"),
        "{:#}",
        report["rollback"]
    );
}

#[test]
fn exit_130_for_sigint_during_a_suite_rolled_back() {
    let project = target();
    let before = project.hash_tree();
    let outside = tempfile::tempdir().unwrap();
    let hold = outside.path().join("holding");
    let hold_var = format!("hold={}", hold.display());
    let child = apply(
        &project,
        "sigint.toml",
        &["--var", &python_var(), "--var", &hold_var],
        &[],
    )
    .status(130)
    .stderr_contains("interrupted by a signal")
    // stderr: concurrent steps' progress lines interleave.
    .apply_progress(
        "gates-sigint",
        "interrupted, rolled back in [DURATION]: 0/0 gates passed, 1 \
         file changed (+1 -1); exit 130",
    )
    .spawn();
    // The held test writes the file once pytest is inside the suite.
    let waited = Instant::now();
    while !hold.exists() {
        if waited.elapsed() > Duration::from_secs(60) {
            child.signal(libc::SIGKILL);
            panic!("the suite never reached the held test");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal(libc::SIGINT);
    child.wait();
    assert_eq!(project.hash_tree(), before);
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["exit_code"], 130);
    assert_eq!(
        report["rollback"]["restored"],
        serde_json::json!(["delay.py"])
    );
    assert_eq!(step(&report, "held")["status"], "failed");
}

#[test]
fn a_suite_that_leaves_no_junit_fails_with_its_last_output() {
    let project = target();
    apply(&project, "nojunit.toml", &[], &[])
        .status(3)
        .stderr(lines(&[
            "planrun apply gates-no-junit -> [TARGET] (run [RUN])",
            "▶ not-pytest suite",
            "✗ not-pytest [DURATION]  run 1 of `echo first words; echo last \
             words >&2; exit 3; true` left no junit results (the junit file \
             was not written); see \
             `[TARGET]/.planrun/runs/[RUN]/logs/broken-run-1.log`",
            "  | first words",
            "  | last words",
            "✗ step `not-pytest` failed; rolling back",
            "↺ rolled back in [DURATION]: 0 restored, 0 deleted, 0 \
             environments restored",
            "step failed, rolled back in [DURATION]: 0/0 gates passed, 0 \
             files changed (+0 -0); exit 3",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let report = read_json(&only_run(&project).join("report.json"));
    let failed = step(&report, "not-pytest");
    assert_eq!(failed["status"], "failed");
    assert!(failed["message"]
        .as_str()
        .unwrap()
        .contains("| first words"));
    assert!(failed["log"].is_string(), "{failed:#}");
    step_logs_exist(&project, &report);
    assert!(project
        .read(failed["log"].as_str().unwrap())
        .contains("last words"));
}

#[test]
fn with_json_in_github_actions_stdout_stays_the_report_alone() {
    let project = target();
    let out = apply(
        &project,
        "warn.toml",
        &["--ci", "--json"],
        &[("GITHUB_ACTIONS", "true".as_ref())],
    )
    .stdout_unchecked("parsed and checked field by field below")
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    .apply_progress(
        "gates-warn",
        "applied in [DURATION]: 0/1 gates passed, 1 file changed (+1 -1); exit 0",
    )
    .stderr_contains("records: quick [DURATION]")
    .run();
    let printed: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("--json stdout does not parse: {e}\n{}", out.stdout));
    assert_eq!(printed, read_json(&only_run(&project).join("report.json")));
    // The runner reads workflow commands on stderr as well.
    assert!(
        out.stderr.contains(&format!(
            "::warning file={},line=29,title=planrun gate warning::quick.wall.median < 0 — quick.wall.median ",
            plan("warn.toml").display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn ci_true_in_the_environment_is_ci_mode() {
    let project = target();
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("step-summary.md");
    apply(
        &project,
        "warn.toml",
        &[],
        &[
            ("CI", "true".as_ref()),
            ("GITHUB_ACTIONS", "true".as_ref()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
        ],
    )
    .stdout_contains(
        "::warning file=[REPO]/tests/fixtures/gates/warn.toml,line=29,title=planrun gate warning::quick.wall.median < 0 — quick.wall.median ",
    )
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    .apply_progress(
        "gates-warn",
        "applied in [DURATION]: 0/1 gates passed, 1 file changed (+1 -1); exit 0",
    )
    .stderr_contains("records: quick [DURATION]")
    .run();
    let markdown = fs::read_to_string(only_run(&project).join("summary.md")).unwrap();
    assert_eq!(
        fs::read_to_string(&summary).unwrap().trim_end(),
        markdown.trim_end()
    );
}
