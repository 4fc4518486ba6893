//! What each action does for real: journal first, then change the world. A step is a function
//! of its context and its compiled step; it reports through its result and its events only.

use std::path::{Path, PathBuf};

use crate::envjournal::{self, Affected, EnvLayout};
use crate::exec::context::StepContext;
use crate::exec::edits::{self, FileChange};
use crate::exec::events::{Event, NewRecord, StepOutput};
use crate::exec::failure::{journal_failed, Failure, Journaled, StepError};
use crate::exec::gates;
use crate::exec::outcome::{Detail, Note};
use crate::exec::services;
use crate::exec::steplog::{log_path, suite_failed, tail};
use crate::measure::suite::{self, SuiteSpec};
use crate::plan::compiled::{Install, Run, Runs, Service, Step, Suite};
use crate::plan::model::{Framework, Installer};
use crate::process::{self, CommandSpec};
use crate::pyenv::{self, PythonEnv};

type StepResult = Result<StepOutput, StepError>;

/// Runs one step.
pub fn execute(ctx: &StepContext<'_>, step: &Step) -> StepResult {
    let mut done = match step {
        Step::Run(s) => run_command(ctx, s)?,
        Step::Install(s) => install(ctx, s)?,
        Step::Suite(s) => run_suite(ctx, s)?,
        Step::Service(s) => start_service(ctx, s)?,
        Step::Mark(s) if !ctx.records.contains_key(&s.from) => {
            return Err(Failure::Unmeasured {
                step: s.id.clone(),
                record: s.from.clone(),
            }
            .into())
        }
        _ => StepOutput {
            unchanged: true,
            ..StepOutput::default()
        },
    };
    if !matches!(step, Step::Run(_) | Step::Suite(_) | Step::Service(_)) {
        let mut changed = apply_edits(ctx, step)?;
        if let Step::Install(s) = step {
            let relocked = crate::exec::relock::relock(ctx, s, &changed)?;
            changed.extend(relocked.changed);
            if let Some(Note::Install { relock, .. }) = done.note.as_mut() {
                relock.extend(relocked.notes);
            }
        }
        done.unchanged = changed.is_empty() && !matches!(step, Step::Install(_));
        done.changed.extend(changed);
    }
    Ok(done)
}

/// Computes a step's file changes against the disk and writes them, journaling each file first.
fn apply_edits(ctx: &StepContext<'_>, step: &Step) -> Result<Vec<String>, StepError> {
    let prep = ctx.prep;
    let read = |rel: &str| prep.read(rel);
    let changes = edits::compute(
        step,
        &read,
        &prep.plan_dir,
        &|t| prep.expand(t),
        ctx.records,
        &|| prep.pytest_rules().0,
    )
    .map_err(Failure::Edit)?;
    let mut changed = Vec::new();
    for change in changes {
        if change.is_noop() {
            continue;
        }
        write_change(ctx, &change)?;
        changed.push(change.rel);
    }
    Ok(changed)
}

fn write_change(ctx: &StepContext<'_>, change: &FileChange) -> Result<(), StepError> {
    // The journal confines the path, records its before-image (and any parent directory the
    // write creates) and what is about to be written, before anything on disk changes.
    ctx.journal
        .write_file(Path::new(&change.rel), change.new.as_bytes(), change.mode)
        .map(drop)
        .map_err(|e| {
            Failure::Write {
                path: change.rel.clone(),
                source: Box::new(e),
            }
            .into()
        })
}

