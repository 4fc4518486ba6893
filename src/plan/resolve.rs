//! Interpolating a whole plan: every string field of steps and gates through `${vars}`, then
//! `runs`/`warmup` into checked integers (defaults filled in) and timeouts into durations, once;
//! problems come back with their place in the file.

use std::collections::{BTreeMap, HashSet};

use fnv::FnvBuildHasher;
use std::time::Duration;

use super::diag::{did_you_mean, Diagnostic};
use super::fields::{gate_strings, step_strings};
use super::interp::{interpolate_all, InterpError};
use super::locate::{Loc, Seg};
use super::model::{
    IntOrVar, Phase, Plan, Step, AUTO, COLLECT, DEFAULT_RUNS, DEFAULT_WARMUP, MATRIX,
};

/// The variable naming the interpreter: the plan may set it (or `"auto"`), `--var` may always;
/// otherwise it holds the environment discovery found ([`crate::pyenv::discover`]).
pub const PYTHON: &str = "python";

/// A problem found while checking a plan, with where it is and, for duplicates, where the
/// first one is (rendered as a note with its line).
#[derive(Debug, Clone)]
pub struct Problem {
    /// Where the problem is.
    pub loc: Loc,
    /// What is wrong and what to do (its place is filled in from `loc`).
    pub diag: Diagnostic,
    /// The earlier definition a duplicate clashes with.
    pub first: Option<Loc>,
}

impl Problem {
    /// A problem at `loc`.
    pub fn new(loc: Loc, message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            loc,
            diag: Diagnostic::bare(message).with_help(help),
            first: None,
        }
    }
}

/// The places of fields that failed to interpolate. FNV, not SipHash: every field of a big plan
/// is looked up here, and a plan's own paths need no protection from collisions.
pub type Failed = HashSet<Vec<Seg>, FnvBuildHasher>;

/// The interpolated copy of a plan, the problems found, and the paths whose interpolation failed
/// (so later checks do not report the same field twice).
pub struct Interpolated {
    /// The plan with every variable replaced (failed fields kept as written).
    pub plan: Plan,
    /// Unknown variables, bad placeholders, non-integer `runs`/`warmup`.
    pub problems: Vec<Problem>,
    /// Paths of fields that could not be interpolated.
    pub failed: Failed,
    /// The timeout of each step that has one (a service's `ready_timeout`), by step id.
    pub timeouts: BTreeMap<String, Duration>,
    /// The `max_time` of each suite that has one, by step id.
    pub max_times: BTreeMap<String, Duration>,
}

/// Plans of at least this many steps have their phases copied and interpolated in two halves,
/// the second on a thread of its own: below it, a thread costs more than it saves.
const HALVES_MIN: usize = 1000;

/// What interpolating some phases found.
#[derive(Default)]
struct Found {
    problems: Vec<Problem>,
    failed: Failed,
    timeouts: BTreeMap<String, Duration>,
    max_times: BTreeMap<String, Duration>,
}

impl Found {
    /// Interpolates the field `rel` of the step or gate at `base`.
    fn substitute(
        &mut self,
        s: &mut String,
        base: &[Seg],
        rel: Vec<Seg>,
        vars: &BTreeMap<String, String>,
        ctx: &str,
    ) {
        // Most strings name no variable: their path is only made for one that does.
        if needs_substitution(s) {
            let path = join(base, rel);
            substitute(s, path, vars, ctx, &mut self.problems, &mut self.failed);
        }
    }

    /// `later`'s findings after these: problems in the order of the phases.
    fn then(mut self, later: Found) -> Found {
        self.problems.extend(later.problems);
        self.failed.extend(later.failed);
        self.timeouts.extend(later.timeouts);
        self.max_times.extend(later.max_times);
        self
    }
}

/// Copies of `phases`, the first of which is phase `first` of the plan, interpolated.
fn interpolate_phases(
    phases: &[Phase],
    first: usize,
    vars: &BTreeMap<String, String>,
) -> (Vec<Phase>, Found) {
    let mut phases = phases.to_vec();
    let mut found = Found::default();
    for (k, phase) in phases.iter_mut().enumerate() {
        interpolate_phase(first + k, phase, vars, &mut found);
    }
    (phases, found)
}

