use super::*;
use std::fs;
use std::process::Command;

/// The machine's own interpreter (not a venv's, not a shim): what `python3` runs.
fn global_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn venv(dir: &Path, extra: &[&str]) -> PathBuf {
    let ok = Command::new(global_python())
        .args(["-m", "venv", "--without-pip"])
        .args(extra)
        .arg(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "python -m venv");
    dir.join("bin/python")
}

fn check(python: &Path, env: &[(&str, &str)]) -> Result<(), GuardError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let venv = crate::pyenv::venv_dir_of(python).filter(|d| d.join("pyvenv.cfg").is_file());
    check_interpreter(python, venv.as_deref(), &env, &Control::default())
}

#[test]
fn a_venv_is_made_only_where_nothing_is() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    assert!(must_create(&t.join(".venv/bin/python")).unwrap());
    // A venv whose interpreter dangles: the folder is the person's.
    fs::create_dir_all(t.join(".venv/bin")).unwrap();
    std::os::unix::fs::symlink("/nowhere/python3", t.join(".venv/bin/python")).unwrap();
    let err = must_create(&t.join(".venv/bin/python")).unwrap_err();
    assert!(matches!(err, GuardError::FolderExists { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("never deletes a folder it did not create"));
    // A folder of committed tools without the interpreter.
    fs::create_dir_all(t.join("tools")).unwrap();
    fs::write(t.join("tools/build.sh"), "echo").unwrap();
    assert!(must_create(&t.join("tools/bin/python")).is_err());
    let python = venv(&t.join("real"), &[]);
    assert!(!must_create(&python).unwrap());
}

#[test]
fn a_plain_venv_passes_and_global_interpreters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let python = venv(&dir.path().join("v"), &[]);
    check(&python, &[]).unwrap();
    let user_base = dir.path().join("userbase");
    check(&python, &[("PYTHONUSERBASE", user_base.to_str().unwrap())]).unwrap();

    let err = check(&global_python(), &[]).unwrap_err();
    assert!(matches!(err, GuardError::NotAVenv { .. }), "{err}");
    // `.venv/bin/python` shipped as a symlink to the global interpreter, no pyvenv.cfg.
    fs::create_dir_all(dir.path().join(".venv/bin")).unwrap();
    let link = dir.path().join(".venv/bin/python");
    std::os::unix::fs::symlink(global_python(), &link).unwrap();
    let err = check(&link, &[]).unwrap_err();
    assert!(matches!(err, GuardError::NotAVenv { .. }), "{err}");
    assert!(err.hint().contains("venv"));
}

#[test]
fn a_venv_that_sees_the_system_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let python = venv(&dir.path().join("v"), &["--system-site-packages"]);
    let err = check(&python, &[]).unwrap_err();
    assert!(
        matches!(
            err,
            GuardError::SystemSite { .. } | GuardError::UserSite { .. }
        ),
        "{err}"
    );
}

#[test]
fn an_interpreter_that_runs_as_another_venv_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = venv(&dir.path().join("other"), &[]);
    // The journal would snapshot `fake`, but the interpreter installs into `other`.
    fs::create_dir_all(dir.path().join("fake")).unwrap();
    let err = check_interpreter(
        &other,
        Some(&dir.path().join("fake")),
        &[],
        &Control::default(),
    )
    .unwrap_err();
    assert!(matches!(err, GuardError::OtherEnv { .. }), "{err}");
}
