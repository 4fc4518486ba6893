//! What every CI system's workflow for a plan is made of, whatever its syntax: the request (plan,
//! stages, Pythons, install, variables), the jobs (one per rollout stage chained in order, or
//! one), the apply's command line, and the script that turns a kept change into a patch.

/// What the workflow is written for.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The plan file, relative to the repository root, with `/` separators.
    pub plan_path: String,
    /// The plan's name.
    pub plan_name: String,
    /// The rollout stages (id, title), in order; empty for a plan without stages.
    pub stages: Vec<(String, Option<String>)>,
    /// The planrun version the workflow installs (`pipx install planrun==VERSION`).
    pub version: String,
    /// Where it installs planrun from instead (`--planrun-from`): a wheel's URL or path, a
    /// `git+` URL; checked by [`planrun_from`].
    pub from: Option<String>,
    /// The Python versions of the matrix.
    pub pythons: Vec<String>,
    /// How the project is installed.
    pub install: super::install::ProjectInstall,
    /// `--var` arguments to pass to every apply, already shell-quoted (`'runs=3'`).
    pub vars: Vec<String>,
    /// Whether a kept change may become a pull request (GitHub: a `workflow_dispatch` input).
    pub pull_request: bool,
    /// The command line that writes this workflow, for its header.
    pub command: String,
    /// The plan's sharded suites split over this many matrix jobs, joined by a `merge` job
    /// ([`super::github_shards`]); `None` without `shards`. GitHub only.
    pub shards: Option<u32>,
    /// The plan's sharded suites run their shards as processes on each job's runner
    /// (`--shards-on-runner`), said in the header. GitHub only.
    pub shards_on_runner: bool,
}

/// The header's line for `--shards-on-runner`, as a comment.
pub(super) const ON_RUNNER: &str =
    "# Each sharded suite runs its shards as processes on the job's runner (--shards-on-runner):\n\
     # no shard jobs to merge; the apply decides the gates itself.\n";

/// The shell command that installs planrun in a job: the pinned version from PyPI, or what
/// `--planrun-from` names (carried in `$PLANRUN_FROM`, so the YAML never holds it unquoted).
pub(super) fn install_planrun(spec: &Spec) -> &'static str {
    match spec.from {
        Some(_) => "pipx install \"$PLANRUN_FROM\"",
        None => "pipx install \"planrun==$PLANRUN_VERSION\"",
    }
}

/// The workflow's variable line for `--planrun-from` (indented by `indent`), or nothing.
pub(super) fn from_variable(spec: &Spec, indent: &str) -> String {
    match &spec.from {
        Some(from) => format!("{indent}PLANRUN_FROM: \"{from}\"\n"),
        None => String::new(),
    }
}

