//! Staged rollouts end to end: promotion between stages decided on the run history (refused
//! with its numbers, forced and said so), the history file's appends (concurrent, after a torn
//! line) and the commands that read it. The staged example plan on the locator demo is in
//! tests/e2e/rollout.rs.

use serde_json::Value;

use crate::support::{self, lines, newest_report, Project};

/// Two stages over `command` suites: `dev` edits a file and must be green twice in a row
/// before `ci` runs; `ci` checks that its environment reached the step.
const PLAN: &str = r#"name = "staged"
description = "two stages over a file edit"

[vars]
code = "0"

[[phase]]
id = "measure"
  [[phase.step]]
  id = "base"
  action = "suite"
  framework = "command"
  command = "true"
  record = "baseline"
  runs = 1
  warmup = 0

[[phase]]
id = "dev"
needs = ["measure"]
  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "app.cfg"
  pattern = "slow"
  replacement = "fast"

  [[phase.step]]
  id = "check"
  needs = ["edit"]
  action = "suite"
  framework = "command"
  command = "test -n \"$FLAG\" && exit ${code}"
  record = "after"
  runs = 1
  warmup = 0

  [[phase.gate]]
  check = "after.runs_green == 1"

[[phase]]
id = "wide"
needs = ["dev"]
  [[phase.step]]
  id = "wide-env"
  action = "run"
  command = "test \"$FLAG\" = wide && test \"$OTHER\" = kept"

[[stage]]
id = "dev"
phases = ["dev"]
env = { FLAG = "on", OTHER = "kept" }

  [[stage.promote]]
  check = "history.green_streak >= 2"
  why = "two green runs in a row"

[[stage]]
id = "ci"
phases = ["wide"]
env = { FLAG = "wide" }
"#;

fn project() -> (Project, tempfile::TempDir) {
    let project = Project::fixture("gates/target");
    project.write("staged.toml", PLAN);
    project.write("app.cfg", "mode = slow\n");
    (project, tempfile::tempdir().unwrap())
}

fn history_arg(dir: &tempfile::TempDir) -> String {
    dir.path().join("history.jsonl").display().to_string()
}

/// `planrun apply staged.toml --target . --history H --reapply [extra]`, then a rollback so the
/// next apply starts from the file as shipped.
fn apply(project: &Project, history: &str, extra: &[&str], status: i32) -> support::Output {
    let out = project
        .test()
        .args([
            "apply",
            "staged.toml",
            "--target",
            ".",
            "--history",
            history,
        ])
        .args(extra)
        .status(status)
        .stderr_unchecked("progress and timings; the assertions read what matters")
        .run();
    if status == 0 {
        project
            .test()
            .args(["rollback", "--target", "."])
            .stdout_unchecked("the rollback's account")
            .stderr_unchecked("notes")
            .run();
    }
    out
}

