//! Suites, gates and reports end to end: real pytest runs on a small demo target, verdicts with
//! their numbers, rollback on a failed gate, CI output, saved baselines and every exit code.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, Output, Project};

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

/// Runs `planrun apply <plan> --target . <extra>` with exactly the CI variables in `env`: the
/// ones the test process may have inherited are removed so a CI machine cannot change a verdict.
fn apply(project: &Project, plan_name: &str, extra: &[&str], env: &[(&str, &OsStr)]) -> Output {
    let mut cmd = project.command(["apply".as_ref(), plan(plan_name).as_os_str()]);
    cmd.args(["--target", "."]).args(extra);
    cmd.env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Output::from_std(cmd.output().expect("run planrun"))
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
        r"(?m)^gate after\.wall\.median ([0-9.]+) <= baseline\.wall\.median ([0-9.]+) \* {} = ([0-9.]+) \.\.\. {verdict}",
        regex::escape(factor)
    );
    let caps = regex::Regex::new(&pattern)
        .unwrap()
        .captures(stderr)
        .unwrap_or_else(|| panic!("no verdict line matching {pattern}\n{stderr}"));
    let n = |i: usize| caps[i].parse::<f64>().unwrap();
    (n(1), n(2), n(3))
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
    out.check(
        !out.stdout.lines().any(|l| l.starts_with("::")),
        "no `::` annotation lines on stdout",
    );
}

#[test]
fn a_gate_that_must_pass_applies_and_reports_its_numbers() {
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
    );
    out.expect_code(0);
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
        close(limit, b * 0.9) && a <= limit,
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
            "--report-dir",
            artifacts.to_str().unwrap(),
        ],
        &[
            ("GITHUB_ACTIONS", "true".as_ref()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
        ],
    );
    out.expect_code(1);
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
        a > limit && close(limit, b * 0.01),
        "{a} > {b} * 0.01 = {limit}"
    );
    out.expect_stderr("FAIL  (shorter sleeps must pay for themselves)");

    // GitHub: one annotation per evaluated gate, on stdout.
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{annotations:#?}");
    assert!(annotations
        .iter()
        .any(|l| l.starts_with(&format!(
            "::error title=planrun gate failed::{check} — after.wall.median "
        )) && l.ends_with("(shorter sleeps must pay for themselves)")));
    assert!(annotations.iter().any(|l| l.starts_with(
        "::notice title=planrun gate passed::after.failed == 0 and after.passed == baseline.passed — after.failed 0 == 0"
    )));

    let markdown = fs::read_to_string(run.join("summary.md")).unwrap();
    let appended = fs::read_to_string(&summary).unwrap();
    assert_eq!(
        appended.strip_prefix("# earlier step\n").map(str::trim_end),
        Some(markdown.trim_end()),
        "GITHUB_STEP_SUMMARY gets summary.md appended"
    );
    for file in ["report.json", "junit.xml", "summary.md"] {
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
    apply(&project, "record.toml", &["--var", &python_var()], &[]).expect_code(0);
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
    apply(&project, "xdist.toml", &["--var", &python_var()], &[]).expect_code(0);
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
    .expect_code(0);
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
    let out = apply(&project, "warn.toml", &[], &[]);
    out.expect_code(0);
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
    out.expect_stderr("< 0 ... warn  (an untrusted criterion)");
}

#[test]
fn a_gate_on_a_metric_no_run_produced_fails_clearly() {
    let project = target();
    let before = project.hash_tree();
    // CI mode without GITHUB_ACTIONS: no annotations.
    let out = apply(&project, "missing.toml", &["--ci"], &[]);
    out.expect_code(1);
    assert_eq!(project.hash_tree(), before);
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "gate-failed");
    let missing = gate(&report, "quick.passed >= 0");
    assert_eq!(missing["status"], "error");
    assert_eq!(missing["message"], "no run produced `quick.passed`");
    out.expect_stderr("no run produced `quick.passed` ... ERROR");
    no_annotations(&out);
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
    apply(&project, "gate.toml", &first, &[]).expect_code(0);
    let saved = read_json(&project.join(".planrun/baselines/main.json"));
    let run1 = only_run(&project);
    let report1 = read_json(&run1.join("report.json"));
    assert_eq!(saved, report1["records"]["baseline"]);

    project
        .planrun(["rollback", "--target", "."])
        .expect_code(0);
    assert_eq!(
        project.read("delay.py").lines().last(),
        Some("DELAY = 0.05")
    );

    let second = args(&["--baseline", "main"]);
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    apply(&project, "gate.toml", &second, &[]).expect_code(0);
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
    project
        .planrun(["rollback", "--target", "."])
        .expect_code(0);
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("main-branch.json");
    fs::copy(project.join(".planrun/baselines/main.json"), &file).unwrap();
    let third = args(&["--baseline", file.to_str().unwrap()]);
    let third: Vec<&str> = third.iter().map(String::as_str).collect();
    apply(&project, "gate.toml", &third, &[]).expect_code(0);
    let report3 = read_json(&run_dirs(&project)[2].join("report.json"));
    assert_eq!(
        report3["baselines_used"]["baseline"],
        file.to_str().unwrap()
    );
    assert_eq!(report3["records"]["baseline"], saved);

    // `planrun report` re-renders a past run in each format.
    let id1 = run1.file_name().unwrap().to_str().unwrap();
    let json = project.planrun(["report", id1, "--target", ".", "--format", "json"]);
    json.expect_code(0);
    let rendered: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rendered, report1);
    let id2 = run2.file_name().unwrap().to_str().unwrap();
    let markdown = project.planrun(["report", id2, "--target", ".", "--format", "markdown"]);
    markdown.expect_code(0);
    assert_eq!(
        markdown.stdout.trim_end(),
        fs::read_to_string(run2.join("summary.md"))
            .unwrap()
            .trim_end()
    );
    let junit = project.planrun(["report", id1, "--target", ".", "--format", "junit"]);
    junit.expect_code(0);
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
    let out = apply(&project, "invalid.toml", &[], &[]);
    out.expect_code(2).expect_stderr("unknown field `comand`");
    let out = apply(&project, "gate.toml", &["--var", "factor"], &[]);
    out.expect_code(2).expect_stderr("--var factor");
    // A baseline that does not exist, or a plan with no suite for it to stand in for, is a
    // command-line error found before anything runs.
    let out = apply(&project, "gate.toml", &["--baseline", "nope"], &[]);
    out.expect_code(2).expect_stderr("no baseline `nope`");
    let out = apply(&project, "steps.toml", &["--save-baseline", "main"], &[]);
    out.expect_code(2).expect_stderr("baseline = true");
    assert!(!project.join(".planrun/runs").exists(), "nothing ran");
}

