//! `planrun apply` end to end: dry-run honesty, rollback after failures, signals and SIGKILL,
//! locking, path confinement, parallelism and idempotence, on temp copies of the mini target.

mod checked;
mod diffs;
mod events;
mod secrets;
mod signals;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::lines;
use crate::support::mini;
use crate::support::{repo_root, Project};

/// A plan of tests/fixtures/apply/.
fn fixture(name: &str) -> String {
    let path = repo_root().join("tests/fixtures/apply").join(name);
    path.to_str().expect("UTF-8 path").to_string()
}

/// Applies tests/fixtures/apply/edits.toml to the copy: five files changed. One step at a time
/// (`--jobs 1`), so its progress is in the plan's order and compared whole.
fn apply_edits(project: &Project) {
    project
        .test()
        .args([
            "apply",
            &fixture("edits.toml"),
            "--target",
            ".",
            "--jobs",
            "1",
        ])
        .stderr(EDITS_APPLIED)
        .run();
}

/// The progress of edits.toml applied with `--jobs 1` to a fresh copy of the mini target.
const EDITS_APPLIED: &str = "\
planrun apply edits -> [TARGET] (run [RUN])
▶ conftest write
✓ conftest [DURATION]
▶ fast replace
✓ fast [DURATION]
▶ metadata ini
✓ metadata [DURATION]
▶ black toml
✓ black [DURATION]
▶ pytest pytest-config
✓ pytest [DURATION]
▶ pytest-again pytest-config
✓ pytest-again [DURATION]
applied in [DURATION]: 0/0 gates passed, 5 files changed (+11 -4); exit 0
report: .planrun/runs/[RUN]/report.json
";

/// Every file (mode and digest, from `hash_tree`) and every directory of the copy, outside
/// `.planrun`, `.venv` and Python caches: equal snapshots mean identical trees.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    files: BTreeMap<PathBuf, (u32, String)>,
    dirs: BTreeMap<PathBuf, u32>,
}

fn snapshot(project: &Project) -> Snapshot {
    let mut dirs = BTreeMap::new();
    collect_dirs(project.path(), project.path(), &mut dirs);
    Snapshot {
        files: project.hash_tree(),
        dirs,
    }
}

fn collect_dirs(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, u32>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".planrun", ".venv", "__pycache__", ".pytest_cache"]
            .iter()
            .any(|n| name == *n)
        {
            continue;
        }
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        if meta.is_dir() {
            let rel = entry.path().strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, meta.permissions().mode());
            collect_dirs(root, &entry.path(), out);
        }
    }
}

/// Polls `ready` every 20 ms; panics after a minute (a hang, not a slow machine).
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

