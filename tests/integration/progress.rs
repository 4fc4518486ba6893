//! Progress on a terminal (planrun under a pseudo-terminal made by `script`): the ended runs'
//! lines stay above the status line, which says which run of how many, the run's tests so far
//! and how long is left.

use std::fs;

use crate::support::{busy_loops, python, repo_root, Project};

const PLAN: &str = r#"name = "slow-suite"
description = "A pytest suite whose runs take long enough for the status line to be drawn."
[vars]
python = "python3"
[[phase]]
id = "measure"
  [[phase.step]]
  id = "suite"
  action = "suite"
  command = "${python} -m pytest -q"
  runs = 3
  warmup = 0
  record = "baseline"
"#;

/// Tests slow enough that a run is seen half done.
const SLOW: &str = r#"import time

import pytest


@pytest.mark.parametrize("n", range(8))
def test_slow(n):
    time.sleep(0.15)
"#;

/// The screen of `planrun apply PLAN` on the mini project with slow tests, beside two busy
/// loops (a busy machine slows the runs and the redraws alike: what is seen must not change).
fn on_a_terminal(plan_text: &str) -> String {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    fs::write(project.join("tests/test_slow.py"), SLOW).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plan.toml"), plan_text).unwrap();
    let plan = dir.path().join("plan.toml");
    let _busy = busy_loops(2);
    // `script` gives planrun a terminal on all three streams and copies it to its stdout.
    let out = project
        .test()
        .wrapper(["bash", "-c", r#"script -qefc "${*@Q}" /dev/null"#, "bash"])
        .args(["apply", plan.to_str().unwrap(), "--target", ".", "--var"])
        .arg(format!("python={}", python().display()))
        .stdout_unchecked("the terminal's bytes, searched below")
        .stderr_unchecked("script puts everything on its stdout")
        .run();
    out.stdout.replace("\r\n", "\n")
}

#[test]
fn a_terminal_keeps_the_runs_lines_and_shows_tests_and_time_left() {
    let screen = on_a_terminal(PLAN);
    for run in 1..=3 {
        assert!(
            screen.contains(&format!("  suite: run {run}/3 took ")),
            "run {run}'s line is not kept:\n{screen}"
        );
    }
    // Half way through a run, the status line counts its tests so far.
    let counted = (1..10).any(|n| {
        (1..=3).any(|run| screen.contains(&format!("suite run {run} of 3: {n} passed, 0 failed")))
    });
    assert!(counted, "no test counts on the status line:\n{screen}");
    // After the first run ended, the status line estimates the rest from it.
    assert!(
        screen.contains("passed, 0 failed, about "),
        "no time left on the status line:\n{screen}"
    );
    assert!(screen.contains("10 passed, 0 failed"), "{screen}");
}

/// A suite compared with the baseline, measured in sequence (a `run` with an undo came between).
const COMPARED: &str = r#"name = "compared"
description = "An after-suite compared with a baseline measured before an unswitchable step."
[vars]
python = "python3"
[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  command = "${python} -m pytest -q"
  runs = 1
  warmup = 0
  record = "baseline"
[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "touch"
  action = "run"
  command = "echo made > made.txt"
  undo = "rm made.txt"
  [[phase.step]]
  id = "after"
  action = "suite"
  command = "${python} -m pytest -q"
  needs = ["touch"]
  runs = 2
  warmup = 0
  record = "after"
  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median * 100"
"#;

#[test]
fn a_suite_compared_with_the_baseline_estimates_from_it_before_its_first_run_ends() {
    let screen = on_a_terminal(COMPARED);
    // Its first run has no ended run of its own: the estimate is the baseline's.
    let guessed = screen
        .split(['\n', '\r'])
        .any(|l| l.contains("after run 1 of 2: ") && l.contains(", about "));
    assert!(
        guessed,
        "no estimate in the after-suite's first run:\n{screen}"
    );
}

/// The same after-suite measured in interleaved pairs with the baseline: a pytest-config edit,
/// which planrun can switch, comes between instead of a `run` with an undo.
fn paired() -> String {
    let unswitchable = r#"  action = "run"
  command = "echo made > made.txt"
  undo = "rm made.txt""#;
    assert!(COMPARED.contains(unswitchable));
    COMPARED
        .replace(
            unswitchable,
            "  action = \"pytest-config\"\n  addopts_add = [\"-p\", \"no:cacheprovider\"]",
        )
        .replace("  runs = 2\n", "  runs = 3\n")
}

#[test]
fn a_suite_in_interleaved_pairs_counts_each_runs_tests_and_says_the_time_left() {
    let screen = on_a_terminal(&paired());
    assert!(
        screen.contains("after: interleaved with `baseline`"),
        "not measured in pairs:\n{screen}"
    );
    // Within a pair, the run in progress (either state's) counts its tests on the status line,
    // beside which pair of how many and the time left.
    let counted = screen.split(['\n', '\r']).any(|l| {
        l.contains("after pair ")
            && l.contains(" of 3: ")
            && (1..10).any(|n| l.contains(&format!(": {n} passed, 0 failed, about ")))
    });
    assert!(counted, "no test counts in a pair's run:\n{screen}");
    // The ended pairs' lines stay on screen.
    for pair in 1..=3 {
        assert!(
            screen.contains(&format!("  after: pair {pair}/3 (")),
            "pair {pair}'s line is not kept:\n{screen}"
        );
    }
}

#[test]
fn a_sharded_run_counts_every_shards_tests_and_says_the_time_left() {
    let sharded = PLAN.replace("  runs = 3\n", "  runs = 3\n  shards = 2\n");
    assert_ne!(sharded, PLAN);
    let screen = on_a_terminal(&sharded);
    for run in 1..=3 {
        assert!(
            screen.contains(&format!("  suite: run {run}/3 took ")),
            "run {run}'s line is not kept:\n{screen}"
        );
    }
    // Each shard holds 5 of the 10 tests: a count above 5 is both shards' tests summed, and
    // after the first run the line estimates the rest.
    let summed = screen.split(['\n', '\r']).any(|l| {
        (2..=3).any(|run| {
            (6..=10).any(|n| {
                l.contains(&format!(
                    "suite run {run} of 3: {n} passed, 0 failed, about "
                ))
            })
        })
    });
    assert!(
        summed,
        "no summed test counts with the time left:\n{screen}"
    );
}

#[test]
fn a_sharded_suite_in_interleaved_pairs_counts_every_shards_tests() {
    let sharded = paired().replace("  warmup = 0\n", "  warmup = 0\n  shards = 2\n");
    assert_eq!(sharded.matches("shards = 2").count(), 2, "both suites");
    let screen = on_a_terminal(&sharded);
    assert!(
        screen.contains("after: interleaved with `baseline`"),
        "not measured in pairs:\n{screen}"
    );
    // Each shard holds 5 of the 10 tests: above 5 is the pair's run's shards summed.
    let summed = screen.split(['\n', '\r']).any(|l| {
        l.contains("after pair ")
            && (6..=10).any(|n| l.contains(&format!(": {n} passed, 0 failed, about ")))
    });
    assert!(summed, "no summed test counts in a pair's run:\n{screen}");
}
