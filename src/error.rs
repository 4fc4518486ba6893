//! The top-level error: one variant per layer that can end a command, each owning its exit code
//! ([`Error::code`], the only place codes are chosen for errors) and rendered once, with its
//! `Caused by:` chain and a hint ([`Error::report`]).

use std::path::PathBuf;

use std::path::Path;

use crate::exit;
use crate::journal::error::{JournalError, RollbackError};
use crate::journal::lock::LockError;
use crate::plan::Diagnostics;

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plan that failed its checks: every problem with its file, line and column.
    #[error("the plan has {} problem(s)", .0.len())]
    Plan(Diagnostics),
    /// The target's lock could not be taken.
    #[error("{source}")]
    Lock {
        /// Why.
        source: Box<LockError>,
        /// What to do, as the command that wanted the lock puts it.
        hint: Option<String>,
    },
    /// A journal or state directory planrun cannot use, or will not trust.
    #[error(transparent)]
    Journal(Box<JournalError>),
    /// A rollback that stopped before touching anything, or did not finish.
    #[error("{source}")]
    Rollback {
        /// The target it was rolling back.
        target: PathBuf,
        /// What happened.
        source: Box<RollbackError>,
    },
    /// A usage error: a message and what to do.
    #[error("{message}")]
    Message {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// A stage entered before the previous stage's promotion criteria hold in its history.
    #[error("stage `{stage}` may not be applied yet: stage `{previous}` is not promoted ({runs} run(s) in its history window)\n{}", .failures.iter().map(|f| format!("  not met: {f}")).collect::<Vec<_>>().join("\n"))]
    NotPromoted {
        /// The stage asked for.
        stage: String,
        /// The stage whose promotion does not hold.
        previous: String,
        /// Runs of the previous stage in the window.
        runs: usize,
        /// Each criterion that does not hold, with its values.
        failures: Vec<String>,
    },
    /// An I/O failure with what was being done.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another layer's error with what was being done; its causes are kept, not flattened.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// A usage or plan error (exit 2).
    pub fn invalid(message: impl Into<String>, hint: Option<&str>) -> Self {
        Error::Message {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// An I/O error with context ("failed to read `x`").
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Another layer's error with what was being done ("failed to open the journal").
    pub fn context(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Context {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// A failed rollback of `target`.
    pub fn rollback(target: &std::path::Path, source: RollbackError) -> Self {
        Error::Rollback {
            target: target.to_path_buf(),
            source: Box::new(source),
        }
    }

    /// The process exit code this error ends planrun with.
    pub fn code(&self) -> u8 {
        match self {
            Error::Lock { source, .. }
                if matches!(
                    **source,
                    LockError::Held { .. } | LockError::Stale { .. } | LockError::Foreign { .. }
                ) =>
            {
                exit::LOCKED
            }
            Error::Rollback { source, .. } => match source.as_ref() {
                RollbackError::Drift { .. } => exit::DRIFT,
                // A journal planrun will not trust is refused before anything is done.
                RollbackError::Journal(
                    JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. },
                ) => exit::INVALID,
                RollbackError::Journal(_) | RollbackError::Incomplete { .. } => {
                    exit::ROLLBACK_FAILED
                }
            },
            Error::NotPromoted { .. } => exit::NOT_PROMOTED,
            Error::Plan(_)
            | Error::Lock { .. }
            | Error::Journal(_)
            | Error::Message { .. }
            | Error::Io { .. }
            | Error::Context { .. } => exit::INVALID,
        }
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Message { hint, .. } | Error::Lock { hint, .. } => hint.clone(),
            Error::Journal(_) => Some("nothing was done".into()),
            Error::NotPromoted { previous, .. } => Some(format!(
                "nothing was done; apply stage `{previous}` until its `promote` criteria hold (`planrun status PLAN` shows them), or pass --force to apply anyway (the report and the history say so)"
            )),
            Error::Rollback { target, source } => Some(rollback_hint(target, source)),
            Error::Context { source, .. } if disk_full(source.as_ref()) => Some(
                "nothing was changed; free space on the target's file system (each run keeps \
                 64 KiB for its journal), then run this again"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Prints the error, once, and returns its exit code: plan diagnostics as they are; any other
    /// error as `error:` with its causes and a hint, after the details a rollback has to show.
    pub fn report(&self) -> u8 {
        let color = crate::ui::stderr_color();
        match self {
            Error::Plan(diagnostics) => {
                crate::ui::err(&crate::ui::render(&diagnostics.styled(), color))
            }
            Error::Rollback { target, source } => {
                rollback_details(target, source, color);
                let message = rollback_message(source);
                crate::ui::error(&message, self.hint().as_deref());
            }
            _ => crate::ui::error(&with_causes(self), self.hint().as_deref()),
        }
        self.code()
    }
}

impl From<LockError> for Error {
    fn from(source: LockError) -> Self {
        Error::Lock {
            hint: source.hint().map(str::to_string),
            source: Box::new(source),
        }
    }
}

impl From<JournalError> for Error {
    fn from(e: JournalError) -> Self {
        Error::Journal(Box::new(e))
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Plan(d)
    }
}

/// `error`'s message followed by a `Caused by:` line for each source whose text it does not
/// already show, so the OS error (`No space left on device (os error 28)`) reaches the user.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str("\n  Caused by: ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Prints what a rollback has to show before its error line: each drifted path with its diff,
/// or what an incomplete rollback did undo.
fn rollback_details(target: &Path, e: &RollbackError, color: bool) {
    let _ = target;
    match e {
        RollbackError::Drift { drift, .. } => {
            for d in drift {
                let tracked = if d.git_dirty {
                    " (tracked by git, with uncommitted changes)"
                } else {
                    ""
                };
                crate::ui::err(&format!(
                    "changed since the apply: {}{tracked}",
                    crate::ui::paint(color, crate::ui::Style::Bold, &d.path)
                ));
                crate::ui::err(d.diff.trim_end());
            }
        }
        RollbackError::Incomplete { report, .. } => {
            for line in crate::journal::render::rollback_lines(report)
                .iter()
                .skip(1)
            {
                crate::ui::out(&crate::ui::render(line, color));
            }
        }
        RollbackError::Journal(_) => {}
    }
}

/// The error line of a rollback that stopped or did not finish.
pub(crate) fn rollback_message(e: &RollbackError) -> String {
    match e {
        RollbackError::Drift { run_id, drift } => format!(
            "rollback of run `{run_id}` stopped: {} path(s) changed since planrun wrote them; nothing was touched",
            drift.len()
        ),
        RollbackError::Incomplete {
            run_id, failures, ..
        } => {
            let list: Vec<String> = failures.iter().map(|f| format!("\n  - {f}")).collect();
            format!("rollback of run `{run_id}` is incomplete:{}", list.concat())
        }
        RollbackError::Journal(
            e @ (JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. }),
        ) => with_causes(e),
        RollbackError::Journal(e) => {
            format!("rollback failed: {}", with_causes(e))
        }
    }
}

/// What to do after a rollback of `target` stopped or did not finish.
fn rollback_hint(target: &Path, e: &RollbackError) -> String {
    let shown = target.display();
    match e {
        RollbackError::Drift { run_id, .. } => format!(
            "keep your changes elsewhere first, or run `planrun rollback --force --target {shown}` to restore anyway after saving your versions in .planrun/journal/{run_id}/drift/"
        ),
        RollbackError::Incomplete { run_id, .. } => format!(
            "fix the cause above, then run `planrun rollback --target {shown}` again: it retries only what is left, and the journal is kept in .planrun/journal/{run_id}; if you put things right by hand, `planrun rollback --abandon {run_id} --target {shown}` ends the run"
        ),
        RollbackError::Journal(JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. }) => {
            "nothing was done".into()
        }
        RollbackError::Journal(_) => format!(
            "the journal is kept in `{shown}/.planrun/journal`; fix the cause and run `planrun rollback --target {shown}` again"
        ),
    }
}

/// The result of a command: its exit code, or an error that carries one.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a full disk (or quota) is somewhere in `e`'s chain of causes.
fn disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(crate::journal::reserve::is_full)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("failed to create `x`")]
        Io(#[source] std::io::Error),
        #[error(transparent)]
        Inner(Box<Outer>),
    }

    #[test]
    fn causes_carry_the_os_error_once() {
        let full = Outer::Io(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(
            with_causes(&full),
            "failed to create `x`\n  Caused by: No space left on device (os error 28)"
        );
        let wrapped = Outer::Inner(Box::new(full));
        assert_eq!(with_causes(&wrapped).matches("Caused by").count(), 1);
    }
}
