//! TOML edits (pyproject.toml) through toml_edit, so formatting and comments stay as they were.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Key, Table, TableLike, Value};

use super::error::EditError;
use super::format;

/// What to change in one table. Applied in this order: unset, set, remove, append; a key both
/// unset and set (or appended) is only set, and a value both removed and appended stays once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TomlOps {
    /// Keys to set to a value (JSON `null` is refused).
    pub set: BTreeMap<String, Json>,
    /// Keys to remove.
    pub unset: Vec<String>,
    /// Values to add to array keys, each kept once; the array is created when missing.
    pub append: BTreeMap<String, Vec<Json>>,
    /// Values to take out of array keys.
    pub remove: BTreeMap<String, Vec<Json>>,
}

/// Applies `ops` to the dotted `table` (e.g. `tool.pytest.ini_options`) of the TOML text `old`
/// (empty for a missing file); the table is created only when something is added to it.
pub fn edit(old: &str, table: &str, ops: &TomlOps) -> Result<String, EditError> {
    format::keeping(old, |plain| edit_plain(plain, table, ops))
}

fn edit_plain(old: &str, table: &str, ops: &TomlOps) -> Result<String, EditError> {
    let mut doc = parse(old)?;
    let adds = !ops.set.is_empty() || ops.append.values().any(|v| !v.is_empty());
    let Some(tbl) = table_mut(&mut doc, table, adds)? else {
        return Ok(old.to_string());
    };
    let mut changed = false;
    let kept = |k: &String| !ops.set.contains_key(k) && !ops.append.contains_key(k);
    for key in ops.unset.iter().filter(|k| kept(k)) {
        changed |= tbl.remove(key).is_some();
    }
    for (key, json) in &ops.set {
        changed |= set_value(tbl, key, to_toml(key, json)?);
    }
    for (key, values) in &ops.remove {
        if let Some(arr) = array_mut(tbl, key, false)? {
            // A value also appended stays where it is; removing it first would only move it.
            let appended = ops.append.get(key);
            let gone: Vec<&Json> = values
                .iter()
                .filter(|v| !appended.is_some_and(|a| a.contains(v)))
                .collect();
            changed |= retain(arr, |v| !gone.contains(&&to_json(v)));
        }
    }
    for (key, values) in ops.append.iter().filter(|(_, v)| !v.is_empty()) {
        let arr =
            array_mut(tbl, key, true)?.ok_or_else(|| EditError::NotAnArray { key: key.clone() })?;
        for json in values {
            if !arr.iter().any(|v| to_json(v) == *json) {
                push_like(arr, to_toml(key, json)?);
                changed = true;
            }
        }
    }
    Ok(if changed {
        doc.to_string()
    } else {
        old.to_string()
    })
}

/// Whether `text` parses and has the dotted table `table`.
pub fn has_table(text: &str, table: &str) -> bool {
    parse(format::strip_bom(text))
        .is_ok_and(|mut doc| matches!(table_mut(&mut doc, table, false), Ok(Some(_))))
}

/// Parses TOML, turning the parser's byte span into a line number.
pub(crate) fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| EditError::Toml {
        line: e.span().map_or(1, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        }),
        message: e.message().trim().to_string(),
    })
}

/// The table at a dotted path; with `create`, missing tables are made (intermediate ones
/// implicit, so `[tool.pytest.ini_options]` appears alone).
pub(crate) fn table_mut<'a>(
    doc: &'a mut DocumentMut,
    path: &str,
    create: bool,
) -> Result<Option<&'a mut dyn TableLike>, EditError> {
    let keys = if path.is_empty() {
        Vec::new()
    } else {
        Key::parse(path).map_err(|_| EditError::TablePath(path.to_string()))?
    };
    let mut tbl: &mut dyn TableLike = doc.as_table_mut();
    let mut inline = false;
    for (i, key) in keys.iter().enumerate() {
        let here = keys[..=i]
            .iter()
            .map(|k| k.get())
            .collect::<Vec<_>>()
            .join(".");
        if !tbl.contains_key(key.get()) {
            if !create {
                return Ok(None);
            }
            let new = if inline {
                Item::Value(Value::InlineTable(InlineTable::new()))
            } else {
                let mut t = Table::new();
                t.set_implicit(i + 1 < keys.len());
                Item::Table(t)
            };
            tbl.insert(key.get(), new);
        }
        let item = tbl
            .get_mut(key.get())
            .ok_or(EditError::NotATable { path: here.clone() })?;
        inline = item.is_inline_table();
        tbl = item
            .as_table_like_mut()
            .ok_or(EditError::NotATable { path: here })?;
    }
    Ok(Some(tbl))
}

/// Sets `key`, keeping the old value's surrounding spaces and comment; false when equal already.
pub(crate) fn set_value(tbl: &mut dyn TableLike, key: &str, new: Value) -> bool {
    match tbl.get_mut(key) {
        Some(Item::Value(old)) if to_json(old) == to_json(&new) => false,
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
            true
        }
        _ => {
            tbl.insert(key, Item::Value(new));
            true
        }
    }
}

