//! A junit file with a test listed twice and impossible times gives sane metrics and warnings.

use std::fs;

use crate::support::{lines, repo_root, Project};

const PLAN: &str = r#"name = "odd-junit"
description = "A suite whose junit file lists a test twice and has negative and NaN times."
[[phase]]
id = "measure"
  [[phase.step]]
  id = "suite"
  action = "suite"
  command = "sh ${plan_dir}/suite.sh"
  runs = 2
  warmup = 0
  record = "baseline"
  [[phase.gate]]
  check = "baseline.tests == 3 and baseline.passed == 3 and baseline.slowest == 0.25"
"#;

const SUITE: &str = r#"for arg in "$@"; do
  case "$arg" in --junitxml=*) out="${arg#--junitxml=}" ;; esac
done
cat > "$out" <<XML
<testsuites><testsuite tests="4"><testcase classname="m" name="a" time="-5.0"/><testcase classname="m" name="a" time="-5.0"/><testcase classname="m" name="b" time="NaN"/><testcase classname="m" name="c" time="0.25"/></testsuite></testsuites>
XML
"#;

#[test]
fn duplicates_count_once_and_bad_times_are_unknown() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    fs::write(dir.path().join("suite.sh"), SUITE).unwrap();
    let plan = dir.path().join("plan.toml");
    let out = project
        .test()
        .args(["apply", plan.to_str().unwrap(), "--target", ".", "--json"])
        .stdout_unchecked("parsed and checked field by field below")
        .stderr(lines(&[
            "planrun apply odd-junit -> [TARGET] (run [RUN])",
            "▶ suite suite",
            "  suite: run 1/2 took [DURATION]",
            "  suite: run 2/2 took [DURATION]",
            "  warning: junit file lists 1 test(s) more than once, counted once: m::a",
            "  warning: junit file has 2 negative or non-finite test time(s), taken as unknown \
             (0): m::a (-5.0), m::b (NaN)",
            "✓ suite [DURATION]  median [DURATION] ± [DURATION], 3 passed, 0 failed",
            "gate baseline.tests 3 == 3 and baseline.passed 3 == 3 and baseline.slowest 0.250 == \
             0.25 ... pass",
            "records: baseline [DURATION]",
            "applied in [DURATION]: 1/1 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    // The gate passing says tests=3, passed=3 and slowest=0.25 (not -5.0); the report says why.
    let all = out.all();
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    let text = report.to_string();
    assert!(text.contains("more than once"), "{all}");
    assert!(text.contains("non-finite"), "{all}");
}
