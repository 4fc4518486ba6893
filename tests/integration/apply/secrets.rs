//! Secret variables reach the commands but none of what planrun writes for people: report.json,
//! junit.xml, summary.md, the `--report-dir` copies, annotations, the step summary, the dry run,
//! the terminal and `-vv` log lines.

use std::fs;

use super::{mini, plan_in_tempdir, run_ids};
use crate::support::lines;
use crate::support::{Project, Test};

const TOKEN: &str = "tok-31415926";
const DSN: &str = "postgres://u:hunter22@db";
const API: &str = "k3y-271828";

fn plan(command: &str) -> String {
    format!(
        "name = 'secrets'\ndescription = 'd'\n[vars]\ndsn = {{ value = '{DSN}', secret = true }}\n\
         api_key = '{API}'\n[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'use'\naction = 'run'\n\
         command = '{command}'\n"
    )
}

/// Runs planrun in CI mode as GitHub Actions would, with a step summary file.
fn ci<'a>(project: &'a Project, summary: &std::path::Path, args: &[&str]) -> Test<'a> {
    project
        .test()
        .args(args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary)
}

/// Every report file of the newest run and of the `--report-dir` copy, with their names.
fn reports(project: &Project, copies: &std::path::Path) -> Vec<(String, String)> {
    let id = run_ids(project).pop().expect("a run");
    let mut out = Vec::new();
    for dir in [
        project.join(format!(".planrun/runs/{id}")),
        copies.to_path_buf(),
    ] {
        for name in ["report.json", "junit.xml", "summary.md", "report.html"] {
            let path = dir.join(name);
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            out.push((path.display().to_string(), text));
        }
    }
    out
}

fn assert_masked(what: &str, text: &str) {
    for secret in [TOKEN, DSN, API, "hunter22"] {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[test]
fn secrets_reach_the_command_but_no_report_log_or_preview() {
    let project = mini();
    let (dir, plan) = plan_in_tempdir(&plan("echo ${token} ${dsn} ${api_key} > out.txt"), &[]);
    let copies = dir.path().join("artifacts");
    let summary = dir.path().join("summary.md");
    let var = format!("token={TOKEN}");

    let dry = project
        .test()
        .args(["apply", &plan, "--target", ".", "--var", &var, "--dry-run"])
        .stdout(lines(&[
            "plan       secrets ([TMP]/plan.toml)",
            "target     [TARGET]",
            "phases     p",
            "",
            "phase p",
            "  step use (run)",
            "    $ echo *** *** *** > out.txt",
            "",
            "plan: 0 files to change, 0 packages to install, 1 command, 0 timed suites, 0 gates",
        ]))
        .run();
    assert_masked("the dry run", &dry.all());

    let copies_arg = copies.to_str().unwrap();
    let args = [
        "-vv",
        "apply",
        &plan,
        "--target",
        ".",
        "--var",
        &var,
        "--ci",
        "--report-dir",
        copies_arg,
    ];
    let out = ci(&project, &summary, &args)
        // stderr: measured numbers vary.
        .stderr_contains(" INFO planrun::exec::setup: loading plan plan=[TMP]/plan.toml")
        .apply_progress(
            "secrets",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .stderr_contains("▶ use run")
        .stderr_contains(" INFO planrun::exec::apply: step started step=use action=\"run\"")
        .stderr_contains(
            "DEBUG planrun::process::spawn: spawning command=echo *** *** *** \
             > out.txt cwd=[TARGET]",
        )
        .stderr_contains(
            "DEBUG planrun::process::child: started in its own process group pid=18367",
        )
        .stderr_contains("✓ use [DURATION]")
        .run();
    assert_eq!(project.read("out.txt"), format!("{TOKEN} {DSN} {API}\n"));
    assert_masked("apply's output", &out.all());
    assert!(out.stderr.contains("echo *** *** ***"), "{}", out.stderr);
    for (name, text) in reports(&project, &copies) {
        assert_masked(&name, &text);
    }
    let report = fs::read_to_string(copies.join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    for name in ["token", "dsn", "api_key"] {
        assert_eq!(json["vars"][name], "***", "{name}");
    }
    assert_masked("the step summary", &fs::read_to_string(&summary).unwrap());
}

#[test]
fn a_failing_step_shows_its_command_and_output_masked() {
    let project = mini();
    let (dir, plan) = plan_in_tempdir(&plan("echo ${token} ${api_key}; exit 3"), &[]);
    let copies = dir.path().join("artifacts");
    let summary = dir.path().join("summary.md");
    let var = format!("token={TOKEN}");
    let args = [
        "apply",
        &plan,
        "--target",
        ".",
        "--var",
        &var,
        "--ci",
        "--report-dir",
        copies.to_str().unwrap(),
    ];
    let out = ci(&project, &summary, &args)
        .status(3)
        .stdout(lines(&[
            "::group::planrun: step `use` failed, .planrun/runs/[RUN]/logs/use.log",
            "::stop-commands::[TOKEN]",
            "*** ***",
            "::[TOKEN]::",
            "::endgroup::",
            "::error title=planrun step failed::p/use: `echo *** ***; exit 3` \
             exited with status 3%0A  | *** ***",
        ]))
        .stderr(lines(&[
            "planrun apply secrets -> [TARGET] (run [RUN])",
            "▶ use run",
            "✗ use [DURATION]  `echo *** ***; exit 3` exited with status 3",
            "  | *** ***",
            "✗ step `use` failed; rolling back",
            "↺ rolled back in [DURATION]: 0 restored, 0 deleted, 0 \
             environments restored",
            "step failed, rolled back in [DURATION]: 0/0 gates passed, 0 \
             files changed (+0 -0); exit 3",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert_masked("apply's output", &out.all());
    for (name, text) in reports(&project, &copies) {
        assert_masked(&name, &text);
    }
    let report = fs::read_to_string(copies.join("report.json")).unwrap();
    assert!(report.contains("  | *** ***"), "{report}");
    assert_masked("the step summary", &fs::read_to_string(&summary).unwrap());
}
