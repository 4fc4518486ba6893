//! Recording requirements the way `poetry add --group` does: `[tool.poetry.group.<group>.dependencies]`,
//! one `name = "constraint"` key per package (the name as written, appended after the others),
//! so `poetry install --with <group>` installs them too. A project that still has the legacy
//! `[tool.poetry.dev-dependencies]` gets them there: a `group.dev` beside it would be a second
//! spelling of the same group. Formatting and comments of the rest of `pyproject.toml` are kept.

use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table, Value};

use super::error::EditError;
use super::pep508::Requirement;
use super::requirements::normalize;

/// Whether a `pyproject.toml` is a Poetry project (it has `[tool.poetry]`).
pub fn is_poetry(text: &str) -> bool {
    text.parse::<DocumentMut>()
        .ok()
        .and_then(|doc| doc.get("tool")?.get("poetry").map(|_| ()))
        .is_some()
}

/// Whether the project keeps its development dependencies in the legacy
/// `[tool.poetry.dev-dependencies]` table.
pub fn has_legacy_dev(text: &str) -> bool {
    super::format::strip_bom(text)
        .parse::<DocumentMut>()
        .ok()
        .and_then(|doc| {
            doc.get("tool")?
                .get("poetry")?
                .get("dev-dependencies")
                .map(|_| ())
        })
        .is_some()
}

/// Adds (or updates) `packages` in Poetry's dependency group `group` (the legacy
/// `dev-dependencies` table when the project has it and no `group.<group>` table); the text is
/// returned unchanged when every package is already there as asked.
pub fn add_dependencies(old: &str, group: &str, packages: &[String]) -> Result<String, EditError> {
    super::format::keeping(old, |plain| add_plain(plain, group, packages))
}

fn add_plain(old: &str, group: &str, packages: &[String]) -> Result<String, EditError> {
    let mut doc = super::toml::parse(old)?;
    let deps = dependencies_table(&mut doc, group)?;
    let mut changed = false;
    for package in packages {
        let req = Requirement::parse(package)
            .ok_or_else(|| EditError::BadRequirement(package.clone()))?;
        let name = req.key();
        let wanted = constraint(&req);
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
                deps[req.name] = value(wanted);
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

/// The group's dependencies table, made (as regular tables) when missing; the legacy
/// `dev-dependencies` table when there is one and the group has no table of its own.
fn dependencies_table<'d>(
    doc: &'d mut DocumentMut,
    group: &str,
) -> Result<&'d mut Table, EditError> {
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    let own = poetry
        .and_then(|p| p.get("group"))
        .and_then(Item::as_table_like)
        .is_some_and(|g| g.iter().any(|(k, _)| normalize(k) == normalize(group)));
    let legacy = poetry.is_some_and(|p| p.get("dev-dependencies").is_some());
    let group = poetry
        .and_then(|p| p.get("group"))
        .and_then(Item::as_table_like)
        .and_then(|g| {
            g.iter()
                .map(|(k, _)| k.to_string())
                .find(|k| normalize(k) == normalize(group))
        })
        .unwrap_or_else(|| group.to_string());
    let path: Vec<&str> = if legacy && !own {
        vec!["tool", "poetry", "dev-dependencies"]
    } else {
        vec!["tool", "poetry", "group", &group, "dependencies"]
    };
    let last = path.len() - 1;
    let shown = path.join(".");
    let mut tbl = doc.as_table_mut();
    for (i, key) in path.into_iter().enumerate() {
        let entry = tbl.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            // Intermediate tables stay implicit, so only the dependencies header is written.
            t.set_implicit(i != last);
            Item::Table(t)
        });
        tbl = entry.as_table_mut().ok_or_else(|| EditError::NotATable {
            path: shown.clone(),
        })?;
    }
    Ok(tbl)
}

/// Poetry's form of a PEP 508 requirement: `"*"`, `">=3.5"`, or a table with extras/markers.
fn constraint(req: &Requirement<'_>) -> Value {
    let spec = req.version.trim();
    let version = if spec.is_empty() { "*" } else { spec };
    if req.extras.is_empty() && req.marker.is_none() {
        return Value::from(version);
    }
    let mut table = InlineTable::new();
    table.insert("version", Value::from(version));
    if !req.extras.is_empty() {
        table.insert(
            "extras",
            Value::Array(req.extras.iter().copied().collect::<Array>()),
        );
    }
    if let Some(markers) = req.marker {
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
    fn a_legacy_dev_table_gets_them_and_no_group_is_made_beside_it() {
        let old = format!("{PROJECT}\n[tool.poetry.dev-dependencies]\npytest = \"^8.0\"\n\n[build-system]\nrequires = [\"poetry-core\"]\n");
        assert!(has_legacy_dev(&old) && !has_legacy_dev(PROJECT));
        let new = add_dependencies(&old, "dev", &["pytest-xdist>=3.5".to_string()]).unwrap();
        assert_eq!(
            new,
            old.replace(
                "pytest = \"^8.0\"\n",
                "pytest = \"^8.0\"\npytest-xdist = \">=3.5\"\n"
            )
        );
        // A group the project has keeps its own table.
        let both = format!("{old}\n[tool.poetry.group.Test.dependencies]\nhypothesis = \"*\"\n");
        let new = add_dependencies(&both, "test", &["pytest-xdist".to_string()]).unwrap();
        assert!(
            new.ends_with("hypothesis = \"*\"\npytest-xdist = \"*\"\n"),
            "{new}"
        );
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
