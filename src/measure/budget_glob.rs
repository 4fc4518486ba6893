//! Path patterns of budget keys (`**/unit`, `tests/*/slow`): which tests they cover, and which
//! directories of a target they match, so a dry run can say what a budget was derived to.

use std::path::Path;

/// A `/`-separated pattern: `**` is any number of directories, `*` any text within one name,
/// `?` one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    parts: Vec<String>,
}

/// Directories a target walk never enters: environments, caches, VCS and planrun's own state.
const SKIPPED: &[&str] = &["node_modules", "site-packages", "venv", "build", "dist"];

/// How deep a target walk goes: test directories sit near the top.
const MAX_DEPTH: usize = 6;

impl Glob {
    /// The pattern, `./` and trailing `/` ignored.
    pub fn new(pattern: &str) -> Glob {
        let trimmed = pattern
            .trim()
            .trim_start_matches("./")
            .trim_end_matches('/');
        Glob {
            parts: trimmed
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Whether pytest id `id` lies in a file or under a directory the pattern matches.
    pub fn covers(&self, id: &str) -> bool {
        let path = id.split("::").next().unwrap_or_default();
        let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
        (1..=names.len()).any(|n| self.matches(&names[..n]))
    }

    /// Whether the pattern matches exactly this path (its names).
    pub fn matches(&self, names: &[&str]) -> bool {
        matches_parts(&self.parts, names)
    }

    /// The target's directories and files the pattern matches, relative and sorted, none inside
    /// another: what the budget covers in this repository.
    pub fn find_in(&self, root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        self.walk(root, &mut Vec::new(), &mut found);
        found
    }

    fn walk(&self, dir: &Path, names: &mut Vec<String>, found: &mut Vec<String>) {
        if names.len() >= MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || SKIPPED.contains(&name.as_str()) || name == "__pycache__" {
                continue;
            }
            names.push(name);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            // Not through symlinks: a target's link may lead anywhere.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if self.matches(&refs) {
                found.push(names.join("/"));
            } else if is_dir {
                self.walk(&entry.path(), names, found);
            }
            names.pop();
        }
    }
}

fn matches_parts(parts: &[String], names: &[&str]) -> bool {
    match parts.split_first() {
        None => names.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=names.len()).any(|skip| matches_parts(rest, &names[skip..]))
        }
        Some((first, rest)) => names
            .split_first()
            .is_some_and(|(name, more)| matches_name(first, name) && matches_parts(rest, more)),
    }
}

/// `*` and `?` within one name.
fn matches_name(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_the_tests_under_what_they_match() {
        let unit = Glob::new("**/unit");
        assert!(unit.covers("tests/unit/test_a.py::test_x"));
        assert!(unit.covers("unit/test_a.py::test_x"));
        assert!(unit.covers("src/pkg/tests/unit/deep/test_a.py::T::test_x[1]"));
        assert!(!unit.covers("tests/unit_slow/test_a.py::test_x"));
        assert!(!unit.covers("tests/test_unit.py::test_x"));
        let files = Glob::new("tests/*/test_*_db.py");
        assert!(files.covers("tests/api/test_users_db.py::test_x"));
        assert!(!files.covers("tests/test_users_db.py::test_x"));
        assert!(Glob::new("tests/?pi").covers("tests/api/test_a.py::t"));
    }

    #[test]
    fn a_target_walk_lists_what_a_pattern_matches() {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "tests/unit/inner/unit",
            "pkg/tests/unit",
            ".venv/lib/unit",
            "tests/integration",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        assert_eq!(
            Glob::new("**/unit").find_in(dir.path()),
            ["pkg/tests/unit", "tests/unit"]
        );
        assert!(Glob::new("**/functional").find_in(dir.path()).is_empty());
    }
}
