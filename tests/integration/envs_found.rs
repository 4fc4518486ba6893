//! The environment a plan runs in is the one the project uses: `VIRTUAL_ENV`, uv's project
//! environment, Poetry's (in its cache directory or in the project), else a new `.venv`, which
//! the dry run names with the reason; the apply installs and runs there, and rollback puts it
//! back byte for byte with the network unusable.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::envs::{freeze, rollback_offline, uv_venv, venv_hash};
use crate::support::{env_path, poetry, repo_root, sh, Project};

/// The plan: install into `${python}` (no `python` of its own), then check the packages there.
fn plan() -> String {
    let path = repo_root().join("tests/fixtures/envs/found.toml");
    path.to_str().expect("UTF-8 path").to_string()
}

/// `planrun apply PLAN --target .` and extra arguments.
fn apply_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["apply".to_string(), plan(), "--target".into(), ".".into()];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// `unshare -n`: the command runs with no network at all (the proxies of `OFFLINE` aside),
/// where this machine allows it; empty where it does not.
fn without_network() -> Vec<&'static str> {
    let works = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if works {
        vec!["unshare", "-n"]
    } else {
        Vec::new()
    }
}

const APPLIED: &str = "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0";

/// An environment outside the target, active through `VIRTUAL_ENV` as a shell's `activate`
/// leaves it: named by the dry run, installed into and used by the apply (no `.venv` made in
/// the target), and rolled back offline to the same bytes and freeze.
#[test]
fn virtual_env_outside_the_target_is_used_and_rolled_back_offline() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("active");
    uv_venv(&venv, scratch.path(), false);
    let before = (venv_hash(&venv), freeze(&venv));
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .env("VIRTUAL_ENV", &venv)
        .stdout_contains("\nenv        [TMP]/active (VIRTUAL_ENV)\n")
        .stdout_contains("    install into [TMP]/active/bin/python: iniconfig==2.0.0 six==1.17.0\n")
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .env("VIRTUAL_ENV", &venv)
        .apply_progress("env-found", APPLIED)
        .run();
    assert!(
        !project.join(".venv").exists(),
        "a venv was made in the target"
    );
    assert!(freeze(&venv).contains("six==1.17.0"));
    rollback_offline(&project)
        .wrapper(without_network())
        .env("VIRTUAL_ENV", &venv)
        .stdout_contains("/active/bin/python: -iniconfig==2.0.0 -six==1.17.0 +six==1.16.0\n")
        .run();
    assert_eq!((venv_hash(&venv), freeze(&venv)), before);
}

/// A uv project whose environment `UV_PROJECT_ENVIRONMENT` puts elsewhere in the project.
#[test]
fn a_uv_project_environment_is_found_where_uv_puts_it() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let mut text = project.read("pyproject.toml");
    text.push_str("\n[tool.uv]\npackage = false\n");
    project.write("pyproject.toml", &text);
    let venv = project.join("envs/dev");
    uv_venv(&venv, scratch.path(), false);
    let before = (venv_hash(&venv), freeze(&venv));
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .env("UV_PROJECT_ENVIRONMENT", "envs/dev")
        .stdout_contains("\nenv        envs/dev (uv project, UV_PROJECT_ENVIRONMENT)\n")
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .env("UV_PROJECT_ENVIRONMENT", "envs/dev")
        .apply_progress("env-found", APPLIED)
        .run();
    assert!(!project.join(".venv").exists());
    rollback_offline(&project)
        .stdout_unchecked("measured numbers vary")
        .run();
    assert_eq!((venv_hash(&venv), freeze(&venv)), before);
}

/// No environment anywhere: the dry run says one is made and by which step, the apply makes
/// `.venv` and says so, rollback deletes it.
#[test]
fn without_any_environment_a_venv_is_created_and_said() {
    let project = Project::fixture("targets/mini");
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .stdout_contains("\nenv        .venv (none found; step `install` creates the venv)\n")
        .stdout_contains("    install into .venv/bin/python (creates the venv): ")
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .stderr_contains("created .venv; installed iniconfig==2.0.0 six==1.17.0 with uv")
        .run();
    assert!(project.join(".venv/pyvenv.cfg").is_file());
    rollback_offline(&project)
        .stdout_contains("  removed   .venv/ (venv created by the run)")
        .run();
    assert!(!project.join(".venv").exists());
}

