//! The interpolated string fields of steps and gates, each with its path in the plan file, so
//! interpolation and its diagnostics share one list (ids and `needs` are never interpolated).

use std::collections::BTreeMap;

use super::locate::Seg;
use super::model::{IntOrVar, Step};

/// A visitor over `(string, path relative to its step or gate)`.
pub type Visit<'f> = dyn FnMut(&mut String, Vec<Seg>) + 'f;

fn one(f: &mut Visit<'_>, key: &str, s: &mut String) {
    f(s, vec![Seg::from(key)]);
}

fn opt(f: &mut Visit<'_>, key: &str, s: &mut Option<String>) {
    if let Some(s) = s {
        one(f, key, s);
    }
}

fn list(f: &mut Visit<'_>, key: &str, items: &mut [String]) {
    for (i, s) in items.iter_mut().enumerate() {
        f(s, vec![Seg::from(key), Seg::Index(i)]);
    }
}

fn map(f: &mut Visit<'_>, key: &str, items: &mut BTreeMap<String, String>) {
    for (k, s) in items.iter_mut() {
        f(s, vec![Seg::from(key), Seg::Key(k.clone())]);
    }
}

fn map_list(f: &mut Visit<'_>, key: &str, items: &mut BTreeMap<String, Vec<String>>) {
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

fn json_map(f: &mut Visit<'_>, key: &str, items: &mut BTreeMap<String, serde_json::Value>) {
    for (k, v) in items.iter_mut() {
        json(f, vec![Seg::from(key), Seg::Key(k.clone())], v);
    }
}

fn json_map_list(
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

fn int_or_var(f: &mut Visit<'_>, key: &str, value: &mut Option<IntOrVar>) {
    if let Some(IntOrVar::Var(s)) = value {
        one(f, key, s);
    }
}

/// Calls `f` on every interpolated string of a step.
pub fn step_strings(step: &mut Step, f: &mut Visit<'_>) {
    match step {
        Step::Run(s) => {
            one(f, "command", &mut s.command);
            opt(f, "undo", &mut s.undo);
            list(f, "changes", &mut s.changes);
        }
        Step::Install(s) => {
            list(f, "packages", &mut s.packages);
            opt(f, "python", &mut s.python);
            opt(f, "base_python", &mut s.base_python);
            opt(f, "record_in", &mut s.record_in);
            opt(f, "group", &mut s.group);
        }
        Step::Write(s) => {
            one(f, "template", &mut s.template);
            one(f, "path", &mut s.path);
            opt(f, "mode", &mut s.mode);
        }
        Step::Replace(s) => {
            one(f, "path", &mut s.path);
            one(f, "pattern", &mut s.pattern);
            one(f, "replacement", &mut s.replacement);
        }
        Step::Ini(s) => {
            one(f, "path", &mut s.path);
            one(f, "section", &mut s.section);
            map(f, "set", &mut s.set);
            list(f, "unset", &mut s.unset);
            map_list(f, "append", &mut s.append);
            map_list(f, "remove", &mut s.remove);
        }
        Step::Toml(s) => {
            one(f, "path", &mut s.path);
            one(f, "table", &mut s.table);
            json_map(f, "set", &mut s.set);
            list(f, "unset", &mut s.unset);
            json_map_list(f, "append", &mut s.append);
            json_map_list(f, "remove", &mut s.remove);
        }
        Step::PytestConfig(s) => {
            list(f, "addopts_add", &mut s.addopts_add);
            list(f, "addopts_remove", &mut s.addopts_remove);
            map(f, "set", &mut s.set);
            list(f, "markers_add", &mut s.markers_add);
        }
        Step::Suite(s) => {
            one(f, "command", &mut s.command);
            one(f, "record", &mut s.record);
            int_or_var(f, "runs", &mut s.runs);
            int_or_var(f, "warmup", &mut s.warmup);
            int_or_var(f, "min_runs", &mut s.min_runs);
            int_or_var(f, "shards", &mut s.shards);
            int_or_var(f, "max_runs", &mut s.max_runs);
            opt(f, "max_time", &mut s.max_time);
            list(f, "coverage_source", &mut s.coverage_source);
        }
        Step::Mark(s) => {
            one(f, "from", &mut s.from);
            opt(f, "durations", &mut s.durations);
            opt(f, "conftest", &mut s.conftest);
        }
        Step::Service(s) => {
            one(f, "command", &mut s.command);
            opt(f, "ready", &mut s.ready);
            opt(f, "ready_timeout", &mut s.ready_timeout);
            opt(f, "stop", &mut s.stop);
            map(f, "export", &mut s.export);
            map(f, "env", &mut s.env);
        }
    }
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
