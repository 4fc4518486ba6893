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

/// Every combination of a job's `parallel: matrix:` entry's axes, in order.
fn combinations(job: &Value) -> Vec<BTreeMap<String, String>> {
    let mut all = vec![BTreeMap::new()];
    for (axis, values) in job["parallel"]["matrix"][0].as_mapping().unwrap() {
        all = all
            .into_iter()
            .flat_map(|so_far| {
                values.as_sequence().unwrap().iter().map(move |v| {
                    let mut next = so_far.clone();
                    next.insert(axis.as_str().unwrap().to_string(), value(v));
                    next
                })
            })
            .collect();
    }
    all
}

/// Runs every job of `pipeline` in file order (stages are in that order), each combination of
/// its `parallel: matrix:` on a fresh checkout of `repo`, with GitLab's predefined
/// `predefined`. What a job's `artifacts: paths:` name is kept, and given to every later job
/// that `needs:` one, as GitLab downloads the artifacts of the jobs a job needs.
fn run(runner: &Runner, pipeline: &Value, repo: &Path, predefined: &[(&str, &str)]) -> Vec<JobRun> {
    let kept = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (id, job) in jobs(pipeline) {
        for matrix in combinations(job) {
            let mut vars: BTreeMap<String, String> = predefined
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            vars.insert("CI_JOB_NAME".into(), id.clone());
            vars.extend(matrix.clone());
            for scope in [&pipeline["variables"], &job["variables"]] {
                for (k, v) in scope.as_mapping().into_iter().flatten() {
                    let text = expand(&value(v), &vars);
                    vars.insert(k.as_str().unwrap().into(), text);
                }
            }
            let (workspace, files) = runner.checkout(&id, repo);
            // A need's artifacts come along unless it says `artifacts: false`.
            let wants = job["needs"].as_sequence().is_some_and(|needs| {
                needs
                    .iter()
                    .any(|n| n.is_string() || n["artifacts"].as_bool() != Some(false))
            });
            if wants {
                copy_tree(kept.path(), &workspace);
            }
            let script = format!("{}{}", lines(&job["before_script"]), lines(&job["script"]));
            let file = files.join("script.sh");
            std::fs::write(&file, &script).unwrap();
            vars.insert("GITLAB_CI".into(), "true".into());
            vars.insert("CI_PROJECT_DIR".into(), workspace.display().to_string());
            let (code, log) = runner.bash(&file, &workspace, &runner.path_first, &vars);
            for path in job["artifacts"]["paths"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let path = expand(path.as_str().unwrap(), &vars);
                let from = workspace.join(path.trim_end_matches('/'));
                if from.exists() {
                    let to = kept.path().join(path.trim_end_matches('/'));
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    copy_tree(&from, &to);
                }
            }
            runs.push(JobRun {
                job: id.clone(),
                matrix,
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

/// `from` (a file or a directory) copied into `to`, merged with what `to` holds.
fn copy_tree(from: &Path, to: &Path) {
    let status = if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        Command::new("cp")
            .arg("-a")
            .arg(from.join("."))
            .arg(to)
            .status()
    } else {
        Command::new("cp").arg("-a").arg(from).arg(to).status()
    };
    assert!(status.unwrap().success(), "cp {from:?} {to:?}");
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
        // The order only: not the previous stage's report and patch as this job's.
        let needs: Vec<&str> = job["needs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| {
                assert_eq!(n["artifacts"].as_bool(), Some(false), "{id}");
                n["job"].as_str().unwrap()
            })
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

/// The sharded pipeline runs as written, its matrix expanded (one Python, 2 shards): each shard
/// job applies its shard, defers the gates and keeps its report in its own directory; the merge
/// job gets every shard job's artifacts, joins them, decides the plan's gates on the whole suite
/// (here the machine-independent one: every test ran once) and writes the durations its cache
/// keeps for the next pipeline's shard jobs.
#[test]
fn the_sharded_pipeline_runs_as_written_and_the_merge_decides_the_gates() {
    let (project, _) = crate::workflow::sharded();
    let plan = project.read("ci/plans/shards.toml");
    let cut = plan
        .find("  [[phase.gate]]\n  check = \"after.balance")
        .unwrap();
    project.write("ci/plans/split.toml", &plan[..cut]);
    let python = local_python();
    let text = generate_for(
        "gitlab",
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
    assert_eq!(schema_problems(&text), None, "{text}");
    let wf = parse(&text);
    let found = shellcheck(&wf);
    assert!(found.is_empty(), "shellcheck:\n{}", found.join("\n"));
    assert_eq!(
        wf["merge"]["cache"][0]["paths"][0].as_str(),
        Some(".test_durations")
    );
    // `shards = "matrix"` takes its count from `--shards N`, and asks for it without.
    project.write(
        "ci/plans/matrix.toml",
        &plan.replace("shards = \"4\"", "shards = \"matrix\""),
    );
    let three = generate_for(
        "gitlab",
        &project,
        &["ci/plans/matrix.toml", "--shards", "3"],
    );
    assert!(
        three.contains("SHARD: [\"1\", \"2\", \"3\"]") && three.contains("--shard \"$SHARD/3\""),
        "{three}"
    );
    project
        .test()
        .args(["ci", "gitlab", "ci/plans/matrix.toml", "--target", "."])
        .status(2)
        .stderr_contains("give `--shards N`, e.g. `--shards 4`")
        .run();
    commit_all(&project);
    let scratch = tempfile::tempdir().unwrap();
    let mut runner = runner(scratch.path());
    runner
        .env
        .push(("LEDGER_LATENCY_SCALE".into(), "0.1".into()));
    let runs = run(&runner, &wf, project.path(), PUSH);
    let jobs: Vec<(&str, Option<&String>)> = runs
        .iter()
        .map(|r| (r.job.as_str(), r.matrix.get("SHARD")))
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
        assert!(run.green, "{} {:?}\n{}", run.job, run.matrix, run.log);
    }
    for (i, run) in runs[..2].iter().enumerate() {
        assert!(run.log.contains("this job measures shard"), "{}", run.log);
        let junit = run.workspace.join(format!(
            "planrun-shards/py{python}-shard{}/junit.xml",
            i + 1
        ));
        assert!(junit.is_file(), "where the artifacts look: {junit:?}");
    }
    let merge = &runs[2];
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
