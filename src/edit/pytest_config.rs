//! pytest's own configuration: the file pytest really reads (found in pytest's order), and edits
//! of its `addopts`, `markers` and other ini options, whatever the file's format.

use std::collections::BTreeMap;

use toml_edit::{Array, Item, TableLike, Value};

use super::addopts::{self, split_shell};
use super::error::EditError;
use super::format;
use super::ini;
use super::list::ListValue;
use super::toml;

/// The kinds of file pytest reads its configuration from, in the order it looks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `pytest.ini`: used even without a `[pytest]` section.
    PytestIni,
    /// `.pytest.ini`: like `pytest.ini`.
    DotPytestIni,
    /// `pyproject.toml` with `[tool.pytest.ini_options]`.
    Pyproject,
    /// `tox.ini` with `[pytest]`.
    ToxIni,
    /// `setup.cfg` with `[tool:pytest]`.
    SetupCfg,
}

const ORDER: [ConfigKind; 5] = [
    ConfigKind::PytestIni,
    ConfigKind::DotPytestIni,
    ConfigKind::Pyproject,
    ConfigKind::ToxIni,
    ConfigKind::SetupCfg,
];

/// The table of pytest's options in `pyproject.toml`.
const PYPROJECT_TABLE: &str = "tool.pytest.ini_options";

impl ConfigKind {
    /// The file name, relative to the target.
    pub fn path(self) -> &'static str {
        match self {
            ConfigKind::PytestIni => "pytest.ini",
            ConfigKind::DotPytestIni => ".pytest.ini",
            ConfigKind::Pyproject => "pyproject.toml",
            ConfigKind::ToxIni => "tox.ini",
            ConfigKind::SetupCfg => "setup.cfg",
        }
    }

    /// The INI section pytest reads (`None` for `pyproject.toml`).
    pub fn section(self) -> Option<&'static str> {
        match self {
            ConfigKind::PytestIni | ConfigKind::DotPytestIni | ConfigKind::ToxIni => Some("pytest"),
            ConfigKind::SetupCfg => Some("tool:pytest"),
            ConfigKind::Pyproject => None,
        }
    }
}

/// The configuration file to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Target-relative file name.
    pub path: &'static str,
    /// Its format and section.
    pub kind: ConfigKind,
    /// False when no file qualified and `pytest.ini` is to be created.
    pub exists: bool,
}

/// Finds the file pytest would read in the target's top directory; `read` gives a file's
/// content by target-relative name (`None` when missing).
pub fn locate(read: &dyn Fn(&str) -> Option<String>) -> Located {
    for kind in ORDER {
        let Some(text) = read(kind.path()) else {
            continue;
        };
        let qualifies = match kind {
            ConfigKind::PytestIni | ConfigKind::DotPytestIni => true,
            ConfigKind::Pyproject => toml::has_table(&text, PYPROJECT_TABLE),
            ConfigKind::ToxIni | ConfigKind::SetupCfg => kind
                .section()
                .is_some_and(|s| ini::has_section(&text, s).unwrap_or(false)),
        };
        if qualifies {
            return Located {
                path: kind.path(),
                kind,
                exists: true,
            };
        }
    }
    Located {
        path: ConfigKind::PytestIni.path(),
        kind: ConfigKind::PytestIni,
        exists: false,
    }
}

/// What to change in pytest's configuration. Applied in this order: set, addopts, markers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PytestOps {
    /// Options for `addopts`; an option already there gets the new value in place.
    pub addopts_add: Vec<String>,
    /// Options to drop from `addopts`, with their values.
    pub addopts_remove: Vec<String>,
    /// Other ini options to set, e.g. `testpaths`.
    pub set: BTreeMap<String, String>,
    /// Marker lines (`"slow: takes long"`) to register unless the name is registered already.
    pub markers_add: Vec<String>,
}

/// Applies `ops` to the content of a configuration file of `kind` (empty when it is new).
pub fn edit(kind: ConfigKind, old: &str, ops: &PytestOps) -> Result<String, EditError> {
    format::keeping(old, |plain| match kind.section() {
        Some(section) => edit_ini(plain, section, ops),
        None => edit_pyproject(plain, ops),
    })
}