/// A misspelt `--var` is an error naming the variable and the one meant; nothing runs.
#[test]
fn a_misspelt_var_is_refused_with_a_suggestion() {
    let project = Project::fixture("targets/mini");
    let out = project
        .test()
        .args(apply_args(&["--var", "pyhton=/usr/bin/python3"]))
        .status(2)
        .stderr_unchecked("checked below")
        .run();
    let text = out.all();
    assert!(
        text.contains("`--var pyhton`: the plan declares no variable `pyhton`"),
        "{text}"
    );
    assert!(text.contains("did you mean `python`?"), "{text}");
    assert!(!project.join(".planrun").exists());
}

/// Every file under `dir`, bytecode included: mode, size and digest.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, String)> {
    crate::support::digest_tree(dir, &[])
}

/// A Poetry project (PEP 621 metadata, `package-mode = false`) with six 1.16.0 (a module) and
/// iniconfig 1.1.1 (a package: uninstalling it takes its `__pycache__`), installed by
/// `poetry install --compile` into `cache` (Poetry's cache directory) or into the project.
fn poetry_project(cache: &Path, in_project: bool) -> (Project, PathBuf) {
    let project = Project::fixture("targets/mini");
    project.write(
        "pyproject.toml",
        "[project]\nname = \"mini-app\"\nversion = \"0.1\"\nrequires-python = \">=3.9\"\n\
         dependencies = [\"six==1.16.0\", \"iniconfig==1.1.1\"]\n\n[tool.poetry]\npackage-mode = false\n",
    );
    let poetry_env = |cmd: &mut Command| {
        cmd.current_dir(project.path())
            .env("POETRY_CACHE_DIR", cache)
            .env(
                "POETRY_VIRTUALENVS_IN_PROJECT",
                if in_project { "true" } else { "false" },
            )
            .env_remove("VIRTUAL_ENV");
    };
    let mut install = Command::new(poetry());
    install.args(["install", "--no-interaction", "--compile"]);
    poetry_env(&mut install);
    sh(&mut install);
    let mut info = Command::new(poetry());
    info.args(["env", "info", "--path"]);
    poetry_env(&mut info);
    let venv = PathBuf::from(sh(&mut info).trim());
    (project, venv)
}

/// `PATH` with Poetry on it, as on a machine where the project's tool is installed.
fn path_with_poetry() -> std::ffi::OsString {
    let bin = poetry().parent().unwrap().to_path_buf();
    let rest = env_path();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest))).unwrap()
}

