//! `--dry-run --json`: the report an apply would start from, beside what each step would do.

use serde::Serialize;

use super::model::RunReport;
use crate::exec::planned::PlannedStep;

/// `--dry-run --json`: the report an apply would start from (steps pending, gates not
/// evaluated) and what each step would do.
#[derive(Debug, Serialize)]
pub struct DryRunReport<'a> {
    /// The report, as report.json has it before the first step.
    #[serde(flatten)]
    pub report: &'a RunReport,
    /// Always true: nothing ran.
    pub dry_run: bool,
    /// What each step would do.
    pub planned: &'a [PlannedStep],
    /// Whether applying would change the target (`--detailed-exitcode` exits 2).
    pub changes_pending: bool,
    /// Files that already hold the change their step makes.
    pub already_in_target: &'a [String],
}
