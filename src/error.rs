//! The top-level error: what a command reports before planrun exits, and with which code.

use crate::exit;

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already printed to the user in full; exit with this code.
    #[error("exit {0}")]
    Reported(u8),
    /// A message, an optional hint and the exit code.
    #[error("{message}")]
    Message {
        message: String,
        hint: Option<String>,
        code: u8,
    },
    /// An I/O failure with what was being done.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A usage or plan error (exit 2).
    pub fn invalid(message: impl Into<String>, hint: Option<&str>) -> Self {
        Error::Message {
            message: message.into(),
            hint: hint.map(str::to_string),
            code: exit::INVALID,
        }
    }

    /// An I/O error with context ("failed to read `x`").
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Prints the error (unless already reported) and returns its exit code.
    pub fn report(&self) -> u8 {
        match self {
            Error::Reported(code) => *code,
            Error::Message {
                message,
                hint,
                code,
            } => {
                crate::ui::error(message, hint.as_deref());
                *code
            }
            Error::Io { context, source } => {
                crate::ui::error(&format!("{context}\n  Caused by: {source}"), None);
                exit::INVALID
            }
        }
    }
}

/// `error`'s message followed by a `Caused by:` line for each source whose text it does not
/// already show, so the OS error (`No space left on device (os error 28)`) reaches the user
/// when an error becomes an [`Error::Message`].
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

/// The result of a command: its exit code, or an error that carries one.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
