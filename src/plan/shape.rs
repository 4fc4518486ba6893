//! What the plan layer reads of the written model (the serde types of `model.rs`): ids,
//! `needs`, environments and values, and the graph's view of a plan ([`Shape`]).

use std::collections::BTreeMap;

use super::action::Written;
use super::fields::Visit;
use super::locate::Seg;
use super::model::{IntOrVar, Plan, Step, VarDef};
use crate::graph::Shape;

impl VarDef {
    /// The variable's value.
    pub fn value(&self) -> &str {
        match self {
            VarDef::Plain(v) => v,
            VarDef::Table(t) => &t.value,
        }
    }

    /// Whether the variable is marked secret (its name may make it secret too).
    pub fn marked_secret(&self) -> bool {
        matches!(self, VarDef::Table(t) if t.secret)
    }
}

impl From<&str> for VarDef {
    fn from(value: &str) -> Self {
        VarDef::Plain(value.to_string())
    }
}

impl IntOrVar {
    /// The integer, once resolved.
    pub fn int(&self) -> Option<u32> {
        match self {
            IntOrVar::Int(n) => Some(*n),
            IntOrVar::Var(_) => None,
        }
    }
}

/// Calls `$body` with `$s` bound to the step struct of whatever action `$step` is.
macro_rules! with_step {
    ($step:expr, $s:ident => $body:expr) => {
        match $step {
            Step::Run($s) => $body,
            Step::Install($s) => $body,
            Step::Write($s) => $body,
            Step::Replace($s) => $body,
            Step::Ini($s) => $body,
            Step::Toml($s) => $body,
            Step::PytestConfig($s) => $body,
            Step::Suite($s) => $body,
            Step::Mark($s) => $body,
            Step::Service($s) => $body,
        }
    };
}

impl Step {
    /// What the plan layer reads of the step by its action ([`Written`]).
    fn written(&self) -> &dyn Written {
        with_step!(self, s => s)
    }

    fn written_mut(&mut self) -> &mut dyn Written {
        with_step!(self, s => s)
    }

    /// Calls `f` on each of the action's own interpolated strings.
    pub(crate) fn own_strings(&mut self, f: &mut Visit<'_>) {
        self.written_mut().strings(f);
    }

    /// The target-relative paths the step names, each with its place under the step.
    pub fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        self.written().paths()
    }

    /// The step id.
    pub fn id(&self) -> &str {
        with_step!(self, s => &s.id)
    }

    /// The step ids this step needs.
    pub fn needs(&self) -> &[String] {
        with_step!(self, s => &s.needs)
    }

    /// Whether the plan lets the target be switched across this step (`switchable = false`
    /// forbids it).
    pub fn switchable(&self) -> bool {
        with_step!(self, s => s.switchable != Some(false))
    }

    /// The step's timeout text, if any (only actions that run processes take one).
    pub fn timeout(&self) -> Option<&str> {
        self.process_fields()
            .and_then(|(timeout, _)| timeout.as_deref())
    }

    /// The step's extra environment (only actions that run processes take one).
    pub fn env(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Step::Service(s) => Some(&s.env),
            _ => self.process_fields().map(|(_, env)| env),
        }
    }

    /// The environment of a step that runs processes, to add to.
    pub fn env_mut(&mut self) -> Option<&mut BTreeMap<String, String>> {
        match self {
            Step::Run(s) => Some(&mut s.env),
            Step::Install(s) => Some(&mut s.env),
            Step::Suite(s) => Some(&mut s.env),
            _ => None,
        }
    }

    fn process_fields(&self) -> Option<(&Option<String>, &BTreeMap<String, String>)> {
        match self {
            Step::Run(s) => Some((&s.timeout, &s.env)),
            Step::Install(s) => Some((&s.timeout, &s.env)),
            Step::Suite(s) => Some((&s.timeout, &s.env)),
            _ => None,
        }
    }
}

impl Plan {
    /// The `[vars]` values by name.
    pub fn var_values(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.value().to_string()))
            .collect()
    }

    /// Every step with the index of its phase, in file order.
    pub fn steps(&self) -> impl Iterator<Item = (usize, &Step)> {
        self.phases
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.steps.iter().map(move |s| (i, s)))
    }
}

impl Shape for Plan {
    fn phase_count(&self) -> usize {
        self.phases.len()
    }

    fn phase_id(&self, p: usize) -> &str {
        &self.phases[p].id
    }

    fn phase_needs(&self, p: usize) -> &[String] {
        &self.phases[p].needs
    }

    fn step_count(&self, p: usize) -> usize {
        self.phases[p].steps.len()
    }

    fn step_id(&self, p: usize, i: usize) -> &str {
        self.phases[p].steps[i].id()
    }

    fn step_needs(&self, p: usize, i: usize) -> &[String] {
        self.phases[p].steps[i].needs()
    }
}
