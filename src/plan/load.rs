//! Loading a plan file: bytes -> UTF-8 -> spanned TOML -> strict structural pass -> typed `Plan`,
//! every problem reported with its place. Never panics, whatever the bytes.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Diagnostics, Source};
use super::locate::{span_of, Loc};
use super::model::Plan;
use super::resolve::Problem;

/// Syntax errors reported per file at most; later ones are usually echoes of the first.
const MAX_SYNTAX_ERRORS: usize = 10;

/// A plan that parsed and has the right structure; its semantics are not checked yet.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    /// The plan file as given.
    pub path: PathBuf,
    /// The absolute directory of the plan file (templates and `default_target` are relative to it).
    pub dir: PathBuf,
    /// The file's text, for diagnostics.
    pub source: Arc<Source>,
    /// The typed model.
    pub plan: Plan,
}

impl LoadedPlan {
    /// Byte spans of places in the file (re-parses once: only needed when reporting problems).
    pub fn spans(&self, locs: &[Loc]) -> Vec<Range<usize>> {
        spans(&self.source, locs)
    }
}

pub(crate) fn spans(source: &Source, locs: &[Loc]) -> Vec<Range<usize>> {
    match DeTable::parse(&source.text) {
        Ok(root) => locs
            .iter()
            .map(|l| span_of(&root, &source.text, l))
            .collect(),
        Err(_) => locs.iter().map(|_| 0..0).collect(),
    }
}

/// Places every problem in the file (one parse for all), notes where duplicates were first
/// defined, and sorts them by position.
pub(crate) fn diagnose(source: &Arc<Source>, problems: Vec<Problem>) -> Diagnostics {
    let mut locs: Vec<Loc> = problems.iter().map(|p| p.loc.clone()).collect();
    locs.extend(problems.iter().filter_map(|p| p.first.clone()));
    let found = spans(source, &locs);
    let (at, firsts) = found.split_at(problems.len());
    let mut firsts = firsts.iter();
    let mut out = Diagnostics::new();
    for (problem, span) in problems.into_iter().zip(at) {
        let mut d = problem.diag;
        if problem.first.is_some() {
            if let Some(first) = firsts.next() {
                d = d.with_note(format!(
                    "first defined at line {}",
                    source.line_col(first.start).0
                ));
            }
        }
        d.source = Some(Arc::clone(source));
        d.span = Some(span.clone());
        out.push(d);
    }
    out.sort();
    out
}

/// The plan schema as JSON, computed once per process.
fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(super::schema::model_schema)
}

/// Reads and loads a plan file.
pub fn load(path: &Path) -> Result<LoadedPlan, Diagnostics> {
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::bare(format!("failed to read plan `{}`: {e}", path.display()))
            .with_help("check the path; plans are TOML files such as `plans/xdist.toml`")
    })?;
    load_bytes(path, &bytes)
}

/// Loads a plan from its bytes; `path` names it in diagnostics and anchors relative paths.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<LoadedPlan, Diagnostics> {
    let name = path.display().to_string();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(e) => {
            let source = Source::new(name, String::from_utf8_lossy(bytes).into_owned());
            let at = e.valid_up_to();
            let d = Diagnostic::at(&source, at..at + 1, "the plan is not valid UTF-8")
                .with_help("save the file as UTF-8");
            return Err(d.into());
        }
    };
    let source = Source::new(name, text);
    let plan = parse(&source)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = std::path::absolute(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .unwrap_or_else(|_| dir.to_path_buf());
    Ok(LoadedPlan {
        path: path.to_path_buf(),
        dir,
        source,
        plan,
    })
}

/// Parses the text of `source` into the typed model, reporting every problem found.
///
/// A plan that deserializes is one the strict pass finds nothing in (every struct of the model
/// denies unknown fields, and serde refuses every wrong type, value and range the schema does;
/// `fuzz_tests` checks it on generated plans), so the strict pass, a walk of the whole tree
/// against the schema, runs only for a plan serde refuses: on the tree parsed again, so that
/// its problems come with their places, all at once. A plan split into phases is read phase by
/// phase first ([`super::split`]); the whole-file parse is for what that does not take.
pub(super) fn parse(source: &Arc<Source>) -> Result<Plan, Diagnostics> {
    if let Some(plan) = super::split::parse(&source.text, structs_are_tables) {
        return Ok(plan);
    }
    if let Ok(root) = DeTable::parse(&source.text) {
        if structs_are_tables(root.get_ref()) {
            if let Ok(plan) = Plan::deserialize(toml::de::Deserializer::from(root)) {
                return Ok(plan);
            }
        }
    }
    parse_strictly(source)
}

/// The tables of the array of tables under `key` (none when absent); `None` when anything else
/// is there.
fn tables<'t, 'a>(t: &'t DeTable<'a>, key: &str) -> Option<Vec<&'t DeTable<'a>>> {
    match t.get(key).map(|v| v.get_ref()) {
        None => Some(Vec::new()),
        Some(DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            })
            .collect(),
        Some(_) => None,
    }
}

/// Whether every place the model has a struct holds a table: serde also builds a struct from an
/// array of its fields in order (`[vars] x = ["v"]`), which the schema (and so the strict pass)
/// refuses. Only the kinds are looked at, not the keys, so this costs little beside the parse.
pub(super) fn structs_are_tables(root: &DeTable<'_>) -> bool {
    let vars = match root.get("vars").map(|v| v.get_ref()) {
        None => true,
        Some(DeValue::Table(vars)) => vars
            .values()
            .all(|v| matches!(v.get_ref(), DeValue::String(_) | DeValue::Table(_))),
        Some(_) => false,
    };
    let phases = tables(root, "phase").is_some_and(|phases| {
        phases
            .iter()
            .all(|p| tables(p, "step").is_some() && tables(p, "gate").is_some())
    });
    let stages = tables(root, "stage")
        .is_some_and(|stages| stages.iter().all(|s| tables(s, "promote").is_some()));
    vars && phases && stages
}

/// The full pass: every syntax error, then every structural problem, then serde's own.
pub(super) fn parse_strictly(source: &Arc<Source>) -> Result<Plan, Diagnostics> {
    let (root, errors) = DeTable::parse_recoverable(&source.text);
    if !errors.is_empty() {
        let mut diags = Diagnostics::new();
        let mut seen = Vec::new();
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let key = (span.clone(), e.message().to_string());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if seen.len() > MAX_SYNTAX_ERRORS {
                break;
            }
            let message = format!("invalid TOML: {}", e.message().trim_end_matches('\n'));
            diags.push(
                Diagnostic::at(source, span, message)
                    .with_help("fix the syntax; a plan is a TOML file (https://toml.io)"),
            );
        }
        diags.sort();
        return Err(diags);
    }
    let problems = super::strict::check(&root, schema(), source);
    if !problems.is_empty() {
        let mut diags = Diagnostics::new();
        problems.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(diags);
    }
    Plan::deserialize(toml::de::Deserializer::from(root)).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Diagnostic::at(source, span, e.message().to_string())
            .with_help("compare with `planrun schema` or an example in plans/")
            .into()
    })
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