/// The run ids recorded under `.planrun/runs/`, oldest first.
fn run_ids(project: &Project) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(project.join(".planrun/runs"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Writes `text` as `plan.toml` in a fresh temp dir (outside any target), with `files` beside it.
fn plan_in_tempdir(text: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plan.toml"), text).unwrap();
    for (name, content) in files {
        fs::write(dir.path().join(name), content).unwrap();
    }
    let plan = dir.path().join("plan.toml").to_str().unwrap().to_string();
    (dir, plan)
}

#[test]
fn dry_run_prints_commands_and_diffs_in_order_and_touches_nothing() {
    let project = mini();
    let before = snapshot(&project);
    project
        .test()
        .args([
            "apply",
            &fixture("mixed.toml"),
            "--target",
            ".",
            "--dry-run",
        ])
        // Each command, install and diff, in the order the plan's needs impose.
        .stdout(lines(&[
            "plan       mixed ([REPO]/tests/fixtures/apply/mixed.toml)",
            "target     [TARGET]",
            "env        .venv (the plan's `python`; step `deps` creates the venv)",
            "installer  uv ([REPO]/target/test-venv/bin/uv)",
            "phases     prepare, measure",
            "",
            "phase prepare",
            "  step hello (run)",
            "    $ echo hello from the mini target",
            "  step deps (install)",
            "    install into .venv/bin/python (creates the venv): six==1.16.0 iniconfig",
            "  step fast (replace)",
            "    note: shown against today's content; step `hello` runs first and may change `app.py`",
            "--- a/app.py",
            "+++ b/app.py",
            "@@ -1,6 +1,6 @@",
            " \"\"\"A tiny module for planrun's own tests.\"\"\"",
            " ",
            "-SLOW = True",
            "+SLOW = False",
            " ",
            " ",
            " def add(a, b):",
            "",
            "phase measure  (after prepare)",
            "  step after (suite)",
            "    $ .venv/bin/python -m pytest -q  (timed: 1 warmup + 2 runs -> record `after`; \
             timeout auto: 3x the slowest run so far + [DURATION])",
            "  step bye (run)",
            "    $ echo goodbye",
            "  gate after.failed == 0",
            "",
            "plan: 1 file to change, 2 packages to install, 2 commands, 1 timed suite, 1 gate",
        ]))
        .run();
    assert_eq!(snapshot(&project), before);
    assert!(
        !project.join(".planrun").exists(),
        "dry-run created .planrun/"
    );
    assert!(!project.join(".venv").exists(), "dry-run created the venv");
}

#[test]
fn dry_run_summary_counts_files_once_when_edited_twice() {
    let project = mini();
    let before = snapshot(&project);
    project
        .test()
        .args([
            "apply",
            &fixture("edits.toml"),
            "--target",
            ".",
            "--dry-run",
        ])
        .stdout_contains(
            "plan: 5 files to change, 0 packages to install, 0 commands, 0 timed suites, ",
        )
        .run();
    assert_eq!(snapshot(&project), before);
    assert!(!project.join(".planrun").exists());
}

#[test]
fn failing_step_exits_3_and_restores_the_tree() {
    let project = mini();
    // A non-default mode, which the restored file must get back.
    fs::set_permissions(project.join("app.py"), fs::Permissions::from_mode(0o640)).unwrap();
    let before = snapshot(&project);
    project
        .test()
        .args(["apply", &fixture("failing.toml"), "--target", "."])
        .status(3)
        .stderr_contains("about to fail")
        .stderr_contains("on stderr")
        .stderr_contains("exited with status 3")
        .run();
    assert_eq!(snapshot(&project), before);
    assert!(!project.join("tests/deep").exists());
    // The edits did happen before the failure: the report says which files changed.
    let id = run_ids(&project).pop().expect("a run directory");
    let report = project.read(format!(".planrun/runs/{id}/report.json"));
    assert!(report.contains("tests/deep/new/conftest.py"), "{report}");
}

#[test]
fn second_apply_while_one_runs_is_refused_naming_the_pid() {
    let project = mini();
    let outside = tempfile::tempdir().unwrap();
    let pidfile = outside.path().join("pid");
    let pidvar = format!("pidfile={}", pidfile.display());
    let plan = fixture("signal.toml");
    let first = project
        .test()
        .args(["apply", &plan, "--target", ".", "--var", &pidvar])
        .status(130)
        .stderr_contains("interrupted by a signal")
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "signal",
            "interrupted, rolled back in [DURATION]: 0/0 gates passed, 2 \
             files changed (+6 -1); exit 130",
        )
        .stderr_contains("  | waiting")
        .spawn();
    wait_for("the first apply's command", || pidfile.exists());

    let second = project
        .test()
        .args([
            "apply",
            &plan,
            "--target",
            ".",
            "--var",
            "pidfile=/dev/null",
        ])
        .status(6)
        .stderr(lines(&[
            "error: `[TARGET]` is locked by `apply` (pid [PID] on [HOST], started [TIME])",
            "  hint: wait for the other apply, or run `planrun unlock` if its process is gone",
        ]))
        .run();
    assert!(
        second.stderr.contains(&format!("pid {} on", first.id())),
        "{}",
        second.stderr
    );

    first.signal(libc::SIGTERM);
    first.wait();
}

#[test]
fn stale_lock_is_reported_and_unlock_clears_it() {
    use planrun::journal::lock::{host_name, lock_path, LockInfo};
    let project = mini();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let info = LockInfo {
        pid,
        host: host_name(),
        started: "2026-01-01T00:00:00Z".into(),
        command: "apply".into(),
    };
    let lock = lock_path(project.path());
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    fs::write(&lock, serde_json::to_vec(&info).unwrap()).unwrap();
    let before = snapshot(&project);

    let refused = project
        .test()
        .args(["apply", &fixture("edits.toml"), "--target", "."])
        .status(6)
        .stderr(
            "error: stale lock on `[TARGET]`: pid [PID] on [HOST] (started [TIME]) is gone; \
             `planrun unlock --target [TARGET]` clears it\n",
        )
        .run();
    assert!(
        refused.stderr.contains(&format!("pid {pid} on")),
        "{}",
        refused.stderr
    );
    assert_eq!(snapshot(&project), before);

    let unlocked = project
        .test()
        .args(["unlock", "--target", "."])
        .stdout("removed the lock of `apply` (pid [PID] on [HOST], started [TIME])\n")
        .run();
    assert!(
        unlocked
            .stdout
            .contains(&format!("removed the lock of `apply` (pid {pid}")),
        "{}",
        unlocked.stdout
    );
    assert!(!lock.exists());
    apply_edits(&project);
    assert_ne!(snapshot(&project), before);
}

/// A plan whose first step would leave a marker and whose second writes to `path`.
fn escaping_plan(path: &str) -> String {
    format!(
        r#"name = "escape"
description = "Writes outside the target."

[[phase]]
id = "p"

  [[phase.step]]
  id = "first"
  action = "run"
  command = "touch ran"

  [[phase.step]]
  id = "bad"
  needs = ["first"]
  action = "write"
  template = "t.py"
  path = "{path}"
"#
    )
}

#[test]
fn paths_leaving_the_target_are_refused_before_anything_runs() {
    let project = mini();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), project.join("link")).unwrap();
    let before = snapshot(&project);
    let absolute = outside.path().join("abs.py").display().to_string();
    for path in [
        "../escaped.py",
        "tests/../../escaped.py",
        &absolute,
        "link/x.py",
    ] {
        let (_dir, plan) = plan_in_tempdir(&escaping_plan(path), &[("t.py", "x = 1\n")]);
        let out = project
            .test()
            .args(["apply", &plan, "--target", "."])
            .status(2)
            // Each path is refused in its own words.
            .stderr_contains("step `bad`")
            .stderr_contains(match path {
                "link/x.py" => "error: step `bad`: path `link/x.py` leaves the target: `link` is \
                 a symlink to `[TMP]`\n"
                    .to_string(),
                p if p.starts_with('/') => format!("error: path `{p}` in step `bad` is absolute\n"),
                p => format!("error: path `{p}` in step `bad` leaves the target with `..`\n"),
            })
            .run();
        if path == "link/x.py" {
            // Found on disk, after validation, yet placed in the plan like every diagnostic.
            assert!(
                out.stderr.contains(&format!("--> {plan}:")),
                "{}",
                out.stderr
            );
            assert!(out.stderr.contains("is a symlink to"), "{}", out.stderr);
        }
        assert_eq!(snapshot(&project), before, "{path}");
        assert!(!project.join("ran").exists(), "{path}: a step ran");
        assert!(!project.join(".planrun").exists(), "{path}: a run started");
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0, "{path}");
        assert!(!project.path().parent().unwrap().join("escaped.py").exists());
    }
}