fn run_command(ctx: &StepContext<'_>, s: &Run) -> StepResult {
    record_caches(ctx)?;
    {
        let journal = &ctx.journal;
        for rel in &s.changes {
            journal
                .record_file(Path::new(rel))
                .map_err(|e| journal_failed(Journaled::File(rel.clone()), e))?;
        }
        if let Some(undo) = &s.undo {
            journal
                .record_undo(&s.id, undo, &s.process.env, &ctx.prep.target)
                .map_err(|e| journal_failed(Journaled::Undo, e))?;
        }
    }
    let (log, rel) = log_path(ctx, &s.id)?;
    let spec = CommandSpec {
        command: s.command.clone(),
        cwd: ctx.prep.target.clone(),
        env: s.process.env_pairs(),
        timeout: s.process.timeout,
        log: log.clone(),
        grace: process::DEFAULT_GRACE,
        log_max: crate::process::caplog::max_from_env(),
    };
    let outcome = process::run(&spec, ctx.control, false).map_err(|source| {
        let command = s.command.clone();
        StepError::logged(Failure::Start { command, source }, rel.clone())
    })?;
    if outcome.status.success() {
        return Ok(StepOutput {
            log: Some(rel),
            ..StepOutput::default()
        });
    }
    let failure = Failure::Command {
        command: s.command.clone(),
        status: outcome.status,
        tail: tail(&log),
    };
    Err(StepError::logged(failure, rel))
}

fn install(ctx: &StepContext<'_>, s: &Install) -> StepResult {
    let prep = ctx.prep;
    let python_text = s.python.as_str();
    let python = prep
        .resolve_python(python_text)
        .ok_or_else(|| Failure::PythonOutside {
            python: python_text.to_string(),
        })?;
    let base = Path::new(&s.base_python);
    let mut created_venv = None;
    let created = envjournal::guard::must_create(&python).map_err(Failure::Refused)?;
    if created {
        let venv = python
            .parent()
            .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
            .and_then(Path::parent)
            .filter(|dir| dir.starts_with(&prep.target))
            .ok_or_else(|| Failure::NoVenvFor {
                python: python_text.to_string(),
            })?;
        let rel = venv.strip_prefix(&prep.target).unwrap_or(venv);
        let uv = installer_uv(ctx, s, venv, base)?;
        ctx.journal
            .record_env(
                &PythonEnv::for_venv(venv, uv.clone()),
                true,
                &Affected::default(),
            )
            .map_err(|e| journal_failed(Journaled::Venv, e))?;
        pyenv::create_venv(venv, base, uv.as_deref(), ctx.control).map_err(|source| {
            Failure::CreateVenv {
                venv: rel.display().to_string(),
                source,
            }
        })?;
        created_venv = Some(rel.display().to_string());
    }
    let mut env = PythonEnv::locate(&python).map_err(Failure::Environment)?;
    if !created {
        let pairs = s.process.env_pairs();
        envjournal::guard::check_interpreter(&env.python, env.venv.as_deref(), &pairs, ctx.control)
            .map_err(Failure::Refused)?;
    }
    let prefer = match s.installer {
        Installer::Auto => pyenv::Prefer::Auto,
        Installer::Uv => pyenv::Prefer::Uv,
        Installer::Pip => pyenv::Prefer::Pip,
    };
    let installer =
        pyenv::find_installer(&env.python, env.venv.as_deref(), prefer, base, ctx.control)
            .map_err(Failure::Environment)?;
    env.uv = match installer.uv() {
        Some(uv) => Some(
            crate::exec::uvpin::for_target(prep, uv.to_path_buf(), base, ctx.control)
                .map_err(Failure::UvPin)?,
        ),
        None => None,
    };
    let tool = if env.uv.is_some() { "uv" } else { "pip" };
    let packages = s.packages.join(" ");
    let note = |changed: bool| Note::Install {
        created: created_venv.clone(),
        packages: s.packages.clone(),
        tool,
        changed,
        relock: Vec::new(),
    };
    // A venv made just now is deleted whole on rollback, but what the install changes in it is
    // saved all the same: with it, the install can be switched across for interleaved pairs.
    let affected = {
        let layout = EnvLayout::locate(&env.python, env.venv.as_deref())
            .map_err(Failure::InspectEnvironment)?;
        let installed = envjournal::distinfo::installed(&layout.site_packages);
        let intent = ctx
            .journal
            .run_dir()
            .join(envjournal::affected::LOCK_INTENT);
        let affected =
            envjournal::predict(&env, &s.packages, &installed, ctx.control, Some(&intent))
                .map_err(|source| Failure::PlanInstall {
                    packages: packages.clone(),
                    source,
                })?;
        ctx.journal
            .record_env(&env, false, &affected)
            .map_err(|e| journal_failed(Journaled::Environment, e))?;
        Some(affected)
    };
    if affected.as_ref().is_some_and(Affected::is_empty) {
        return Ok(StepOutput {
            unchanged: true,
            note: Some(note(false)),
            ..StepOutput::default()
        });
    }
    let (log, rel) = log_path(ctx, &s.id)?;
    let options = pyenv::InstallOptions {
        timeout: s.process.timeout,
        log: Some(log),
        env: s.process.env_pairs(),
    };
    env.install_with(&s.packages, ctx.control, &options)
        .map_err(|source| {
            let packages = packages.clone();
            StepError::logged(Failure::Install { packages, source }, rel.clone())
        })?;
    ctx.journal
        .seal_env(&env)
        .map_err(|e| journal_failed(Journaled::Environment, e))?;
    Ok(StepOutput {
        log: Some(rel),
        note: Some(note(true)),
        ..StepOutput::default()
    })
}

