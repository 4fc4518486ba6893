//! The compiled `run` step: a shell command, its undo command and the files it may change.

use super::{CompiledStep, Compiling, Process, Written};
use crate::plan::fields::{list, one, opt, Visit};
use crate::plan::locate::{at, Seg};
use crate::plan::model::RunStep;

impl Written for RunStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "command", &mut self.command);
        opt(f, "undo", &mut self.undo);
        list(f, "changes", &mut self.changes);
    }

    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        (self.changes.iter().enumerate())
            .map(|(n, c)| (at!["changes", n], c.as_str()))
            .collect()
    }
}

/// A `run` step.
#[derive(Debug, Clone)]
pub struct Run {
    /// The step id.
    pub id: String,
    /// The command, run with `sh -c` in the target.
    pub command: String,
    /// The command that undoes it on rollback.
    pub undo: Option<String>,
    /// Target-relative files it may change.
    pub changes: Vec<String>,
    /// Timeout and environment.
    pub process: Process,
}

/// Compiles a written `run` step.
pub fn compile(s: &RunStep, c: &Compiling<'_>) -> Run {
    Run {
        id: s.id.clone(),
        command: s.command.clone(),
        undo: s.undo.clone(),
        changes: s.changes.clone(),
        process: c.process(&s.env, &s.id),
    }
}

impl CompiledStep for Run {
    fn id(&self) -> &str {
        &self.id
    }

    fn action(&self) -> &'static str {
        "run"
    }

    fn process(&self) -> Option<&Process> {
        Some(&self.process)
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        Some(&mut self.process)
    }

    fn target_paths(&self) -> Vec<&str> {
        self.changes.iter().map(String::as_str).collect()
    }
}
