//! Per-test time budgets: which tests a budget covers (a path prefix of the pytest id, or a
//! marker expression as `pytest -m` reads it) and which tests' medians exceed theirs.
//!
//! A key with a `/`, a `::` or a `.py` is a path: it covers the tests under that directory,
//! file, class or test (`tests/unit`, `tests/unit/test_x.py::TestY`). A key with a `*` is a
//! path pattern (`**/unit` covers the tests under any directory named `unit`), so one plan fits
//! repositories laid out differently; `*` alone covers every test no other budget covers. Any
//! other key is a marker expression (`slow`, `integration and not db`). A test several budgets
//! cover is held to the smallest of them: a budget is a promise about every test it names.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::budget_glob::Glob;

/// How to write a budget key, for diagnostics.
pub const HELP: &str = "write a path such as `\"tests/unit\" = 0.1` (it needs a `/`, `::` or `.py`), a path pattern such as `\"**/unit\" = 0.1`, `\"*\" = 2` for every other test, or a marker expression such as `\"slow and not db\" = 5`, with positive seconds";

/// One budget of a suite: the key as written, what it selects, and the seconds per test.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The key as the plan writes it.
    pub key: String,
    /// The tests it covers.
    pub selector: Selector,
    /// Seconds a test's median may take.
    pub seconds: f64,
}

/// Which tests a budget covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// Tests whose id is this path or lies under it.
    Path(String),
    /// Tests under a file or directory the pattern matches.
    Glob(Glob),
    /// Every test no other budget covers (`*`).
    Rest,
    /// Tests whose markers satisfy the expression.
    Markers(MarkExpr),
}

/// A test over its budget, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverBudget {
    /// The pytest id, as `pytest` prints and accepts it.
    pub id: String,
    /// Its median seconds over the counted runs.
    pub seconds: f64,
    /// The budget it is held to, in seconds.
    pub budget: f64,
    /// The budget's key in the plan.
    pub key: String,
}

impl OverBudget {
    /// `tests/unit/test_x.py::test_y 0.25 s > 0.10 s (tests/unit), 0.15 s over`.
    pub fn describe(&self) -> String {
        format!(
            "{} {:.2} s > {:.2} s ({}), {:.2} s over",
            self.id,
            self.seconds,
            self.budget,
            self.key,
            self.seconds - self.budget
        )
    }
}

/// Why a budget key or its value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// An empty key.
    #[error("a budget key is empty")]
    Empty,
    /// A marker expression that does not parse.
    #[error("budget `{key}` is neither a path (it has no `/`, `::` or `.py`) nor a marker expression: {message}")]
    Expr {
        /// The key.
        key: String,
        /// What is wrong with it as an expression.
        message: String,
    },
    /// A path pattern that names tests inside a file (`::`), which patterns do not reach.
    #[error("budget `{key}` is a path pattern with `::`; a pattern matches files and directories, so name the test without `*`")]
    GlobTestId {
        /// The key.
        key: String,
    },
    /// Zero, negative or not finite.
    #[error("budget `{key}` must be a positive number of seconds, not {value}")]
    Seconds {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
}

impl Budget {
    /// Parses one `key = seconds` entry of a suite's `budgets`.
    pub fn parse(key: &str, seconds: f64) -> Result<Budget, BudgetError> {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(BudgetError::Seconds {
                key: key.to_string(),
                value: seconds.to_string(),
            });
        }
        Ok(Budget {
            key: key.to_string(),
            selector: Selector::parse(key)?,
            seconds,
        })
    }

    /// Whether the budget covers test `id` with `markers`.
    pub fn covers(&self, id: &str, markers: &BTreeSet<String>) -> bool {
        match &self.selector {
            Selector::Path(prefix) => under(id, prefix),
            Selector::Glob(glob) => glob.covers(id),
            Selector::Rest => true,
            Selector::Markers(expr) => expr.matches(markers),
        }
    }
}