/// The uv that creates a venv: none when the step asks for pip (the same search as
/// [`pyenv::find_installer`]), and one the project's pin allows when it pins uv.
fn installer_uv(
    ctx: &StepContext<'_>,
    s: &Install,
    venv: &Path,
    base: &Path,
) -> Result<Option<PathBuf>, StepError> {
    let found = match s.installer {
        Installer::Pip => None,
        Installer::Auto | Installer::Uv => {
            pyenv::find_or_provision_uv(Some(venv), base, ctx.control)
        }
    };
    found
        .map(|uv| crate::exec::uvpin::for_target(ctx.prep, uv, base, ctx.control))
        .transpose()
        .map_err(|e| Failure::UvPin(e).into())
}

/// The `service` action: journal how to stop it, make its directory, start it, and wait until
/// its `ready` command succeeds; then it joins the apply's running services.
fn start_service(ctx: &StepContext<'_>, s: &Service) -> StepResult {
    let prep = ctx.prep;
    record_caches(ctx)?;
    let dir = services::dir_to_make(&prep.vars, &prep.picked_vars, &s.id);
    ctx.journal
        .record_service(
            &s.id,
            s.stop.as_deref(),
            &s.process.env,
            &prep.target,
            dir.as_deref(),
        )
        .map_err(|e| journal_failed(Journaled::Service, e))?;
    if let Some(dir) = &dir {
        services::make_dir(dir).map_err(|source| Failure::ServiceDir {
            dir: dir.clone(),
            source,
        })?;
    }
    let (log, rel) = log_path(ctx, &s.id)?;
    let command = |text: &str, log: PathBuf| CommandSpec {
        command: text.to_string(),
        cwd: prep.target.clone(),
        env: s.process.env_pairs(),
        timeout: None,
        log,
        grace: services::GRACE,
        log_max: process::caplog::max_from_env(),
    };
    let spec = command(&s.command, log.clone());
    let probe = match &s.ready {
        Some(ready) => Some(command(ready, log_path(ctx, &format!("{}-ready", s.id))?.0)),
        None => None,
    };
    let stop = match &s.stop {
        Some(stop) => Some(command(stop, log_path(ctx, &format!("{}-stop", s.id))?.0)),
        None => None,
    };
    let mut service = process::Service::start(&spec, &s.id, ctx.control).map_err(|e| {
        if let Some(dir) = &dir {
            let _ = services::remove_dir(dir);
        }
        let command = s.command.clone();
        StepError::logged(Failure::Start { command, source: e }, rel.clone())
    })?;
    match service.wait_ready(probe.as_ref(), s.ready_timeout, ctx.control) {
        Ok(took) => {
            let port = prep
                .vars
                .get(&crate::plan::service_vars::ServiceVars::new(&s.id).port)
                .cloned();
            let exports = s.export.keys().cloned().collect();
            ctx.services.add(&s.id, service, stop, dir);
            Ok(StepOutput {
                log: Some(rel.clone()),
                note: Some(Note::ServiceReady {
                    took,
                    port,
                    exports,
                }),
                ..StepOutput::default()
            })
        }
        Err(why) => {
            let stopped = service.stop(stop.as_ref(), &ctx.control.cancel, &ctx.control.groups);
            if let Some(dir) = &dir {
                let _ = services::remove_dir(dir);
            }
            tracing::info!(service = %s.id, ?stopped, "service stopped: not ready");
            let failure = Failure::NotReady {
                id: s.id.clone(),
                why,
                tail: tail(&log),
            };
            Err(StepError::logged(failure, rel.clone()))
        }
    }
}

