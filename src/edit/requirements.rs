//! requirements files (requirements-dev.txt): one line per project, replaced in place by
//! normalized name or appended, everything else (comments, `-r` includes, endings) kept.

/// PEP 503 normalization, the one planrun uses everywhere: surrounding whitespace dropped,
/// lowercase, and every run of `-`, `_` and `.` becomes one `-` (`re.sub(r"[-_.]+", "-",
/// name).lower()`).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The normalized project name a PEP 508 requirement starts with (`Foo_Bar[x]>=1` gives
/// `foo-bar`); `None` for options, paths and URLs.
pub fn project_name(requirement: &str) -> Option<String> {
    let req = requirement.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    let name = req[..end].trim_end_matches(['-', '_', '.']);
    let rest = req[name.len()..].trim_start();
    let starts_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let rest_ok =
        rest.is_empty() || rest.starts_with(['[', '<', '>', '=', '!', '~', ';', '@', '(']);
    (starts_ok && rest_ok).then(|| normalize(name))
}

/// Splits a requirement line into its requirement and its comment (with the space before it).
fn split_comment(line: &str) -> (&str, &str) {
    let hash = line
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)));
    match hash {
        Some((i, _)) => {
            let code = line[..i].trim_end();
            (code, &line[code.len()..])
        }
        None => (line, ""),
    }
}

/// Adds `packages` (requirement strings) to a requirements file: the line for the same project
/// is replaced (its comment kept), otherwise the requirement is appended.
/// A BOM, CRLF endings and a missing final newline are kept.
pub fn add(old: &str, packages: &[String]) -> String {
    match super::format::keeping(old, |plain| {
        Ok::<_, std::convert::Infallible>(add_plain(plain, packages))
    }) {
        Ok(text) => text,
        Err(never) => match never {},
    }
}

fn add_plain(old: &str, packages: &[String]) -> String {
    let eol = if old.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<(String, &str)> = old
        .split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(body) => match body.strip_suffix('\r') {
                Some(b) => (b.to_string(), "\r\n"),
                None => (body.to_string(), "\n"),
            },
            None => (l.to_string(), ""),
        })
        .collect();
    let mut changed = false;
    for package in packages.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let name = project_name(package);
        let same = (0..lines.len()).find(|&i| {
            let continued = i > 0 && lines[i - 1].0.trim_end().ends_with('\\');
            let (code, _) = split_comment(&lines[i].0);
            !continued
                && match &name {
                    Some(n) => project_name(code).as_ref() == Some(n),
                    None => code.trim() == package,
                }
        });
        match same {
            Some(i) => {
                let (_, comment) = split_comment(&lines[i].0);
                let new = format!("{package}{comment}");
                if new != lines[i].0 {
                    lines[i].0 = new;
                    changed = true;
                }
            }
            None => {
                if let Some(last) = lines.last_mut().filter(|l| l.1.is_empty()) {
                    last.1 = eol;
                }
                // A last line ending in `\` continues into the next one; end it with a blank line.
                if lines.last().is_some_and(|l| l.0.trim_end().ends_with('\\')) {
                    lines.push((String::new(), eol));
                }
                lines.push((package.to_string(), eol));
                changed = true;
            }
        }
    }
    if !changed {
        return old.to_string();
    }
    lines
        .iter()
        .flat_map(|(text, eol)| [text.as_str(), eol])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEV: &str = "\
-r requirements.txt
# test tools
pytest>=8.0
Pytest_Xdist==3.3.1  # parallel runs
coverage[toml]>=7 ; python_version >= \"3.9\"
";

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_normalize_like_pep_503() {
        assert_eq!(normalize("Foo__Bar.baz-Qux"), "foo-bar-baz-qux");
        assert_eq!(normalize(" Pytest_Xdist \n"), "pytest-xdist");
        assert_eq!(normalize("a-_.b"), "a-b");
        assert_eq!(
            project_name("Pytest_Xdist[psutil]>=3.5").as_deref(),
            Some("pytest-xdist")
        );
        assert_eq!(
            project_name("pytest-xdist @ https://x/y.whl").as_deref(),
            Some("pytest-xdist")
        );
        assert_eq!(project_name("-r base.txt"), None);
        assert_eq!(project_name("git+https://github.com/x/y"), None);
        assert_eq!(project_name("./local/pkg"), None);
    }

    #[test]
    fn the_line_for_the_same_project_is_replaced_with_its_comment_kept() {
        let new = add(DEV, &s(&["pytest-xdist>=3.5"]));
        assert_eq!(
            new,
            DEV.replace(
                "Pytest_Xdist==3.3.1  # parallel runs",
                "pytest-xdist>=3.5  # parallel runs"
            )
        );
    }

    #[test]
    fn new_projects_are_appended_and_includes_kept() {
        let new = add(DEV, &s(&["pytest-randomly"]));
        assert_eq!(new, format!("{DEV}pytest-randomly\n"));
        assert_eq!(add("", &s(&["pytest"])), "pytest\n");
        // A file without a final newline keeps lacking one.
        assert_eq!(add("-r base.txt", &s(&["pytest"])), "-r base.txt\npytest");
        assert_eq!(add("a\r\n", &s(&["b"])), "a\r\nb\r\n");
    }

    #[test]
    fn already_recorded_requirements_leave_the_file_byte_identical() {
        assert_eq!(add(DEV, &s(&["pytest>=8.0"])), DEV);
        assert_eq!(add("pytest>=8.0", &s(&["pytest>=8.0"])), "pytest>=8.0");
    }

    proptest! {
        /// Any text as the file and as the packages: never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            old in any::<String>(),
            packages in prop::collection::vec(any::<String>(), 0..4),
        ) {
            let _ = add(&old, &packages);
            for p in &packages {
                let _ = project_name(p);
                let _ = normalize(p);
            }
        }

        #[test]
        fn adding_twice_equals_adding_once(
            lines in prop::collection::vec(prop_oneof![Just("# c"), Just("-r base.txt"), Just("pytest>=7"), Just("Pytest_Xdist"), Just("a  # x"), Just(""), Just("b \\"), Just("é-pkg # ü")], 0..6),
            packages in prop::collection::vec(prop_oneof![Just("pytest>=8"), Just("pytest-xdist>=3.5"), Just("A==1"), Just("./x"), Just("ünïcode>=1")], 0..4),
            crlf in prop::bool::ANY,
        ) {
            let old = lines.join(if crlf { "\r\n" } else { "\n" });
            let packages = s(&packages);
            let once = add(&old, &packages);
            prop_assert_eq!(add(&once, &packages), once.clone());
            for p in &packages {
                prop_assert!(once.lines().any(|l| split_comment(l).0 == p), "{} missing", p);
            }
        }
    }
}
