//! Speed is compared only between runs of the same tests: a gate that reads the times of a
//! pytest record that ran no test, or of two records that ran different tests, gets no speed
//! verdict. It fails, naming the difference, and the cause when pytest said it (pytest-xdist
//! workers that collected different tests): as data, which `report::explain` words.

use std::collections::BTreeSet;

use crate::measure::record::Record;
use crate::plan::compiled::Gate;
use crate::run::verdict::{CollectCause, NoSpeed, SpeedRefusal};

/// Records by name, as gates read them.
type Records = std::collections::BTreeMap<String, Record>;

/// What pytest-xdist says when its workers collected different tests.
pub const XDIST_MISMATCH: &str = "Different tests were collected";

/// Why `gate` may not compare the times it reads, if it may not.
pub fn speed_refusal(gate: &Gate, records: &Records) -> Option<SpeedRefusal> {
    let refs = gate.expr.metric_refs();
    let mut timed: Vec<&str> = refs
        .iter()
        .filter(|m| crate::metrics::PER_RUN.contains(&m.metric()))
        .map(|m| m.record.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Records planrun knows the tests of (pytest, measured by this version), by name; others
    // are compared on time alone, as before.
    timed.retain(|r| records.get(*r).is_some_and(|rec| rec.test_set.is_some()));
    let set = |r: &str| records.get(r).and_then(|rec| rec.test_set.as_ref());
    let mut reasons = Vec::new();
    for r in &timed {
        if set(r).is_some_and(|s| s.executed.is_empty()) {
            reasons.push(NoSpeed::RanNoTest {
                record: r.to_string(),
                cause: cause(&records[*r]),
            });
        }
    }
    if reasons.is_empty() {
        for pair in timed.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (Some(sa), Some(sb)) = (set(a), set(b)) else {
                continue;
            };
            if let Some([only_a, only_b]) = difference(&sa.executed, &sb.executed) {
                reasons.push(NoSpeed::DifferentTests {
                    sides: [(a.to_string(), only_a), (b.to_string(), only_b)],
                    causes: [cause(&records[a]), cause(&records[b])],
                });
            }
        }
    }
    (!reasons.is_empty()).then_some(SpeedRefusal { reasons })
}

/// The ids only `ta` ran and those only `tb` ran, when the two sets differ.
fn difference(ta: &[String], tb: &[String]) -> Option<[Vec<String>; 2]> {
    let sa: BTreeSet<&String> = ta.iter().collect();
    let sb: BTreeSet<&String> = tb.iter().collect();
    if sa == sb {
        return None;
    }
    let only = |x: &BTreeSet<&String>, y: &BTreeSet<&String>| {
        x.difference(y).map(|s| s.to_string()).collect::<Vec<_>>()
    };
    Some([only(&sa, &sb), only(&sb, &sa)])
}

/// What pytest said went wrong in collecting `record`'s tests.
fn cause(record: &Record) -> Option<CollectCause> {
    let set = record.test_set.as_ref()?;
    if let Some(c) = set
        .collection_errors
        .iter()
        .find(|c| c.summary.contains(XDIST_MISMATCH))
    {
        let first = c.summary.split(". ").next().unwrap_or(&c.summary);
        return Some(CollectCause::XdistMismatch(first.to_string()));
    }
    set.collection_errors.first().map(|c| CollectCause::Error {
        id: c.id.clone(),
        summary: c.summary.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::{CollectionError, TestSet};
    use crate::plan::model::{OnFail, OnInconclusive};

    /// The refusal in the report's words.
    fn said(refusal: Option<SpeedRefusal>) -> Option<String> {
        refusal.as_ref().map(crate::report::explain::speed_refusal)
    }

    fn gate(check: &str) -> Gate {
        Gate {
            check: check.into(),
            expr: crate::criteria::parse(check).unwrap(),
            why: None,
            on_fail: OnFail::Rollback,
            on_inconclusive: OnInconclusive::Rollback,
            line: None,
        }
    }

    fn record(executed: &[&str], errors: &[(&str, &str)]) -> Record {
        let mut r = crate::report::fixture::record();
        r.test_set = Some(TestSet {
            executed: executed.iter().map(|s| s.to_string()).collect(),
            collection_errors: errors
                .iter()
                .map(|(id, summary)| CollectionError {
                    id: id.to_string(),
                    summary: summary.to_string(),
                })
                .collect(),
            known_failures: Vec::new(),
        });
        r
    }

    #[test]
    fn same_tests_compare_and_different_ones_are_named() {
        let speed = gate("after.wall.median <= baseline.wall.median / 1.3");
        let same = Records::from([
            ("baseline".into(), record(&["t::a", "t::b"], &[])),
            ("after".into(), record(&["t::b", "t::a"], &[])),
        ]);
        assert_eq!(speed_refusal(&speed, &same), None);
        let differ = Records::from([
            ("baseline".into(), record(&["t::a", "t::b", "t::c"], &[])),
            ("after".into(), record(&["t::a", "t::d"], &[])),
        ]);
        assert_eq!(
            said(speed_refusal(&speed, &differ)).unwrap(),
            "no speed verdict: `after` and `baseline` ran different tests: 1 only in `after` (t::d), 2 only in `baseline` (t::b, t::c); times are compared only between runs of the same tests"
        );
        // A gate on test counts is not a speed gate; a record without a test set is not checked.
        assert_eq!(
            speed_refusal(&gate("after.tests == baseline.tests"), &differ),
            None
        );
        let mut old = differ.clone();
        old.get_mut("baseline").unwrap().test_set = None;
        assert_eq!(speed_refusal(&speed, &old), None);
    }

    #[test]
    fn a_record_that_ran_no_test_gets_no_speed_verdict_and_xdist_is_named() {
        let mismatch = "Different tests were collected between gw0 and gw1. The difference is:";
        let rs = Records::from([
            ("baseline".into(), record(&["t::a"], &[])),
            ("after".into(), record(&[], &[("gw1", mismatch)])),
        ]);
        let why = said(speed_refusal(
            &gate("after.wall.median <= baseline.wall.median"),
            &rs,
        ))
        .unwrap();
        assert!(why.starts_with("no speed verdict: `after` ran no test (pytest-xdist: \"Different tests were collected between gw0 and gw1\""), "{why}");
        // Alone, too: an absolute bound on the time of a suite that ran nothing is no verdict.
        let alone = said(speed_refusal(&gate("after.wall.median <= 15"), &rs)).unwrap();
        assert!(alone.contains("`after` ran no test"), "{alone}");
        let empty = Records::from([("after".into(), record(&[], &[]))]);
        assert_eq!(
            said(speed_refusal(&gate("after.wall.median <= 15"), &empty)).unwrap(),
            "no speed verdict: `after` ran no test; times are compared only between runs of the same tests"
        );
    }
}
