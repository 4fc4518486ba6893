use super::*;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn detected(files: &[(&str, &str)]) -> ProjectInstall {
    detect(project(files).path()).unwrap()
}

const GROUP: &str =
    "[project]\nname = \"x\"\nversion = \"1\"\n\n[dependency-groups]\ntests = [\"pytest>=8\"]\n";

#[test]
fn a_uv_project_syncs_the_group_that_holds_pytest_against_its_lock() {
    let got = detected(&[("pyproject.toml", GROUP), ("uv.lock", "version = 1\n")]);
    assert_eq!(got.tool, Tool::Uv);
    assert_eq!(got.commands, ["uv sync --locked --group tests"]);
    assert_eq!(got.why, "pytest is declared in [dependency-groups].tests");
}

#[test]
fn a_poetry_project_installs_with_its_test_group_in_project() {
    let text =
        "[tool.poetry]\nname = \"x\"\n\n[tool.poetry.group.test.dependencies]\npytest = \"^8\"\n";
    let got = detected(&[("pyproject.toml", text), ("poetry.lock", "")]);
    assert_eq!(got.tool, Tool::Poetry);
    assert_eq!(
        got.commands,
        [
            "poetry config virtualenvs.in-project true --local",
            "poetry install --with test"
        ]
    );
}

#[test]
fn pip_installs_the_package_with_its_extra_or_group() {
    let extra = "[project]\nname = \"x\"\nversion = \"1\"\n\n[project.optional-dependencies]\ntest = [\"pytest\"]\n";
    let got = detected(&[("pyproject.toml", extra)]);
    assert_eq!(got.tool, Tool::Pip);
    assert_eq!(
        got.commands,
        [
            "python -m venv .venv",
            ".venv/bin/python -m pip install -e '.[test]'"
        ]
    );
    let got = detected(&[("pyproject.toml", GROUP)]);
    assert_eq!(
        got.commands[1..],
        [
            ".venv/bin/python -m pip install --upgrade 'pip>=25.1'",
            ".venv/bin/python -m pip install -e . --group tests"
        ]
    );
}

#[test]
fn requirements_files_without_a_package_are_installed_as_they_are() {
    let got = detected(&[
        ("requirements-dev.txt", "pytest>=8\n"),
        ("requirements.txt", "requests\n"),
        ("pytest.ini", "[pytest]\n"),
    ]);
    assert_eq!(
        got.commands,
        [
            "python -m venv .venv",
            ".venv/bin/python -m pip install -r requirements.txt -r requirements-dev.txt"
        ]
    );
    assert_eq!(got.why, "pytest is declared in requirements-dev.txt");
}

#[test]
fn nothing_declaring_pytest_installs_the_package_alone() {
    let got = detected(&[("setup.py", "from setuptools import setup\nsetup()\n")]);
    assert_eq!(
        got.commands,
        [
            "python -m venv .venv",
            ".venv/bin/python -m pip install -e ."
        ]
    );
    assert_eq!(got.why, "nothing declares pytest; the plan installs it");
}

#[test]
fn tox_deps_are_passed_to_pip_quoted() {
    let tox = "[tox]\nskipsdist = true\n\n[testenv]\ndeps =\n    pytest>=8\n    requests\n";
    let got = detected(&[("tox.ini", tox)]);
    assert_eq!(
        got.commands[1],
        ".venv/bin/python -m pip install 'pytest>=8' requests"
    );
}

#[test]
fn a_name_that_would_inject_into_the_workflow_is_refused() {
    let tox = "[testenv]\ndeps =\n    pytest\n    ${{secrets.TOKEN}}\n";
    let err = detect(project(&[("tox.ini", tox)]).path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing tox dependency `${{secrets.TOKEN}}` from the target: a workflow cannot carry it safely"
    );
    // Quoted by the one shell quoter: bash reads the hostile name back as one word.
    let quoted = quote("x", "a'b; rm -rf /").unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("printf '%s\\n' {quoted}"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b; rm -rf /\n");
    assert!(quote("x", "a\nb").is_err());
}
