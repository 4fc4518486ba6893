//! The seed plans end to end on real demo suites: the persistence rewrite's measured speed-up,
//! xdist kept where it pays and rolled back where it does not, and xdist on unseen layouts.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{busy_loops, exclusive as heavy, plan, repo_root, Output, Project, Test};

/// `planrun apply plans/<plan_name> --target <copy> <extra...>` in the project.
fn apply<'a>(project: &'a Project, plan_name: &str, extra: &[&str]) -> Test<'a> {
    let mut args: Vec<OsString> = vec![
        "apply".into(),
        plan(plan_name).into(),
        "--target".into(),
        project.path().into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    project.test().args(args)
}

/// The `report.json` whose path the apply printed on its last `report: ` line (relative to
/// the project, where planrun ran, unless absolute).
fn report(project: &Project, out: &Output) -> Value {
    let all = out.all();
    let path = all
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no `report:` line in the output\n{all}"));
    let path = project.join(path.trim());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}\n{all}", path.display()));
    serde_json::from_str(&text).expect("parse report.json")
}

/// A number at a `/`-separated path of a report, e.g. `records/after/wall/median`.
fn num(report: &Value, path: &str) -> f64 {
    report
        .pointer(&format!("/{path}"))
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path} in {report:#}"))
}

/// `(check, status)` of every gate the report holds.
fn gates(report: &Value) -> Vec<(String, String)> {
    report["gates"]
        .as_array()
        .expect("gates array")
        .iter()
        .map(|g| {
            (
                g["check"].as_str().unwrap_or_default().to_string(),
                g["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `planrun rollback` in the project succeeds, gives back `before` byte for byte, and removes
/// the venv the apply created.
fn rollback_restores(project: &Project, before: &BTreeMap<PathBuf, (u32, String)>) {
    project
        .test()
        .args([
            OsString::from("rollback"),
            "--target".into(),
            project.path().into(),
        ])
        // What was restored depends on the plan and the layout.
        .stdout_contains("rolled back run [RUN] (plan ")
        .stdout_contains("  removed   .venv/ (venv created by the run)\n")
        .run();
    assert_eq!(
        &project.hash_tree(),
        before,
        "rollback must restore every byte"
    );
    assert!(
        !project.join(".venv").exists(),
        "the venv the apply created is removed by rollback"
    );
}

/// The value of `key` in `[section]` of an INI-style file, continuation lines not needed here.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == format!("[{section}]");
        } else if inside {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// The full persistence plan as a user runs it, with its default runs and warmup: a real venv,
/// a real baseline, the rewrite, every gate passing and a speed-up of at least 10x measured
/// from the recorded medians; rollback then restores the demo exactly.
#[test]
fn persistence_plan_is_ten_times_faster_and_rolls_back_exactly() {
    let _heavy = heavy();
    let project = Project::new("persistence-demo");
    let before = project.hash_tree();
    let out = apply(&project, "persistence-demo.toml", &[])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "persistence-demo",
            "applied in [DURATION]: 6/6 gates passed, 1 file changed (+26 -18); exit 0",
        )
        .stderr_contains("  baseline: warmup 1/1 took [DURATION]")
        .stderr_contains("gate baseline.failed 0 == 0 and baseline.errors 0 == 0 ... pass")
        .stderr_contains("  after: warmup 1/1 took [DURATION]")
        .stderr_contains("gate after.failed 0 == 0 and after.errors 0 == 0 ... pass")
        .stderr_contains("gate after.tests 109 == baseline.tests 109 ... pass")
        .stderr_contains(
            "gate leakcheck.failed 0 == 0 and leakcheck.errors 0 == 0 and \
             leakcheck.tests 109 == baseline.tests 109 ... pass",
        )
        .run();
    let report = report(&project, &out);
    assert_eq!(report["status"], "passed", "{report:#}");
    // The plan's defaults, not a shortened run: `runs = "auto"`, each suite warmed up by one
    // collection pass (`warmup = "collect"`). A 20x speed-up is settled from the fewest runs:
    // the baseline's one run, which opens the interleaved pairs as their first `A` (it ended a
    // collection pass before the after suite's first run), and the after suite's run beside it.
    let runs = num(&report, "records/baseline/runs");
    let warmup = num(&report, "records/baseline/warmup");
    let pairs = num(&report, "records/after/comparison/pairs");
    assert_eq!(
        (runs, warmup),
        (pairs, 1.0),
        "baseline: {runs} counted runs for {pairs} pairs, {warmup} warmup"
    );
    assert!(num(&report, "records/after/runs") <= 2.0);
    let speed = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["check"] == "after.wall.median <= baseline.wall.median * 0.43")
        .expect("the speed gate");
    let high = speed["intervals"][0]["high"].as_f64().unwrap();
    assert!(
        high < 0.43,
        "the whole interval is below the bound: {speed:#}"
    );
    assert!(
        out.stderr.contains("x faster, 99% CI"),
        "the verdict prints its interval\n{}",
        out.stderr
    );
    let baseline = num(&report, "records/baseline/wall/median");
    let after = num(&report, "records/after/wall/median");
    assert!(
        baseline >= 10.0 * after,
        "expected at least 10x: baseline median {baseline:.2}s, after median {after:.2}s"
    );
    let tests = num(&report, "records/baseline/tests");
    assert!(tests >= 80.0, "the demo has at least 80 tests, ran {tests}");
    assert_eq!(num(&report, "records/after/tests"), tests);
    assert_eq!(num(&report, "records/leakcheck/tests"), tests);
    assert_eq!(num(&report, "records/after/failed"), 0.0);
    assert!(
        report["records"]["baseline"]["slowest_tests"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "per-test durations of the baseline are recorded"
    );
    assert!(
        report["records"]["leakcheck"]["command"]
            .as_str()
            .is_some_and(|c| c.ends_with("--reverse")),
        "the leak check runs the suite in reverse"
    );
    let gates = gates(&report);
    assert_eq!(
        gates.len(),
        6,
        "every gate of the plan was evaluated: {gates:?}"
    );
    assert!(gates.iter().all(|(_, s)| s == "pass"), "{gates:?}");
    assert!(
        out.stderr.contains("after.wall.median") && out.stderr.contains("... pass"),
        "the verdicts are printed\n{}",
        out.stderr
    );
    let template =
        std::fs::read_to_string(repo_root().join("plans/templates/persistence/conftest.py"))
            .expect("read the template");
    assert_eq!(project.read("tests/conftest.py"), template);
    assert!(
        project.join(".venv/bin/python").exists(),
        "planrun made the venv"
    );
    // The README's first command again: it knows it is applied, and measures nothing.
    let again = apply(&project, "persistence-demo.toml", &[])
        .stdout_contains("is already applied")
        .stdout_contains("6/6 gates passed")
        .stderr("note: `--reapply` runs it again on top; `planrun rollback` undoes it\n")
        .run();
    assert!(!again.stderr.contains("▶ baseline"), "{}", again.stderr);
    rollback_restores(&project, &before);
}

/// xdist on a slow suite pays for itself: the plan passes, pytest-xdist is recorded in the
/// target's requirements-dev.txt and the addopts of pytest.ini carry the flags (with the
/// `maxprocesses` var); rollback restores the target exactly.
///
/// The verdict must not depend on the host's load, so two busy loops run beside it. The suite
/// waits rather than computes (tests/fixtures/targets/iowait: 12 tests of 1.25 s), so only
/// xdist's start-up competes for the cores. With `-n auto` meaning two workers on a 2-core
/// machine, 15 s became 7.5 s plus a start-up that grows with the load (2.5-7 s on a loaded
/// host), about 1.2-1.3x against the plan's 1.2x bound: inconclusive. Four workers (pytest-xdist's
/// own `PYTEST_XDIST_AUTO_NUM_WORKERS` for `auto`, on any host) wait 3.75 s: 1.3-1.5x a pair
/// with two busy loops beside it. A host starved far beyond that (load 11-18 on 2 cores) gets
/// no speed-up from any worker count, and the plan rightly rolls back: see the fixture's README.
#[test]
fn xdist_is_kept_on_the_slow_demo() {
    let _heavy = heavy();
    let _load = busy_loops(2);
    let project =
        Project::from_dir(&crate::support::repo_root().join("tests/fixtures/targets/iowait"));
    let before = project.hash_tree();
    let out = apply(
        &project,
        "xdist.toml",
        &[
            "--var",
            "python=.venv/bin/python",
            // One warmup (a fresh venv compiles its bytecode on first import, which costs
            // most on a loaded machine), then as many runs as the speed gate needs to be sure.
            "--var",
            "warmup=1",
            "--var",
            "maxprocesses=4",
        ],
    )
    .env("PYTEST_XDIST_AUTO_NUM_WORKERS", "4")
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    .apply_progress(
        "xdist",
        "applied in [DURATION]: 4/4 gates passed, 2 files changed (+2 -1); exit 0",
    )
    .stderr_contains("  measure: warmup 1/1 took [DURATION]")
    .stderr_contains("  after: warmup 1/1 took [DURATION]")
    .stderr_contains("gate after.failed 0 <= baseline.failed 0 ... pass")
    .stderr_contains("gate after.tests 12 == baseline.tests 12 ... pass")
    .stderr_contains("gate after.runs_green 1 >= baseline.runs_green 1 ... pass")
    .run();
    let report = report(&project, &out);
    assert!(
        gates(&report).iter().all(|(_, s)| s == "pass"),
        "{:?}",
        gates(&report)
    );
    assert!(
        num(&report, "records/after/wall/median") < num(&report, "records/baseline/wall/median")
    );
    let reqs = project.read("requirements-dev.txt");
    assert!(
        reqs.lines().any(|l| l.trim() == "pytest-xdist>=3.5"),
        "requirements-dev.txt:\n{reqs}"
    );
    let ini = project.read("pytest.ini");
    let addopts = ini_value(&ini, "pytest", "addopts").unwrap_or_default();
    assert!(
        addopts.ends_with("-n auto --dist worksteal --maxprocesses 4"),
        "pytest.ini:\n{ini}"
    );
    assert!(
        addopts.starts_with("-q -p no:cacheprovider"),
        "existing addopts kept: {addopts}"
    );
    rollback_restores(&project, &before);
}

/// On a suite that is already fast (the demo after the persistence rewrite) xdist's start-up
/// makes it slower: planrun rolls back by itself, exits 1, and prints the failed gate with
/// both medians.
#[test]
fn xdist_is_rolled_back_on_a_fast_suite_and_says_why() {
    let _heavy = heavy();
    let project = Project::new("persistence-demo");
    let template =
        std::fs::read_to_string(repo_root().join("plans/templates/persistence/conftest.py"))
            .expect("read the template");
    project.write("tests/conftest.py", &template);
    let before = project.hash_tree();
    // A fast suite's runs vary most (start-up dominates them), so on a busy 2-core machine the
    // interval may not clear the bound within the budget: inconclusive (exit 7) is rolled back
    // just the same. Either way the verdict is not a pass.
    let out = apply(&project, "xdist.toml", &[])
        .status_in(&[1, 7])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .stderr_contains(
            "rolled back in [DURATION]: 3/4 gates passed, 2 files changed (+2 -1); exit ",
        )
        .stderr_contains("  measure: warmup 1/1 took [DURATION]")
        .stderr_contains("  after: warmup 1/1 took [DURATION]")
        .stderr_contains("gate after.failed 0 <= baseline.failed 0 ... pass")
        .stderr_contains("gate after.tests 109 == baseline.tests 109 ... pass")
        .stderr_contains("gate after.runs_green 1 >= baseline.runs_green 1 ... pass")
        .run();
    assert_eq!(
        project.hash_tree(),
        before,
        "a failed gate leaves the target as it was"
    );
    let verdict = regex::Regex::new(
        r"after\.wall\.median ([0-9.]+) <= baseline\.wall\.median ([0-9.]+) / 1\.2 = ([0-9.]+) \([0-9.]+x (?:slower|faster), 99% CI [0-9.]+-[0-9.]+x, (?:[0-9]+\+[0-9]+ runs|[0-9]+ pairs? interleaved)[^)]*\) \.\.\. (FAIL|INCONCLUSIVE)",
    )
    .unwrap();
    let caps = verdict
        .captures(&out.stderr)
        .unwrap_or_else(|| panic!("no FAIL verdict with both medians\n{}", out.stderr));
    let after: f64 = caps[1].parse().unwrap();
    let baseline: f64 = caps[2].parse().unwrap();
    assert!(
        after > baseline / 1.2,
        "the printed numbers explain the verdict: {}",
        &caps[0]
    );
    let report = report(&project, &out);
    let word = if out.code == 1 {
        "fail"
    } else {
        "inconclusive"
    };
    assert_eq!(report["exit_code"], out.code);
    let failed: Vec<_> = gates(&report)
        .into_iter()
        .filter(|(_, s)| s != "pass")
        .collect();
    assert_eq!(
        failed,
        vec![(
            "after.wall.median <= baseline.wall.median / 1.2".to_string(),
            word.to_string()
        )]
    );
    assert!(
        !project.join(".venv").exists(),
        "the venv the run created is gone"
    );
}

/// The content `file` would have after the apply a dry run shows: its diffs applied in order
/// to the file's current text (each step's diff is against the previous step's result).
fn dry_run_result(stdout: &str, project: &Project, file: &str) -> String {
    let header = format!("--- a/{file}\n+++ b/{file}\n");
    stdout
        .split(&header)
        .skip(1)
        .fold(project.read(file), |text, diff| apply_hunks(&text, diff))
}

/// Applies the `@@` hunks at the start of `diff` to `original`, each as long as its header
/// says (the preview's next lines are indented, which would read as context).
fn apply_hunks(original: &str, diff: &str) -> String {
    let old: Vec<&str> = original.lines().collect();
    let mut out = Vec::new();
    let mut next = 0; // index into `old` of the first line not yet copied
    let hunk = regex::Regex::new(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@").unwrap();
    let mut lines = diff.lines().peekable();
    while let Some(caps) = lines.peek().and_then(|l| hunk.captures(l)) {
        let start: usize = caps[1].parse().unwrap();
        let len = |i: usize| {
            caps.get(i)
                .map_or(1, |m| m.as_str().parse::<usize>().unwrap())
        };
        let (mut old_left, mut new_left) = (len(2), len(3));
        lines.next();
        let start = start.saturating_sub(1);
        out.extend_from_slice(&old[next..start]);
        next = start;
        while let Some(l) = lines.peek().filter(|_| old_left + new_left > 0) {
            let l = *l;
            if l.starts_with(' ') {
                old_left -= 1;
                new_left -= 1;
            } else if l.starts_with('-') {
                old_left -= 1;
            } else if l.starts_with('+') {
                new_left -= 1;
            }
            if let Some(rest) = l.strip_prefix(' ') {
                assert_eq!(old[next], rest, "context line matches");
                out.push(rest);
                next += 1;
            } else if let Some(rest) = l.strip_prefix('-') {
                assert_eq!(old[next], rest, "removed line matches");
                next += 1;
            } else if let Some(rest) = l.strip_prefix('+') {
                out.push(rest);
            } else {
                break;
            }
            lines.next();
        }
    }
    out.extend_from_slice(&old[next..]);
    out.join("\n") + "\n"
}

/// The diffed file names of a dry run, in order, without repeats.
fn diffed_files(stdout: &str) -> Vec<String> {
    let mut files: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(str::to_string)
        .collect();
    files.dedup();
    files.sort();
    files.dedup();
    files
}

fn dry_run_xdist(project: &Project) -> Output {
    apply(project, "xdist.toml", &["--dry-run"])
        .stdout_unchecked("its diffs are applied and checked below; outputs.rs snapshots it")
        .run()
}

const XDIST_FLAGS: &str = "-n auto --dist worksteal --maxprocesses 4";

/// pyproject.toml layout: the dev dependency group gets pytest-xdist and
/// `[tool.pytest.ini_options]` gets the flags; nothing else is touched, nothing is written.
#[test]
fn xdist_dry_run_edits_pyproject_sections() {
    let project = Project::new("pyproject-demo");
    let before = project.hash_tree();
    let out = dry_run_xdist(&project);
    assert_eq!(diffed_files(&out.stdout), ["pyproject.toml"]);
    // The first install makes the venv, the second one uses it.
    assert_eq!(
        out.stdout.matches("(creates the venv)").count(),
        1,
        "{}",
        out.stdout
    );
    // Installs change the environment, not files: the edits after them need no caveat.
    assert!(
        !out.stdout.contains("shown against today's content"),
        "{}",
        out.stdout
    );
    let edited: toml::Table =
        toml::from_str(&dry_run_result(&out.stdout, &project, "pyproject.toml"))
            .expect("the edited pyproject.toml is valid TOML");
    assert_eq!(
        edited["dependency-groups"]["dev"]
            .as_array()
            .map(Vec::as_slice),
        Some(["pytest>=8".into(), "pytest-xdist>=3.5".into()].as_slice()),
        "{}",
        out.stdout
    );
    assert_eq!(
        edited["tool"]["pytest"]["ini_options"]["addopts"].as_str(),
        Some(format!("-q -p no:cacheprovider {XDIST_FLAGS}").as_str()),
        "{}",
        out.stdout
    );
    assert_eq!(project.hash_tree(), before);
    assert!(!project.join(".planrun").exists() && !project.join(".venv").exists());
}

/// setup.cfg layout: `[tool:pytest]` gets the flags, dev-requirements.txt gets pytest-xdist.
#[test]
fn xdist_dry_run_edits_setup_cfg_and_dev_requirements() {
    let project = Project::new("setupcfg-demo");
    let before = project.hash_tree();
    let out = dry_run_xdist(&project);
    assert_eq!(
        diffed_files(&out.stdout),
        ["dev-requirements.txt", "setup.cfg"]
    );
    let cfg = dry_run_result(&out.stdout, &project, "setup.cfg");
    assert_eq!(
        ini_value(&cfg, "tool:pytest", "addopts").as_deref(),
        Some(format!("-q -p no:cacheprovider {XDIST_FLAGS}").as_str())
    );
    let reqs = dry_run_result(&out.stdout, &project, "dev-requirements.txt");
    assert!(reqs.lines().any(|l| l == "pytest-xdist>=3.5"), "{reqs}");
    assert_eq!(project.hash_tree(), before);
}

/// tox.ini layout: `[pytest]` of tox.ini gets the flags, requirements/dev.txt gets pytest-xdist,
/// even with a decoy setup.cfg `[tool:pytest]` that pytest does not read (tox.ini comes first).
#[test]
fn xdist_dry_run_edits_tox_ini_and_requirements_dev() {
    let project = Project::new("toxini-demo");
    project.write("setup.cfg", "[tool:pytest]\naddopts = -x\n");
    let before = project.hash_tree();
    let out = dry_run_xdist(&project);
    assert_eq!(
        diffed_files(&out.stdout),
        ["requirements/dev.txt", "tox.ini"]
    );
    let tox = dry_run_result(&out.stdout, &project, "tox.ini");
    assert_eq!(
        ini_value(&tox, "pytest", "addopts").as_deref(),
        Some(format!("-q -p no:cacheprovider {XDIST_FLAGS}").as_str())
    );
    let reqs = dry_run_result(&out.stdout, &project, "requirements/dev.txt");
    assert!(reqs.lines().any(|l| l == "pytest-xdist>=3.5"), "{reqs}");
    assert_eq!(project.hash_tree(), before);
}

/// One real apply on an unseen layout (setup.cfg): a venv, both suites, the verdicts printed.
/// On a loaded 2-core machine the speed gate may go either way; when it fails the tree is
/// byte-identical, when it passes the edits are in place and rollback restores the tree.
#[test]
fn xdist_applies_end_to_end_on_setup_cfg_layout() {
    // Not one of the measured headline tests, but its suites would skew their numbers.
    let _heavy = heavy();
    let project = Project::new("setupcfg-demo");
    let before = project.hash_tree();
    let out = apply(
        &project,
        "xdist.toml",
        &["--var", "runs=1", "--var", "warmup=0"],
    )
    // On a loaded 2-core machine the speed gate may go either way (see above), or, from one
    // run each, be inconclusive (exit 7, rolled back).
    .status_in(&[0, 1, 7])
    // stderr: concurrent steps' progress lines interleave; measured numbers vary.
    // Whichever way the speed gate went, the header, the summary's end and the report path.
    .stderr_contains("planrun apply xdist -> [TARGET] (run [RUN])\n")
    .stderr_contains("4 gates passed, 2 files changed (+2 -1); exit ")
    .stderr_contains("\nreport: .planrun/runs/[RUN]/report.json\n")
    .stderr_contains("gate after.failed 0 <= baseline.failed 0 ... pass")
    .stderr_contains("gate after.tests 18 == baseline.tests 18 ... pass")
    .stderr_contains("gate after.runs_green 1 >= baseline.runs_green 1 ... pass")
    .run();
    let verdicts = regex::Regex::new(r"(?m)^gate .* \.\.\. (pass|FAIL|INCONCLUSIVE)").unwrap();
    assert_eq!(
        verdicts.find_iter(&out.stderr).count(),
        4,
        "all four verdicts printed\n{}",
        out.stderr
    );
    let report = report(&project, &out);
    assert!(num(&report, "records/baseline/tests") > 0.0);
    assert_eq!(
        num(&report, "records/after/tests"),
        num(&report, "records/baseline/tests")
    );
    if out.code != 0 {
        assert_eq!(project.hash_tree(), before);
    } else {
        let cfg = project.read("setup.cfg");
        assert!(
            ini_value(&cfg, "tool:pytest", "addopts").is_some_and(|a| a.ends_with(XDIST_FLAGS)),
            "{cfg}"
        );
        assert!(project
            .read("dev-requirements.txt")
            .lines()
            .any(|l| l == "pytest-xdist>=3.5"));
        rollback_restores(&project, &before);
    }
}
