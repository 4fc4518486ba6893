//! The GitLab CI pipeline for a plan (`.gitlab-ci.yml`), as text: a job per rollout stage (one
//! job for a plan without stages) over a `parallel: matrix:` of Python images, each installing
//! the project as it documents it, installing a pinned planrun with pipx, applying with the
//! history GitLab's cache carries, and keeping the reports (JUnit among them) and, for a kept
//! change, its patch as artifacts. A refused promotion (exit 9) is an allowed failure: a
//! warning, not a red pipeline. Pure: values in, YAML out.

use std::fmt::Write as _;

use super::gitlab_shards as shards;
use super::install::Tool;
use super::workflow::{
    apply_command, indented, jobs, python_list, Job, Spec, ON_RUNNER, PATCH_SCRIPT,
};
use crate::exit::NOT_PROMOTED;

/// The pipeline's text.
pub fn render(spec: &Spec) -> String {
    let jobs = jobs(spec);
    let mut out = header(spec, &jobs);
    for job in &jobs {
        out.push('\n');
        out.push_str(&job_text(spec, job));
    }
    if let (Some(n), Some(last)) = (spec.shards, jobs.last()) {
        out.push_str(&shards::merge_job(
            n,
            &last.id,
            &python_list(spec),
            super::workflow::install_planrun(spec),
        ));
    }
    out
}

fn header(spec: &Spec, jobs: &[Job]) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# Written by `{}` (planrun {}); copy it to .gitlab-ci.yml.",
        spec.command, spec.version
    );
    let _ = writeln!(
        h,
        "# Write it again rather than editing it. A run that keeps the plan's change keeps it as a\n\
         # patch (artifact planrun.patch); a stage that is not promoted yet is an allowed failure (a\n\
         # warning: planrun's exit {NOT_PROMOTED}), not a red pipeline. A failed gate rolls the change back and\n\
         # fails the job. planrun signs each history line with its key: set PLANRUN_KEY (64 hex\n\
         # digits, `openssl rand -hex 32`) as a masked CI/CD variable of the project; without it\n\
         # the lines are not signed and promote nothing."
    );
    if spec.shards_on_runner {
        h.push_str(ON_RUNNER);
    }
    h.push_str(
        "\nworkflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n    - if: $CI_PIPELINE_SOURCE == \"web\"\n",
    );
    h.push_str("\nstages:\n");
    for job in jobs {
        let _ = writeln!(h, "  - {}", job.id);
    }
    if spec.shards.is_some() {
        h.push_str("  - merge\n");
    }
    h.push_str("\nvariables:\n");
    let _ = writeln!(h, "  PLAN: {}", spec.plan_path);
    let _ = writeln!(h, "  PLANRUN_VERSION: \"{}\"", spec.version);
    h.push_str(&super::workflow::from_variable(spec, "  "));
    h.push_str("  HISTORY: .planrun-history/history.jsonl\n");
    if !spec.stages.is_empty() {
        h.push_str(
            "  FORCE:\n    value: \"\"\n    options: [\"\", \"--force\"]\n    description: \"--force: enter the stages even where promotion does not hold (recorded as forced)\"\n",
        );
    }
    h
}

