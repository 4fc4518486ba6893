//! Verdicts on intervals, end to end: a gate comparing two records' times passes, fails, or is
//! inconclusive (exit 7, rolled back, or kept with `on_inconclusive = "keep"`), and each verdict
//! prints its interval. The suites sleep rather than compute, so their ratios hold on a loaded
//! machine; they hold the exclusive lock all the same.

use crate::support::newest_report as report;
use crate::support::{exclusive, Project};

/// A plan whose two `framework = "command"` suites sleep `base` and `after` seconds, with
/// `runs = "auto"` up to `max_runs`, and one gate `check`; it edits one file so rollback shows.
fn plan(base: &str, after: &str, check: &str, extra_gate: &str, max_runs: u32) -> String {
    format!(
        r#"name = "verdict"
description = "two timed suites and a gate on their ratio"

[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  framework = "command"
  command = "sleep {base}"
  record = "baseline"
  min_runs = 2
  max_runs = {max_runs}

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
  id = "measure"
  needs = ["edit"]
  action = "suite"
  framework = "command"
  command = "sleep {after}"
  record = "after"
  max_runs = {max_runs}

  [[phase.gate]]
  check = "{check}"
  {extra_gate}
"#
    )
}

fn project(plan_text: &str) -> Project {
    let project = Project::fixture("gates/target");
    project.write("verdict.toml", plan_text);
    project.write("app.cfg", "mode = slow\n");
    project
}

fn apply(project: &Project, status: i32) -> crate::support::Output {
    project
        .test()
        .args(["apply", "verdict.toml", "--target", "."])
        .status(status)
        // stderr: measured numbers and the intervals vary from run to run.
        .stderr_contains("planrun apply verdict")
        .run()
}

const RATIO: &str = "after.wall.median <= baseline.wall.median * 0.5";

/// 20x faster: decided from the fewest runs, and the verdict prints the interval.
#[test]
fn a_clear_speed_up_passes_with_its_interval() {
    let _lock = exclusive();
    let project = project(&plan("0.6", "0.03", RATIO, "", 6));
    let out = apply(&project, 0);
    assert!(
        out.stderr.contains("x faster, 99% CI") && out.stderr.contains("... pass"),
        "{}",
        out.stderr
    );
    let report = report(&project);
    let gate = &report["gates"][0];
    assert_eq!(gate["status"], "pass");
    let interval = &gate["intervals"][0];
    assert!(interval["high"].as_f64().unwrap() < 0.5, "{interval}");
    // The after side needed no more than its first runs: one pair, interleaved with the
    // baseline, shows 20x.
    assert!(
        report["records"]["after"]["runs"].as_u64().unwrap() <= 2,
        "{report:#}"
    );
    assert_eq!(project.read("app.cfg"), "mode = fast\n");
}

/// 20x slower: a failure, also from the fewest runs; rolled back, exit 1.
#[test]
fn a_clear_slow_down_fails_and_rolls_back() {
    let _lock = exclusive();
    let project = project(&plan("0.03", "0.6", RATIO, "", 6));
    let out = apply(&project, 1);
    assert!(
        out.stderr.contains("x slower, 99% CI") && out.stderr.contains("... FAIL"),
        "{}",
        out.stderr
    );
    assert_eq!(report(&project)["gates"][0]["status"], "fail");
    assert_eq!(project.read("app.cfg"), "mode = slow\n");
}

/// The same suite on both sides against a bound of exactly 1: no number of runs can show it,
/// so the budget is spent and the gate is inconclusive: exit 7, rolled back, a warning
/// annotation and a skipped JUnit case; with `on_inconclusive = "keep"` the change stays.
#[test]
fn a_ratio_at_its_bound_is_inconclusive_rolled_back_or_kept() {
    let _lock = exclusive();
    let check = "after.wall.median <= baseline.wall.median";
    let project = project(&plan("0.1", "0.1", check, "", 3));
    let out = project
        .test()
        .args(["apply", "verdict.toml", "--target", ".", "--ci"])
        .env("GITHUB_ACTIONS", "true")
        .status(7)
        // stdout carries the annotations; stderr the measured numbers.
        .stdout_contains("::warning file=verdict.toml,line=35,title=planrun gate inconclusive::")
        .stderr_contains("... INCONCLUSIVE")
        .stderr_contains("inconclusive, rolled back")
        .run();
    assert!(
        out.stderr.contains("  measure: pair 3/3 "),
        "the after suite spent its budget\n{}",
        out.stderr
    );
    let rolled = report(&project);
    assert_eq!(rolled["status"], "inconclusive");
    assert_eq!(rolled["exit_code"], 7);
    assert_eq!(rolled["gates"][0]["status"], "inconclusive");
    assert_eq!(project.read("app.cfg"), "mode = slow\n");
    let runs = project.join(".planrun/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<skipped message=\"inconclusive: "),
        "{junit}"
    );

    let kept = self::project(&plan("0.1", "0.1", check, "on_inconclusive = \"keep\"", 2));
    apply(&kept, 0);
    assert_eq!(report(&kept)["gates"][0]["status"], "inconclusive");
    assert_eq!(kept.read("app.cfg"), "mode = fast\n");
}

