//! INI edits (pytest.ini, tox.ini, setup.cfg) as pytest's iniconfig reads them, keeping every
//! untouched byte: comments, order, blank lines, other sections and line endings.

use std::collections::BTreeMap;

use super::error::EditError;
use super::format;
use super::ini_doc::{find_entry, find_section, is_continuation, Doc, Entry};
use super::list::{ListValue, Slot};

/// What to change in one section. Applied in this order: unset, set, remove, append; a key both
/// unset and set (or appended) is only set, and an item both removed and appended stays once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IniOps {
    /// Keys to set to a value (a value with newlines becomes a multi-line value).
    pub set: BTreeMap<String, String>,
    /// Keys to remove, with their continuation lines.
    pub unset: Vec<String>,
    /// Items to add to whitespace-separated list values, each kept once.
    pub append: BTreeMap<String, Vec<String>>,
    /// Items to take out of whitespace-separated list values.
    pub remove: BTreeMap<String, Vec<String>>,
}

/// Applies `ops` to `section` of the INI text `old` (empty for a missing file); a BOM, CRLF
/// endings and a missing final newline are kept.
pub fn edit(old: &str, section: &str, ops: &IniOps) -> Result<String, EditError> {
    format::keeping(old, |plain| edit_plain(plain, section, ops))
}

fn edit_plain(old: &str, section: &str, ops: &IniOps) -> Result<String, EditError> {
    let mut text = old.to_string();
    // A key that is also set or appended ends up present; unsetting it first would only move it.
    let kept = |k: &String| !ops.set.contains_key(k) && !ops.append.contains_key(k);
    for key in ops.unset.iter().filter(|k| kept(k)) {
        text = unset(&text, section, key)?;
    }
    for (key, value) in &ops.set {
        text = set(&text, section, key, value)?;
    }
    let list_keys: std::collections::BTreeSet<&String> =
        ops.remove.keys().chain(ops.append.keys()).collect();
    for key in list_keys {
        let appended = ops.append.get(key).map_or(&[][..], Vec::as_slice);
        let appended: Vec<Vec<String>> = appended.iter().map(|i| words(i)).collect();
        // A removal that is part of an appended item would fight it; the append wins.
        let inside = |r: &Vec<String>| {
            appended
                .iter()
                .any(|a| a.windows(r.len().max(1)).any(|w| w == r.as_slice()))
        };
        let removed: Vec<Vec<String>> = ops
            .remove
            .get(key)
            .into_iter()
            .flatten()
            .map(|i| words(i))
            .filter(|r| !inside(r))
            .collect();
        text = edit_list(&text, section, key, words, false, |list| {
            // Appending can bring a removed run together again; settle so a second edit is a no-op.
            for _ in 0..8 {
                let before = list.items.clone();
                removed.iter().for_each(|r| list.remove_run(r));
                appended.iter().for_each(|a| list.append_run(a.clone()));
                if list.items == before {
                    break;
                }
            }
        })?;
    }
    Ok(text)
}

/// Reads `key` of `section` as iniconfig would: `None` when the section or key is missing.
pub fn get(text: &str, section: &str, key: &str) -> Result<Option<String>, EditError> {
    let doc = Doc::parse(format::strip_bom(text));
    let sections = doc.scan()?;
    Ok(find_entry(&sections, section, key)?.map(|e| doc.value(e)))
}

/// Whether `text` has a `[section]` header (the file is still checked for syntax errors).
pub fn has_section(text: &str, section: &str) -> Result<bool, EditError> {
    let doc = Doc::parse(format::strip_bom(text));
    Ok(find_section(&doc.scan()?, section)?.is_some())
}

