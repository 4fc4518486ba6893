//! The plan as it runs: compiled once from the resolved model, every value in its final type.
//!
//! `runs` is a `NonZeroU32`, timeouts are `Duration`s, gates are parsed expressions, every
//! default is filled in here and nowhere else, and `timeout`/`env` exist only on the actions
//! that run processes. The executor and the dry-run read this and never the written model, so
//! whatever can be wrong with a plan is found before anything runs.

use std::collections::BTreeMap;
use std::time::Duration;

use super::action::{self, CompiledStep, Compiling};
use super::locate::{at, Loc};
use super::model::{self, OnFail, OnInconclusive};
use super::resolve::Problem;

pub use super::action::install::{Install, DEFAULT_BASE_PYTHON, DEFAULT_PYTHON};
pub use super::action::mark::{
    Mark, DEFAULT_CONFTEST, DEFAULT_DURATIONS, DEFAULT_MARK_FAST, DEFAULT_MARK_SLOW,
};
pub use super::action::run::Run;
pub use super::action::service::Service;
pub use super::action::suite::{collect_needs_pytest, Runs, Suite};
pub use super::action::Process;
use crate::criteria;
use crate::graph::{Node, PlanGraph};

/// A compiled plan: its phases, and the order and dependencies of its nodes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan's name.
    pub name: String,
    /// What the plan does.
    pub description: String,
    /// The target the plan names, relative to the plan file.
    pub default_target: Option<String>,
    /// The phases in file order.
    pub phases: Vec<Phase>,
    /// The step graph.
    pub graph: PlanGraph,
    /// Every node in a valid execution order.
    pub order: Vec<Node>,
    /// The plan's rollout stages, in order (all of them, whichever runs).
    pub stages: Vec<super::stages::Stage>,
    /// The index in `stages` of the stage this plan runs; `None` for a plan without stages.
    pub stage: Option<usize>,
}

impl Plan {
    /// The stage this plan runs.
    pub fn current_stage(&self) -> Option<&super::stages::Stage> {
        self.stages.get(self.stage?)
    }

    /// The stage before the one this plan runs, whose promotion must hold first.
    pub fn previous_stage(&self) -> Option<&super::stages::Stage> {
        self.stages.get(self.stage?.checked_sub(1)?)
    }
}

/// One phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The phase id.
    pub id: String,
    /// Its title, when it has one.
    pub title: Option<String>,
    /// The phases it needs.
    pub needs: Vec<String>,
    /// Its steps in file order.
    pub steps: Vec<Step>,
    /// The gates decided once all of its steps are done.
    pub gates: Vec<Gate>,
}

/// A gate with its check parsed.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The check as written (interpolated).
    pub check: String,
    /// The check, parsed.
    pub expr: criteria::Expr,
    /// Why the plan has this gate.
    pub why: Option<String>,
    /// What a failed check does.
    pub on_fail: OnFail,
    /// What a check the measurements cannot settle does.
    pub on_inconclusive: OnInconclusive,
    /// The line of its `check` in the plan file (1-based), for annotations that point at it.
    pub line: Option<usize>,
}

/// The registry of actions: each compiled step's variant and its type, one line per action.
/// It hands the list to `$callback`, a macro that writes what is needed once per action: the
/// [`Step`] enum and its [`CompiledStep`] view here ([`step_enum`]), the executor's `Action`
/// view in `exec::action`. Adding an action is its modules and one line here.
macro_rules! for_each_action {
    ($callback:ident) => {
        $callback! {
            /// Run a shell command.
            Run(Run),
            /// Install Python packages.
            Install(Install),
            /// Write a file from a template.
            Write(model::WriteStep),
            /// Replace text in a file.
            Replace(model::ReplaceStep),
            /// Edit an INI file.
            Ini(model::IniStep),
            /// Edit a TOML file.
            Toml(model::TomlStep),
            /// Edit pytest's configuration.
            PytestConfig(model::PytestConfigStep),
            /// Run a timed suite.
            Suite(Suite),
            /// Mark tests from a record's durations.
            Mark(Mark),
            /// Start a service for the rest of the apply.
            Service(Service),
        }
    };
}
pub(crate) use for_each_action;

