//! Identifiers: the names from a plan or the command line that become file names (step and phase
//! ids, suite records, baseline names). They are checked once, by [`check`], and turned into paths
//! only by [`ident_path`], which refuses anything that is not an identifier, so no name can reach
//! outside the directory it is meant for.
//!
//! Identifiers are ASCII on purpose: `é` and `e\u{301}` print alike but are different bytes, and
//! case-folding or normalizing file systems would make other pairs collide; ASCII letters, digits,
//! `_`, `.` and `-` mean the same on every file system planrun runs on.

use std::path::{Path, PathBuf};

/// The longest identifier, in characters: file names stay well below the usual 255-byte limit
/// even with the suffixes planrun adds (`-warmup-10.log`).
pub const MAX_LEN: usize = 100;

/// What an identifier may contain, for help lines.
pub const ALLOWED: &str = "ASCII letters, digits, `_`, `.` and `-` (not `.` or `..`)";

/// Why a name is not an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// The empty string.
    #[error("it is empty")]
    Empty,
    /// `.` or `..`, which name directories.
    #[error("`{0}` names a directory")]
    Dots(String),
    /// A control character (newline, NUL, ...).
    #[error("it contains the control character `{}`", .0.escape_debug())]
    Control(char),
    /// A path separator.
    #[error("it contains `/`")]
    Separator,
    /// Any other character outside the allowed set.
    #[error("it contains `{0}`, which is not allowed")]
    Char(char),
    /// Longer than [`MAX_LEN`].
    #[error("it is longer than {MAX_LEN} characters")]
    TooLong,
}

/// Checks that `name` is an identifier: 1 to [`MAX_LEN`] of [`ALLOWED`].
pub fn check(name: &str) -> Result<(), IdentError> {
    if name.is_empty() {
        return Err(IdentError::Empty);
    }
    if name == "." || name == ".." {
        return Err(IdentError::Dots(name.to_string()));
    }
    for c in name.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '.' | '-' => {}
            '/' => return Err(IdentError::Separator),
            c if c.is_control() => return Err(IdentError::Control(c)),
            c => return Err(IdentError::Char(c)),
        }
    }
    if name.chars().count() > MAX_LEN {
        return Err(IdentError::TooLong);
    }
    Ok(())
}

/// Whether `name` is an identifier.
pub fn is_ident(name: &str) -> bool {
    check(name).is_ok()
}

/// The file `dir/name.ext` (or `dir/name` when `ext` is empty), refused unless `name` is an
/// identifier; `ext` is a fixed suffix chosen by planrun and checked the same way.
pub fn ident_path(dir: &Path, name: &str, ext: &str) -> Result<PathBuf, IdentError> {
    check(name)?;
    if ext.is_empty() {
        return Ok(dir.join(name));
    }
    check(ext)?;
    Ok(dir.join(format!("{name}.{ext}")))
}

/// `name` with control characters escaped, for messages that quote a name that may not be one.
pub fn shown(name: &str) -> String {
    name.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_ascii_names_without_separators() {
        for ok in ["a", "deps", "after-xdist", "run_2", "v1.2", ".hidden", "-x"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check(""), Err(IdentError::Empty));
        assert_eq!(check(".."), Err(IdentError::Dots("..".into())));
        assert_eq!(check("."), Err(IdentError::Dots(".".into())));
        assert_eq!(check("x\ny"), Err(IdentError::Control('\n')));
        assert_eq!(check("a\0b"), Err(IdentError::Control('\0')));
        assert_eq!(check("../../x"), Err(IdentError::Separator));
        assert_eq!(check("a b"), Err(IdentError::Char(' ')));
        assert_eq!(check("a\\b"), Err(IdentError::Char('\\')));
        assert_eq!(check("\u{e9}"), Err(IdentError::Char('\u{e9}')));
        assert_eq!(check("e\u{301}"), Err(IdentError::Char('\u{301}')));
        assert_eq!(check(&"a".repeat(MAX_LEN)), Ok(()));
        assert_eq!(check(&"a".repeat(MAX_LEN + 1)), Err(IdentError::TooLong));
    }

    #[test]
    fn messages_escape_what_they_quote() {
        assert_eq!(
            IdentError::Control('\n').to_string(),
            "it contains the control character `\\n`"
        );
        assert_eq!(
            IdentError::Control('\0').to_string(),
            "it contains the control character `\\0`"
        );
        assert_eq!(shown("x\ny"), "x\\ny");
    }

    #[test]
    fn paths_are_built_only_from_identifiers() {
        let dir = Path::new("/t/.planrun/runs/r/logs");
        assert_eq!(
            ident_path(dir, "deps", "log").unwrap(),
            dir.join("deps.log")
        );
        assert_eq!(ident_path(dir, "deps", "").unwrap(), dir.join("deps"));
        assert!(ident_path(dir, "../../../../outside/pwned", "log").is_err());
        assert!(ident_path(dir, "..", "").is_err());
        assert!(ident_path(dir, "x", "/etc").is_err());
        assert!(ident_path(dir, "/etc/passwd", "").is_err());
    }
}
