use super::*;
use crate::criteria::parse;
use crate::measure::stats::{mean, median};
use proptest::prelude::*;

/// Wall-time samples per record; `failed` counts are 0 for every record.
struct Records(Vec<(&'static str, Vec<f64>)>);

impl Records {
    fn walls(&self, record: &str) -> Option<&Vec<f64>> {
        self.0.iter().find(|(r, _)| *r == record).map(|(_, w)| w)
    }

    fn lookup(&self, record: &str, metric: &str) -> Option<f64> {
        let walls = self.walls(record)?;
        match metric {
            "wall.median" => median(walls),
            "wall.mean" => mean(walls),
            "failed" => Some(0.0),
            _ => None,
        }
    }

    fn samples(&self, record: &str, metric: &str) -> Option<Vec<f64>> {
        matches!(metric, "wall.median" | "wall.mean")
            .then(|| self.walls(record).cloned())
            .flatten()
    }

    fn decide(&self, src: &str, floor: f64) -> Said {
        let expr = parse(src).unwrap();
        let d = expr
            .decide(
                &|r, m| self.lookup(r, m),
                &|r, m| self.samples(r, m),
                floor,
                0.95,
            )
            .unwrap();
        Said::of(&expr, d)
    }
}

/// A decision with its explanation in the report's words.
pub(crate) struct Said {
    pub outcome: Outcome3,
    pub values: Vec<(String, f64)>,
    pub intervals: Vec<RatioCheck>,
    pub explanation: String,
}

impl Said {
    pub(crate) fn of(expr: &Expr, d: Decision) -> Said {
        let get = |path: &str| d.values.iter().find(|(p, _)| p == path).map(|(_, v)| *v);
        Said {
            explanation: crate::report::explain::decided(expr, &get, &d.intervals),
            outcome: d.outcome,
            values: d.values,
            intervals: d.intervals,
        }
    }

    fn undecided(&self) -> impl Iterator<Item = &RatioCheck> {
        self.intervals
            .iter()
            .filter(|c| c.outcome == Outcome3::Inconclusive)
    }
}

/// The five-and-five runs of the interval tests: after/baseline is 0.7059 with a 95% interval
/// of 0.6824-0.7302 at a 3% floor (see `measure::interval`'s tests), so baseline/after is
/// 1.3695-1.4654.
fn five_and_five() -> Records {
    Records(vec![
        ("after", vec![13.1, 13.2, 13.4, 13.0, 13.3]),
        ("baseline", vec![18.5, 18.7, 19.0, 18.6, 18.9]),
    ])
}

fn outcome(records: &Records, src: &str) -> Outcome3 {
    records.decide(src, 0.03).outcome
}

use Outcome3::{Fail, Inconclusive, Pass};

#[test]
fn the_interval_against_the_bound_decides() {
    let r = five_and_five();
    let cases = [
        ("after.wall.median <= baseline.wall.median * 0.75", Pass),
        (
            "after.wall.median <= baseline.wall.median * 0.7",
            Inconclusive,
        ),
        ("after.wall.median <= baseline.wall.median * 0.65", Fail),
        ("after.wall.median * 1.2 <= baseline.wall.median", Pass),
        (
            "after.wall.median <= baseline.wall.median / 1.45",
            Inconclusive,
        ),
        ("after.wall.median < baseline.wall.median / 1.5", Fail),
        ("baseline.wall.median / after.wall.median >= 1.3", Pass),
        (
            "baseline.wall.median / after.wall.median >= 1.4",
            Inconclusive,
        ),
        ("baseline.wall.median / after.wall.median > 1.5", Fail),
        ("1.5 <= baseline.wall.median / after.wall.median", Fail),
        ("2 * after.wall.median / baseline.wall.median <= 1.5", Pass),
        ("baseline.wall.median >= after.wall.median * 1.3", Pass),
        ("after.wall.median >= baseline.wall.median * 0.75", Fail),
        (
            "after.wall.mean <= baseline.wall.median * 0.7",
            Inconclusive,
        ),
    ];
    for (src, want) in cases {
        assert_eq!(outcome(&r, src), want, "{src}");
    }
}

#[test]
fn explanation_carries_the_interval_and_the_check_its_parts() {
    let d = five_and_five().decide("after.wall.median <= baseline.wall.median / 1.2", 0.03);
    assert_eq!(
        d.explanation,
        "after.wall.median 13.20 <= baseline.wall.median 18.70 / 1.2 = 15.58 \
         (1.42x faster, 95% CI 1.37-1.47x, 5+5 runs)"
    );
    assert_eq!(d.intervals.len(), 1);
    let c = &d.intervals[0];
    assert_eq!(c.label, "after/baseline wall.median");
    assert_eq!(
        (c.num_record.as_str(), c.den_record.as_str()),
        ("after", "baseline")
    );
    assert_eq!((c.op, c.outcome), ("<=", Pass));
    assert!((c.bound - 1.0 / 1.2).abs() < 1e-12);
    assert!((c.interval.high - 0.730_178_946_856_147_7).abs() < 1e-9);
    assert_eq!(d.values.len(), 2);
    assert_eq!(d.undecided().count(), 0);

    let d = five_and_five().decide("baseline.wall.median / after.wall.median >= 1.4", 0.03);
    assert_eq!(d.intervals[0].label, "baseline/after wall.median");
    assert!(d
        .explanation
        .ends_with("(1.42x slower, 95% CI 1.37-1.47x, 5+5 runs)"));
    assert_eq!(d.undecided().count(), 1);

    let d = five_and_five().decide("after.wall.mean <= baseline.wall.median", 0.03);
    assert_eq!(d.intervals[0].label, "after.wall.mean/baseline.wall.median");
}

#[test]
fn and_or_not_follow_kleene() {
    let r = five_and_five();
    let (pass, fail, inc) = (
        "after.wall.median <= baseline.wall.median * 0.75",
        "after.wall.median <= baseline.wall.median * 0.65",
        "after.wall.median <= baseline.wall.median * 0.7",
    );
    let cases = [
        (format!("{inc} and {pass}"), Inconclusive),
        (format!("{inc} and {fail}"), Fail),
        (format!("{pass} and {pass}"), Pass),
        (format!("{inc} or {pass}"), Pass),
        (format!("{inc} or {fail}"), Inconclusive),
        (format!("{fail} or {fail}"), Fail),
        (format!("not {inc}"), Inconclusive),
        (format!("not {fail}"), Pass),
        (format!("not ({pass} or {inc})"), Fail),
        (format!("after.failed == 0 and {inc}"), Inconclusive),
        (format!("after.failed > 0 and {inc}"), Fail),
        (format!("{inc} or true"), Pass),
    ];
    for (src, want) in cases {
        assert_eq!(outcome(&r, &src), want, "{src}");
    }
    let d = r.decide(&format!("{pass} and {inc}"), 0.03);
    assert_eq!(d.intervals.len(), 2);
    assert_eq!(
        d.intervals.iter().map(|c| c.outcome).collect::<Vec<_>>(),
        vec![Pass, Inconclusive]
    );
    assert_eq!(d.explanation.matches("95% CI").count(), 2);
}

#[test]
fn other_comparisons_are_decided_on_their_values() {
    let r = five_and_five();
    let two_valued = [
        ("after.wall.median <= 15", Pass),
        ("after.wall.median <= baseline.wall.median - 6", Fail),
        ("after.wall.median + 1 <= baseline.wall.median * 0.8", Pass),
        ("after.wall.median != baseline.wall.median", Pass),
        ("after.wall.median <= after.wall.mean * 1.01", Pass),
        ("after.failed <= baseline.failed", Pass),
        ("-after.wall.median >= -baseline.wall.median * 0.7", Fail),
        (
            "after.wall.median * after.wall.median <= baseline.wall.median",
            Fail,
        ),
    ];
    for (src, want) in two_valued {
        let d = r.decide(src, 0.03);
        assert_eq!(d.outcome, want, "{src}");
        assert!(d.intervals.is_empty(), "{src}");
        let v = parse(src)
            .unwrap()
            .evaluate(&|a, m| r.lookup(a, m))
            .unwrap();
        assert_eq!(d.explanation, v.explanation, "{src}");
    }
}

#[test]
fn metrics_without_samples_are_two_valued() {
    let r = five_and_five();
    let d = parse("after.wall.median <= baseline.wall.median * 0.7")
        .unwrap()
        .decide(&|a, m| r.lookup(a, m), &|_, _| None, 0.03, 0.95)
        .unwrap();
    assert_eq!((d.outcome, d.intervals.len()), (Fail, 0));
}

#[test]
fn strict_and_loose_bounds_differ_on_a_point_interval() {
    let r = Records(vec![("after", vec![3.0]), ("baseline", vec![3.0])]);
    let d = |src: &str| r.decide(src, 0.0).outcome;
    assert_eq!(d("after.wall.median <= baseline.wall.median"), Pass);
    assert_eq!(d("after.wall.median < baseline.wall.median"), Fail);
    assert_eq!(d("after.wall.median >= baseline.wall.median"), Pass);
    assert_eq!(d("after.wall.median > baseline.wall.median"), Fail);
}

#[test]
fn one_run_each_decides_a_twenty_fold_speed_up() {
    let r = Records(vec![("after", vec![1.0]), ("baseline", vec![20.0])]);
    let d = r.decide("after.wall.median <= baseline.wall.median * 0.43", 0.05);
    assert_eq!(d.outcome, Pass);
    assert!(d
        .explanation
        .ends_with("(20.0x faster, 95% CI 14.8-27.1x, 1+1 runs)"));
    let d = r.decide("after.wall.median <= baseline.wall.median / 18", 0.05);
    assert_eq!(d.outcome, Inconclusive);
}

/// Measured one after the other on a machine getting 8% slower per run, a true 1.5x looks like
/// far less and an unchanged suite like a slow-down; the runs' trend makes both comparisons
/// inconclusive and the note says why. The same ratios without the trend are decided.
#[test]
fn drift_in_sequential_runs_makes_speed_inconclusive() {
    let ramp = |from: i32, n: i32, typical: f64| -> Vec<f64> {
        (from..from + n)
            .map(|k| typical * 1.08f64.powi(k) * if k % 2 == 0 { 1.01 } else { 0.99 })
            .collect()
    };
    let drifting = Records(vec![
        ("baseline", ramp(0, 4, 20.0)),
        ("after", ramp(4, 5, 20.0)),
    ]);
    let d = drifting.decide("after.wall.median <= baseline.wall.median * 1.1", 0.05);
    assert_eq!(d.outcome, Outcome3::Inconclusive, "{}", d.explanation);
    let drift = d.intervals[0].drift.unwrap();
    assert!(drift.significant && (drift.change - (1.08f64.powi(8) - 1.0)).abs() < 0.02);
    assert!(
        d.explanation.contains(
            "; inconclusive: drift, the machine got 85% slower during measurement (trend over 9 runs, p "
        ),
        "{}",
        d.explanation
    );
    let steady = Records(vec![
        ("baseline", vec![20.0, 20.4, 19.7, 20.1]),
        ("after", vec![13.1, 13.4, 13.2, 13.5, 13.0]),
    ]);
    let s = steady.decide("after.wall.median <= baseline.wall.median / 1.2", 0.05);
    assert_eq!(s.outcome, Outcome3::Pass, "{}", s.explanation);
    assert!(!s.intervals[0].drift.unwrap().significant);
    assert!(!s.explanation.contains("drift"), "{}", s.explanation);
}

/// A machine getting 2% faster each run (caches warming on a quiet box) is significant drift
/// over 4+2 runs, but it cannot turn a 1.68x into less than 1.2x: the verdict stands and says
/// the drift was allowed for, as it did on a real xdist apply.
#[test]
fn small_drift_against_a_clear_effect_is_allowed_for() {
    let walls = |from: i32, n: i32, typical: f64| -> Vec<f64> {
        (from..from + n)
            .map(|k| typical * 0.98f64.powi(k))
            .collect()
    };
    let r = Records(vec![
        ("baseline", walls(0, 4, 16.0)),
        ("after", walls(4, 2, 16.0 / 1.68)),
    ]);
    let d = r.decide("after.wall.median <= baseline.wall.median / 1.2", 0.05);
    assert!(
        d.intervals[0].drift.unwrap().significant,
        "{}",
        d.explanation
    );
    assert_eq!(d.outcome, Outcome3::Pass, "{}", d.explanation);
    assert!(
        d.explanation
            .contains("; drift allowed for, the machine got"),
        "{}",
        d.explanation
    );
}

#[test]
fn errors_are_those_of_evaluate() {
    let r = five_and_five();
    let decide = |src: &str| {
        parse(src)
            .unwrap()
            .decide(&|a, m| r.lookup(a, m), &|a, m| r.samples(a, m), 0.03, 0.95)
    };
    assert_eq!(
        decide("after.rss_peak_mb < 500 or true").unwrap_err(),
        EvalError::Missing(vec!["after.rss_peak_mb".into()])
    );
    assert!(matches!(
        decide("after.wall.median + 1"),
        Err(EvalError::Type(_))
    ));
}

#[test]
fn outcomes_read_as_words_and_serialize_lowercase() {
    assert_eq!(Inconclusive.to_string(), "inconclusive");
    assert_eq!(serde_json::to_string(&Pass).unwrap(), "\"pass\"");
    assert_eq!(Outcome3::from_bool(false), Fail);
}

fn rank(o: Outcome3) -> u8 {
    match o {
        Fail => 0,
        Inconclusive => 1,
        Pass => 2,
    }
}

proptest! {
    /// Scaling every `after` run down (faster) never lowers the verdict of an
    /// `after <= baseline * k` gate, whichever way it is written.
    #[test]
    fn a_faster_after_never_lowers_the_verdict(
        after in prop::collection::vec(0.5f64..50.0, 1..8),
        baseline in prop::collection::vec(0.5f64..50.0, 1..8),
        k in 0.2f64..2.0,
        speed_up in 1.0f64..20.0,
        floor in 0.0f64..0.2,
        form in 0usize..3,
    ) {
        let src = match form {
            0 => format!("after.wall.median <= baseline.wall.median * {k}"),
            1 => format!("after.wall.median * {} <= baseline.wall.median", 1.0 / k),
            _ => format!("baseline.wall.median / after.wall.median >= {}", 1.0 / k),
        };
        let slow = Records(vec![("after", after.clone()), ("baseline", baseline.clone())]);
        let fast = Records(vec![
            ("after", after.iter().map(|x| x / speed_up).collect()),
            ("baseline", baseline),
        ]);
        let (before, now) = (slow.decide(&src, floor), fast.decide(&src, floor));
        prop_assert_eq!(before.intervals.len(), 1);
        prop_assert!(
            rank(now.outcome) >= rank(before.outcome),
            "{} then {}: {} / {}", before.outcome, now.outcome, before.explanation, now.explanation
        );
    }
}
