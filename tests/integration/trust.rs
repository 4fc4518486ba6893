//! Rollback never destroys a person's work, and no repository can turn planrun against its
//! user: drift, in-target symlinks, caches, shipped and planted `.planrun/`, concurrent first
//! applies, stuck runs ended by hand, and re-applies that know they are applied.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::support::lines;
use crate::support::{fnv1a, python, Output, Project, Test};
use crate::support::{mini, one_phase_plan, plan_file as plan, EDIT_APPLIED, EDIT_PLAN};

/// What rollback says of a journal another key signed (`[ID]`), the only one on the target.
const NOT_WRITTEN_HERE: &str = "warning: `.planrun/journal/[ID]` was not written here (by this \
     user on this machine) and is ignored; inspect it, then `planrun rollback --abandon [ID]` \
     sets it aside\n\
     note: nothing to roll back: every run in `.` is rolled back\n";

/// A plan whose one step does nothing and has `undo` as its undo command.
fn undo_plan(undo: &str) -> (tempfile::TempDir, String) {
    plan(&one_phase_plan(
        "undo",
        &format!(
            r#"
  [[phase.step]]
  id = "x"
  action = "run"
  command = "true"
  undo = "{undo}"
"#
        ),
    ))
}

/// Every file and symlink under the copy except `.planrun/`, caches included: equal maps mean
/// the tree is exactly as it was.
fn whole_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".planrun") {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("-> {}", fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                stack.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                out.insert(rel, format!("{}:{:016x}", bytes.len(), fnv1a(&bytes)));
            }
        }
    }
    out
}

/// The run ids in the copy's journal, oldest first.
fn journal_ids(project: &Project) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(project.join(".planrun/journal"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// `planrun` in the copy with planrun's per-user state (its key) in `state`: another user, or
/// the same user on another machine, as far as the journal's signatures go.
fn as_other_user<'a>(project: &'a Project, state: &Path, args: &[&str]) -> Test<'a> {
    project.test().args(args).env("PLANRUN_STATE_DIR", state)
}

#[test]
fn rollback_refuses_to_overwrite_a_persons_edits_and_force_keeps_them() {
    let project = mini();
    let original = whole_tree(project.path());
    let (_dir, plan) = plan(EDIT_PLAN);
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--jobs", "1"])
        .stderr(EDIT_APPLIED)
        .run();
    let app = project.read("app.py") + "# my own edit\n";
    project.write("app.py", &app);
    project.write("out.txt", "made\nand mine\n");

    project
        .test()
        .args(["rollback", "--target", "."])
        .status(5)
        // The two steps ran one after the other, so their files are shown in the journal's order.
        .stderr(lines(&[
            "changed since the apply: app.py",
            "--- a/app.py",
            "+++ b/app.py",
            "@@ -5,3 +5,4 @@",
            " ",
            " def add(a, b):",
            "     return a + b",
            "+# my own edit",
            "changed since the apply: out.txt",
            "--- a/out.txt",
            "+++ b/out.txt",
            "@@ -1 +1,2 @@",
            " made",
            "+and mine",
            "error: rollback of run `[RUN]` stopped: 2 path(s) changed since planrun wrote them; \
             nothing was touched",
            "  hint: keep your changes elsewhere first, or run `planrun rollback --force --target .` \
             to restore anyway after saving your versions in .planrun/journal/[RUN]/drift/",
        ]))
        .run();
    assert_eq!(project.read("app.py"), app, "the person's edit is kept");
    assert_eq!(project.read("out.txt"), "made\nand mine\n");

    project
        .test()
        .args(["rollback", "--target", ".", "--force"])
        .stdout(lines(&[
            "rolled back run [RUN] (plan edit) in [DURATION]",
            "  deleted   out.txt",
            "  restored  app.py",
            "  saved     app.py: your version is in ./.planrun/journal/[RUN]/drift/app.py",
            "  saved     out.txt: your version is in ./.planrun/journal/[RUN]/drift/out.txt",
        ]))
        .run();
    assert_eq!(whole_tree(project.path()), original);
    let id = &journal_ids(&project)[0];
    let saved = project.join(format!(".planrun/journal/{id}/drift"));
    assert_eq!(fs::read_to_string(saved.join("app.py")).unwrap(), app);
    assert_eq!(
        fs::read_to_string(saved.join("out.txt")).unwrap(),
        "made\nand mine\n"
    );
}

