//! The criteria language of gates: parse an expression once, evaluate it over recorded metrics,
//! and explain the verdict with every metric's value substituted. [`decide`] decides it in three
//! values, comparisons of two records on a confidence interval.
//!
//! Grammar, loosest first:
//!
//! ```text
//! or   := and ("or" and)*
//! and  := not ("and" not)*
//! not  := "not" not | cmp
//! cmp  := sum (("<" | "<=" | "==" | "!=" | ">=" | ">") sum)?
//! sum  := prod (("+" | "-") prod)*
//! prod := unary (("*" | "/") unary)*
//! unary:= "-" unary | atom
//! atom := number | "true" | "false" | record.metric[.sub] | "(" or ")"
//! ```
//!
//! Comparisons do not chain (`a < b < c` is an error with a hint), so every verdict reads as one
//! claim per comparison.

use std::fmt;

pub mod decide;

/// The metric paths a suite record provides (without the record prefix).
pub use crate::metrics::METRICS as KNOWN_METRICS;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal number.
    Num(f64),
    /// A literal boolean.
    Bool(bool),
    /// A metric reference such as `after.wall.median`.
    Metric(MetricRef),
    /// Arithmetic negation.
    Neg(Box<Expr>),
    /// Logical negation.
    Not(Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    And,
    Or,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Ge => ">=",
            BinOp::Gt => ">",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne | BinOp::Ge | BinOp::Gt
        )
    }
}

/// A reference to one metric of one record, with where it stands in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    /// The record name, e.g. `after`.
    pub record: String,
    /// The full dotted path, e.g. `after.wall.median`.
    pub path: String,
    /// Byte offset of the path in the expression source.
    pub offset: usize,
}

impl MetricRef {
    /// The path inside the record, e.g. `wall.median`.
    pub fn metric(&self) -> &str {
        &self.path[self.record.len() + 1..]
    }
}

/// Why an expression did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte offset in the source where the problem is.
    pub offset: usize,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Metrics that no run produced.
    #[error("no run produced {}", list_paths(.0))]
    Missing(Vec<String>),
    /// A number where a boolean was needed, or the reverse.
    #[error("type mismatch: {0}")]
    Type(String),
}

fn list_paths(paths: &[String]) -> String {
    let quoted: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
    quoted.join(", ")
}

/// The outcome of evaluating a gate expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the expression holds.
    pub pass: bool,
    /// The expression with every metric's value substituted, e.g.
    /// `after.wall.median 8.31 <= baseline.wall.median 34.90 * 0.43 = 15.01`.
    pub explanation: String,
    /// Each metric used and its value.
    pub values: Vec<(String, f64)>,
}

/// How deep parentheses, `not` and unary `-` may nest: the parser and every walk over the tree
/// recurse once per level, and a hostile gate must get an error, not a stack overflow.
pub const MAX_DEPTH: usize = 32;

/// How many tokens one expression may have, which bounds how deep a chain such as
/// `a + a + ... + a` makes the tree.
pub const MAX_TOKENS: usize = 1000;

/// Parses a criteria expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = lex(src)?;
    if let Some(tok) = tokens.get(MAX_TOKENS) {
        return Err(ParseError {
            offset: tok.offset,
            message: format!(
                "the expression is longer than {MAX_TOKENS} tokens; split it into several gates"
            ),
        });
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        src_len: src.len(),
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(tok) => Err(ParseError {
            offset: tok.offset,
            message: format!("unexpected {}", tok.kind.describe()),
        }),
    }
}

impl Expr {
    /// Every metric the expression reads, in source order.
    pub fn metric_refs(&self) -> Vec<MetricRef> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs(&self, out: &mut Vec<MetricRef>) {
        match self {
            Expr::Num(_) | Expr::Bool(_) => {}
            Expr::Metric(m) => out.push(m.clone()),
            Expr::Neg(e) | Expr::Not(e) => e.collect_refs(out),
            Expr::Binary(_, a, b) => {
                a.collect_refs(out);
                b.collect_refs(out);
            }
        }
    }