/// Splits a value into whitespace-separated items.
pub(crate) fn words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// Edits one list-valued key through `f`, keeping the value's line layout; `multiline_if_new`
/// picks the layout when the key has to be created.
pub(crate) fn edit_list(
    old: &str,
    section: &str,
    key: &str,
    split: fn(&str) -> Vec<String>,
    multiline_if_new: bool,
    f: impl FnOnce(&mut ListValue),
) -> Result<String, EditError> {
    let mut doc = Doc::parse(old);
    let sections = doc.scan()?;
    let entry = find_entry(&sections, section, key)?.cloned();
    let mut list = match &entry {
        Some(e) => {
            let lines = (e.key..e.end).map(|i| {
                let text = &doc.lines[i].text;
                if i == e.key {
                    Some(split(&text[e.value_at..]))
                } else {
                    is_continuation(text).then(|| split(text))
                }
            });
            ListValue::from_lines(lines.collect())
        }
        None => ListValue::empty(multiline_if_new),
    };
    let before = list.items.clone();
    f(&mut list);
    // Only the items count: a layout switch alone (e.g. to multi-line) must not rewrite lines.
    if list.items == before {
        return Ok(old.to_string());
    }
    match entry {
        Some(e) => {
            let new_lines = render_existing(&doc, &e, &list);
            doc.splice(e.key, e.end, new_lines);
        }
        None => {
            if list.is_empty() {
                return Ok(old.to_string());
            }
            let at = doc.insertion_point(section)?;
            let sep = doc.separator_style(section)?;
            let mut new_lines = vec![join_prefix(
                &format!("{key}{sep}"),
                &list.line(Slot::Old(0)),
            )];
            new_lines.extend(
                list.new_lines()
                    .iter()
                    .map(|items| format!("    {}", items.join(" "))),
            );
            doc.insert(at, new_lines);
        }
    }
    Ok(doc.render())
}

fn render_existing(doc: &Doc, e: &Entry, list: &ListValue) -> Vec<String> {
    let mut out = Vec::new();
    let mut indent = "    ".to_string();
    for (rel, i) in (e.key..e.end).enumerate() {
        let text = &doc.lines[i].text;
        let items = list.line(Slot::Old(rel));
        if i == e.key {
            if list.line_unchanged(rel) {
                out.push(text.clone());
            } else {
                out.push(join_prefix(&key_prefix(text, e.value_at), &items));
            }
        } else if !is_continuation(text) || list.line_unchanged(rel) {
            if is_continuation(text) {
                indent = leading_ws(text).to_string();
            }
            out.push(text.clone());
        } else if !items.is_empty() {
            indent = leading_ws(text).to_string();
            out.push(format!("{indent}{}", items.join(" ")));
        }
    }
    // New lines go right after the last continuation line, before any trailing comments.
    let mut tail = Vec::new();
    while out.len() > 1 && out.last().is_some_and(|l| !is_continuation(l)) {
        tail.extend(out.pop());
    }
    out.extend(
        list.new_lines()
            .iter()
            .map(|items| format!("{indent}{}", items.join(" "))),
    );
    out.extend(tail.into_iter().rev());
    out
}

/// `prefix` (ending in whatever space it wants) followed by the items.
fn join_prefix(prefix: &str, items: &[String]) -> String {
    if items.is_empty() {
        prefix.trim_end().to_string()
    } else {
        format!("{prefix}{}", items.join(" "))
    }
}

/// The key line up to where its value starts: the original spacing, or one space when the
/// value was empty.
fn key_prefix(text: &str, value_at: usize) -> String {
    let value = &text[value_at..];
    if value.trim().is_empty() {
        format!("{} ", &text[..value_at])
    } else {
        text[..value_at + leading_ws(value).len()].to_string()
    }
}

fn leading_ws(text: &str) -> &str {
    &text[..text.len() - text.trim_start().len()]
}

fn set(old: &str, section: &str, key: &str, value: &str) -> Result<String, EditError> {
    let mut parts = value.split('\n').map(str::trim);
    let first = parts.next().unwrap_or_default().to_string();
    let rest: Vec<String> = parts
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let wanted = match (first.is_empty(), rest.is_empty()) {
        (true, _) => rest.join("\n"),
        (false, true) => first.clone(),
        (false, false) => format!("{first}\n{}", rest.join("\n")),
    };
    let mut doc = Doc::parse(old);
    let sections = doc.scan()?;
    match find_entry(&sections, section, key)?.cloned() {
        Some(e) if doc.value(&e) == wanted => Ok(old.to_string()),
        Some(e) => {
            let prefix = key_prefix(&doc.lines[e.key].text, e.value_at);
            let indent = (e.key + 1..e.end)
                .map(|i| &doc.lines[i].text)
                .find(|t| is_continuation(t))
                .map_or("    ", |t| leading_ws(t))
                .to_string();
            let inline_was_empty = doc.lines[e.key].text[e.value_at..].trim().is_empty();
            let lines = value_lines(&prefix, &indent, first, rest, inline_was_empty);
            doc.splice(e.key, e.end, lines);
            Ok(doc.render())
        }
        None => {
            let at = doc.insertion_point(section)?;
            let sep = doc.separator_style(section)?;
            let lines = value_lines(&format!("{key}{sep}"), "    ", first, rest, true);
            doc.insert(at, lines);
            Ok(doc.render())
        }
    }
}