/// The [`Step`] enum from the registry, and what the plan layer knows of each step: its
/// action's [`CompiledStep`].
macro_rules! step_enum {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// One compiled step. The edit actions keep their written shape: they have nothing to
        /// resolve.
        #[derive(Debug, Clone)]
        pub enum Step {
            $($(#[$doc])* $variant($ty),)*
        }

        impl Step {
            /// What the plan layer knows of the step: its action's [`CompiledStep`].
            pub fn compiled(&self) -> &dyn CompiledStep {
                match self {
                    $(Step::$variant(s) => s,)*
                }
            }

            fn compiled_mut(&mut self) -> &mut dyn CompiledStep {
                match self {
                    $(Step::$variant(s) => s,)*
                }
            }
        }
    };
}

for_each_action!(step_enum);

impl Step {
    /// The step id.
    pub fn id(&self) -> &str {
        self.compiled().id()
    }

    /// The action name as written in the plan.
    pub fn action(&self) -> &'static str {
        self.compiled().action()
    }

    /// The `install` step this is, if it is one.
    pub fn install(&self) -> Option<&Install> {
        match self {
            Step::Install(s) => Some(s),
            _ => None,
        }
    }

    /// The `suite` step this is, if it is one.
    pub fn suite(&self) -> Option<&Suite> {
        match self {
            Step::Suite(s) => Some(s),
            _ => None,
        }
    }

    /// The same, to settle what the plan's other steps decide of it.
    pub fn suite_mut(&mut self) -> Option<&mut Suite> {
        match self {
            Step::Suite(s) => Some(s),
            _ => None,
        }
    }

    /// Timeout and environment, for the actions that run processes.
    pub fn process(&self) -> Option<&Process> {
        self.compiled().process()
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        self.compiled_mut().process_mut()
    }

    /// The target-relative paths this step names (confined to the target before anything runs).
    pub fn target_paths(&self) -> Vec<&str> {
        self.compiled().target_paths()
    }
}

impl Plan {
    /// Every step with the index of its phase, in file order.
    pub fn steps(&self) -> impl Iterator<Item = (usize, &Step)> {
        self.phases
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.steps.iter().map(move |s| (i, s)))
    }

    /// The `install` steps, in file order.
    pub fn installs(&self) -> impl Iterator<Item = &Install> {
        self.steps().filter_map(|(_, s)| s.install())
    }

    /// The `suite` steps, in file order.
    pub fn suites(&self) -> impl Iterator<Item = &Suite> {
        self.steps().filter_map(|(_, s)| s.suite())
    }

    /// The step a node stands for, if it is a step.
    pub fn step(&self, node: &Node) -> Option<&Step> {
        match node {
            Node::Step { phase, index } => self.phases.get(*phase)?.steps.get(*index),
            Node::Gates { .. } => None,
        }
    }

    /// The number of steps.
    pub fn step_count(&self) -> usize {
        self.phases.iter().map(|p| p.steps.len()).sum()
    }
}

/// What validation already worked out for the plan being compiled, so compiling repeats none
/// of it: its graph (built once, from ids and `needs`, which are never interpolated) and each
/// gate's check as validation parsed it, by phase and gate.
#[derive(Debug, Clone)]
pub struct Known {
    /// The plan's dependency graph.
    pub graph: PlanGraph,
    /// For each phase, each gate's check text and its parse (`None`: validation did not parse it).
    pub gates: Vec<Vec<Option<(String, criteria::Expr)>>>,
}

/// Compiles an interpolated plan whose `runs`/`warmup` resolve has made integers;
/// `timeouts` holds the durations resolve parsed, by step id; `known` is what validation
/// found (the graph, the parsed gates). Problems come back with their place.
pub fn compile(
    plan: &model::Plan,
    timeouts: &BTreeMap<String, Duration>,
    max_times: &BTreeMap<String, Duration>,
    known: Known,
) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    // Gates first (the suites' default runs depend on them), their problems after the steps'.
    let mut gate_problems = Vec::new();
    let gates: Vec<Vec<Gate>> = plan
        .phases
        .iter()
        .enumerate()
        .map(|(p, phase)| {
            let parsed = known.gates.get(p).map_or(&[][..], Vec::as_slice);
            compile_gates(p, phase, parsed, &mut gate_problems)
        })
        .collect();
    let compared = compared_records(gates.iter().flatten());

    let mut phases = Vec::with_capacity(plan.phases.len());
    for ((p, phase), gates) in plan.phases.iter().enumerate().zip(gates) {
        let steps = phase
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| {
                let c = Compiling {
                    timeouts,
                    max_times,
                    compared: &compared,
                    base: at!["phase", p, "step", i],
                };
                compile_step(step, &c, &mut problems)
            })
            .collect();
        phases.push(Phase {
            id: phase.id.clone(),
            title: phase.title.clone(),
            needs: phase.needs.clone(),
            steps,
            gates,
        });
    }
    problems.extend(gate_problems);
    let graph = known.graph;
    give_exports(&mut phases, &graph);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Plan {
        name: plan.name.clone(),
        description: plan.description.clone(),
        default_target: plan.default_target.clone(),
        order: graph.order(),
        graph,
        phases,
        stages: Vec::new(),
        stage: None,
    })
}

