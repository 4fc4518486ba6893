//! Diagnostics: what is wrong in a plan, where (file:line:column), and what to do, rendered
//! once in the rustc/just style with the offending line and a caret underline. The plan layer
//! knows no terminal: it returns [`Styled`] spans, and `crate::ui` decides on escape codes.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::styled::{Style, Styled};

/// `error:` and the caret underline.
const ERROR: Style = Style::BoldRed;
/// The message.
const STRONG: Style = Style::Bold;
/// The gutter: `-->`, `|`, line numbers, `= note:`, `= help:`.
const GUTTER: Style = Style::Cyan;

/// The text of one plan file, shared by all of its diagnostics.
#[derive(Debug)]
pub struct Source {
    /// The file name as the user gave it.
    pub name: String,
    /// The text (lossily decoded when the file is not valid UTF-8).
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps a file's text, indexing its line starts once.
    pub fn new(name: impl Into<String>, text: String) -> Arc<Self> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Arc::new(Source {
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// The nearest char boundary at or before `offset`, clamped to the text.
    fn boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.boundary(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// The text of a 1-based line, without its line ending.
    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }
}

/// One problem found in a plan.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// The file, when the problem is in one.
    pub source: Option<Arc<Source>>,
    /// The byte range the problem is at.
    pub span: Option<Range<usize>>,
    /// What to do about it.
    pub help: Option<String>,
    /// Extra context, e.g. where a duplicate was first defined.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A problem at a place in a file.
    pub fn at(source: &Arc<Source>, span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            source: Some(Arc::clone(source)),
            span: Some(span),
            help: None,
            notes: Vec::new(),
        }
    }

    /// A problem without a place (e.g. a bad `--var`).
    pub fn bare(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            source: None,
            span: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds the "what to do" line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a `help` line only when there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The 1-based line and column, when the problem has a place.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        match (&self.source, &self.span) {
            (Some(source), Some(span)) => Some(source.line_col(span.start)),
            _ => None,
        }
    }

    /// The diagnostic as styled text, ending in a newline.
    pub fn styled(&self) -> Styled {
        let mut out = Styled::new();
        out.styled(ERROR, "error:")
            .plain(" ")
            .styled(STRONG, self.message.as_str())
            .plain("\n");
        let mut pad = String::from(" ");
        if let (Some(source), Some(span)) = (&self.source, &self.span) {
            let (line, col) = source.line_col(span.start);
            let number = line.to_string();
            pad = " ".repeat(number.len() + 1);
            out.plain(&pad[1..])
                .styled(GUTTER, "-->")
                .plain(format!(" {}:{line}:{col}\n", source.name));
            let text = source.line_text(line);
            let (shown, caret_at, caret_len) = underline(text, col, span, source);
            out.plain(pad.as_str()).styled(GUTTER, "|").plain("\n");
            out.styled(GUTTER, number)
                .plain(" ")
                .styled(GUTTER, "|")
                .plain(format!(" {shown}\n"));
            out.plain(pad.as_str())
                .styled(GUTTER, "|")
                .plain(format!(" {}", " ".repeat(caret_at)))
                .styled(ERROR, "^".repeat(caret_len))
                .plain("\n");
        } else if let Some(source) = &self.source {
            out.plain(" ")
                .styled(GUTTER, "-->")
                .plain(format!(" {}\n", source.name));
        }
        for note in &self.notes {
            out.plain(pad.as_str())
                .styled(GUTTER, "= note:")
                .plain(format!(" {note}\n"));
        }
        if let Some(help) = &self.help {
            out.plain(pad.as_str())
                .styled(GUTTER, "= help:")
                .plain(format!(" {help}\n"));
        }
        out
    }
}

/// The line as shown (control characters made visible, long lines cut) and where its caret goes.
fn underline(
    text: &str,
    col: usize,
    span: &Range<usize>,
    source: &Source,
) -> (String, usize, usize) {
    const MAX: usize = 160;
    let chars: Vec<char> = text.chars().collect();
    let start = col - 1;
    let end_offset = source.boundary(span.end);
    let line_end = source.line_starts[source.line_col(span.start).0 - 1] + text.len();
    let span_chars = if end_offset > line_end {
        chars.len().saturating_sub(start)
    } else {
        let start_byte = source.boundary(span.start);
        source.text[start_byte..end_offset.max(start_byte)]
            .chars()
            .count()
    };
    // Long lines (minified or binary files) are shown as a window around the caret.
    let first = start.saturating_sub(MAX / 2).min(chars.len());
    let last = (first + MAX).min(chars.len());
    let shown: String = chars[first..last]
        .iter()
        .map(|&c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    (shown, start - first, span_chars.clamp(1, MAX))
}

/// All problems found in one or more plans; rendered in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Moves every problem of `other` here.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorts by position in the file, keeping the order of problems at the same place.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    }

    /// `Ok(value)` when there are no problems, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Every problem as styled text, separated by blank lines.
    pub fn styled(&self) -> Styled {
        let mut out = Styled::new();
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                out.plain("\n");
            }
            out.0.extend(d.styled().0);
        }
        out
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics {
            items: vec![diagnostic],
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.styled().text())
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word` by edit distance, when it is close enough (< 3) to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|&(d, c)| d < 3 && c != word)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate, if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    suggest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let src = Source::new("plans/x.toml", "a = 1\nneed = [\"deps\"]\n".into());
        let d = Diagnostic::at(&src, 6..10, "unknown field `need` in step `measure`")
            .with_help("did you mean `needs`?");
        assert_eq!(
            d.styled().text(),
            "error: unknown field `need` in step `measure`\n --> plans/x.toml:2:1\n  |\n2 | need = [\"deps\"]\n  | ^^^^\n  = help: did you mean `needs`?\n"
        );
        assert_eq!(d.line_col(), Some((2, 1)));
    }

    #[test]
    fn columns_count_characters_and_survive_odd_offsets() {
        let src = Source::new("f", "é = 'x'\n".into());
        assert_eq!(src.line_col(4), (1, 4));
        assert_eq!(src.line_col(1), (1, 1));
        assert_eq!(src.line_col(999), (2, 1));
        let d = Diagnostic::at(&src, 999..1000, "m");
        assert!(d.styled().text().contains("f:2:1"));
    }

    #[test]
    fn multi_line_spans_underline_to_the_end_of_the_first_line() {
        let src = Source::new("f", "x = \"\"\"ab\ncd\"\"\"\n".into());
        let text = Diagnostic::at(&src, 4..15, "m").styled().text();
        assert!(text.ends_with("  |     ^^^^^\n"), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let src = Source::new("f", "x\n".into());
        let d = Diagnostic::at(&src, 0..1, "m");
        let spans = d.styled();
        assert_eq!(spans.spans()[0].style, Some(Style::BoldRed));
        assert_eq!(spans.spans()[2].style, Some(Style::Bold));
        assert_eq!(spans.spans()[2].text, "m");
        assert!(!crate::ui::render(&spans, false).contains('\x1b'));
        assert!(crate::ui::render(&spans, true).contains('\x1b'));
    }

    #[test]
    fn suggestions_need_a_small_distance() {
        assert_eq!(suggest("need", ["needs", "id"]), Some("needs"));
        assert_eq!(suggest("zzzzzz", ["needs", "id"]), None);
        assert_eq!(
            did_you_mean("suit", ["run", "suite"]).as_deref(),
            Some("did you mean `suite`?")
        );
    }
}
