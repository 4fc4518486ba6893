//! The interpolated string fields of steps and gates, each with its path in the plan file, so
//! interpolation and its diagnostics share one list (ids and `needs` are never interpolated).

use std::collections::BTreeMap;

use super::locate::Seg;
use super::model::{IntOrVar, Step};

/// A visitor over `(string, path relative to its step or gate)`.
pub type Visit<'f> = dyn FnMut(&mut String, Vec<Seg>) + 'f;

pub(crate) fn one(f: &mut Visit<'_>, key: &str, s: &mut String) {
    f(s, vec![Seg::from(key)]);
}

pub(crate) fn opt(f: &mut Visit<'_>, key: &str, s: &mut Option<String>) {
    if let Some(s) = s {
        one(f, key, s);
    }
}

pub(crate) fn list(f: &mut Visit<'_>, key: &str, items: &mut [String]) {
    for (i, s) in items.iter_mut().enumerate() {
        f(s, vec![Seg::from(key), Seg::Index(i)]);
    }
}

pub(crate) fn map(f: &mut Visit<'_>, key: &str, items: &mut BTreeMap<String, String>) {
    for (k, s) in items.iter_mut() {
        f(s, vec![Seg::from(key), Seg::Key(k.clone())]);
    }
}

pub(crate) fn map_list(f: &mut Visit<'_>, key: &str, items: &mut BTreeMap<String, Vec<String>>) {
    for (k, values) in items.iter_mut() {
        for (i, s) in values.iter_mut().enumerate() {
            f(s, vec![Seg::from(key), Seg::Key(k.clone()), Seg::Index(i)]);
        }
    }
}

fn json(f: &mut Visit<'_>, path: Vec<Seg>, value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => f(s, path),
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                json(f, p, v);
            }
        }
        serde_json::Value::Object(entries) => {
            for (k, v) in entries.iter_mut() {
                let mut p = path.clone();
                p.push(Seg::Key(k.clone()));
                json(f, p, v);
            }
        }
        _ => {}
    }
}

pub(crate) fn json_map(
    f: &mut Visit<'_>,
    key: &str,
    items: &mut BTreeMap<String, serde_json::Value>,
) {
    for (k, v) in items.iter_mut() {
        json(f, vec![Seg::from(key), Seg::Key(k.clone())], v);
    }
}

pub(crate) fn json_map_list(
    f: &mut Visit<'_>,
    key: &str,
    items: &mut BTreeMap<String, Vec<serde_json::Value>>,
) {
    for (k, values) in items.iter_mut() {
        for (i, v) in values.iter_mut().enumerate() {
            json(
                f,
                vec![Seg::from(key), Seg::Key(k.clone()), Seg::Index(i)],
                v,
            );
        }
    }
}

pub(crate) fn int_or_var(f: &mut Visit<'_>, key: &str, value: &mut Option<IntOrVar>) {
    if let Some(IntOrVar::Var(s)) = value {
        one(f, key, s);
    }
}

/// Calls `f` on every interpolated string of a step: its action's own (see
/// [`super::action::Written`]), then its `timeout` and `env`.
pub fn step_strings(step: &mut Step, f: &mut Visit<'_>) {
    step.own_strings(f);
    let (timeout, env) = match step {
        Step::Run(s) => (&mut s.timeout, &mut s.env),
        Step::Install(s) => (&mut s.timeout, &mut s.env),
        Step::Suite(s) => (&mut s.timeout, &mut s.env),
        _ => return,
    };
    opt(f, "timeout", timeout);
    map(f, "env", env);
}

/// Calls `f` on every interpolated string of a gate.
pub fn gate_strings(gate: &mut super::model::Gate, f: &mut Visit<'_>) {
    one(f, "check", &mut gate.check);
    opt(f, "why", &mut gate.why);
}
