//! What a step changes in pytest's configuration, and how pytest reads markers and line lists:
//! shared by the INI and TOML editors.

use std::collections::BTreeMap;

/// What to change in pytest's configuration. Applied in this order: set, addopts, markers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PytestOps {
    /// Options for `addopts`; an option already there gets the new value in place.
    pub addopts_add: Vec<String>,
    /// Options to drop from `addopts`, with their values.
    pub addopts_remove: Vec<String>,
    /// Other ini options to set, e.g. `testpaths`.
    pub set: BTreeMap<String, String>,
    /// Marker lines (`"slow: takes long"`) to register unless the name is registered already.
    pub markers_add: Vec<String>,
}

/// The marker's name: what comes before its `:` description or `(` arguments.
pub(super) fn marker_name(line: &str) -> &str {
    line.split([':', '(']).next().unwrap_or_default().trim()
}

/// A one-line value as a list of at most one trimmed line (none when blank).
pub(super) fn lines(value: &str) -> Vec<String> {
    Some(value.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect()
}