fn job_text(spec: &Spec, job: &Job) -> String {
    let mut j = String::new();
    let _ = writeln!(j, "# {}", job.name);
    let _ = writeln!(j, "{}:", job.id);
    let _ = writeln!(j, "  stage: {}", job.id);
    j.push_str("  image: python:$PYTHON\n");
    match &job.needs {
        // For the order only: GitLab would download the previous stage's report and patch,
        // and this job's artifacts would carry that patch on as its own.
        Some(needs) => {
            let _ = writeln!(j, "  needs:\n    - job: {needs}\n      artifacts: false");
        }
        None => j.push_str("  needs: []\n"),
    }
    let pythons = python_list(spec);
    let _ = writeln!(j, "  parallel:\n    matrix:\n      - PYTHON: [{pythons}]");
    // A shard job's history and its place in the queue are its own: the shards run at once.
    let shard = if let Some(n) = spec.shards {
        j.push_str(&shards::axis(n));
        "-shard$SHARD"
    } else {
        ""
    };
    let _ = writeln!(
        j,
        "  # One apply at a time per branch and Python: the history is appended in order.\n  resource_group: planrun-$CI_COMMIT_REF_SLUG-py$PYTHON{shard}"
    );
    match spec.install.tool {
        Tool::Uv => j.push_str("  variables:\n    UV_PYTHON: $PYTHON\n"),
        Tool::Poetry => {
            j.push_str("  variables:\n    POETRY_VIRTUALENVS_PREFER_ACTIVE_PYTHON: \"true\"\n")
        }
        Tool::Pip => {}
    }
    j.push_str(
        "  # GitLab writes a cache key again on every upload, so a retried job saves its history; a\n\
         \x20 # branch's first pipeline starts from the default branch's.\n",
    );
    let history = format!(
        "key: planrun-history-$CI_COMMIT_REF_SLUG-py$PYTHON{shard}\n\
         fallback_keys:\n\
         \x20 - planrun-history-$CI_DEFAULT_BRANCH-py$PYTHON{shard}\n\
         paths:\n\
         \x20 - .planrun-history/\n\
         when: always\n"
    );
    match spec.shards {
        // The shard jobs also read the durations the last merge cached, to balance alike.
        Some(_) => {
            j.push_str("  cache:\n");
            j.push_str(&indented(&history, "    ").replacen("    key:", "  - key:", 1));
            j.push_str(&shards::durations_cache("pull"));
        }
        None => {
            j.push_str("  cache:\n");
            j.push_str(&indented(&history, "    "));
        }
    }
    if job.stage.is_some() {
        let _ = writeln!(
            j,
            "  # Not promoted yet (exit {NOT_PROMOTED}): nothing ran, nothing failed.\n  allow_failure:\n    exit_codes: [{NOT_PROMOTED}]"
        );
    }
    j.push_str("  before_script:\n");
    block(
        &mut j,
        "# pipx, for planrun (and Poetry): the python image has pip only.\n\
         command -v pipx >/dev/null || python -m pip install --quiet pipx\n\
         export PATH=\"$HOME/.local/bin:$PATH\"\n",
    );
    j.push_str("  script:\n");
    let mut install = format!(
        "# Install the project and its test dependencies: {}\n",
        spec.install.why
    );
    match spec.install.tool {
        Tool::Uv => install.push_str("command -v uv >/dev/null || pipx install uv\n"),
        Tool::Poetry => install.push_str("pipx install poetry\n"),
        Tool::Pip => {}
    }
    for line in &spec.install.commands {
        let _ = writeln!(install, "{line}");
    }
    block(&mut j, &install);
    block(
        &mut j,
        &format!("{}\n", super::workflow::install_planrun(spec)),
    );
    let lint = if job.stage.is_some() {
        "# shellcheck disable=SC2086 # FORCE is empty or one word\n"
    } else {
        ""
    };
    let keep = spec
        .shards
        .map(|_| shards::keep_report())
        .unwrap_or_default();
    block(
        &mut j,
        &format!(
            "mkdir -p .planrun-history\ncode=0\n{lint}{} || code=$?\n{keep}if [ \"$code\" -ne 0 ]; then exit \"$code\"; fi\n",
            apply_command(spec, job, spec.shards.map(shards::arg))
        ),
    );
    // A shard job decides nothing and makes no patch: the merge decides.
    let (reports, patch) = match spec.shards {
        Some(_) => (format!("{}/", shards::REPORTS), ""),
        None => {
            block(&mut j, PATCH_SCRIPT);
            ("planrun-report/".to_string(), "      - planrun.patch\n")
        }
    };
    let _ = write!(
        j,
        "  artifacts:\n\
         \x20   name: planrun-$CI_JOB_NAME_SLUG\n\
         \x20   when: always\n\
         \x20   expire_in: 30 days\n\
         \x20   paths:\n\
         \x20     - {reports}\n\
         {patch}\
         \x20   reports:\n\
         \x20     junit: {}\n",
        match spec.shards {
            Some(_) => format!("{}/*/junit.xml", shards::REPORTS),
            None => "planrun-report/junit.xml".to_string(),
        }
    );
    j
}

/// One entry of a script list, as a literal block: whatever the shell text holds, YAML reads it
/// back unchanged.
fn block(j: &mut String, text: &str) {
    j.push_str("    - |\n");
    j.push_str(&indented(text, "      "));
}
