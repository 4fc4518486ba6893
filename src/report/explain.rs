//! How a gate's verdict reads: the expression with every value the gate read substituted, each
//! comparison decided on an interval followed by its figure (`1.42x faster, 95% CI 1.34-1.49x,
//! 5+5 runs`, how the runs were taken, the drift the runs show), and why a gate got no speed
//! verdict. The executor decides (`exec::gates`); these words are written here only.

use std::cell::Cell;

use crate::criteria::decide::{Outcome3, Pairing, RatioCheck};
use crate::criteria::Expr;
use crate::exec::red::named;
use crate::run::verdict::{CollectCause, Explanation, NoSpeed, SpeedRefusal, Undecided, Verdict};

/// The verdict's explanation line, if it has one.
pub fn explanation(v: &Verdict) -> Option<String> {
    Some(match v.explanation.as_ref()? {
        Explanation::Decided { expr, checks } => {
            decided(expr, &|path| v.values.get(path).copied(), checks)
        }
        Explanation::NoSpeedVerdict(refusal) => format!("{}: {}", v.check, speed_refusal(refusal)),
    })
}

/// Why the verdict's gate has no value, if it has none.
pub fn message(v: &Verdict) -> Option<String> {
    Some(match v.message.as_ref()? {
        Undecided::Eval(e) => e.to_string(),
        Undecided::NoSpeedVerdict(refusal) => speed_refusal(refusal),
    })
}

/// `expr` with the values `get` gives, each comparison of `checks` followed by its figure, e.g.
/// `after.wall.median 13.20 <= baseline.wall.median 18.70 / 1.2 = 15.58 (1.42x faster, 95% CI
/// 1.34-1.49x, 5+5 runs)`.
pub fn decided(expr: &Expr, get: &dyn Fn(&str) -> Option<f64>, checks: &[RatioCheck]) -> String {
    // `explain` asks for the note of each comparison once, in source order: count them.
    let seen = Cell::new(0);
    let note = |_: &Expr| {
        let at = seen.replace(seen.get() + 1);
        checks.iter().find(|c| c.at == at).map(figure)
    };
    expr.explain(get, &note)
}

/// A ratio's interval as the verdict shows it: `1.52x faster, 99% CI 1.31-1.76x, 6 pairs
/// interleaved`, or with `N+M runs` and, when it was not interleaved, why; then the drift.
pub fn figure(c: &RatioCheck) -> String {
    match &c.pairing {
        Some(Pairing::Interleaved { pairs, note, .. }) => {
            let mut text = c.interval.describe(&format!(
                "{pairs} pair{} interleaved",
                if *pairs == 1 { "" } else { "s" }
            ));
            if let Some(note) = note {
                text.push_str("; ");
                text.push_str(note);
            }
            text
        }
        Some(Pairing::Sequential { reason, .. }) => {
            let mut text = c.interval.describe(&format!(
                "{}+{} runs, sequential: {reason}",
                c.interval.n_num, c.interval.n_den
            ));
            if let Some(note) = drift_note(c) {
                text.push_str("; ");
                text.push_str(&note);
            }
            text
        }
        None => match drift_note(c) {
            Some(note) => format!("{}; {note}", c.interval),
            None => c.interval.to_string(),
        },
    }
}

/// What the drift the runs show adds to the verdict line: `inconclusive: drift, the machine
/// got 38% slower during measurement (trend over 9 runs, p = 0.004)`, or `drift allowed for,
/// ...` when the verdict holds despite it.
pub fn drift_note(c: &RatioCheck) -> Option<String> {
    let d = c.drift.filter(|d| d.significant)?;
    Some(if c.outcome == Outcome3::Inconclusive {
        format!("inconclusive: drift, {d}")
    } else {
        format!("drift allowed for, {d}")
    })
}

/// `no speed verdict: `after` ran no test; times are compared only between runs of the same
/// tests`, naming the tests only one side ran and the cause pytest gave.
pub fn speed_refusal(refusal: &SpeedRefusal) -> String {
    let why: Vec<String> = refusal
        .reasons
        .iter()
        .map(|r| match r {
            NoSpeed::RanNoTest { record, cause } => {
                format!("`{record}` ran no test{}", clause(cause.as_ref()))
            }
            NoSpeed::DifferentTests { sides, causes } => {
                let [(a, only_a), (b, only_b)] = sides;
                format!(
                    "{}{}{}",
                    difference((a, only_a), (b, only_b)),
                    clause(causes[0].as_ref()),
                    clause(causes[1].as_ref())
                )
            }
        })
        .collect();
    format!(
        "no speed verdict: {}; times are compared only between runs of the same tests",
        why.join("; ")
    )
}

