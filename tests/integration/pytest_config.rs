//! The `pytest-config` step edits the file pytest itself reads, in each of its forms, and the
//! real pytest that introduced the form sees the new option and still the project's own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{cached_venv, repo_root, run_ok, sh, uv, Project};

const PLAN: &str = r#"name = "pytest-options"
description = "Add options to pytest's addopts wherever the project configures pytest."
[[phase]]
id = "edit"
  [[phase.step]]
  id = "addopts"
  action = "pytest-config"
  addopts_add = ["--maxfail", "7"]
  markers_add = ["slow: takes long"]
"#;

/// Prints what pytest read: its config file, `--maxfail`, the markers and the project's own
/// `xfail_strict` (and pytest 9's `strict`), as pytest's own objects hold them.
const PROBE: &str = r#"import json, os

def pytest_configure(config):
    seen = {
        "inipath": config.inipath.name if config.inipath else None,
        "maxfail": config.option.maxfail,
        "markers": [m.split(":")[0] for m in config.getini("markers")],
        "xfail_strict": config.getini("xfail_strict"),
    }
    try:
        seen["strict"] = config.getini("strict")
    except ValueError:
        seen["strict"] = None
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(seen, f)
"#;

fn venv(major: u8) -> PathBuf {
    cached_venv(
        &format!("pytest{major}-venv"),
        &repo_root().join(format!("tests/pytest{major}-requirements.txt")),
    )
}

/// What pytest in `venv` reads in `project`, through the probe conftest.
fn probe(venv: &Path, project: &Project) -> serde_json::Value {
    let out = project.join(".probe.json");
    run_ok(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"])
            .current_dir(project.path())
            .env("PROBE_OUT", &out)
            .env_remove("PYTEST_ADDOPTS"),
        "pytest --co",
    );
    let seen =
        serde_json::from_str(&fs::read_to_string(&out).expect("probe output")).expect("probe json");
    fs::remove_file(&out).expect("remove probe output");
    seen
}

/// A project configured by `files`, with one test and the probe conftest.
fn project(files: &[(&str, &str)]) -> Project {
    let empty = tempfile::tempdir().expect("temp dir");
    let project = Project::from_dir(empty.path());
    project.write("tests/test_one.py", "def test_one():\n    pass\n");
    project.write("conftest.py", PROBE);
    for (name, text) in files {
        project.write(name, text);
    }
    project
}

/// Applies the plan, checks what pytest then reads, rolls back, checks the bytes came back.
fn check(major: u8, files: &[(&str, &str)], edited: &str, strict: bool) {
    let venv = venv(major);
    let project = project(files);
    let before_tree = project.hash_tree();
    let before = probe(&venv, &project);
    assert_eq!(before["inipath"], edited, "pytest {major} reads {edited}");
    assert_eq!(before["xfail_strict"], true, "the project's own option");
    assert_eq!(before["maxfail"], 0);

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(&plan, PLAN).unwrap();
    // The person's venv is active: planrun reads which pytest it holds, and so its rules.
    project
        .test()
        .args(["apply", plan.to_str().unwrap(), "--target", "."])
        .env("VIRTUAL_ENV", &venv)
        .stderr_unchecked("progress lines")
        .stdout_unchecked("the summary names the run")
        .run();
    let had_ini = files.iter().any(|(name, _)| *name == "pytest.ini");
    assert_eq!(
        project.join("pytest.ini").exists(),
        had_ini,
        "no new pytest.ini beside {edited}"
    );
    let after = probe(&venv, &project);
    assert_eq!(
        after["inipath"], edited,
        "pytest {major} still reads {edited}"
    );
    assert_eq!(after["maxfail"], 7, "pytest {major} sees the new addopts");
    assert_eq!(
        after["markers"][0], "slow",
        "pytest {major} sees the marker"
    );
    assert_eq!(
        after["xfail_strict"], true,
        "the project's own option still applies"
    );
    if strict {
        assert_eq!(
            after["strict"], true,
            "pytest 9's `strict = true` still applies"
        );
    }

    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback lists the files")
        .run();
    assert_eq!(
        project.hash_tree(),
        before_tree,
        "rollback gives back the bytes"
    );
}

