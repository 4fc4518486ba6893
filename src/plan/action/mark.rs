//! The compiled `mark` step: the record whose durations decide, the thresholds, and the files
//! it writes, with their defaults filled in here.

use super::{CompiledStep, Written};
use crate::plan::fields::{one, opt, Visit};
use crate::plan::locate::{at, Seg};
use crate::plan::model::MarkStep;

impl Written for MarkStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        one(f, "from", &mut self.from);
        opt(f, "durations", &mut self.durations);
        opt(f, "conftest", &mut self.conftest);
    }

    /// The durations file and the conftest, where the step names them.
    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        [("durations", &self.durations), ("conftest", &self.conftest)]
            .into_iter()
            .filter_map(|(key, p)| Some((at![key], p.as_deref()?)))
            .collect()
    }
}

/// A test below this median is `fast` when a `mark` step names no `fast`.
pub const DEFAULT_MARK_FAST: f64 = 0.1;

/// A test above this median is `slow` when a `mark` step names no `slow`.
pub const DEFAULT_MARK_SLOW: f64 = 1.0;

/// The durations file of a `mark` step that names none.
pub const DEFAULT_DURATIONS: &str = ".test-durations.json";

/// The conftest of a `mark` step that names none.
pub const DEFAULT_CONFTEST: &str = "conftest.py";

/// A `mark` step.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The step id.
    pub id: String,
    /// The record whose durations decide.
    pub from: String,
    /// Below this median a test is `fast`.
    pub fast: f64,
    /// Above this median a test is `slow`.
    pub slow: f64,
    /// The durations file, target-relative.
    pub durations: String,
    /// The conftest that gets the hook, target-relative.
    pub conftest: String,
}

/// Compiles a written `mark` step.
pub fn compile(s: &MarkStep) -> Mark {
    Mark {
        id: s.id.clone(),
        from: s.from.clone(),
        fast: s.fast.unwrap_or(DEFAULT_MARK_FAST),
        slow: s.slow.unwrap_or(DEFAULT_MARK_SLOW),
        durations: s
            .durations
            .clone()
            .unwrap_or_else(|| DEFAULT_DURATIONS.into()),
        conftest: s
            .conftest
            .clone()
            .unwrap_or_else(|| DEFAULT_CONFTEST.into()),
    }
}

impl CompiledStep for Mark {
    fn id(&self) -> &str {
        &self.id
    }

    fn action(&self) -> &'static str {
        "mark"
    }

    fn target_paths(&self) -> Vec<&str> {
        vec![self.durations.as_str(), self.conftest.as_str()]
    }

    fn edits_files(&self) -> bool {
        true
    }
}
