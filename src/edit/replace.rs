//! Literal or regex text replacement that must match, and that a second run leaves alone.
//!
//! Idempotence comes from one rule: where the replacement text already stands, the edit counts
//! as done, and a match inside it is not replaced again (so `-q` -> `-q -x` does not grow on every
//! run). Replacing is repeated until nothing changes, so a replacement that joins text into a new
//! match is settled in the first run rather than the second. A regex replacement that refers to
//! groups (`$1`) cannot be recognised in its output; it is applied once, and only matches whose
//! replacement differs from the matched text count as changes.

use std::borrow::Cow;

use regex::Regex;

use super::error::EditError;
use super::format;

/// How often replacing may repeat before the edit is declared unstable.
const MAX_ROUNDS: usize = 16;

/// Replaces `pattern` (a regex when `regex`) with `replacement` in `old`, all matches or only the
/// first. `NoMatch` when the pattern matches nothing and the replacement is not already there.
/// The text is matched with LF endings and no BOM (so a pattern spanning lines matches a CRLF
/// file too), and the result gets the file's BOM, endings and final newline back.
pub fn edit(
    old: &str,
    pattern: &str,
    replacement: &str,
    regex: bool,
    first_only: bool,
) -> Result<String, EditError> {
    format::keeping(old, |plain| {
        edit_plain(plain, pattern, replacement, regex, first_only)
    })
}

fn edit_plain(
    old: &str,
    pattern: &str,
    replacement: &str,
    regex: bool,
    first_only: bool,
) -> Result<String, EditError> {
    if pattern.is_empty() {
        return Err(EditError::EmptyPattern);
    }
    let re = if regex {
        Regex::new(pattern).map_err(|e| EditError::Regex(e.to_string()))?
    } else {
        Regex::new(&regex::escape(pattern)).map_err(|e| EditError::Regex(e.to_string()))?
    };
    let no_match = || EditError::NoMatch {
        pattern: pattern.to_string(),
    };
    if regex && replacement.contains('$') {
        if !re.is_match(old) {
            return Err(no_match());
        }
        let limit = if first_only { 1 } else { 0 };
        return Ok(re.replacen(old, limit, replacement).into_owned());
    }
    let mut text = Cow::Borrowed(old);
    for round in 0..MAX_ROUNDS {
        match step(&text, &re, replacement, first_only) {
            Step::Done
                if round == 0 && !re.is_match(old) && done_ranges(old, replacement).is_empty() =>
            {
                return Err(no_match())
            }
            Step::Done => return Ok(text.into_owned()),
            Step::Replaced(next) => text = Cow::Owned(next),
        }
    }
    Err(EditError::Unstable {
        pattern: pattern.to_string(),
    })
}

enum Step {
    Done,
    Replaced(String),
}

/// Where `replacement` already stands (non-overlapping, left to right).
fn done_ranges(text: &str, replacement: &str) -> Vec<(usize, usize)> {
    if replacement.is_empty() {
        return Vec::new();
    }
    text.match_indices(replacement)
        .map(|(i, r)| (i, i + r.len()))
        .collect()
}

/// One round: replaces the matches that are not inside an existing replacement.
fn step(text: &str, re: &Regex, replacement: &str, first_only: bool) -> Step {
    let done = done_ranges(text, replacement);
    let inside = |s: usize, e: usize| done.iter().any(|&(ds, de)| ds <= s && e <= de);
    let open: Vec<(usize, usize)> = re
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .filter(|&(s, e)| !inside(s, e))
        .collect();
    let chosen: &[(usize, usize)] = match (first_only, open.first(), done.first()) {
        (_, None, _) => return Step::Done,
        // With `first_only` the first occurrence decides: already replaced means done.
        (true, Some(&(s, _)), Some(&(ds, _))) if ds <= s => return Step::Done,
        (true, Some(_), _) => &open[..1],
        (false, Some(_), _) => &open,
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(s, e) in chosen {
        out.push_str(&text[at..s]);
        out.push_str(replacement);
        at = e;
    }
    out.push_str(&text[at..]);
    if out == text {
        Step::Done
    } else {
        Step::Replaced(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SETTINGS: &str = "DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.postgresql\"}}\nDEBUG = True\n";

    #[test]
    fn literal_replaces_every_match_or_the_first() {
        assert_eq!(edit("a-b-c", "-", "+", false, false).unwrap(), "a+b+c");
        assert_eq!(edit("a-b-c", "-", "+", false, true).unwrap(), "a+b-c");
        assert_eq!(edit("a.b", ".", "!", false, false).unwrap(), "a!b");
    }

    #[test]
    fn regex_uses_groups_and_reports_bad_patterns() {
        let new = edit(
            SETTINGS,
            r#""ENGINE": "[^"]+""#,
            r#""ENGINE": "django.db.backends.sqlite3""#,
            true,
            false,
        )
        .unwrap();
        assert!(
            new.contains("sqlite3") && !new.contains("postgresql"),
            "{new}"
        );
        assert_eq!(
            edit("x = 1\ny = 2\n", r"(?m)^(\w) = \d$", "$1 = 0", true, false).unwrap(),
            "x = 0\ny = 0\n"
        );
        let err = edit("x", "(", "y", true, false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid regex: regex parse error"),
            "{err}"
        );
    }

    #[test]
    fn nothing_to_replace_is_an_error() {
        let err = edit(SETTINGS, "MISSING", "x", false, false).unwrap_err();
        assert_eq!(
            err,
            EditError::NoMatch {
                pattern: "MISSING".into()
            }
        );
        assert_eq!(err.to_string(), "pattern `MISSING` matches nothing");
        assert_eq!(
            edit("a", "", "b", false, false).unwrap_err(),
            EditError::EmptyPattern
        );
    }

    #[test]
    fn a_replacement_containing_its_pattern_does_not_grow() {
        let once = edit("addopts = -q\n", "-q", "-q -x", false, false).unwrap();
        assert_eq!(once, "addopts = -q -x\n");
        assert_eq!(edit(&once, "-q", "-q -x", false, false).unwrap(), once);
        let once = edit(
            "DEBUG = True\nDEBUG = True\n",
            "DEBUG = True",
            "DEBUG = False",
            false,
            true,
        )
        .unwrap();
        assert_eq!(once, "DEBUG = False\nDEBUG = True\n");
        assert_eq!(
            edit(&once, "DEBUG = True", "DEBUG = False", false, true).unwrap(),
            once
        );
    }

    proptest! {
        #[test]
        fn replacing_twice_equals_replacing_once(
            old in "[aé ]{0,12}",
            pattern in "[aé]{1,3}",
            replacement in "[aé ]{1,4}",
            regex in prop::bool::ANY,
            first_only in prop::bool::ANY,
        ) {
            let pattern = if regex { format!("{pattern}+") } else { pattern };
            match edit(&old, &pattern, &replacement, regex, first_only) {
                Ok(once) => prop_assert_eq!(edit(&once, &pattern, &replacement, regex, first_only), Ok(once)),
                Err(e) => prop_assert!(matches!(e, EditError::NoMatch { .. } | EditError::Unstable { .. }), "{e}"),
            }
        }

        /// Any text as the file, the pattern (literal or a regular expression, valid or not)
        /// and the replacement: an edit or an error, never a panic.
        #[test]
        fn arbitrary_unicode_never_panics(
            old in "\\PC{0,40}",
            pattern in "\\PC{0,8}",
            replacement in any::<String>(),
            regex in prop::bool::ANY,
            first_only in prop::bool::ANY,
        ) {
            let _ = edit(&old, &pattern, &replacement, regex, first_only);
        }
    }
}