#[test]
fn pytest_8_ini_forms_get_the_options_pytest_8_reads() {
    let pyproject = "[project]\nname = \"shop\"\nversion = \"0\"\n";
    check(
        8,
        &[
            ("pytest.ini", "[pytest]\nxfail_strict = true\n"),
            ("tox.ini", "[pytest]\naddopts = -x\n"),
        ],
        "pytest.ini",
        false,
    );
    check(
        8,
        &[
            (".pytest.ini", "[pytest]\nxfail_strict = true\n"),
            ("pyproject.toml", pyproject),
        ],
        ".pytest.ini",
        false,
    );
    check(
        8,
        &[
            ("pyproject.toml", "[project]\nname = \"shop\"\nversion = \"0\"\n\n[tool.pytest.ini_options]\nxfail_strict = true\naddopts = [\"-ra\"]\n"),
            ("setup.cfg", "[tool:pytest]\naddopts = -x\n"),
        ],
        "pyproject.toml",
        false,
    );
    check(
        8,
        &[
            (
                "tox.ini",
                "[tox]\nenvlist = py3\n\n[pytest]\nxfail_strict = true\n",
            ),
            ("pyproject.toml", pyproject),
        ],
        "tox.ini",
        false,
    );
    check(
        8,
        &[
            (
                "setup.cfg",
                "[metadata]\nname = shop\n\n[tool:pytest]\nxfail_strict = true\n",
            ),
            ("pyproject.toml", pyproject),
        ],
        "setup.cfg",
        false,
    );
}

/// A project that holds a form only pytest 9 reads beside one pytest 8 reads: planrun edits the
/// file the installed pytest reads, and its dry run says which pytest it found.
#[test]
fn the_installed_pytest_decides_which_file_is_edited() {
    let both = [
        ("pytest.toml", "[pytest]\nxfail_strict = true\n"),
        ("pytest.ini", "[pytest]\nxfail_strict = true\n"),
    ];
    check(8, &both, "pytest.ini", false);
    check(9, &both, "pytest.toml", false);
    let native_and_tox = [
        ("pyproject.toml", "[tool.pytest]\nxfail_strict = true\n"),
        ("tox.ini", "[pytest]\nxfail_strict = true\n"),
    ];
    check(8, &native_and_tox, "tox.ini", false);
    check(9, &native_and_tox, "pyproject.toml", false);

    let project = project(&both);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(&plan, PLAN).unwrap();
    let venv = venv(8);
    let out = project
        .test()
        .args([
            "apply",
            plan.to_str().unwrap(),
            "--target",
            ".",
            "--dry-run",
        ])
        .env("VIRTUAL_ENV", &venv)
        .stdout_unchecked("checked below")
        .run();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("pytest reads"))
        .unwrap_or_else(|| panic!("no line names the file:\n{}", out.stdout));
    assert!(
        line.starts_with("    pytest reads pytest.ini [pytest] (pytest 8's rules: pytest 8."),
        "{line}"
    );
    assert!(out.stdout.contains("--- a/pytest.ini"), "{}", out.stdout);

    // A plan that installs pytest: the installed pytest 8.4.2 satisfies `pytest>=8` (uv keeps
    // it), so pytest 8's rules still hold; `pytest>=9` replaces it, so pytest 9's hold.
    for (spec, rules, edited) in [
        ("pytest>=8", "pytest 8's rules: pytest 8.", "pytest.ini"),
        (
            "pytest>=9",
            "pytest 9's rules: `pytest>=9`, which the plan installs",
            "pytest.toml",
        ),
    ] {
        let installing = PLAN.replace(
            "[[phase]]\nid = \"edit\"\n",
            &format!(
                "[[phase]]\nid = \"edit\"\n  [[phase.step]]\n  id = \"deps\"\n  action = \"install\"\n  \
                 python = \"${{python}}\"\n  packages = [\"{spec}\"]\n\n"
            ),
        );
        fs::write(&plan, installing).unwrap();
        let out = project
            .test()
            .args([
                "apply",
                plan.to_str().unwrap(),
                "--target",
                ".",
                "--dry-run",
            ])
            .env("VIRTUAL_ENV", &venv)
            .stdout_unchecked("checked below")
            .run();
        assert!(
            out.stdout
                .contains(&format!("    pytest reads {edited} [pytest] ({rules}")),
            "{spec}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn pytest_9_toml_forms_get_toml_values() {
    check(
        9,
        &[
            ("pyproject.toml", "[project]\nname = \"shop\"\nversion = \"0\"\n\n[tool.pytest]\nstrict = true\nxfail_strict = true\n"),
            ("tox.ini", "[pytest]\naddopts = -x\n"),
        ],
        "pyproject.toml",
        true,
    );
    check(
        9,
        &[
            (
                "pytest.toml",
                "[pytest]\nstrict = true\nxfail_strict = true\naddopts = [\"-ra\"]\n",
            ),
            ("pytest.ini", "[pytest]\naddopts = -x\n"),
        ],
        "pytest.toml",
        true,
    );
    check(
        9,
        &[
            (
                ".pytest.toml",
                "[pytest]\nstrict = true\nxfail_strict = true\n",
            ),
            ("pyproject.toml", "[tool.pytest]\nxfail_strict = false\n"),
        ],
        ".pytest.toml",
        true,
    );
}

#[test]
fn pytest_9_still_reads_the_ini_forms() {
    check(
        9,
        &[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\nxfail_strict = true\nstrict = true\n",
        )],
        "pyproject.toml",
        true,
    );
    check(
        9,
        &[("setup.cfg", "[tool:pytest]\nxfail_strict = true\n")],
        "setup.cfg",
        false,
    );
}