#[test]
fn an_edit_through_an_in_target_symlink_edits_the_real_file() {
    let project = mini();
    fs::create_dir(project.join("config")).unwrap();
    fs::rename(project.join("setup.cfg"), project.join("config/setup.cfg")).unwrap();
    std::os::unix::fs::symlink("config/setup.cfg", project.join("setup.cfg")).unwrap();
    let original = whole_tree(project.path());
    let (_dir, plan) = plan(&one_phase_plan(
        "cfg",
        r#"
  [[phase.step]]
  id = "version"
  action = "ini"
  path = "setup.cfg"
  section = "metadata"
  set = { version = "0.2" }
"#,
    ));
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .stderr(lines(&[
            "planrun apply cfg -> [TARGET] (run [RUN])",
            "▶ version ini",
            "✓ version [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 1 file changed (+1 -1); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let link = fs::symlink_metadata(project.join("setup.cfg")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    assert!(project.read("config/setup.cfg").contains("version = 0.2"));
    let report = project
        .test()
        .args(["report", "--target", ".", "--format", "json"])
        .stdout_unchecked("parsed and checked field by field below")
        .run();
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(report["diffstat"]["files"], 1, "{report}");

    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout(lines(&[
            "rolled back run [RUN] (plan cfg) in [DURATION]",
            "  restored  config/setup.cfg",
        ]))
        .run();
    assert_eq!(whole_tree(project.path()), original);
}

#[test]
fn rollback_removes_the_caches_the_run_created() {
    let project = mini();
    let original = whole_tree(project.path());
    let (_dir, plan) = plan(&one_phase_plan(
        "caches",
        &format!(
            r#"
  [[phase.step]]
  id = "import"
  action = "run"
  command = "{py} -c 'import app'"
  [[phase.step]]
  id = "suite"
  needs = ["import"]
  action = "suite"
  command = "{py} -m pytest -q"
  runs = 1
  warmup = 0
  record = "after"
  [[phase.gate]]
  check = "after.failed > 0"
"#,
            py = python().display()
        ),
    ));
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(1)
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "caches",
            "gate failed, rolled back in [DURATION]: 0/1 gates passed, 0 \
             files changed (+0 -0); exit 1",
        )
        .stderr_contains("gate after.failed 0 > 0 ... FAIL")
        .stderr_contains("records: after [DURATION]")
        .run();
    assert_eq!(whole_tree(project.path()), original);
}

#[test]
fn a_journal_shipped_in_the_repository_is_never_acted_on() {
    let project = mini();
    let elsewhere = tempfile::tempdir().unwrap();
    let pwned = elsewhere.path().join("PWNED");
    // A real journal, written under another key: what a repository can ship.
    let (_dir, shipped) = undo_plan(&format!("touch {}", pwned.display()));
    let other = elsewhere.path().join("other-user");
    as_other_user(&project, &other, &["apply", &shipped, "--target", "."])
        .stderr(lines(&[
            "planrun apply undo -> [TARGET] (run [RUN])",
            "▶ x run",
            "✓ x [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let id = journal_ids(&project).pop().unwrap();
    // A process group the crafted journal names, as if a killed apply had left it.
    let mut bystander = std::process::Command::new("sleep")
        .arg("300")
        .process_group(0)
        .spawn()
        .unwrap();
    // Recorded the way planrun records its own groups: `pgid starttime session boot_id`.
    let stat = fs::read_to_string(format!("/proc/{}/stat", bystander.id())).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let (session, start) = (fields[3], fields[19]);
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    fs::write(
        project.join(format!(".planrun/journal/{id}/groups")),
        format!("{} {start} {session} {}\n", bystander.id(), boot.trim()),
    )
    .unwrap();
    let meta = project.join(format!(".planrun/journal/{id}/meta.json"));
    let text = fs::read_to_string(&meta)
        .unwrap()
        .replace("\"applied\"", "\"running\"");
    fs::write(&meta, text).unwrap();

    project
        .test()
        .args(["rollback", "--target", "."])
        .redact(&id, "[ID]")
        .stderr(NOT_WRITTEN_HERE)
        .run();
    assert!(!pwned.exists(), "the shipped undo command ran");
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "a process group named by a shipped journal was killed"
    );
    let (_dir2, edit) = plan(EDIT_PLAN);
    project
        .test()
        .args(["apply", &edit, "--target", ".", "--jobs", "1"])
        .redact(&id, "[ID]")
        .stderr(format!(
            "warning: `.planrun/journal/[ID]` was not written here (by this user on this \
             machine) and is ignored; inspect it, then `planrun rollback --abandon [ID]` sets it \
             aside\n{EDIT_APPLIED}"
        ))
        .run();
    project
        .test()
        .args(["rollback", "--target", ".", "--abandon", &id])
        .stdout(lines(&[
            "set aside journal [RUN], which was not written here, in \
             ./.planrun/quarantine/[RUN]; planrun never acted on it",
        ]))
        .run();
    assert!(project.join(format!(".planrun/quarantine/{id}")).is_dir());
    assert!(!pwned.exists());
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

#[test]
fn a_journal_tampered_with_after_the_apply_is_refused() {
    let project = mini();
    let elsewhere = tempfile::tempdir().unwrap();
    let marker = elsewhere.path().join("marker");
    let (_dir, undo) = undo_plan(&format!(
        "touch {}; test ${{api_token}} = hunter2xyz",
        marker.display()
    ));
    project
        .test()
        .args([
            "apply",
            &undo,
            "--target",
            ".",
            "--var",
            "api_token=hunter2xyz",
        ])
        .stderr(lines(&[
            "planrun apply undo -> [TARGET] (run [RUN])",
            "▶ x run",
            "✓ x [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let id = journal_ids(&project).pop().unwrap();
    let log = project.join(format!(".planrun/journal/{id}/entries.log"));
    // The undo command is sealed in the log (it may carry a secret); what is in the clear, here
    // the step it belongs to, is covered by the record's MAC like the rest.
    let text = fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("hunter2xyz"),
        "a secret in the journal: {text}"
    );
    assert!(text.contains("sealed:v1:"), "{text}");
    assert!(text.contains("\"step\":\"x\""), "{text}");
    fs::write(&log, text.replace("\"step\":\"x\"", "\"step\":\"y\"")).unwrap();
    project
        .test()
        .args(["rollback", "--target", "."])
        .redact(&id, "[ID]")
        .stderr(NOT_WRITTEN_HERE)
        .run();
    assert!(!marker.exists(), "a tampered journal was replayed");
}

#[test]
fn a_planted_state_dir_symlink_is_refused_and_nothing_is_written_through_it() {
    let (_dir, edit) = plan(EDIT_PLAN);
    let symlink = "is a symlink; planrun keeps its state only in a real directory of its own";
    let by_hand =
        "  hint: if you already put things right by hand, `planrun rollback --abandon RUN \
                   --target [TARGET]` ends it (`planrun history` lists the runs)";
    for planted in [".planrun", ".planrun/journal", ".planrun/runs"] {
        let project = mini();
        let outside = tempfile::tempdir().unwrap();
        let parent = project.join(planted).parent().unwrap().to_path_buf();
        fs::create_dir_all(&parent).unwrap();
        std::os::unix::fs::symlink(outside.path(), project.join(planted)).unwrap();
        let before = whole_tree(project.path());
        project
            .test()
            .args(["apply", &edit, "--target", "."])
            .status(2)
            // The runs directory is found to be a symlink where the reports are prepared.
            .stderr(if planted == ".planrun/runs" {
                lines(&[
                    "error: failed to prepare the reports directory",
                    &format!("  Caused by: `[TARGET]/{planted}` {symlink}"),
                ])
            } else {
                lines(&[&format!("error: `[TARGET]/{planted}` {symlink}"), by_hand])
            })
            .run();
        let left: Vec<_> = fs::read_dir(outside.path()).unwrap().collect();
        assert!(left.is_empty(), "{planted}: wrote {left:?} outside");
        if planted != ".planrun" {
            // Edits that ran before the refusal were rolled back, or none ran.
            let now = whole_tree(project.path());
            let changed: Vec<_> = now
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(v) && !k.starts_with(".planrun"))
                .collect();
            assert!(changed.is_empty(), "{planted}: {changed:?}");
        }
    }
}

#[test]
fn concurrent_first_applies_get_locked_not_broken() {
    let project = mini();
    let (_dir, plan) = plan(&one_phase_plan(
        "slowish",
        r#"
  [[phase.step]]
  id = "wait"
  action = "run"
  command = "sleep 0.3"
"#,
    ));
    let children: Vec<_> = (0..8)
        .map(|_| {
            project
                .test()
                .args(["apply", &plan, "--target", "."])
                // Which of them gets the lock is a race; each output is checked by its code below.
                .status_in(&[0, 6])
                .stdout_unchecked("checked by exit code below")
                .stderr_unchecked("checked by exit code below")
                .spawn()
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|c| c.wait()).collect();
    let mut applied = 0;
    for out in &outs {
        match out.code {
            0 => applied += 1,
            _ => assert!(out.stderr.contains("is locked by"), "{}", out.all()),
        }
    }
    assert!(applied >= 1);
}

#[test]
fn a_stuck_run_can_be_abandoned_and_applies_run_again() {
    let project = mini();
    let (_dir, stuck) = plan(&one_phase_plan(
        "stuck",
        r#"
  [[phase.step]]
  id = "x"
  action = "run"
  command = "true"
  undo = "echo cannot undo >&2; exit 3"
  [[phase.step]]
  id = "boom"
  needs = ["x"]
  action = "run"
  command = "exit 1"
"#,
    ));
    project
        .test()
        .args(["apply", &stuck, "--target", "."])
        .status(4)
        .stderr(lines(&[
            "planrun apply stuck -> [TARGET] (run [RUN])",
            "▶ x run",
            "✓ x [DURATION]",
            "▶ boom run",
            "✗ boom [DURATION]  `exit 1` exited with status 1",
            "  (no output)",
            "✗ step `boom` failed; rolling back",
            "error: rollback of run `[RUN]` is incomplete:",
            "  - entry 3: failed to run the undo command of step `x` (exit status: 3): `echo \
             cannot undo >&2; exit 3`: cannot undo",
            "  hint: fix the cause above, then run `planrun rollback --target [TARGET]` again: it \
             retries only what is left, and the journal is kept in .planrun/journal/[RUN]; if you \
             put things right by hand, `planrun rollback --abandon [RUN] --target [TARGET]` ends \
             the run",
            "ROLLBACK FAILED in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 4",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    let id = journal_ids(&project).pop().unwrap();
    let (_dir2, edit) = plan(EDIT_PLAN);
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        .status(2)
        .stderr(lines(&[
            "error: an interrupted run must be rolled back: planrun rollback \
             --target [TARGET]",
            "  hint: if you already put things right by hand, `planrun \
             rollback --abandon RUN --target [TARGET]` ends it (`planrun \
             history` lists the runs)",
        ]))
        .run();
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(4)
        .redact(&id, "[ID]")
        .stderr(lines(&[
            "error: rollback of run `[ID]` is incomplete:",
            "  - entry 3: failed to run the undo command of step `x` (exit \
             status: 3): `echo cannot undo >&2; exit 3`: cannot undo",
            "  hint: fix the cause above, then run `planrun rollback --target \
             .` again: it retries only what is left, and the journal is kept \
             in .planrun/journal/[ID]; if you put things right by hand, \
             `planrun rollback --abandon [ID] --target .` ends the run",
        ]))
        .run();
    project
        .test()
        .args(["rollback", "--target", ".", "--abandon", &id])
        .redact(&id, "[ID]")
        .stdout(lines(&[
            "abandoned run [ID] (plan stuck, was running): planrun no longer \
             undoes it, and what it changed stays as it is now; its journal \
             is kept in .planrun/journal/[ID]",
        ]))
        .run();
    project
        .test()
        .args(["history", "--target", "."])
        .stdout(lines(&[
            "RUN                    PLAN   STARTED               STATUS     FILES",
            "[RUN]  stuck  [TIME]  abandoned  0",
        ]))
        .run();
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "edit",
            "applied in [DURATION]: 0/0 gates passed, 2 files changed (+2 -1); exit 0",
        )
        .run();
    assert_eq!(journal_ids(&project).len(), 2, "earlier journals are kept");
}

#[test]
fn reapply_knows_it_is_applied_and_names_what_changed_since() {
    let project = mini();
    let (_dir, edit) = plan(EDIT_PLAN);
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "edit",
            "applied in [DURATION]: 0/0 gates passed, 2 files changed (+2 -1); exit 0",
        )
        .run();
    let id = journal_ids(&project).pop().unwrap();
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        .redact(&id, "[ID]")
        .stdout(
            "plan `edit` is already applied to [TARGET] (run [ID], [TIME]): \
             0/0 gates passed; nothing to do\n",
        )
        .stderr("note: `--reapply` runs it again on top; `planrun rollback` undoes it\n")
        .run();
    assert_eq!(project.read("out.txt"), "made\n", "the plan ran again");
    project.write("app.py", "SLOW = None\n");
    project
        .test()
        .args(["apply", &edit, "--target", "."])
        .status(2)
        .stderr(lines(&[
            "error: plan `edit` is already applied here (run [RUN], [TIME]), \
             and these files changed since: app.py",
            "  hint: `planrun rollback --target [TARGET]` to start from the \
             original (your changes are kept unless you pass --force), or \
             `--reapply` to apply on top",
        ]))
        .run();
    assert_eq!(journal_ids(&project).len(), 1);
}

#[test]
fn a_report_that_cannot_be_copied_does_not_turn_a_finished_apply_into_invalid() {
    let project = mini();
    let (_dir, edit) = plan(EDIT_PLAN);
    // A directory cannot be made under a regular file: the copy of the reports fails.
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let report_dir = blocker.path().join("reports");
    project
        .test()
        .args([
            "apply",
            &edit,
            "--target",
            ".",
            "--report-dir",
            report_dir.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        // The apply is done and reported before the copy fails.
        .stderr(format!(
            "{EDIT_APPLIED}error: failed to copy the reports to `[TMP]/reports`\n  Caused by: Not \
             a directory (os error 20)\n"
        ))
        .run();
    project
        .test()
        .args(["history", "--target", "."])
        .stdout(lines(&[
            "RUN                    PLAN  STARTED               STATUS   FILES",
            "[RUN]  edit  [TIME]  applied  2",
        ]))
        .run();
}

#[test]
fn rollback_on_a_locked_target_says_locked_and_does_nothing() {
    let project = mini();
    let (_dir, slow) = plan(&one_phase_plan(
        "slow",
        r#"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"
  [[phase.step]]
  id = "wait"
  needs = ["fast"]
  action = "run"
  command = "touch started; sleep 30"
  changes = ["started"]
"#,
    ));
    let first = project
        .test()
        .args(["apply", &slow, "--target", "."])
        .status(130)
        .stderr_contains("interrupted by a signal")
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "slow",
            "interrupted, rolled back in [DURATION]: 0/0 gates passed, 2 \
             files changed (+1 -1); exit 130",
        )
        .stderr_contains("  (no output)")
        .spawn();
    let t0 = std::time::Instant::now();
    while !project.join("started").exists() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(6)
        .stderr(lines(&[
            "error: `.` is locked by `apply` (pid [PID] on [HOST], started [TIME])",
            "  hint: nothing was rolled back; wait for that process to finish, then run this again",
        ]))
        .run();
    assert!(project.read("app.py").contains("SLOW = False"));
    first.signal(libc::SIGTERM);
    first.wait();
    assert!(project.read("app.py").contains("SLOW = True"));
}
