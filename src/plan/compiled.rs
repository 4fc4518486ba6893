//! The plan as it runs: compiled once from the resolved model, every value in its final type.
//!
//! `runs` is a `NonZeroU32`, timeouts are `Duration`s, gates are parsed expressions, every
//! default is filled in here and nowhere else, and `timeout`/`env` exist only on the actions
//! that run processes. The executor and the dry-run read this and never the written model, so
//! whatever can be wrong with a plan is found before anything runs.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use super::locate::{at, Loc, Seg};
use super::model::{self, Framework, Installer, IntOrVar, OnFail, OnInconclusive};
use super::resolve::Problem;
use crate::criteria;
use crate::graph::{Node, PlanGraph};

/// The interpreter an `install` step uses when it names none.
pub const DEFAULT_PYTHON: &str = ".venv/bin/python";

/// The interpreter that creates a missing venv when the step names none.
pub const DEFAULT_BASE_PYTHON: &str = "python3";

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

/// How many counted runs a suite takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Exactly this many.
    Fixed(NonZeroU32),
    /// Until every gate that reads the record is conclusive, within these bounds.
    Auto {
        /// Counted runs taken before the first decision.
        min: NonZeroU32,
        /// The most counted runs.
        max: NonZeroU32,
        /// No counted run starts once the counted runs have taken this long.
        max_time: Option<Duration>,
    },
}

impl Runs {
    /// The fewest counted runs.
    pub fn min(&self) -> u32 {
        match self {
            Runs::Fixed(n) => n.get(),
            Runs::Auto { min, .. } => min.get(),
        }
    }

    /// The most counted runs.
    pub fn max(&self) -> u32 {
        match self {
            Runs::Fixed(n) => n.get(),
            Runs::Auto { max, .. } => max.get(),
        }
    }
}

impl std::fmt::Display for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Runs::Fixed(n) if n.get() == 1 => write!(f, "1 run"),
            Runs::Fixed(n) => write!(f, "{n} runs"),
            Runs::Auto { min, max, max_time } => {
                write!(f, "{min}-{max} runs as the gates need")?;
                match max_time {
                    Some(t) => write!(f, ", at most {}", humantime::format_duration(*t)),
                    None => Ok(()),
                }
            }
        }
    }
}

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

/// An `install` step.
#[derive(Debug, Clone)]
pub struct Install {
    /// The step id.
    pub id: String,
    /// Requirement specifiers.
    pub packages: Vec<String>,
    /// The interpreter whose environment receives them ([`DEFAULT_PYTHON`] unless given).
    pub python: String,
    /// The interpreter that creates a missing venv ([`DEFAULT_BASE_PYTHON`] unless given).
    pub base_python: String,
    /// Which installer.
    pub installer: Installer,
    /// Where the requirements are also recorded.
    pub record_in: Option<String>,
    /// The dependency group or extra to record into.
    pub group: Option<String>,
    /// Record into `[project.optional-dependencies]`.
    pub extra: bool,
    /// Timeout and environment of the installer.
    pub process: Process,
}

/// A `suite` step.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The step id.
    pub id: String,
    /// The test command.
    pub command: String,
    /// The record it stores.
    pub record: String,
    /// Counted runs.
    pub runs: Runs,
    /// Uncounted runs before them.
    pub warmup: u32,
    /// The warmup is one pytest `--collect-only` pass, not a run (`warmup = "collect"`).
    pub warmup_collect: bool,
    /// How results are read.
    pub framework: Framework,
    /// `--baseline` may stand in for it.
    pub baseline: bool,
    /// It measures before the plan's edits (or says `baseline = true`): a red record of it
    /// stops the apply (see [`crate::plan::baselines`]).
    pub checked_baseline: bool,
    /// It says `baseline = false`: never checked as a baseline.
    pub not_baseline: bool,
    /// Tests (or `*` patterns) known to fail in it.
    pub known_failures: Vec<String>,
    /// Timeout (of each run) and environment.
    pub process: Process,
    /// No fixed `timeout`: each run's limit is derived from what was measured (`"auto"`).
    pub auto_timeout: bool,
    /// Per-test budgets, parsed.
    pub budgets: Vec<crate::measure::budget::Budget>,
    /// Run under pytest-cov, measuring these sources (empty: the project's configuration).
    pub coverage: Option<Vec<String>>,
    /// Split over shards (see [`super::shards`]).
    pub shards: Option<crate::measure::shard::Shards>,
}

