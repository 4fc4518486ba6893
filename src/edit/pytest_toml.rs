//! pytest's options in TOML: `pytest.toml`'s `[pytest]` and `pyproject.toml`'s `[tool.pytest]`
//! (native values, pytest 9) and `[tool.pytest.ini_options]` (strings or lists of strings).

use toml_edit::{Array, Item, TableLike, Value};

use super::addopts::{self, split_shell};
use super::error::EditError;
use super::list::ListValue;
use super::pytest_files::ConfigKind;
use super::pytest_ops::{lines, marker_name, PytestOps};
use super::toml;

/// pytest's options whose TOML value is a list of strings (types `args`, `linelist`, `paths`).
const LIST_OPTIONS: &[&str] = &[
    "addopts",
    "doctest_optionflags",
    "filterwarnings",
    "markers",
    "norecursedirs",
    "python_classes",
    "python_files",
    "python_functions",
    "pythonpath",
    "required_plugins",
    "testpaths",
    "usefixtures",
];

/// pytest's options whose TOML value is a boolean (type `bool`, with the `xfail_strict` alias).
const BOOL_OPTIONS: &[&str] = &[
    "collect_imported_tests",
    "consider_namespace_packages",
    "enable_assertion_pass_hook",
    "faulthandler_exit_on_timeout",
    "junit_log_passing_tests",
    "log_cli",
    "strict",
    "strict_config",
    "strict_markers",
    "strict_parametrization_ids",
    "strict_xfail",
    "xfail_strict",
];

/// Applies `ops` to a TOML file holding pytest's table of `kind` (created when missing).
pub(super) fn edit(kind: ConfigKind, old: &str, ops: &PytestOps) -> Result<String, EditError> {
    let table = kind.table().unwrap_or("tool.pytest.ini_options");
    let native = kind.is_native();
    let mut doc = toml::parse(old)?;
    if kind == ConfigKind::PyprojectNative
        && toml::table_mut(&mut doc, "tool.pytest.ini_options", false)?.is_some()
    {
        return Err(EditError::TwoPytestTables);
    }
    let adds = !ops.set.is_empty() || !ops.addopts_add.is_empty() || !ops.markers_add.is_empty();
    // A file of comments only: toml_edit keeps them as the document's trailer, after any new
    // table; they stay on top, as the new table's prefix.
    let comments = (adds && doc.is_empty())
        .then(|| doc.trailing().as_str().unwrap_or_default().to_string())
        .filter(|c| !c.is_empty());
    let Some(tbl) = toml::table_mut(&mut doc, table, adds)? else {
        return Ok(old.to_string());
    };
    let mut changed = false;
    for (key, value) in &ops.set {
        let new = typed(key, value, tbl.get(key).and_then(Item::as_value), native);
        changed |= toml::set_value(tbl, key, new);
    }
    if !ops.addopts_add.is_empty() || !ops.addopts_remove.is_empty() {
        changed |= addopts_edit(tbl, ops, native)?;
    }
    if !ops.markers_add.is_empty() {
        changed |= markers_edit(tbl, &ops.markers_add)?;
    }
    if let Some(comments) = comments.filter(|_| changed) {
        if let Some(first) = first_explicit(doc.as_table_mut()) {
            first.decor_mut().set_prefix(comments);
            doc.set_trailing("");
        }
    }
    Ok(if changed {
        doc.to_string()
    } else {
        old.to_string()
    })
}

/// The first table that is written out (`[tool.pytest.ini_options]`, not its implicit parents).
fn first_explicit(table: &mut toml_edit::Table) -> Option<&mut toml_edit::Table> {
    let (_, item) = table.iter_mut().find(|(_, item)| item.is_table())?;
    let child = item.as_table_mut()?;
    if child.is_implicit() {
        first_explicit(child)
    } else {
        Some(child)
    }
}

