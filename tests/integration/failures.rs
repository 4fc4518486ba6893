//! A gate that fails because tests broke names them: on the terminal, in the gate's annotation
//! and one annotation per test at its line, in junit.xml (a case per test, valid against
//! junit-10.xsd), in summary.md, with the logs copied by --report-dir and folded in CI output.

use std::fs;
use std::path::Path;

use crate::support::{self, Project, Test};

/// Checks `xml` against tests/fixtures/junit/junit-10.xsd with Python's xmlschema (a real XSD
/// validator, in the shared test venv).
pub fn assert_valid_junit(xml: &Path) {
    let xsd = support::repo_root().join("tests/fixtures/junit/junit-10.xsd");
    let out = std::process::Command::new(support::python())
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(&xsd)
        .arg(xml)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{} is not valid against junit-10.xsd:\n{}\n{}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr),
        fs::read_to_string(xml).unwrap_or_default()
    );
}

#[test]
fn the_xsd_rejects_what_strict_consumers_reject() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    fs::write(
        &bad,
        r#"<testsuites tests="1" skipped="0"><testsuite name="a" tests="1" failures="0" errors="0"><testcase name="t"/></testsuite></testsuites>"#,
    )
    .unwrap();
    let xsd = support::repo_root().join("tests/fixtures/junit/junit-10.xsd");
    let status = std::process::Command::new(support::python())
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(&xsd)
        .arg(&bad)
        .output()
        .unwrap()
        .status;
    assert!(
        !status.success(),
        "`skipped` on <testsuites> must be refused"
    );
}

/// The report of src/report/fixture.rs: a failed step, gates of every kind, named tests.
#[test]
fn the_sample_reports_junit_is_valid() {
    let target = tempfile::tempdir().unwrap();
    let run = target.path().join(".planrun/runs/20260101T000000Z-0001");
    fs::create_dir_all(&run).unwrap();
    fs::copy(
        support::repo_root().join("tests/fixtures/report/report.json"),
        run.join("report.json"),
    )
    .unwrap();
    let out = Test::new()
        .current_dir(target.path())
        .args(["report", "--target", ".", "--format", "junit"])
        .stdout_unchecked("validated below")
        .run();
    let file = target.path().join("junit.xml");
    fs::write(&file, &out.stdout).unwrap();
    assert_valid_junit(&file);
}

#[test]
fn a_broken_test_is_named_wherever_the_gate_is_reported() {
    let project = Project::fixture("gates/target");
    let plan = support::repo_root().join("tests/fixtures/gates/breaks.toml");
    let scratch = tempfile::tempdir().unwrap();
    let artifacts = scratch.path().join("artifacts");
    let summary = scratch.path().join("step-summary.md");
    let out = project
        .test()
        .arg("apply")
        .arg(&plan)
        .args(["--target", ".", "--ci", "--var"])
        .arg(format!("python={}", support::python().display()))
        .arg("--report-dir")
        .arg(&artifacts)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", support::repo_root())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .status(1)
        .stdout_unchecked("annotation lines, checked below")
        .stderr_unchecked("checked below")
        .run();
    let test_id = "tests/test_demo.py::test_optional_failure";
    assert!(
        out.stderr.contains(
            "gate after.failed 1 <= baseline.failed 0 ... FAIL  (no test may break)\n  \
             failed in after: tests/test_demo.py::test_optional_failure  AssertionError: assert '1' != '1'"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("(tests/test_demo.py:39)\n"),
        "{}",
        out.stderr
    );
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    assert_eq!(
        annotations[0],
        format!(
            "::error file=tests/fixtures/gates/breaks.toml,line=42,title=planrun gate failed::\
             after.failed <= baseline.failed — after.failed 1 <= baseline.failed 0 \
             (no test may break); tests: {test_id} failed in after"
        )
    );
    let test_file = project.join("tests/test_demo.py");
    assert!(
        annotations[1].starts_with(&format!(
            "::error file={},line=39,title=planrun%3A test failed in after::{test_id}: AssertionError",
            test_file.display()
        )),
        "{}",
        annotations[1]
    );
    // The gate failed, no step did: no step log is folded, the test's failure text is.
    assert!(
        out.stdout
            .contains(&format!("::group::planrun: {test_id} failed in after\n")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("::notice"), "passing gates are quiet");

    let junit = artifacts.join("junit.xml");
    assert_valid_junit(&junit);
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(&format!(
            "<testcase classname=\"planrun.test.after\" name=\"{test_id}\" time=\"0.000\">\n      \
             <failure message=\"failed in after: AssertionError: assert &apos;1&apos; != &apos;1&apos;\">gate: after.failed &lt;= baseline.failed\nat: tests/test_demo.py:39\n"
        )),
        "{xml}"
    );
    let md = fs::read_to_string(artifacts.join("summary.md")).unwrap();
    assert!(
        md.contains(&format!(
            "| `{test_id}` | ✅ ok | ❌ failed | AssertionError: assert &#39;1&#39; != &#39;1&#39; (tests/test_demo.py:39) |"
        )) || md.contains(&format!("| `{test_id}` | ✅ ok | ❌ failed | AssertionError: assert '1' != '1' (tests/test_demo.py:39) |")),
        "{md}"
    );
    let logs: Vec<String> = fs::read_dir(artifacts.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(logs.iter().any(|l| l == "after-run-1.log"), "{logs:?}");
    let log = fs::read_to_string(artifacts.join("logs/after-run-1.log")).unwrap();
    assert!(log.contains("1 failed"), "{log}");
}
