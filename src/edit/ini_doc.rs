//! The INI file as lines, and how pytest's iniconfig reads them: sections, keys, continuation
//! lines, comments; syntax errors carry their line number.

use super::error::EditError;

/// One physical line: its text and its line ending (empty on a last line without one).
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) eol: String,
}

/// A key and the lines its value spans (key line up to its last continuation line).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) key: usize,
    pub(crate) end: usize,
    /// Byte offset in the key line just after the `=` or `:`.
    pub(crate) value_at: usize,
}

#[derive(Debug)]
pub(crate) struct Section {
    name: String,
    header: usize,
    entries: Vec<Entry>,
    /// One past the last line that belongs to the section's entries (or its header).
    content_end: usize,
}

enum Kind {
    Nothing,
    Section(String),
    Key { name: String, value_at: usize },
    Continuation,
}

pub(crate) fn is_continuation(text: &str) -> bool {
    !is_blank_or_comment(text) && text.starts_with(char::is_whitespace)
}

fn is_blank_or_comment(text: &str) -> bool {
    let t = text.trim_start();
    t.is_empty() || t.starts_with(['#', ';'])
}

/// Classifies a line the way iniconfig's `_parseline` does.
fn classify(text: &str, line: usize) -> Result<Kind, EditError> {
    let err = |message: String| EditError::Ini { line, message };
    if is_blank_or_comment(text) {
        return Ok(Kind::Nothing);
    }
    if text.starts_with(char::is_whitespace) {
        return Ok(Kind::Continuation);
    }
    let trimmed = text.trim_end();
    if let Some(rest) = trimmed.strip_prefix('[') {
        let head = rest.split(['#', ';']).next().unwrap_or_default().trim_end();
        return match head.strip_suffix(']') {
            Some("") => Err(err("empty section name".into())),
            Some(name) => Ok(Kind::Section(name.to_string())),
            None => Err(err(format!("unterminated section header `{trimmed}`"))),
        };
    }
    let sep = match text.find('=') {
        Some(eq) if !text[..eq].contains(':') => eq,
        _ => text
            .find(':')
            .ok_or_else(|| err(format!("unexpected line `{trimmed}`")))?,
    };
    Ok(Kind::Key {
        name: text[..sep].trim().to_string(),
        value_at: sep + 1,
    })
}

pub(crate) fn find_section<'a>(
    sections: &'a [Section],
    name: &str,
) -> Result<Option<&'a Section>, EditError> {
    let mut found = sections.iter().filter(|s| s.name == name);
    let first = found.next();
    if let (Some(a), Some(b)) = (first, found.next()) {
        return Err(EditError::Ini {
            line: b.header + 1,
            message: format!(
                "duplicate section `{name}` (first at line {})",
                a.header + 1
            ),
        });
    }
    Ok(first)
}

pub(crate) fn find_entry<'a>(
    sections: &'a [Section],
    section: &str,
    key: &str,
) -> Result<Option<&'a Entry>, EditError> {
    let Some(s) = find_section(sections, section)? else {
        return Ok(None);
    };
    let mut found = s.entries.iter().filter(|e| e.name == key);
    let first = found.next();
    if let (Some(a), Some(b)) = (first, found.next()) {
        return Err(EditError::Ini {
            line: b.key + 1,
            message: format!(
                "duplicate key `{key}` in `[{section}]` (first at line {})",
                a.key + 1
            ),
        });
    }
    Ok(first)
}

/// The file as lines; edits splice lines and rendering concatenates them back.
pub(crate) struct Doc {
    pub(crate) lines: Vec<Line>,
    pub(crate) eol: &'static str,
}

