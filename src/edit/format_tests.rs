//! Every edit keeps a file's BOM, CRLF endings and missing final newline.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::super::{groups, ini, pytest_config, replace, requirements, toml};
use super::TextFormat;

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn bom(text: &str) -> String {
    format!("\u{feff}{text}")
}

/// Asserts that editing `lf` in each of its forms gives the LF result in that same form.
fn assert_keeps(lf: &str, edit: impl Fn(&str) -> String) {
    let want = edit(lf);
    assert_ne!(want, lf, "the edit should change something");
    for (form, old) in [
        ("crlf", crlf(lf)),
        ("bom", bom(lf)),
        ("bom+crlf", bom(&crlf(lf))),
    ] {
        let got = edit(&old);
        let format = TextFormat::detect(&old);
        assert_eq!(got, format.restore(&want), "{form}: {got:?}");
        assert!(
            got.starts_with('\u{feff}') == old.starts_with('\u{feff}'),
            "{form}"
        );
        if old.contains('\r') {
            assert_eq!(
                got.matches('\n').count(),
                got.matches("\r\n").count(),
                "{form}"
            );
        }
    }
    if let Some(unterminated) = lf.strip_suffix('\n') {
        let got = edit(&crlf(unterminated));
        assert!(!got.ends_with('\n'), "no final newline: {got:?}");
        assert!(got.contains("\r\n") && !got.replace("\r\n", "").contains('\n'));
    }
}

fn ini_ops() -> ini::IniOps {
    ini::IniOps {
        set: BTreeMap::from([("timeout".to_string(), "30".to_string())]),
        append: BTreeMap::from([("addopts".to_string(), vec!["-x".to_string()])]),
        ..ini::IniOps::default()
    }
}

#[test]
fn ini_edit_keeps_crlf_bom_and_final_newline() {
    let lf = "[metadata]\nname = x\n\n[tool:pytest]\naddopts = -q\n";
    assert_keeps(lf, |old| ini::edit(old, "tool:pytest", &ini_ops()).unwrap());
    let got = ini::edit(&bom(&crlf(lf)), "tool:pytest", &ini_ops()).unwrap();
    assert_eq!(
        got,
        "\u{feff}[metadata]\r\nname = x\r\n\r\n[tool:pytest]\r\naddopts = -q -x\r\ntimeout = 30\r\n"
    );
}

#[test]
fn ini_reads_through_a_bom() {
    let text = bom("[tool:pytest]\r\naddopts = -q\r\n");
    assert!(ini::has_section(&text, "tool:pytest").unwrap());
    assert_eq!(
        ini::get(&text, "tool:pytest", "addopts")
            .unwrap()
            .as_deref(),
        Some("-q")
    );
}

#[test]
fn toml_edit_keeps_crlf_bom_and_final_newline() {
    let lf =
        "[project]\nname = \"x\" # the name\n\n[tool.pytest.ini_options]\naddopts = [\"-q\"]\n";
    let ops = toml::TomlOps {
        set: BTreeMap::from([("timeout".to_string(), serde_json::json!(30))]),
        append: BTreeMap::from([("addopts".to_string(), vec![serde_json::json!("-x")])]),
        ..toml::TomlOps::default()
    };
    assert_keeps(lf, |old| {
        toml::edit(old, "tool.pytest.ini_options", &ops).unwrap()
    });
    assert!(toml::has_table(&bom(lf), "tool.pytest.ini_options"));
}

#[test]
fn toml_dependencies_keep_crlf_and_bom() {
    let lf = "[project]\nname = \"x\"\n\n[dependency-groups]\ndev = [\"pytest>=8\"]\n";
    let packages = vec!["pytest-xdist>=3.5".to_string()];
    assert_keeps(lf, |old| {
        groups::add(old, "dependency-groups", "dev", &packages).unwrap()
    });
}

#[test]
fn pytest_config_keeps_crlf_and_bom_in_each_format() {
    let ops = pytest_config::PytestOps {
        addopts_add: vec!["-n".into(), "auto".into()],
        markers_add: vec!["slow: takes long".into()],
        ..pytest_config::PytestOps::default()
    };
    for (kind, lf) in [
        (
            pytest_config::ConfigKind::SetupCfg,
            "[metadata]\nname = x\n[tool:pytest]\naddopts = -q\n",
        ),
        (
            pytest_config::ConfigKind::PytestIni,
            "[pytest]\naddopts = -q\n",
        ),
        (
            pytest_config::ConfigKind::Pyproject,
            "[project]\nname = \"x\"\n[tool.pytest.ini_options]\naddopts = \"-q\"\n",
        ),
    ] {
        assert_keeps(lf, |old| pytest_config::edit(kind, old, &ops).unwrap());
    }
    let located = pytest_config::locate(&|rel: &str| {
        (rel == "setup.cfg").then(|| bom("[tool:pytest]\r\naddopts = -q\r\n"))
    });
    assert_eq!(located.path, "setup.cfg");
}