/// Poetry's environment in its cache directory, found through Poetry's own configuration: the
/// dry run names it, the apply upgrades six there and runs in it, and rollback (offline) gives
/// back every file, the bytecode Poetry compiled but its `RECORD` does not list included.
#[test]
fn poetrys_environment_in_its_cache_is_used_and_rolled_back_with_its_bytecode() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let (project, venv) = poetry_project(&cache, false);
    assert!(
        venv.starts_with(cache.join("virtualenvs")),
        "{}",
        venv.display()
    );
    let site = venv.join("lib/python3.11/site-packages");
    let pyc = fs::read_dir(site.join("__pycache__"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(pyc > 0, "Poetry compiled nothing into {}", site.display());
    assert!(site.join("iniconfig/__pycache__").is_dir());
    let record = fs::read_to_string(site.join("iniconfig-1.1.1.dist-info/RECORD")).unwrap();
    assert!(!record.contains(".pyc"), "{record}");
    let before = tree(&venv);
    let path = path_with_poetry();
    let poetry_vars = [
        ("POETRY_CACHE_DIR", cache.as_os_str()),
        ("PATH", path.as_os_str()),
    ];
    let shown = format!(
        "\nenv        {} (Poetry, `poetry env info --path`)\n",
        venv.display()
    );
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .envs(poetry_vars)
        .stdout_contains(shown)
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .envs(poetry_vars)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .apply_progress("env-found", APPLIED)
        .run();
    assert!(!project.join(".venv").exists());
    assert!(freeze(&venv).contains("six==1.17.0"));
    rollback_offline(&project)
        .wrapper(without_network())
        .envs(poetry_vars)
        .stdout_contains(
            "/bin/python: -iniconfig==2.0.0 -six==1.17.0 +iniconfig==1.1.1 +six==1.16.0\n",
        )
        .run();
    let after = tree(&venv);
    let lost: Vec<&PathBuf> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert!(lost.is_empty(), "lost on rollback: {lost:?}");
    assert_eq!(after, before);
}

/// Poetry configured in-project: its `.venv` is found through Poetry too.
#[test]
fn poetrys_in_project_environment_is_named_by_poetry() {
    let scratch = tempfile::tempdir().unwrap();
    let (project, venv) = poetry_project(&scratch.path().join("cache"), true);
    assert_eq!(venv, project.join(".venv"));
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .env("POETRY_CACHE_DIR", scratch.path().join("cache"))
        .env("POETRY_VIRTUALENVS_IN_PROJECT", "true")
        .env("PATH", path_with_poetry())
        .stdout_contains("\nenv        .venv (Poetry, `poetry env info --path`)\n")
        .run();
}

/// The same project without Poetry on `PATH`: its `poetry.toml` says in-project, and that is
/// read directly.
#[test]
fn poetrys_in_project_setting_is_read_without_poetry() {
    let scratch = tempfile::tempdir().unwrap();
    let (project, _) = poetry_project(&scratch.path().join("cache"), true);
    project.write("poetry.toml", "[virtualenvs]\nin-project = true\n");
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .stdout_contains("\nenv        .venv (Poetry, virtualenvs.in-project)\n")
        .run();
}

/// A suite's runs write a file beside the tests and bytecode into an environment outside the
/// target: rollback (offline) moves the file into the run's folder and says so, removes the
/// bytecode, and leaves a file a person made after the apply where it is.
#[test]
fn what_the_runs_left_is_moved_out_or_removed_on_rollback() {
    let project = Project::fixture("targets/mini");
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("active");
    uv_venv(&venv, scratch.path(), false);
    let env_before = tree(&venv);
    let target_before = project.hash_tree();
    let plan = repo_root().join("tests/fixtures/envs/leftovers.toml");
    let plan = plan.to_str().unwrap();
    project
        .test()
        .args(["apply", plan, "--target", "."])
        .env("VIRTUAL_ENV", &venv)
        // As on a machine where Python writes bytecode (this one may say not to).
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .apply_progress(
            "env-leftovers",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .run();
    assert_eq!(project.read("tests/app_test.db-wal"), "wal");
    assert_ne!(tree(&venv), env_before, "the import wrote no bytecode");
    project.write("notes.txt", "mine\n");
    let out = rollback_offline(&project)
        .wrapper(without_network())
        .stdout_unchecked("checked below")
        .run();
    let text = out.all();
    assert!(
        text.contains(
            "  moved     tests/app_test.db-wal (created by the run's commands) to .planrun/runs/"
        ) && text.contains("/leftovers/tests/app_test.db-wal\n"),
        "{text}"
    );
    assert!(text.contains("/active (a cache the run created)"), "{text}");
    let runs = fs::read_dir(project.join(".planrun/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        fs::read_to_string(runs[0].join("leftovers/tests/app_test.db-wal")).unwrap(),
        "wal"
    );
    assert_eq!(project.read("notes.txt"), "mine\n");
    fs::remove_file(project.join("notes.txt")).unwrap();
    assert_eq!(project.hash_tree(), target_before);
    assert_eq!(tree(&venv), env_before);
}

/// A coverage record of a project without coverage configuration (pytest-cov measures all of
/// the target) counts the project's files and none of planrun's: its live plugin runs from
/// `.planrun/` in every suite.
#[test]
fn coverage_records_leave_out_planruns_own_plugin() {
    let project = Project::fixture("targets/mini");
    let plan = repo_root().join("tests/fixtures/envs/coverage.toml");
    project
        .test()
        .args(["apply", plan.to_str().unwrap(), "--target", "."])
        .arg("--var")
        .arg(format!("python={}", crate::support::python().display()))
        .stderr_contains(", coverage ")
        .stderr_unchecked("measured numbers vary")
        .run();
    let runs: Vec<PathBuf> = fs::read_dir(project.join(".planrun/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(runs[0].join("report.json")).unwrap()).unwrap();
    let files = report["records"]["baseline"]["coverage"]["files"]
        .as_object()
        .expect("per-file coverage");
    assert!(files.contains_key("app.py"), "{files:?}");
    assert!(
        files
            .keys()
            .all(|f| !f.contains(".planrun") && !f.contains("planrun_live")),
        "{files:?}"
    );
}

/// A PDM project whose interpreter PDM itself chose (`pdm use` writes `.pdm-python`), in a venv
/// outside the target: found, named, installed into and rolled back offline; no `.venv` made.
#[test]
fn a_pdm_projects_interpreter_is_found_through_pdm_python() {
    let project = Project::fixture("targets/mini");
    let mut text = project.read("pyproject.toml");
    text.push_str("\n[tool.pdm]\ndistribution = false\n");
    project.write("pyproject.toml", &text);
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("pdm-env");
    uv_venv(&venv, scratch.path(), false);
    let bin =
        crate::support::cached_venv("pdm-venv", &repo_root().join("tests/requirements-pdm.txt"))
            .join("bin");
    sh(Command::new(bin.join("pdm"))
        .args(["use", "-f", "--ignore-remembered"])
        .arg(venv.join("bin/python"))
        .current_dir(project.path())
        .env("PDM_HOME", scratch.path().join("pdm-home"))
        .env("PDM_CACHE_DIR", scratch.path().join("pdm-cache"))
        .env("PDM_CONFIG_FILE", scratch.path().join("pdm-config.toml")));
    assert!(project.read(".pdm-python").contains("pdm-env"));
    let before = (venv_hash(&venv), freeze(&venv));
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .stdout_contains("/pdm-env (PDM, .pdm-python)\n")
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .apply_progress("env-found", APPLIED)
        .run();
    assert!(
        !project.join(".venv").exists(),
        "a venv was made in the target"
    );
    assert!(freeze(&venv).contains("six==1.17.0"));
    rollback_offline(&project)
        .stdout_unchecked("measured numbers vary")
        .run();
    assert_eq!((venv_hash(&venv), freeze(&venv)), before);
}

/// A Hatch project whose default environment Hatch made in its own data directory: found by
/// asking Hatch (`hatch env find`), installed into and rolled back offline; no `.venv` made.
#[test]
fn a_hatch_projects_default_environment_is_found_by_asking_hatch() {
    let project = Project::fixture("targets/mini");
    let mut text = project.read("pyproject.toml");
    text.push_str("\n[tool.hatch.envs.default]\nskip-install = true\ndependencies = []\n");
    project.write("pyproject.toml", &text);
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("hatch-data");
    let bin = crate::support::cached_venv(
        "hatch-venv",
        &repo_root().join("tests/requirements-hatch.txt"),
    )
    .join("bin");
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&env_path())),
    )
    .unwrap();
    let hatch = |args: &[&str]| {
        sh(Command::new(bin.join("hatch"))
            .args(args)
            .current_dir(project.path())
            .env("PATH", &path)
            .env("HATCH_DATA_DIR", &data)
            .env("HATCH_CACHE_DIR", scratch.path().join("hatch-cache"))
            .env_remove("VIRTUAL_ENV"))
    };
    hatch(&["env", "create"]);
    let found = hatch(&["env", "find", "default"]);
    let venv = PathBuf::from(found.trim());
    assert!(venv.join("pyvenv.cfg").is_file(), "{found}");
    assert!(venv.starts_with(&data), "{found}");
    let before = (venv_hash(&venv), freeze(&venv));
    project
        .test()
        .args(apply_args(&["--dry-run"]))
        .env("PATH", &path)
        .env("HATCH_DATA_DIR", &data)
        .stdout_contains(" (Hatch, `hatch env find`)\n")
        .run();
    project
        .test()
        .args(apply_args(&[]))
        .env("PATH", &path)
        .env("HATCH_DATA_DIR", &data)
        .apply_progress("env-found", APPLIED)
        .run();
    assert!(
        !project.join(".venv").exists(),
        "a venv was made in the target"
    );
    assert!(freeze(&venv).contains("six==1.17.0"));
    rollback_offline(&project)
        .env("PATH", &path)
        .env("HATCH_DATA_DIR", &data)
        .stdout_unchecked("measured numbers vary")
        .run();
    assert_eq!((venv_hash(&venv), freeze(&venv)), before);
}