/// The array at `key`, created empty when missing and `create`; an error when not an array.
pub(crate) fn array_mut<'a>(
    tbl: &'a mut dyn TableLike,
    key: &str,
    create: bool,
) -> Result<Option<&'a mut Array>, EditError> {
    if !tbl.contains_key(key) {
        if !create {
            return Ok(None);
        }
        tbl.insert(key, Item::Value(Value::Array(Array::new())));
    }
    match tbl.get_mut(key) {
        Some(Item::Value(Value::Array(arr))) => Ok(Some(arr)),
        _ => Err(EditError::NotAnArray {
            key: key.to_string(),
        }),
    }
}

/// Appends `value` formatted like the array's last element, so a one-per-line array stays one;
/// a comment after the old last element stays with it.
pub(crate) fn push_like(arr: &mut Array, value: Value) {
    let last_prefix = arr
        .iter()
        .last()
        .and_then(|v| v.decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_string);
    let prefix = match last_prefix {
        // Only the line break and indentation: any comment in it belongs to the line above.
        Some(p) if p.contains('\n') => p.rfind('\n').map(|i| p[i..].to_string()).unwrap_or(p),
        Some(p) if arr.len() >= 2 => p,
        _ => return arr.push(value),
    };
    let trailing = arr.trailing().as_str().unwrap_or_default().to_string();
    let (comment, prefix) = match trailing.find('\n') {
        Some(nl) if arr.trailing_comma() && trailing[..nl].contains('#') => {
            arr.set_trailing(&trailing[nl..]);
            (trailing[..nl].to_string(), prefix)
        }
        _ => (String::new(), prefix),
    };
    arr.push_formatted(value.decorated(format!("{comment}{prefix}"), ""));
}

/// Keeps the elements `keep` accepts; the new first element takes the old first one's spacing.
/// Returns whether anything was removed.
pub(crate) fn retain(arr: &mut Array, keep: impl Fn(&Value) -> bool) -> bool {
    let before = arr.len();
    let first_prefix = arr
        .get(0)
        .and_then(|v| v.decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_string);
    arr.retain(|v| keep(v));
    if let (Some(prefix), Some(first)) = (first_prefix, arr.get_mut(0)) {
        first.decor_mut().set_prefix(prefix);
    }
    arr.len() != before
}

/// A JSON value as TOML; integers stay integers.
pub(crate) fn to_toml(key: &str, json: &Json) -> Result<Value, EditError> {
    Ok(match json {
        Json::Null => {
            return Err(EditError::Null {
                key: key.to_string(),
            })
        }
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|j| to_toml(key, j))
                .collect::<Result<Array, _>>()?,
        ),
        Json::Object(map) => {
            let mut t = InlineTable::new();
            for (k, v) in map {
                t.insert(k, to_toml(key, v)?);
            }
            Value::InlineTable(t)
        }
    })
}

