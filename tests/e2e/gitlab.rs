//! `planrun ci gitlab`: the pipeline passes GitLab's CI schema (the copy check-jsonschema ships)
//! and shellcheck; and it runs as written: each job of the matrix on a fresh git checkout of a
//! copy of the project, its `before_script` and `script` lines in one bash as GitLab's shell
//! executor runs them, the workflow tests' runner (pipx, shellcheck and the planrun wheel)
//! underneath. GitLab's own keywords (`image`, `cache`, `artifacts`) are not run here: the tests
//! read them, and check that the paths the artifacts name are where the script left them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;

use super::workflow::{
    check_edits_patch, commit_all, demo_with_bundled_plan, edits_workflow, generate_for,
    local_python, mini_with_edits, runner, staged_shards, STAGED,
};
use super::workflow_lint::ci_tools;
use super::workflow_local::{JobRun, Outcome, Runner};

/// The keys of a pipeline that are no job.
const GLOBAL: &[&str] = &["workflow", "stages", "variables", "default", "include"];

fn parse(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

/// The pipeline's jobs, in file order.
fn jobs(pipeline: &Value) -> Vec<(String, &Value)> {
    pipeline
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .filter(|(k, _)| !GLOBAL.contains(&k.as_str()))
        .collect()
}

/// A variable's value, whether written `NAME: value` or `NAME: {value: ...}`.
fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Mapping(m) => value(&m[&Value::from("value")]),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("variable {other:?}"),
    }
}

/// `$NAME` and `${NAME}` in `text` from `vars`, as GitLab expands variables in variables.
fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let re = regex::Regex::new(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?").unwrap();
    re.replace_all(text, |c: &regex::Captures| {
        vars.get(&c[1]).cloned().unwrap_or_default()
    })
    .into_owned()
}

/// The lines of a `script`-like key, joined.
fn lines(v: &Value) -> String {
    v.as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|i| format!("{}\n", i.as_str().unwrap().trim_end()))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs every job of `pipeline` in file order (stages are in that order), each entry of its
/// `parallel: matrix:` on a fresh checkout of `repo`, with GitLab's predefined `predefined`.
fn run(runner: &Runner, pipeline: &Value, repo: &Path, predefined: &[(&str, &str)]) -> Vec<JobRun> {
    let mut runs = Vec::new();
    for (id, job) in jobs(pipeline) {
        let matrix = &job["parallel"]["matrix"][0];
        let (axis, values) = matrix.as_mapping().unwrap().iter().next().unwrap();
        for v in values.as_sequence().unwrap() {
            let mut vars: BTreeMap<String, String> = predefined
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            vars.insert("CI_JOB_NAME".into(), id.clone());
            vars.insert(axis.as_str().unwrap().into(), value(v));
            for scope in [&pipeline["variables"], &job["variables"]] {
                for (k, v) in scope.as_mapping().into_iter().flatten() {
                    let text = expand(&value(v), &vars);
                    vars.insert(k.as_str().unwrap().into(), text);
                }
            }
            let (workspace, files) = runner.checkout(&id, repo);
            let script = format!("{}{}", lines(&job["before_script"]), lines(&job["script"]));
            let file = files.join("script.sh");
            std::fs::write(&file, &script).unwrap();
            vars.insert("GITLAB_CI".into(), "true".into());
            vars.insert("CI_PROJECT_DIR".into(), workspace.display().to_string());
            let (code, log) = runner.bash(&file, &workspace, &runner.path_first, &vars);
            runs.push(JobRun {
                job: id.clone(),
                matrix: BTreeMap::from([(axis.as_str().unwrap().into(), value(v))]),
                steps: vec![("script".into(), Outcome::Ran(code))],
                ctx: Default::default(),
                workspace,
                green: code == 0,
                log,
            });
        }
    }
    runs
}

/// A push to the default branch.
const PUSH: &[(&str, &str)] = &[
    ("CI_COMMIT_BRANCH", "main"),
    ("CI_DEFAULT_BRANCH", "main"),
    ("CI_COMMIT_REF_SLUG", "main"),
    ("CI_PIPELINE_SOURCE", "push"),
    ("FORCE", ""),
];

fn exit_code(run: &JobRun) -> i32 {
    match run.steps[0].1 {
        Outcome::Ran(code) => code,
        _ => unreachable!("a GitLab job is its script"),
    }
}

