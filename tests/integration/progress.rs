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

#[test]
fn a_terminal_keeps_the_runs_lines_and_shows_tests_and_time_left() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    fs::write(project.join("tests/test_slow.py"), SLOW).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let plan = dir.path().join("plan.toml");
    // A busy machine slows the runs and the redraws alike: what is seen must not change.
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
    let screen = out.stdout.replace("\r\n", "\n");
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
