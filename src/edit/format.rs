//! A file's byte-level form (UTF-8 BOM, CRLF line endings, final newline), taken off before an
//! edit and put back after it, so every edit works on plain LF text and still keeps the file as
//! its owner wrote it.

/// The byte-order mark some Windows editors put at the start of UTF-8 files.
const BOM: char = '\u{feff}';

/// How a text file is laid out, apart from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextFormat {
    /// The text starts with a UTF-8 BOM.
    pub bom: bool,
    /// Every line ends in `\r\n` (a file mixing endings is left as it is, since converting it
    /// would touch lines the edit did not).
    pub crlf: bool,
    /// The last line has no line ending (only meaningful for non-empty text).
    pub no_final_newline: bool,
}

impl TextFormat {
    /// Detects the form of `text`.
    pub fn detect(text: &str) -> TextFormat {
        let bom = text.starts_with(BOM);
        let body = text.strip_prefix(BOM).unwrap_or(text);
        let newlines = body.matches('\n').count();
        TextFormat {
            bom,
            crlf: newlines > 0 && body.matches("\r\n").count() == newlines,
            no_final_newline: !body.is_empty() && !body.ends_with('\n'),
        }
    }

    /// `text` without its BOM and with LF line endings.
    pub fn normalize(self, text: &str) -> String {
        let body = text.strip_prefix(BOM).unwrap_or(text);
        if self.crlf {
            body.replace("\r\n", "\n")
        } else {
            body.to_string()
        }
    }

    /// Puts the form back on LF text: the BOM, CRLF endings, and no final newline when there
    /// was none.
    pub fn restore(self, text: &str) -> String {
        let text = match text.strip_suffix('\n') {
            Some(t) if self.no_final_newline => t,
            _ => text,
        };
        let mut out = String::with_capacity(text.len() + text.len() / 16 + 3);
        if self.bom {
            out.push(BOM);
        }
        if self.crlf {
            let mut prev = '\0';
            for c in text.chars() {
                if c == '\n' && prev != '\r' {
                    out.push('\r');
                }
                out.push(c);
                prev = c;
            }
        } else {
            out.push_str(text);
        }
        out
    }
}

/// Runs `edit` on the normalized form of `old` and returns its result in `old`'s form; `old`
/// itself, byte for byte, when the edit changed nothing.
pub fn keeping<E>(old: &str, edit: impl FnOnce(&str) -> Result<String, E>) -> Result<String, E> {
    let format = TextFormat::detect(old);
    let plain = format.normalize(old);
    let new = edit(&plain)?;
    Ok(if new == plain {
        old.to_string()
    } else {
        format.restore(&new)
    })
}

/// `text` without a leading BOM, for readers that only look.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_feature() {
        let f = TextFormat::detect("\u{feff}a\r\nb\r\n");
        assert!(f.bom && f.crlf && !f.no_final_newline);
        let f = TextFormat::detect("a\r\nb\nc");
        assert!(!f.bom && !f.crlf && f.no_final_newline);
        assert!(!TextFormat::detect("").no_final_newline);
        assert!(!TextFormat::detect("one line").crlf);
    }

    #[test]
    fn restore_inverts_normalize() {
        for text in [
            "\u{feff}a\r\nb\r\n",
            "a\r\nb",
            "\u{feff}x",
            "a\nb\r\nc\n",
            "",
            "\r\n",
        ] {
            let f = TextFormat::detect(text);
            assert_eq!(f.restore(&f.normalize(text)), text, "{text:?}");
        }
    }

    #[test]
    fn an_unchanged_edit_returns_the_old_bytes() {
        let old = "\u{feff}a = 1\r\n";
        assert_eq!(
            keeping::<()>(old, |t| Ok(t.to_string())),
            Ok(old.to_string())
        );
    }

    #[test]
    fn added_lines_take_the_file_form() {
        let old = "\u{feff}a = 1\r\nb = 2";
        let new = keeping::<()>(old, |t| {
            assert_eq!(t, "a = 1\nb = 2");
            Ok(format!("{t}\nc = 3\n"))
        });
        assert_eq!(new, Ok("\u{feff}a = 1\r\nb = 2\r\nc = 3".to_string()));
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod edit_tests;