/// The lines of a set value. A multi-line value starts on the key line only when the key line
/// already held a value, so `key =` followed by indented lines stays that way.
fn value_lines(
    prefix: &str,
    indent: &str,
    first: String,
    rest: Vec<String>,
    inline_empty: bool,
) -> Vec<String> {
    let mut all: Vec<String> = Some(first).filter(|f| !f.is_empty()).into_iter().collect();
    let on_key_line = if rest.is_empty() || !inline_empty {
        std::mem::take(&mut all)
    } else {
        Vec::new()
    };
    all.extend(rest);
    let mut lines = vec![join_prefix(prefix, &on_key_line)];
    lines.extend(all.iter().map(|r| format!("{indent}{r}")));
    lines
}

fn unset(old: &str, section: &str, key: &str) -> Result<String, EditError> {
    let mut doc = Doc::parse(old);
    let sections = doc.scan()?;
    match find_entry(&sections, section, key)?.cloned() {
        Some(e) => {
            doc.splice(e.key, e.end, Vec::new());
            Ok(doc.render())
        }
        None => Ok(old.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOX: &str = "\
# tox configuration
[tox]
envlist = py311, py312 ; both
isolated_build = true

[testenv]
deps =
    pytest
    pytest-cov
commands = pytest {posargs}

[pytest]
; pytest options live here
addopts = -ra -q
testpaths = tests

[flake8]
max-line-length = 100
";

    fn ops() -> IniOps {
        IniOps::default()
    }

    fn set1(k: &str, v: &str) -> IniOps {
        IniOps {
            set: [(k.to_string(), v.to_string())].into(),
            ..ops()
        }
    }

    fn append1(k: &str, items: &[&str]) -> IniOps {
        IniOps {
            append: [(k.to_string(), items.iter().map(|s| s.to_string()).collect())].into(),
            ..ops()
        }
    }

    fn remove1(k: &str, items: &[&str]) -> IniOps {
        IniOps {
            remove: [(k.to_string(), items.iter().map(|s| s.to_string()).collect())].into(),
            ..ops()
        }
    }

    #[test]
    fn set_replaces_only_the_value_in_a_tox_ini() {
        let new = edit(TOX, "pytest", &set1("testpaths", "tests integration")).unwrap();
        assert_eq!(
            new,
            TOX.replace("testpaths = tests\n", "testpaths = tests integration\n")
        );
    }

    #[test]
    fn set_adds_a_missing_key_after_the_last_key_of_the_section() {
        let new = edit(TOX, "pytest", &set1("xfail_strict", "true")).unwrap();
        assert_eq!(
            new,
            TOX.replace(
                "testpaths = tests\n",
                "testpaths = tests\nxfail_strict = true\n"
            )
        );
    }

    #[test]
    fn nothing_to_do_returns_the_input_byte_for_byte() {
        let same = edit(TOX, "pytest", &set1("addopts", "-ra -q")).unwrap();
        assert_eq!(same, TOX);
        let unset_missing = IniOps {
            unset: vec!["nope".into()],
            ..ops()
        };
        assert_eq!(edit(TOX, "nosection", &unset_missing).unwrap(), TOX);
        assert_eq!(
            edit(TOX, "pytest", &append1("addopts", &["-q"])).unwrap(),
            TOX
        );
    }

    #[test]
    fn setup_cfg_colon_keys_keep_their_separator() {
        let cfg = "[metadata]\nname = shop\n\n[tool:pytest]\nminversion: 7.0\naddopts: -q\n";
        let new = edit(cfg, "tool:pytest", &set1("addopts", "-q -x")).unwrap();
        assert_eq!(
            new,
            "[metadata]\nname = shop\n\n[tool:pytest]\nminversion: 7.0\naddopts: -q -x\n"
        );
        let new = edit(cfg, "tool:pytest", &set1("testpaths", "tests")).unwrap();
        assert!(new.ends_with("addopts: -q\ntestpaths: tests\n"), "{new}");
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let ini = "[pytest]\r\naddopts = -q\r\n";
        let new = edit(ini, "pytest", &set1("testpaths", "tests")).unwrap();
        assert_eq!(new, "[pytest]\r\naddopts = -q\r\ntestpaths = tests\r\n");
        let new = edit(ini, "other", &set1("k", "v")).unwrap();
        assert_eq!(new, "[pytest]\r\naddopts = -q\r\n\r\n[other]\r\nk = v\r\n");
    }

    #[test]
    fn missing_file_and_missing_section_are_created() {
        assert_eq!(
            edit("", "pytest", &set1("addopts", "-q")).unwrap(),
            "[pytest]\naddopts = -q\n"
        );
        let new = edit(
            "[metadata]\nname = x",
            "tool:pytest",
            &append1("addopts", &["-q"]),
        )
        .unwrap();
        // A file without a final newline keeps lacking one.
        assert_eq!(new, "[metadata]\nname = x\n\n[tool:pytest]\naddopts = -q");
    }

    #[test]
    fn multi_line_values_are_read_like_iniconfig() {
        let ini =
            "[pytest]\naddopts =\n    -ra\n    # a comment inside\n\n    --strict-markers\nx = 1\n";
        assert_eq!(
            get(ini, "pytest", "addopts").unwrap().unwrap(),
            "-ra\n--strict-markers"
        );
        assert_eq!(get(ini, "pytest", "x").unwrap().unwrap(), "1");
        let same = edit(ini, "pytest", &set1("addopts", "-ra\n--strict-markers")).unwrap();
        assert_eq!(same, ini);
    }

    #[test]
    fn append_and_remove_keep_a_multi_line_layout() {
        let ini = "[pytest]\naddopts =\n  -ra\n  --strict-markers\n# trailing comment\n";
        let new = edit(ini, "pytest", &append1("addopts", &["-p no:cacheprovider"])).unwrap();
        assert_eq!(new, "[pytest]\naddopts =\n  -ra\n  --strict-markers\n  -p no:cacheprovider\n# trailing comment\n");
        let back = edit(
            &new,
            "pytest",
            &remove1("addopts", &["-p no:cacheprovider", "-ra"]),
        )
        .unwrap();
        assert_eq!(
            back,
            "[pytest]\naddopts =\n  --strict-markers\n# trailing comment\n"
        );
    }

    #[test]
    fn append_and_remove_on_a_single_line_value() {
        let new = edit(TOX, "pytest", &append1("addopts", &["-x", "-q"])).unwrap();
        assert!(new.contains("addopts = -ra -q -x\n"), "{new}");
        let new = edit(&new, "pytest", &remove1("addopts", &["-ra", "-q", "-x"])).unwrap();
        assert!(new.contains("\naddopts =\ntestpaths"), "{new}");
    }

    #[test]
    fn unset_removes_the_key_and_its_continuation_lines() {
        let new = edit(
            TOX,
            "testenv",
            &IniOps {
                unset: vec!["deps".into()],
                ..ops()
            },
        )
        .unwrap();
        assert_eq!(new, TOX.replace("deps =\n    pytest\n    pytest-cov\n", ""));
    }

    #[test]
    fn set_multi_line_value_uses_continuation_lines() {
        let new = edit(TOX, "testenv", &set1("deps", "pytest\npytest-xdist")).unwrap();
        assert!(
            new.contains("deps =\n    pytest\n    pytest-xdist\ncommands"),
            "{new}"
        );
        let new = edit(TOX, "testenv", &set1("deps", "pytest")).unwrap();
        assert!(new.contains("deps = pytest\ncommands"), "{new}");
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        let err = edit("[pytest]\naddopts = -q\njunk\n", "pytest", &set1("a", "b")).unwrap_err();
        assert_eq!(err.to_string(), "line 3: unexpected line `junk`");
        let err = edit("  indented\n", "pytest", &set1("a", "b")).unwrap_err();
        assert_eq!(err.to_string(), "line 1: unexpected value continuation");
        let err = edit("[pytest]\na=1\n[pytest]\n", "pytest", &set1("a", "2")).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3: duplicate section `pytest` (first at line 1)"),
            "{err}"
        );
    }

    #[test]
    fn file_without_final_newline_keeps_that_shape_when_edited_in_place() {
        assert_eq!(
            edit("[pytest]\naddopts = -q", "pytest", &set1("addopts", "-x")).unwrap(),
            "[pytest]\naddopts = -x"
        );
        let removed = edit(
            "[pytest]\na = 1\nb = 2",
            "pytest",
            &IniOps {
                unset: vec!["b".into()],
                ..ops()
            },
        )
        .unwrap();
        assert_eq!(removed, "[pytest]\na = 1");
    }

    fn arb_ini() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("[pytest]".to_string()),
            Just("[tool:pytest]".to_string()),
            Just("# comment".to_string()),
            Just("".to_string()),
            "(addopts|markers|x)( = |: |=)[-a-cé中 ]{0,8}",
            "    [-a-cé中]{1,4}( [-a-cé]{1,3})?",
        ];
        (
            prop::collection::vec(line, 0..12),
            prop::bool::ANY,
            prop::bool::ANY,
        )
            .prop_map(|(lines, crlf, last)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = lines.join(eol);
                if last {
                    text.push_str(eol);
                }
                text
            })
    }

    fn arb_ops() -> impl Strategy<Value = IniOps> {
        let key = prop_oneof![
            Just("addopts".to_string()),
            Just("x".to_string()),
            Just("new".to_string())
        ];
        let items = prop::collection::vec("[-a-cé中]{1,3}( [-a-cé]{1,3})?", 0..3);
        (
            prop::collection::btree_map(key.clone(), "[-a-cé中 ]{0,6}(\n[a-cé]{1,3})?", 0..2),
            prop::collection::vec(key.clone(), 0..2),
            prop::collection::btree_map(key.clone(), items.clone(), 0..3),
            prop::collection::btree_map(key, items, 0..3),
        )
            .prop_map(|(set, unset, append, remove)| IniOps {
                set,
                unset,
                append,
                remove,
            })
    }

    proptest! {
        /// Any text as the file, the section, the keys and the values: an edit or an error,
        /// never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            text in prop_oneof![arb_ini(), any::<String>()],
            section in any::<String>(),
            set in prop::collection::btree_map(any::<String>(), any::<String>(), 0..3),
            unset in prop::collection::vec(any::<String>(), 0..2),
            append in prop::collection::btree_map(any::<String>(), prop::collection::vec(any::<String>(), 0..3), 0..2),
        ) {
            let ops = IniOps { set, unset, append: append.clone(), remove: append };
            let _ = edit(&text, &section, &ops);
            let _ = get(&text, &section, "addopts");
        }

        #[test]
        fn editing_twice_equals_editing_once(text in arb_ini(), ops in arb_ops(), section in prop_oneof![Just("pytest"), Just("tool:pytest"), Just("new")]) {
            if let Ok(once) = edit(&text, section, &ops) {
                let twice = edit(&once, section, &ops).unwrap();
                prop_assert_eq!(&twice, &once);
                for (k, v) in &ops.set {
                    if !ops.append.contains_key(k) && !ops.remove.contains_key(k) {
                        let want: Vec<&str> = v.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect();
                        prop_assert_eq!(get(&once, section, k).unwrap(), Some(want.join("\n")));
                    }
                }
            }
        }

        #[test]
        fn empty_ops_change_nothing(text in arb_ini()) {
            if let Ok(same) = edit(&text, "pytest", &IniOps::default()) {
                prop_assert_eq!(same, text);
            }
        }
    }
}