/// A pytest run that hangs is stopped by the auto timeout (3x the slowest run so far plus the
/// margin, shortened here through PLANRUN_AUTO_TIMEOUT_MARGIN) and recorded, not waited for:
/// the step succeeds, the record counts the error and the tests that had ended, and the
/// warnings name the test that had not finished; the gate on errors then rolls back.
#[test]
fn a_hung_pytest_run_is_a_result_that_names_the_unfinished_test() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write(
        "tests_hang/test_hang.py",
        "import os, time\n\n\
         def test_a():\n    pass\n\n\
         def test_b():\n    pass\n\n\
         def test_z_hangs_the_second_time():\n    \
         if os.path.exists('ran'):\n        time.sleep(60)\n    \
         open('ran', 'w').close()\n",
    );
    project.write(
        "hang.toml",
        &format!(
            r#"name = "hang"
description = "a suite whose second run hangs"

[[phase]]
id = "p"
  [[phase.step]]
  id = "measure"
  action = "suite"
  command = "{} -m pytest -q -p no:cacheprovider tests_hang"
  record = "r"
  runs = 2
  warmup = 0

  [[phase.gate]]
  check = "r.errors == 0"
"#,
            crate::support::python().display()
        ),
    );
    let out = project
        .test()
        .args(["apply", "hang.toml", "--target", "."])
        .env("PLANRUN_AUTO_TIMEOUT_MARGIN", "2")
        .status(1)
        // stderr: the run's numbers vary.
        .stderr_contains("gate r.errors 1 == 0 ... FAIL")
        .stderr_contains(
            "1 of 3 tests had not finished: tests_hang/test_hang.py::test_z_hangs_the_second_time",
        )
        .run();
    assert!(out.stderr.contains("run 2 of `"), "{}", out.stderr);
    assert!(out.stderr.contains("timed out after"), "{}", out.stderr);
    let report = report(&project);
    let record = &report["records"]["r"];
    assert_eq!(record["runs"], 2);
    assert_eq!(record["errors"], 1);
    // The run that hung had passed its first two tests.
    assert_eq!(record["samples"][1]["counts"]["passed"], 2, "{record:#}");
}

/// Two shell busy loops beside the test, killed (by their own ids) when dropped.
struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    fn start() -> BusyLoops {
        BusyLoops(
            (0..2)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Measured one after the other on a machine that gets 30% slower every run (each run reads
/// and bumps a counter outside the target, and sleeps 0.3 s · 1.3^count), an unchanged suite
/// is neither failed nor kept: the trend over both records' runs makes the speed verdict
/// `inconclusive: drift` (exit 7, rolled back), the suite stops taking runs once drift shows,
/// and the report says how much slower the machine got. Two busy loops run beside it.
#[test]
fn drift_during_sequential_runs_makes_the_speed_verdict_inconclusive() {
    let _lock = exclusive();
    let _busy = BusyLoops::start();
    let outside = tempfile::tempdir().unwrap();
    let counter = outside.path().join("runs");
    let command = format!("sh drift.sh {}", counter.display());
    let text = plan(
        "0",
        "0",
        "after.wall.median <= baseline.wall.median * 1.1",
        "",
        8,
    )
    .replace("command = \"sleep 0\"", &format!("command = \"{command}\""))
    .replace("min_runs = 2", "min_runs = 4")
    // Measured one after the other: interleaved pairs would cancel the drift this is about.
    .replace(
        "  replacement = \"fast\"\n",
        "  replacement = \"fast\"\n  switchable = false\n",
    );
    let project = project(&text);
    project.write(
        "drift.sh",
        "n=$(cat \"$1\" 2>/dev/null || echo 0)\n\
         echo $((n + 1)) > \"$1\"\n\
         sleep \"$(awk -v n=\"$n\" 'BEGIN { printf \"%.3f\", 0.3 * 1.3 ^ n }')\"\n",
    );
    let out = apply(&project, 7);
    assert!(
        out.stderr
            .contains("; inconclusive: drift, the machine got"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("slower during measurement"),
        "{}",
        out.stderr
    );
    assert_eq!(project.read("app.cfg"), "mode = slow\n");
    let report = report(&project);
    assert_eq!(report["gates"][0]["status"], "inconclusive");
    let after_runs = report["records"]["after"]["runs"].as_u64().unwrap();
    assert!(after_runs < 8, "drift ends the runs: {after_runs}");
    let runs: u64 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let samples = |record: &str| {
        report["records"][record]["samples"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        runs as usize,
        samples("baseline") + samples("after"),
        "every run, warmups too, read the counter: {:#}",
        report["records"]
    );
    assert_eq!(report["records"]["baseline"]["runs"], 4);
}