    /// Evaluates the expression; `lookup(record, metric)` gives a metric's value.
    pub fn evaluate(
        &self,
        lookup: &dyn Fn(&str, &str) -> Option<f64>,
    ) -> Result<Verdict, EvalError> {
        let refs = self.metric_refs();
        let mut values = Vec::new();
        let mut missing = Vec::new();
        for r in &refs {
            match lookup(&r.record, r.metric()) {
                Some(v) => values.push((r.path.clone(), v)),
                None if !missing.contains(&r.path) => missing.push(r.path.clone()),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(EvalError::Missing(missing));
        }
        let get = |path: &str| values.iter().find(|(p, _)| p == path).map(|(_, v)| *v);
        let value = self.eval(&get)?;
        let pass = match value {
            Value::Bool(b) => b,
            Value::Num(n) => {
                return Err(EvalError::Type(format!(
                    "the expression gives the number {}, not a yes/no answer; compare it, e.g. `... <= {}`",
                    fmt_num(n),
                    fmt_num(n)
                )))
            }
        };
        let explanation = self.explain(&get, &|_| None);
        values.dedup_by(|a, b| a.0 == b.0);
        Ok(Verdict {
            pass,
            explanation,
            values,
        })
    }

    fn eval(&self, get: &dyn Fn(&str) -> Option<f64>) -> Result<Value, EvalError> {
        Ok(match self {
            Expr::Num(n) => Value::Num(*n),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Metric(m) => {
                Value::Num(get(&m.path).ok_or_else(|| EvalError::Missing(vec![m.path.clone()]))?)
            }
            Expr::Neg(e) => Value::Num(-e.eval(get)?.num(self)?),
            Expr::Not(e) => Value::Bool(!e.eval(get)?.boolean(self)?),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(get)?, b.eval(get)?);
                match op {
                    BinOp::And => Value::Bool(a.boolean(self)? && b.boolean(self)?),
                    BinOp::Or => Value::Bool(a.boolean(self)? || b.boolean(self)?),
                    BinOp::Add => Value::Num(a.num(self)? + b.num(self)?),
                    BinOp::Sub => Value::Num(a.num(self)? - b.num(self)?),
                    BinOp::Mul => Value::Num(a.num(self)? * b.num(self)?),
                    BinOp::Div => Value::Num(a.num(self)? / b.num(self)?),
                    cmp => {
                        let (x, y) = (a.num(self)?, b.num(self)?);
                        Value::Bool(match cmp {
                            BinOp::Lt => x < y,
                            BinOp::Le => x <= y,
                            BinOp::Eq => x == y,
                            BinOp::Ne => x != y,
                            BinOp::Ge => x >= y,
                            _ => x > y,
                        })
                    }
                }
            }
        })
    }

    /// Renders the expression with values: metrics as `path value`, each compound operand of a
    /// comparison followed by `= result`, and each comparison by ` (note)` where `note` gives one.
    pub fn explain(
        &self,
        get: &dyn Fn(&str) -> Option<f64>,
        note: &dyn Fn(&Expr) -> Option<String>,
    ) -> String {
        match self {
            Expr::Binary(op, a, b) if op.is_comparison() => {
                let text = format!("{} {} {}", operand(a, get), op.symbol(), operand(b, get));
                match note(self) {
                    Some(n) => format!("{text} ({n})"),
                    None => text,
                }
            }
            Expr::Binary(op @ (BinOp::And | BinOp::Or), a, b) => format!(
                "{} {} {}",
                a.explain(get, note),
                op.symbol(),
                b.explain(get, note)
            ),
            Expr::Not(e) => format!("not ({})", e.explain(get, note)),
            other => substitute(other, get, 0),
        }
    }
}

/// A comparison operand: the substituted text, plus `= value` when it is not a single term.
fn operand(e: &Expr, get: &dyn Fn(&str) -> Option<f64>) -> String {
    let text = substitute(e, get, 0);
    match e {
        Expr::Num(_) | Expr::Metric(_) | Expr::Bool(_) => text,
        _ => match e.eval(get) {
            Ok(Value::Num(v)) => format!("{text} = {}", fmt_num(v)),
            _ => text,
        },
    }
}

/// The expression as text with metric values inserted; `parent` is the binding power of the
/// enclosing operator, to put back the parentheses that matter.
fn substitute(e: &Expr, get: &dyn Fn(&str) -> Option<f64>, parent: u8) -> String {
    match e {
        Expr::Num(n) => n.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::Metric(m) => match get(&m.path) {
            Some(v) => format!("{} {}", m.path, fmt_num(v)),
            None => m.path.clone(),
        },
        Expr::Neg(inner) => format!("-{}", substitute(inner, get, 9)),
        Expr::Not(inner) => format!("not {}", substitute(inner, get, 9)),
        Expr::Binary(op, a, b) => {
            let power = binding_power(*op);
            let text = format!(
                "{} {} {}",
                substitute(a, get, power),
                op.symbol(),
                substitute(b, get, power + 1)
            );
            if power < parent {
                format!("({text})")
            } else {
                text
            }
        }
    }
}

