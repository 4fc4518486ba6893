//! The one place user-facing output is written: colour decisions (`--color`, NO_COLOR,
//! CLICOLOR_FORCE / FORCE_COLOR, GitHub Actions, non-TTY, resolved once and handed to anstream,
//! which clap's own output follows too), `-q`, styles, the error/warning/note line formats and how a count reads (`1 file`,
//! `3 files`). Logs go through `tracing` instead.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use anstream::ColorChoice;

/// When to colour output: `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorWhen {
    /// When the stream is a terminal, unless the environment says otherwise.
    #[default]
    Auto,
    /// Always (also `CLICOLOR_FORCE`, `FORCE_COLOR`).
    Always,
    /// Never (also `--no-color`, `NO_COLOR`).
    Never,
}

/// How the environment decides colour under `--color auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Colour on both streams.
    Always,
    /// Colour on neither.
    Never,
    /// Colour on stderr, the log a person reads (GitHub Actions renders ANSI in its logs);
    /// stdout, which is often redirected to a file, only on a terminal.
    Stderr,
    /// Each stream on its own: a terminal that supports colour (anstream decides).
    PerStream,
}

/// Resolves `--color` against the environment (`var` reads a variable): `NO_COLOR` wins, then
/// `CLICOLOR_FORCE` / `FORCE_COLOR`, then GitHub Actions, whose log viewer renders ANSI.
pub fn decide(when: ColorWhen, var: &dyn Fn(&str) -> Option<String>) -> Decided {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    let on = |k: &str| var(k).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    match when {
        ColorWhen::Always => Decided::Always,
        ColorWhen::Never => Decided::Never,
        ColorWhen::Auto if set("NO_COLOR") => Decided::Never,
        ColorWhen::Auto if on("CLICOLOR_FORCE") || on("FORCE_COLOR") => Decided::Always,
        ColorWhen::Auto if var("CLICOLOR").as_deref() == Some("0") => Decided::Never,
        ColorWhen::Auto if var("GITHUB_ACTIONS").as_deref() == Some("true") => Decided::Stderr,
        ColorWhen::Auto => Decided::PerStream,
    }
}

/// Colour of stdout and stderr: 0 not decided yet, 1 off, 2 on.
static STDOUT_COLOR: AtomicU8 = AtomicU8::new(0);
static STDERR_COLOR: AtomicU8 = AtomicU8::new(0);
static NO_ANIMATION: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// Decides colour for the rest of the process, for planrun's output and clap's own (through
/// anstream's global choice, which clap's `ColorChoice::Auto` follows).
pub fn init_color(when: ColorWhen) {
    let decided = decide(when, &|k| std::env::var(k).ok());
    let global = match decided {
        Decided::Always => ColorChoice::Always,
        Decided::Never => ColorChoice::Never,
        Decided::Stderr | Decided::PerStream => ColorChoice::Auto,
    };
    global.write_global();
    let auto_out = anstream::AutoStream::choice(&std::io::stdout()) != ColorChoice::Never;
    let auto_err = anstream::AutoStream::choice(&std::io::stderr()) != ColorChoice::Never;
    let (out, err) = match decided {
        Decided::Always => (true, true),
        Decided::Never => (false, false),
        Decided::Stderr => (auto_out, true),
        Decided::PerStream => (auto_out, auto_err),
    };
    STDOUT_COLOR.store(if out { 2 } else { 1 }, Ordering::Relaxed);
    STDERR_COLOR.store(if err { 2 } else { 1 }, Ordering::Relaxed);
}

/// Turns animation (the redrawn status line) off for the rest of the process (`--ci`).
pub fn no_animation() {
    NO_ANIMATION.store(true, Ordering::Relaxed);
}