/// A TOML value as JSON, for comparing what is there with what is wanted.
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::String(s.value().clone()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f.value()).map_or(Json::Null, Json::Number)
        }
        Value::Boolean(b) => Json::Bool(*b.value()),
        Value::Datetime(d) => Json::String(d.value().to_string()),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::InlineTable(t) => {
            Json::Object(t.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const PYPROJECT: &str = r#"# Shop API
[project]
name = "shop-api"
dependencies = [
    "django>=5",  # the web framework
    "psycopg[binary]",
]

[tool.pytest.ini_options]
# keep the suite strict
addopts = ["-ra", "--strict-markers"]  # inline list
testpaths = ["tests"]

[tool.ruff]
line-length = 100
"#;

    fn set1(k: &str, v: Json) -> TomlOps {
        TomlOps {
            set: [(k.to_string(), v)].into(),
            ..TomlOps::default()
        }
    }

    fn append1(k: &str, v: Vec<Json>) -> TomlOps {
        TomlOps {
            append: [(k.to_string(), v)].into(),
            ..TomlOps::default()
        }
    }

    const T: &str = "tool.pytest.ini_options";

    #[test]
    fn set_keeps_comments_and_the_value_trailing_comment() {
        let new = edit(PYPROJECT, T, &set1("addopts", json!(["-q"]))).unwrap();
        assert_eq!(
            new,
            PYPROJECT.replace(r#"["-ra", "--strict-markers"]"#, r#"["-q"]"#)
        );
        let new = edit(PYPROJECT, T, &set1("xfail_strict", json!(true))).unwrap();
        assert_eq!(
            new,
            PYPROJECT.replace(
                "testpaths = [\"tests\"]\n",
                "testpaths = [\"tests\"]\nxfail_strict = true\n"
            )
        );
    }

    #[test]
    fn equal_values_leave_the_file_untouched() {
        let ops = TomlOps {
            set: [("testpaths".to_string(), json!(["tests"]))].into(),
            append: [("addopts".to_string(), vec![json!("-ra")])].into(),
            unset: vec!["missing".into()],
            remove: [("addopts".to_string(), vec![json!("-x")])].into(),
        };
        assert_eq!(edit(PYPROJECT, T, &ops).unwrap(), PYPROJECT);
        assert_eq!(
            edit(
                PYPROJECT,
                "tool.nothing",
                &TomlOps {
                    unset: vec!["a".into()],
                    ..TomlOps::default()
                }
            )
            .unwrap(),
            PYPROJECT
        );
    }

    #[test]
    fn append_and_remove_keep_the_array_layout() {
        let new = edit(
            PYPROJECT,
            T,
            &append1("addopts", vec![json!("-n"), json!("auto")]),
        )
        .unwrap();
        assert!(
            new.contains(r#"addopts = ["-ra", "--strict-markers", "-n", "auto"]  # inline list"#),
            "{new}"
        );
        let new = edit(
            PYPROJECT,
            "project",
            &append1("dependencies", vec![json!("redis")]),
        )
        .unwrap();
        assert!(
            new.contains("    \"psycopg[binary]\",\n    \"redis\",\n]"),
            "{new}"
        );
        let ops = TomlOps {
            remove: [("addopts".to_string(), vec![json!("-ra")])].into(),
            ..TomlOps::default()
        };
        let new = edit(PYPROJECT, T, &ops).unwrap();
        assert!(
            new.contains(r#"addopts = ["--strict-markers"]  # inline list"#),
            "{new}"
        );
    }

    #[test]
    fn missing_tables_are_created_with_implicit_parents() {
        let new = edit(
            "[project]\nname = \"x\"\n",
            T,
            &set1("addopts", json!("-q")),
        )
        .unwrap();
        assert_eq!(
            new,
            "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n"
        );
        assert_eq!(
            edit("", "tool.x", &set1("n", json!(2))).unwrap(),
            "[tool.x]\nn = 2\n"
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let err = edit("a = 1\nb = \n", T, &set1("x", json!(1))).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid toml at line 2: "),
            "{err}"
        );
        let err = edit("tool = 1\n", T, &set1("x", json!(1))).unwrap_err();
        assert_eq!(err.to_string(), "`tool` is not a table");
        let err = edit(PYPROJECT, T, &append1("testpaths", vec![json!("x")]))
            .and(edit("[a]\nk = 1\n", "a", &append1("k", vec![json!(1)])))
            .unwrap_err();
        assert_eq!(err.to_string(), "`k` is not an array");
        assert_eq!(
            edit("", "a", &set1("k", Json::Null))
                .unwrap_err()
                .to_string(),
            "`k`: null has no toml form"
        );
    }

    #[test]
    fn inline_tables_on_the_path_are_followed() {
        let new = edit(
            "tool = { pytest = { ini_options = { addopts = \"-q\" } } }\n",
            T,
            &set1("addopts", json!("-x")),
        )
        .unwrap();
        assert_eq!(
            new,
            "tool = { pytest = { ini_options = { addopts = \"-x\" } } }\n"
        );
    }

    fn arb_json() -> impl Strategy<Value = Json> {
        prop_oneof![
            Just(json!("-q")),
            Just(json!("-n")),
            Just(json!(1)),
            Just(json!(true)),
            Just(json!(["a", "b"])),
            Just(json!({"k": "v"})),
            "\\PC{0,6}".prop_map(Json::String),
        ]
    }

    proptest! {
        /// Any text as the file, the table path, the keys and the values: an edit or an error,
        /// never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            doc in prop_oneof![Just(PYPROJECT.to_string()), any::<String>()],
            table in any::<String>(),
            set in prop::collection::btree_map(any::<String>(), any::<String>().prop_map(Json::String), 0..3),
            unset in prop::collection::vec(any::<String>(), 0..2),
            append in prop::collection::btree_map(any::<String>(), prop::collection::vec(any::<String>().prop_map(Json::String), 0..3), 0..2),
        ) {
            let ops = TomlOps { set, unset, append: append.clone(), remove: append };
            let _ = edit(&doc, &table, &ops);
            let _ = has_table(&doc, &table);
        }

        #[test]
        fn editing_twice_equals_editing_once(
            doc in prop_oneof![Just(PYPROJECT.to_string()), Just(String::new()), Just("[tool.pytest.ini_options]\naddopts = [\n  \"-q\",\n]\n".to_string())],
            set in prop::collection::btree_map(prop_oneof![Just("addopts".to_string()), Just("x".to_string())], arb_json(), 0..2),
            unset in prop::collection::vec(prop_oneof![Just("addopts".to_string()), Just("testpaths".to_string())], 0..2),
            append in prop::collection::btree_map(prop_oneof![Just("markers".to_string()), Just("testpaths".to_string())], prop::collection::vec(arb_json(), 0..3), 0..2),
            remove in prop::collection::btree_map(prop_oneof![Just("markers".to_string()), Just("testpaths".to_string())], prop::collection::vec(arb_json(), 0..3), 0..2),
        ) {
            let ops = TomlOps { set, unset, append, remove };
            if let Ok(once) = edit(&doc, T, &ops) {
                prop_assert_eq!(edit(&once, T, &ops).unwrap(), once.clone());
                prop_assert!(once.parse::<DocumentMut>().is_ok());
            }
        }

    }
}
