//! pytest's own configuration: edits of its `addopts`, `markers` and other options in the file
//! pytest really reads (see [`super::pytest_files`]), whatever the file's format.

use super::addopts::{self, split_shell};
use super::error::EditError;
use super::format;
use super::ini;
use super::pytest_ops::{lines, marker_name};
use super::pytest_toml;

pub use super::pytest_ops::PytestOps;

pub use super::pytest_files::{locate, locate_for, ConfigKind, Generation, Located};

/// Applies `ops` to the content of a configuration file of `kind` (empty when it is new).
pub fn edit(kind: ConfigKind, old: &str, ops: &PytestOps) -> Result<String, EditError> {
    format::keeping(old, |plain| match kind.section() {
        Some(section) => edit_ini(plain, section, ops),
        None => pytest_toml::edit(kind, plain, ops),
    })
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

    #[test]
    fn native_tables_get_toml_values() {
        let old = "[project]\nname = \"shop\"\n\n[tool.pytest]\nstrict = true\naddopts = [\"-ra\"]  # short\n";
        let new = edit(ConfigKind::PyprojectNative, old, &xdist()).unwrap();
        assert_eq!(
            new,
            "[project]\nname = \"shop\"\n\n[tool.pytest]\nstrict = true\naddopts = [\"-ra\", \"-n\", \"auto\", \"--dist\", \"worksteal\"]  # short\nmarkers = [\n    \"slow: takes more than a second\",\n]\n"
        );
        assert_eq!(
            edit(ConfigKind::PyprojectNative, &new, &xdist()).unwrap(),
            new
        );
        let bare = "[tool.pytest]\nminversion = \"9.0\"\n";
        let ops = PytestOps {
            addopts_add: s(&["-p", "no:cacheprovider"]),
            set: [
                ("xfail_strict".to_string(), "true".to_string()),
                ("testpaths".to_string(), "tests docs".to_string()),
                ("minversion".to_string(), "9.0".to_string()),
                ("timeout".to_string(), "300".to_string()),
            ]
            .into(),
            ..PytestOps::default()
        };
        assert_eq!(
            edit(ConfigKind::PyprojectNative, bare, &ops).unwrap(),
            "[tool.pytest]\nminversion = \"9.0\"\ntestpaths = [\"tests\", \"docs\"]\ntimeout = \"300\"\nxfail_strict = true\naddopts = [\"-p\", \"no:cacheprovider\"]\n"
        );
        // The same options in ini mode stay text, as pytest reads them there.
        assert_eq!(
            edit(ConfigKind::Pyproject, "[tool.pytest.ini_options]\n", &ops).unwrap(),
            "[tool.pytest.ini_options]\nminversion = \"9.0\"\ntestpaths = \"tests docs\"\ntimeout = \"300\"\nxfail_strict = \"true\"\naddopts = \"-p no:cacheprovider\"\n"
        );
    }

    #[test]
    fn pytest_toml_gets_its_pytest_table() {
        let new = edit(ConfigKind::PytestToml, "# pytest's own file\n", &xdist()).unwrap();
        assert_eq!(
            new,
            "# pytest's own file\n[pytest]\naddopts = [\"-n\", \"auto\", \"--dist\", \"worksteal\"]\nmarkers = [\n    \"slow: takes more than a second\",\n]\n"
        );
        // In pyproject.toml the table is dotted: made as `[tool.pytest.ini_options]`.
        assert_eq!(
            edit(ConfigKind::Pyproject, "# only a comment\n", &xdist()).unwrap(),
            "# only a comment\n[tool.pytest.ini_options]\naddopts = \"-n auto --dist worksteal\"\nmarkers = [\n    \"slow: takes more than a second\",\n]\n"
        );
        let kept = "[pytest]\nstrict = true\naddopts = [\n  \"-ra\",\n  \"-n\", \"4\",\n]\n";
        assert_eq!(
            edit(ConfigKind::DotPytestToml, kept, &xdist()).unwrap(),
            "[pytest]\nstrict = true\naddopts = [\n  \"-ra\",\n  \"-n\", \"auto\", \"--dist\", \"worksteal\",\n]\nmarkers = [\n    \"slow: takes more than a second\",\n]\n"
        );
    }

    #[test]
    fn both_pyproject_tables_are_refused_as_pytest_refuses_them() {
        let both = "[tool.pytest]\nstrict = true\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n";
        let err = edit(ConfigKind::PyprojectNative, both, &xdist()).unwrap_err();
        assert_eq!(err, EditError::TwoPytestTables);
        assert!(err.to_string().contains("move the options"), "{err}");
    }

    proptest! {
        /// Any text in the file's addopts and in every list of the step: an edit or an error,
        /// never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            kind in prop_oneof![Just(ConfigKind::PytestIni), Just(ConfigKind::Pyproject), Just(ConfigKind::PyprojectNative), Just(ConfigKind::PytestToml), Just(ConfigKind::SetupCfg), Just(ConfigKind::ToxIni)],
            start in "\\PC{0,30}",
            add in prop::collection::vec(any::<String>(), 0..3),
            remove in prop::collection::vec(any::<String>(), 0..3),
            set in prop::collection::btree_map(any::<String>(), any::<String>(), 0..2),
            markers in prop::collection::vec(any::<String>(), 0..3),
        ) {
            let old = match kind {
                ConfigKind::Pyproject => format!("[tool.pytest.ini_options]\naddopts = {:?}\n", start),
                ConfigKind::PyprojectNative => format!("[tool.pytest]\naddopts = [{:?}]\n", start),
                ConfigKind::PytestToml => format!("[pytest]\naddopts = {:?}\n", start),
                _ => format!("[{}]\naddopts = {start}\n", kind.section().unwrap()),
            };
            let ops = PytestOps { addopts_add: add, addopts_remove: remove, set, markers_add: markers };
            let _ = edit(kind, &old, &ops);
        }

        #[test]
        fn editing_twice_equals_editing_once(
            kind in prop_oneof![Just(ConfigKind::PytestIni), Just(ConfigKind::Pyproject), Just(ConfigKind::PyprojectNative), Just(ConfigKind::PytestToml), Just(ConfigKind::SetupCfg)],
            start in prop_oneof![Just(""), Just("-n 4 -q"), Just("-ra --dist=load -p no:x")],
            add in prop::collection::vec(prop_oneof![Just("-n auto"), Just("--dist worksteal"), Just("-q"), Just("-p xdist")], 0..3),
            remove in prop::collection::vec(prop_oneof![Just("-n"), Just("-q"), Just("-p no:x")], 0..2),
            markers in prop::collection::vec(prop_oneof![Just("slow: s"), Just("db"), Just("slow(x): again")], 0..3),
        ) {
            let old = match kind {
                ConfigKind::Pyproject => format!("[tool.pytest.ini_options]\naddopts = \"{start}\"\n"),
                ConfigKind::PyprojectNative => format!("[tool.pytest]\nstrict = true\naddopts = {:?}\n", start.split_whitespace().collect::<Vec<_>>()),
                ConfigKind::PytestToml => "[pytest]\n".to_string(),
                _ => format!("[{}]\naddopts = {start}\n", kind.section().unwrap()),
            };
            let ops = PytestOps { addopts_add: s(&add), addopts_remove: s(&remove), markers_add: s(&markers), ..PytestOps::default() };
            let once = edit(kind, &old, &ops).unwrap();
            prop_assert_eq!(edit(kind, &once, &ops).unwrap(), once);
        }
    }
}