/// Gives every step that runs processes the `export`s of the services it needs, directly or
/// through other steps and phases; its own `env` wins, and of two services exporting one name,
/// the later in execution order.
fn give_exports(phases: &mut [Phase], graph: &PlanGraph) {
    let mut exports: BTreeMap<Node, BTreeMap<String, String>> = BTreeMap::new();
    for (p, phase) in phases.iter().enumerate() {
        for (index, step) in phase.steps.iter().enumerate() {
            if let Some(export) = step.compiled().exports() {
                exports.insert(Node::Step { phase: p, index }, export.clone());
            }
        }
    }
    if exports.is_empty() {
        return;
    }
    // The services each node waits for, in execution order: one pass in that order.
    let order = graph.order();
    let mut before: BTreeMap<Node, Vec<Node>> = BTreeMap::new();
    for node in &order {
        let mut services: Vec<Node> = Vec::new();
        for dep in graph.deps(*node) {
            let inherited = before.get(&dep).into_iter().flatten().copied();
            let own = exports.contains_key(&dep).then_some(dep);
            for s in inherited.chain(own) {
                if !services.contains(&s) {
                    services.push(s);
                }
            }
        }
        before.insert(*node, services);
    }
    let position: BTreeMap<Node, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    for (node, mut services) in before {
        let Node::Step { phase, index } = node else {
            continue;
        };
        services.sort_by_key(|s| position.get(s).copied());
        let Some(process) = phases[phase].steps[index].process_mut() else {
            continue;
        };
        let mut exported = BTreeMap::new();
        for s in &services {
            exported.extend(
                exports
                    .get(s)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        for (name, value) in exported {
            process.env.entry(name).or_insert(value);
        }
    }
}

/// A phase's gates with their checks parsed: validation's parse when the check reads as it did
/// then (`parsed`), so a check is parsed once per load; the executor never parses them again.
fn compile_gates(
    p: usize,
    phase: &model::Phase,
    parsed: &[Option<(String, criteria::Expr)>],
    problems: &mut Vec<Problem>,
) -> Vec<Gate> {
    phase
        .gates
        .iter()
        .enumerate()
        .map(|(g, gate)| {
            let known = parsed.get(g).and_then(Option::as_ref);
            let expr = match known {
                Some((text, expr)) if *text == gate.check => Ok(expr.clone()),
                _ => super::gates::parse(&gate.check),
            };
            (g, gate, expr)
        })
        .filter_map(|(g, gate, expr)| match expr {
            Ok(expr) => Some(Gate {
                check: gate.check.clone(),
                expr,
                why: gate.why.clone(),
                on_fail: gate.on_fail,
                on_inconclusive: gate.on_inconclusive,
                line: None,
            }),
            Err(e) => {
                problems.push(Problem::new(
                    Loc::value(at!["phase", p, "gate", g, "check"]),
                    format!("invalid check in gate {} of phase `{}`: {e}", g + 1, phase.id),
                    "write a criteria expression such as `after.wall.median <= baseline.wall.median * 0.8`",
                ));
                None
            }
        })
        .collect()
}

/// The records some gate compares, by a per-run metric, with another record's: their suites
/// default to `runs = "auto"`.
fn compared_records<'a>(
    gates: impl Iterator<Item = &'a Gate>,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for gate in gates {
        let timed: Vec<String> = gate
            .expr
            .metric_refs()
            .iter()
            .filter(|m| crate::metrics::PER_RUN.contains(&m.metric()))
            .map(|m| m.record.clone())
            .collect();
        if timed.iter().any(|r| timed.iter().any(|o| o != r)) {
            out.extend(timed);
        }
    }
    out
}

