//! Environment rollback on environments planrun did not create: a pip venv inside the target
//! and a uv venv (no pip) outside it, with editable installs and a package from a local wheel
//! no index has. Each apply installs one new package and upgrades a present one; rollback runs
//! with the network unusable and must leave every file of the venv and the freeze as before.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::lines;
use crate::support::{digest_tree, repo_root, sh, uv, Project, Test};

/// The plan every test applies.
fn plan() -> String {
    let path = repo_root().join("tests/fixtures/envs/upgrade.toml");
    path.to_str().expect("UTF-8 path").to_string()
}

/// The environment that makes any download fail at once.
pub const OFFLINE: &[(&str, &str)] = &[
    ("UV_OFFLINE", "1"),
    ("PIP_NO_INDEX", "1"),
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
];

/// A copy of a fixture package in `dir` (building writes into its source tree).
fn local_source(name: &str, dir: &Path) -> PathBuf {
    let src = repo_root().join("tests/fixtures/envs").join(name);
    let dst = dir.join(name);
    fs::create_dir_all(&dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    dst
}

/// A pip venv (`python -m venv`) with six 1.16.0 and an editable local package, all by pip.
fn pip_venv(venv: &Path, scratch: &Path) {
    sh(Command::new("python3").args(["-m", "venv"]).arg(venv));
    sh(Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "-q", "six==1.16.0", "-e"])
        .arg(local_source("localpkg", scratch)));
}

/// A uv venv (no pip) with six 1.16.0, an editable local package and, with `wheel`, a package
/// from a wheel built here.
pub(crate) fn uv_venv(venv: &Path, scratch: &Path, wheel: bool) {
    sh(Command::new(uv()).args(["venv", "-q"]).arg(venv));
    let mut install = Command::new(uv());
    install
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .arg("six==1.16.0")
        .arg("-e")
        .arg(local_source("localpkg", scratch));
    if wheel {
        let out = scratch.join("wheels");
        sh(Command::new(uv())
            .args(["build", "-q", "--wheel", "--out-dir"])
            .arg(&out)
            .arg(local_source("localwheel", scratch)));
        install.arg(out.join("planrun_fixture_wheel-0.1.0-py3-none-any.whl"));
    }
    sh(&mut install);
}

/// Mode and digest of every file and symlink under `venv`, less `__pycache__`.
pub(crate) fn venv_hash(venv: &Path) -> BTreeMap<PathBuf, (u32, String)> {
    digest_tree(venv, &["__pycache__"])
}

/// `uv pip freeze`, which works offline and without pip in the venv.
pub(crate) fn freeze(venv: &Path) -> String {
    sh(Command::new(uv())
        .args(["pip", "freeze", "--python"])
        .arg(venv.join("bin/python"))
        .envs(OFFLINE.iter().copied()))
}

/// `planrun rollback` with the network unusable.
pub(crate) fn rollback_offline(project: &Project) -> Test<'_> {
    project
        .test()
        .args(["rollback", "--target", "."])
        .envs(OFFLINE.iter().copied())
}

/// Applies the plan to `venv`, checks it changed, rolls back offline, checks it is as before.
fn apply_then_rollback(project: &Project, venv: &Path, python_var: Option<&Path>) {
    let before = (venv_hash(venv), freeze(venv));
    assert!(before.1.contains("six==1.16.0"), "{}", before.1);
    assert!(before.1.contains("-e file:"), "{}", before.1);
    let mut args = vec!["apply".to_string(), plan(), "--target".into(), ".".into()];
    if let Some(python) = python_var {
        args.extend(["--var".into(), format!("python={}", python.display())]);
    }
    project
        .test()
        .args(&args)
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "env-upgrade",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    let applied = freeze(venv);
    assert!(
        applied.contains("six==1.17.0") && applied.contains("iniconfig==2.0.0"),
        "{applied}"
    );
    // The suite imports what was installed: caches appear between apply and rollback.
    sh(Command::new(venv.join("bin/python"))
        .args(["-c", "import six, iniconfig, planrun_fixture_local"]));
    // The venv is named by its path, inside the target or not.
    rollback_offline(project)
        .stdout_contains("rolled back run [RUN] (plan env-upgrade) in [DURATION]\n  packages  ")
        .stdout_contains("/bin/python: -iniconfig==2.0.0 -six==1.17.0 +six==1.16.0\n")
        .run();
    assert_eq!(freeze(venv), before.1);
    assert_eq!(venv_hash(venv), before.0);
}