/// "`a` and `b` ran different tests: 1 only in `a` (t::d), 0 only in `b`", from the ids only
/// each side ran.
pub fn difference(a: (&str, &[String]), b: (&str, &[String])) -> String {
    let side = |(name, ids): (&str, &[String])| {
        if ids.is_empty() {
            format!("0 only in `{name}`")
        } else {
            format!("{} only in `{name}` ({})", ids.len(), named(ids))
        }
    };
    format!(
        "`{}` and `{}` ran different tests: {}, {}",
        a.0,
        b.0,
        side(a),
        side(b)
    )
}

/// What pytest said went wrong in collecting a record's tests, as a clause (empty without).
fn clause(cause: Option<&CollectCause>) -> String {
    match cause {
        None => String::new(),
        Some(CollectCause::XdistMismatch(first)) => format!(
            " (pytest-xdist: \"{first}\": the workers collected different tests, so ids or their order depend on the process; make parametrization deterministic)"
        ),
        Some(CollectCause::Error { id, summary }) => {
            format!(" (collection error in `{id}`: {summary})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Each reason reads as before the words moved here: a record that ran no test with
    /// pytest-xdist's cause, two records with the tests only each ran, and a collection error.
    #[test]
    fn a_speed_refusal_names_records_tests_and_causes() {
        let xdist = SpeedRefusal {
            reasons: vec![NoSpeed::RanNoTest {
                record: "after".into(),
                cause: Some(CollectCause::XdistMismatch(
                    "Different tests were collected between gw0 and gw1".into(),
                )),
            }],
        };
        assert_eq!(
            speed_refusal(&xdist),
            "no speed verdict: `after` ran no test (pytest-xdist: \"Different tests were collected between gw0 and gw1\": the workers collected different tests, so ids or their order depend on the process; make parametrization deterministic); times are compared only between runs of the same tests"
        );
        let differ = SpeedRefusal {
            reasons: vec![NoSpeed::DifferentTests {
                sides: [
                    ("after".into(), ids(&["t::d"])),
                    ("baseline".into(), ids(&["t::b", "t::c"])),
                ],
                causes: [
                    None,
                    Some(CollectCause::Error {
                        id: "t.py".into(),
                        summary: "ImportError".into(),
                    }),
                ],
            }],
        };
        assert_eq!(
            speed_refusal(&differ),
            "no speed verdict: `after` and `baseline` ran different tests: 1 only in `after` (t::d), 2 only in `baseline` (t::b, t::c) (collection error in `t.py`: ImportError); times are compared only between runs of the same tests"
        );
        assert_eq!(
            difference(("a", &[]), ("b", &ids(&["x"]))),
            "`a` and `b` ran different tests: 0 only in `a`, 1 only in `b` (x)"
        );
    }

    /// The figure goes after the comparison it belongs to, found by its place, not after the
    /// other comparisons of the expression.
    #[test]
    fn a_figure_follows_its_own_comparison() {
        let expr = crate::criteria::parse("after.failed == 0 and after.x <= base.x * 0.5").unwrap();
        let check = RatioCheck {
            label: "after/base x".into(),
            num_record: "after".into(),
            num_metric: "x".into(),
            den_record: "base".into(),
            den_metric: "x".into(),
            op: "<=",
            bound: 0.5,
            interval: crate::measure::interval::RatioInterval {
                estimate: 0.25,
                low: 0.2,
                high: 0.3,
                confidence: 0.95,
                n_num: 3,
                n_den: 4,
            },
            outcome: Outcome3::Pass,
            drift: None,
            pairing: None,
            at: 1,
        };
        let values = |p: &str| match p {
            "after.failed" => Some(0.0),
            "after.x" => Some(1.0),
            "base.x" => Some(4.0),
            _ => None,
        };
        assert_eq!(
            decided(&expr, &values, &[check]),
            "after.failed 0 == 0 and after.x 1 <= base.x 4 * 0.5 = 2 (4.00x faster, 95% CI 3.33-5.00x, 3+4 runs)"
        );
    }
}
