//! Per-test time budgets: which tests a budget covers (a path prefix of the pytest id, or a
//! marker expression as `pytest -m` reads it) and which tests' medians exceed theirs.
//!
//! A key with a `/`, a `::` or a `.py` is a path: it covers the tests under that directory,
//! file, class or test (`tests/unit`, `tests/unit/test_x.py::TestY`). Any other key is a marker
//! expression (`slow`, `integration and not db`). A test several budgets cover is held to the
//! smallest of them: a budget is a promise about every test it names.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// How to write a budget key, for diagnostics.
pub const HELP: &str = "write a path such as `\"tests/unit\" = 0.1` (it needs a `/`, `::` or `.py`) or a marker expression such as `\"slow and not db\" = 5`, with positive seconds";

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

/// The tests over budget, slowest first (ties by id): each test is held to the smallest budget
/// that covers it. `markers` gives each test's marker names (tests without an entry have none).
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
            let budget = budgets
                .iter()
                .filter(|b| b.covers(id, marks))
                .min_by(|a, b| a.seconds.total_cmp(&b.seconds))?;
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
mod tests {
    use super::*;

    fn marks(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn paths_cover_what_lies_under_them_and_nothing_beside() {
        let unit = Budget::parse("tests/unit/", 0.1).unwrap();
        assert_eq!(unit.selector, Selector::Path("tests/unit".into()));
        let none = BTreeSet::new();
        assert!(unit.covers("tests/unit/test_x.py::TestY::test_z[a/b]", &none));
        assert!(!unit.covers("tests/unit_slow/test_x.py::test_z", &none));
        assert!(!unit.covers("tests/integration/test_x.py::test_z", &none));
        let class = Budget::parse("tests/unit/test_x.py::TestY", 0.1).unwrap();
        assert!(class.covers("tests/unit/test_x.py::TestY::test_z", &none));
        assert!(!class.covers("tests/unit/test_x.py::TestYZ::test_z", &none));
        let file = Budget::parse("./test_top.py", 1.0).unwrap();
        assert!(file.covers("test_top.py::test_a", &none));
    }

    #[test]
    fn marker_expressions_read_as_pytest_reads_them() {
        let e = MarkExpr::parse("integration and not (db or slow)").unwrap();
        assert!(e.matches(&marks(&["integration"])));
        assert!(!e.matches(&marks(&["integration", "db"])));
        assert!(!e.matches(&marks(&["unit"])));
        assert!(MarkExpr::parse("a or b and c")
            .unwrap()
            .matches(&marks(&["a"])));
        for bad in ["", "a and", "(a", "a b", "not", "a | b"] {
            assert!(MarkExpr::parse(bad).is_err(), "{bad}");
        }
        let err = Budget::parse("slow and", 1.0).unwrap_err();
        assert!(err.to_string().contains("neither a path"), "{err}");
    }

    #[test]
    fn budgets_must_be_positive_seconds() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Budget::parse("tests/unit", bad),
                Err(BudgetError::Seconds { .. })
            ));
        }
        assert_eq!(Budget::parse(" ", 1.0), Err(BudgetError::Empty));
    }

    /// Slowest first; a test two budgets cover is held to the smaller; a test no budget covers
    /// is never over.
    #[test]
    fn over_budget_lists_the_offenders_slowest_first() {
        let budgets = vec![
            Budget::parse("tests/unit", 0.1).unwrap(),
            Budget::parse("tests/integration", 2.0).unwrap(),
            Budget::parse("fast", 0.05).unwrap(),
        ];
        let durations: BTreeMap<String, f64> = [
            ("tests/unit/test_a.py::test_quick", 0.01),
            ("tests/unit/test_a.py::test_slowish", 0.25),
            ("tests/unit/test_a.py::test_marked", 0.08),
            ("tests/integration/test_b.py::test_flow", 2.4),
            ("tests/integration/test_b.py::test_ok", 1.2),
            ("tests/other/test_c.py::test_free", 9.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let markers = BTreeMap::from([(
            "tests/unit/test_a.py::test_marked".to_string(),
            marks(&["fast"]),
        )]);
        let over = over_budget(&durations, &markers, &budgets);
        let ids: Vec<(&str, f64, &str)> = over
            .iter()
            .map(|o| (o.id.as_str(), o.budget, o.key.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "tests/integration/test_b.py::test_flow",
                    2.0,
                    "tests/integration"
                ),
                ("tests/unit/test_a.py::test_slowish", 0.1, "tests/unit"),
                ("tests/unit/test_a.py::test_marked", 0.05, "fast"),
            ]
        );
        assert_eq!(
            over[1].describe(),
            "tests/unit/test_a.py::test_slowish 0.25 s > 0.10 s (tests/unit), 0.15 s over"
        );
    }
}
