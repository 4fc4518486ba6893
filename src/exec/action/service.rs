//! The `service` action: a long-running process (a database server) started for the rest of
//! the apply, journaled so that rollback (or a later `planrun rollback`) stops it.

use std::path::PathBuf;

use super::{writes::record_caches, Action, Schedule, StepResult};
use crate::exec::context::StepContext;
use crate::exec::events::StepOutput;
use crate::exec::failure::{journal_failed, Failure, Journaled, StepError};
use crate::exec::outcome::Note;
use crate::exec::planned::StepPreview;
use crate::exec::services;
use crate::exec::steplog::{log_path, tail};
use crate::plan::compiled::Service;
use crate::process::{self, CommandSpec};
use crate::styled::Style;

impl Action for Service {
    /// A service starts beside other steps; the steps that need it wait for it to be ready.
    fn schedule(&self) -> Schedule {
        Schedule::default()
    }

    fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
        start(ctx, self)
    }

    fn preview(&self, p: &mut StepPreview<'_>) {
        let s = self;
        p.out.services += 1;
        p.planned.commands.extend(
            [Some(&s.command), s.ready.as_ref(), s.stop.as_ref()]
                .into_iter()
                .flatten()
                .cloned(),
        );
        p.line(|l| {
            l.plain(format!("    $ {}  ", s.command))
                .styled(Style::Dim, "(service: runs until the apply ends)");
        });
        if let Some(ready) = &s.ready {
            let tried = format!(
                "(tried every {}ms, up to {})",
                crate::process::service::READY_INTERVAL.as_millis(),
                humantime::format_duration(s.ready_timeout)
            );
            p.line(|l| {
                l.plain("    ")
                    .styled(Style::Dim, "ready when: $")
                    .plain(format!(" {ready}  "))
                    .styled(Style::Dim, tried);
            });
        }
        if let Some(stop) = &s.stop {
            p.line(|l| {
                l.plain("    ")
                    .styled(Style::Dim, "stopped by: $")
                    .plain(format!(" {stop}"));
            });
        }
        for (name, value) in &s.export {
            p.line(|l| {
                l.plain("    ")
                    .styled(Style::Dim, "gives the steps that need it:")
                    .plain(format!(" {name}={value}"));
            });
        }
    }

    /// A service's process is not in the journal's states.
    fn unswitchable(&self) -> Option<String> {
        Some(format!("step `{}` starts a service", self.id))
    }
}

/// The `service` action: journal how to stop it, make its directory, start it, and wait until
/// its `ready` command succeeds; then it joins the apply's running services.
fn start(ctx: &StepContext<'_>, s: &Service) -> StepResult {
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
