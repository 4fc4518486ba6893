//! What a step's command leaves for people: its log file's path, how its process ended, and the
//! end of its output, as the actions quote them in their errors.

use std::path::{Path, PathBuf};

use crate::exec::context::StepContext;
use crate::exec::events::StepOutput;
use crate::exec::failure::{Failure, StepError};
use crate::process;

/// The log file of step `id`; refused unless the id is an identifier (validate made sure).
pub fn log_path(ctx: &StepContext<'_>, id: &str) -> Result<(PathBuf, String), StepError> {
    let path = crate::ident::ident_path(&crate::journal::paths::logs_dir(ctx.run_dir), id, "log")
        .map_err(|source| Failure::LogName {
        id: id.to_string(),
        source,
    })?;
    let rel = ctx.target_rel(&path);
    Ok((path, rel))
}

/// How many of a failed command's last lines are quoted under its failure.
const TAIL_LINES: usize = 15;

/// The last lines of a log, for a failure to quote.
pub fn tail(log: &Path) -> Vec<String> {
    process::tail(log, TAIL_LINES)
}

/// A suite that could not be measured, with the log of the run whose results were unreadable.
pub fn suite_failed(ctx: &StepContext<'_>, e: crate::measure::suite::SuiteError) -> StepError {
    let log = match &e {
        crate::measure::suite::SuiteError::Junit { log, .. } => Some(ctx.target_rel(log)),
        _ => None,
    };
    StepError::logged(Failure::Suite(e), log)
}

/// `result` without the log it names when that log was never written: a command that writes
/// nothing leaves no file (see [`process::caplog::CappedLog::lazy`]), and the report names only
/// logs that exist.
pub fn unwritten_log_dropped(ctx: &StepContext<'_>, result: &mut Result<StepOutput, StepError>) {
    let log = match result {
        Ok(out) => &mut out.log,
        Err(e) => &mut e.log,
    };
    if log
        .as_deref()
        .is_some_and(|rel| std::fs::symlink_metadata(ctx.prep.target.join(rel)).is_err())
    {
        *log = None;
    }
}
