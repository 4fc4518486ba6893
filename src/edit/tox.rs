//! tox.ini `deps`: one more requirement line at the end of a section's `deps`, indented like the
//! lines before it; everything else in the file is kept byte for byte.

use super::format;
use super::pep508::Requirement;

/// Adds `packages` to the `deps` of `[section]`; a package already listed is left as it is.
/// The text comes back unchanged when the section or its `deps` is missing.
pub fn add(old: &str, section: &str, packages: &[String]) -> String {
    match format::keeping(old, |plain| {
        Ok::<_, std::convert::Infallible>(add_plain(plain, section, packages))
    }) {
        Ok(text) => text,
        Err(never) => match never {},
    }
}

fn add_plain(old: &str, section: &str, packages: &[String]) -> String {
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut current = String::new();
    let mut deps: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        match deps {
            Some((start, _)) if indented && !trimmed.is_empty() => deps = Some((start, i)),
            Some(_) => break,
            None if current == section
                && !indented
                && trimmed
                    .split_once('=')
                    .is_some_and(|(k, _)| k.trim() == "deps") =>
            {
                deps = Some((i, i));
            }
            None => {}
        }
    }
    let Some((start, end)) = deps else {
        return old.to_string();
    };
    let mut listed: Vec<String> = lines[start..=end]
        .iter()
        .enumerate()
        .map(|(n, l)| {
            if n == 0 {
                l.split_once('=').map_or("", |(_, v)| v)
            } else {
                l
            }
        })
        .filter_map(|l| Requirement::parse(l.trim()).map(|r| r.key()))
        .collect();
    let indent = if end > start {
        let l = lines[end];
        l[..l.len() - l.trim_start().len()].to_string()
    } else {
        "    ".to_string()
    };
    let mut added = String::new();
    for p in packages {
        if let Some(r) = Requirement::parse(p) {
            if !listed.contains(&r.key()) {
                listed.push(r.key());
                added.push_str(&format!("{indent}{}\n", p.trim()));
            }
        }
    }
    if added.is_empty() {
        return old.to_string();
    }
    let mut out: String = lines[..=end].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&added);
    out.push_str(&lines[end + 1..].concat());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOX: &str = "[tox]\nenvlist = py\n\n[testenv]\ndeps =\n  pytest>=8\n  -r requirements.txt\ncommands = pytest {posargs}\n\n[testenv:lint]\ndeps = ruff\n";

    #[test]
    fn a_line_is_added_after_the_deps_indented_like_them() {
        let new = add(TOX, "testenv", &["pytest-xdist>=3.5".to_string()]);
        assert_eq!(
            new,
            TOX.replace(
                "  -r requirements.txt\n",
                "  -r requirements.txt\n  pytest-xdist>=3.5\n"
            )
        );
        assert_eq!(add(&new, "testenv", &["Pytest_Xdist".to_string()]), new);
        let lint = add(TOX, "testenv:lint", &["mypy".to_string()]);
        assert!(lint.ends_with("deps = ruff\n    mypy\n"), "{lint}");
        assert_eq!(add(TOX, "missing", &["x".to_string()]), TOX);
        assert_eq!(
            add("[testenv]\ndeps = a", "testenv", &["b".to_string()]),
            "[testenv]\ndeps = a\n    b"
        );
    }
}
