//! Progress on a terminal (planrun under a pseudo-terminal made by `script`): the ended runs'
//! lines stay above the status line, which says which run of how many and how long is left.

use std::fs;

use crate::support::{repo_root, Project};

const PLAN: &str = r#"name = "slow-suite"
description = "A suite whose runs take long enough for the status line to be drawn."
[[phase]]
id = "measure"
  [[phase.step]]
  id = "suite"
  action = "suite"
  command = "sh ${plan_dir}/suite.sh"
  runs = 3
  warmup = 0
  record = "baseline"
"#;

/// A pytest stand-in: a run that takes at least 0.6s and writes a junit file of one test.
const SUITE: &str = r#"sleep 0.6
for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
cat > "$out" <<XML
<testsuites><testsuite tests="1"><testcase classname="m" name="a" time="0.5"/></testsuite></testsuites>
XML
"#;

#[test]
fn a_terminal_keeps_the_runs_lines_and_shows_the_time_left() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    fs::write(dir.path().join("suite.sh"), SUITE).unwrap();
    let plan = dir.path().join("plan.toml");
    // `script` gives planrun a terminal on all three streams and copies it to its stdout.
    let out = project
        .test()
        .wrapper(["bash", "-c", r#"script -qefc "${*@Q}" /dev/null"#, "bash"])
        .args(["apply", plan.to_str().unwrap(), "--target", "."])
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
    // After the first run ended, the status line estimates the rest from it.
    assert!(
        screen.contains("suite run 2 of 3, about ") || screen.contains("suite run 3 of 3, about "),
        "no time left on the status line:\n{screen}"
    );
    assert!(screen.contains("✓ suite "), "{screen}");
}
