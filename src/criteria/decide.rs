//! Three-valued gate decisions: a comparison of two suite records is decided on the confidence
//! interval of their ratio (`pass`, `fail` or `inconclusive`), every other comparison as
//! [`Expr::evaluate`] decides it, and `and`/`or`/`not` combine them in Kleene's logic.
//!
//! A comparison is read as a ratio when, after moving everything to one side, it is
//! `k · m1 / m2  op  1` for two metrics `m1`, `m2` of different records that both have per-run
//! samples and a positive constant `k`: `after.wall.median <= baseline.wall.median * 0.43`,
//! `after.wall.median * 1.2 <= baseline.wall.median`, `baseline.wall.median / after.wall.median
//! >= 1.5`. Dividing by a positive metric keeps the direction of the comparison, so each of
//! these is a claim `m1 / m2 op bound` about the ratio, and the ratio has an interval
//! ([`crate::measure::pairs::figure`]). The claim passes when the whole interval satisfies it, fails when the
//! whole interval violates it, and is inconclusive otherwise. `m1` is the metric of the ratio's
//! numerator as it stands in the source, so `baseline / after >= 1.5` is read on
//! baseline/after and `after <= baseline / 1.2` on after/baseline.
//!
//! Sums and differences (`after.wall.median <= baseline.wall.median - 2`), `==` and `!=`,
//! comparisons within one record and metrics without samples are decided on their values, as
//! before: their answer is `pass` or `fail`.
//!
//! Whatever statistic the gate names (`wall.median`, `wall.mean`, `wall.min`), the interval is on
//! the ratio of the medians of the samples behind it: the robust typical run. The explanation
//! (`report::explain`, from the decision's values and checks) still prints the values the gate
//! names.

use serde::Serialize;

use super::{BinOp, EvalError, Expr, MetricRef};
use crate::measure::drift::Drift;
use crate::measure::interval::RatioInterval;

/// The answer of a gate: shown to hold, shown not to hold, or not shown either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome3 {
    /// The gate holds (for an interval comparison: over the whole interval).
    Pass,
    /// The gate does not hold (for an interval comparison: nowhere in the interval).
    Fail,
    /// The interval straddles the gate's bound: more runs could decide it.
    Inconclusive,
}

impl Outcome3 {
    /// `Pass` for true, `Fail` for false.
    pub fn from_bool(b: bool) -> Outcome3 {
        if b {
            Outcome3::Pass
        } else {
            Outcome3::Fail
        }
    }

    /// Kleene's `and`: a `Fail` on either side decides it, else any `Inconclusive` does.
    pub fn and(self, other: Outcome3) -> Outcome3 {
        use Outcome3::*;
        match (self, other) {
            (Fail, _) | (_, Fail) => Fail,
            (Pass, Pass) => Pass,
            _ => Inconclusive,
        }
    }

    /// Kleene's `or`: a `Pass` on either side decides it, else any `Inconclusive` does.
    pub fn or(self, other: Outcome3) -> Outcome3 {
        !(!self).and(!other)
    }

    /// The word shown for it: `pass`, `fail`, `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome3::Pass => "pass",
            Outcome3::Fail => "fail",
            Outcome3::Inconclusive => "inconclusive",
        }
    }
}

impl std::ops::Not for Outcome3 {
    type Output = Outcome3;

    /// Swaps `Pass` and `Fail`; `Inconclusive` stays.
    fn not(self) -> Outcome3 {
        match self {
            Outcome3::Pass => Outcome3::Fail,
            Outcome3::Fail => Outcome3::Pass,
            Outcome3::Inconclusive => Outcome3::Inconclusive,
        }
    }
}

impl std::fmt::Display for Outcome3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One comparison decided on a ratio's interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioCheck {
    /// What the ratio is, e.g. `after/baseline wall.median`, or
    /// `after.wall.mean/baseline.wall.median` when the metrics differ.
    pub label: String,
    /// The numerator's record, e.g. `after`.
    pub num_record: String,
    /// The numerator's metric, e.g. `wall.median`.
    pub num_metric: String,
    /// The denominator's record, e.g. `baseline`.
    pub den_record: String,
    /// The denominator's metric.
    pub den_metric: String,
    /// The comparison the ratio must satisfy, e.g. `<=`.
    pub op: &'static str,
    /// The bound on the ratio, e.g. 0.43 for `after <= baseline * 0.43`.
    pub bound: f64,
    /// The ratio and its interval.
    pub interval: RatioInterval,
    /// What the interval says about the comparison, widened by the shift significant
    /// [`drift`](Self::drift) could have put between the records.
    pub outcome: Outcome3,
    /// The trend of the machine's speed over both records' runs, when there were enough to
    /// test and they were not interleaved: measured one after the other, a significant one
    /// widens the interval by its extrapolation between the records (see `measure::interval`,
    /// "Drift"). Interleaved pairs cancel it.
    pub drift: Option<Drift>,
    /// How the two records were measured: from interleaved pairs, or one after the other.
    pub pairing: Option<Pairing>,
    /// Its place among the expression's comparisons in source order (from 0), the order in
    /// which [`Expr::explain`] asks for each comparison's note.
    pub at: usize,
}

