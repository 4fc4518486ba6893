//! What the plan layer knows of every action's compiled step, as one trait, and what compiling
//! a step reads of the rest of the plan. Each module under `action/` holds one action's compiled
//! type, its defaults and its compile from the written model; what the action does (run,
//! preview, scheduling) is its twin under `exec/action/`. Two halves because the plan layer
//! never imports the executor (the layout test forbids the module cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::locate::{Loc, Seg};

pub mod edit;
pub mod install;
pub mod mark;
pub mod run;
pub mod service;
pub mod suite;

/// What a step that runs processes gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    /// Longest time the step's commands may take together.
    pub timeout: Option<Duration>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

impl Process {
    /// The environment as `(name, value)` pairs.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// What compiling a step reads besides the step.
pub struct Compiling<'a> {
    /// The durations resolve parsed from `timeout`s (and services' `ready_timeout`), by step id.
    pub timeouts: &'a BTreeMap<String, Duration>,
    /// The durations resolve parsed from suites' `max_time`, by step id.
    pub max_times: &'a BTreeMap<String, Duration>,
    /// The records a gate compares by time with another record's.
    pub compared: &'a BTreeSet<String>,
    /// Where the step is in the plan file (`phase.N.step.M`).
    pub base: Vec<Seg>,
}

impl Compiling<'_> {
    /// The timeout and environment of a step that runs processes.
    pub fn process(&self, env: &BTreeMap<String, String>, id: &str) -> Process {
        Process {
            timeout: self.timeouts.get(id).copied(),
            env: env.clone(),
        }
    }

    /// The place of the step's value for `key`.
    pub fn place(&self, key: &str) -> Loc {
        let mut path = self.base.clone();
        path.push(Seg::from(key));
        Loc::value(path)
    }
}

/// What every compiled step tells the plan layer.
pub trait CompiledStep {
    /// The step id.
    fn id(&self) -> &str;

    /// The action name as written in the plan.
    fn action(&self) -> &'static str;

    /// Timeout and environment, for the actions that run processes.
    fn process(&self) -> Option<&Process> {
        None
    }

    /// The same, to add a service's exports to.
    fn process_mut(&mut self) -> Option<&mut Process> {
        None
    }

    /// The target-relative paths it names (confined to the target before anything runs).
    fn target_paths(&self) -> Vec<&str> {
        Vec::new()
    }

    /// What it gives the steps that need it in their environment (a service's `export`).
    fn exports(&self) -> Option<&BTreeMap<String, String>> {
        None
    }

    /// It edits the target's files: a suite that measures before it measures the baseline.
    fn edits_files(&self) -> bool {
        false
    }
}
