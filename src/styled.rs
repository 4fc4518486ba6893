//! Styled text as data: the spans pure layers (diffs, rollback reports, the history table)
//! return, so that only `crate::ui` decides whether escape codes are written (NO_COLOR,
//! non-TTY, `--color`); and how a count reads (`1 file`, `3 files`), which they share.

/// A text style; rendered by `crate::ui` only when colour is on for the stream.
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

/// One run of text and its style (`None`: plain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// How it is shown when colour is on.
    pub style: Option<Style>,
    /// The text, without escape codes.
    pub text: String,
}

/// A line or block of text made of spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Styled(pub Vec<Span>);

impl Styled {
    /// Nothing yet.
    pub fn new() -> Styled {
        Styled(Vec::new())
    }

    /// Appends plain text.
    pub fn plain(&mut self, text: impl Into<String>) -> &mut Styled {
        self.push(None, text)
    }

    /// Appends text in `style`.
    pub fn styled(&mut self, style: Style, text: impl Into<String>) -> &mut Styled {
        self.push(Some(style), text)
    }

    /// Appends text in an optional style.
    pub fn push(&mut self, style: Option<Style>, text: impl Into<String>) -> &mut Styled {
        let text = text.into();
        if !text.is_empty() {
            self.0.push(Span { style, text });
        }
        self
    }

    /// The spans.
    pub fn spans(&self) -> &[Span] {
        &self.0
    }

    /// The text without any style: what a stream without colour shows.
    pub fn text(&self) -> String {
        self.0.iter().map(|s| s.text.as_str()).collect()
    }
}

/// `n` and `noun`, plural unless `n` is 1: `1 file`, `0 files`, `3 timed suites`. Every noun
/// planrun counts takes a plain `s`, except the few [`plural`] knows.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// The plural of a noun planrun counts (`files`, `processes`).
fn plural(noun: &str) -> String {
    if noun.ends_with("ss") || noun.ends_with('x') {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_plural_unless_one() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(3, "timed suite"), "3 timed suites");
        assert_eq!(count(2, "process"), "2 processes");
    }

    #[test]
    fn spans_keep_their_styles_and_drop_empty_text() {
        let mut s = Styled::new();
        s.styled(Style::Red, "-a").plain("").plain("\n");
        assert_eq!(
            s.spans(),
            [
                Span {
                    style: Some(Style::Red),
                    text: "-a".into()
                },
                Span {
                    style: None,
                    text: "\n".into()
                }
            ]
        );
        assert_eq!(s.text(), "-a\n");
    }
}
