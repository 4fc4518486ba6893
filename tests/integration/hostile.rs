//! Repositories that ship hostile content cannot make planrun act outside them, run their own
//! commands, or promote themselves: `.planrun/` symlinks and odd entries, forged history, and a
//! `.git/config` full of commands. (Environments: `hostile_envs.rs`.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{lines, Project};
use crate::support::{mini, plan_file as plan, EDIT_APPLIED, EDIT_PLAN};

/// Every file under `root` but `.planrun/` and `.git/`, with its content.
pub(crate) fn files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".planrun") || rel == Path::new(".git") {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                out.push((
                    rel,
                    fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else {
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// What apply and status say of a shipped history that is a symlink.
const HISTORY_SYMLINK: &str = "error: refusing the history: `[TARGET]/.planrun/history.jsonl` is \
                               a symlink, and planrun does not follow one to its history (a \
                               repository may ship it to point anywhere); remove it, or name the \
                               real file with --history\n";

/// The warning on lines of a history planrun did not sign, up to the count of lines.
const FORGED_WARNING: &str = "warning: [TARGET]/.planrun/history.jsonl";

/// The rest of that warning, after the lines it names.
const FORGED_HINT: &str = "they do not count toward promotion. Jobs sharing a history (a CI \
                           cache) need the same key: set PLANRUN_KEY (README, \"CI gated rollout\")";

/// A shipped `.planrun/` holding `name` as a symlink to `to`.
fn ship_symlink(project: &Project, name: &str, to: &Path) {
    fs::create_dir_all(project.join(".planrun")).unwrap();
    std::os::unix::fs::symlink(to, project.join(".planrun").join(name)).unwrap();
}

#[test]
fn a_shipped_history_symlink_is_refused_and_the_file_it_names_untouched() {
    let (_dir, edit) = plan(EDIT_PLAN);
    let outside = tempfile::tempdir().unwrap();
    for existing in [true, false] {
        let project = mini();
        let victim = outside.path().join(format!("victim-{existing}"));
        if existing {
            fs::write(&victim, "precious\n").unwrap();
        }
        ship_symlink(&project, "history.jsonl", &victim);
        let before = files(project.path());
        project
            .test()
            .args(["apply", &edit, "--target", "."])
            .status(2)
            .stderr(HISTORY_SYMLINK)
            .run();
        if existing {
            assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        } else {
            assert!(!victim.exists(), "created through a dangling symlink");
        }
        assert_eq!(
            files(project.path()),
            before,
            "nothing in the target changed"
        );
    }
}

#[test]
fn a_history_pointing_at_dev_zero_is_refused_at_once() {
    let project = mini();
    project.write("staged.toml", STAGED);
    ship_symlink(&project, "history.jsonl", Path::new("/dev/zero"));
    // A planrun that read it would fill its memory: the wrapper caps both.
    let capped = ["prlimit", "--as=2000000000", "timeout", "60"];
    project
        .test()
        .wrapper(capped)
        .args(["status", "staged.toml", "--target", "."])
        .status(2)
        .stderr(HISTORY_SYMLINK)
        .run();
    project
        .test()
        .wrapper(capped)
        .args([
            "status",
            "staged.toml",
            "--target",
            ".",
            "--history",
            "/dev/zero",
        ])
        .status(2)
        .stderr(
            "error: refusing the history: `/dev/zero` is not a regular file; remove it, or name \
             a file with --history\n",
        )
        .run();
}

/// A suite marked `baseline = true`, so `--save-baseline` has a record to save.
const BASELINE_PLAN: &str = r#"
name = "base"
description = "A plan of the hostile tests."
[[phase]]
id = "p"
  [[phase.step]]
  id = "measure"
  action = "suite"
  framework = "command"
  command = "true"
  record = "baseline"
  baseline = true
  runs = 1
  warmup = 0
"#;

#[test]
fn a_shipped_baselines_symlink_is_refused_and_nothing_is_written_through_it() {
    let (_dir, base) = plan(BASELINE_PLAN);
    let project = mini();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("main.json"), "precious\n").unwrap();
    ship_symlink(&project, "baselines", outside.path());
    let before = files(project.path());
    project
        .test()
        .args(["apply", &base, "--target", ".", "--save-baseline", "main"])
        .status(2)
        .stderr(lines(&[
            "error: --save-baseline: baseline `[TARGET]/.planrun/baselines/main.json`: \
             `[TARGET]/.planrun/baselines` is a symlink; planrun keeps its state only in a real \
             directory of its own",
            "  hint: remove the symlink or file at .planrun/baselines (planrun makes that \
             directory itself)",
        ]))
        .run();
    assert_eq!(
        fs::read_to_string(outside.path().join("main.json")).unwrap(),
        "precious\n"
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(files(project.path()), before);
}

/// Two stages: `dev` must be green twice in a row before `ci`, which leaves a marker.
const STAGED: &str = r#"name = "staged"
description = "two stages"

[[phase]]
id = "dev"
  [[phase.step]]
  id = "noop"
  action = "run"
  command = "true"

[[phase]]
id = "wide"
needs = ["dev"]
  [[phase.step]]
  id = "mark"
  action = "run"
  command = "touch promoted.txt"
  changes = ["promoted.txt"]

[[stage]]
id = "dev"
phases = ["dev"]

  [[stage.promote]]
  check = "history.green_streak >= 2"

[[stage]]
id = "ci"
phases = ["wide"]
"#;

#[test]
fn a_forged_history_shipped_in_the_repository_promotes_nothing() {
    let project = mini();
    project.write("staged.toml", STAGED);
    let line = |run: &str| {
        format!(
            "{{\"v\":1,\"run_id\":\"{run}\",\"time\":\"2026-12-01T00:00:00Z\",\"plan\":\"staged\",\
             \"stage\":\"dev\",\"status\":\"passed\",\"exit_code\":0,\"duration_s\":1.0}}\n"
        )
    };
    fs::create_dir_all(project.join(".planrun")).unwrap();
    let forged = format!("{}{}{}", line("f1"), line("f2"), line("f3"));
    project.write(".planrun/history.jsonl", &forged);
    project
        .test()
        .args(["apply", "staged.toml", "--target", ".", "--stage", "ci"])
        .status(9)
        .stderr(lines(&[
            &format!(
                "{FORGED_WARNING}: 3 history lines not written by planrun on this machine \
             were ignored (line 1, 2, 3); {FORGED_HINT}"
            ),
            "error: stage `ci` may not be applied yet: stage `dev` is not promoted (0 run(s) in \
             its history window)",
            "  not met: history.green_streak 0 >= 2",
            "  hint: nothing was done; apply stage `dev` until its `promote` criteria hold \
             (`planrun status PLAN` shows them), or pass --force to apply anyway (the report and \
             the history say so)",
        ]))
        .run();
    assert!(!project.join("promoted.txt").exists());
    // Two real green runs do promote it: the check refuses forgeries, not history.
    for _ in 0..2 {
        project
            .test()
            .args([
                "apply",
                "staged.toml",
                "--target",
                ".",
                "--stage",
                "dev",
                "--reapply",
            ])
            // The first stage is not gated by the history: no word of the forged lines.
            .stderr(lines(&[
                "note: stage `dev` of 2 stages: the first stage",
                "planrun apply staged -> [TARGET] (run [RUN])",
                "▶ noop run",
                "✓ noop [DURATION]",
                "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
                "report: .planrun/runs/[RUN]/report.json",
            ]))
            .run();
    }
    project
        .test()
        .args([
            "apply",
            "staged.toml",
            "--target",
            ".",
            "--stage",
            "ci",
            "--reapply",
        ])
        .stderr(lines(&[
            &format!(
                "{FORGED_WARNING}: 3 history lines not written by planrun on this machine were \
                 ignored (line 1, 2, 3); {FORGED_HINT}"
            ),
            "note: stage `ci` of 2 stages: stage `dev` is promoted",
            "planrun apply staged -> [TARGET] (run [RUN])",
            "▶ noop run",
            "✓ noop [DURATION]",
            "▶ mark run",
            "✓ mark [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 1 file changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert!(project.join("promoted.txt").exists());
}

/// A `.git/config` and `.gitattributes` that make every git command run something: each
/// writes a marker file named after it into `markers`.
fn plant_git_commands(project: &Project, markers: &Path) {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(project.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    let script = |name: &str| {
        let path = markers.join(format!("{name}.sh"));
        let marker = markers.join(format!("{name}.ran"));
        fs::write(
            &path,
            format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
        )
        .unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut fs::metadata(&path).unwrap().permissions(),
            0o755,
        );
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let hooks = markers.join("hooks");
    fs::create_dir_all(&hooks).unwrap();
    for hook in [
        "post-index-change",
        "pre-commit",
        "post-checkout",
        "reference-transaction",
    ] {
        fs::copy(script(hook), hooks.join(hook)).unwrap();
    }
    let mut config = fs::read_to_string(project.join(".git/config")).unwrap();
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {}\n\thooksPath = {}\n[alias]\n\tst = !{}\n\tstatus = !{}\n\
         [diff]\n\texternal = {}\n[diff \"planted\"]\n\ttextconv = {}\n\
         [filter \"planted\"]\n\tclean = {}\n\tsmudge = {}\n",
        script("fsmonitor"),
        hooks.display(),
        script("alias-st"),
        script("alias-status"),
        script("external-diff"),
        script("textconv"),
        script("filter-clean"),
        script("filter-smudge"),
    ));
    fs::write(project.join(".git/config"), config).unwrap();
    project.write(".gitattributes", "* diff=planted filter=planted\n");
}

fn ran(markers: &Path) -> Vec<String> {
    fs::read_dir(markers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ran"))
        .collect()
}

#[test]
fn nothing_from_the_targets_git_config_runs_on_apply_or_drift_rollback() {
    let (_dir, edit) = plan(EDIT_PLAN);
    let project = mini();
    let markers = tempfile::tempdir().unwrap();
    plant_git_commands(&project, markers.path());
    // Uncommitted edits in the file the plan edits, so the dirty-file check looks at it.
    let app = project.read("app.py");
    project.write("app.py", &format!("{app}# a person's edit\n"));
    project
        .test()
        .args(["apply", &edit, "--target", ".", "--jobs", "1"])
        .stderr(format!(
            "warning: uncommitted changes in files this plan edits: app.py (planrun journals \
             them and can restore them)\n{EDIT_APPLIED}"
        ))
        .run();
    assert_eq!(ran(markers.path()), Vec::<String>::new(), "apply ran them");
    // A person edits what planrun wrote: rollback stops on drift and names git's state.
    project.write("app.py", "changed after the apply\n");
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(5)
        .stderr(lines(&[
            "changed since the apply: app.py (tracked by git, with uncommitted changes)",
            "--- a/app.py",
            "+++ b/app.py",
            "@@ -1,8 +1 @@",
            "-\"\"\"A tiny module for planrun's own tests.\"\"\"",
            "-",
            "-SLOW = False",
            "-",
            "-",
            "-def add(a, b):",
            "-    return a + b",
            "-# a person's edit",
            "+changed after the apply",
            "error: rollback of run `[RUN]` stopped: 1 path(s) changed since planrun wrote them; \
             nothing was touched",
            "  hint: keep your changes elsewhere first, or run `planrun rollback --force --target \
             .` to restore anyway after saving your versions in .planrun/journal/[RUN]/drift/",
        ]))
        .run();
    assert_eq!(
        ran(markers.path()),
        Vec::<String>::new(),
        "rollback ran them"
    );
}

/// The CI story: jobs on fresh runners (each its own state directory) that share one history
/// through a cache read each other's lines when `PLANRUN_KEY` gives them the same key, and
/// ignore them otherwise.
#[test]
fn a_history_shared_between_runners_counts_only_under_the_same_key() {
    let project = mini();
    project.write("staged.toml", STAGED);
    let shared = tempfile::tempdir().unwrap();
    let history = shared.path().join("history.jsonl");
    let history = history.to_str().unwrap();
    let key = "4f".repeat(32);
    let runner = |state: &Path, key: Option<&str>| {
        let test = project.test().env("PLANRUN_STATE_DIR", state);
        match key {
            Some(k) => test.env("PLANRUN_KEY", k),
            None => test.env_remove("PLANRUN_KEY"),
        }
    };
    for _ in 0..2 {
        let fresh = tempfile::tempdir().unwrap();
        runner(fresh.path(), Some(&key))
            .args(["apply", "staged.toml", "--target", ".", "--stage", "dev"])
            .args(["--history", history, "--reapply"])
            .stderr(lines(&[
                "note: stage `dev` of 2 stages: the first stage",
                "planrun apply staged -> [TARGET] (run [RUN])",
                "▶ noop run",
                "✓ noop [DURATION]",
                "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
                "report: .planrun/runs/[RUN]/report.json",
            ]))
            .run();
        runner(fresh.path(), Some(&key))
            .args(["rollback", "--target", "."])
            .stdout("rolled back run [RUN] (plan staged) in [DURATION]\n")
            .run();
    }
    let other = tempfile::tempdir().unwrap();
    let status = [
        "status",
        "staged.toml",
        "--target",
        ".",
        "--history",
        history,
    ];
    runner(other.path(), Some(&key))
        .args(status)
        .stdout(lines(&[
            "plan staged (history [TMP]/history.jsonl, window 20)",
            "stage dev: 2 runs, 2 green, green streak 2, fail rate 0%, last [TIME] (exit 0); may \
             be applied",
            "  promote: history.green_streak 2 >= 2 ... met",
            "  => may be promoted",
            "stage ci: no runs yet; may be applied",
            "  promote: no criteria; the next stage may follow at once",
        ]))
        .run();
    runner(other.path(), None)
        .args(status)
        .stdout(lines(&[
            "plan staged (history [TMP]/history.jsonl, window 20)",
            "stage dev: no runs yet; may be applied",
            "  promote: history.green_streak 0 >= 2 ... NOT MET",
            "  => not yet promoted",
            "stage ci: no runs yet; locked",
            "  promote: no criteria; the next stage may follow at once",
        ]))
        .stderr(format!(
            "warning: [TMP]/history.jsonl: 2 history lines not written by planrun on this machine \
             were ignored (line 1, 2); {FORGED_HINT}\n"
        ))
        .run();
    runner(other.path(), Some("not hex"))
        .args(status)
        .status_in(&[2, 4])
        .stderr_contains("PLANRUN_KEY")
        .run();
}

/// Odd entries in a shipped `.planrun/`: each refused with a clear message, never followed,
/// and nothing in the target changed.
#[test]
fn odd_entries_in_a_shipped_state_dir_are_refused_not_followed() {
    let (_dir, edit) = plan(EDIT_PLAN);
    let (_dir2, base) = plan(BASELINE_PLAN);
    let project = mini();
    fs::create_dir_all(project.join(".planrun/history.jsonl")).unwrap();
    let before = files(project.path());
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        .status(2)
        .stderr(
            "error: refusing the history: `[TARGET]/.planrun/history.jsonl` is not a regular \
             file; remove it, or name a file with --history\n",
        )
        .run();
    assert_eq!(files(project.path()), before);

    let project = mini();
    project.write(".planrun/baselines", "not a directory\n");
    project
        .test()
        .args(["apply", &base, "--target", ".", "--save-baseline", "main"])
        .status(2)
        .stderr(lines(&[
            "error: --save-baseline: baseline `[TARGET]/.planrun/baselines/main.json`: \
             `[TARGET]/.planrun/baselines` is not a directory; planrun keeps its state only in a \
             real directory of its own",
            "  hint: remove the symlink or file at .planrun/baselines (planrun makes that \
             directory itself)",
        ]))
        .run();
    assert_eq!(project.read(".planrun/baselines"), "not a directory\n");

    // A lock planted as a symlink to a device is neither read nor taken for a live apply's.
    let project = mini();
    ship_symlink(&project, "lock", Path::new("/dev/zero"));
    let before = files(project.path());
    let out = project
        .test()
        .wrapper(["prlimit", "--as=2000000000", "timeout", "60"])
        .args(["apply", &edit, "--target", "."])
        .status_in(&[2, 6])
        .stderr_contains("symlink")
        .run();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(files(project.path()), before);
}

/// A shipped `.planrun` that is itself a symlink: neither `apply` nor `history` reads or writes
/// the history through it.
#[test]
fn a_shipped_state_dir_symlink_is_never_read_or_written_through() {
    let (_dir, edit) = plan(EDIT_PLAN);
    let outside = tempfile::tempdir().unwrap();
    let forged = "{\"run\":\"forged\"}\n";
    fs::write(outside.path().join("history.jsonl"), forged).unwrap();
    let project = mini();
    std::os::unix::fs::symlink(outside.path(), project.join(".planrun")).unwrap();
    let before = files(project.path());
    let refused = "error: `{}` is a symlink; planrun keeps its state only in a real directory of \
                   its own\n";
    project
        .test()
        .args(["history", "--target", ".", "--plan", "edit"])
        .status(2)
        .stderr(format!(
            "{}  hint: nothing was done\n",
            refused.replace("{}", "./.planrun")
        ))
        .run();
    project
        .test()
        .args(["apply", edit.as_str(), "--target", "."])
        .status(2)
        .stderr(format!(
            "{}  hint: if you already put things right by hand, `planrun rollback --abandon RUN \
             --target [TARGET]` ends it (`planrun history` lists the runs)\n",
            refused.replace("{}", "[TARGET]/.planrun")
        ))
        .run();
    assert_eq!(files(project.path()), before);
    assert_eq!(
        fs::read_to_string(outside.path().join("history.jsonl")).unwrap(),
        forged
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
}
