//! `record_in = "auto"` on the shapes real projects have: the new dev dependency goes where the
//! project keeps pytest (a PEP 735 group, a Poetry group or its legacy `dev-dependencies`, a
//! requirements file), nothing is declared twice, the project's own tool accepts its lock after
//! the apply (`uv lock --check`, `poetry check --lock`), and rollback offline restores every
//! byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::envs::OFFLINE;
use crate::support::{cached_venv, env_path, repo_root, sh, uv, Project};

/// A plan file in its own temp dir (removed when this is dropped).
pub struct Plan {
    _dir: tempfile::TempDir,
    /// The plan file's path.
    pub path: String,
}

/// A plan `record` with one install step `deps` that installs `packages` (TOML array items)
/// and records them with `record_in = "auto"`; `more` adds lines to the step.
pub fn record_plan(packages: &str, more: &str) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(
        &plan,
        format!(
            r#"
name = "record"
description = "Install a dev dependency and record it where the project keeps its own."
[[phase]]
id = "p"
  [[phase.step]]
  id = "deps"
  action = "install"
  packages = [{packages}]
  record_in = "auto"
  {more}
"#
        ),
    )
    .unwrap();
    Plan {
        path: plan.to_string_lossy().into_owned(),
        _dir: dir,
    }
}

/// A project made of `files` in a temp dir.
fn project(files: &[(&str, &str)]) -> Project {
    let src = tempfile::tempdir().unwrap();
    let project = Project::from_dir(src.path());
    for (rel, text) in files {
        project.write(rel, text);
    }
    project
}

/// Poetry `major` (1 or 2), installed once into `target/poetry<major>-venv`; its `bin`.
fn poetry_bin(major: u8) -> PathBuf {
    let reqs = format!("tests/requirements-poetry{major}.txt");
    cached_venv(&format!("poetry{major}-venv"), &repo_root().join(reqs)).join("bin")
}

/// `PATH` with Poetry `major` first, for planrun and for the checks.
fn path_with_poetry(major: u8) -> std::ffi::OsString {
    let rest = env_path();
    std::env::join_paths(std::iter::once(poetry_bin(major)).chain(std::env::split_paths(&rest)))
        .unwrap()
}

/// Runs a tool in the project (Poetry 2 on `PATH`) and returns its output; panics when it fails.
fn tool(project: &Project, program: &Path, args: &[&str]) -> String {
    sh(Command::new(program)
        .args(args)
        .current_dir(project.path())
        .env("PATH", path_with_poetry(2)))
}

/// Runs Poetry `major` in the project.
fn poetry(major: u8, project: &Project, args: &[&str]) -> String {
    sh(Command::new(poetry_bin(major).join("poetry"))
        .args(args)
        .current_dir(project.path())
        .env("PATH", path_with_poetry(major)))
}

/// Applies the plan (kept: it has no gate) with `path` as `PATH`, checking the dry run first
/// says `dry`.
fn apply(path: &std::ffi::OsStr, project: &Project, plan: &str, dry: &[&str]) {
    let mut test =
        project
            .test()
            .env("PATH", path)
            .args(["apply", plan, "--target", ".", "--dry-run"]);
    for line in dry {
        test = test.stdout_contains(line);
    }
    test.stderr_unchecked("the dry run's header only").run();
    project
        .test()
        .env("PATH", path)
        .args(["apply", plan, "--target", "."])
        .stderr_contains("exit 0")
        .run();
}

/// Rolls back with the network unusable and checks `files` are byte for byte as before.
fn rollback_offline(project: &Project, before: &[(&str, String)]) {
    project
        .test()
        .args(["rollback", "--target", "."])
        .envs(OFFLINE.iter().copied())
        .stdout_contains("rolled back run [RUN] (plan record)")
        .run();
    for (rel, text) in before {
        assert_eq!(&project.read(rel), text, "{rel} after rollback");
    }
}