fn history_lines(dir: &tempfile::TempDir) -> Vec<Value> {
    std::fs::read_to_string(dir.path().join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The second stage is refused, exit 9 with the numbers (not promoted: neutral, unlike the 1 of
/// the failed gate below), until the first has its green streak; each apply appends one line
/// naming its stage, and the environment of every stage up to the
/// one applied reaches the steps (a later stage's value wins).
#[test]
fn a_stage_waits_for_the_previous_stage_to_be_promoted() {
    let (project, dir) = project();
    let history = history_arg(&dir);
    let refused = apply(&project, &history, &["--stage", "ci"], 9);
    assert!(
        refused.stderr.contains(
            "error: stage `ci` may not be applied yet: stage `dev` is not promoted (0 run(s) in its history window)\n  not met: history.green_streak 0 >= 2 (two green runs in a row)"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        history_lines(&dir).is_empty(),
        "a refused apply ran nothing"
    );
    assert_eq!(project.read("app.cfg"), "mode = slow\n");

    apply(&project, &history, &[], 0);
    // A red run breaks the streak.
    apply(&project, &history, &["--var", "code=1"], 1);
    apply(&project, &history, &["--stage", "dev"], 0);
    apply(&project, &history, &["--stage", "ci"], 9);
    apply(&project, &history, &["--stage", "dev"], 0);

    let status = project
        .test()
        .args(["status", "staged.toml", "--target", ".", "--history", &history])
        .stdout(lines(&[
            "plan staged (history [TMP]/history.jsonl, window 20)",
            "stage dev: 4 runs, 3 green, green streak 2, fail rate 25%, last [TIME] (exit 0); may be applied",
            "  promote: history.green_streak 2 >= 2 ... met",
            "  => may be promoted",
            "stage ci: no runs yet; may be applied",
            "  promote: no criteria; the next stage may follow at once",
        ]))
        .run();
    let _ = status;
    apply(&project, &history, &["--stage", "ci"], 0);

    let entries = history_lines(&dir);
    let stages: Vec<&str> = entries
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["dev", "dev", "dev", "dev", "ci"]);
    let codes: Vec<u64> = entries
        .iter()
        .map(|e| e["exit_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [0, 1, 0, 0, 0]);
    assert_eq!(entries[4]["records"]["after"]["runs_green"], 1.0);
    assert_eq!(entries[1]["gates"][0]["status"], "fail");
    let report = newest_report(&project);
    assert_eq!(report["stage"]["id"], "ci");
    assert_eq!(report["stage"]["forced"], false);
    assert_eq!(report["stage"]["promotion"]["criteria"][0]["pass"], true);
}

/// `--force` enters a stage whose previous stage is not promoted, warns, and both the report
/// and the history line say it was forced.
#[test]
fn force_enters_an_unpromoted_stage_and_says_so() {
    let (project, dir) = project();
    let history = history_arg(&dir);
    let out = apply(&project, &history, &["--stage", "ci", "--force"], 0);
    assert!(
        out.stderr.contains(
            "warning: entering stage `ci` with --force: stage `dev` is not promoted (history.green_streak 0 >= 2 (two green runs in a row))"
        ),
        "{}",
        out.stderr
    );
    let report = newest_report(&project);
    assert_eq!(report["stage"]["forced"], true);
    assert_eq!(report["stage"]["promotion"]["criteria"][0]["pass"], false);
    let entries = history_lines(&dir);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["forced"], true);
    assert_eq!(entries[0]["stage"], "ci");
}

/// A stage that does not exist, or `--stage` on a plan without stages, is a usage error naming
/// what there is.
#[test]
fn unknown_stages_are_refused_with_the_stages_there_are() {
    let (project, dir) = project();
    let history = history_arg(&dir);
    project
        .test()
        .args(["apply", "staged.toml", "--target", ".", "--stage", "cj"])
        .status(2)
        .stderr("error: plan `staged` has no stage `cj`\n  hint: did you mean `ci`?\n")
        .run();
    project.write("plain.toml", &PLAN[..PLAN.find("[[stage]]").unwrap()]);
    project
        .test()
        .args(["apply", "plain.toml", "--target", ".", "--stage", "ci", "--history", &history])
        .status(2)
        .stderr("error: --stage ci given, but plan `staged` has no stages\n  hint: drop --stage, or declare `[[stage]]` entries in the plan\n")
        .run();
}

/// Several applies appending to one history file at once lose nothing; a torn line (a job
/// killed mid-write) is named with its line number, skipped and not counted, and the next
/// append starts on a line of its own.
#[test]
fn concurrent_appends_and_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let history = history_arg(&dir);
    let projects: Vec<(Project, tempfile::TempDir)> = (0..6).map(|_| project()).collect();
    let running: Vec<_> = projects
        .iter()
        .map(|(p, _)| {
            p.test()
                .args([
                    "apply",
                    "staged.toml",
                    "--target",
                    ".",
                    "--history",
                    &history,
                ])
                .stderr_unchecked("progress")
                .spawn()
        })
        .collect();
    for r in running {
        r.wait();
    }
    let entries = history_lines(&dir);
    assert_eq!(entries.len(), 6, "one line per apply");
    let mut ids: Vec<&str> = entries
        .iter()
        .map(|e| e["run_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six different runs");

    // A job killed mid-write leaves half a line without its newline.
    let path = dir.path().join("history.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"v\":1,\"run_id\":\"2026");
    std::fs::write(&path, &text).unwrap();
    let (project, _) = &projects[0];
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback's account")
        .stderr_unchecked("notes")
        .run();
    apply(project, &history, &[], 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let torn: Vec<&str> = text.lines().collect();
    assert_eq!(torn.len(), 8);
    assert!(
        serde_json::from_str::<Value>(torn[7]).is_ok(),
        "{}",
        torn[7]
    );
    project
        .test()
        .args(["history", "--target", ".", "--plan", "staged.toml", "--stage", "dev", "--history", &history])
        .stdout_contains("7 runs of plan `staged`, stage `dev`")
        .stderr("warning: [TMP]/history.jsonl:7: unreadable history line skipped (EOF while parsing a string at line 1 column 21); it is not counted as a run\n")
        .run();
}

/// `apply --ci` never waits for input: a step that reads its stdin gets end-of-file at once,
/// though planrun's own stdin stays open (a CI runner's may).
#[test]
fn ci_mode_never_waits_for_input() {
    let (project, dir) = project();
    project.write(
        "ask.toml",
        "name = 'ask'\ndescription = 'd'\n[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'ask'\naction = 'run'\ncommand = 'if read answer; then exit 1; fi'\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_planrun"))
        .args(["apply", "ask.toml", "--target", ".", "--ci", "--history"])
        .arg(history_arg(&dir))
        .current_dir(project.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("apply --ci waited for input");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // The pipe was open the whole time; the step saw EOF and passed.
    drop(child.stdin.take());
    assert_eq!(status.code(), Some(0));
}

/// A dry run of a stage that is not promoted yet previews it and says the apply would be
/// refused; a history file in a directory that does not exist yet gets its directory.
#[test]
fn a_dry_run_previews_an_unpromoted_stage_and_history_dirs_are_made() {
    let (project, dir) = project();
    let out = project
        .test()
        .args(["apply", "staged.toml", "--target", ".", "--stage", "ci", "--dry-run"])
        .stdout_contains("wide-env")
        .stderr_contains("warning: an apply of stage `ci` would be refused: stage `dev` is not promoted (history.green_streak 0 >= 2 (two green runs in a row))")
        .run();
    let _ = out;
    assert!(
        !project.join(".planrun").exists(),
        "a dry run writes nothing"
    );
    let nested = dir.path().join("cache/planrun/history.jsonl");
    project
        .test()
        .args(["apply", "staged.toml", "--target", ".", "--history"])
        .arg(&nested)
        .stderr_unchecked("progress")
        .run();
    assert_eq!(std::fs::read_to_string(&nested).unwrap().lines().count(), 1);
}