/// A test below this median is `fast` when a `mark` step names no `fast`.
pub const DEFAULT_MARK_FAST: f64 = 0.1;

/// A test above this median is `slow` when a `mark` step names no `slow`.
pub const DEFAULT_MARK_SLOW: f64 = 1.0;

/// The durations file of a `mark` step that names none.
pub const DEFAULT_DURATIONS: &str = ".test-durations.json";

/// The conftest of a `mark` step that names none.
pub const DEFAULT_CONFTEST: &str = "conftest.py";

/// A `mark` step.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The step id.
    pub id: String,
    /// The record whose durations decide.
    pub from: String,
    /// Below this median a test is `fast`.
    pub fast: f64,
    /// Above this median a test is `slow`.
    pub slow: f64,
    /// The durations file, target-relative.
    pub durations: String,
    /// The conftest that gets the hook, target-relative.
    pub conftest: String,
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

/// One compiled step. The edit actions keep their written shape: they have nothing to resolve.
#[derive(Debug, Clone)]
pub enum Step {
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

impl Step {
    /// The step id.
    pub fn id(&self) -> &str {
        match self {
            Step::Run(s) => &s.id,
            Step::Install(s) => &s.id,
            Step::Write(s) => &s.id,
            Step::Replace(s) => &s.id,
            Step::Ini(s) => &s.id,
            Step::Toml(s) => &s.id,
            Step::PytestConfig(s) => &s.id,
            Step::Suite(s) => &s.id,
            Step::Mark(s) => &s.id,
            Step::Service(s) => &s.id,
        }
    }

