//! The compiled `service` step: the command that runs until the apply ends, how it is known
//! ready and stopped, and what it exports to the steps that need it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{CompiledStep, Compiling, Process, Written};
use crate::plan::fields::{map, one, opt, Visit};
use crate::plan::model::{ServiceStep, DEFAULT_READY_TIMEOUT};

impl Written for ServiceStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "command", &mut self.command);
        opt(f, "ready", &mut self.ready);
        opt(f, "ready_timeout", &mut self.ready_timeout);
        opt(f, "stop", &mut self.stop);
        map(f, "export", &mut self.export);
        map(f, "env", &mut self.env);
    }
}

/// A `service` step.
#[derive(Debug, Clone)]
pub struct Service {
    /// The step id.
    pub id: String,
    /// The command, run with `sh -c` in the target until the apply ends.
    pub command: String,
    /// The command polled until the service is ready.
    pub ready: Option<String>,
    /// How long `ready` may take to succeed.
    pub ready_timeout: Duration,
    /// The command that stops it cleanly.
    pub stop: Option<String>,
    /// What the steps that need it get in their environment (already merged into theirs).
    pub export: BTreeMap<String, String>,
    /// The environment of its own commands (no timeout: it runs until stopped).
    pub process: Process,
}

/// Compiles a written `service` step: its `ready_timeout` is the duration resolve parsed.
pub fn compile(s: &ServiceStep, c: &Compiling<'_>) -> Service {
    Service {
        id: s.id.clone(),
        command: s.command.clone(),
        ready: s.ready.clone(),
        ready_timeout: c
            .timeouts
            .get(&s.id)
            .copied()
            .unwrap_or(DEFAULT_READY_TIMEOUT),
        stop: s.stop.clone(),
        export: s.export.clone(),
        // No timeout: it runs until stopped.
        process: Process {
            timeout: None,
            env: s.env.clone(),
        },
    }
}

impl CompiledStep for Service {
    fn exports(&self) -> Option<&BTreeMap<String, String>> {
        Some(&self.export)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn action(&self) -> &'static str {
        "service"
    }

    fn process(&self) -> Option<&Process> {
        Some(&self.process)
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        Some(&mut self.process)
    }
}
