//! A hostile or careless repository cannot make planrun leave processes behind, lose who owns
//! its files, call planrun's own writes drift on a full disk, or crash on input it was handed.

mod disk;
mod journal;
mod owners;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::python;
use crate::support::{mini, plan_file as plan};

/// A process that is gone or only a zombie waiting for a reaper.
fn dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// The pids written, one a file, in `dir`.
fn pids_in(dir: &Path) -> Vec<u32> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| t.trim().parse().unwrap())
        .collect()
}

/// A test module that starts `escapes` (shell commands that write their pid into `pids` and,
/// 4 s later, `marker` into the target) and returns at once.
fn escaping_tests(pids: &Path, escapes: &[&str]) -> String {
    let mut text = String::from("import subprocess, time, os\n\n\ndef test_escape():\n");
    for (i, escape) in escapes.iter().enumerate() {
        let script = format!(
            "echo $$ > {}/{i}; sleep 4; echo x > {}/marker",
            pids.display(),
            "$TARGET"
        );
        text.push_str(&format!(
            "    subprocess.Popen({escape} + [\"sh\", \"-c\", {script:?}], \
             env=dict(os.environ, TARGET=os.getcwd()))\n"
        ));
    }
    text.push_str(&format!(
        "    while len(os.listdir({:?})) < {}:\n        time.sleep(0.01)\n",
        pids.display().to_string(),
        escapes.len()
    ));
    text
}

const SUITE_PLAN: &str = r#"
name = "escape"
description = "A suite whose tests start processes that leave its group."
[[phase]]
id = "p"
  [[phase.step]]
  id = "measure"
  action = "suite"
  command = "${python} -m pytest -q -p no:cacheprovider"
  runs = 1
  warmup = 0
  record = "baseline"
"#;

/// Waits past the moment the escaped processes would have written into the target.
fn outlive_the_escapes(started: Instant) {
    let until = Duration::from_secs(5);
    if let Some(left) = until.checked_sub(started.elapsed()) {
        std::thread::sleep(left);
    }
}

#[test]
fn a_suite_whose_tests_setsid_and_wipe_their_environment_leaves_no_process() {
    let project = mini();
    let pids = tempfile::tempdir().unwrap();
    project.write(
        "tests/test_escape.py",
        &escaping_tests(
            pids.path(),
            &[
                r#"["setsid"]"#,
                // No mark survives `env -i`: only the subreaper brings this one back.
                r#"["setsid", "env", "-i"]"#,
            ],
        ),
    );
    let (_dir, plan) = plan(SUITE_PLAN);
    let started = Instant::now();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var"])
        .arg(format!("python={}", python().display()))
        .status(0)
        .stdout_unchecked("the run's summary; the processes are what is checked")
        .stderr_contains("3 passed, 0 failed")
        .run();
    let pids = pids_in(pids.path());
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in &pids {
        assert!(dead(*pid), "process {pid} outlived the apply");
    }
    outlive_the_escapes(started);
    assert!(
        !project.join("marker").exists(),
        "a process of the suite wrote into the target after the apply"
    );
}

#[test]
fn a_timed_out_step_that_double_forks_leaves_no_process() {
    let project = mini();
    let pids = tempfile::tempdir().unwrap();
    let pid = pids.path().join("0");
    let (_dir, plan) = plan(&format!(
        r#"
name = "escape"
description = "A step that double-forks out of its group and then hangs."
[[phase]]
id = "p"
  [[phase.step]]
  id = "hang"
  action = "run"
  command = "(setsid sh -c 'trap \"\" TERM; echo $$ > {pid}; sleep 4; echo x > marker' &); while [ ! -s {pid} ]; do sleep 0.01; done; sleep 100"
  timeout = "2s"
"#,
        pid = pid.display()
    ));
    let started = Instant::now();
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(3)
        .stdout_unchecked("the run's summary; the processes are what is checked")
        .stderr_unchecked("the step's timeout; the processes are what is checked")
        .run();
    let pid: u32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    assert!(dead(pid), "the double-forked process outlived the apply");
    outlive_the_escapes(started);
    assert!(!project.join("marker").exists());
}
