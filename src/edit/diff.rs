//! Unified diffs and diff statistics of an edit's old and new content (`None` = no file).

use similar::{ChangeTag, TextDiff};

use crate::ui::{count, paint, Style};

/// Lines of context around each change, as `diff -u` and git use.
const CONTEXT: usize = 3;

/// A unified diff of one file with `a/` and `b/` headers (`/dev/null` for a created or deleted
/// file); empty when nothing changes. Coloured when `color`.
pub fn unified(path: &str, old: Option<&str>, new: Option<&str>, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (old.unwrap_or_default(), new.unwrap_or_default());
    let from = old.map_or("/dev/null".to_string(), |_| format!("a/{path}"));
    let to = new.map_or("/dev/null".to_string(), |_| format!("b/{path}"));
    let mut out = String::new();
    let line = |out: &mut String, style: Option<Style>, text: &str| {
        match style {
            Some(style) => out.push_str(&paint(color, style, text)),
            None => out.push_str(text),
        }
        out.push('\n');
    };
    line(&mut out, Some(Style::Bold), &format!("--- {from}"));
    line(&mut out, Some(Style::Bold), &format!("+++ {to}"));
    let diff = TextDiff::from_lines(a, b);
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        line(&mut out, Some(Style::Cyan), &hunk.header().to_string());
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ("-", Some(Style::Red)),
                ChangeTag::Insert => ("+", Some(Style::Green)),
                ChangeTag::Equal => (" ", None),
            };
            let value = change.value();
            let body = value.strip_suffix('\n').unwrap_or(value);
            let body = body.strip_suffix('\r').unwrap_or(body);
            line(&mut out, style, &format!("{sign}{body}"));
            if change.missing_newline() {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// How much a set of edits changes, like `git diff --stat`'s summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiffStat {
    /// Files whose content or existence changes.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
}

impl std::ops::Add for DiffStat {
    type Output = DiffStat;

    fn add(self, other: DiffStat) -> DiffStat {
        DiffStat {
            files: self.files + other.files,
            insertions: self.insertions + other.insertions,
            deletions: self.deletions + other.deletions,
        }
    }
}

impl std::ops::AddAssign for DiffStat {
    fn add_assign(&mut self, other: DiffStat) {
        *self = *self + other;
    }
}

impl std::fmt::Display for DiffStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} changed, {}(+), {}(-)",
            count(self.files, "file"),
            count(self.insertions, "insertion"),
            count(self.deletions, "deletion")
        )
    }
}

/// The stat of one file's edit.
pub fn stat(old: Option<&str>, new: Option<&str>) -> DiffStat {
    if old == new {
        return DiffStat::default();
    }
    let diff = TextDiff::from_lines(old.unwrap_or_default(), new.unwrap_or_default());
    let count = |tag| diff.iter_all_changes().filter(|c| c.tag() == tag).count();
    DiffStat {
        files: 1,
        insertions: count(ChangeTag::Insert),
        deletions: count(ChangeTag::Delete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "[pytest]\na = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\n";

    #[test]
    fn a_change_shows_three_lines_of_context() {
        let new = OLD.replace("e = 5", "e = 50");
        let diff = unified("pytest.ini", Some(OLD), Some(&new), false);
        assert_eq!(
            diff,
            "--- a/pytest.ini\n+++ b/pytest.ini\n@@ -3,6 +3,6 @@\n b = 2\n c = 3\n d = 4\n-e = 5\n+e = 50\n f = 6\n g = 7\n"
        );
    }

    #[test]
    fn creation_and_deletion_use_dev_null() {
        let created = unified("pytest.ini", None, Some("[pytest]\n"), false);
        assert_eq!(
            created,
            "--- /dev/null\n+++ b/pytest.ini\n@@ -0,0 +1 @@\n+[pytest]\n"
        );
        let deleted = unified("x.txt", Some("a\n"), None, false);
        assert_eq!(deleted, "--- a/x.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n");
        assert_eq!(unified("x", Some("same"), Some("same"), false), "");
    }

    #[test]
    fn missing_final_newline_is_marked_and_colour_is_optional() {
        let diff = unified("f", Some("a"), Some("b"), false);
        assert!(
            diff.ends_with("-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"),
            "{diff}"
        );
        let coloured = unified("f", Some("a\n"), Some("b\n"), true);
        assert!(
            coloured.contains("\x1b[31m-a\x1b[0m") && coloured.contains("\x1b[32m+b\x1b[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn stats_count_lines_and_add_up() {
        let new = OLD.replace("e = 5", "e = 50") + "h = 8\n";
        let one = stat(Some(OLD), Some(&new));
        assert_eq!(
            one,
            DiffStat {
                files: 1,
                insertions: 2,
                deletions: 1
            }
        );
        let created = stat(None, Some(""));
        assert_eq!(
            created,
            DiffStat {
                files: 1,
                insertions: 0,
                deletions: 0
            }
        );
        let mut total = one + created;
        total += stat(Some("x\n"), None);
        assert_eq!(
            total.to_string(),
            "3 files changed, 2 insertions(+), 2 deletions(-)"
        );
        assert_eq!(stat(Some("x"), Some("x")), DiffStat::default());
    }
}