/// Interpolates phase `p` in place.
fn interpolate_phase(
    p: usize,
    phase: &mut Phase,
    vars: &BTreeMap<String, String>,
    found: &mut Found,
) {
    let phase_id = phase.id.clone();
    for (i, step) in phase.steps.iter_mut().enumerate() {
        let ctx = format!("in step `{}`", step.id());
        let base = vec![
            Seg::from("phase"),
            Seg::Index(p),
            Seg::from("step"),
            Seg::Index(i),
        ];
        let raw = match &*step {
            Step::Suite(s) => [
                s.runs.clone(),
                s.warmup.clone(),
                s.min_runs.clone(),
                s.max_runs.clone(),
                s.shards.clone(),
            ],
            _ => [None, None, None, None, None],
        };
        step_strings(step, &mut |s, rel| {
            found.substitute(s, &base, rel, vars, &ctx)
        });
        resolve_ints(step, &raw, &base, &ctx, &found.failed, &mut found.problems);
        // An install without `python` goes into the plan's environment, `${python}`.
        if let Step::Install(s) = step {
            if s.python.is_none() {
                s.python = vars.get(PYTHON).cloned();
            }
        }
        let path = join(&base, vec![Seg::from("timeout")]);
        // A suite may say `timeout = "auto"`: its limit comes from what was measured.
        let auto = |t: &str| matches!(step, Step::Suite(_)) && t.trim() == AUTO;
        if let Some(text) = step
            .timeout()
            .filter(|t| !found.failed.contains(&path) && !auto(t))
        {
            match parse_timeout(text, &ctx) {
                Ok(d) => {
                    found.timeouts.insert(step.id().to_string(), d);
                }
                Err((message, help)) => {
                    found
                        .problems
                        .push(Problem::new(Loc::value(path), message, help))
                }
            }
        }
        // A service's time limit is the time `ready` has to succeed.
        let (key, text, into) = match &*step {
            Step::Service(s) => (
                "ready_timeout",
                s.ready_timeout.as_deref(),
                &mut found.timeouts,
            ),
            Step::Suite(s) => ("max_time", s.max_time.as_deref(), &mut found.max_times),
            _ => ("", None, &mut found.max_times),
        };
        let path = join(&base, vec![Seg::from(key)]);
        if let Some(text) = text.filter(|_| !found.failed.contains(&path)) {
            match parse_timeout(text, &ctx) {
                Ok(d) => {
                    into.insert(step.id().to_string(), d);
                }
                Err((message, help)) => found.problems.push(Problem::new(
                    Loc::value(path),
                    message.replacen("timeout", key, 1),
                    help.replace("`timeout`", &format!("`{key}`")),
                )),
            }
        }
    }
    for (g, gate) in phase.gates.iter_mut().enumerate() {
        let ctx = format!("in gate {} of phase `{phase_id}`", g + 1);
        let base = vec![
            Seg::from("phase"),
            Seg::Index(p),
            Seg::from("gate"),
            Seg::Index(g),
        ];
        gate_strings(gate, &mut |s, rel| {
            found.substitute(s, &base, rel, vars, &ctx)
        });
    }
}

/// Interpolates every step and gate string of `plan` with `vars`.
pub fn interpolate_plan(plan: &Plan, vars: &BTreeMap<String, String>) -> Interpolated {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    interpolate_in(plan, vars, cores > 1 && plan.steps().count() >= HALVES_MIN)
}

