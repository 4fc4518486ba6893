//! Warnings about journals in a target that were not written here: they are never replayed.

use std::path::Path;

use super::state;
use crate::ui;

/// Warns about journals in the target that were not written here: they are never replayed.
pub fn warn_foreign(target: &Path) {
    if let Ok(foreign) = state::foreign_runs(target) {
        for id in foreign {
            ui::warn(&format!(
                "`.planrun/journal/{id}` was not written here (by this user on this machine) and is ignored; inspect it, then `planrun rollback --abandon {id}` sets it aside"
            ));
        }
    }
}