/// Notes the caches under the target and in the plan's environment, and the target's tree,
/// before the first command, so rollback removes new caches and moves out what the run made.
fn record_caches(ctx: &StepContext<'_>) -> Result<(), StepError> {
    let python = ctx.prep.resolve_python(&ctx.prep.env.python);
    ctx.journal
        .record_caches(python.as_deref())
        .map_err(|e| journal_failed(Journaled::Caches, e))
}

fn run_suite(ctx: &StepContext<'_>, s: &Suite) -> StepResult {
    let prep = ctx.prep;
    record_caches(ctx)?;
    if s.baseline {
        if let Some(source) = &ctx.opts.baseline {
            let record =
                crate::exec::baseline::load(&prep.target, source).map_err(Failure::Baseline)?;
            let record = crate::exec::red::settle(ctx, s, record)?;
            return Ok(StepOutput {
                note: Some(Note::FromBaseline {
                    record: s.record.clone(),
                    source: source.clone(),
                }),
                record: Some(NewRecord {
                    name: s.record.clone(),
                    record: Box::new(record),
                    source: Some(source.clone()),
                }),
                ..StepOutput::default()
            });
        }
    }
    // The apply holds the target's lock, so junit directories of other runs are leftovers.
    if let Some(runs_dir) = ctx.run_dir.parent() {
        for gone in suite::clean_stale_junit(runs_dir, ctx.run_dir) {
            tracing::debug!("removed stale `{}`", gone.display());
        }
    }
    let spec = suite_spec(ctx, s)?;
    let id = s.id.clone();
    // A suite compared with an earlier record expects its runs to take about as long.
    let typical = ctx
        .partner
        .map(|p| p.measured.wall.median)
        .filter(|m| m.is_finite() && *m > 0.0)
        .map(std::time::Duration::from_secs_f64);
    let min_runs = spec.runs;
    let mut on_progress = |p: suite::Progress| {
        ctx.emit.emit(Event::StepDetail {
            id: id.clone(),
            detail: Detail::Run {
                warmup: p.warmup,
                index: p.index,
                of: p.of,
                expected: if p.warmup { p.of } else { min_runs.min(p.of) },
                took: p.finished,
                typical,
                live: p.live,
            },
        });
    };
    // An adaptive suite stops once every gate it can already be judged by is conclusive.
    let plan = &ctx.prep.plan;
    let mut enough = |so_far: &crate::measure::record::Record| {
        gates::settled(plan, &s.record, so_far, ctx.records)
    };
    // A suite compared with a record measured before the changes since is measured in pairs
    // with it, the target switched between the two states, when the changes allow.
    use crate::exec::interleave::{measure, Measured};
    let measured = ctx
        .partner
        .map(|p| measure(ctx, s, &spec, p, &suite_spec(ctx, &p.step)?))
        .transpose()?;
    let (record, partner) = match measured {
        Some(Measured::Interleaved(record, partner)) => (*record, Some(partner)),
        other => {
            let mut record =
                suite::run_suite_until(&spec, ctx.control, &mut on_progress, &mut enough)
                    .map_err(|e| suite_failed(ctx, e))?;
            if let Some(Measured::Sequential(comparison)) = other {
                record.comparison = Some(comparison);
            }
            (record, None)
        }
    };
    let record = crate::exec::red::settle(ctx, s, record)?;
    finish_suite(ctx, s, record, partner)
}

