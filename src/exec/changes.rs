//! What an apply changed in the target's files, from the journal's before-images (edits and
//! `run` steps' declared `changes` alike): a diff stat and each file's diff, cut to a size.

use crate::run::change::{DiffStat, FileChange};

/// The net change of every file the run journaled: before-image against the file as it is now,
/// as a stat and as each file's diff (cut to [`DIFF_KEPT`] bytes a file).
pub fn net_changes(
    target: &std::path::Path,
    journal_dir: &std::path::Path,
) -> (DiffStat, Vec<FileChange>) {
    let images = match crate::journal::entry::file_before_images(journal_dir) {
        Ok(images) => images,
        Err(e) => {
            tracing::warn!("cannot read the journal for the diff stat: {e}");
            return (DiffStat::default(), Vec::new());
        }
    };
    let mut total = DiffStat::default();
    let mut diffs = Vec::new();
    for (rel, before) in images {
        let now = std::fs::read(target.join(&rel)).ok();
        if now == before {
            continue;
        }
        let old = before.as_deref().map(String::from_utf8_lossy);
        let new = now.as_deref().map(String::from_utf8_lossy);
        total += crate::edit::diff::stat(old.as_deref(), new.as_deref());
        let path = rel.to_string_lossy().into_owned();
        let text = crate::edit::diff::unified(&path, old.as_deref(), new.as_deref());
        let (diff, truncated) = cut_at_line(text, DIFF_KEPT);
        diffs.push(FileChange {
            path,
            diff,
            truncated,
        });
    }
    (total, diffs)
}

/// At most this many bytes of one file's diff go into the report.
const DIFF_KEPT: usize = 64 * 1024;

/// `text` cut after the last whole line within `max` bytes, and whether it was cut.
fn cut_at_line(mut text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map_or(0, |i| i + 1);
    text.truncate(end);
    (text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_diffs_are_cut_after_a_whole_line() {
        let text = "--- a/f\n+++ b/f\n+é1\n+é2\n".to_string();
        assert_eq!(cut_at_line(text.clone(), 100), (text.clone(), false));
        // 23 bytes reach into `+é2`: the cut keeps the lines before it whole.
        assert_eq!(
            cut_at_line(text.clone(), 23),
            ("--- a/f\n+++ b/f\n+é1\n".to_string(), true)
        );
        // A cut inside the two-byte `é` backs off to a character boundary first.
        assert_eq!(cut_at_line(text, 18).0, "--- a/f\n+++ b/f\n");
    }
}
