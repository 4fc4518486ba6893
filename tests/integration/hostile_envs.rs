//! Repositories that ship hostile environments cannot make planrun delete what it did not
//! create or install where it cannot restore: venv folders that are not planrun's,
//! interpreters outside any venv, a user site holding the package, and a person's file dropped
//! into a venv the run created.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::hostile::files;
use crate::support::{mini, plan_file as plan};

/// A plan of one phase whose one step is `[[phase.step]]` with these `fields`.
fn one_step_plan(fields: &str) -> String {
    format!(
        "name = \"inst\"\ndescription = \"A plan of the hostile tests.\"\n[[phase]]\nid = \"p\"\n  \
         [[phase.step]]\n{fields}"
    )
}

/// An install of a package no index serves into `python`, with every download failing: it
/// must be refused before the installer runs, so nothing is ever installed.
fn install_plan(python: &str) -> String {
    one_step_plan(&format!(
        r#"  id = "deps"
  action = "install"
  installer = "pip"
  python = "{python}"
  packages = ["hostile-probe-pkg"]
  env = {{ PIP_NO_INDEX = "1", UV_OFFLINE = "1" }}
"#
    ))
}

/// The machine's own interpreter, not a venv's or a shim.
fn global_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn a_venv_folder_planrun_did_not_make_is_never_taken_for_its_own() {
    // A `.venv` whose interpreter dangles, holding the person's notes.
    let project = mini();
    fs::create_dir_all(project.join(".venv/bin")).unwrap();
    std::os::unix::fs::symlink("/nowhere/python3.99", project.join(".venv/bin/python")).unwrap();
    project.write(".venv/notes.txt", "mine\n");
    let (_dir, inst) = plan(&install_plan(".venv/bin/python"));
    let before = files(project.path());
    project
        .test()
        .args(["apply", &inst, "--target", "."])
        .status(2)
        .stderr_contains("never deletes a folder it did not create")
        .run();
    assert_eq!(files(project.path()), before);
    // `tools/` holds committed files and no interpreter.
    let project = mini();
    project.write("tools/build.sh", "echo build\n");
    let (_dir, inst) = plan(&install_plan("tools/bin/python"));
    let before = files(project.path());
    project
        .test()
        .args(["apply", &inst, "--target", "."])
        .status(2)
        .stderr_contains("its folder `")
        .run();
    assert_eq!(files(project.path()), before);
    project
        .test()
        .args(["rollback", "--target", "."])
        .stderr_unchecked("nothing to roll back")
        .run();
    assert_eq!(project.read("tools/build.sh"), "echo build\n");
}

#[test]
fn an_interpreter_outside_any_venv_is_refused_before_any_change() {
    // `.venv/bin/python` shipped as a symlink to the global interpreter, no pyvenv.cfg.
    let project = mini();
    fs::create_dir_all(project.join(".venv/bin")).unwrap();
    std::os::unix::fs::symlink(global_python(), project.join(".venv/bin/python")).unwrap();
    let (_dir, inst) = plan(&install_plan(".venv/bin/python"));
    project
        .test()
        .args(["apply", &inst, "--target", "."])
        .status(2)
        .stderr_contains("is not in a virtual environment")
        .stderr_contains("hint: point `python` at a venv's interpreter")
        .run();
    // The global interpreter named outright, with a user site holding the package too.
    let user_base = tempfile::tempdir().unwrap();
    let out = Command::new(global_python())
        .env("PYTHONUSERBASE", user_base.path())
        .args(["-c", "import site; print(site.getusersitepackages())"])
        .output()
        .unwrap();
    let user_site = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let dist = user_site.join("hostile_probe_pkg-1.0.dist-info");
    fs::create_dir_all(&dist).unwrap();
    fs::write(
        dist.join("METADATA"),
        "Name: hostile-probe-pkg\nVersion: 1.0\n",
    )
    .unwrap();
    fs::write(dist.join("RECORD"), "").unwrap();
    let project = mini();
    let (_dir, inst) = plan(&install_plan(global_python().to_str().unwrap()));
    project
        .test()
        .env("PYTHONUSERBASE", user_base.path())
        .args(["apply", &inst, "--target", "."])
        .status(2)
        .stderr_contains("is not in a virtual environment")
        .run();
    assert!(
        dist.join("METADATA").is_file(),
        "the user-site copy is intact"
    );
}

/// Rollback of a venv the run created removes what the run put there, and keeps the venv with
/// a message when a person's file landed in it since.
#[test]
fn a_created_venv_keeps_a_persons_file_on_rollback() {
    let project = mini();
    let (_dir, inst) = plan(&one_step_plan(
        "  id = \"six\"\n  action = \"install\"\n  packages = [\"six==1.16.0\"]\n",
    ));
    project
        .test()
        .args(["apply", &inst, "--target", "."])
        .stderr_unchecked("progress")
        .run();
    assert!(project.join(".venv/pyvenv.cfg").is_file());
    project.write(".venv/notes.txt", "mine\n");
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_contains("  kept      .venv/ (holds files planrun did not create)")
        .run();
    assert_eq!(project.read(".venv/notes.txt"), "mine\n");
    assert!(!project.join(".venv/pyvenv.cfg").exists());
    assert!(!project.join(".venv/bin").exists());
}