/// Compiles one written step by its action's module: the one match from the written model to
/// the compiled step.
fn compile_step(
    step: &model::Step,
    c: &Compiling<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    Some(match step {
        model::Step::Run(s) => Step::Run(action::run::compile(s, c)),
        model::Step::Install(s) => Step::Install(action::install::compile(s, c)),
        model::Step::Write(s) => Step::Write(s.clone()),
        model::Step::Replace(s) => Step::Replace(s.clone()),
        model::Step::Ini(s) => Step::Ini(s.clone()),
        model::Step::Toml(s) => Step::Toml(s.clone()),
        model::Step::PytestConfig(s) => Step::PytestConfig(s.clone()),
        model::Step::Suite(s) => Step::Suite(action::suite::compile(s, c, problems)?),
        model::Step::Mark(s) => Step::Mark(action::mark::compile(s)),
        model::Step::Service(s) => Step::Service(action::service::compile(s, c)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn model(text: &str) -> model::Plan {
        toml::from_str(text).unwrap()
    }

    /// Compiles with the graph built here and no gate parsed beforehand.
    fn compile(
        plan: &model::Plan,
        timeouts: &BTreeMap<String, Duration>,
        max_times: &BTreeMap<String, Duration>,
    ) -> Result<Plan, Vec<Problem>> {
        let known = Known {
            graph: PlanGraph::build(plan).unwrap(),
            gates: Vec::new(),
        };
        super::compile(plan, timeouts, max_times, known)
    }

    const HEAD: &str = "name='x'\ndescription='d'\n[[phase]]\nid='p'\n";

    #[test]
    fn defaults_are_filled_in_once_and_values_typed() {
        let plan = model(&format!(
            "{HEAD}[[phase.step]]\nid='i'\naction='install'\npackages=['x']\n\
             [[phase.step]]\nid='s'\naction='suite'\ncommand='pytest'\nrecord='r'\nruns=5\nwarmup=0\nenv={{A='1'}}\n\
             [[phase.gate]]\ncheck='r.failed == 0'\n"
        ));
        let timeouts = BTreeMap::from([("s".to_string(), Duration::from_secs(90))]);
        let c = compile(&plan, &timeouts, &BTreeMap::new()).unwrap();
        let Step::Install(i) = &c.phases[0].steps[0] else {
            panic!("{:?}", c.phases[0].steps[0])
        };
        assert_eq!(
            (i.python.as_str(), i.base_python.as_str()),
            (DEFAULT_PYTHON, DEFAULT_BASE_PYTHON)
        );
        let Step::Suite(s) = &c.phases[0].steps[1] else {
            panic!()
        };
        assert_eq!(
            (s.runs, s.warmup),
            (Runs::Fixed(NonZeroU32::MIN.saturating_add(4)), 0)
        );
        assert_eq!(s.process.timeout, Some(Duration::from_secs(90)));
        assert_eq!(s.process.env["A"], "1");
        assert_eq!(
            c.phases[0].gates[0].expr,
            criteria::parse("r.failed == 0").unwrap()
        );
        assert_eq!(c.order.len(), 3);
    }

    #[test]
    fn unresolved_counts_and_bad_gates_are_problems_not_defaults() {
        let plan = model(&format!(
            "{HEAD}[[phase.step]]\nid='s'\naction='suite'\ncommand='pytest'\nrecord='r'\nruns='${{n}}'\nwarmup=1\n\
             [[phase.step]]\nid='z'\naction='suite'\ncommand='pytest'\nrecord='q'\nruns=0\nwarmup=1\n\
             [[phase.gate]]\ncheck='r.failed =='\n"
        ));
        let problems = compile(&plan, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.diag.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("`runs` in step `s` is not a whole number"));
        assert!(messages[1].contains("`runs` in step `z` must be at least 1"));
        assert!(messages[2].starts_with("invalid check in gate 1 of phase `p`"));
    }

    /// A suite whose times a gate compares with another record's runs as the gates need; one
    /// that only counts tests keeps the fixed default; bounds apply only to `"auto"`.
    #[test]
    fn runs_default_to_auto_where_a_gate_compares_times() {
        let plan = model(&format!(
            "{HEAD}[[phase.step]]\nid='b'\naction='suite'\ncommand='pytest'\nrecord='base'\n\
             [[phase.step]]\nid='a'\naction='suite'\ncommand='pytest'\nrecord='after'\nmax_runs=4\n\
             [[phase.step]]\nid='c'\naction='suite'\ncommand='pytest'\nrecord='count'\n\
             [[phase.gate]]\ncheck='after.wall.median <= base.wall.median * 0.5 and count.failed == 0'\n"
        ));
        let max_times = BTreeMap::from([("b".to_string(), Duration::from_secs(60))]);
        let c = compile(&plan, &BTreeMap::new(), &max_times).unwrap();
        let runs: Vec<Runs> = c
            .steps()
            .map(|(_, s)| match s {
                Step::Suite(s) => s.runs,
                _ => panic!(),
            })
            .collect();
        let n = |n| NonZeroU32::new(n).unwrap();
        assert_eq!(
            runs,
            [
                Runs::Auto {
                    min: n(1),
                    max: n(10),
                    max_time: Some(Duration::from_secs(60))
                },
                Runs::Auto {
                    min: n(1),
                    max: n(4),
                    max_time: None
                },
                Runs::Fixed(n(3)),
            ]
        );
        let fixed = model(&format!(
            "{HEAD}[[phase.step]]\nid='b'\naction='suite'\ncommand='pytest'\nrecord='base'\nruns=3\nmin_runs=5\n"
        ));
        let c = compile(&fixed, &BTreeMap::new(), &BTreeMap::new()).unwrap();
        assert!(
            matches!(&c.phases[0].steps[0], Step::Suite(s) if s.runs == Runs::Fixed(n(3))),
            "a fixed count wins over the adaptive bounds"
        );
        let inverted = model(&format!(
            "{HEAD}[[phase.step]]\nid='b'\naction='suite'\ncommand='pytest'\nrecord='base'\nruns='auto'\nmin_runs=5\nmax_runs=2\n"
        ));
        let problems = compile(&inverted, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(problems[0].diag.message.contains("is more than `max_runs`"));
    }

    /// A service's exports reach the steps that wait for it, through `needs` or a phase, and
    /// no other; a step's own `env` wins, and of two services the later one.
    #[test]
    fn services_export_to_the_steps_that_need_them() {
        let plan = model(
            "name='x'\ndescription='d'\n[[phase]]\nid='up'\n\
             [[phase.step]]\nid='db'\naction='service'\ncommand='serve'\nexport={A='1', B='db'}\n\
             [[phase.step]]\nid='cache'\naction='service'\ncommand='serve'\nneeds=['db']\nexport={B='cache'}\n\
             [[phase.step]]\nid='direct'\naction='run'\ncommand='true'\nneeds=['db']\nenv={A='own'}\n\
             [[phase.step]]\nid='free'\naction='run'\ncommand='true'\n\
             [[phase.step]]\nid='edit'\naction='replace'\npath='f'\npattern='a'\nreplacement='b'\nneeds=['db']\n\
             [[phase]]\nid='later'\nneeds=['up']\n\
             [[phase.step]]\nid='suite'\naction='suite'\ncommand='pytest'\nrecord='r'\n",
        );
        let c = compile(&plan, &BTreeMap::new(), &BTreeMap::new()).unwrap();
        let env = |id: &str| {
            c.steps()
                .find(|(_, s)| s.id() == id)
                .and_then(|(_, s)| s.process())
                .map(|p| p.env.clone())
        };
        let pairs = |items: &[(&str, &str)]| {
            Some(
                items
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        assert_eq!(env("db"), pairs(&[]));
        assert_eq!(env("cache"), pairs(&[("A", "1"), ("B", "db")]));
        assert_eq!(env("direct"), pairs(&[("A", "own"), ("B", "db")]));
        assert_eq!(env("free"), pairs(&[]));
        assert_eq!(env("edit"), None);
        assert_eq!(env("suite"), pairs(&[("A", "1"), ("B", "cache")]));
        let Some(Step::Service(db)) = c.phases[0].steps.first() else {
            panic!()
        };
        assert_eq!(
            (db.ready_timeout, db.process.timeout),
            (model::DEFAULT_READY_TIMEOUT, None)
        );
    }

    #[test]
    fn edit_steps_refuse_timeout_and_env() {
        for field in ["timeout='5s'", "env={A='1'}"] {
            let text = format!(
                "{HEAD}[[phase.step]]\nid='w'\naction='replace'\npath='a'\npattern='x'\nreplacement='y'\n{field}\n"
            );
            let err = toml::from_str::<model::Plan>(&text).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{err}");
        }
    }
}