impl Doc {
    pub(crate) fn parse(text: &str) -> Doc {
        let lines: Vec<Line> = text
            .split_inclusive('\n')
            .map(|l| {
                let body = l.strip_suffix('\n').unwrap_or(l);
                let (body, eol) = match body.strip_suffix('\r') {
                    Some(b) if l.ends_with('\n') => (b, "\r\n"),
                    _ if l.ends_with('\n') => (body, "\n"),
                    _ => (body, ""),
                };
                Line {
                    text: body.to_string(),
                    eol: eol.to_string(),
                }
            })
            .collect();
        let eol = if lines.first().is_some_and(|l| l.eol == "\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        Doc { lines, eol }
    }

    pub(crate) fn render(&self) -> String {
        self.lines
            .iter()
            .flat_map(|l| [l.text.as_str(), l.eol.as_str()])
            .collect()
    }

    pub(crate) fn scan(&self) -> Result<Vec<Section>, EditError> {
        let mut sections: Vec<Section> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            match classify(&line.text, i + 1)? {
                Kind::Nothing => {}
                Kind::Section(name) => sections.push(Section {
                    name,
                    header: i,
                    entries: Vec::new(),
                    content_end: i + 1,
                }),
                Kind::Key { name, value_at } => {
                    let s = sections.last_mut().ok_or_else(|| EditError::Ini {
                        line: i + 1,
                        message: "key outside of any section".into(),
                    })?;
                    s.entries.push(Entry {
                        name,
                        key: i,
                        end: i + 1,
                        value_at,
                    });
                    s.content_end = i + 1;
                }
                Kind::Continuation => {
                    let entry = sections.last_mut().and_then(|s| {
                        s.content_end = i + 1;
                        s.entries.last_mut().filter(|e| e.key > s.header)
                    });
                    match entry {
                        Some(e) => e.end = i + 1,
                        None => {
                            return Err(EditError::Ini {
                                line: i + 1,
                                message: "unexpected value continuation".into(),
                            })
                        }
                    }
                }
            }
        }
        Ok(sections)
    }

    /// The iniconfig value of an entry: stripped lines joined with newlines.
    pub(crate) fn value(&self, e: &Entry) -> String {
        let first = self.lines[e.key].text[e.value_at..].trim();
        let rest = (e.key + 1..e.end)
            .map(|i| &self.lines[i].text)
            .filter(|t| is_continuation(t));
        let mut parts: Vec<&str> = Vec::new();
        if !first.is_empty() {
            parts.push(first);
        }
        parts.extend(rest.map(|t| t.trim()));
        parts.join("\n")
    }

    /// Where a new key of `section` goes, creating the section at the end when missing.
    pub(crate) fn insertion_point(&mut self, section: &str) -> Result<usize, EditError> {
        if let Some(s) = find_section(&self.scan()?, section)? {
            return Ok(s.content_end);
        }
        let mut header = Vec::new();
        if self.lines.last().is_some_and(|l| !l.text.trim().is_empty()) {
            header.push(String::new());
        }
        header.push(format!("[{section}]"));
        let at = self.lines.len();
        self.insert(at, header);
        Ok(self.lines.len())
    }

    /// `" = "` or `": "`, following the first key of the section.
    pub(crate) fn separator_style(&self, section: &str) -> Result<&'static str, EditError> {
        let sections = self.scan()?;
        let first = find_section(&sections, section)?.and_then(|s| s.entries.first());
        Ok(match first {
            Some(e) if self.lines[e.key].text[..e.value_at].ends_with(':') => ": ",
            _ => " = ",
        })
    }

    pub(crate) fn insert(&mut self, at: usize, texts: Vec<String>) {
        self.splice(at, at, texts);
    }

    /// Replaces lines `start..end` with `texts`. Inserted lines end with the file's line ending;
    /// a replacement's last line keeps the ending of the line it replaces, so a file without a
    /// final newline keeps that shape.
    pub(crate) fn splice(&mut self, start: usize, end: usize, texts: Vec<String>) {
        let at_end = end == self.lines.len();
        let last_eol = if end > start {
            self.lines[end - 1].eol.clone()
        } else {
            self.eol.to_string()
        };
        if start > 0 && self.lines[start - 1].eol.is_empty() && !texts.is_empty() {
            self.lines[start - 1].eol = self.eol.to_string();
        }
        let n = texts.len();
        let eol = self.eol;
        let new = texts.into_iter().enumerate().map(|(k, text)| Line {
            text,
            eol: if k + 1 == n {
                last_eol.clone()
            } else {
                eol.to_string()
            },
        });
        self.lines.splice(start..end, new);
        if n == 0 && at_end && start > 0 && last_eol.is_empty() {
            self.lines[start - 1].eol = String::new();
        }
    }
}