impl Selector {
    /// A path when the key looks like one, else a marker expression.
    pub fn parse(key: &str) -> Result<Selector, BudgetError> {
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(BudgetError::Empty);
        }
        if trimmed == "*" {
            return Ok(Selector::Rest);
        }
        if trimmed.contains('*') {
            if trimmed.contains("::") {
                return Err(BudgetError::GlobTestId {
                    key: key.to_string(),
                });
            }
            return Ok(Selector::Glob(Glob::new(trimmed)));
        }
        if trimmed.contains('/') || trimmed.contains("::") || trimmed.ends_with(".py") {
            let path = trimmed.trim_start_matches("./").trim_end_matches('/');
            return Ok(Selector::Path(path.to_string()));
        }
        MarkExpr::parse(trimmed)
            .map(Selector::Markers)
            .map_err(|message| BudgetError::Expr {
                key: key.to_string(),
                message,
            })
    }
}

/// Whether pytest id `id` is `prefix` or lies under it (a directory, file, class or test).
fn under(id: &str, prefix: &str) -> bool {
    match id.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with("::"),
        None => false,
    }
}

/// The budget test `id` is held to: the smallest of those that cover it, or `*` when none does.
fn held_to<'b>(id: &str, marks: &BTreeSet<String>, budgets: &'b [Budget]) -> Option<&'b Budget> {
    let smallest = |rest: bool| {
        budgets
            .iter()
            .filter(|b| (b.selector == Selector::Rest) == rest && b.covers(id, marks))
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
    };
    smallest(false).or_else(|| smallest(true))
}

/// What the plan's budgets would leave untested, as warnings: a budget that covers none of the
/// suite's tests, and the whole set when it covers none (its `over_budget` gate could not fail).
/// A pattern or `*` matching nothing is a budget for a layout this repository does not have.
pub fn unmatched(
    durations: &BTreeMap<String, f64>,
    markers: &BTreeMap<String, BTreeSet<String>>,
    budgets: &[Budget],
) -> Vec<String> {
    let none = BTreeSet::new();
    let covers_some = |b: &Budget| {
        durations
            .keys()
            .any(|id| b.covers(id, markers.get(id).unwrap_or(&none)))
    };
    if budgets.is_empty() || durations.is_empty() {
        return Vec::new();
    }
    if !budgets.iter().any(covers_some) {
        let keys: Vec<&str> = budgets.iter().map(|b| b.key.as_str()).collect();
        return vec![format!(
            "the budgets ({}) match no test of the {} measured, so `over_budget` is 0 whatever the tests take; name the directories that hold the tests, or add `\"*\" = SECONDS` for every test",
            keys.join(", "),
            durations.len()
        )];
    }
    budgets
        .iter()
        .filter(|b| matches!(b.selector, Selector::Path(_) | Selector::Markers(_)))
        .filter(|b| !covers_some(b))
        .map(|b| {
            format!(
                "budget `{}` matches no test: it holds nothing to its {} s",
                b.key, b.seconds
            )
        })
        .collect()
}

/// What each budget covers in the repository at `root`, for the dry run: the directories a
/// pattern matched, whether a path exists, `*` as every other test.
pub fn derived(budgets: &[Budget], root: &std::path::Path) -> Vec<String> {
    budgets
        .iter()
        .map(|b| {
            let what = match &b.selector {
                Selector::Path(path) => {
                    let file = path.split("::").next().unwrap_or_default();
                    // Only ever asked inside the target: a key is no path to look outside.
                    let inside = std::path::Path::new(file).components().all(|c| {
                        matches!(
                            c,
                            std::path::Component::Normal(_) | std::path::Component::CurDir
                        )
                    });
                    match inside && root.join(file).exists() {
                        true => path.clone(),
                        false => "nothing: no such path here".to_string(),
                    }
                }
                Selector::Glob(glob) => {
                    let found = glob.find_in(root);
                    match found.is_empty() {
                        true => "nothing in this repository".to_string(),
                        false => found.join(", "),
                    }
                }
                Selector::Rest => "every test no other budget covers".to_string(),
                Selector::Markers(_) => format!("tests marked `{}`", b.key),
            };
            format!("{} {} s -> {what}", b.key, b.seconds)
        })
        .collect()
}