#[test]
fn replace_keeps_crlf_and_bom_and_matches_across_lines() {
    let lf = "DEBUG = True\nDATABASE = 'postgres'\n";
    assert_keeps(lf, |old| {
        replace::edit(
            old,
            "DATABASE = 'postgres'",
            "DATABASE = 'sqlite'",
            false,
            false,
        )
        .unwrap()
    });
    let got = replace::edit(&crlf(lf), "True\nDATABASE", "False\nDATABASE", false, false).unwrap();
    assert_eq!(got, "DEBUG = False\r\nDATABASE = 'postgres'\r\n");
    let got = replace::edit(&bom(lf), "^DEBUG", "VERBOSE", true, false).unwrap();
    assert_eq!(got, bom("VERBOSE = True\nDATABASE = 'postgres'\n"));
}

#[test]
fn requirements_keep_crlf_bom_and_final_newline() {
    let lf = "pytest>=8\ncoverage\n";
    let packages = vec!["pytest-xdist>=3.5".to_string()];
    assert_keeps(lf, |old| requirements::add(old, &packages));
    // The first requirement behind a BOM is still recognised as the same project.
    let got = requirements::add(&bom("pytest>=7\r\n"), &["pytest>=8".to_string()]);
    assert_eq!(got, bom("pytest>=8\r\n"));
}

#[test]
fn unchanged_edits_return_the_same_bytes() {
    let old = bom("[pytest]\r\naddopts = -q -x");
    let ops = ini::IniOps {
        append: BTreeMap::from([("addopts".to_string(), vec!["-x".to_string()])]),
        ..ini::IniOps::default()
    };
    assert_eq!(ini::edit(&old, "pytest", &ops).unwrap(), old);
}

/// A small INI document: sections of `key = value` lines, comments and blank lines.
fn ini_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-z]{1,6} = [a-z0-9 -]{0,8}".prop_map(|l| l.trim_end().to_string()),
        "# [a-z ]{0,10}",
        Just(String::new()),
    ];
    prop::collection::vec(("[a-z]{1,5}", prop::collection::vec(line, 0..5)), 0..4).prop_map(
        |sections| {
            sections
                .into_iter()
                .map(|(name, lines)| {
                    let mut s = format!("[{name}]\n");
                    for l in lines {
                        s.push_str(&l);
                        s.push('\n');
                    }
                    s
                })
                .collect()
        },
    )
}

/// A small TOML document: tables of string, integer and array keys.
fn toml_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-z]{1,6} = \"[a-z0-9 ]{0,8}\"",
        "[a-z]{1,6} = [0-9]{1,3}",
        "[a-z]{1,6} = \\[\"[a-z]{1,3}\"\\]",
        "# [a-z ]{0,10}",
    ];
    prop::collection::vec(
        (
            "[a-z]{1,5}",
            prop::collection::btree_map("[a-z]{1,6}", line, 0..4),
        ),
        0..4,
    )
    .prop_map(|tables| {
        let mut seen = std::collections::BTreeSet::new();
        let mut s = String::new();
        for (name, lines) in tables {
            if !seen.insert(name.clone()) {
                continue;
            }
            s.push_str(&format!("[{name}]\n"));
            let mut keys = std::collections::BTreeSet::new();
            for l in lines.into_values() {
                let key = l.split(' ').next().unwrap_or_default().to_string();
                if l.starts_with('#') || keys.insert(key) {
                    s.push_str(&l);
                    s.push('\n');
                }
            }
        }
        s
    })
}

proptest! {
    #[test]
    fn ini_edit_commutes_with_crlf(
        doc in ini_doc(),
        section in "[a-zé中]{1,5}",
        key in "[a-zé中]{1,6}",
        value in "\\PC{1,6}",
        drop in "[a-zé中]{1,6}",
    ) {
        prop_assume!(doc.contains('\n'));
        let ops = ini::IniOps {
            set: BTreeMap::from([(key, value)]),
            unset: vec![drop],
            ..ini::IniOps::default()
        };
        let lf = ini::edit(&doc, &section, &ops);
        let crlf_first = ini::edit(&crlf(&doc), &section, &ops);
        prop_assert_eq!(crlf_first, lf.clone().map(|t| crlf(&t)));
        prop_assert_eq!(ini::edit(&bom(&doc), &section, &ops), lf.map(|t| bom(&t)));
    }

    #[test]
    fn toml_edit_commutes_with_crlf(
        doc in toml_doc(),
        table in "[a-z]{1,5}",
        key in "[a-z]{1,6}",
        value in "[a-z0-9]{1,6}",
        item in "[a-z]{1,3}",
    ) {
        prop_assume!(doc.contains('\n'));
        let ops = toml::TomlOps {
            set: BTreeMap::from([(key, serde_json::json!(value))]),
            append: BTreeMap::from([("list".to_string(), vec![serde_json::json!(item)])]),
            ..toml::TomlOps::default()
        };
        let lf = toml::edit(&doc, &table, &ops);
        prop_assert_eq!(toml::edit(&crlf(&doc), &table, &ops), lf.clone().map(|t| crlf(&t)));
        prop_assert_eq!(toml::edit(&bom(&doc), &table, &ops), lf.map(|t| bom(&t)));
    }
}
