//! Recording requirements the way Poetry does: `[tool.poetry.group.<group>.dependencies]`, one
//! `name = "constraint"` key per package, so `poetry install --with dev` installs them too.
//! Formatting and comments of the rest of `pyproject.toml` are kept (toml_edit).

use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table, Value};

use super::error::EditError;
use super::requirements::{normalize, project_name};

/// Whether a `pyproject.toml` is a Poetry project (it has `[tool.poetry]`).
pub fn is_poetry(text: &str) -> bool {
    text.parse::<DocumentMut>()
        .ok()
        .and_then(|doc| doc.get("tool")?.get("poetry").map(|_| ()))
        .is_some()
}

/// Adds (or updates) `packages` in Poetry's dependency group `group`; the text is returned
/// unchanged when every package is already there as asked.
pub fn add_dependencies(old: &str, group: &str, packages: &[String]) -> Result<String, EditError> {
    let mut doc = super::toml::parse(old)?;
    let deps = dependencies_table(&mut doc, group)?;
    let mut changed = false;
    for package in packages {
        let name =
            project_name(package).ok_or_else(|| EditError::BadRequirement(package.clone()))?;
        let wanted = constraint(package);
        let key = deps
            .iter()
            .map(|(k, _)| k.to_string())
            .find(|k| normalize(k) == name);
        match key {
            Some(k) if same_value(deps.get(&k), &wanted) => {}
            Some(k) => {
                deps[&k] = value(wanted);
                changed = true;
            }
            None => {
                deps[written_name(package)] = value(wanted);
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

/// Whether an existing entry already says what `wanted` says (formatting aside).
fn same_value(item: Option<&Item>, wanted: &Value) -> bool {
    item.and_then(Item::as_value)
        .is_some_and(|v| v.to_string().trim() == wanted.to_string().trim())
}

/// The group's dependencies table, made (as regular tables) when missing.
fn dependencies_table<'d>(
    doc: &'d mut DocumentMut,
    group: &str,
) -> Result<&'d mut Table, EditError> {
    let mut tbl = doc.as_table_mut();
    for key in ["tool", "poetry", "group", group, "dependencies"] {
        let entry = tbl.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            // Intermediate tables stay implicit, so only the dependencies header is written.
            t.set_implicit(key != "dependencies");
            Item::Table(t)
        });
        tbl = entry.as_table_mut().ok_or_else(|| EditError::NotATable {
            path: format!("tool.poetry.group.{group}.dependencies"),
        })?;
    }
    Ok(tbl)
}

/// The package's name as the plan wrote it (Poetry keys are names, compared normalized).
fn written_name(requirement: &str) -> &str {
    let req = requirement.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    &req[..end]
}

/// Poetry's form of a PEP 508 requirement: `"*"`, `">=3.5"`, or a table with extras/markers.
fn constraint(requirement: &str) -> Value {
    let req = requirement.trim();
    let rest = req[written_name(req).len()..].trim();
    let (rest, markers) = match rest.split_once(';') {
        Some((spec, markers)) => (spec.trim(), Some(markers.trim())),
        None => (rest, None),
    };
    let (extras, spec) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((extras, spec)) => (
            extras
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect::<Vec<_>>(),
            spec.trim(),
        ),
        None => (Vec::new(), rest),
    };
    let version = if spec.is_empty() { "*" } else { spec };
    if extras.is_empty() && markers.is_none() {
        return Value::from(version);
    }
    let mut table = InlineTable::new();
    table.insert("version", Value::from(version));
    if !extras.is_empty() {
        table.insert(
            "extras",
            Value::Array(extras.into_iter().collect::<Array>()),
        );
    }
    if let Some(markers) = markers {
        table.insert("markers", Value::from(markers));
    }
    Value::InlineTable(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = "[tool.poetry]\nname = \"shop\"  # the app\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\n";

    #[test]
    fn packages_go_into_the_dev_group_with_poetry_constraints() {
        assert!(is_poetry(PROJECT));
        assert!(!is_poetry("[project]\nname = \"x\"\n"));
        let packs = ["pytest-xdist>=3.5".to_string(), "pytest".to_string()];
        let new = add_dependencies(PROJECT, "dev", &packs).unwrap();
        assert_eq!(
            new,
            format!(
                "{PROJECT}\n[tool.poetry.group.dev.dependencies]\npytest-xdist = \">=3.5\"\npytest = \"*\"\n"
            )
        );
        assert_eq!(
            add_dependencies(&new, "dev", &packs).unwrap(),
            new,
            "idempotent"
        );
        let bumped = add_dependencies(&new, "dev", &["Pytest_Xdist>=3.6".to_string()]).unwrap();
        assert!(bumped.contains("pytest-xdist = \">=3.6\""), "{bumped}");
    }

    #[test]
    fn extras_and_markers_become_a_table() {
        let new = add_dependencies(
            PROJECT,
            "test",
            &["coverage[toml]>=7; python_version >= '3.8'".to_string()],
        )
        .unwrap();
        assert!(
            new.contains(
                "coverage = { version = \">=7\", extras = [\"toml\"], markers = \"python_version >= '3.8'\" }"
            ),
            "{new}"
        );
    }
}