/// The tests over budget, slowest first (ties by id): each test is held to the smallest budget
/// that covers it, or to `*` when no other does. `markers` gives each test's marker names
/// (tests without an entry have none).
pub fn over_budget(
    durations: &BTreeMap<String, f64>,
    markers: &BTreeMap<String, BTreeSet<String>>,
    budgets: &[Budget],
) -> Vec<OverBudget> {
    let none = BTreeSet::new();
    let mut over: Vec<OverBudget> = durations
        .iter()
        .filter_map(|(id, &seconds)| {
            let marks = markers.get(id).unwrap_or(&none);
            let budget = held_to(id, marks, budgets)?;
            (seconds > budget.seconds).then(|| OverBudget {
                id: id.clone(),
                seconds,
                budget: budget.seconds,
                key: budget.key.clone(),
            })
        })
        .collect();
    over.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.id.cmp(&b.id))
    });
    over
}

/// A marker expression in `pytest -m` syntax: names combined with `and`, `or`, `not` and
/// parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkExpr {
    /// A marker name.
    Name(String),
    /// Negation.
    Not(Box<MarkExpr>),
    /// Both.
    And(Box<MarkExpr>, Box<MarkExpr>),
    /// Either.
    Or(Box<MarkExpr>, Box<MarkExpr>),
}

impl MarkExpr {
    /// Parses an expression; the error says what was expected where.
    pub fn parse(text: &str) -> Result<MarkExpr, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser.or()?;
        match parser.tokens.get(parser.at) {
            None => Ok(expr),
            Some(t) => Err(format!("unexpected `{}`", t.text())),
        }
    }

    /// Whether a test with these marker names satisfies the expression.
    pub fn matches(&self, markers: &BTreeSet<String>) -> bool {
        match self {
            MarkExpr::Name(n) => markers.contains(n),
            MarkExpr::Not(e) => !e.matches(markers),
            MarkExpr::And(a, b) => a.matches(markers) && b.matches(markers),
            MarkExpr::Or(a, b) => a.matches(markers) || b.matches(markers),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Name(String),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Open => "(",
            Token::Close => ")",
            Token::And => "and",
            Token::Or => "or",
            Token::Not => "not",
            Token::Name(n) => n,
        }
    }
}

/// Splits an expression into tokens; names are what pytest's own lexer accepts.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let name_char =
        |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '+' | '-' | '.' | '[' | ']');
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            tokens.push(if c == '(' { Token::Open } else { Token::Close });
            chars.next();
        } else if name_char(c) {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if !name_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            tokens.push(match &text[i..end] {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                name => Token::Name(name.to_string()),
            });
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn eat(&mut self, token: &Token) -> bool {
        let hit = self.tokens.get(self.at) == Some(token);
        self.at += usize::from(hit);
        hit
    }

    fn or(&mut self) -> Result<MarkExpr, String> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            left = MarkExpr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<MarkExpr, String> {
        let mut left = self.not()?;
        while self.eat(&Token::And) {
            left = MarkExpr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<MarkExpr, String> {
        if self.eat(&Token::Not) {
            return Ok(MarkExpr::Not(Box::new(self.not()?)));
        }
        if self.eat(&Token::Open) {
            let inner = self.or()?;
            if !self.eat(&Token::Close) {
                return Err("expected `)`".into());
            }
            return Ok(inner);
        }
        match self.tokens.get(self.at).cloned() {
            Some(Token::Name(n)) => {
                self.at += 1;
                Ok(MarkExpr::Name(n))
            }
            Some(t) => Err(format!("expected a marker name, found `{}`", t.text())),
            None => Err("expected a marker name at the end".into()),
        }
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
