//! What a step's command leaves for people: its log file's path, how its process ended, and the
//! end of its output, as the actions quote them in their errors.

use std::path::{Path, PathBuf};

use crate::exec::context::StepContext;
use crate::exec::events::StepError;
use crate::process;

/// The log file of step `id`; refused unless the id is an identifier (validate made sure).
pub fn log_path(ctx: &StepContext<'_>, id: &str) -> Result<(PathBuf, String), StepError> {
    let path =
        crate::ident::ident_path(&crate::journal::paths::logs_dir(ctx.run_dir), id, "log")
            .map_err(|e| StepError::new(format!("step id `{}`: {e}", crate::ident::shown(id))))?;
    let rel = ctx.target_rel(&path);
    Ok((path, rel))
}

/// How a command ended, as a sentence fragment.
pub fn describe_status(status: &process::Status) -> String {
    match status {
        process::Status::Exited(code) => format!("exited with status {code}"),
        process::Status::Signaled(sig) => format!("was killed by signal {sig}"),
        process::Status::TimedOut => "timed out and was stopped".into(),
        process::Status::Cancelled => "was interrupted".into(),
    }
}

/// The last lines of a log, indented and quoted for an error message.
pub fn tail_text(log: &Path) -> String {
    let lines = process::tail(log, 15);
    if lines.is_empty() {
        return "  (no output)".into();
    }
    lines
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