/// Checks `--planrun-from`: a pipx argument that goes into a double-quoted YAML string and a
/// double-quoted shell word, so nothing there may quote, escape, expand or start an option.
pub fn planrun_from(spec: &str) -> Result<String, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("`--planrun-from` is empty".into());
    }
    if spec.starts_with('-') {
        return Err(format!(
            "`--planrun-from {spec}` reads as an option of pipx"
        ));
    }
    if let Some(c) = spec
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\' | '$' | '`'))
    {
        return Err(format!(
            "`--planrun-from {spec}` holds {c:?}, which the workflow would have to quote"
        ));
    }
    Ok(spec.to_string())
}

/// One job: a stage, or the whole plan.
pub(super) struct Job<'a> {
    /// The job id.
    pub id: String,
    /// The stage, when the plan has stages.
    pub stage: Option<&'a str>,
    /// Its title.
    pub name: String,
    /// The previous job, whose history entries it reads first.
    pub needs: Option<String>,
    /// Whether it is the last job: the one whose kept change may become a pull request.
    pub last: bool,
}

/// A job id from a stage id: identifiers may hold `.`, which job ids may not.
pub fn job_id(stage: &str) -> String {
    let id: String = stage
        .chars()
        .map(|c| if c == '.' { '_' } else { c })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id
    } else {
        format!("stage-{id}")
    }
}

/// The jobs of the workflow: one per stage, each needing the one before, or one for a plan
/// without stages.
pub(super) fn jobs(spec: &Spec) -> Vec<Job<'_>> {
    if spec.stages.is_empty() {
        return vec![Job {
            id: "planrun".into(),
            stage: None,
            name: format!("planrun {}", spec.plan_name),
            needs: None,
            last: true,
        }];
    }
    spec.stages
        .iter()
        .enumerate()
        .map(|(i, (id, title))| Job {
            id: job_id(id),
            stage: Some(id),
            name: match title {
                Some(t) => format!("stage {id}: {t}"),
                None => format!("stage {id}"),
            },
            needs: i.checked_sub(1).map(|p| job_id(&spec.stages[p].0)),
            last: i + 1 == spec.stages.len(),
        })
        .collect()
}

/// `planrun apply ...` for `job`: the plan from `$PLAN`, the history from `$HISTORY`, reports
/// into `planrun-report/`, for a stage `$FORCE` (empty, or `--force`), and for a shard job its
/// `--shard` argument.
pub(super) fn apply_command(spec: &Spec, job: &Job, shard: Option<String>) -> String {
    let mut args = vec!["\"$PLAN\"".to_string(), "--target .".into()];
    if let Some(stage) = job.stage {
        args.push(format!("--stage {stage}"));
    }
    args.push("--ci".into());
    for var in &spec.vars {
        args.push(format!("--var {var}"));
    }
    if job.stage.is_some() {
        args.push("$FORCE".into());
    }
    args.extend(shard);
    args.push("--history \"$HISTORY\" --report-dir planrun-report".into());
    format!("planrun apply {}", args.join(" "))
}

/// The lines of bash that write `planrun.patch` (and `planrun-changed.txt`) from a kept apply:
/// the files planrun changed, as its report lists them, and nothing else of the runner's.
pub(super) const PATCH_SCRIPT: &str = r#"# The files planrun changed, as its report lists them; nothing else of the runner's.
python3 -c 'import json, sys; print("\n".join(d["path"] for d in json.load(open(sys.argv[1])).get("diff", [])))' planrun-report/report.json > planrun-changed.txt
mapfile -t changed < planrun-changed.txt
if [ "${#changed[@]}" -eq 0 ] || [ -z "${changed[0]}" ]; then
  echo "planrun changed no file"
  : > planrun.patch
  exit 0
fi
for f in "${changed[@]}"; do
  if [ -e "$f" ]; then git add --intent-to-add -- "$f"; fi
done
git diff --binary -- "${changed[@]}" > planrun.patch
git diff --stat -- "${changed[@]}"
"#;

/// The matrix's Python versions as a YAML flow sequence's items: `"3.11", "3.12"`.
pub(super) fn python_list(spec: &Spec) -> String {
    let quoted: Vec<String> = spec.pythons.iter().map(|p| format!("\"{p}\"")).collect();
    quoted.join(", ")
}

/// `text`'s lines, each after `indent`.
pub(super) fn indented(text: &str, indent: &str) -> String {
    text.lines().map(|l| format!("{indent}{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::planrun_from;

    #[test]
    fn planrun_from_takes_urls_and_paths_and_refuses_what_needs_quoting() {
        for ok in [
            "https://github.com/o/planrun/releases/download/v0.1.0/planrun-0.1.0-py3-none-manylinux_2_17_x86_64.whl",
            "git+https://github.com/o/planrun@v0.1.0",
            "dist/planrun-0.1.0-py3-none-any.whl",
        ] {
            assert_eq!(planrun_from(&format!(" {ok} ")).as_deref(), Ok(ok));
        }
        for (bad, says) in [
            ("", "is empty"),
            ("--index-url=x", "option of pipx"),
            ("planrun\"; rm -rf ~", "holds '\"'"),
            ("$HOME/planrun.whl", "holds '$'"),
            ("a`id`", "holds '`'"),
            ("a\\b", "holds '\\\\'"),
            ("a\nb", "holds '\\n'"),
        ] {
            let e = planrun_from(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }
}