#[test]
fn pip_venv_inside_the_target_with_an_editable_install_rolls_back_offline() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = project.join(".venv");
    pip_venv(&venv, scratch.path());
    apply_then_rollback(&project, &venv, None);
}

#[test]
fn uv_venv_outside_the_target_with_editable_and_local_wheel_rolls_back_offline() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv_venv(&venv, scratch.path(), true);
    assert!(freeze(&venv).contains("planrun-fixture-wheel"));
    apply_then_rollback(&project, &venv, Some(&venv.join("bin/python")));
}

/// Whether any process of group `pgid` still exists.
fn group_alive(pgid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence; nothing is delivered.
    unsafe { libc::killpg(pgid as libc::pid_t, 0) == 0 }
}

/// SIGKILL of planrun while its installer runs: the installer (in its own process group, so it
/// survives) has changed the env and keeps running; rollback ends it and restores offline.
#[test]
fn sigkill_during_the_install_then_offline_rollback_restores_the_env() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv_venv(&venv, scratch.path(), false);
    let before = (venv_hash(&venv), freeze(&venv));
    // A uv that installs, then says where it is and hangs, as a slow install would.
    let pidfile = scratch.path().join("uv.pid");
    let wrapper = scratch.path().join("uv-slow");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \" $* \" in *\" --dry-run \"*) exec {uv} \"$@\";; esac\n\
             {uv} \"$@\" || exit $?\necho $$ > {pid}.tmp; mv {pid}.tmp {pid}\nexec sleep 60\n",
            uv = uv().display(),
            pid = pidfile.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let python = venv.join("bin/python");
    let child = project
        .test()
        .args([
            "apply",
            &plan(),
            "--target",
            ".",
            "--var",
            &format!("python={}", python.display()),
        ])
        .env("UV", &wrapper)
        .status(128 + libc::SIGKILL)
        .stderr(lines(&[
            "planrun apply env-upgrade -> [TARGET] (run [RUN])",
            "▶ install install",
        ]))
        .spawn();
    let start = Instant::now();
    while !pidfile.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the install never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid: u32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    child.signal(libc::SIGKILL);
    child.wait();
    assert!(group_alive(pgid), "the installer outlives planrun");
    assert!(freeze(&venv).contains("six==1.17.0"));
    rollback_offline(&project)
        // stdout: measured numbers vary.
        .stdout_contains("rolled back run [RUN] (plan env-upgrade) in [DURATION]")
        .stderr(lines(&[
            "note: cleared the stale lock of `apply` (pid [PID] on [HOST], started [TIME])",
            "note: ended 1 process(es) left running by the interrupted run [RUN]",
        ]))
        .run();
    let start = Instant::now();
    while group_alive(pgid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the installer was not ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(freeze(&venv), before.1);
    assert_eq!(venv_hash(&venv), before.0);
}

/// `.venv` replaced by a symlink to another venv after the apply: rollback refuses, names both,
/// and leaves the other venv exactly as it was.
#[test]
fn an_env_repointed_by_a_symlink_is_refused_and_left_untouched() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = project.join(".venv");
    sh(Command::new(uv()).args(["venv", "-q"]).arg(&venv));
    sh(Command::new(uv())
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .arg("six==1.16.0"));
    project
        .test()
        .args(["apply", &plan(), "--target", "."])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "env-upgrade",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    let other = scratch.path().join("other");
    uv_venv(&other, scratch.path(), false);
    let theirs = (venv_hash(&other), freeze(&other));
    fs::rename(&venv, project.join("moved-venv")).unwrap();
    std::os::unix::fs::symlink(&other, &venv).unwrap();
    let out = rollback_offline(&project)
        .status(4)
        .stderr(lines(&[
            "error: rollback failed: refusing to touch environment \
             `[TARGET]/.venv`: it is not the one journaled (recorded \
             `[TARGET]/.venv`, found `[TMP]/other`: it resolves to another \
             directory)",
            "  hint: the journal is kept in `./.planrun/journal`; fix the \
             cause and run `planrun rollback --target .` again",
        ]))
        .run();
    let text = out.all();
    assert!(text.contains("not the one journaled"), "{text}");
    assert!(text.contains(&other.display().to_string()), "{text}");
    assert!(text.contains(&venv.display().to_string()), "{text}");
    assert_eq!((venv_hash(&other), freeze(&other)), theirs);
}

