//! `planrun ci github`: examples/ci/github-actions.yml is exactly what it writes for the bundled
//! xdist plan in the persistence demo; a staged plan gets a job per stage chained by `needs:`;
//! the workflow passes its linters (workflow_lint.rs); and it runs as written (workflow_local.rs runs its
//! steps): the project installed, planrun installed from its wheel with pipx, a kept change
//! becomes a patch and a pull request, a refused promotion leaves the job green.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

use super::wheel::wheel;
use super::workflow_lint::ci_tools;
use super::workflow_local::{Ctx, JobRun, Outcome, Runner, V};
use crate::support::{repo_root, run_ok, Project};

const EXAMPLE_ARGS: &[&str] = &["ci/plans/xdist.toml", "--pull-request"];

pub fn example_path() -> PathBuf {
    repo_root().join("examples/ci/github-actions.yml")
}

/// `planrun ci github ARGS --target .` in `project`, its standard output.
pub fn generate(project: &Project, args: &[&str]) -> String {
    generate_for("github", project, args)
}

/// `planrun ci SYSTEM ARGS --target .` in `project`, its standard output.
pub fn generate_for(system: &str, project: &Project, args: &[&str]) -> String {
    project
        .test()
        .args(["ci", system])
        .args(args)
        .args(["--target", "."])
        .stdout_unchecked("the workflow: parsed and compared by the tests")
        .stderr("")
        .run()
        .stdout
}

/// The persistence demo with the bundled xdist plan written into it, as a user would have it.
pub fn demo_with_bundled_plan() -> Project {
    let project = Project::new("persistence-demo");
    project
        .test()
        .args(["init", "xdist"])
        .stderr_unchecked("what init wrote")
        .run();
    project
}

pub fn staged() -> (Project, String) {
    let project = Project::new("locator-demo");
    let plan =
        std::fs::read_to_string(repo_root().join("plans/xdist-isolation-demo.toml")).unwrap();
    project.write("plans/rollout.toml", &plan);
    let text = generate(&project, &["plans/rollout.toml"]);
    (project, text)
}

/// The shard demo with the bundled `shards` plan written into it (`shards = 4`), and the
/// workflow `ci github` writes for it.
pub fn sharded() -> (Project, String) {
    let project = Project::new("shard-demo");
    project
        .test()
        .args(["init", "shards"])
        .stderr_unchecked("what init wrote")
        .run();
    let text = generate(&project, &["ci/plans/shards.toml"]);
    (project, text)
}

