//! The one place user-facing output is written: colour decisions (NO_COLOR, --no-color, CI,
//! non-TTY), styles, the error/warning/note line formats and how a count reads (`1 file`,
//! `3 files`). Logs go through `tracing` instead.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static FORCE_PLAIN: AtomicBool = AtomicBool::new(false);

/// Turns colour and animation off for the rest of the process (`--no-color`, `--ci`).
pub fn force_plain() {
    FORCE_PLAIN.store(true, Ordering::Relaxed);
}

fn color_allowed() -> bool {
    !FORCE_PLAIN.load(Ordering::Relaxed)
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Whether stdout gets ANSI colour.
pub fn stdout_color() -> bool {
    color_allowed() && std::io::stdout().is_terminal()
}

/// Whether stderr gets ANSI colour.
pub fn stderr_color() -> bool {
    color_allowed() && std::io::stderr().is_terminal()
}

/// Whether live progress (redrawn lines) may be shown on stderr.
pub fn animate() -> bool {
    !FORCE_PLAIN.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// A text style; rendered only when colour is on for the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Cyan,
    BoldRed,
    BoldGreen,
    BoldYellow,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Cyan => "36",
            Style::BoldRed => "1;31",
            Style::BoldGreen => "1;32",
            Style::BoldYellow => "1;33",
        }
    }
}

/// Wraps `text` in the style's escape codes when `color` is true.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("\x1b[{}m{}\x1b[0m", style.code(), text)
    } else {
        text.to_string()
    }
}

/// `n` and `noun`, plural unless `n` is 1: `1 file`, `0 files`, `3 timed suites`. Every noun
/// planrun counts takes a plain `s`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Writes a line to stdout (report output), secret values masked.
pub fn out(line: &str) {
    let line = crate::secrets::mask_output(line);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// Writes a line to stderr (status, progress, diagnostics), secret values masked.
pub fn err(line: &str) {
    let line = crate::secrets::mask_output(line);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// `error: message` on stderr, with an optional `hint:` line.
pub fn error(message: &str, hint: Option<&str>) {
    let c = stderr_color();
    err(&format!("{} {message}", paint(c, Style::BoldRed, "error:")));
    if let Some(hint) = hint {
        err(&format!("  {} {hint}", paint(c, Style::Cyan, "hint:")));
    }
}

/// `warning: message` on stderr.
pub fn warn(message: &str) {
    let c = stderr_color();
    err(&format!(
        "{} {message}",
        paint(c, Style::BoldYellow, "warning:")
    ));
}

/// `note: message` on stderr.
pub fn note(message: &str) {
    let c = stderr_color();
    err(&format!("{} {message}", paint(c, Style::Cyan, "note:")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_plural_unless_one() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(3, "timed suite"), "3 timed suites");
    }
}
