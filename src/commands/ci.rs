//! `planrun ci github PLAN` and `planrun ci gitlab PLAN`: write the CI workflow that applies a
//! plan in the repository it runs against, the project installed the way it documents and
//! planrun pinned to this version.

mod github;
mod github_shards;
mod gitlab;
mod gitlab_shards;
mod install;
mod workflow;

use std::path::Path;

use crate::cli::{CiArgs, CiSystem, WorkflowArgs};
use crate::error::{Error, Result};
use crate::exec::setup::Prepared;
use crate::{exit, fsutil, ui};

pub use github::render;
pub use gitlab::render as render_gitlab;
pub use install::{detect, quote, ProjectInstall, Tool};
pub use workflow::{job_id, Spec};

/// The Python version of a job matrix when neither `--python` nor `.python-version` says.
pub const DEFAULT_PYTHON: &str = "3.12";

/// Runs `planrun ci`.
pub fn run(args: &CiArgs) -> Result<u8> {
    match &args.system {
        CiSystem::Github(a) => write(
            &a.workflow,
            a.pull_request,
            Sharding {
                given: a.shards,
                on_runner: a.shards_on_runner,
            },
            a.output.as_deref(),
            GITHUB,
        ),
        CiSystem::Gitlab(a) => write(
            &a.workflow,
            false,
            Sharding {
                given: a.shards,
                on_runner: a.shards_on_runner,
            },
            a.output.as_deref(),
            GITLAB,
        ),
    }
}

/// How the workflow splits the plan's sharded suites, as the command line said.
#[derive(Debug, Clone, Copy, Default)]
struct Sharding {
    /// `--shards N`: the matrix's shard jobs.
    given: Option<u32>,
    /// `--shards-on-runner`: no matrix, each job runs the shards as processes.
    on_runner: bool,
}

/// A CI system: its subcommand, its renderer, and where its file goes.
struct System {
    name: &'static str,
    render: fn(&Spec) -> String,
    copy_to: &'static str,
}

const GITHUB: System = System {
    name: "github",
    render: github::render,
    copy_to: ".github/workflows/ of the repository",
};

const GITLAB: System = System {
    name: "gitlab",
    render: gitlab::render,
    copy_to: ".gitlab-ci.yml at the repository's root",
};

fn write(
    args: &WorkflowArgs,
    pull_request: bool,
    sharding: Sharding,
    output: Option<&Path>,
    system: System,
) -> Result<u8> {
    let overrides = super::validate::overrides(&args.vars)?;
    let target = args.target.canonicalize().map_err(|e| {
        Error::io(
            format!("failed to open the target `{}`", args.target.display()),
            e,
        )
    })?;
    let prep = Prepared::new(&args.plan, Some(&target), &overrides)?;
    let plan_path = plan_in_repository(&args.plan, &target)?;
    let install = install::detect(&target).map_err(|e| {
        Error::invalid(
            e.to_string(),
            Some("rename it, or write the install step of the workflow yourself"),
        )
    })?;
    let pythons = if args.pythons.is_empty() {
        vec![python_version(&target).unwrap_or_else(|| DEFAULT_PYTHON.to_string())]
    } else {
        args.pythons.clone()
    };
    for p in &pythons {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(Error::invalid(
                format!("`--python {p}` is not a Python version"),
                Some("give one as setup-python takes it: --python 3.12"),
            ));
        }
    }
    let vars = args
        .vars
        .iter()
        .map(|v| install::quote("--var", v))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(e.to_string(), None))?;
    let shards = shard_matrix(&prep, sharding)?;
    let from = (args.planrun_from.as_deref())
        .map(workflow::planrun_from)
        .transpose()
        .map_err(|e| {
            Error::invalid(
                e,
                Some("give a wheel's URL or path, or a `git+https://...@TAG` URL, with none of \" \\ $ `"),
            )
        })?;
    let spec = Spec {
        command: command_line(system.name, args, pull_request, sharding, &plan_path, &vars),
        plan_path,
        plan_name: prep.plan.name.clone(),
        stages: prep
            .plan
            .stages
            .iter()
            .map(|s| (s.id.clone(), s.title.clone()))
            .collect(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        from,
        pythons,
        install,
        vars,
        pull_request,
        shards,
        shards_on_runner: sharding.on_runner,
    };
    let text = (system.render)(&spec);
    match output {
        Some(path) => {
            fsutil::write_atomic(path, text.as_bytes(), None)
                .map_err(|e| Error::io(format!("failed to write `{}`", path.display()), e))?;
            ui::note(&format!(
                "wrote {} (jobs: {}); copy it to {}",
                path.display(),
                if spec.stages.is_empty() {
                    "planrun".to_string()
                } else {
                    spec.stages
                        .iter()
                        .map(|s| job_id(&s.0))
                        .collect::<Vec<_>>()
                        .join(" -> ")
                },
                system.copy_to
            ));
        }
        None => ui::out(text.trim_end()),
    }
    Ok(exit::OK)
}