/// Applies a plan recording `pytest-xdist>=3.5` to `project` (checking that its dry run says
/// each of `dry`) and returns what `files` held before.
fn apply_xdist(
    poetry: u8,
    project: &Project,
    files: &[&'static str],
    dry: &[&str],
) -> Vec<(&'static str, String)> {
    let before = snapshot(project, files);
    let xdist = record_plan("\"pytest-xdist>=3.5\"", "");
    apply(&path_with_poetry(poetry), project, &xdist.path, dry);
    before
}

fn snapshot(project: &Project, files: &[&'static str]) -> Vec<(&'static str, String)> {
    files.iter().map(|f| (*f, project.read(f))).collect()
}

const UV_TESTS: &str = r#"[project]
name = "tokens"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = []

[dependency-groups]
dev = [{ include-group = "tests" }, "iniconfig>=2"]
tests = ["pytest>=8"]

[tool.uv]
package = false
"#;

const TWO_TESTS: &str = "def test_a():\n    assert True\n\n\ndef test_b():\n    assert True\n";

#[test]
fn a_uv_tests_group_gets_xdist_and_its_own_test_command_runs_in_parallel() {
    let project = project(&[("pyproject.toml", UV_TESTS), ("tests/test_t.py", TWO_TESTS)]);
    tool(&project, &uv(), &["lock"]);
    let before = apply_xdist(2, &project, &["pyproject.toml", "uv.lock"], &[
            "record: pytest-xdist>=3.5 -> [dependency-groups].tests (holds pytest; also found: dev)\n",
            "+tests = [\n+    \"pytest>=8\",\n+    \"pytest-xdist>=3.5\",\n+]\n",
            "$ uv lock  (uv.lock follows pyproject.toml; keeps revision 5)",
        ],
    );
    assert_eq!(
        project.read("pyproject.toml"),
        UV_TESTS.replace(
            "tests = [\"pytest>=8\"]",
            "tests = [\n    \"pytest>=8\",\n    \"pytest-xdist>=3.5\",\n]"
        )
    );
    tool(&project, &uv(), &["lock", "--check"]);
    let env = tempfile::tempdir().unwrap();
    let out = sh(Command::new(uv())
        .args(["run", "--locked", "--no-default-groups", "--group", "tests"])
        .args(["pytest", "-n", "2", "-p", "no:cacheprovider"])
        .current_dir(project.path())
        .env("UV_PROJECT_ENVIRONMENT", env.path()));
    assert!(
        out.contains("2 workers") && out.contains("2 passed"),
        "{out}"
    );
    rollback_offline(&project, &before);
}

#[test]
fn xdist_already_in_an_included_group_is_not_declared_again_and_the_lock_is_untouched() {
    let attrs = UV_TESTS.replace(
        "tests = [\"pytest>=8\"]",
        "tests = [\"pytest>=8\", \"pytest-xdist[psutil]\"]",
    );
    let project = project(&[("pyproject.toml", &attrs)]);
    tool(&project, &uv(), &["lock"]);
    let before = snapshot(&project, &["pyproject.toml", "uv.lock"]);
    // execnet is only resolved in uv.lock (pytest-xdist requires it): declared all the same.
    let plan = record_plan("\"pytest-xdist>=3.5\", \"Execnet\"", "");
    apply(&path_with_poetry(2), &project,
        &plan.path,
        &[
            "record: pytest-xdist>=3.5: already declared in [dependency-groups].tests (included by dev); not recorded again, no lock file touched\n",
            "record: Execnet: already declared in uv.lock (resolved); not recorded again, no lock file touched\n",
        ],
    );
    for (rel, text) in &before {
        assert_eq!(&project.read(rel), text, "{rel} after the apply");
    }
    rollback_offline(&project, &before);
}

#[test]
fn a_uv_pin_in_the_project_is_the_uv_that_relocks() {
    let pinned = format!("{UV_TESTS}required-version = \">=0.6.15,<0.8.4\"\n");
    let project = project(&[("pyproject.toml", &pinned)]);
    let old_uv = ["tool", "run", "--from", "uv>=0.6.15,<0.8.4", "uv"];
    tool(&project, &uv(), &[&old_uv[..], &["lock"]].concat());
    let before = snapshot(&project, &["pyproject.toml", "uv.lock"]);
    // The shared uv refuses every command in this project, `uv venv` and `uv pip` too: planrun
    // makes the venv and installs with a uv the pin allows, as it relocks with one.
    let plan = record_plan("\"pytest-xdist>=3.5\"", "installer = \"uv\"");
    apply(&path_with_poetry(2), &project,
        &plan.path,
        &[
            "$ uv lock  (uv.lock follows pyproject.toml; with uv >=0.6.15,<0.8.4, as the project pins)",
            "installer  uv >=0.6.15,<0.8.4, as the project pins (pyproject.toml:13); the uv found",
        ],
    );
    let cfg = project.read(".venv/pyvenv.cfg");
    let made_by = cfg
        .lines()
        .find_map(|l| l.strip_prefix("uv = "))
        .unwrap_or_else(|| panic!("a uv made the venv:\n{cfg}"));
    assert!(
        made_by.starts_with("0.6.") || made_by.starts_with("0.7.") || made_by.starts_with("0.8."),
        "the pinned uv made the venv, not uv {made_by}"
    );
    let xdist = sh(Command::new(project.join(".venv/bin/python"))
        .args(["-c", "import xdist; print(xdist.__file__)"]));
    assert!(xdist.contains(".venv"), "{xdist}");
    let lock = project.read("uv.lock");
    assert!(
        lock.contains("\nrevision = 2\n") && lock.contains("name = \"pytest-xdist\""),
        "{lock}"
    );
    // The shared uv refuses this project (it is not the pinned version): check with the pinned one.
    tool(
        &project,
        &uv(),
        &[&old_uv[..], &["lock", "--check"]].concat(),
    );
    rollback_offline(&project, &before);
}

/// A pin no uv at hand satisfies, with the network unusable: the apply is refused before
/// anything changes (exit 2, no run begun), naming where the pin is and what to do.
#[test]
fn a_uv_pin_that_cannot_be_had_offline_is_named_with_its_line() {
    // A `required-version` of another tool's table comes first: not the line to name.
    let other = UV_TESTS.replace(
        "[tool.uv]",
        "[tool.hatch]\nrequired-version = \"1\"\n\n[tool.uv]",
    );
    let pinned = format!("{other}required-version = \"==0.6.17\"\n");
    let project = project(&[("pyproject.toml", &pinned)]);
    let before = project.hash_tree();
    let plan = record_plan("\"pytest-xdist>=3.5\"", "installer = \"uv\"");
    let line = pinned
        .lines()
        .position(|l| l == "required-version = \"==0.6.17\"")
        .unwrap()
        + 1;
    let offline = tempfile::tempdir().unwrap();
    project
        .test()
        .args(["apply", &plan.path, "--target", "."])
        .envs(OFFLINE.iter().copied())
        .env("PLANRUN_CACHE_DIR", offline.path())
        // An empty uv cache: nothing of uv 0.6.17 can come from an earlier download.
        .env("UV_CACHE_DIR", offline.path().join("uv-cache"))
        .status(2)
        .stderr_contains(format!(
            "step `deps`: the project pins uv ==0.6.17 (pyproject.toml:{line}) and the uv found"
        ))
        .stderr_contains(
            "hint: nothing was changed; put a uv that satisfies the pin first on PATH or in UV",
        )
        .run();
    assert_eq!(project.hash_tree(), before, "nothing of the apply stays");
    let runs = fs::read_dir(project.join(".planrun/runs")).map_or(0, |d| d.count());
    assert_eq!(runs, 0, "no run began");
}

/// A project that pins an older uv than the one on `PATH`, with its own `.venv` made by that
/// uv: planrun installs into it with the pinned uv, and rollback offline gives back the
/// environment as it was.
#[test]
fn an_install_in_a_project_pinning_another_uv_is_rolled_back_to_the_same_environment() {
    let pinned = format!("{UV_TESTS}required-version = \">=0.6.15,<0.8.4\"\n");
    let project = project(&[("pyproject.toml", &pinned)]);
    let old_uv = ["tool", "run", "--from", "uv>=0.6.15,<0.8.4", "uv"];
    tool(
        &project,
        &uv(),
        &[&old_uv[..], &["venv", "--quiet", ".venv"]].concat(),
    );
    let python = project.join(".venv/bin/python");
    let python_arg = python.to_str().unwrap();
    tool(
        &project,
        &uv(),
        &[
            &old_uv[..],
            &[
                "pip",
                "install",
                "--quiet",
                "--python",
                python_arg,
                "pytest==8.4.2",
            ],
        ]
        .concat(),
    );
    let freeze = || {
        tool(
            &project,
            &uv(),
            &[&old_uv[..], &["pip", "freeze", "--python", python_arg]].concat(),
        )
    };
    let env_before = freeze();
    let before = snapshot(&project, &["pyproject.toml"]);
    // The shared uv refuses this project outright.
    let refused = Command::new(uv())
        .args(["pip", "freeze", "--python", python_arg])
        .current_dir(project.path())
        .env("UV_CACHE_DIR", crate::support::uv_cache_dir())
        .output()
        .unwrap();
    assert!(!refused.status.success(), "the shared uv meets the pin");
    let plan = record_plan("\"pytest-xdist>=3.5\"", "");
    project
        .test()
        .args(["apply", &plan.path, "--target", "."])
        .stderr_contains("exit 0")
        .stdout_unchecked("the summary names the run")
        .run();
    assert!(
        freeze().contains("pytest-xdist=="),
        "xdist is in the project's venv"
    );
    rollback_offline(&project, &before);
    assert_eq!(freeze(), env_before, "the environment is as it was");
}

#[test]
fn a_uv_lock_at_an_older_revision_keeps_its_revision() {
    let project = project(&[("pyproject.toml", UV_TESTS)]);
    // uv 0.6.15 to 0.8.3 write revision 2; the shared uv writes a later one.
    tool(
        &project,
        &uv(),
        &["tool", "run", "--from", "uv>=0.6.15,<0.8.4", "uv", "lock"],
    );
    assert!(project.read("uv.lock").contains("\nrevision = 2\n"));
    let before = apply_xdist(
        2,
        &project,
        &["pyproject.toml", "uv.lock"],
        &["$ uv lock  (uv.lock follows pyproject.toml; keeps revision 2)"],
    );
    let lock = project.read("uv.lock");
    assert!(
        lock.contains("\nrevision = 2\n") && lock.contains("name = \"pytest-xdist\""),
        "{lock}"
    );
    tool(&project, &uv(), &["lock", "--check"]);
    rollback_offline(&project, &before);
}

const POETRY_LEGACY: &str = r#"[tool.poetry]
name = "richer"
version = "0.1.0"
description = ""
authors = ["A <a@example.org>"]
package-mode = false

[tool.poetry.dependencies]
python = "^3.9"

[tool.poetry.dev-dependencies]
pytest = ">=8"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;

/// The version `poetry.lock` holds of `name`.
fn locked(project: &Project, name: &str) -> String {
    let lock = project.read("poetry.lock");
    let at = lock
        .find(&format!("name = \"{name}\"\nversion = \""))
        .unwrap_or_else(|| panic!("{name} not in poetry.lock:\n{lock}"));
    let rest = &lock[at..];
    rest.lines().nth(1).unwrap_or_default().to_string()
}

/// A Poetry project with the legacy `dev-dependencies` table whose lock holds pytest 8.0 while
/// `>=8` allows newer, as a lock made when 8.0 was the newest does: the relock must keep it.
fn legacy_dev_table_keeps_its_locked_versions(major: u8) {
    let narrow = POETRY_LEGACY.replace("pytest = \">=8\"", "pytest = \">=8,<8.1\"");
    let project = project(&[("pyproject.toml", &narrow)]);
    poetry(major, &project, &["lock"]);
    project.write("pyproject.toml", POETRY_LEGACY);
    let keep: &[&str] = if major == 1 {
        &["lock", "--no-update"]
    } else {
        &["lock"]
    };
    poetry(major, &project, keep);
    let pytest = locked(&project, "pytest");
    assert!(pytest.starts_with("version = \"8.0."), "{pytest}");
    let before = apply_xdist(
        major,
        &project,
        &["pyproject.toml", "poetry.lock"],
        &[
            "record: pytest-xdist>=3.5 -> [tool.poetry.dev-dependencies] (holds pytest)\n",
            "$ poetry lock  (poetry.lock follows pyproject.toml; no version updated)",
        ],
    );
    assert_eq!(
        project.read("pyproject.toml"),
        POETRY_LEGACY.replace(
            "pytest = \">=8\"\n",
            "pytest = \">=8\"\npytest-xdist = \">=3.5\"\n"
        )
    );
    poetry(major, &project, &["check", "--lock"]);
    assert_eq!(
        locked(&project, "pytest"),
        pytest,
        "the relock updated pytest"
    );
    assert!(locked(&project, "pytest-xdist").starts_with("version = "));
    rollback_offline(&project, &before);
}

#[test]
fn a_poetry_2_legacy_dev_table_gets_xdist_and_keeps_its_locked_versions() {
    legacy_dev_table_keeps_its_locked_versions(2);
}

#[test]
fn a_poetry_1_legacy_dev_table_gets_xdist_and_keeps_its_locked_versions() {
    legacy_dev_table_keeps_its_locked_versions(1);
}

#[test]
fn a_poetry_test_group_gets_xdist_not_the_dev_group() {
    let text = POETRY_LEGACY.replace(
        "[tool.poetry.dev-dependencies]\npytest = \">=8\"\n",
        "[tool.poetry.group.dev.dependencies]\nruff = \"*\"\n\n[tool.poetry.group.test.dependencies]\npytest = \">=8\"\n",
    );
    let project = project(&[("pyproject.toml", &text)]);
    poetry(2, &project, &["lock"]);
    let before = apply_xdist(
        2,
        &project,
        &["pyproject.toml", "poetry.lock"],
        &["record: pytest-xdist>=3.5 -> [tool.poetry.group.test.dependencies] (holds pytest)\n"],
    );
    assert_eq!(
        project.read("pyproject.toml"),
        text.replace(
            "pytest = \">=8\"\n",
            "pytest = \">=8\"\npytest-xdist = \">=3.5\"\n"
        )
    );
    poetry(2, &project, &["check", "--lock"]);
    rollback_offline(&project, &before);
}

#[test]
fn a_poetry_lock_without_poetry_is_refused_before_any_change() {
    let project = project(&[
        ("pyproject.toml", POETRY_LEGACY),
        ("poetry.lock", "# stale on purpose\n"),
    ]);
    let before = project.hash_tree();
    let xdist = record_plan("\"pytest-xdist>=3.5\"", "");
    let plan = xdist.path.clone();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--dry-run"])
        .stdout_contains("    apply will refuse: step `deps` records pytest-xdist>=3.5 in `pyproject.toml`, and `poetry.lock` must follow it, but `poetry` is not on PATH\n")
        .run();
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(2)
        .stderr_contains("error: step `deps` records pytest-xdist>=3.5 in `pyproject.toml`, and `poetry.lock` must follow it, but `poetry` is not on PATH\n")
        .stderr_contains("hint: nothing was changed; install poetry (`uv tool install poetry` or `pipx install poetry`) and run the apply again, or name a requirements file in `record_in`\n")
        .run();
    let after: Vec<_> = project
        .hash_tree()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".planrun"))
        .collect();
    assert_eq!(after, before.into_iter().collect::<Vec<_>>());
}