#[test]
fn exit_3_for_a_failing_step_rolled_back() {
    let project = target();
    let before = project.hash_tree();
    let out = apply(&project, "steps.toml", &[], &[]);
    out.expect_code(3).expect_stderr("exited with status 7");
    assert_eq!(project.hash_tree(), before);
    let report = read_json(&only_run(&project).join("report.json"));
    assert_eq!(report["status"], "step-failed");
    assert_eq!(step(&report, "boom")["status"], "failed");
    assert_eq!(report["rollback"]["ok"], true);
}

#[test]
fn exit_4_when_an_undo_command_fails_during_rollback() {
    let project = target();
    let out = apply(&project, "steps.toml", &["--var", "undo=exit 9"], &[]);
    out.expect_code(4)
        .expect_stderr("is incomplete")
        .expect_stderr("planrun rollback --target");
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
    let mut cmd = project.command([
        "apply".as_ref(),
        plan("sigint.toml").as_os_str(),
        "--target".as_ref(),
        ".".as_ref(),
        "--var".as_ref(),
        python_var().as_ref(),
        "--var".as_ref(),
        hold_var.as_ref(),
    ]);
    cmd.env_remove("CI")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The held test writes the file once pytest is inside the suite.
    let waited = Instant::now();
    while !hold.exists() {
        if waited.elapsed() > Duration::from_secs(60) {
            // SAFETY: kill only sends a signal to the child this test started.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
            panic!("the suite never reached the held test");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let out = Output::from_std(child.wait_with_output().unwrap());
    out.expect_code(130);
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
    let out = apply(&project, "nojunit.toml", &[], &[]);
    out.expect_code(3)
        .expect_stderr("left no junit results")
        .expect_stderr("| last words");
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
    );
    out.expect_code(0);
    let printed: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("--json stdout does not parse: {e}\n{}", out.stdout));
    assert_eq!(printed, read_json(&only_run(&project).join("report.json")));
    // The runner reads workflow commands on stderr as well.
    out.expect_stderr(
        "::warning title=planrun gate warning::quick.wall.median < 0 — quick.wall.median ",
    );
}

#[test]
fn ci_true_in_the_environment_is_ci_mode() {
    let project = target();
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("step-summary.md");
    let out = apply(
        &project,
        "warn.toml",
        &[],
        &[
            ("CI", "true".as_ref()),
            ("GITHUB_ACTIONS", "true".as_ref()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
        ],
    );
    out.expect_code(0).expect_stdout(
        "::warning title=planrun gate warning::quick.wall.median < 0 — quick.wall.median ",
    );
    let markdown = fs::read_to_string(only_run(&project).join("summary.md")).unwrap();
    assert_eq!(
        fs::read_to_string(&summary).unwrap().trim_end(),
        markdown.trim_end()
    );
}