    /// The action name as written in the plan.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Run(_) => "run",
            Step::Install(_) => "install",
            Step::Write(_) => "write",
            Step::Replace(_) => "replace",
            Step::Ini(_) => "ini",
            Step::Toml(_) => "toml",
            Step::PytestConfig(_) => "pytest-config",
            Step::Suite(_) => "suite",
            Step::Mark(_) => "mark",
            Step::Service(_) => "service",
        }
    }

    /// Timeout and environment, for the actions that run processes.
    pub fn process(&self) -> Option<&Process> {
        match self {
            Step::Run(s) => Some(&s.process),
            Step::Install(s) => Some(&s.process),
            Step::Suite(s) => Some(&s.process),
            Step::Service(s) => Some(&s.process),
            _ => None,
        }
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        match self {
            Step::Run(s) => Some(&mut s.process),
            Step::Install(s) => Some(&mut s.process),
            Step::Suite(s) => Some(&mut s.process),
            Step::Service(s) => Some(&mut s.process),
            _ => None,
        }
    }

    /// The target-relative paths this step names (confined to the target before anything runs).
    pub fn target_paths(&self) -> Vec<&str> {
        match self {
            Step::Run(s) => s.changes.iter().map(String::as_str).collect(),
            Step::Install(s) => s
                .record_in
                .iter()
                .filter(|p| *p != "auto")
                .map(String::as_str)
                .collect(),
            Step::Write(s) => vec![s.path.as_str()],
            Step::Replace(s) => vec![s.path.as_str()],
            Step::Ini(s) => vec![s.path.as_str()],
            Step::Toml(s) => vec![s.path.as_str()],
            Step::Mark(s) => vec![s.durations.as_str(), s.conftest.as_str()],
            Step::PytestConfig(_) | Step::Suite(_) | Step::Service(_) => Vec::new(),
        }
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

/// `warmup = "collect"` (at `place`, in the step `ctx` names) on a `framework = "command"` suite:
/// validate says it of a plan that writes it, compile of one a variable gave it to.
pub fn collect_needs_pytest(place: Loc, ctx: &str) -> Problem {
    Problem::new(
        place,
        format!("`warmup = \"collect\"` {ctx} needs a pytest suite: it warms up with pytest's collection, and `framework = \"command\"` has none"),
        "write a number of warmup runs, e.g. `warmup = 1`",
    )
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
    let budget = Budget {
        timeouts,
        max_times,
        compared: &compared,
    };
    let mut phases = Vec::with_capacity(plan.phases.len());
    for ((p, phase), gates) in plan.phases.iter().enumerate().zip(gates) {
        let steps = phase
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| {
                compile_step(step, &budget, at!["phase", p, "step", i], &mut problems)
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
            if let Step::Service(s) = step {
                exports.insert(Node::Step { phase: p, index }, s.export.clone());
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

/// What compiling a step needs besides the step.
struct Budget<'a> {
    timeouts: &'a BTreeMap<String, Duration>,
    max_times: &'a BTreeMap<String, Duration>,
    compared: &'a std::collections::BTreeSet<String>,
}

fn compile_step(
    step: &model::Step,
    budget: &Budget<'_>,
    base: Vec<Seg>,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    let process = |env: &BTreeMap<String, String>, id: &str| Process {
        timeout: budget.timeouts.get(id).copied(),
        env: env.clone(),
    };
    Some(match step {
        model::Step::Run(s) => Step::Run(Run {
            id: s.id.clone(),
            command: s.command.clone(),
            undo: s.undo.clone(),
            changes: s.changes.clone(),
            process: process(&s.env, &s.id),
        }),
        model::Step::Install(s) => Step::Install(Install {
            id: s.id.clone(),
            packages: s.packages.clone(),
            python: s.python.clone().unwrap_or_else(|| DEFAULT_PYTHON.into()),
            base_python: s
                .base_python
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_PYTHON.into()),
            installer: s.installer,
            record_in: s.record_in.clone(),
            group: s.group.clone(),
            extra: s.extra,
            process: process(&s.env, &s.id),
        }),
        model::Step::Service(s) => Step::Service(Service {
            id: s.id.clone(),
            command: s.command.clone(),
            ready: s.ready.clone(),
            ready_timeout: budget
                .timeouts
                .get(&s.id)
                .copied()
                .unwrap_or(model::DEFAULT_READY_TIMEOUT),
            stop: s.stop.clone(),
            export: s.export.clone(),
            process: Process {
                timeout: None,
                env: s.env.clone(),
            },
        }),
        model::Step::Write(s) => Step::Write(s.clone()),
        model::Step::Replace(s) => Step::Replace(s.clone()),
        model::Step::Ini(s) => Step::Ini(s.clone()),
        model::Step::Toml(s) => Step::Toml(s.clone()),
        model::Step::PytestConfig(s) => Step::PytestConfig(s.clone()),
        model::Step::Mark(s) => Step::Mark(Mark {
            id: s.id.clone(),
            from: s.from.clone(),
            fast: s.fast.unwrap_or(DEFAULT_MARK_FAST),
            slow: s.slow.unwrap_or(DEFAULT_MARK_SLOW),
            durations: s
                .durations
                .clone()
                .unwrap_or_else(|| DEFAULT_DURATIONS.into()),
            conftest: s
                .conftest
                .clone()
                .unwrap_or_else(|| DEFAULT_CONFTEST.into()),
        }),
        model::Step::Suite(s) => {
            let place = |key: &str| {
                let mut path = base.clone();
                path.push(Seg::from(key));
                Loc::value(path)
            };
            let mut count = |key: &str, value: &Option<IntOrVar>| match value {
                None => Some(None),
                Some(IntOrVar::Int(n)) => Some(Some(*n)),
                Some(IntOrVar::Var(v)) if key == "runs" && v == model::AUTO => Some(None),
                Some(IntOrVar::Var(_)) => {
                    problems.push(Problem::new(
                        place(key),
                        format!("`{key}` in step `{}` is not a whole number", s.id),
                        format!("write a whole number, e.g. `{key} = 3`"),
                    ));
                    None
                }
            };
            let written = count("runs", &s.runs)?;
            let warmup_collect = matches!(&s.warmup, Some(IntOrVar::Var(v)) if v == model::COLLECT);
            if warmup_collect && s.framework == Framework::Command {
                problems.push(collect_needs_pytest(
                    place("warmup"),
                    &format!("in step `{}`", s.id),
                ));
                return None;
            }
            let warmup = match warmup_collect {
                true => 1,
                false => count("warmup", &s.warmup)?.unwrap_or(model::DEFAULT_WARMUP),
            };
            let min = count("min_runs", &s.min_runs)?;
            let max = count("max_runs", &s.max_runs)?;
            let auto = match (&s.runs, written) {
                (Some(IntOrVar::Var(_)), None) => true,
                (None, _) => budget.compared.contains(&s.record),
                _ => false,
            };
            let max_time = budget.max_times.get(&s.id).copied();
            let runs = if auto {
                let min = min.unwrap_or(1);
                let max = max.unwrap_or(model::DEFAULT_MAX_RUNS.max(min));
                if min > max {
                    problems.push(Problem::new(
                        place("min_runs"),
                        format!(
                            "`min_runs` ({min}) in step `{}` is more than `max_runs` ({max})",
                            s.id
                        ),
                        "make `min_runs` at most `max_runs`",
                    ));
                    return None;
                }
                Runs::Auto {
                    min: NonZeroU32::new(min)?,
                    max: NonZeroU32::new(max)?,
                    max_time,
                }
            } else {
                // A fixed count wins over the adaptive bounds, so `--var runs=1` still shortens
                // a plan whose suites give `min_runs`.
                let n = written.unwrap_or(model::DEFAULT_RUNS);
                match NonZeroU32::new(n) {
                    Some(n) => Runs::Fixed(n),
                    None => {
                        problems.push(Problem::new(
                            place("runs"),
                            format!("`runs` in step `{}` must be at least 1", s.id),
                            "write `runs = 1` or more",
                        ));
                        return None;
                    }
                }
            };
            let mut budgets = Vec::new();
            for (key, &seconds) in &s.budgets {
                match crate::measure::budget::Budget::parse(key, seconds) {
                    Ok(b) => budgets.push(b),
                    Err(e) => {
                        let mut path = base.clone();
                        path.extend([Seg::from("budgets"), Seg::Key(key.clone())]);
                        problems.push(Problem::new(
                            Loc::key(path),
                            format!("{e} in step `{}`", s.id),
                            crate::measure::budget::HELP,
                        ));
                        return None;
                    }
                }
            }
            let shards = match super::shards::compile(s, place("shards")) {
                Ok(shards) => shards,
                Err(problem) => {
                    problems.push(*problem);
                    return None;
                }
            };
            Step::Suite(Suite {
                shards,
                budgets,
                coverage: s.coverage.then(|| s.coverage_source.clone()),
                id: s.id.clone(),
                command: s.command.clone(),
                record: s.record.clone(),
                runs,
                warmup,
                warmup_collect,
                framework: s.framework,
                baseline: s.baseline == Some(true),
                checked_baseline: s.baseline == Some(true),
                not_baseline: s.baseline == Some(false),
                known_failures: s.known_failures.clone(),
                process: process(&s.env, &s.id),
                auto_timeout: !budget.timeouts.contains_key(&s.id),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