/// [`interpolate_plan`], in two halves when `halves` holds.
fn interpolate_in(plan: &Plan, vars: &BTreeMap<String, String>, halves: bool) -> Interpolated {
    let mid = if halves {
        plan.phases.len() / 2
    } else {
        plan.phases.len()
    };
    let (first, second) = plan.phases.split_at(mid);
    let ((mut phases, found), rest) = if second.is_empty() {
        (interpolate_phases(first, 0, vars), None)
    } else {
        std::thread::scope(|scope| {
            let later = scope.spawn(|| interpolate_phases(second, mid, vars));
            let done = interpolate_phases(first, 0, vars);
            match later.join() {
                Ok(later) => (done, Some(later)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    };
    let found = match rest {
        Some((later, more)) => {
            phases.extend(later);
            found.then(more)
        }
        None => found,
    };
    let Found {
        mut problems,
        mut failed,
        timeouts,
        max_times,
    } = found;
    let mut out = Plan {
        name: plan.name.clone(),
        description: plan.description.clone(),
        default_target: plan.default_target.clone(),
        vars: plan.vars.clone(),
        phases,
        stages: plan.stages.clone(),
    };
    for (k, stage) in out.stages.iter_mut().enumerate() {
        let ctx = format!("in stage `{}`", stage.id);
        for (name, value) in stage.env.iter_mut() {
            let path = vec![
                Seg::from("stage"),
                Seg::Index(k),
                Seg::from("env"),
                Seg::from(name.as_str()),
            ];
            substitute(value, path, vars, &ctx, &mut problems, &mut failed);
        }
        for (c, criterion) in stage.promote.iter_mut().enumerate() {
            let path = vec![
                Seg::from("stage"),
                Seg::Index(k),
                Seg::from("promote"),
                Seg::Index(c),
                Seg::from("check"),
            ];
            substitute(
                &mut criterion.check,
                path,
                vars,
                &ctx,
                &mut problems,
                &mut failed,
            );
        }
    }
    Interpolated {
        plan: out,
        problems,
        failed,
        timeouts,
        max_times,
    }
}

/// A step's timeout as a duration; the error is a message and a help line.
fn parse_timeout(text: &str, ctx: &str) -> Result<Duration, (String, &'static str)> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err((
            format!("timeout {ctx} is zero"),
            "give a positive duration such as `90s` or `5m`, or remove `timeout`",
        )),
        Ok(d) => Ok(d),
        Err(e) => Err((
            format!("timeout `{text}` {ctx} is not a duration: {e}"),
            "write a duration such as `90s`, `5m` or `1h 30m`",
        )),
    }
}

fn join(base: &[Seg], rel: Vec<Seg>) -> Vec<Seg> {
    let mut path = base.to_vec();
    path.extend(rel);
    path
}

/// Whether `s` names a variable or holds a NUL: what [`substitute`] has to look at.
fn needs_substitution(s: &str) -> bool {
    s.contains(['$', '\0'])
}

fn substitute(
    s: &mut String,
    path: Vec<Seg>,
    vars: &BTreeMap<String, String>,
    ctx: &str,
    problems: &mut Vec<Problem>,
    failed: &mut Failed,
) {
    // Most strings of a plan name no variable: leave them as they are, uncopied.
    if !needs_substitution(s) {
        return;
    }
    match interpolate_all(s, vars) {
        // No command, argument, environment value or file name can hold a NUL byte.
        Ok(text) if text.contains('\0') => {
            problems.push(Problem::new(
                Loc::value(path.clone()),
                format!("a value {ctx} contains a NUL character"),
                "remove the `\\u0000` (or the variable that brings it in)",
            ));
            failed.insert(path);
        }
        Ok(text) => *s = text,
        Err(errors) => {
            for e in errors {
                let help = match &e {
                    InterpError::Unknown { name, .. } => did_you_mean(name, vars.keys().map(String::as_str))
                        .unwrap_or_else(|| format!("define it in `[vars]` or pass `--var {name}=...`")),
                    InterpError::Unclosed { .. } => "close it with `}`, or write `$${` for a literal `${`".into(),
                    InterpError::BadName { .. } => {
                        "variable names are letters, digits, `_`, `-` and `.`; write `$${` for a literal `${`".into()
                    }
                };
                let loc = Loc::in_string(path.clone(), e.range());
                problems.push(Problem::new(loc, format!("{e} {ctx}"), help));
            }
            failed.insert(path);
        }
    }
}

/// Turns `runs`/`warmup`/`min_runs`/`max_runs` into checked integers (`runs` may also be
/// `"auto"`), the warmup default filled in (compile sets the others, which depend on the
/// gates); `raw` holds them as written, to name the variables used.
fn resolve_ints(
    step: &mut Step,
    raw: &[Option<IntOrVar>; 5],
    base: &[Seg],
    ctx: &str,
    failed: &Failed,
    problems: &mut Vec<Problem>,
) {
    let Step::Suite(suite) = step else {
        return;
    };
    let slots = [
        ("runs", &mut suite.runs, None, 1),
        ("warmup", &mut suite.warmup, Some(DEFAULT_WARMUP), 0),
        ("min_runs", &mut suite.min_runs, None, 1),
        ("max_runs", &mut suite.max_runs, None, 1),
        ("shards", &mut suite.shards, None, 1),
    ];
    for ((key, value, default, min), raw) in slots.into_iter().zip(raw) {
        let path = join(base, vec![Seg::from(key)]);
        if failed.contains(&path) {
            continue;
        }
        let written = match raw {
            Some(IntOrVar::Var(text)) => Some(text.as_str()),
            _ => None,
        };
        let parsed = match &*value {
            None => match default {
                Some(n) => Ok(n),
                None => continue,
            },
            Some(IntOrVar::Int(n)) => Ok(*n),
            Some(IntOrVar::Var(text)) if key == "runs" && text.trim() == AUTO => {
                *value = Some(IntOrVar::Var(AUTO.into()));
                continue;
            }
            Some(IntOrVar::Var(text)) if key == "warmup" && text.trim() == COLLECT => {
                *value = Some(IntOrVar::Var(COLLECT.into()));
                continue;
            }
            Some(IntOrVar::Var(text)) if key == "shards" && text.trim() == MATRIX => {
                *value = Some(IntOrVar::Var(MATRIX.into()));
                continue;
            }
            Some(IntOrVar::Var(text)) => text.trim().parse::<u32>().map_err(|_| text.clone()),
        };
        let default = default.unwrap_or(DEFAULT_RUNS);
        let least = if min == 0 {
            "a whole number (0 or more)".to_string()
        } else if key == "shards" {
            format!("a whole number of at least {min} or `\"{MATRIX}\"`")
        } else {
            format!("a whole number of at least {min}")
        };
        let got = |text: &str| match written.filter(|w| *w != text) {
            Some(w) => format!("`{w}` is `{text}`"),
            None => format!("it is `{text}`"),
        };
        let help = || match written.map(var_names).filter(|n| !n.is_empty()) {
            Some(names) => format!(
                "give {} {least}, e.g. `--var {}={}`",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                names[0],
                default.max(min)
            ),
            None => format!("write {least}, e.g. `{key} = {}`", default.max(min)),
        };
        match parsed {
            Ok(n) if n >= min => *value = Some(IntOrVar::Int(n)),
            Ok(n) => problems.push(Problem::new(
                Loc::value(path),
                format!(
                    "`{key}` {ctx} must be at least {min}, but {}",
                    got(&n.to_string())
                ),
                help(),
            )),
            Err(text) => problems.push(Problem::new(
                Loc::value(path),
                format!("`{key}` {ctx} must be {least}, but {}", got(&text)),
                help(),
            )),
        }
    }
}

/// Every variable name a plan refers to: in its steps, gates, stages, `[vars]` values and the
/// templates of its `write` steps (read from beside the plan, relative to `plan_dir`).
pub fn referenced(plan: &Plan, plan_dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut copy = plan.clone();
    let mut collect = |s: &mut String, _: Vec<Seg>| names.extend(var_names(s));
    for phase in &mut copy.phases {
        for step in &mut phase.steps {
            step_strings(step, &mut collect);
        }
        for gate in &mut phase.gates {
            gate_strings(gate, &mut collect);
        }
    }
    for stage in &copy.stages {
        for text in stage
            .env
            .values()
            .chain(stage.promote.iter().map(|c| &c.check))
        {
            names.extend(var_names(text));
        }
    }
    for value in plan.var_values().values() {
        names.extend(var_names(value));
    }
    for (_, step) in plan.steps() {
        if let Step::Write(w) = step {
            // A template outside the plan's directory is refused elsewhere; here it only adds names.
            if let Ok(text) = std::fs::read_to_string(plan_dir.join(&w.template)) {
                names.extend(var_names(&text));
            }
        }
    }
    names
}

/// The names of the `${name}` placeholders in `text`, in order.
fn var_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            rest = &rest[start + 2..];
            continue;
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