pub use crate::measure::pairs::Pairing;

/// What the caller knows of how `(num record, num metric)` and `(den record, den metric)` were
/// measured together.
pub type PairingOf<'a> = &'a dyn Fn(&str, &str, &str, &str) -> Option<Pairing>;

/// The outcome of deciding a gate expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Pass, fail or inconclusive.
    pub outcome: Outcome3,
    /// Each metric used and its value.
    pub values: Vec<(String, f64)>,
    /// The comparisons decided on an interval, in source order.
    pub intervals: Vec<RatioCheck>,
}

impl Decision {
    /// The interval comparisons still inconclusive: the records more runs should go to.
    pub fn undecided(&self) -> impl Iterator<Item = &RatioCheck> {
        self.intervals
            .iter()
            .filter(|c| c.outcome == Outcome3::Inconclusive)
    }
}

/// What deciding needs besides the expression.
struct Inputs<'a> {
    get: &'a dyn Fn(&str) -> Option<f64>,
    pairing: PairingOf<'a>,
    samples: &'a dyn Fn(&str, &str) -> Option<Vec<f64>>,
    floor: f64,
    confidence: f64,
}

impl Expr {
    /// Decides the expression in three values; `lookup(record, metric)` gives a metric's value
    /// and `samples(record, metric)` the per-run samples behind it (`None` for metrics that
    /// are not per-run, such as counts). Interval comparisons (see the module doc) use the noise
    /// `floor` and the `confidence` level, e.g. 0.95.
    ///
    /// The errors are those of [`Expr::evaluate`]: a missing metric is never a pass.
    pub fn decide(
        &self,
        lookup: &dyn Fn(&str, &str) -> Option<f64>,
        samples: &dyn Fn(&str, &str) -> Option<Vec<f64>>,
        floor: f64,
        confidence: f64,
    ) -> Result<Decision, EvalError> {
        self.decide_paired(lookup, samples, &|_, _, _, _| None, floor, confidence)
    }

    /// [`Expr::decide`], where `pairing` says how two records were measured together: a ratio
    /// of two records measured in interleaved pairs is decided on the paired interval.
    pub fn decide_paired(
        &self,
        lookup: &dyn Fn(&str, &str) -> Option<f64>,
        samples: &dyn Fn(&str, &str) -> Option<Vec<f64>>,
        pairing: PairingOf<'_>,
        floor: f64,
        confidence: f64,
    ) -> Result<Decision, EvalError> {
        let verdict = self.evaluate(lookup)?;
        let values = verdict.values;
        let get = |path: &str| values.iter().find(|(p, _)| p == path).map(|(_, v)| *v);
        let inputs = Inputs {
            get: &get,
            pairing,
            samples,
            floor,
            confidence,
        };
        let mut checks = Vec::new();
        let outcome = self.outcome3(&inputs, &mut checks, &mut 0)?;
        Ok(Decision {
            outcome,
            values,
            intervals: checks,
        })
    }

    /// The outcome; `checks` gathers the interval comparisons, `seen` counts the comparisons
    /// met so far (the walk is [`Expr::explain`]'s: `not`, `and`, `or`, then comparisons).
    fn outcome3(
        &self,
        inputs: &Inputs,
        checks: &mut Vec<RatioCheck>,
        seen: &mut usize,
    ) -> Result<Outcome3, EvalError> {
        Ok(match self {
            Expr::Not(e) => !e.outcome3(inputs, checks, seen)?,
            Expr::Binary(BinOp::And, a, b) => {
                let a = a.outcome3(inputs, checks, seen)?;
                a.and(b.outcome3(inputs, checks, seen)?)
            }
            Expr::Binary(BinOp::Or, a, b) => {
                let a = a.outcome3(inputs, checks, seen)?;
                a.or(b.outcome3(inputs, checks, seen)?)
            }
            Expr::Binary(op, a, b) if op.is_comparison() => {
                let at = *seen;
                *seen += 1;
                match ratio_check(*op, a, b, inputs, at) {
                    Some(check) => {
                        let outcome = check.outcome;
                        checks.push(check);
                        outcome
                    }
                    None => Outcome3::from_bool(self.eval(inputs.get)?.boolean(self)?),
                }
            }
            other => Outcome3::from_bool(other.eval(inputs.get)?.boolean(other)?),
        })
    }
}

