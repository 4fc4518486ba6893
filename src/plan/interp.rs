//! `${name}` interpolation: a pure function from text and variables to text, with `$${` as a
//! literal `${` and every problem reported with its byte range in the text.

use std::collections::BTreeMap;
use std::ops::Range;

/// A problem with one `${...}` in a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    /// `${name}` where `name` is not a variable.
    #[error("unknown variable `{name}`")]
    Unknown {
        /// The variable name.
        name: String,
        /// The whole `${name}` in the text.
        range: Range<usize>,
    },
    /// `${` without a closing `}`.
    #[error("unclosed `${{`")]
    Unclosed {
        /// From `${` to the end of the text.
        range: Range<usize>,
    },
    /// `${...}` whose content is not a variable name.
    #[error("`{text}` is not a variable name")]
    BadName {
        /// The content between the braces.
        text: String,
        /// The whole `${...}` in the text.
        range: Range<usize>,
    },
}

impl InterpError {
    /// Where in the text the problem is.
    pub fn range(&self) -> Range<usize> {
        match self {
            InterpError::Unknown { range, .. }
            | InterpError::Unclosed { range }
            | InterpError::BadName { range, .. } => range.clone(),
        }
    }
}

/// Whether `name` is a valid variable name: a letter or `_`, then letters, digits, `_`, `-` or
/// `.` (as in the built-in `service.<id>.port`).
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Replaces every `${name}` in `text` by its value in `vars`; `$${` stays as a literal `${`.
/// Fails with the first problem; `interpolate_all` reports every one.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, InterpError> {
    interpolate_all(text, vars).map_err(|mut errors| errors.swap_remove(0))
}

/// Like `interpolate`, with every problem in the text.
pub fn interpolate_all(
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, Vec<InterpError>> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"$${") {
            out.push_str(&text[rest..i]);
            out.push_str("${");
            i += 3;
            rest = i;
        } else if bytes[i..].starts_with(b"${") {
            out.push_str(&text[rest..i]);
            let Some(close) = text[i + 2..].find('}') else {
                errors.push(InterpError::Unclosed {
                    range: i..text.len(),
                });
                rest = text.len();
                break;
            };
            let name = &text[i + 2..i + 2 + close];
            let range = i..i + 3 + close;
            if !is_var_name(name) {
                errors.push(InterpError::BadName {
                    text: name.to_string(),
                    range: range.clone(),
                });
            } else if let Some(value) = vars.get(name) {
                out.push_str(value);
            } else {
                errors.push(InterpError::Unknown {
                    name: name.to_string(),
                    range: range.clone(),
                });
            }
            i = range.end;
            rest = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[rest.min(text.len())..]);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vars() -> BTreeMap<String, String> {
        [("python", ".venv/bin/python"), ("n", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn replaces_known_variables_and_keeps_other_dollars() {
        let out = interpolate("${python} -m pytest -n ${n} $HOME $1", &vars()).unwrap();
        assert_eq!(out, ".venv/bin/python -m pytest -n 3 $HOME $1");
    }

    #[test]
    fn double_dollar_is_a_literal() {
        assert_eq!(
            interpolate("echo $${HOME} ${n}", &vars()).unwrap(),
            "echo ${HOME} 3"
        );
    }

    #[test]
    fn reports_every_problem_with_its_range() {
        let errs = interpolate_all("a ${pyton} ${1x} ${n} ${open", &vars()).unwrap_err();
        assert_eq!(
            interpolate("${pyton}", &vars()).unwrap_err().to_string(),
            "unknown variable `pyton`"
        );
        assert_eq!(
            errs,
            [
                InterpError::Unknown {
                    name: "pyton".into(),
                    range: 2..10
                },
                InterpError::BadName {
                    text: "1x".into(),
                    range: 11..16
                },
                InterpError::Unclosed { range: 22..28 },
            ]
        );
    }

    #[test]
    fn names() {
        assert!(is_var_name("plan_dir") && is_var_name("a-b") && is_var_name("_x"));
        assert!(is_var_name("service.db-1.port") && !is_var_name(".x"));
        assert!(!is_var_name("") && !is_var_name("1a") && !is_var_name("a b"));
    }

    proptest! {
        #[test]
        fn text_without_placeholders_is_unchanged(text in "[^$]{0,40}") {
            prop_assert_eq!(interpolate(&text, &vars()).unwrap(), text);
        }

        #[test]
        fn never_panics_and_errors_stay_in_bounds(
            text in prop::collection::vec(prop_oneof![Just("${".to_string()), Just("}".to_string()), Just("$".to_string()), "\\PC{0,4}", any::<String>()], 0..8).prop_map(|p| p.concat()),
        ) {
            if let Err(errs) = interpolate_all(&text, &vars()) {
                for e in errs {
                    prop_assert!(e.range().end <= text.len() && text.is_char_boundary(e.range().start));
                }
            }
        }
    }
}