fn binding_power(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne | BinOp::Ge | BinOp::Gt => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div => 6,
    }
}

/// Formats a number for verdicts: integers bare, others with two decimals, small ones with three
/// significant digits.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(2, 12) as usize;
        format!("{v:.digits$}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Num(f64),
    Bool(bool),
}

impl Value {
    fn num(self, ctx: &Expr) -> Result<f64, EvalError> {
        match self {
            Value::Num(n) => Ok(n),
            Value::Bool(_) => Err(EvalError::Type(format!(
                "a yes/no value is used as a number in `{}`",
                substitute(ctx, &|_| None, 0)
            ))),
        }
    }

    fn boolean(self, ctx: &Expr) -> Result<bool, EvalError> {
        match self {
            Value::Bool(b) => Ok(b),
            Value::Num(_) => Err(EvalError::Type(format!(
                "a number is used as a yes/no value in `{}`; compare it with `==`, `<=`, ...",
                substitute(ctx, &|_| None, 0)
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Num(f64),
    Path(String),
    Op(&'static str),
    LParen,
    RParen,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Num(n) => format!("number `{}`", fmt_num(*n)),
            TokenKind::Path(p) => format!("`{p}`"),
            TokenKind::Op(o) => format!("`{o}`"),
            TokenKind::LParen => "`(`".into(),
            TokenKind::RParen => "`)`".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    offset: usize,
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let kind = if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                i += 1;
                if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                    i += 1;
                }
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[start..i];
            TokenKind::Num(text.parse().map_err(|_| ParseError {
                offset: start,
                message: format!("`{text}` is not a number"),
            })?)
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'-'
                    || bytes[i] == b'.')
            {
                i += 1;
            }
            let word = &src[start..i];
            match word {
                "and" => TokenKind::Op("and"),
                "or" => TokenKind::Op("or"),
                "not" => TokenKind::Op("not"),
                _ => TokenKind::Path(word.to_string()),
            }
        } else {
            let two = src.get(i..i + 2).unwrap_or("");
            let op: &'static str = match two {
                "<=" => "<=",
                ">=" => ">=",
                "==" => "==",
                "!=" => "!=",
                "&&" | "||" => {
                    let word = if two == "&&" { "and" } else { "or" };
                    return Err(ParseError {
                        offset: start,
                        message: format!("`{two}` is not an operator here; write `{word}`"),
                    });
                }
                _ => match c {
                    b'<' => "<",
                    b'>' => ">",
                    b'+' => "+",
                    b'-' => "-",
                    b'*' => "*",
                    b'/' => "/",
                    b'(' => "(",
                    b')' => ")",
                    b'=' => {
                        return Err(ParseError {
                            offset: start,
                            message: "`=` is not a comparison; write `==`".into(),
                        })
                    }
                    _ => {
                        let ch = src[start..].chars().next().unwrap_or('?');
                        return Err(ParseError {
                            offset: start,
                            message: format!("unexpected character `{ch}`"),
                        });
                    }
                },
            };
            i += op.len();
            match op {
                "(" => TokenKind::LParen,
                ")" => TokenKind::RParen,
                _ => TokenKind::Op(op),
            }
        };
        tokens.push(Token {
            kind,
            offset: start,
        });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    src_len: usize,
    /// How many parentheses, `not` and unary `-` enclose the current position.
    depth: usize,
}

impl Parser {
    /// Parses `inner` one level deeper, refusing past [`MAX_DEPTH`] (the error points at the
    /// token that opened the level).
    fn nested(
        &mut self,
        offset: usize,
        inner: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                offset,
                message: format!(
                    "the expression nests more than {MAX_DEPTH} levels deep; \
                     split it into several gates"
                ),
            });
        }
        self.depth += 1;
        let expr = inner(self);
        self.depth -= 1;
        expr
    }

    /// The offset of the token before the current one (the one just eaten).
    fn last_offset(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(self.src_len, |t| t.offset)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat_op(&mut self, ops: &[&'static str]) -> Option<&'static str> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Op(o),
                ..
            }) if ops.contains(o) => {
                let o = *o;
                self.pos += 1;
                Some(o)
            }
            _ => None,
        }
    }

    fn binary_chain(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut left = next(self)?;
        while let Some(op) = self.eat_op(ops) {
            let right = next(self)?;
            left = Expr::Binary(op_of(op), Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(&["or"], Self::and)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(&["and"], Self::not)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op(&["not"]).is_some() {
            let at = self.last_offset();
            return Ok(Expr::Not(Box::new(self.nested(at, Self::not)?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ParseError> {
        const CMP: [&str; 6] = ["<", "<=", "==", "!=", ">=", ">"];
        let left = self.sum()?;
        let Some(op) = self.eat_op(&CMP) else {
            return Ok(left);
        };
        let right = self.sum()?;
        if let Some(tok) = self.peek() {
            if matches!(&tok.kind, TokenKind::Op(o) if CMP.contains(o)) {
                return Err(ParseError {
                    offset: tok.offset,
                    message: "comparisons do not chain; join them with `and`".into(),
                });
            }
        }
        Ok(Expr::Binary(op_of(op), Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(&["+", "-"], Self::prod)
    }

    fn prod(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(&["*", "/"], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op(&["-"]).is_some() {
            let at = self.last_offset();
            return Ok(Expr::Neg(Box::new(self.nested(at, Self::unary)?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError {
                offset: self.src_len,
                message: "the expression ends too early: a number or metric is missing".into(),
            });
        };
        self.pos += 1;
        match tok.kind {
            TokenKind::Num(n) => Ok(Expr::Num(n)),
            TokenKind::Path(p) if p == "true" => Ok(Expr::Bool(true)),
            TokenKind::Path(p) if p == "false" => Ok(Expr::Bool(false)),
            TokenKind::Path(p) => metric_ref(p, tok.offset),
            TokenKind::LParen => {
                let inner = self.nested(tok.offset, Self::or)?;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some(t) => Err(ParseError {
                        offset: t.offset,
                        message: format!("expected `)`, found {}", t.kind.describe()),
                    }),
                    None => Err(ParseError {
                        offset: tok.offset,
                        message: "this `(` is never closed".into(),
                    }),
                }
            }
            other => Err(ParseError {
                offset: tok.offset,
                message: format!("expected a number or metric, found {}", other.describe()),
            }),
        }
    }
}

fn metric_ref(path: String, offset: usize) -> Result<Expr, ParseError> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(ParseError {
            offset,
            message: format!(
                "`{path}` is not a metric path; write `record.metric`, e.g. `after.wall.median`"
            ),
        });
    }
    Ok(Expr::Metric(MetricRef {
        record: parts[0].to_string(),
        path,
        offset,
    }))
}

fn op_of(op: &str) -> BinOp {
    match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        ">=" => BinOp::Ge,
        ">" => BinOp::Gt,
        "and" => BinOp::And,
        _ => BinOp::Or,
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&substitute(self, &|_| None, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(record: &str, metric: &str) -> Option<f64> {
        match (record, metric) {
            ("after", "wall.median") => Some(8.31),
            ("baseline", "wall.median") => Some(34.9),
            ("after", "failed") => Some(0.0),
            ("after", "passed") => Some(89.0),
            ("baseline", "passed") => Some(89.0),
            _ => None,
        }
    }

    fn verdict(src: &str) -> Verdict {
        parse(src).unwrap().evaluate(&metrics).unwrap()
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Run on half the stack a spawned thread gets by default: the limit, not the stack, stops it.
        std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| {
                for deep in [
                    format!("{}after.failed == 0{}", "(".repeat(5000), ")".repeat(5000)),
                    format!("{}after.failed == 0", "not ".repeat(5000)),
                    format!("{}after.failed < 1", "-".repeat(5000)),
                ] {
                    let e = parse(&deep).unwrap_err();
                    assert!(
                        e.message
                            .starts_with("the expression nests more than 32 levels deep")
                            || e.message
                                .starts_with("the expression is longer than 1000 tokens"),
                        "{e}"
                    );
                }
                let e = parse(&format!("{}1 > 0{}", "(".repeat(33), ")".repeat(33))).unwrap_err();
                assert_eq!(e.offset, 32, "points at the `(` one level too deep");
                let chain = format!("after.failed{} == 0", " + 1".repeat(2000));
                assert!(parse(&chain)
                    .unwrap_err()
                    .message
                    .contains("longer than 1000 tokens"));
            })
            .unwrap()
            .join()
            .unwrap();
        let ok = format!("{}after.failed == 0{}", "(".repeat(32), ")".repeat(32));
        assert!(verdict(&ok).pass, "32 levels are allowed");
        assert!(verdict(&format!("{}1 > 0", "not not ".repeat(16))).pass);
    }

    #[test]
    fn explains_a_comparison_with_values_substituted() {
        let v = verdict("after.wall.median <= baseline.wall.median * 0.43");
        assert!(v.pass);
        assert_eq!(
            v.explanation,
            "after.wall.median 8.31 <= baseline.wall.median 34.90 * 0.43 = 15.01"
        );
        assert_eq!(
            v.values,
            vec![
                ("after.wall.median".to_string(), 8.31),
                ("baseline.wall.median".to_string(), 34.9)
            ]
        );
    }

    #[test]
    fn and_or_not_and_precedence() {
        assert!(verdict("after.failed == 0 and after.passed == baseline.passed").pass);
        assert!(!verdict("after.failed == 1 or after.passed < 10").pass);
        assert!(verdict("not after.failed > 0").pass);
        assert!(verdict("1 + 2 * 3 == 7").pass);
        assert!(verdict("(1 + 2) * 3 == 9").pass);
        assert!(verdict("-2 * -3 == 6").pass);
        assert!(verdict("10 / 4 == 2.5").pass);
        assert!(verdict("1e1 == 10 and .5 == 0.5").pass);
        assert!(verdict("true and not false").pass);
    }

    #[test]
    fn explanation_keeps_needed_parentheses() {
        let v = verdict("after.wall.median <= (baseline.wall.median - 4.9) / 2");
        assert_eq!(
            v.explanation,
            "after.wall.median 8.31 <= (baseline.wall.median 34.90 - 4.9) / 2 = 15"
        );
        assert!(v.pass);
    }

    #[test]
    fn missing_metric_is_an_error_never_a_pass() {
        let err = parse("after.rss_peak_mb < 500 or true")
            .unwrap()
            .evaluate(&metrics)
            .unwrap_err();
        assert_eq!(err, EvalError::Missing(vec!["after.rss_peak_mb".into()]));
        assert_eq!(err.to_string(), "no run produced `after.rss_peak_mb`");
    }

    #[test]
    fn metric_refs_carry_offsets() {
        let refs = parse("after.failed == 0 and baseline.wall.median > 1")
            .unwrap()
            .metric_refs();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].record, "baseline");
        assert_eq!(refs[1].metric(), "wall.median");
        assert_eq!(refs[1].offset, 22);
    }

    #[test]
    fn parse_errors_point_at_the_column() {
        let cases = [
            (
                "after.failed = 0",
                13,
                "`=` is not a comparison; write `==`",
            ),
            ("after.failed == ", 16, "the expression ends too early"),
            ("1 < 2 < 3", 6, "comparisons do not chain"),
            ("(1 < 2", 0, "never closed"),
            ("wall < 3", 0, "is not a metric path"),
            ("a.b && c.d", 4, "write `and`"),
            ("a.b == 1 )", 9, "unexpected `)`"),
            ("a.b == 1 # x", 9, "unexpected character `#`"),
            ("1..2 > 0", 0, "`1..2` is not a number"),
        ];
        for (src, offset, text) in cases {
            let err = parse(src).unwrap_err();
            assert_eq!(err.offset, offset, "{src}: {err}");
            assert!(err.message.contains(text), "{src}: {}", err.message);
        }
    }

    #[test]
    fn a_number_is_not_a_verdict() {
        let err = parse("after.failed + 1")
            .unwrap()
            .evaluate(&metrics)
            .unwrap_err();
        assert!(matches!(err, EvalError::Type(_)));
        let err = parse("after.failed and true")
            .unwrap()
            .evaluate(&metrics)
            .unwrap_err();
        assert!(matches!(err, EvalError::Type(_)));
    }

    #[test]
    fn numbers_format_for_people() {
        assert_eq!(fmt_num(15.0), "15");
        assert_eq!(fmt_num(34.9), "34.90");
        assert_eq!(fmt_num(0.0123), "0.0123");
        assert_eq!(fmt_num(0.5), "0.500");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(src in "\\PC{0,40}") {
            let _ = parse(&src);
        }

        #[test]
        fn display_round_trips(a in 0u32..1000, b in 1u32..1000, c in 0u32..1000) {
            let src = format!("x.y <= ({a} - {b}) * {c} / {b} or not x.z > {a}");
            let text = parse(&src).unwrap().to_string();
            proptest::prop_assert_eq!(parse(&text).unwrap().to_string(), text);
        }
    }
}