/// `-q`: only warnings, errors, failures and the closing verdict on stderr.
pub fn set_quiet() {
    QUIET.store(true, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn color_of<S: anstream::stream::RawStream>(slot: &AtomicU8, stream: &S) -> bool {
    match slot.load(Ordering::Relaxed) {
        0 => anstream::AutoStream::choice(stream) != ColorChoice::Never,
        n => n == 2,
    }
}

/// Whether stdout gets ANSI colour.
pub fn stdout_color() -> bool {
    color_of(&STDOUT_COLOR, &std::io::stdout())
}

/// Whether stderr gets ANSI colour.
pub fn stderr_color() -> bool {
    color_of(&STDERR_COLOR, &std::io::stderr())
}

/// Whether live progress (redrawn lines) may be shown on stderr.
pub fn animate() -> bool {
    !NO_ANIMATION.load(Ordering::Relaxed) && !quiet() && std::io::stderr().is_terminal()
}

fn choice(color: bool) -> ColorChoice {
    if color {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    }
}

pub use crate::styled::{count, Span, Style, Styled};

/// The terminal rendering of a style.
fn ansi(style: Style) -> anstyle::Style {
    use anstyle::AnsiColor::{Cyan, Green, Red, Yellow};
    let plain = anstyle::Style::new();
    match style {
        Style::Bold => plain.bold(),
        Style::Dim => plain.dimmed(),
        Style::Red => plain.fg_color(Some(Red.into())),
        Style::Green => plain.fg_color(Some(Green.into())),
        Style::Yellow => plain.fg_color(Some(Yellow.into())),
        Style::Cyan => plain.fg_color(Some(Cyan.into())),
        Style::BoldRed => plain.bold().fg_color(Some(Red.into())),
        Style::BoldGreen => plain.bold().fg_color(Some(Green.into())),
        Style::BoldYellow => plain.bold().fg_color(Some(Yellow.into())),
    }
}

/// Wraps `text` in the style's escape codes when `color` is true.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        let style = ansi(style);
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// Styled text as a string: escape codes only when `color` is true.
pub fn render(styled: &Styled, color: bool) -> String {
    styled
        .spans()
        .iter()
        .map(|span| match span.style {
            Some(style) => paint(color, style, &span.text),
            None => span.text.clone(),
        })
        .collect()
}

/// Styled text for stdout: coloured when stdout is (NO_COLOR, `--color`, a pipe decide).
pub fn render_out(styled: &Styled) -> String {
    render(styled, stdout_color())
}

/// Writes a line to stdout (report output), secret values masked; through anstream, so no
/// escape code reaches a stream that is not coloured.
pub fn out(line: &str) {
    let line = crate::secrets::mask_output(line);
    let mut stdout = anstream::AutoStream::new(std::io::stdout().lock(), choice(stdout_color()));
    let _ = writeln!(stdout, "{line}");
}

/// Writes a line to stderr (status, progress, diagnostics), secret values masked.
pub fn err(line: &str) {
    let mut line = crate::secrets::mask_output(line).into_owned();
    // The line and its end in one write: stderr is unbuffered, and a run prints a line or two
    // per step.
    line.push('\n');
    let mut stderr = anstream::AutoStream::new(std::io::stderr().lock(), choice(stderr_color()));
    let _ = stderr.write_all(line.as_bytes());
}

/// A status line on stderr that `-q` leaves out.
pub fn status(line: &str) {
    if !quiet() {
        err(line);
    }
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

/// `note: message` on stderr (not with `-q`).
pub fn note(message: &str) {
    if quiet() {
        return;
    }
    let c = stderr_color();
    err(&format!("{} {message}", paint(c, Style::Cyan, "note:")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_render_with_escape_codes_only_when_coloured() {
        let mut line = Styled::new();
        line.styled(Style::BoldRed, "error:").plain(" x");
        assert_eq!(render(&line, true), "\x1b[1m\x1b[31merror:\x1b[0m x");
        assert_eq!(paint(true, Style::Dim, "d"), "\x1b[2md\x1b[0m");
        // NO_COLOR decides "never": the same spans render as their bare text.
        let no_color = decide(ColorWhen::Auto, &env(&[("NO_COLOR", "1")]));
        assert_eq!(no_color, Decided::Never);
        let plain = render(&line, no_color != Decided::Never);
        assert_eq!(plain, "error: x");
        assert!(!plain.contains('\x1b'));
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn colour_follows_the_flag_then_the_environment() {
        let d = |when, pairs: &[(&str, &str)]| decide(when, &env(pairs));
        assert_eq!(d(ColorWhen::Auto, &[]), Decided::PerStream);
        assert_eq!(d(ColorWhen::Never, &[("FORCE_COLOR", "1")]), Decided::Never);
        assert_eq!(d(ColorWhen::Always, &[("NO_COLOR", "1")]), Decided::Always);
        assert_eq!(d(ColorWhen::Auto, &[("NO_COLOR", "1")]), Decided::Never);
        assert_eq!(d(ColorWhen::Auto, &[("NO_COLOR", "")]), Decided::PerStream);
        assert_eq!(
            d(ColorWhen::Auto, &[("CLICOLOR_FORCE", "1")]),
            Decided::Always
        );
        assert_eq!(
            d(ColorWhen::Auto, &[("CLICOLOR_FORCE", "0")]),
            Decided::PerStream
        );
        assert_eq!(
            d(ColorWhen::Auto, &[("FORCE_COLOR", "true")]),
            Decided::Always
        );
        assert_eq!(
            d(ColorWhen::Auto, &[("FORCE_COLOR", "0")]),
            Decided::PerStream
        );
        assert_eq!(
            d(ColorWhen::Auto, &[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]),
            Decided::Never
        );
        assert_eq!(
            d(ColorWhen::Auto, &[("GITHUB_ACTIONS", "true")]),
            Decided::Stderr
        );
        assert_eq!(
            d(
                ColorWhen::Auto,
                &[("GITHUB_ACTIONS", "true"), ("CLICOLOR", "0")]
            ),
            Decided::Never
        );
    }
}
