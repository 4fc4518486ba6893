//! Unified diffs and diff statistics of an edit's old and new content (`None` = no file).

use similar::{ChangeTag, TextDiff};

use crate::styled::{count, Style, Styled};

/// Lines of context around each change, as `diff -u` and git use.
const CONTEXT: usize = 3;

/// A unified diff of one file with `a/` and `b/` headers (`/dev/null` for a created or deleted
/// file), as plain text; empty when nothing changes.
pub fn unified(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    unified_styled(path, old, new).text()
}

/// [`unified`] as styled spans (headers bold, hunk headers cyan, removals red, additions
/// green), for `crate::ui` to render with or without colour.
pub fn unified_styled(path: &str, old: Option<&str>, new: Option<&str>) -> Styled {
    let mut out = Styled::new();
    if old == new {
        return out;
    }
    let (a, b) = (old.unwrap_or_default(), new.unwrap_or_default());
    let from = old.map_or("/dev/null".to_string(), |_| format!("a/{path}"));
    let to = new.map_or("/dev/null".to_string(), |_| format!("b/{path}"));
    out.styled(Style::Bold, format!("--- {from}")).plain("\n");
    out.styled(Style::Bold, format!("+++ {to}")).plain("\n");
    let diff = TextDiff::from_lines(a, b);
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        out.styled(Style::Cyan, hunk.header().to_string())
            .plain("\n");
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ("-", Some(Style::Red)),
                ChangeTag::Insert => ("+", Some(Style::Green)),
                ChangeTag::Equal => (" ", None),
            };
            let value = change.value();
            let body = value.strip_suffix('\n').unwrap_or(value);
            let body = body.strip_suffix('\r').unwrap_or(body);
            out.push(style, format!("{sign}{body}")).plain("\n");
            if change.missing_newline() {
                out.plain("\\ No newline at end of file\n");
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
        let diff = unified("pytest.ini", Some(OLD), Some(&new));
        assert_eq!(
            diff,
            "--- a/pytest.ini\n+++ b/pytest.ini\n@@ -3,6 +3,6 @@\n b = 2\n c = 3\n d = 4\n-e = 5\n+e = 50\n f = 6\n g = 7\n"
        );
    }

    #[test]
    fn creation_and_deletion_use_dev_null() {
        let created = unified("pytest.ini", None, Some("[pytest]\n"));
        assert_eq!(
            created,
            "--- /dev/null\n+++ b/pytest.ini\n@@ -0,0 +1 @@\n+[pytest]\n"
        );
        let deleted = unified("x.txt", Some("a\n"), None);
        assert_eq!(deleted, "--- a/x.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n");
        assert_eq!(unified("x", Some("same"), Some("same")), "");
    }

    #[test]
    fn missing_final_newline_is_marked_and_spans_carry_the_styles() {
        let diff = unified("f", Some("a"), Some("b"));
        assert!(
            diff.ends_with("-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"),
            "{diff}"
        );
        let spans = unified_styled("f", Some("a\n"), Some("b\n"));
        let styled: Vec<(Option<Style>, &str)> = spans
            .spans()
            .iter()
            .map(|s| (s.style, s.text.as_str()))
            .filter(|(_, t)| *t != "\n")
            .collect();
        assert_eq!(
            styled,
            [
                (Some(Style::Bold), "--- a/f"),
                (Some(Style::Bold), "+++ b/f"),
                (Some(Style::Cyan), "@@ -1 +1 @@"),
                (Some(Style::Red), "-a"),
                (Some(Style::Green), "+b"),
            ]
        );
        assert_eq!(spans.text(), "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n");
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
