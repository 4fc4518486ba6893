//! What a SIGKILLed apply leaves behind is found and removed by the next one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::lines;
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

    let child = project
        .test()
        .args(args(&plan))
        .status(128 + libc::SIGKILL)
        .stderr(lines(&[
            "planrun apply slow-suite -> [TARGET] (run [RUN])",
            "▶ suite suite",
        ]))
        .spawn();
    let started = flags.path().join("started");
    wait_for("the suite to start", || {
        fs::read_to_string(&started).is_ok_and(|t| t.ends_with('\n'))
    });
    let junit = PathBuf::from(fs::read_to_string(&started).unwrap().trim());
    child.signal(libc::SIGKILL);
    child.wait();
    // The junit directory is under the killed run's own directory, not the system temp dir.
    let runs = fs::canonicalize(project.join(".planrun/runs")).unwrap();
    let leftover = junit.parent().and_then(Path::parent).unwrap().to_path_buf();
    assert_eq!(leftover.file_name().unwrap(), "junit");
    assert_eq!(
        fs::canonicalize(leftover.parent().unwrap().parent().unwrap()).unwrap(),
        runs
    );
    assert!(junit.exists(), "SIGKILL left {}", junit.display());

    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout("rolled back run [RUN] (plan slow-suite) in [DURATION]\n")
        .stderr(lines(&[
            "note: cleared the stale lock of `apply` (pid [PID] on [HOST], started [TIME])",
            "note: ended 3 process(es) left running by the interrupted run [RUN]",
        ]))
        .run();
    // Rollback keeps the run's directory (its logs); the junit files are still there.
    assert!(
        junit.exists(),
        "{} gone before the next apply",
        junit.display()
    );
    fs::remove_file(flags.path().join("slow")).unwrap();
    project
        .test()
        .args(args(&plan))
        .stderr(lines(&[
            "planrun apply slow-suite -> [TARGET] (run [RUN])",
            "▶ suite suite",
            "  suite: run 1/1 took [DURATION]",
            "✓ suite [DURATION]  median [DURATION] ± [DURATION], 1 passed, 0 failed",
            "records: baseline [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert!(!leftover.exists(), "{} was left", leftover.display());
    let left: Vec<PathBuf> = fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path().join("junit"))
        .filter(|j| fs::read_dir(j).is_ok_and(|mut d| d.next().is_some()))
        .collect();
    assert!(left.is_empty(), "junit files left: {left:?}");
}