/// The marker's name: what comes before its `:` description or `(` arguments.
fn marker_name(line: &str) -> &str {
    line.split([':', '(']).next().unwrap_or_default().trim()
}

fn lines(value: &str) -> Vec<String> {
    Some(value.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect()
}

fn edit_ini(old: &str, section: &str, ops: &PytestOps) -> Result<String, EditError> {
    let mut text = ini::edit(
        old,
        section,
        &ini::IniOps {
            set: ops.set.clone(),
            ..ini::IniOps::default()
        },
    )?;
    if !ops.addopts_add.is_empty() || !ops.addopts_remove.is_empty() {
        text = ini::edit_list(&text, section, "addopts", split_shell, false, |list| {
            addopts::apply(list, &ops.addopts_add, &ops.addopts_remove)
        })?;
    }
    if !ops.markers_add.is_empty() {
        text = ini::edit_list(&text, section, "markers", lines, true, |list| {
            // pytest reads markers line by line, so new ones always go on lines of their own.
            list.multiline = true;
            for marker in ops
                .markers_add
                .iter()
                .map(|m| m.trim())
                .filter(|m| !m.is_empty())
            {
                if !list
                    .texts()
                    .iter()
                    .any(|t| marker_name(t) == marker_name(marker))
                {
                    list.push_group(vec![marker.to_string()]);
                }
            }
        })?;
    }
    Ok(text)
}

fn edit_pyproject(old: &str, ops: &PytestOps) -> Result<String, EditError> {
    let mut doc = toml::parse(old)?;
    let adds = !ops.set.is_empty() || !ops.addopts_add.is_empty() || !ops.markers_add.is_empty();
    let Some(tbl) = toml::table_mut(&mut doc, PYPROJECT_TABLE, adds)? else {
        return Ok(old.to_string());
    };
    let mut changed = false;
    for (key, value) in &ops.set {
        let new = match tbl.get(key) {
            // pytest accepts a list for list-like options; keep the list form where it is used.
            Some(Item::Value(Value::Array(_))) if value.contains('\n') => {
                value.lines().flat_map(lines).collect()
            }
            Some(Item::Value(Value::Array(_))) => value.split_whitespace().collect(),
            _ => Value::from(value.as_str()),
        };
        changed |= toml::set_value(tbl, key, new);
    }
    if !ops.addopts_add.is_empty() || !ops.addopts_remove.is_empty() {
        changed |= pyproject_addopts(tbl, ops)?;
    }
    if !ops.markers_add.is_empty() {
        changed |= pyproject_markers(tbl, &ops.markers_add)?;
    }
    Ok(if changed {
        doc.to_string()
    } else {
        old.to_string()
    })
}

/// `addopts` as a string or a list, whichever the file uses (a string when new).
fn pyproject_addopts(tbl: &mut dyn TableLike, ops: &PytestOps) -> Result<bool, EditError> {
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
            Ok(!words.is_empty() && toml::set_value(tbl, "addopts", Value::from(words.join(" "))))
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
fn pyproject_markers(tbl: &mut dyn TableLike, markers: &[String]) -> Result<bool, EditError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn xdist() -> PytestOps {
        PytestOps {
            addopts_add: s(&["-n", "auto", "--dist", "worksteal"]),
            markers_add: s(&["slow: takes more than a second"]),
            ..PytestOps::default()
        }
    }

    fn files(list: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            list.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.to_string())
        }
    }

    #[test]
    fn locate_follows_pytests_order() {
        let all = files(&[
            ("setup.cfg", "[tool:pytest]\n"),
            ("tox.ini", "[pytest]\n"),
            ("pyproject.toml", "[tool.pytest.ini_options]\n"),
            ("pytest.ini", "# no section at all\n"),
        ]);
        assert_eq!(
            locate(&all),
            Located {
                path: "pytest.ini",
                kind: ConfigKind::PytestIni,
                exists: true
            }
        );
        let cfgs = files(&[
            ("setup.cfg", "[tool:pytest]\n"),
            ("tox.ini", "[tox]\n"),
            ("pyproject.toml", "[project]\n"),
        ]);
        assert_eq!(locate(&cfgs).kind, ConfigKind::SetupCfg);
        let tox = files(&[("setup.cfg", "[tool:pytest]\n"), ("tox.ini", "[pytest]\n")]);
        assert_eq!(locate(&tox).kind, ConfigKind::ToxIni);
        assert_eq!(locate(&files(&[(".pytest.ini", "")])).path, ".pytest.ini");
        let none = locate(&files(&[
            ("pyproject.toml", "[tool.black]\n"),
            ("setup.cfg", "[metadata]\n"),
        ]));
        assert_eq!(
            none,
            Located {
                path: "pytest.ini",
                kind: ConfigKind::PytestIni,
                exists: false
            }
        );
    }

    #[test]
    fn a_new_pytest_ini_gets_a_pytest_section() {
        let new = edit(ConfigKind::PytestIni, "", &xdist()).unwrap();
        assert_eq!(new, "[pytest]\naddopts = -n auto --dist worksteal\nmarkers =\n    slow: takes more than a second\n");
    }

    #[test]
    fn multi_line_addopts_in_pytest_ini_is_edited_in_place() {
        let old = "[pytest]\n# speed\naddopts =\n    -ra\n    -n 4\n    --strict-markers\nmarkers =\n    slow: slow tests\n";
        let new = edit(ConfigKind::PytestIni, old, &xdist()).unwrap();
        assert_eq!(
            new,
            "[pytest]\n# speed\naddopts =\n    -ra\n    -n auto\n    --strict-markers\n    --dist worksteal\nmarkers =\n    slow: slow tests\n"
        );
        assert_eq!(edit(ConfigKind::PytestIni, &new, &xdist()).unwrap(), new);
    }

    #[test]
    fn setup_cfg_and_tox_ini_use_their_sections() {
        let cfg = "[metadata]\nname = shop\n\n[tool:pytest]\naddopts = -q --dist=load\n\n[flake8]\nmax-line-length = 100\n";
        let new = edit(ConfigKind::SetupCfg, cfg, &xdist()).unwrap();
        assert_eq!(
            new,
            "[metadata]\nname = shop\n\n[tool:pytest]\naddopts = -q --dist=worksteal -n auto\nmarkers =\n    slow: takes more than a second\n\n[flake8]\nmax-line-length = 100\n"
        );
        let tox = "[tox]\nenvlist = py312\n\n[pytest]\nmarkers = slow: already here\n";
        let new = edit(
            ConfigKind::ToxIni,
            tox,
            &PytestOps {
                markers_add: s(&["slow(x): other", "db: uses db"]),
                ..PytestOps::default()
            },
        )
        .unwrap();
        assert_eq!(
            new,
            "[tox]\nenvlist = py312\n\n[pytest]\nmarkers = slow: already here\n    db: uses db\n"
        );
    }

    #[test]
    fn removing_addopts_drops_values_and_set_sets_other_options() {
        let old = "[pytest]\naddopts = -ra -n 4 --dist load -p no:cacheprovider\n";
        let ops = PytestOps {
            addopts_remove: s(&["-n", "--dist"]),
            set: [("testpaths".to_string(), "tests".to_string())].into(),
            ..PytestOps::default()
        };
        let new = edit(ConfigKind::PytestIni, old, &ops).unwrap();
        assert_eq!(
            new,
            "[pytest]\naddopts = -ra -p no:cacheprovider\ntestpaths = tests\n"
        );
    }

    const PYPROJECT: &str = "[project]\nname = \"shop\"\n\n[tool.pytest.ini_options]\n# strict by default\naddopts = [\"-ra\", \"-n\", \"4\"]  # keep short\nmarkers = [\n    \"db: touches the database\",\n]\n";

    #[test]
    fn pyproject_keeps_the_list_form_of_addopts() {
        let new = edit(ConfigKind::Pyproject, PYPROJECT, &xdist()).unwrap();
        assert_eq!(
            new,
            "[project]\nname = \"shop\"\n\n[tool.pytest.ini_options]\n# strict by default\naddopts = [\"-ra\", \"-n\", \"auto\", \"--dist\", \"worksteal\"]  # keep short\nmarkers = [\n    \"db: touches the database\",\n    \"slow: takes more than a second\",\n]\n"
        );
        assert_eq!(edit(ConfigKind::Pyproject, &new, &xdist()).unwrap(), new);
    }

    #[test]
    fn pyproject_keeps_the_string_form_and_creates_the_table() {
        let old = "[tool.pytest.ini_options]\naddopts = \"-ra -nauto\"\n";
        let new = edit(
            ConfigKind::Pyproject,
            old,
            &PytestOps {
                addopts_add: s(&["-n 8"]),
                ..PytestOps::default()
            },
        )
        .unwrap();
        assert_eq!(new, "[tool.pytest.ini_options]\naddopts = \"-ra -n8\"\n");
        let new = edit(ConfigKind::Pyproject, "[project]\nname = \"x\"\n", &xdist()).unwrap();
        assert_eq!(
            new,
            "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\naddopts = \"-n auto --dist worksteal\"\nmarkers = [\n    \"slow: takes more than a second\",\n]\n"
        );
    }

    #[test]
    fn no_op_edits_return_the_input() {
        let mixed = "[pytest]\r\nmarkers = slow: s\n    db: d\r\n";
        let ops = PytestOps {
            markers_add: s(&["db: again"]),
            ..PytestOps::default()
        };
        assert_eq!(edit(ConfigKind::PytestIni, mixed, &ops).unwrap(), mixed);
        let done = edit(
            ConfigKind::Pyproject,
            PYPROJECT,
            &PytestOps {
                addopts_add: s(&["-n", "4"]),
                ..PytestOps::default()
            },
        )
        .unwrap();
        assert_eq!(done, PYPROJECT);
        assert_eq!(
            edit(
                ConfigKind::ToxIni,
                "[tox]\n",
                &PytestOps {
                    addopts_remove: s(&["-x"]),
                    ..PytestOps::default()
                }
            )
            .unwrap(),
            "[tox]\n"
        );
    }

    proptest! {
        /// Any text in the file's addopts and in every list of the step: an edit or an error,
        /// never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            kind in prop_oneof![Just(ConfigKind::PytestIni), Just(ConfigKind::Pyproject), Just(ConfigKind::SetupCfg), Just(ConfigKind::ToxIni)],
            start in "\\PC{0,30}",
            add in prop::collection::vec(any::<String>(), 0..3),
            remove in prop::collection::vec(any::<String>(), 0..3),
            set in prop::collection::btree_map(any::<String>(), any::<String>(), 0..2),
            markers in prop::collection::vec(any::<String>(), 0..3),
        ) {
            let old = match kind {
                ConfigKind::Pyproject => format!("[tool.pytest.ini_options]\naddopts = {:?}\n", start),
                _ => format!("[{}]\naddopts = {start}\n", kind.section().unwrap()),
            };
            let ops = PytestOps { addopts_add: add, addopts_remove: remove, set, markers_add: markers };
            let _ = edit(kind, &old, &ops);
        }

        #[test]
        fn editing_twice_equals_editing_once(
            kind in prop_oneof![Just(ConfigKind::PytestIni), Just(ConfigKind::Pyproject), Just(ConfigKind::SetupCfg)],
            start in prop_oneof![Just(""), Just("-n 4 -q"), Just("-ra --dist=load -p no:x")],
            add in prop::collection::vec(prop_oneof![Just("-n auto"), Just("--dist worksteal"), Just("-q"), Just("-p xdist")], 0..3),
            remove in prop::collection::vec(prop_oneof![Just("-n"), Just("-q"), Just("-p no:x")], 0..2),
            markers in prop::collection::vec(prop_oneof![Just("slow: s"), Just("db"), Just("slow(x): again")], 0..3),
        ) {
            let old = match kind {
                ConfigKind::Pyproject => format!("[tool.pytest.ini_options]\naddopts = \"{start}\"\n"),
                _ => format!("[{}]\naddopts = {start}\n", kind.section().unwrap()),
            };
            let ops = PytestOps { addopts_add: s(&add), addopts_remove: s(&remove), markers_add: s(&markers), ..PytestOps::default() };
            let once = edit(kind, &old, &ops).unwrap();
            prop_assert_eq!(edit(kind, &once, &ops).unwrap(), once);
        }
    }
}
