//! The one error type every pure edit returns.

/// Why an edit could not be computed; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A `replace` pattern found nothing to replace.
    #[error("pattern `{pattern}` matches nothing")]
    NoMatch {
        /// The pattern as the plan wrote it.
        pattern: String,
    },
    /// A `replace` pattern was empty.
    #[error("empty pattern")]
    EmptyPattern,
    /// A `replace` regex did not compile.
    #[error("invalid regex: {0}")]
    Regex(String),
    /// A `replace` kept creating new matches from its own output.
    #[error("replacing `{pattern}` does not settle: the replacement keeps creating new matches")]
    Unstable {
        /// The pattern as the plan wrote it.
        pattern: String,
    },
    /// An INI file pytest (iniconfig) would reject too.
    #[error("line {line}: {message}")]
    Ini {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A TOML file that does not parse.
    #[error("invalid toml at line {line}: {message}")]
    Toml {
        /// 1-based line number (1 when the parser gave no position).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A dotted table path that is not valid TOML key syntax.
    #[error("invalid table path `{0}`")]
    TablePath(String),
    /// A key on the way to the table holds something else.
    #[error("`{path}` is not a table")]
    NotATable {
        /// The dotted path that was expected to be a table.
        path: String,
    },
    /// `append`/`remove` on a key whose value is not an array.
    #[error("`{key}` is not an array")]
    NotAnArray {
        /// The key holding a non-array value.
        key: String,
    },
    /// `pyproject.toml` holds both of pytest's tables, which pytest 9 refuses to read.
    #[error("pytest reads either `[tool.pytest]` or `[tool.pytest.ini_options]`, and this file has both (pytest 9 stops with a usage error); move the options of `[tool.pytest.ini_options]` into `[tool.pytest]` as TOML values")]
    TwoPytestTables,
    /// A value TOML cannot hold (JSON `null`).
    #[error("`{key}`: null has no toml form")]
    Null {
        /// The key whose value (or item) was null.
        key: String,
    },
    /// A requirement string without a project name.
    #[error("`{0}` is not a requirement (no project name)")]
    BadRequirement(String),
    /// A block planrun wrote earlier was cut short by hand.
    #[error("line {line}: {message}")]
    Block {
        /// 1-based line number where the block begins.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}