#[test]
fn a_pip_project_gets_xdist_in_its_requirements_test_file() {
    let test_txt = "-r base.txt\npytest>=8  # the runner\n";
    let project = project(&[
        ("requirements/base.txt", "iniconfig\n"),
        ("requirements/test.txt", test_txt),
        ("requirements-dev.txt", "ruff\n"),
    ]);
    let before = apply_xdist(
        2,
        &project,
        &["requirements/test.txt", "requirements-dev.txt"],
        &["record: pytest-xdist>=3.5 -> requirements/test.txt (holds pytest)\n"],
    );
    assert_eq!(
        project.read("requirements/test.txt"),
        format!("{test_txt}pytest-xdist>=3.5\n")
    );
    assert_eq!(project.read("requirements-dev.txt"), "ruff\n");
    rollback_offline(&project, &before);
}

const PDM_TESTS: &str = r#"[project]
name = "pdmproj"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = []

[dependency-groups]
test = ["pytest>=8"]

[tool.pdm]
distribution = false
"#;

#[test]
fn a_pdm_projects_lock_follows_its_test_group() {
    let bin = cached_venv("pdm-venv", &repo_root().join("tests/requirements-pdm.txt")).join("bin");
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&path_with_poetry(2))),
    )
    .unwrap();
    let project = project(&[("pyproject.toml", PDM_TESTS)]);
    let pdm = |args: &[&str]| {
        sh(Command::new(bin.join("pdm"))
            .args(args)
            .current_dir(project.path())
            .env("PATH", &path)
            .env("PDM_CHECK_UPDATE", "false"))
    };
    pdm(&["lock"]);
    let before = snapshot(&project, &["pyproject.toml", "pdm.lock"]);
    let plan = record_plan("\"pytest-xdist>=3.5\"", "");
    apply(
        &path,
        &project,
        &plan.path,
        &[
            "$ pdm lock --update-reuse  (pdm.lock follows pyproject.toml)",
            "record: pytest-xdist>=3.5 -> [dependency-groups].test (holds pytest)\n",
        ],
    );
    assert!(project.read("pdm.lock").contains("name = \"pytest-xdist\""));
    pdm(&["lock", "--check"]);
    rollback_offline(&project, &before);
}

#[test]
fn a_tox_project_gets_xdist_in_the_deps_that_hold_pytest() {
    let tox = "[tox]\nenvlist = py\n\n[testenv]\ndeps =\n    pytest>=8\n    iniconfig\ncommands = pytest {posargs}\n";
    let project = project(&[("tox.ini", tox), ("requirements-dev.txt", "ruff\n")]);
    let before = apply_xdist(
        2,
        &project,
        &["tox.ini", "requirements-dev.txt"],
        &["record: pytest-xdist>=3.5 -> tox.ini [testenv] deps (holds pytest)\n"],
    );
    assert_eq!(
        project.read("tox.ini"),
        tox.replace("    iniconfig\n", "    iniconfig\n    pytest-xdist>=3.5\n")
    );
    assert_eq!(project.read("requirements-dev.txt"), "ruff\n");
    rollback_offline(&project, &before);
}
