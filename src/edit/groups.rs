//! Recording requirements in `pyproject.toml` arrays (PEP 735 groups, extras, uv's legacy
//! `dev-dependencies`) the way `uv add --group` does: uv's requirement form, the sorted position
//! when the list is sorted (else after the last requirement, before any `include-group`), and the
//! array laid out one entry per line with its comments kept. The rest of the file is untouched.

use toml_edit::{Array, Item, RawString, Table, Value};

use super::error::EditError;
use super::format;
use super::pep508::Requirement;
use super::requirements::normalize;
use super::toml::{array_mut, parse, table_mut};

/// Records `packages` in the array `key` of the dotted `table` (`dependency-groups`,
/// `project.optional-dependencies`, `tool.uv`), creating both when missing; an entry for the
/// same project is replaced. Group and extra keys compare normalized (PEP 735, PEP 685).
pub fn add(old: &str, table: &str, key: &str, packages: &[String]) -> Result<String, EditError> {
    format::keeping(old, |plain| add_plain(plain, table, key, packages))
}

fn add_plain(old: &str, table: &str, key: &str, packages: &[String]) -> Result<String, EditError> {
    let reqs = packages
        .iter()
        .map(|p| {
            Requirement::parse(p)
                .map(|r| (r.key(), r.uv_form()))
                .ok_or_else(|| EditError::BadRequirement(p.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if reqs.is_empty() {
        return Ok(old.to_string());
    }
    let mut doc = parse(old)?;
    let tbl = table_mut(&mut doc, table, true)?.ok_or_else(|| EditError::NotATable {
        path: table.to_string(),
    })?;
    let existing = tbl
        .iter()
        .map(|(k, _)| k.to_string())
        .find(|k| normalize(k) == normalize(key));
    let was_sorted = tbl.iter().map(|(k, _)| k).collect::<Vec<_>>().is_sorted();
    let name = existing.clone().unwrap_or_else(|| key.to_string());
    let arr =
        array_mut(tbl, &name, true)?.ok_or_else(|| EditError::NotAnArray { key: name.clone() })?;
    let mut changed = false;
    for (project, req) in &reqs {
        changed |= add_to_array(arr, project, req);
    }
    // uv sorts the group keys only when it adds a group to keys that were already sorted.
    if existing.is_none() && was_sorted {
        if let Some(t) = doc
            .as_table_mut()
            .get_mut(table.split('.').next().unwrap_or(table))
            .and_then(Item::as_table_mut)
            .and_then(|t| leaf(t, table))
        {
            t.sort_values();
        }
    }
    Ok(if changed {
        doc.to_string()
    } else {
        old.to_string()
    })
}

/// The table at the rest of the dotted `path` below its first key.
fn leaf<'t>(t: &'t mut Table, path: &str) -> Option<&'t mut Table> {
    path.split('.')
        .skip(1)
        .try_fold(t, |t, k| t.get_mut(k).and_then(Item::as_table_mut))
}

/// Adds or replaces one requirement; false when the array already says exactly that.
fn add_to_array(arr: &mut Array, project: &str, req: &str) -> bool {
    let same = arr.iter().position(|v| {
        v.as_str()
            .and_then(Requirement::parse)
            .is_some_and(|r| r.key() == project)
    });
    if let Some(i) = same {
        if arr.get(i).and_then(Value::as_str) == Some(req) {
            return false;
        }
        let decor = arr.get(i).map(|v| v.decor().clone()).unwrap_or_default();
        let mut new = Value::from(req);
        *new.decor_mut() = decor;
        arr.replace_formatted(i, new);
        reformat_multiline(arr);
        return true;
    }
    let index = sorted_position(arr, req).unwrap_or_else(|| {
        arr.iter()
            .enumerate()
            .filter(|(_, v)| v.is_str())
            .map(|(i, _)| i + 1)
            .last()
            .unwrap_or(arr.len())
    });
    let mut value = Value::from(req);
    if index == arr.len() {
        // Comments after the old last entry stay on its line.
        value.decor_mut().set_prefix(arr.trailing().clone());
        arr.set_trailing("");
    } else if index > 0 {
        if let Some(next) = arr.get_mut(index) {
            let prefix = next.decor().prefix().cloned().unwrap_or_default();
            value.decor_mut().set_prefix(prefix);
            next.decor_mut().set_prefix("");
        }
    }
    arr.insert_formatted(index, value);
    if index == 0 && arr.len() > 1 {
        split_first_prefix(arr);
    }
    reformat_multiline(arr);
    true
}

/// Where a sorted list takes `req`: `None` when the list is not sorted (uv's four orders:
/// by name then specifiers, or by the whole string, each case-insensitive or not).
fn sorted_position(arr: &Array, req: &str) -> Option<usize> {
    let strs: Vec<&str> = arr.iter().filter_map(Value::as_str).collect();
    let lower: Vec<String> = strs.iter().map(|s| s.to_lowercase()).collect();
    let sorted = |keys: Vec<(String, String)>| keys.windows(2).all(|w| w[0] <= w[1]);
    let split = |s: &str| {
        let (a, b) = split_specifiers(s);
        (a.to_string(), b.to_string())
    };
    let whole = |s: &str| (s.to_string(), String::new());
    let orders: [(bool, bool); 4] = [(true, true), (false, true), (true, false), (false, false)];
    let (lowercase, by_name) = orders.into_iter().find(|&(lc, by_name)| {
        let items = if lc {
            lower.clone()
        } else {
            strs.iter().map(|s| s.to_string()).collect()
        };
        sorted(
            items
                .iter()
                .map(|s| if by_name { split(s) } else { whole(s) })
                .collect(),
        )
    })?;
    let key = |s: &str| {
        let s = if lowercase {
            s.to_lowercase()
        } else {
            s.to_string()
        };
        if by_name {
            split(&s)
        } else {
            whole(&s)
        }
    };
    let new = key(req);
    arr.iter()
        .position(|v| v.as_str().is_some_and(|s| key(s) > new))
}

/// `("flask", ">=1.0")` from `flask>=1.0`; extras stay with the name.
fn split_specifiers(req: &str) -> (&str, &str) {
    match req.find(['>', '<', '=', '~', '!', '@']) {
        Some(i) => (req[..i].trim(), req[i..].trim()),
        None => (req.trim(), ""),
    }
}

/// A new first entry takes the line break and indentation of the old first one; a comment on
/// its own line before the old first entry moves down with it.
fn split_first_prefix(arr: &mut Array) {
    let Some(prefix) = arr
        .get(1)
        .and_then(|v| v.decor().prefix())
        .and_then(RawString::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let (first, second) = match prefix.split_once('\n') {
        Some((first_line, rest)) => {
            let last = rest.lines().last().unwrap_or_default();
            (format!("{first_line}\n{last}"), format!("\n{rest}"))
        }
        None => (prefix.clone(), prefix),
    };
    if let Some(v) = arr.get_mut(0) {
        v.decor_mut().set_prefix(first);
    }
    if let Some(v) = arr.get_mut(1) {
        v.decor_mut().set_prefix(second);
    }
}

/// A comment found in an entry's surroundings, and whether it sat on a line of its own.
struct Comment {
    text: String,
    own_line: bool,
    /// The spaces between the entry and an end-of-line comment.
    lead: String,
}

fn comments(raw: Option<&RawString>) -> Vec<Comment> {
    let text = raw.and_then(RawString::as_str).unwrap_or("");
    let (mut prev_empty, mut prev_comment) = (false, false);
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some((before, comment)) = line.split_once('#') {
            let lead: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_whitespace())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            out.push(Comment {
                text: format!("#{}", comment.trim_end()),
                own_line: prev_empty || prev_comment,
                lead,
            });
            prev_comment = true;
        } else {
            prev_comment = false;
        }
        prev_empty = line.trim().is_empty();
    }
    out
}

/// One entry per line, indented like the first entry (four spaces when it has none), a
/// trailing comma, and every comment kept where it was.
fn reformat_multiline(arr: &mut Array) {
    if !arr.trailing_comma() {
        let suffix = arr
            .iter()
            .last()
            .and_then(|v| v.decor().suffix())
            .and_then(RawString::as_str)
            .filter(|s| s.contains('#'))
            .map(str::to_string);
        if let Some(suffix) = suffix {
            if let Some(last) = arr.iter_mut().last() {
                last.decor_mut().set_suffix("");
            }
            let trailing = arr.trailing().as_str().unwrap_or_default().to_string();
            arr.set_trailing(format!("{suffix}{trailing}"));
        }
    }
    let indent = arr
        .iter()
        .next()
        .and_then(|v| v.decor().prefix())
        .and_then(RawString::as_str)
        .and_then(|s| s.lines().last())
        .map(|l| l.split('#').next().unwrap_or(l).to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "    ".to_string());
    let newline = format!("\n{indent}");
    let render = |found: Vec<Comment>| {
        let mut out = String::new();
        for c in found {
            out.push_str(if c.own_line { &newline } else { &c.lead });
            out.push_str(&c.text);
        }
        out
    };
    for item in arr.iter_mut() {
        let decor = item.decor_mut();
        let mut found = comments(decor.prefix());
        found.extend(comments(decor.suffix()));
        let mut prefix = render(found);
        prefix.push_str(&newline);
        decor.set_prefix(prefix);
        decor.set_suffix("");
    }
    let mut trailing = render(comments(Some(arr.trailing())));
    if !trailing.is_empty() || !arr.is_empty() {
        trailing.push('\n');
    }
    arr.set_trailing(trailing);
    arr.set_trailing_comma(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_inline_list_becomes_one_entry_per_line_as_uv_writes_it() {
        let old = "[project]\nname = \"x\"\n\n[dependency-groups]\ntests = [\"pytest>=8\"]\n";
        let new = add(
            old,
            "dependency-groups",
            "tests",
            &s(&["Pytest_Xdist >= 3.5"]),
        )
        .unwrap();
        assert_eq!(
            new,
            "[project]\nname = \"x\"\n\n[dependency-groups]\ntests = [\n    \"pytest>=8\",\n    \"pytest-xdist>=3.5\",\n]\n"
        );
        assert_eq!(
            add(
                &new,
                "dependency-groups",
                "Tests",
                &s(&["pytest-xdist>=3.5"])
            )
            .unwrap(),
            new
        );
    }

    #[test]
    fn a_sorted_list_keeps_its_order_and_include_groups_stay_last() {
        let old = "[dependency-groups]\ndev = [\n  \"coverage\",  # cov\n  \"pytest\",\n  { include-group = \"lint\" },\n]\n";
        let new = add(old, "dependency-groups", "dev", &s(&["pytest-xdist"])).unwrap();
        assert_eq!(
            new,
            "[dependency-groups]\ndev = [\n  \"coverage\",  # cov\n  \"pytest\",\n  \"pytest-xdist\",\n  { include-group = \"lint\" },\n]\n"
        );
        let new = add(old, "dependency-groups", "dev", &s(&["anyio"])).unwrap();
        assert_eq!(
            new,
            "[dependency-groups]\ndev = [\n  \"anyio\",\n  \"coverage\",  # cov\n  \"pytest\",\n  { include-group = \"lint\" },\n]\n"
        );
    }

    #[test]
    fn an_unsorted_list_gets_the_entry_last_with_the_last_comment_kept() {
        let old = "[project.optional-dependencies]\ntest = [\n    \"pytest\",\n    \"hypothesis\", # props\n]\n";
        let new = add(
            old,
            "project.optional-dependencies",
            "test",
            &s(&["pytest-xdist"]),
        )
        .unwrap();
        assert_eq!(
            new,
            "[project.optional-dependencies]\ntest = [\n    \"pytest\",\n    \"hypothesis\", # props\n    \"pytest-xdist\",\n]\n"
        );
    }

    #[test]
    fn missing_groups_are_made_and_sorted_keys_stay_sorted() {
        let old = "[dependency-groups]\nlint = [\"ruff\"]\nz = []\n";
        let new = add(old, "dependency-groups", "tests", &s(&["pytest"])).unwrap();
        assert_eq!(
            new,
            "[dependency-groups]\nlint = [\"ruff\"]\ntests = [\n    \"pytest\",\n]\nz = []\n"
        );
        let new = add("", "dependency-groups", "dev", &s(&["pytest"])).unwrap();
        assert_eq!(new, "[dependency-groups]\ndev = [\n    \"pytest\",\n]\n");
        let err = add("", "dependency-groups", "dev", &s(&["-e ."])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`-e .` is not a requirement (no project name)"
        );
    }

    proptest! {
        /// Any text: an edit or an error, never a panic; adding twice equals adding once.
        #[test]
        fn arbitrary_text_never_panics_and_adding_is_idempotent(
            doc in prop_oneof![
                Just("[dependency-groups]\ndev = [\"b\", \"a\"]\n".to_string()),
                Just("[dependency-groups]\ndev = [ # c\n  \"a\", # x\n  # own\n  \"c\" # y\n]\n".to_string()),
                any::<String>(),
            ],
            packages in prop::collection::vec(prop_oneof![Just("pytest".to_string()), Just("b>=1".to_string()), Just("0".to_string()), any::<String>()], 0..3),
        ) {
            if let Ok(once) = add(&doc, "dependency-groups", "dev", &packages) {
                prop_assert_eq!(add(&once, "dependency-groups", "dev", &packages).unwrap(), once.clone());
                prop_assert!(packages.is_empty() || once.parse::<toml_edit::DocumentMut>().is_ok());
            }
        }
    }
}
