//! A gate's verdict as the executor decides it: its status, the values it read, the intervals
//! it compared, and what stands behind a verdict that did not pass, as data (the words are
//! `report/`'s).

use std::collections::BTreeMap;

pub use crate::criteria::decide::RatioCheck;
use crate::criteria::{EvalError, Expr};
use crate::measure::budget::OverBudget;
use crate::plan::model::{OnFail, OnInconclusive};

/// One gate, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The id of the phase the gate belongs to.
    pub phase: String,
    /// The expression, after `${var}` interpolation.
    pub check: String,
    /// Why the gate matters.
    pub why: Option<String>,
    /// What a failure does.
    pub on_fail: OnFail,
    /// What an inconclusive verdict does.
    pub on_inconclusive: OnInconclusive,
    /// The line of its `check` in the plan file (1-based).
    pub line: Option<usize>,
    /// The verdict.
    pub status: Status,
    /// What the verdict's line says: the expression decided over `values`, or the speed
    /// comparison it refused (`report::explain` writes it).
    pub explanation: Option<Explanation>,
    /// Each metric the gate read and its value.
    pub values: BTreeMap<String, f64>,
    /// Why the gate could not be evaluated, or why it refused to compare.
    pub message: Option<Undecided>,
    /// The ratios of two records' times the gate compared, with their intervals.
    pub intervals: Vec<Interval>,
    /// What stands behind a verdict that did not pass, for the metrics the gate read.
    pub details: Vec<Detail>,
    /// The tests behind a failed verdict on test counts (new ones first).
    pub tests: Vec<NamedTest>,
}

impl Verdict {
    /// Whether this verdict stops the run: a failure, an undecidable gate that does not only
    /// warn, or an inconclusive one that is not kept.
    pub fn blocks(&self) -> bool {
        match self.status {
            Status::Fail | Status::Error => true,
            Status::Inconclusive => self.on_inconclusive != OnInconclusive::Keep,
            Status::Pass | Status::Warn => false,
        }
    }
}

/// What a verdict's line says, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum Explanation {
    /// The gate's expression was decided over the verdict's `values`.
    Decided {
        /// The expression.
        expr: Expr,
        /// The comparisons decided on a ratio's interval, each with its place among the
        /// expression's comparisons ([`RatioCheck::at`]).
        checks: Vec<RatioCheck>,
    },
    /// The gate reads times the records cannot compare: no speed verdict.
    NoSpeedVerdict(SpeedRefusal),
}

/// Why a gate has no value to decide on.
#[derive(Debug, Clone, PartialEq)]
pub enum Undecided {
    /// The expression could not be evaluated (a metric no run produced, a type mismatch).
    Eval(EvalError),
    /// The records it reads the times of ran no test, or different tests.
    NoSpeedVerdict(SpeedRefusal),
}

/// Why a gate may not compare the times it reads: each record that ran no test or, when every
/// one ran some, each pair of records that ran different tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeedRefusal {
    /// The reasons, in record order.
    pub reasons: Vec<NoSpeed>,
}

/// One reason for no speed verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoSpeed {
    /// A pytest record ran no test.
    RanNoTest {
        /// The record.
        record: String,
        /// What pytest said went wrong in collecting its tests.
        cause: Option<CollectCause>,
    },
    /// Two records ran different tests.
    DifferentTests {
        /// The two records and the tests only each ran, by id.
        sides: [(String, Vec<String>); 2],
        /// What pytest said went wrong in collecting each one's tests.
        causes: [Option<CollectCause>; 2],
    },
}

/// What pytest said went wrong in collecting a record's tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectCause {
    /// pytest-xdist's workers collected different tests (its first sentence).
    XdistMismatch(String),
    /// A collection error: the module's id and pytest's summary.
    Error {
        /// The collected module or test id.
        id: String,
        /// pytest's summary line.
        summary: String,
    },
}

/// A decided gate's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The criterion holds.
    Pass,
    /// The criterion does not hold; the run is rolled back.
    Fail,
    /// The criterion does not hold, but the gate only warns.
    Warn,
    /// The criterion could not be evaluated; counts as a failure.
    Error,
    /// The measurements cannot settle it: the interval straddles the threshold.
    Inconclusive,
}

/// A ratio of two records' per-run metric with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// What is compared, e.g. `after.wall.median / baseline.wall.median`.
    pub ratio: String,
    /// The estimate.
    pub estimate: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
    /// The confidence, e.g. 0.95.
    pub confidence: f64,
    /// Counted runs of the numerator's record.
    pub runs_num: usize,
    /// Counted runs of the denominator's record.
    pub runs_den: usize,
    /// The numerator's record, e.g. `after`.
    pub num_record: String,
    /// The numerator's metric, e.g. `wall.median`.
    pub num_metric: String,
    /// The denominator's record, e.g. `baseline`.
    pub den_record: String,
    /// How the two records were measured, when known.
    pub pairing: Option<Pairing>,
}

/// How two compared records were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// In interleaved pairs: the estimate is the paired one.
    Interleaved,
    /// One after the other.
    Sequential,
}

/// What stands behind a verdict that did not pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// A test of `record` over its budget.
    OverBudget {
        /// The record.
        record: String,
        /// The test and its budget.
        test: OverBudget,
    },
    /// The coverage of `record`, and its least covered files.
    Coverage {
        /// The record.
        record: String,
        /// Percent of statements covered.
        percent: f64,
        /// Statements missed.
        missing: u64,
        /// Statements in all.
        statements: u64,
        /// The least covered files and their percent, least first.
        least: Vec<(String, f64)>,
    },
}

/// A test a verdict names; its failure's text is in the record's `failures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTest {
    /// pytest's id of the test.
    pub id: String,
    /// The record it failed in.
    pub record: String,
    /// How it failed.
    pub outcome: TestOutcome,
}

/// How a named test failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    /// It failed in every counted run.
    Failed,
    /// It errored in every counted run.
    Error,
    /// Its outcome differed between runs.
    Flaky,
}