/// The TOML value for a `set` option given as text: the type the file already uses for it;
/// when new, a string in ini mode (pytest reads every scalar as text there) and, in native
/// mode, the type pytest 9 checks the option against (a list, a boolean, else a string).
fn typed(key: &str, value: &str, existing: Option<&Value>, native: bool) -> Value {
    let list = || -> Value {
        if value.contains('\n') {
            value.lines().flat_map(lines).collect()
        } else {
            value.split_whitespace().collect()
        }
    };
    let boolean = match value.trim() {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    };
    match existing {
        Some(Value::Array(_)) => list(),
        Some(Value::Boolean(_)) => boolean.map_or_else(|| Value::from(value), Value::from),
        Some(Value::Integer(_)) => value
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::from(value), Value::from),
        Some(Value::Float(_)) => value
            .trim()
            .parse::<f64>()
            .map_or_else(|_| Value::from(value), Value::from),
        _ if !native => Value::from(value),
        _ if LIST_OPTIONS.contains(&key) => list(),
        _ if BOOL_OPTIONS.contains(&key) => boolean.map_or_else(|| Value::from(value), Value::from),
        _ => Value::from(value),
    }
}

/// `addopts` as a string or a list, whichever the file uses; when new, a list in native mode
/// (pytest 9 refuses a string there) and a string in ini mode.
fn addopts_edit(tbl: &mut dyn TableLike, ops: &PytestOps, native: bool) -> Result<bool, EditError> {
    let apply = |words: Vec<String>| {
        let mut list = ListValue::from_lines(vec![Some(words)]);
        addopts::apply(&mut list, &ops.addopts_add, &ops.addopts_remove);
        list.texts()
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
    };
    match tbl.get_mut("addopts") {
        Some(Item::Value(Value::Array(arr))) => {
            let old: Vec<String> = arr
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if old.len() != arr.len() {
                return Err(EditError::NotAnArray {
                    key: "addopts".into(),
                });
            }
            let new = apply(old.clone());
            if new == old {
                return Ok(false);
            }
            rebuild(arr, &new);
            Ok(true)
        }
        Some(Item::Value(Value::String(s))) => {
            let words = apply(split_shell(s.value()));
            Ok(toml::set_value(
                tbl,
                "addopts",
                Value::from(words.join(" ")),
            ))
        }
        None => {
            let words = apply(Vec::new());
            let value = match native {
                true => words.iter().map(String::as_str).collect(),
                false => Value::from(words.join(" ")),
            };
            Ok(!words.is_empty() && toml::set_value(tbl, "addopts", value))
        }
        Some(_) => Err(EditError::NotAnArray {
            key: "addopts".into(),
        }),
    }
}
/// Rewrites the array's strings to `texts`, keeping each position's formatting.
fn rebuild(arr: &mut Array, texts: &[String]) {
    let old: Vec<Value> = arr.iter().cloned().collect();
    arr.clear();
    for (i, text) in texts.iter().enumerate() {
        match old.get(i) {
            Some(o) if o.as_str() == Some(text) => arr.push_formatted(o.clone()),
            Some(o) => arr.push_formatted(
                Value::from(text.as_str()).decorated(
                    o.decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or_default(),
                    o.decor()
                        .suffix()
                        .and_then(|p| p.as_str())
                        .unwrap_or_default(),
                ),
            ),
            None => toml::push_like(arr, Value::from(text.as_str())),
        }
    }
}

/// `markers` as a list (one marker per line when new) or a multi-line string.
fn markers_edit(tbl: &mut dyn TableLike, markers: &[String]) -> Result<bool, EditError> {
    let mut changed = false;
    if !tbl.contains_key("markers") {
        let mut arr = Array::new();
        arr.set_trailing("\n");
        arr.set_trailing_comma(true);
        tbl.insert("markers", Item::Value(Value::Array(arr)));
    }
    match tbl.get_mut("markers") {
        Some(Item::Value(Value::Array(arr))) => {
            for marker in markers.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
                let known = arr
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| marker_name(t) == marker_name(marker));
                if !known {
                    match arr.is_empty() {
                        true => arr.push_formatted(Value::from(marker).decorated("\n    ", "")),
                        false => toml::push_like(arr, Value::from(marker)),
                    }
                    changed = true;
                }
            }
        }
        Some(Item::Value(Value::String(s))) => {
            let mut text = s.value().clone();
            for marker in markers.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
                if !text.lines().any(|t| marker_name(t) == marker_name(marker)) {
                    text = format!("{}\n{marker}", text.trim_end());
                }
            }
            changed = toml::set_value(tbl, "markers", Value::from(text.trim_start().to_string()));
        }
        _ => {
            return Err(EditError::NotAnArray {
                key: "markers".into(),
            })
        }
    }
    Ok(changed)
}
