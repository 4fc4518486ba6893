//! Interpolating a whole plan: every string field of steps and gates through `${vars}`, then
//! `runs`/`warmup` strings into integers; problems come back with their place in the file.

use std::collections::{BTreeMap, HashSet};

use super::diag::{did_you_mean, Diagnostic};
use super::fields::{gate_strings, step_strings};
use super::interp::{interpolate_all, InterpError};
use super::locate::{Loc, Seg};
use super::model::{IntOrVar, Plan, Step};

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

/// The interpolated copy of a plan, the problems found, and the paths whose interpolation failed
/// (so later checks do not report the same field twice).
pub struct Interpolated {
    /// The plan with every variable replaced (failed fields kept as written).
    pub plan: Plan,
    /// Unknown variables, bad placeholders, non-integer `runs`/`warmup`.
    pub problems: Vec<Problem>,
    /// Paths of fields that could not be interpolated.
    pub failed: HashSet<Vec<Seg>>,
}

/// Interpolates every step and gate string of `plan` with `vars`.
pub fn interpolate_plan(plan: &Plan, vars: &BTreeMap<String, String>) -> Interpolated {
    let mut out = plan.clone();
    let mut problems = Vec::new();
    let mut failed = HashSet::new();
    for (p, phase) in out.phases.iter_mut().enumerate() {
        let phase_id = phase.id.clone();
        for (i, step) in phase.steps.iter_mut().enumerate() {
            let ctx = format!("in step `{}`", step.id());
            let base = vec![
                Seg::from("phase"),
                Seg::Index(p),
                Seg::from("step"),
                Seg::Index(i),
            ];
            step_strings(step, &mut |s, rel| {
                substitute(s, join(&base, rel), vars, &ctx, &mut problems, &mut failed)
            });
            resolve_ints(step, &base, &ctx, &failed, &mut problems);
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
                substitute(s, join(&base, rel), vars, &ctx, &mut problems, &mut failed)
            });
        }
    }
    Interpolated {
        plan: out,
        problems,
        failed,
    }
}

fn join(base: &[Seg], rel: Vec<Seg>) -> Vec<Seg> {
    let mut path = base.to_vec();
    path.extend(rel);
    path
}

fn substitute(
    s: &mut String,
    path: Vec<Seg>,
    vars: &BTreeMap<String, String>,
    ctx: &str,
    problems: &mut Vec<Problem>,
    failed: &mut HashSet<Vec<Seg>>,
) {
    match interpolate_all(s, vars) {
        Ok(text) => *s = text,
        Err(errors) => {
            for e in errors {
                let help = match &e {
                    InterpError::Unknown { name, .. } => did_you_mean(name, vars.keys().map(String::as_str))
                        .unwrap_or_else(|| format!("define it in `[vars]` or pass `--var {name}=...`")),
                    InterpError::Unclosed { .. } => "close it with `}`, or write `$${` for a literal `${`".into(),
                    InterpError::BadName { .. } => {
                        "variable names are letters, digits, `_` and `-`; write `$${` for a literal `${`".into()
                    }
                };
                let loc = Loc::in_string(path.clone(), e.range());
                problems.push(Problem::new(loc, format!("{e} {ctx}"), help));
            }
            failed.insert(path);
        }
    }
}

/// Turns interpolated `runs`/`warmup` strings into integers.
fn resolve_ints(
    step: &mut Step,
    base: &[Seg],
    ctx: &str,
    failed: &HashSet<Vec<Seg>>,
    problems: &mut Vec<Problem>,
) {
    let Step::Suite(suite) = step else {
        return;
    };
    for (key, value) in [("runs", &mut suite.runs), ("warmup", &mut suite.warmup)] {
        let Some(IntOrVar::Var(text)) = value else {
            continue;
        };
        let path = join(base, vec![Seg::from(key)]);
        if failed.contains(&path) {
            continue;
        }
        match text.trim().parse::<u32>() {
            Ok(n) => *value = Some(IntOrVar::Int(n)),
            Err(_) => problems.push(Problem::new(
                Loc::value(path),
                format!("`{key}` {ctx} must be a whole number, but it is `{text}`"),
                format!("give `{key}` (or the variable it uses) a value such as `3`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(step: &str) -> Plan {
        toml::from_str(&format!(
            "name='x'\ndescription='d'\n[[phase]]\nid='p'\n[[phase.step]]\nid='s'\n{step}"
        ))
        .unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_string_field_is_interpolated_and_ints_resolved() {
        let p = plan(
            "action='suite'\ncommand='${py} -m pytest'\nrecord='r'\nruns='${n}'\nenv={A='${n}'}\n",
        );
        let out = interpolate_plan(&p, &vars(&[("py", "python3"), ("n", "5")]));
        assert!(out.problems.is_empty());
        let Step::Suite(s) = &out.plan.phases[0].steps[0] else {
            panic!()
        };
        assert_eq!(s.command, "python3 -m pytest");
        assert_eq!(s.runs, Some(IntOrVar::Int(5)));
        assert_eq!(s.env["A"], "5");
    }

    #[test]
    fn unknown_variables_and_non_integers_are_problems() {
        let p = plan("action='suite'\ncommand='${pi} x'\nrecord='r'\nruns='${n}'\nwarmup='${m}'\n");
        let out = interpolate_plan(&p, &vars(&[("py", "python3"), ("n", "many")]));
        let msgs: Vec<String> = out
            .problems
            .iter()
            .map(|p| p.diag.message.clone())
            .collect();
        assert_eq!(
            msgs,
            [
                "unknown variable `pi` in step `s`",
                "unknown variable `m` in step `s`",
                "`runs` in step `s` must be a whole number, but it is `many`",
            ]
        );
        assert_eq!(
            out.problems[0].diag.help.as_deref(),
            Some("did you mean `py`?")
        );
        assert_eq!(
            out.problems[0].loc,
            Loc::in_string(
                crate::plan::locate::at!["phase", 0, "step", 0, "command"],
                0..5
            )
        );
    }
}