/// The plan's install of `requirement` (`pytest>=8`, as a baseline phase has it) runs before the
/// pytest-config step.
fn install_then_edit(requirement: &str) -> String {
    PLAN.replace(
        "  [[phase.step]]\n  id = \"addopts\"\n",
        &format!(
            "  [[phase.step]]\n  id = \"deps\"\n  action = \"install\"\n  packages = [\"{requirement}\"]\n  [[phase.step]]\n  id = \"addopts\"\n  needs = [\"deps\"]\n"
        ),
    )
}

/// A pytest 8 project whose own `.venv` holds pytest 8.4.2, with a `pytest.toml` already there
/// for pytest 9 (pytest 8 ignores it): a plan that installs `pytest>=8` first keeps pytest 8,
/// so pytest 8's file is the one edited, and pytest 8 then sees the new option. A plan asking
/// for `pytest>=9` replaces it, so pytest 9's file would be.
#[test]
fn a_plan_requirement_the_installed_pytest_meets_keeps_its_rules() {
    let project = project(&[
        ("pytest.toml", "[pytest]\nxfail_strict = true\n"),
        ("pytest.ini", "[pytest]\nxfail_strict = true\n"),
    ]);
    sh(Command::new(uv())
        .args(["venv", "--quiet", ".venv"])
        .current_dir(project.path()));
    sh(Command::new(uv())
        .args(["pip", "install", "--quiet", "--python", ".venv/bin/python"])
        .arg("pytest==8.4.2")
        .current_dir(project.path()));
    let venv = project.join(".venv");
    let freeze = || {
        sh(Command::new(uv())
            .args(["pip", "freeze", "--python"])
            .arg(venv.join("bin/python")))
    };
    let env_before = freeze();
    let files_before = [project.read("pytest.toml"), project.read("pytest.ini")];
    assert_eq!(probe(&venv, &project)["inipath"], "pytest.ini");

    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.toml");
    fs::write(&newer, install_then_edit("pytest>=9")).unwrap();
    project
        .test()
        .args(["apply", newer.to_str().unwrap(), "--target", ".", "--dry-run"])
        .stdout_contains(
            "    pytest reads pytest.toml [pytest] (pytest 9's rules: `pytest>=9`, which the plan installs in place of pytest 8.4.2)\n--- a/pytest.toml\n",
        )
        .stderr_unchecked("the dry run's header only")
        .run();

    let plan = dir.path().join("plan.toml");
    fs::write(&plan, install_then_edit("pytest>=8")).unwrap();
    let plan = plan.to_str().unwrap();
    project
        .test()
        .args(["apply", plan, "--target", ".", "--dry-run"])
        .stdout_contains(
            "    pytest reads pytest.ini [pytest] (pytest 8's rules: pytest 8.4.2 in .venv (found in the target), which `pytest>=8` in the plan keeps)\n--- a/pytest.ini\n",
        )
        .stderr_unchecked("the dry run's header only")
        .run();
    project
        .test()
        .args(["apply", plan, "--target", "."])
        .stderr_contains("exit 0")
        .stdout_unchecked("the summary names the run")
        .run();
    assert_eq!(
        project.read("pytest.toml"),
        files_before[0],
        "pytest 8 ignores it"
    );
    let after = probe(&venv, &project);
    assert_eq!(after["inipath"], "pytest.ini");
    assert_eq!(after["maxfail"], 7, "pytest 8.4.2 sees the new addopts");
    assert_eq!(after["markers"][0], "slow");

    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback lists the files")
        .run();
    assert_eq!(
        [project.read("pytest.toml"), project.read("pytest.ini")],
        files_before
    );
    assert_eq!(freeze(), env_before, "the environment is as it was");
}