/// How many shard jobs the workflow's matrix has: the plan's `shards = N`, or `--shards N` for
/// `shards = "matrix"`; `None` for a plan without sharded suites or with `--shards-on-runner`.
///
/// A plan with rollout stages gets no matrix: a stage is promoted on the history of its
/// applies, and a shard job defers its gates to `planrun report merge`, which writes no history
/// line, so the next stage would be promoted on lines that judged no gate.
fn shard_matrix(prep: &Prepared, sharding: Sharding) -> Result<Option<u32>> {
    use crate::measure::shard::{Shards, MAX_SHARDS};
    let asked: Vec<Shards> = prep.plan.suites().filter_map(|s| s.shards).collect();
    let flag = match (sharding.given, sharding.on_runner) {
        (_, true) => Some("--shards-on-runner"),
        (Some(_), false) => Some("--shards"),
        (None, false) => None,
    };
    if asked.is_empty() {
        return match flag {
            Some(flag) => Err(Error::invalid(
                format!("{flag}: no suite step of the plan has `shards`"),
                Some("add `shards = N` (or `shards = \"matrix\"` for a matrix) to the suite steps"),
            )),
            None => Ok(None),
        };
    }
    if sharding.on_runner {
        return match asked.contains(&Shards::Matrix) {
            true => Err(Error::invalid(
                "--shards-on-runner: a suite says `shards = \"matrix\"`, which splits only over a matrix (it runs whole without `--shard i/N`)",
                Some("give the suite `shards = N`: its N shards then run as processes on the job's runner"),
            )),
            false => Ok(None),
        };
    }
    if !prep.plan.stages.is_empty() {
        return Err(Error::invalid(
            "a plan with rollout stages cannot split its sharded suites over a matrix of jobs: a stage is promoted on the history of its applies, and a shard job defers its gates to `planrun report merge`, which writes no history, so the next stage would be promoted on runs that judged no gate",
            Some("add `--shards-on-runner` to run each suite's `shards = N` as N processes in the stage's job (its apply decides the gates), or drop the stages for a matrix of shard jobs and a merge"),
        ));
    }
    let mut count = sharding.given;
    for s in asked {
        if let Shards::Count(n) = s {
            match count {
                Some(c) if c != n => {
                    return Err(Error::invalid(
                        format!("the plan's suites ask for {n} shards, but the matrix would have {c}"),
                        Some("give every sharded suite the same `shards`, or `shards = \"matrix\"` and `--shards N`"),
                    ))
                }
                _ => count = Some(n),
            }
        }
    }
    match count {
        Some(n) if (1..=MAX_SHARDS).contains(&n) => Ok(Some(n)),
        Some(n) => Err(Error::invalid(
            format!("--shards {n}: a matrix of 1 to {MAX_SHARDS} shards"),
            None,
        )),
        None => Err(Error::invalid(
            "the plan's suites say `shards = \"matrix\"`: how many jobs should the matrix have?",
            Some("give `--shards N`, e.g. `--shards 4`"),
        )),
    }
}

/// The plan's path inside the repository, as the workflow names it.
fn plan_in_repository(plan: &Path, target: &Path) -> Result<String> {
    let abs = plan
        .canonicalize()
        .map_err(|e| Error::io(format!("failed to open the plan `{}`", plan.display()), e))?;
    let rel = abs.strip_prefix(target).map_err(|_| {
        Error::invalid(
            format!(
                "the plan `{}` is outside the repository `{}`: a workflow can only apply a plan the repository holds",
                plan.display(),
                target.display()
            ),
            Some("copy it into the repository (`planrun init NAME` writes a bundled plan to plans/NAME.toml), then name that copy"),
        )
    })?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let path = parts.join("/");
    install::quote("plan path", &path)
        .ok()
        .filter(|q| *q == path)
        .ok_or_else(|| {
            Error::invalid(
                format!(
                    "the plan path `{}` needs quoting in a workflow",
                    path.escape_debug()
                ),
                Some("rename it with letters, digits, `-`, `_`, `.` and `/`"),
            )
        })
}

/// The first line of the repository's `.python-version`, when it is a version.
fn python_version(target: &Path) -> Option<String> {
    let text = std::fs::read_to_string(target.join(".python-version")).ok()?;
    let v = text.lines().next()?.trim();
    let ok = !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| v.to_string())
}

/// How the header names the command: the plan as the repository sees it, the options given.
fn command_line(
    system: &str,
    args: &WorkflowArgs,
    pull_request: bool,
    sharding: Sharding,
    plan: &str,
    vars: &[String],
) -> String {
    let mut line = format!("planrun ci {system} {plan}");
    for p in &args.pythons {
        line.push_str(&format!(" --python {p}"));
    }
    for v in vars {
        line.push_str(&format!(" --var {v}"));
    }
    if pull_request {
        line.push_str(" --pull-request");
    }
    if let Some(n) = sharding.given {
        line.push_str(&format!(" --shards {n}"));
    }
    if sharding.on_runner {
        line.push_str(" --shards-on-runner");
    }
    if let Some(from) = &args.planrun_from {
        line.push_str(&format!(" --planrun-from {}", from.trim()));
    }
    line
}
