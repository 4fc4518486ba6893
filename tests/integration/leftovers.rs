//! What a SIGKILLed apply leaves behind is found and removed by the next one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{repo_root, Project};

const PLAN: &str = r#"name = "slow-suite"
description = "A suite that can be made slow, so planrun can be killed while it runs."
[vars]
flags = "/nonexistent"
[[phase]]
id = "measure"
  [[phase.step]]
  id = "suite"
  action = "suite"
  command = "sh ${plan_dir}/suite.sh ${flags}"
  runs = 1
  warmup = 0
  record = "baseline"
"#;

/// A stand-in for pytest: writes its junit file at once, then, when `$1/slow` exists, says
/// where and sleeps.
const SUITE: &str = r#"for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
echo '<testsuite><testcase classname="m" name="a" time="0.1"/></testsuite>' > "$out"
if [ -f "$1/slow" ]; then echo "$out" > "$1/started"; sleep 60; fi
"#;

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn junit_dirs_of_a_killed_apply_are_removed_by_the_next_one() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    let plan_dir = tempfile::tempdir().unwrap();
    fs::write(plan_dir.path().join("plan.toml"), PLAN).unwrap();
    fs::write(plan_dir.path().join("suite.sh"), SUITE).unwrap();
    let plan = plan_dir.path().join("plan.toml");
    let flags = tempfile::tempdir().unwrap();
    fs::write(flags.path().join("slow"), "").unwrap();
    let var = format!("flags={}", flags.path().display());
    let args = |plan: &Path| {
        vec![
            "apply".to_string(),
            plan.display().to_string(),
            "--target".into(),
            ".".into(),
            "--var".into(),
            var.clone(),
        ]
    };

    let mut child = project
        .command(args(&plan))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = flags.path().join("started");
    wait_for("the suite to start", || {
        fs::read_to_string(&started).is_ok_and(|t| t.ends_with('\n'))
    });
    let junit = PathBuf::from(fs::read_to_string(&started).unwrap().trim());
    child.kill().unwrap();
    child.wait().unwrap();
    // The junit directory is under the killed run's own directory, not the system temp dir.
    let runs = fs::canonicalize(project.join(".planrun/runs")).unwrap();
    let leftover = junit.parent().and_then(Path::parent).unwrap().to_path_buf();
    assert_eq!(leftover.file_name().unwrap(), "junit");
    assert_eq!(
        fs::canonicalize(leftover.parent().unwrap().parent().unwrap()).unwrap(),
        runs
    );
    assert!(junit.exists(), "SIGKILL left {}", junit.display());

    let out = project.planrun(["rollback", "--target", "."]);
    out.check(out.code == 0, "rollback of the killed apply");
    // Rollback keeps the run's directory (its logs); the junit files are still there.
    assert!(
        junit.exists(),
        "{} gone before the next apply",
        junit.display()
    );
    fs::remove_file(flags.path().join("slow")).unwrap();
    let out = project.planrun(args(&plan));
    out.check(out.code == 0, "the next apply");
    assert!(!leftover.exists(), "{} was left", leftover.display());
    let left: Vec<PathBuf> = fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path().join("junit"))
        .filter(|j| fs::read_dir(j).is_ok_and(|mut d| d.next().is_some()))
        .collect();
    assert!(left.is_empty(), "junit files left: {left:?}");
}