pub fn parse(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn the_example_is_what_ci_github_writes_for_the_bundled_plan() {
    let project = demo_with_bundled_plan();
    let written = generate(&project, EXAMPLE_ARGS);
    let example = std::fs::read_to_string(example_path()).unwrap();
    assert_eq!(
        written, example,
        "examples/ci/github-actions.yml is stale: write it again with `planrun ci github {}` in a copy of examples/persistence-demo after `planrun init xdist`",
        EXAMPLE_ARGS.join(" ")
    );
    // `--output` writes the same text, and says where and what to do with it.
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("planrun.yml");
    project
        .test()
        .args(["ci", "github"])
        .args(EXAMPLE_ARGS)
        .args(["--target", ".", "-o"])
        .arg(&file)
        .stdout("")
        .stderr_contains("(jobs: planrun); copy it to .github/workflows/ of the repository")
        .run();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), example);
    let wf = parse(&written);
    let steps = wf["jobs"]["planrun"]["steps"].as_sequence().unwrap();
    let install = steps
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("-m venv")))
        .unwrap();
    assert_eq!(
        install, "python -m venv .venv\n.venv/bin/python -m pip install -r requirements-dev.txt\n",
        "the demo documents its test dependencies in requirements-dev.txt"
    );
    assert_eq!(wf["env"]["PLAN"].as_str(), Some("ci/plans/xdist.toml"));
    assert_eq!(
        wf["env"]["PLANRUN_VERSION"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_staged_plan_gets_a_job_per_stage_chained_and_a_neutral_refusal() {
    let (_project, text) = staged();
    let wf = parse(&text);
    let jobs = wf["jobs"].as_mapping().unwrap();
    let ids: Vec<&str> = jobs.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(ids, ["dev", "ci-partial", "ci-full"]);
    for (i, id) in ids.iter().enumerate() {
        let job = &wf["jobs"][*id];
        assert_eq!(job["needs"].as_str(), i.checked_sub(1).map(|p| ids[p]));
        let steps = job["steps"].as_sequence().unwrap();
        let apply = steps
            .iter()
            .find(|s| s["id"].as_str() == Some("apply"))
            .unwrap();
        let run = apply["run"].as_str().unwrap();
        assert!(run.contains(&format!("--stage {id} --ci $FORCE")), "{run}");
        assert!(run.contains("9) # Not promoted yet"), "{run}");
        let key = steps
            .iter()
            .find(|s| s["uses"].as_str() == Some("actions/cache/save@v4"))
            .unwrap();
        assert_eq!(key["if"].as_str(), Some("always()"));
        assert!(key["with"]["key"]
            .as_str()
            .unwrap()
            .contains("${{ github.run_attempt }}"));
        let upload = steps
            .iter()
            .find(|s| s["name"].as_str() == Some("Upload the report"))
            .unwrap();
        assert_eq!(upload["if"].as_str(), Some("always()"));
    }
}

/// The options as `--help` shows them.
#[test]
fn ci_github_help_is_reviewed() {
    crate::support::Test::new()
        .args(["ci", "github", "--help"])
        .verbatim()
        .stdout_snapshot("help-ci-github")
        .run();
}

#[test]
fn a_plan_outside_the_repository_is_refused_with_what_to_do() {
    let project = Project::new("persistence-demo");
    project
        .test()
        .args(["ci", "github"])
        .arg(repo_root().join("plans/xdist.toml"))
        .args(["--target", "."])
        .status(2)
        .stderr_contains("a workflow can only apply a plan the repository holds")
        .stderr_contains("`planrun init NAME` writes a bundled plan to plans/NAME.toml")
        .run();
}

/// This machine's `python3` as `X.Y`, the matrix entry the local run uses (setup-python is
/// GitHub's action; here the Python is the one installed).
pub fn local_python() -> String {
    let out = run_ok(
        Command::new("python3").args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
        "python3 --version",
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes `project` a git repository with one commit: the checkout the jobs clone.
pub fn commit_all(project: &Project) {
    for args in [
        &["init", "--quiet", "--initial-branch=main"][..],
        &["add", "--all"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "--quiet",
            "-m",
            "initial",
        ],
    ] {
        run_ok(
            Command::new("git").args(args).current_dir(project.path()),
            "git",
        );
    }
}

/// A runner with pipx (installing from the wheel's directory, as `planrun==VERSION` from an
/// index), shellcheck and a `gh` that records its arguments.
pub fn runner(scratch: &Path) -> Runner {
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/bin/sh\ntest -n \"$GH_TOKEN\" || { echo 'gh: no GH_TOKEN' >&2; exit 4; }\necho --- >> \"$GH_LOG\"\nprintf '%s\\n' \"$@\" >> \"$GH_LOG\"\n",
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("755").arg(&gh), "chmod gh");
    let pipx_bin = scratch.join("pipx-bin");
    let jobs = scratch.join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let wheels = wheel().parent().unwrap().to_path_buf();
    Runner {
        path_first: vec![pipx_bin.clone(), bin, ci_tools()],
        env: vec![
            (
                "PIPX_HOME".into(),
                scratch.join("pipx").display().to_string(),
            ),
            ("PIPX_BIN_DIR".into(), pipx_bin.display().to_string()),
            ("PIP_FIND_LINKS".into(), wheels.display().to_string()),
            ("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()),
            (
                "GH_LOG".into(),
                scratch.join("gh.log").display().to_string(),
            ),
            ("NO_COLOR".into(), "1".into()),
        ],
        scratch: jobs,
    }
}

fn push_context(open_pr: bool) -> Ctx {
    let mut ctx = Ctx::default();
    for (k, v) in [
        ("ref", "refs/heads/main"),
        ("ref_name", "main"),
        ("run_id", "4242"),
        ("run_attempt", "1"),
        ("token", "local-token"),
    ] {
        ctx.github.insert(k.into(), v.into());
    }
    ctx.inputs.insert("open_pr".into(), V::B(open_pr));
    ctx
}

fn outcome<'a>(run: &'a JobRun, name: &str) -> &'a Outcome {
    &run.steps
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {:?}", run.steps))
        .1
}

fn skipped(runs: &[JobRun]) -> Vec<String> {
    let mut uses: Vec<String> = runs
        .iter()
        .flat_map(|r| &r.steps)
        .filter_map(|(_, o)| match o {
            Outcome::Uses(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    uses.sort();
    uses.dedup();
    uses
}

/// The mini project, with the `edits` plan (three edits, no suite) in `plans/`, committed.
pub fn mini_with_edits() -> Project {
    let project = Project::fixture("targets/mini");
    let fixtures = repo_root().join("tests/fixtures/apply");
    project.write(
        "plans/edits.toml",
        &std::fs::read_to_string(fixtures.join("edits.toml")).unwrap(),
    );
    project.write(
        "plans/templates/conftest.py",
        &std::fs::read_to_string(fixtures.join("templates/conftest.py")).unwrap(),
    );
    project
}

/// The edits plan's workflow for `system` in `project` with `more` options, for the machine's
/// Python and with a `--var` holding a space and a quote, which the workflow must carry to the
/// apply intact; then the project is committed. The text and the Python.
pub fn edits_workflow(system: &str, project: &Project, more: &[&str]) -> (String, String) {
    let python = local_python();
    let mut args = vec![
        "plans/edits.toml",
        "--python",
        &python,
        "--var",
        "greeting=the CI's target",
    ];
    args.extend(more);
    let text = generate_for(system, project, &args);
    assert!(
        text.contains(r#"--var "greeting=the CI's target""#),
        "{text}"
    );
    commit_all(project);
    (text, python)
}

/// The files the edits plan changes.
const EDITED: [&str; 5] = [
    "app.py",
    "pyproject.toml",
    "pytest.ini",
    "setup.cfg",
    "tests/conftest.py",
];

/// The patch a job made in `workspace` of the edits plan's kept change: its five edits and
/// nothing of the runner's (.venv, the report, egg-info), the `--var` in the rendered template,
/// and it applies to the commit the job checked out.
pub fn check_edits_patch(workspace: &Path, project: &Project, scratch: &Path) {
    let patch = std::fs::read_to_string(workspace.join("planrun.patch")).unwrap();
    let mut files: Vec<&str> = patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .collect();
    files.sort_unstable();
    assert_eq!(files, EDITED, "{patch}");
    assert!(
        patch.contains("+\"\"\"Written by planrun for the CI's target.\"\"\""),
        "{patch}"
    );
    let fresh = scratch.join("fresh");
    run_ok(
        Command::new("git")
            .arg("clone")
            .arg("--quiet")
            .arg(project.path())
            .arg(&fresh),
        "clone",
    );
    run_ok(
        Command::new("git")
            .args(["apply", "--check"])
            .arg(workspace.join("planrun.patch"))
            .current_dir(&fresh),
        "git apply --check planrun.patch",
    );
}

/// The workflow's steps, run in order on a fresh clone: the project is installed with pip as
/// it documents, planrun from its wheel with pipx, the plan is applied and kept, the patch is
/// exactly planrun's change, and the pull-request step pushes a branch and calls `gh`.
#[test]
fn the_workflow_runs_as_written_and_a_kept_change_becomes_a_patch_and_a_pull_request() {
    let project = mini_with_edits();
    let (text, python) = edits_workflow("github", &project, &["--pull-request"]);
    let scratch = tempfile::tempdir().unwrap();
    let runner = runner(scratch.path());
    let runs = runner.run(&parse(&text), project.path(), &push_context(true));
    eprintln!(
        "not run here (GitHub's actions): {}",
        skipped(&runs).join(", ")
    );
    assert_eq!(runs.len(), 1, "one job, one matrix entry");
    let run = &runs[0];
    assert!(run.green, "{:?}\n{}", run.steps, run.log);
    assert_eq!(run.matrix["python"], python);
    for step in [
        "Install the project and its test dependencies",
        "Install planrun 0.1.0",
        "Apply edits",
        "Make a patch of the kept change",
        "Open a pull request with the change",
    ] {
        assert_eq!(outcome(run, step), &Outcome::Ran(0), "{step}\n{}", run.log);
    }
    assert_eq!(run.ctx.steps["apply"]["kept"], "true");
    assert!(run.workspace.join(".venv/bin/python").is_file());
    let installed = run_ok(
        Command::new(run.workspace.join(".venv/bin/python"))
            .args(["-m", "pip", "show", "mini-app"]),
        "pip show",
    );
    assert!(String::from_utf8_lossy(&installed.stdout).contains("Location"));

    check_edits_patch(&run.workspace, &project, scratch.path());

    let branch = format!("planrun/planrun-4242-py{python}");
    let pushed = run_ok(
        Command::new("git")
            .args(["log", "--format=%s", "--name-only", "-1", &branch])
            .current_dir(project.path()),
        "git log of the pushed branch",
    );
    let pushed = String::from_utf8_lossy(&pushed.stdout);
    assert!(
        pushed.starts_with("planrun: apply plans/edits.toml"),
        "{pushed}"
    );
    for f in EDITED {
        assert!(
            pushed.lines().any(|l| l == f),
            "{f} not committed: {pushed}"
        );
    }
    assert!(
        !pushed.contains(".venv") && !pushed.contains("planrun-report"),
        "{pushed}"
    );
    let gh = std::fs::read_to_string(scratch.path().join("gh.log")).unwrap();
    let gh: Vec<&str> = gh.lines().skip(1).collect();
    assert_eq!(
        gh,
        [
            "pr",
            "create",
            "--head",
            &branch,
            "--title",
            "planrun: apply plans/edits.toml",
            "--body-file",
            "planrun-report/summary.md"
        ]
    );
}

/// Before planrun is on an index, `--planrun-from` names where the workflow gets it (here the
/// wheel's path, as a release asset's URL would be): the job installs exactly that, with no
/// index offering planrun, and applies the plan. GitLab's pipeline carries it the same way.
#[test]
fn planrun_from_installs_the_named_wheel_and_the_workflow_runs() {
    let project = mini_with_edits();
    let from = wheel().display().to_string();
    let (text, _) = edits_workflow("github", &project, &["--planrun-from", &from]);
    assert!(
        text.contains(&format!("  PLANRUN_FROM: \"{from}\"\n"))
            && text.contains("run: pipx install \"$PLANRUN_FROM\"\n")
            && !text.contains("planrun==$PLANRUN_VERSION"),
        "{text}"
    );
    assert!(
        text.contains(&format!("--planrun-from {from}`")),
        "the header's command: {text}"
    );
    let scratch = tempfile::tempdir().unwrap();
    let mut runner = runner(scratch.path());
    runner.env.retain(|(k, _)| k != "PIP_FIND_LINKS");
    let runs = runner.run(&parse(&text), project.path(), &push_context(false));
    let run = &runs[0];
    assert!(run.green, "{:?}\n{}", run.steps, run.log);
    assert_eq!(
        outcome(run, "Install planrun 0.1.0"),
        &Outcome::Ran(0),
        "{}",
        run.log
    );
    assert_eq!(run.ctx.steps["apply"]["kept"], "true");

    let gitlab = generate_for(
        "gitlab",
        &project,
        &["plans/edits.toml", "--planrun-from", &from],
    );
    assert!(
        gitlab.contains(&format!("  PLANRUN_FROM: \"{from}\"\n"))
            && gitlab.contains("pipx install \"$PLANRUN_FROM\"\n")
            && !gitlab.contains("planrun==$PLANRUN_VERSION"),
        "{gitlab}"
    );
}

/// Two stages: the second waits for two green runs of the first.
pub const STAGED: &str = r#"name = "staged"
description = "two stages"

[[phase]]
id = "dev"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"

[[phase]]
id = "wide"
needs = ["dev"]
  [[phase.step]]
  id = "marker"
  action = "run"
  command = "true"

[[stage]]
id = "dev"
phases = ["dev"]
  [[stage.promote]]
  check = "history.green_streak >= 2"
  why = "two green runs in a row"

[[stage]]
id = "ci"
phases = ["wide"]
"#;

/// A plan with two stages whose second waits for two green runs of the first: on a fresh
/// history, the first stage's job applies and keeps its change, the second's apply is refused
/// (exit 9) and its job stays green with a notice; no patch is made where nothing was kept.
#[test]
fn a_stage_not_promoted_yet_is_a_green_job_with_a_notice() {
    let project = mini_with_edits();
    project.write("plans/staged.toml", STAGED);
    let python = local_python();
    let text = generate(&project, &["plans/staged.toml", "--python", &python]);
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let runner = runner(scratch.path());
    let mut ctx = push_context(false);
    ctx.inputs.insert("force".into(), V::B(false));
    let runs = runner.run(&parse(&text), project.path(), &ctx);
    eprintln!(
        "not run here (GitHub's actions): {}",
        skipped(&runs).join(", ")
    );
    let jobs: Vec<&str> = runs.iter().map(|r| r.job.as_str()).collect();
    assert_eq!(jobs, ["dev", "ci"]);
    let (dev, ci) = (&runs[0], &runs[1]);
    assert!(dev.green, "{}", dev.log);
    assert_eq!(dev.ctx.steps["apply"]["kept"], "true");
    assert!(ci.green, "a refused promotion is neutral: {}", ci.log);
    assert_eq!(outcome(ci, "Apply stage ci"), &Outcome::Ran(0));
    assert_eq!(ci.ctx.steps["apply"]["kept"], "false");
    assert!(
        ci.log
            .contains("::notice title=planrun::stage ci is not promoted yet; nothing ran (exit 9)"),
        "{}",
        ci.log
    );
    assert!(
        ci.log.contains("stage `ci` may not be applied yet"),
        "{}",
        ci.log
    );
    assert_eq!(
        outcome(ci, "Make a patch of the kept change"),
        &Outcome::NotRun
    );
    assert!(!ci.workspace.join("planrun.patch").exists());
}

/// A plan that changes nothing and checks the environment planrun found: the project's `.venv`,
/// with pytest in it (from the group the project declares it in).
const CHECK_ENV: &str = r#"name = "check-env"
description = "the environment the workflow installed"

[vars]
python = "auto"

[[phase]]
id = "check"
  [[phase.step]]
  id = "imports"
  action = "run"
  command = '''${python} -c "import sys, pytest; assert sys.prefix.endswith('.venv'), sys.prefix"'''
"#;

/// Runs the check-env plan's workflow on `project`; returns the job, the install script, and
/// the scratch directory its workspace lives in.
fn run_check_env(project: &Project) -> (JobRun, String, tempfile::TempDir) {
    // Beside the workflows: a top-level `plans/` would be a second top-level package to
    // setuptools' flat-layout discovery, and `pip install -e .` of this demo refuses that.
    project.write(".github/planrun/check.toml", CHECK_ENV);
    let python = local_python();
    let text = generate(
        project,
        &[".github/planrun/check.toml", "--python", &python],
    );
    commit_all(project);
    let scratch = tempfile::tempdir().unwrap();
    let mut runner = runner(scratch.path());
    // The runner image's uv (setup-uv is GitHub's action), with the tests' shared cache.
    runner
        .path_first
        .push(crate::support::tools_venv().join("bin"));
    runner.env.push((
        "UV_CACHE_DIR".into(),
        crate::support::uv_cache_dir().display().to_string(),
    ));
    let mut runs = runner.run(&parse(&text), project.path(), &push_context(false));
    let run = runs.remove(0);
    assert!(run.green, "{:?}\n{}", run.steps, run.log);
    assert_eq!(run.ctx.steps["apply"]["kept"], "true");
    assert_eq!(
        outcome(&run, "Make a patch of the kept change"),
        &Outcome::Ran(0)
    );
    let patch = std::fs::read_to_string(run.workspace.join("planrun.patch")).unwrap();
    assert_eq!(patch, "", "the plan changed nothing");
    let wf = parse(&text);
    let install = wf["jobs"]["planrun"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Install the project and its test dependencies"))
        .unwrap()["run"]
        .as_str()
        .unwrap()
        .to_string();
    (run, install, scratch)
}

/// A project that keeps pytest in a PEP 735 group, without uv: pip 25.1's `--group`.
#[test]
fn a_pep_735_group_is_installed_with_pip_as_the_workflow_says() {
    let project = Project::new("pyproject-demo");
    let (_run, install, _scratch) = run_check_env(&project);
    assert_eq!(
        install,
        "python -m venv .venv\n.venv/bin/python -m pip install --upgrade 'pip>=25.1'\n.venv/bin/python -m pip install -e . --group dev\n"
    );
}

/// The same project with a uv.lock: `uv sync --locked --group dev` makes the `.venv` planrun finds.
#[test]
fn a_uv_project_is_synced_from_its_lock_as_the_workflow_says() {
    let project = Project::new("pyproject-demo");
    crate::support::sh(
        Command::new(crate::support::uv())
            .arg("lock")
            .current_dir(project.path()),
    );
    let (run, install, _scratch) = run_check_env(&project);
    assert_eq!(install, "uv sync --locked --group dev\n");
    assert!(run.workspace.join(".venv/bin/pytest").is_file());
}

/// A Poetry project keeping pytest in a group: Poetry from PyPI through pipx, as the workflow
/// installs it, then `poetry install --with test` into an in-project `.venv` planrun finds.
#[test]
fn a_poetry_project_is_installed_with_its_group_as_the_workflow_says() {
    let project = Project::fixture("targets/mini");
    project.write(
        "pyproject.toml",
        "[tool.poetry]\nname = \"poetry-mini\"\nversion = \"0.1.0\"\ndescription = \"\"\n\
         authors = [\"t <t@t>\"]\npackage-mode = false\n\n\
         [tool.poetry.dependencies]\npython = \">=3.9\"\n\n\
         [tool.poetry.group.test.dependencies]\npytest = \">=8\"\n",
    );
    let (run, install, _scratch) = run_check_env(&project);
    assert_eq!(
        install,
        "pipx install poetry\npoetry config virtualenvs.in-project true --local\npoetry install --with test\n"
    );
    assert!(run.workspace.join(".venv/bin/pytest").is_file());
}

/// A failed gate is not neutral: the apply's exit 1 fails the step and the job, nothing is
/// kept or patched, and the report is still uploaded (`if: always()`).
#[test]
fn a_failed_gate_fails_the_job_and_leaves_no_patch() {
    let project = Project::fixture("targets/mini");
    project.write(
        ".github/planrun/red.toml",
        r#"name = "red"
description = "a gate that fails"

[[phase]]
id = "change"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"

  [[phase.step]]
  id = "after"
  needs = ["fast"]
  action = "suite"
  framework = "command"
  command = "true"
  record = "after"
  runs = 1
  warmup = 0

  [[phase.gate]]
  check = "after.runs_green == 0"
  why = "made to fail"
"#,
    );
    let python = local_python();
    let text = generate(&project, &[".github/planrun/red.toml", "--python", &python]);
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let runs = runner(scratch.path()).run(&parse(&text), project.path(), &push_context(false));
    let run = &runs[0];
    assert!(!run.green, "{}", run.log);
    assert_eq!(outcome(run, "Apply red"), &Outcome::Ran(1), "{}", run.log);
    assert_eq!(run.ctx.steps["apply"]["kept"], "false");
    assert_eq!(
        outcome(run, "Make a patch of the kept change"),
        &Outcome::NotRun
    );
    assert_eq!(
        outcome(run, "Upload the report"),
        &Outcome::Uses("actions/upload-artifact@v4".into())
    );
    assert!(run.workspace.join("planrun-report/report.json").is_file());
    // `--ci` under GitHub Actions: the gate annotated at its line, the summary appended.
    assert!(
        run.log
            .contains("::error file=.github/planrun/red.toml,line="),
        "{}",
        run.log
    );
    let summary = run.workspace.parent().unwrap().join("files/summary.md");
    let summary = std::fs::read_to_string(summary).unwrap_or_default();
    assert!(summary.contains("after.runs_green == 0"), "{summary}");
    let app = std::fs::read_to_string(run.workspace.join("app.py")).unwrap();
    assert!(app.contains("SLOW = True"), "rolled back: {app}");
}

/// A dependency from the repository that GitHub would evaluate as an expression is refused,
/// exit 2, before anything is written.
#[test]
fn a_name_from_the_repository_that_would_inject_an_expression_is_refused() {
    let project = Project::fixture("targets/mini");
    project.write(
        "tox.ini",
        "[testenv]\ndeps =\n    pytest\n    ${{ secrets.PLANRUN_KEY }}\n",
    );
    project.write(".github/planrun/edits.toml", "name = \"x\"\ndescription = \"x\"\n\n[[phase]]\nid = \"p\"\n  [[phase.step]]\n  id = \"s\"\n  action = \"run\"\n  command = \"true\"\n");
    let out = project.join("wf.yml");
    project
        .test()
        .args([
            "ci",
            "github",
            ".github/planrun/edits.toml",
            "--target",
            ".",
            "--output",
        ])
        .arg(&out)
        .status(2)
        .stderr_contains("refusing tox dependency `${{ secrets.PLANRUN_KEY }}` from the target")
        .run();
    assert!(!out.exists(), "nothing written");
}

/// With two Python versions the matrix runs the plan twice, and only the first entry's kept
/// change becomes a pull request: one `gh pr create` per run, not one per Python.
#[test]
fn a_two_python_matrix_runs_twice_and_opens_one_pull_request() {
    let project = mini_with_edits();
    let python = local_python();
    // setup-python is not run here: both entries use this machine's Python, named two ways.
    let patch_level = format!("{python}.0");
    let text = generate(
        &project,
        &[
            "plans/edits.toml",
            "--python",
            &python,
            "--python",
            &patch_level,
            "--pull-request",
        ],
    );
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let runs = runner(scratch.path()).run(&parse(&text), project.path(), &push_context(true));
    let entries: Vec<&str> = runs.iter().map(|r| r.matrix["python"].as_str()).collect();
    assert_eq!(entries, [python.as_str(), patch_level.as_str()]);
    for run in &runs {
        assert!(run.green, "{}", run.log);
        assert_eq!(run.ctx.steps["apply"]["kept"], "true");
    }
    let pr = "Open a pull request with the change";
    assert_eq!(outcome(&runs[0], pr), &Outcome::Ran(0), "{}", runs[0].log);
    assert_eq!(outcome(&runs[1], pr), &Outcome::NotRun);
    let gh = std::fs::read_to_string(scratch.path().join("gh.log")).unwrap();
    assert_eq!(gh.matches("---\n").count(), 1, "{gh}");
}

/// A plan with sharded suites gets one apply job per shard and Python (`--shard i/N`, the
/// durations the last merge saved restored first, no patch: a shard decides nothing) and a
/// `merge` job after them that joins their reports, decides the plan's gates and saves the
/// durations; `shards = "matrix"` needs `--shards N`, and a count the plan contradicts is
/// refused.
#[test]
fn a_sharded_plan_gets_a_shard_matrix_and_a_merge_job() {
    let (project, text) = sharded();
    let wf = parse(&text);
    let job = &wf["jobs"]["planrun"];
    let shards: Vec<u64> = job["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(shards, [1, 2, 3, 4]);
    let runs: Vec<&str> = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        runs.iter().any(|r| r
            .contains("planrun apply \"$PLAN\" --target . --ci --shard ${{ matrix.shard }}/4 ")),
        "{runs:?}"
    );
    assert!(!text.contains("Make a patch"), "a shard job makes no patch");
    assert!(text.contains("path: .test_durations"));
    let merge = &wf["jobs"]["merge"];
    assert_eq!(merge["needs"].as_str(), Some("planrun"));
    let merged: Vec<&str> = merge["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        merged.iter().any(|r| r.contains(
            "planrun report merge planrun-shards/*/ --plan \"$PLAN\" --durations .test_durations"
        )),
        "{merged:?}"
    );

    let plan = project.read("ci/plans/shards.toml");
    project.write(
        "ci/plans/matrix.toml",
        &plan.replace("shards = \"4\"", "shards = \"matrix\""),
    );
    project
        .test()
        .args(["ci", "github", "ci/plans/matrix.toml", "--target", "."])
        .status(2)
        .stderr_contains("give `--shards N`, e.g. `--shards 4`")
        .run();
    let six = generate(&project, &["ci/plans/matrix.toml", "--shards", "6"]);
    assert!(
        six.contains("shard: [1, 2, 3, 4, 5, 6]") && six.contains("--shard ${{ matrix.shard }}/6 ")
    );
    project
        .test()
        .args([
            "ci",
            "github",
            "ci/plans/shards.toml",
            "--shards",
            "3",
            "--target",
            ".",
        ])
        .status(2)
        .stderr_contains("the plan's suites ask for 4 shards, but the matrix would have 3")
        .run();
}

/// The sharded workflow's steps run locally, its matrix expanded (one Python, 2 shards): each
/// shard job applies its shard and defers the gates, uploads its report; the merge job
/// downloads them, joins them and decides the plan's gates on the whole suite (here the
/// machine-independent one: every test ran once), and writes the durations the next run's
/// shard jobs restore.
#[test]
fn the_sharded_workflow_runs_as_written_and_the_merge_decides_the_gates() {
    let (project, _) = sharded();
    let plan = project.read("ci/plans/shards.toml");
    let cut = plan
        .find("  [[phase.gate]]\n  check = \"after.balance")
        .unwrap();
    project.write("ci/plans/split.toml", &plan[..cut]);
    let python = local_python();
    let text = generate(
        &project,
        &[
            "ci/plans/split.toml",
            "--python",
            &python,
            "--var",
            "shards=2",
            "--var",
            "runs=1",
            "--var",
            "warmup=0",
        ],
    );
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let mut runner = runner(scratch.path());
    runner
        .env
        .push(("LEDGER_LATENCY_SCALE".into(), "0.1".into()));
    let runs = runner.run(&parse(&text), project.path(), &push_context(false));
    let jobs: Vec<(&str, Option<&String>)> = runs
        .iter()
        .map(|r| (r.job.as_str(), r.matrix.get("shard")))
        .collect();
    assert_eq!(
        jobs,
        [
            ("planrun", Some(&"1".to_string())),
            ("planrun", Some(&"2".to_string())),
            ("merge", None)
        ]
    );
    for run in &runs {
        assert!(run.green, "{} {:?}\n{}", run.job, run.steps, run.log);
    }
    for run in &runs[..2] {
        assert_eq!(
            outcome(run, "Apply shards"),
            &Outcome::Ran(0),
            "{}",
            run.log
        );
        assert!(run.log.contains("this job measures shard"), "{}", run.log);
    }
    let merge = &runs[2];
    assert_eq!(
        outcome(merge, "Merge the shards and decide the gates"),
        &Outcome::Ran(0),
        "{}",
        merge.log
    );
    assert!(
        merge.log.contains("after: 2 shards, wall "),
        "{}",
        merge.log
    );
    assert!(
        merge
            .log
            .contains("and after.tests 404 == baseline.tests 404 ... pass"),
        "{}",
        merge.log
    );
    let durations = std::fs::read_to_string(merge.workspace.join(".test_durations")).unwrap();
    assert!(
        durations.contains("tests/e2e/test_close_period.py::test_close_period[1.4]"),
        "{durations}"
    );
}

/// The bundled `shards` plan (its machine-independent gate only) as the first of two rollout
/// stages, in the shard demo: its workflow for this machine's Python with 2 shards and one run
/// each, with `more` options (the project committed); or the refusal without them.
pub fn staged_shards(system: &str, more: &[&str]) -> (Project, String) {
    let (project, _) = sharded();
    let plan = project.read("ci/plans/shards.toml");
    let cut = plan
        .find("  [[phase.gate]]\n  check = \"after.balance")
        .unwrap();
    let stages = r#"
[[phase]]
id = "wide"
needs = ["sharded"]
  [[phase.step]]
  id = "marker"
  action = "run"
  command = "true"

[[stage]]
id = "dev"
phases = ["whole", "sharded"]
  [[stage.promote]]
  check = "history.green_streak >= 2"

[[stage]]
id = "ci"
phases = ["wide"]
"#;
    project.write("ci/plans/staged.toml", &format!("{}{stages}", &plan[..cut]));
    let python = local_python();
    let mut args = vec![
        "ci/plans/staged.toml",
        "--python",
        &python,
        "--var",
        "shards=2",
        "--var",
        "runs=1",
        "--var",
        "warmup=0",
    ];
    args.extend(more);
    let text = generate_for(system, &project, &args);
    commit_all(&project);
    (project, text)
}

/// A staged plan with sharded suites gets no shard matrix: a stage is promoted on its applies'
/// history, which shard jobs (their gates deferred to a merge) would fill with runs that judged
/// nothing. Without `--shards-on-runner` it is refused saying so; with it each stage's job runs
/// the suite's shards as processes on its runner and decides the gates itself, as written.
#[test]
fn a_staged_plan_runs_its_shards_on_each_stage_jobs_runner() {
    let (project, _) = sharded();
    let plan = project.read("ci/plans/shards.toml");
    project.write(
        "ci/plans/refused.toml",
        &format!("{plan}\n[[stage]]\nid = \"dev\"\nphases = [\"whole\", \"sharded\"]\n"),
    );
    for system in ["github", "gitlab"] {
        project
            .test()
            .args(["ci", system, "ci/plans/refused.toml", "--target", "."])
            .status(2)
            .stderr_contains("--shards-on-runner")
            .run();
    }
    let (project, text) = staged_shards("github", &["--shards-on-runner"]);
    assert!(
        text.contains("# Each sharded suite runs its shards as processes on the job's runner"),
        "{text}"
    );
    let wf = parse(&text);
    let jobs: Vec<&str> = wf["jobs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["dev", "ci"], "no merge job");
    assert!(!text.contains("--shard "), "no shard job:\n{text}");
    let scratch = tempfile::tempdir().unwrap();
    let mut runner = runner(scratch.path());
    runner
        .env
        .push(("LEDGER_LATENCY_SCALE".into(), "0.1".into()));
    let mut ctx = push_context(false);
    ctx.inputs.insert("force".into(), V::B(false));
    let runs = runner.run(&wf, project.path(), &ctx);
    let dev = &runs[0];
    assert!(dev.green, "{}", dev.log);
    assert_eq!(
        outcome(dev, "Apply stage dev"),
        &Outcome::Ran(0),
        "{}",
        dev.log
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dev.workspace.join("planrun-report/report.json")).unwrap(),
    )
    .unwrap();
    let after = &report["records"]["after"];
    assert_eq!(after["shards"]["count"], 2, "{after}");
    assert!(
        after["shards"]["only"].is_null(),
        "both shards on the runner"
    );
    assert_eq!(after["tests"], 404);
    assert_eq!(report["gates"][0]["status"], "pass", "decided in the job");
    assert!(
        runs[1].green,
        "a refused promotion is neutral: {}",
        runs[1].log
    );
}
