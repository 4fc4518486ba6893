//! Warnings about journals in a target that were not written here: they are never replayed.

use std::path::Path;

use super::state;

/// One warning per journal in the target that was not written here (never replayed), for the
/// caller to show through `crate::ui`.
pub fn foreign_warnings(target: &Path) -> Vec<String> {
    state::foreign_runs(target)
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            format!(
                "`.planrun/journal/{id}` was not written here (by this user on this machine) and is ignored; inspect it, then `planrun rollback --abandon {id}` sets it aside"
            )
        })
        .collect()
}
