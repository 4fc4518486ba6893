//! What the plan layer knows of every action's compiled step, as one trait, and what compiling
//! a step reads of the rest of the plan. Each module under `action/` holds one action's compiled
//! type, its defaults and its compile from the written model; what the action does (run,
//! preview, scheduling) is its twin under `exec/action/`. Two halves because the plan layer
//! never imports the executor (the layout test forbids the module cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::fields::Visit;
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

/// What the plan layer reads of a written step before it is compiled, by its action.
pub trait Written {
    /// Calls `f` on each of its own interpolated strings with its place under the step
    /// (`timeout` and `env`, which every action that runs processes has, are read apart).
    fn strings(&mut self, f: &mut Visit<'_>);

    /// The target-relative paths it names, each with its place under the step, confined to
    /// the target by validation.
    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        Vec::new()
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

/// One step of every action, as a plan writes it; tests of what each action answers read it.
#[cfg(test)]
pub(crate) const EVERY_ACTION: &str = "name='x'\ndescription='d'\n[[phase]]\nid='p'\n\
        [[phase.step]]\nid='r'\naction='run'\ncommand='true'\nchanges=['out.txt']\n\
        [[phase.step]]\nid='i'\naction='install'\npackages=['x']\nrecord_in='requirements-dev.txt'\n\
        [[phase.step]]\nid='w'\naction='write'\ntemplate='t'\npath='w.txt'\n\
        [[phase.step]]\nid='re'\naction='replace'\npath='r.txt'\npattern='a'\nreplacement='b'\n\
        [[phase.step]]\nid='in'\naction='ini'\npath='setup.cfg'\nsection='tool:pytest'\n\
        [[phase.step]]\nid='to'\naction='toml'\npath='pyproject.toml'\ntable='tool.x'\n\
        [[phase.step]]\nid='pc'\naction='pytest-config'\naddopts_add=['-q']\n\
        [[phase.step]]\nid='s'\naction='suite'\ncommand='pytest'\nrecord='base'\n\
        [[phase.step]]\nid='m'\naction='mark'\nfrom='base'\nneeds=['s']\n\
        [[phase.step]]\nid='db'\naction='service'\ncommand='serve'\nexport={URL='x'}\n";

/// [`EVERY_ACTION`] compiled.
#[cfg(test)]
pub(crate) fn every_action() -> crate::plan::compiled::Plan {
    let plan: crate::plan::model::Plan = toml::from_str(EVERY_ACTION).unwrap();
    let known = crate::plan::compiled::Known {
        graph: crate::graph::PlanGraph::build(&plan).unwrap(),
        gates: Vec::new(),
    };
    crate::plan::compiled::compile(&plan, &BTreeMap::new(), &BTreeMap::new(), known).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model;

    /// The name each compiled step gives its action is the one the plan language reads (the
    /// serde tag of the written step), for every action; and what the plan layer asks of each
    /// (its paths, whether it edits files, its process) comes from its own module.
    #[test]
    fn every_action_names_itself_as_the_plan_writes_it_and_answers_for_itself() {
        let plan: model::Plan = toml::from_str(EVERY_ACTION).unwrap();
        let compiled = every_action();
        let written: Vec<String> = plan.phases[0]
            .steps
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let named: Vec<&str> = compiled.steps().map(|(_, s)| s.action()).collect();
        assert_eq!(named, written);
        assert_eq!(written.len(), 10, "one step of each action");
        let answers: Vec<(&str, Vec<&str>, bool, bool)> = compiled
            .steps()
            .map(|(_, s)| {
                let c = s.compiled();
                (
                    c.id(),
                    c.target_paths(),
                    c.edits_files(),
                    c.process().is_some(),
                )
            })
            .collect();
        assert_eq!(
            answers,
            [
                ("r", vec!["out.txt"], false, true),
                ("i", vec!["requirements-dev.txt"], false, true),
                ("w", vec!["w.txt"], true, false),
                ("re", vec!["r.txt"], true, false),
                ("in", vec!["setup.cfg"], true, false),
                ("to", vec!["pyproject.toml"], true, false),
                ("pc", vec![], true, false),
                ("s", vec![], false, true),
                (
                    "m",
                    vec![".test-durations.json", "conftest.py"],
                    true,
                    false
                ),
                ("db", vec![], false, true),
            ]
        );
    }
}
