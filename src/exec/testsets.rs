//! Speed is compared only between runs of the same tests: a gate that reads the times of a
//! pytest record that ran no test, or of two records that ran different tests, gets no speed
//! verdict. It fails, naming the difference, and the cause when pytest said it (pytest-xdist
//! workers that collected different tests).

use std::collections::BTreeSet;

use crate::exec::red::named;
use crate::measure::record::Record;
use crate::plan::compiled::Gate;

/// Records by name, as gates read them.
type Records = std::collections::BTreeMap<String, Record>;

/// What pytest-xdist says when its workers collected different tests.
pub const XDIST_MISMATCH: &str = "Different tests were collected";

/// Why `gate` may not compare the times it reads, if it may not.
pub fn speed_refusal(gate: &Gate, records: &Records) -> Option<String> {
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
    let mut why = Vec::new();
    for r in &timed {
        if set(r).is_some_and(|s| s.executed.is_empty()) {
            why.push(format!("`{r}` ran no test{}", cause(&records[*r])));
        }
    }
    if why.is_empty() {
        for pair in timed.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (Some(sa), Some(sb)) = (set(a), set(b)) else {
                continue;
            };
            if let Some(diff) = difference(a, &sa.executed, b, &sb.executed) {
                let causes = [cause(&records[a]), cause(&records[b])].concat();
                why.push(format!("{diff}{causes}"));
            }
        }
    }
    (!why.is_empty()).then(|| {
        format!(
            "no speed verdict: {}; times are compared only between runs of the same tests",
            why.join("; ")
        )
    })
}

/// "`a` and `b` ran different tests: ..." when their executed sets differ.
pub fn difference(a: &str, ta: &[String], b: &str, tb: &[String]) -> Option<String> {
    let sa: BTreeSet<&String> = ta.iter().collect();
    let sb: BTreeSet<&String> = tb.iter().collect();
    if sa == sb {
        return None;
    }
    let only_a: Vec<String> = sa.difference(&sb).map(|s| s.to_string()).collect();
    let only_b: Vec<String> = sb.difference(&sa).map(|s| s.to_string()).collect();
    let side = |name: &str, ids: &[String]| {
        if ids.is_empty() {
            format!("0 only in `{name}`")
        } else {
            format!("{} only in `{name}` ({})", ids.len(), named(ids))
        }
    };
    Some(format!(
        "`{a}` and `{b}` ran different tests: {}, {}",
        side(a, &only_a),
        side(b, &only_b)
    ))
}

/// What pytest said went wrong in collecting `record`'s tests, as a clause.
fn cause(record: &Record) -> String {
    let Some(set) = &record.test_set else {
        return String::new();
    };
    if let Some(c) = set
        .collection_errors
        .iter()
        .find(|c| c.summary.contains(XDIST_MISMATCH))
    {
        let first = c.summary.split(". ").next().unwrap_or(&c.summary);
        return format!(
            " (pytest-xdist: \"{first}\": the workers collected different tests, so ids or their order depend on the process; make parametrization deterministic)"
        );
    }
    match set.collection_errors.first() {
        Some(c) => format!(" (collection error in `{}`: {})", c.id, c.summary),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::{CollectionError, TestSet};
    use crate::plan::model::{OnFail, OnInconclusive};

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
            speed_refusal(&speed, &differ).unwrap(),
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
        let why = speed_refusal(&gate("after.wall.median <= baseline.wall.median"), &rs).unwrap();
        assert!(why.starts_with("no speed verdict: `after` ran no test (pytest-xdist: \"Different tests were collected between gw0 and gw1\""), "{why}");
        // Alone, too: an absolute bound on the time of a suite that ran nothing is no verdict.
        let alone = speed_refusal(&gate("after.wall.median <= 15"), &rs).unwrap();
        assert!(alone.contains("`after` ran no test"), "{alone}");
        let empty = Records::from([("after".into(), record(&[], &[]))]);
        assert_eq!(
            speed_refusal(&gate("after.wall.median <= 15"), &empty).unwrap(),
            "no speed verdict: `after` ran no test; times are compared only between runs of the same tests"
        );
    }
}
