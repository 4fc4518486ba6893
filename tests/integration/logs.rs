//! Step logs are capped by `PLANRUN_LOG_MAX`, keeping their tail, and failures still quote it;
//! a step that writes nothing leaves no log, and the report names only logs that exist.

use std::fs;

use crate::support::lines;
use crate::support::{mini, plan_file};

const PLAN: &str = r#"name = "chatty"
description = "A step that writes a lot, then fails, so its message quotes the log's end."
[[phase]]
id = "talk"
  [[phase.step]]
  id = "chatty"
  action = "run"
  command = "i=0; while [ $i -lt 30000 ]; do echo \"line $i\"; i=$((i+1)); done; echo 'the real reason' >&2; exit 3"
"#;

#[test]
fn a_chatty_step_log_is_capped_and_its_failure_quotes_the_end() {
    let project = mini();
    let (_dir, plan) = plan_file(PLAN);
    let out = project
        .test()
        .args(["apply", &plan, "--target", "."])
        .env("PLANRUN_LOG_MAX", "64K")
        .status(3)
        .stderr(lines(&[
            "planrun apply chatty -> [TARGET] (run [RUN])",
            "▶ chatty run",
            "✗ chatty [DURATION]  `i=0; while [ $i -lt 30000 ]; do echo \
             \"line $i\"; i=$((i+1)); done; echo 'the real reason' >&2; exit \
             3` exited with status 3",
            "  | line 29986",
            "  | line 29987",
            "  | line 29988",
            "  | line 29989",
            "  | line 29990",
            "  | line 29991",
            "  | line 29992",
            "  | line 29993",
            "  | line 29994",
            "  | line 29995",
            "  | line 29996",
            "  | line 29997",
            "  | line 29998",
            "  | line 29999",
            "  | the real reason",
            "✗ step `chatty` failed; rolling back",
            "↺ rolled back in [DURATION]: 0 restored, 0 deleted, 0 \
             environments restored",
            "step failed, rolled back in [DURATION]: 0/0 gates passed, 0 \
             files changed (+0 -0); exit 3",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert!(out.all().contains("the real reason"), "{}", out.all());
    let runs = project.join(".planrun/runs");
    let run = fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let log = fs::read_to_string(run.join("logs/chatty.log")).unwrap();
    assert!(log.len() <= 64 * 1024, "{}", log.len());
    assert!(
        log.starts_with("[planrun: log capped at 65536 bytes (PLANRUN_LOG_MAX); "),
        "{:.100}",
        log
    );
    assert!(log.ends_with("line 29999\nthe real reason\n"));
}

const QUIET: &str = r#"name = "quiet"
description = "Silent steps and one that speaks: only the one that speaks has a log."
[[phase]]
id = "p"
  [[phase.step]]
  id = "silent"
  action = "run"
  command = "true"
  [[phase.step]]
  id = "speaks"
  needs = ["silent"]
  action = "run"
  command = "echo said"
  [[phase.step]]
  id = "fails"
  needs = ["speaks"]
  action = "run"
  command = "exit 4"
"#;

#[test]
fn a_silent_step_leaves_no_log_and_the_report_names_only_logs_that_exist() {
    let project = mini();
    let (_dir, plan) = plan_file(QUIET);
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--jobs", "1"])
        .status(3)
        .stderr(lines(&[
            "planrun apply quiet -> [TARGET] (run [RUN])",
            "▶ silent run",
            "✓ silent [DURATION]",
            "▶ speaks run",
            "✓ speaks [DURATION]",
            "▶ fails run",
            "✗ fails [DURATION]  `exit 4` exited with status 4",
            "  (no output)",
            "✗ step `fails` failed; rolling back",
            "↺ rolled back in [DURATION]: 0 restored, 0 deleted, 0 \
             environments restored",
            "step failed, rolled back in [DURATION]: 0/0 gates passed, 0 \
             files changed (+0 -0); exit 3",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let runs = project.join(".planrun/runs");
    let run = fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let mut logs: Vec<String> = fs::read_dir(run.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort();
    assert_eq!(logs, ["speaks.log"]);
    assert_eq!(
        fs::read_to_string(run.join("logs/speaks.log")).unwrap(),
        "said\n"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    let named: Vec<(&str, Option<&str>)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["log"].as_str()))
        .collect();
    let rel = run
        .strip_prefix(project.path())
        .unwrap()
        .join("logs/speaks.log");
    assert_eq!(
        named,
        [
            ("silent", None),
            ("speaks", Some(rel.to_str().unwrap())),
            ("fails", None)
        ]
    );
}