/// A step failing after the install: apply rolls back on its own (exit 3), the env as before.
#[test]
fn a_failed_step_after_the_install_rolls_the_env_back() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv_venv(&venv, scratch.path(), false);
    let before = (venv_hash(&venv), freeze(&venv));
    project
        .test()
        .args([
            "apply",
            &plan(),
            "--target",
            ".",
            "--var",
            &format!("python={}", venv.join("bin/python").display()),
            "--var",
            "after=exit 1",
        ])
        .status(3)
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "env-upgrade",
            "step failed, rolled back in [DURATION]: 0/0 gates passed, 0 \
             files changed (+0 -0); exit 3",
        )
        .stderr_contains("  (no output)")
        .run();
    assert_eq!(freeze(&venv), before.1);
    assert_eq!(venv_hash(&venv), before.0);
}

/// An install that changes nothing: no snapshot is taken, and rollback touches nothing.
#[test]
fn an_install_that_changes_nothing_journals_nothing() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    sh(Command::new(uv()).args(["venv", "-q"]).arg(&venv));
    sh(Command::new(uv())
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .args(["six==1.17.0", "iniconfig==2.0.0"]));
    let before = venv_hash(&venv);
    project
        .test()
        .args([
            "apply",
            &plan(),
            "--target",
            ".",
            "--var",
            &format!("python={}", venv.join("bin/python").display()),
        ])
        .stderr_contains("already installed")
        .run();
    let journal = project.join(".planrun/journal");
    let runs: Vec<PathBuf> = fs::read_dir(&journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let snapshots = fs::read_dir(&runs[0])
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("env-")
        })
        .count();
    assert_eq!(snapshots, 0);
    rollback_offline(&project)
        .stdout(lines(&[
            "rolled back run [RUN] (plan env-upgrade) in [DURATION]",
            "  1 already as they were",
        ]))
        .run();
    assert_eq!(venv_hash(&venv), before);
}

/// A person who installs into the environment after the apply keeps what they did: rollback
/// names the environment, touches nothing (exit 5), and `--force` restores it.
#[test]
fn a_persons_change_to_the_env_after_the_apply_stops_the_rollback() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv_venv(&venv, scratch.path(), false);
    let before = venv_hash(&venv);
    let python = venv.join("bin/python");
    project
        .test()
        .args([
            "apply",
            &plan(),
            "--target",
            ".",
            "--var",
            &format!("python={}", python.display()),
        ])
        // stderr: concurrent steps' progress lines interleave; measured numbers vary.
        .apply_progress(
            "env-upgrade",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    let site = fs::read_dir(venv.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    fs::write(site.join("mine.py"), "MINE = 1\n").unwrap();
    rollback_offline(&project)
        .status(5)
        .stderr_contains("changed since the install")
        .stderr_contains("mine.py")
        .run();
    assert!(site.join("mine.py").exists());
    assert!(freeze(&venv).contains("six==1.17.0"), "the env was touched");
    rollback_offline(&project)
        .arg("--force")
        // stdout: measured numbers vary.
        .stdout_contains("rolled back run [RUN] (plan env-upgrade) in [DURATION]")
        .run();
    assert_eq!(venv_hash(&venv), before);
}

/// Two installs into one environment in one apply: the later one changed what the earlier one
/// left, which is not a person's change (drift); rollback undoes both, offline.
#[test]
fn two_installs_into_one_env_in_one_apply_roll_back_offline() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv_venv(&venv, scratch.path(), false);
    let before = (venv_hash(&venv), freeze(&venv));
    let plan = repo_root().join("tests/fixtures/envs/twice.toml");
    let python = format!("python={}", venv.join("bin/python").display());
    project
        .test()
        .args([
            "apply",
            plan.to_str().unwrap(),
            "--target",
            ".",
            "--var",
            &python,
        ])
        .apply_progress(
            "env-twice",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    let applied = freeze(&venv);
    assert!(
        applied.contains("six==1.17.0") && applied.contains("iniconfig==2.0.0"),
        "{applied}"
    );
    rollback_offline(&project)
        .stdout_contains("rolled back run [RUN] (plan env-twice) in [DURATION]\n")
        .stdout_contains("/bin/python: -six==1.17.0 +six==1.16.0\n")
        .stdout_contains("/bin/python: -iniconfig==2.0.0\n")
        .run();
    assert_eq!(freeze(&venv), before.1);
    assert_eq!(venv_hash(&venv), before.0);
}
