//! The `run` action: a shell command in the target, the files it may change journaled and its
//! undo command recorded before it starts.

use std::path::Path;

use super::{writes::record_caches, Action, Schedule, StepResult};
use crate::exec::context::StepContext;
use crate::exec::events::StepOutput;
use crate::exec::failure::{journal_failed, Failure, Journaled, StepError};
use crate::exec::planned::StepPreview;
use crate::exec::steplog::{log_path, tail};
use crate::plan::compiled::Run;
use crate::process::{self, CommandSpec};
use crate::styled::Style;

impl Action for Run {
    /// A command runs beside other steps: it is neither timed nor an edit of planrun's.
    fn schedule(&self) -> Schedule {
        Schedule::default()
    }

    fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
        let s = self;
        record_caches(ctx)?;
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

    fn preview(&self, p: &mut StepPreview<'_>) {
        p.out.commands += 1;
        p.line(|l| {
            l.plain(format!("    $ {}", self.command));
        });
        p.planned.commands.push(self.command.clone());
        if let Some(undo) = &self.undo {
            p.line(|l| {
                l.plain("    ")
                    .styled(Style::Dim, "undo on rollback: $")
                    .plain(format!(" {undo}"));
            });
            p.planned.undo = Some(undo.clone());
        }
        p.out.earlier_command = Some(self.id.clone());
    }

    fn uses_python(&self, python: &str) -> bool {
        self.command.contains(python)
    }

    /// Its effects are outside the journal's files when it has an undo command or names files
    /// it changes.
    fn unswitchable(&self) -> Option<String> {
        let id = &self.id;
        if self.undo.is_some() {
            Some(format!("step `{id}` is a `run` with an undo command"))
        } else if !self.changes.is_empty() {
            Some(format!(
                "step `{id}` is a `run` whose command's effects planrun cannot switch"
            ))
        } else {
            None
        }
    }
}
