//! Finding the byte span of a key or value in a plan's TOML tree from its logical path, so checks
//! on the typed model can still point at the exact place in the file.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Self {
        Seg::Key(key.to_string())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Self {
        Seg::Index(index)
    }
}

/// Which part of the entry at a path a diagnostic points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The key itself (`need` in `need = [...]`).
    Key,
    /// The whole value.
    Value,
    /// A byte range inside a string value's decoded text.
    InString(Range<usize>),
}

/// A place in the document: a path and a part of the entry there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// Keys and indices from the root.
    pub path: Vec<Seg>,
    /// What to point at.
    pub part: Part,
}

impl Loc {
    /// The value at `path`.
    pub fn value(path: Vec<Seg>) -> Self {
        Loc {
            path,
            part: Part::Value,
        }
    }

    /// The key of the entry at `path`.
    pub fn key(path: Vec<Seg>) -> Self {
        Loc {
            path,
            part: Part::Key,
        }
    }

    /// A range of the string value at `path`.
    pub fn in_string(path: Vec<Seg>, range: Range<usize>) -> Self {
        Loc {
            path,
            part: Part::InString(range),
        }
    }
}

/// Builds a path from keys and indices: `at!["phase", 0, "step", 2, "needs"]`.
macro_rules! at {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::plan::locate::Seg::from($seg)),*]
    };
}
pub(crate) use at;

/// The span `loc` points at; when the path does not fully exist, the deepest part that does.
pub fn span_of(root: &Spanned<DeTable<'_>>, text: &str, loc: &Loc) -> Range<usize> {
    let mut value_span = root.span();
    let mut key_span = root.span();
    let mut current: Option<&DeValue<'_>> = None;
    let mut table = Some(root.get_ref());
    let mut found_all = true;
    for seg in &loc.path {
        let next = match (seg, table, current) {
            (Seg::Key(k), Some(t), _) => t
                .iter()
                .find(|(key, _)| key.get_ref() == k)
                .map(|(key, v)| (Some(key.span()), v)),
            (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i).map(|v| (None, v)),
            _ => None,
        };
        let Some((key, value)) = next else {
            found_all = false;
            break;
        };
        if let Some(key) = key {
            key_span = key;
        }
        value_span = value.span();
        current = Some(value.get_ref());
        table = match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    if !found_all {
        return value_span;
    }
    match &loc.part {
        Part::Key => key_span,
        Part::Value => value_span,
        Part::InString(range) => match current {
            Some(DeValue::String(s)) => string_range(text, value_span.clone(), s, range.clone()),
            _ => value_span,
        },
    }
}

/// Maps a range of a string's decoded text into the file, when the literal has no escapes.
fn string_range(
    text: &str,
    span: Range<usize>,
    decoded: &str,
    range: Range<usize>,
) -> Range<usize> {
    let Some(raw) = text.get(span.clone()) else {
        return span;
    };
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| raw.starts_with(q) && raw.len() >= 2 * q.len());
    match quote {
        Some(q) if &raw[q.len()..raw.len() - q.len()] == decoded && range.end <= decoded.len() => {
            let start = span.start + q.len();
            start + range.start..start + range.end
        }
        _ => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(src: &str, loc: Loc) -> &str {
        let root = DeTable::parse(src).unwrap();
        &src[span_of(&root, src, &loc)]
    }

    #[test]
    fn finds_keys_values_and_items() {
        let src = "[[phase]]\nid = 'p'\n[[phase.step]]\nid = 's'\nneeds = ['a', \"b\"]\n";
        assert_eq!(
            find(src, Loc::key(at!["phase", 0, "step", 0, "needs"])),
            "needs"
        );
        assert_eq!(
            find(src, Loc::value(at!["phase", 0, "step", 0, "needs", 1])),
            "\"b\""
        );
        assert_eq!(
            find(src, Loc::value(at!["phase", 0, "step", 0])),
            "[[phase.step]]"
        );
    }

    #[test]
    fn falls_back_to_the_deepest_existing_part() {
        let src = "[[phase]]\nid = 'p'\n";
        assert_eq!(
            find(src, Loc::value(at!["phase", 0, "gate", 3])),
            "[[phase]]"
        );
    }

    #[test]
    fn points_inside_plain_strings_only() {
        let src = "a = 'x ${y} z'\nb = \"\\t${y}\"\n";
        assert_eq!(find(src, Loc::in_string(at!["a"], 2..6)), "${y}");
        assert_eq!(find(src, Loc::in_string(at!["b"], 1..5)), "\"\\t${y}\"");
    }
}
