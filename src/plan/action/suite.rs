//! The compiled `suite` step: the test command, how many runs (fixed, or as the gates need),
//! its warmup, budgets and coverage, every default and bound settled here. A suite step's
//! fields are compiled in [`compile`] and nowhere else.

use std::num::NonZeroU32;
use std::time::Duration;

use super::{CompiledStep, Compiling, Process, Written};
use crate::measure::budget::{self, Budget};
use crate::plan::fields::{int_or_var, list, one, opt, Visit};
use crate::plan::locate::{Loc, Seg};
use crate::plan::model::{self, Framework, IntOrVar, SuiteStep};
use crate::plan::resolve::Problem;

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
    pub budgets: Vec<Budget>,
    /// Run under pytest-cov, measuring these sources (empty: the project's configuration).
    pub coverage: Option<Vec<String>>,
    /// Split over shards (see [`crate::plan::shards`]).
    pub shards: Option<crate::measure::shard::Shards>,
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

/// Compiles a written `suite` step whose counts resolve made integers (or `"auto"`); `None`
/// with the problems pushed when a count, a bound or a budget is wrong.
pub fn compile(s: &SuiteStep, c: &Compiling<'_>, problems: &mut Vec<Problem>) -> Option<Suite> {
    let mut count = |key: &str, value: &Option<IntOrVar>| match value {
        None => Some(None),
        Some(IntOrVar::Int(n)) => Some(Some(*n)),
        Some(IntOrVar::Var(v)) if key == "runs" && v == model::AUTO => Some(None),
        Some(IntOrVar::Var(_)) => {
            problems.push(Problem::new(
                c.place(key),
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
            c.place("warmup"),
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
        (None, _) => c.compared.contains(&s.record),
        _ => false,
    };
    let runs = match auto {
        true => auto_runs(s, c, min, max, problems)?,
        false => fixed_runs(s, c, written, problems)?,
    };
    let shards = match crate::plan::shards::compile(s, c.place("shards")) {
        Ok(shards) => shards,
        Err(problem) => {
            problems.push(*problem);
            return None;
        }
    };
    Some(Suite {
        shards,
        budgets: budgets(s, c, problems)?,
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
        process: c.process(&s.env, &s.id),
        auto_timeout: !c.timeouts.contains_key(&s.id),
    })
}

/// `runs = "auto"` (written, or the default of a suite a gate compares by time) within its
/// bounds.
fn auto_runs(
    s: &SuiteStep,
    c: &Compiling<'_>,
    min: Option<u32>,
    max: Option<u32>,
    problems: &mut Vec<Problem>,
) -> Option<Runs> {
    let min = min.unwrap_or(1);
    let max = max.unwrap_or(model::DEFAULT_MAX_RUNS.max(min));
    if min > max {
        problems.push(Problem::new(
            c.place("min_runs"),
            format!(
                "`min_runs` ({min}) in step `{}` is more than `max_runs` ({max})",
                s.id
            ),
            "make `min_runs` at most `max_runs`",
        ));
        return None;
    }
    Some(Runs::Auto {
        min: NonZeroU32::new(min)?,
        max: NonZeroU32::new(max)?,
        max_time: c.max_times.get(&s.id).copied(),
    })
}

/// A fixed count of runs: the written one, else the default. It wins over the adaptive
/// bounds, so `--var runs=1` still shortens a plan whose suites give `min_runs`.
fn fixed_runs(
    s: &SuiteStep,
    c: &Compiling<'_>,
    written: Option<u32>,
    problems: &mut Vec<Problem>,
) -> Option<Runs> {
    let n = written.unwrap_or(model::DEFAULT_RUNS);
    match NonZeroU32::new(n) {
        Some(n) => Some(Runs::Fixed(n)),
        None => {
            problems.push(Problem::new(
                c.place("runs"),
                format!("`runs` in step `{}` must be at least 1", s.id),
                "write `runs = 1` or more",
            ));
            None
        }
    }
}

/// The per-test budgets, parsed; the first that does not parse is a problem at its key.
fn budgets(s: &SuiteStep, c: &Compiling<'_>, problems: &mut Vec<Problem>) -> Option<Vec<Budget>> {
    let mut out = Vec::new();
    for (key, &seconds) in &s.budgets {
        match Budget::parse(key, seconds) {
            Ok(b) => out.push(b),
            Err(e) => {
                let mut path = c.base.clone();
                path.extend([Seg::from("budgets"), Seg::Key(key.clone())]);
                problems.push(Problem::new(
                    Loc::key(path),
                    format!("{e} in step `{}`", s.id),
                    budget::HELP,
                ));
                return None;
            }
        }
    }
    Some(out)
}

impl Written for SuiteStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "command", &mut self.command);
        one(f, "record", &mut self.record);
        int_or_var(f, "runs", &mut self.runs);
        int_or_var(f, "warmup", &mut self.warmup);
        int_or_var(f, "min_runs", &mut self.min_runs);
        int_or_var(f, "shards", &mut self.shards);
        int_or_var(f, "max_runs", &mut self.max_runs);
        opt(f, "max_time", &mut self.max_time);
        list(f, "coverage_source", &mut self.coverage_source);
    }
}

impl CompiledStep for Suite {
    fn id(&self) -> &str {
        &self.id
    }

    fn action(&self) -> &'static str {
        "suite"
    }

    fn process(&self) -> Option<&Process> {
        Some(&self.process)
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        Some(&mut self.process)
    }
}