/// A product of metric powers and a constant: `baseline.wall.median * 0.43` is
/// `([(baseline.wall.median, 1)], 0.43)`.
type Factors<'e> = (Vec<(&'e MetricRef, i32)>, f64);

/// `e` as a product of metric powers and a constant; `None` for anything else (sums, negation).
fn factors(e: &Expr) -> Option<Factors<'_>> {
    match e {
        Expr::Num(n) => Some((Vec::new(), *n)),
        Expr::Metric(m) => Some((vec![(m, 1)], 1.0)),
        Expr::Binary(op @ (BinOp::Mul | BinOp::Div), a, b) => {
            let (mut terms, ka) = factors(a)?;
            let (tb, kb) = factors(b)?;
            let sign = if *op == BinOp::Mul { 1 } else { -1 };
            terms.extend(tb.into_iter().map(|(m, p)| (m, sign * p)));
            Some((terms, if sign == 1 { ka * kb } else { ka / kb }))
        }
        _ => None,
    }
}

/// The comparison `a op b` decided on a ratio's interval, when it is one (see the module doc).
fn ratio_check(op: BinOp, a: &Expr, b: &Expr, inputs: &Inputs, at: usize) -> Option<RatioCheck> {
    if matches!(op, BinOp::Eq | BinOp::Ne) {
        return None;
    }
    let (left, k_left) = factors(a)?;
    let (right, k_right) = factors(b)?;
    // a / b as one product: the left's powers as they are, the right's inverted.
    let mut powers: Vec<(&MetricRef, i32)> = Vec::new();
    let all = left
        .into_iter()
        .chain(right.into_iter().map(|(m, p)| (m, -p)));
    for (m, p) in all {
        match powers.iter_mut().find(|(seen, _)| seen.path == m.path) {
            Some((_, q)) => *q += p,
            None => powers.push((m, p)),
        }
    }
    powers.retain(|(_, p)| *p != 0);
    let [(m1, p1), (m2, p2)] = powers[..] else {
        return None;
    };
    let (num, den) = match (p1, p2) {
        (1, -1) => (m1, m2),
        (-1, 1) => (m2, m1),
        _ => return None,
    };
    // k_left · num/den op k_right, with both constants positive.
    let bound = k_right / k_left;
    if num.record == den.record || !(bound.is_finite() && bound > 0.0) {
        return None;
    }
    let num_samples = (inputs.samples)(&num.record, num.metric())?;
    let den_samples = (inputs.samples)(&den.record, den.metric())?;
    let pairing = (inputs.pairing)(&num.record, num.metric(), &den.record, den.metric());
    let figure = crate::measure::pairs::figure(
        &num_samples,
        &den_samples,
        pairing.as_ref(),
        inputs.floor,
        inputs.confidence,
    )?;
    let (interval, drift) = (figure.interval, figure.drift);
    let (low, high) = (figure.widened.low, figure.widened.high);
    let (all_hold, none_hold) = match op {
        BinOp::Lt => (high < bound, low >= bound),
        BinOp::Le => (high <= bound, low > bound),
        BinOp::Gt => (low > bound, high <= bound),
        _ => (low >= bound, high < bound),
    };
    let outcome = match (all_hold, none_hold) {
        (true, _) => Outcome3::Pass,
        (_, true) => Outcome3::Fail,
        _ => Outcome3::Inconclusive,
    };
    let label = if num.metric() == den.metric() {
        format!("{}/{} {}", num.record, den.record, num.metric())
    } else {
        format!("{}/{}", num.path, den.path)
    };
    Some(RatioCheck {
        label,
        num_record: num.record.clone(),
        num_metric: num.metric().to_string(),
        den_record: den.record.clone(),
        den_metric: den.metric().to_string(),
        op: op.symbol(),
        bound,
        interval,
        outcome,
        drift,
        pairing,
        at,
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
pub(crate) mod tests;