#[test]
fn jobs_2_runs_two_at_a_time_and_the_next_phase_after_all() {
    let project = mini();
    project
        .test()
        .args([
            "apply",
            &fixture("parallel.toml"),
            "--target",
            ".",
            "--jobs",
            "2",
        ])
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "parallel",
            "applied in [DURATION]: 0/0 gates passed, 1 file changed (+42 -0); exit 0",
        )
        .run();
    let log = project.read("order.log");
    let (mut running, mut max) = (0, 0);
    let mut ended = BTreeSet::new();
    let mut started = BTreeSet::new();
    for line in log.lines() {
        match line.split_once(' ') {
            Some(("start", id)) => {
                if id == "last" {
                    assert_eq!(ended.len(), 20, "`last` started before all ended:\n{log}");
                }
                assert!(started.insert(id.to_string()), "{id} started twice");
                running += 1;
                max = max.max(running);
            }
            Some(("end", id)) => {
                assert!(started.contains(id), "{id} ended before it started");
                ended.insert(id.to_string());
                running -= 1;
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    assert_eq!(started.len(), 21, "{log}");
    assert_eq!(ended.len(), 21, "{log}");
    assert_eq!(max, 2, "max concurrency\n{log}");
}

#[test]
fn applying_twice_changes_nothing_and_rollbacks_walk_back() {
    let project = mini();
    let original = snapshot(&project);
    let plan = fixture("edits.toml");
    apply_edits(&project);
    let applied = snapshot(&project);
    assert_ne!(applied, original);
    let edited = [
        "app.py",
        "setup.cfg",
        "pyproject.toml",
        "pytest.ini",
        "tests/conftest.py",
    ];
    let mtimes = |p: &Project| -> Vec<std::time::SystemTime> {
        edited
            .iter()
            .map(|f| fs::metadata(p.join(f)).unwrap().modified().unwrap())
            .collect()
    };
    let first_mtimes = mtimes(&project);

    // The same plan again is recognised as applied: nothing runs, no new run is recorded.
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .stdout(lines(&[
            "plan `edits` is already applied to [TARGET] (run [RUN], [TIME]): \
             0/0 gates passed; nothing to do",
        ]))
        .stderr("note: `--reapply` runs it again on top; `planrun rollback` undoes it\n")
        .run();
    assert_eq!(run_ids(&project).len(), 1);
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--reapply", "--jobs", "1"])
        // `=`: every step found its change already made.
        .stderr(lines(&[
            "planrun apply edits -> [TARGET] (run [RUN])",
            "▶ conftest write",
            "= conftest [DURATION]",
            "▶ fast replace",
            "= fast [DURATION]",
            "▶ metadata ini",
            "= metadata [DURATION]",
            "▶ black toml",
            "= black [DURATION]",
            "▶ pytest pytest-config",
            "= pytest [DURATION]",
            "▶ pytest-again pytest-config",
            "= pytest-again [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert_eq!(snapshot(&project), applied);
    assert_eq!(
        mtimes(&project),
        first_mtimes,
        "the second apply rewrote files"
    );

    let ids = run_ids(&project);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let history = project
        .test()
        .args(["history", "--target", "."])
        .stdout(lines(&[
            "RUN                    PLAN   STARTED               STATUS   FILES",
            "[RUN]  edits  [TIME]  applied  0",
            "[RUN]  edits  [TIME]  applied  5",
        ]))
        .run();
    for id in &ids {
        assert!(history.stdout.contains(id.as_str()), "{}", history.stdout);
    }

    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout("rolled back run [RUN] (plan edits) in [DURATION]\n")
        .run();
    assert_eq!(snapshot(&project), applied);
    project
        .test()
        .args(["rollback", "--target", "."])
        // Undone newest first: the steps ran one at a time, so in the reverse of the plan's order.
        .stdout(lines(&[
            "rolled back run [RUN] (plan edits) in [DURATION]",
            "  restored  pytest.ini",
            "  restored  pyproject.toml",
            "  restored  setup.cfg",
            "  restored  app.py",
            "  deleted   tests/conftest.py",
        ]))
        .run();
    assert_eq!(snapshot(&project), original);
    assert!(!project.join("tests/conftest.py").exists());
}

#[test]
fn rollback_runs_undo_commands_and_restores_declared_changes() {
    let project = mini();
    let outside = tempfile::tempdir().unwrap();
    let marker = outside.path().join("marker");
    let original = snapshot(&project);
    project
        .test()
        .args([
            "apply",
            &fixture("undo.toml"),
            "--target",
            ".",
            "--var",
            &format!("marker={}", marker.display()),
        ])
        .redact(marker.display().to_string(), "[MARKER]")
        // `touch` needs `build`: one step at a time whatever `--jobs` says.
        .stderr(lines(&[
            "planrun apply undo -> [TARGET] (run [RUN])",
            "▶ build run",
            "✓ build [DURATION]",
            "▶ touch run",
            "✓ touch [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 2 files changed (+2 -0); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    assert!(project.read("app.py").ends_with("# appended\n"));
    assert_eq!(project.read("gen/deep/new.txt"), "new\n");
    assert_eq!(fs::read_to_string(&marker).unwrap(), "built\n");
    // The diff stat counts what commands changed too: a line appended to app.py, a new file
    // (setup.cfg only changed its mode).
    let out = project
        .test()
        .args(["report", "--target", ".", "--format", "json"])
        .stdout_unchecked("parsed and checked field by field below")
        .run();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["diffstat"],
        serde_json::json!({"files": 2, "insertions": 2, "deletions": 0})
    );

    project
        .test()
        .args(["rollback", "--target", "."])
        .redact(marker.display().to_string(), "[MARKER]")
        // Newest first: the files `touch` declared, then `build`'s undo command.
        .stdout(lines(&[
            "rolled back run [RUN] (plan undo) in [DURATION]",
            "  restored  setup.cfg",
            "  deleted   gen/deep/new.txt",
            "  removed   gen/deep/",
            "  removed   gen/",
            "  restored  app.py",
            "  undo ran  build: echo undone >> [MARKER]",
        ]))
        .run();
    assert_eq!(snapshot(&project), original);
    assert!(!project.join("gen").exists());
    assert_eq!(fs::read_to_string(&marker).unwrap(), "built\nundone\n");
}