/// The suite spec of step `s` in this apply.
pub fn suite_spec(ctx: &StepContext<'_>, s: &Suite) -> Result<SuiteSpec, StepError> {
    let prep = ctx.prep;
    // Each run logs to its own `<record>-<run>.log` in the logs directory; the step's log is
    // the run that failed, or else the last one.
    let (log, _) = log_path(ctx, &s.id)?;
    Ok(SuiteSpec {
        command: s.command.clone(),
        cwd: prep.target.clone(),
        env: s.process.env_pairs(),
        warmup: s.warmup,
        warmup_collect: s.warmup_collect,
        runs: s.runs.min(),
        max_runs: match s.runs {
            Runs::Auto { max, .. } => Some(max.get()),
            Runs::Fixed(_) => None,
        },
        max_time: match s.runs {
            Runs::Auto { max_time, .. } => max_time,
            Runs::Fixed(_) => None,
        },
        framework: s.framework,
        timeout: s.process.timeout,
        auto_timeout: s.auto_timeout.then(|| {
            suite::AutoTimeout::new(
                ctx.records
                    .values()
                    .flat_map(|r| r.samples.iter().filter(|x| !x.warmup && x.status.success()))
                    .map(|x| x.wall)
                    .reduce(f64::max),
            )
        }),
        log_dir: log.parent().map(Path::to_path_buf).unwrap_or_default(),
        junit_dir: crate::journal::paths::junit_dir(ctx.run_dir),
        record: s.record.clone(),
        budgets: s.budgets.clone(),
        coverage: s.coverage.clone(),
        shards: s.shards.and_then(|n| {
            crate::measure::shard::spec_for(n, ctx.opts.shard, &prep.target, ctx.records.values())
        }),
    })
}

/// A suite step's output from its record (and its partner's, grown by interleaved runs).
fn finish_suite(
    ctx: &StepContext<'_>,
    s: &Suite,
    record: crate::measure::record::Record,
    partner: Option<NewRecord>,
) -> StepResult {
    let prep = ctx.prep;
    let rel = record.samples.last().map(|r| ctx.target_rel(&r.log));
    let warnings = record.warnings.clone();
    let pytest = s.framework == Framework::Pytest;
    let note = Note::Suite {
        median: record.wall.median,
        stddev: pytest.then(|| record.wall.stddev.unwrap_or(0.0)),
        tests: pytest.then_some((record.passed, record.failed)),
        over_budget: (!s.budgets.is_empty()).then_some(record.over_budget.len()),
        coverage: record.coverage.as_ref().map(|c| c.percent),
    };
    // A baseline that grew by interleaved runs is saved again with them.
    let grown = partner
        .as_ref()
        .filter(|_| ctx.partner.is_some_and(|p| p.step.baseline))
        .map(|p| p.record.as_ref());
    let saved = if s.baseline { Some(&record) } else { grown };
    if let (Some(saved), Some(name)) = (saved, &ctx.opts.save_baseline) {
        crate::exec::baseline::save(&prep.target, name, saved, &prep.secrets).map_err(
            |source| Failure::SaveBaseline {
                name: name.clone(),
                source,
            },
        )?;
    }
    Ok(StepOutput {
        log: rel,
        note: Some(note),
        warnings,
        record: Some(NewRecord {
            name: s.record.clone(),
            record: Box::new(record),
            source: None,
        }),
        partner,
        ..StepOutput::default()
    })
}