/// check-jsonschema against GitLab's CI schema (its vendored copy): the problems found.
fn schema_problems(text: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(ci_tools().join("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&file)
        .output()
        .unwrap();
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Each script through shellcheck, as bash.
fn shellcheck(pipeline: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (id, job) in jobs(pipeline) {
        let script = format!("{}{}", lines(&job["before_script"]), lines(&job["script"]));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("script.sh");
        std::fs::write(&file, script).unwrap();
        let out = Command::new(ci_tools().join("shellcheck"))
            .args(["--shell=bash"])
            .arg(&file)
            .output()
            .unwrap();
        if !out.status.success() {
            found.push(format!(
                "job {id}: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    found
}

#[test]
fn the_pipeline_passes_gitlabs_schema_and_shellcheck_and_says_what_gitlab_reads() {
    let demo = demo_with_bundled_plan();
    let plain = generate_for("gitlab", &demo, &["ci/plans/xdist.toml"]);
    let staged_project = mini_with_edits();
    staged_project.write("plans/staged.toml", STAGED);
    let staged = generate_for("gitlab", &staged_project, &["plans/staged.toml"]);
    let (_on_runner_project, on_runner) = staged_shards("gitlab", &["--shards-on-runner"]);
    assert!(on_runner.contains("--shards-on-runner):\n# no shard jobs to merge"));
    for (what, text) in [
        ("the plain pipeline", &plain),
        ("the staged one", &staged),
        ("the staged one with shards on the runner", &on_runner),
    ] {
        assert_eq!(schema_problems(text), None, "{what}:\n{text}");
        let found = shellcheck(&parse(text));
        assert!(
            found.is_empty(),
            "shellcheck on {what}:\n{}",
            found.join("\n")
        );
    }
    // The schema check really runs: a wrong type is caught.
    let broken = staged.replace("exit_codes: [9]", "exit_codes: [nine]");
    assert!(
        schema_problems(&broken).is_some(),
        "the schema caught nothing"
    );

    let wf = parse(&plain);
    assert_eq!(
        wf["variables"]["PLAN"].as_str(),
        Some("ci/plans/xdist.toml")
    );
    let job = &wf["planrun"];
    assert_eq!(job["stage"].as_str(), Some("planrun"));
    assert!(job["allow_failure"].is_null(), "no stage, no refusal");
    let script = lines(&job["script"]);
    assert!(
        script.contains(
            "python -m venv .venv\n.venv/bin/python -m pip install -r requirements-dev.txt\n"
        ),
        "the demo documents its test dependencies in requirements-dev.txt:\n{script}"
    );

    let wf = parse(&staged);
    let ids: Vec<String> = jobs(&wf).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["dev", "ci"]);
    let stages: Vec<&str> = wf["stages"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(stages, ids);
    for (i, (id, job)) in jobs(&wf).into_iter().enumerate() {
        let needs: Vec<&str> = job["needs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(
            needs,
            ids[..i]
                .iter()
                .rev()
                .take(1)
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            job["allow_failure"]["exit_codes"],
            Value::Sequence(vec![Value::from(9)]),
            "{id}: a refused promotion is a warning"
        );
        // One key per branch and Python, written again on every upload: a retried job saves.
        let cache = &job["cache"];
        assert_eq!(
            cache["key"].as_str(),
            Some("planrun-history-$CI_COMMIT_REF_SLUG-py$PYTHON")
        );
        assert_eq!(cache["when"].as_str(), Some("always"));
        let artifacts = &job["artifacts"];
        assert_eq!(artifacts["when"].as_str(), Some("always"));
        assert_eq!(
            artifacts["reports"]["junit"].as_str(),
            Some("planrun-report/junit.xml")
        );
        assert!(lines(&job["script"]).contains(&format!("--stage {id} --ci $FORCE")));
    }
}

/// The pipeline's job, run: the project installed with pip as it documents, planrun from its
/// wheel with pipx, the plan applied and kept, the reports where the artifacts look for them
/// (JUnit included), and the patch exactly planrun's change.
#[test]
fn the_pipeline_runs_as_written_and_a_kept_change_becomes_a_patch() {
    let project = mini_with_edits();
    let (text, python) = edits_workflow("gitlab", &project, &[]);
    let scratch = tempfile::tempdir().unwrap();
    let wf = parse(&text);
    let runs = run(&runner(scratch.path()), &wf, project.path(), PUSH);
    assert_eq!(runs.len(), 1, "one job, one matrix entry");
    let job = &runs[0];
    assert!(job.green, "{}", job.log);
    assert_eq!(job.matrix["PYTHON"], python);
    // What the artifacts keep is there.
    let junit = job.workspace.join("planrun-report/junit.xml");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(roxmltree::Document::parse(&xml).is_ok(), "{xml}");
    assert!(job.workspace.join("planrun-report/report.json").is_file());
    assert!(
        job.workspace
            .join(".planrun-history/history.jsonl")
            .is_file(),
        "the cache's path"
    );
    check_edits_patch(&job.workspace, &project, scratch.path());
}

/// On a fresh history the first stage's job keeps its change; the second's apply is refused
/// with exit 9, the code its `allow_failure` names, and no patch is made.
#[test]
fn a_stage_not_promoted_yet_exits_with_the_code_the_job_allows() {
    let project = mini_with_edits();
    project.write("plans/staged.toml", STAGED);
    let python = local_python();
    let text = generate_for(
        "gitlab",
        &project,
        &["plans/staged.toml", "--python", &python],
    );
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let wf = parse(&text);
    let runs = run(&runner(scratch.path()), &wf, project.path(), PUSH);
    let ids: Vec<&str> = runs.iter().map(|r| r.job.as_str()).collect();
    assert_eq!(ids, ["dev", "ci"]);
    let (dev, ci) = (&runs[0], &runs[1]);
    assert!(dev.green, "{}", dev.log);
    assert!(dev.workspace.join("planrun.patch").is_file());
    assert_eq!(exit_code(ci), 9, "{}", ci.log);
    let allowed = wf["ci"]["allow_failure"]["exit_codes"]
        .as_sequence()
        .unwrap();
    assert!(allowed.contains(&Value::from(exit_code(ci))), "{allowed:?}");
    assert!(
        ci.log.contains("stage `ci` may not be applied yet"),
        "{}",
        ci.log
    );
    assert!(!ci.workspace.join("planrun.patch").exists());
}

/// GitLab gets no shard matrix yet: a sharded plan is refused, not written as a pipeline whose
/// one job would run every shard's suite whole.
#[test]
fn a_sharded_plan_is_refused_until_gitlab_writes_a_shard_matrix() {
    let (project, _) = crate::workflow::sharded();
    project
        .test()
        .args(["ci", "gitlab", "ci/plans/shards.toml", "--target", "."])
        .status(2)
        .stderr_contains("`ci gitlab` does not write a shard matrix yet")
        .run();
}
