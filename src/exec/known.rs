//! Gates test by test when a baseline has known failures: the known tests are left out of every
//! record's test counts, so `after.failed <= baseline.failed` or `after.failed == 0` hold when
//! the known tests still fail and nothing else does, and fail on any new failure (which the
//! gate then names). A known failure that passes later is reported as fixed.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::measure::junit::Outcome;
use crate::measure::record::Record;

/// Records by name, as gates read them.
type Records = std::collections::BTreeMap<String, Record>;

/// Every test some record of `records` took as a known failure.
pub fn known(records: &Records) -> BTreeSet<&str> {
    records
        .values()
        .filter_map(|r| r.test_set.as_ref())
        .flat_map(|s| s.known_failures.iter().map(String::as_str))
        .collect()
}

/// `records` with the known failures left out of their test counts; unchanged (borrowed) when
/// no baseline has any.
pub fn adjusted(records: &Records) -> Cow<'_, Records> {
    let known = known(records);
    if known.is_empty() {
        return Cow::Borrowed(records);
    }
    let out = records
        .iter()
        .map(|(name, r)| (name.clone(), without(r, &known)))
        .collect();
    Cow::Owned(out)
}

/// The known tests of `known` that ran in `record` and did not fail there, sorted.
pub fn fixed(record: &Record, known: &BTreeSet<&str>) -> Vec<String> {
    let Some(set) = &record.test_set else {
        return Vec::new();
    };
    set.executed
        .iter()
        .filter(|id| known.contains(id.as_str()))
        .filter(|id| !record.failures.iter().any(|f| &f.id == *id))
        .cloned()
        .collect()
}

/// One record with the known tests out of `passed`, `failed`, `errors`, `flaky`, `runs_green`
/// and its failures.
fn without(record: &Record, known: &BTreeSet<&str>) -> Record {
    let mut r = record.clone();
    let is_known = |id: &str| known.contains(id);
    let known_failed = r
        .failures
        .iter()
        .filter(|f| is_known(&f.id) && f.outcome == Outcome::Failed)
        .count() as u64;
    let known_errors = r
        .failures
        .iter()
        .filter(|f| is_known(&f.id) && f.outcome == Outcome::Error)
        .count() as u64;
    let fixed = fixed(record, known).len() as u64;
    r.failed = r.failed.saturating_sub(known_failed);
    r.errors = r.errors.saturating_sub(known_errors);
    r.passed = r.passed.saturating_sub(fixed);
    r.failures.retain(|f| !is_known(&f.id));
    r.flaky.retain(|id| !is_known(id));
    // A run is green when what failed in it can be the known tests alone: pytest's exit 1
    // (tests failed) with no more failures and errors than known tests fail in the record.
    let allowed = known_failed + known_errors;
    let counted: Vec<_> = r.samples.iter().filter(|s| !s.warmup).collect();
    if !counted.is_empty() && allowed > 0 {
        let green = counted
            .iter()
            .filter(|s| {
                s.green()
                    || (s.exit_code == 1
                        && s.counts.is_some_and(|c| c.failed + c.errors <= allowed))
            })
            .count();
        r.runs_green = green as f64 / counted.len() as f64;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::junit::Counts;
    use crate::measure::record::{RunSample, TestFailure, TestSet};

    fn record(executed: &[&str], failing: &[&str], known: &[&str]) -> Record {
        let mut r = crate::report::fixture::record();
        r.runs = 1;
        r.passed = (executed.len() - failing.len()) as u64;
        r.failed = failing.len() as u64;
        r.tests = executed.len() as u64;
        r.failures = failing
            .iter()
            .map(|id| TestFailure {
                id: id.to_string(),
                outcome: Outcome::Failed,
                runs: 1,
                ..TestFailure::default()
            })
            .collect();
        r.test_set = Some(TestSet {
            executed: executed.iter().map(|s| s.to_string()).collect(),
            collection_errors: Vec::new(),
            known_failures: known.iter().map(|s| s.to_string()).collect(),
        });
        r.samples = vec![RunSample {
            warmup: false,
            pair: None,
            promoted: false,
            wall: 1.0,
            cpu_user: 1.0,
            cpu_system: 0.0,
            rss_peak_mb: None,
            status: crate::process::Status::Exited(i32::from(!failing.is_empty())),
            exit_code: i32::from(!failing.is_empty()),
            counts: Some(Counts {
                passed: r.passed,
                failed: r.failed,
                skipped: 0,
                errors: 0,
                tests: r.tests,
            }),
            log: "x.log".into(),
            memory: Vec::new(),
        }];
        r.runs_green = if failing.is_empty() { 1.0 } else { 0.0 };
        r
    }

    #[test]
    fn known_failures_leave_the_counts_and_new_ones_stay() {
        let base = record(&["t::a", "t::k"], &["t::k"], &["t::k"]);
        let same = record(&["t::a", "t::k"], &["t::k"], &[]);
        let worse = record(&["t::a", "t::k"], &["t::a", "t::k"], &[]);
        let better = record(&["t::a", "t::k"], &[], &[]);
        let rs = Records::from([
            ("baseline".to_string(), base),
            ("same".to_string(), same),
            ("worse".to_string(), worse),
            ("better".to_string(), better),
        ]);
        let adj = adjusted(&rs);
        let get = |n: &str| &adj[n];
        assert_eq!((get("baseline").failed, get("baseline").passed), (0, 1));
        assert_eq!(get("baseline").runs_green, 1.0);
        assert_eq!((get("same").failed, get("same").runs_green), (0, 1.0));
        assert_eq!((get("worse").failed, get("worse").runs_green), (1, 0.0));
        assert_eq!(get("worse").failures[0].id, "t::a");
        // The known test passes now: fixed, and out of `passed`, so `passed` compares as before.
        assert_eq!(get("better").passed, get("baseline").passed);
        assert_eq!(fixed(&rs["better"], &known(&rs)), ["t::k"]);
        assert!(fixed(&rs["same"], &known(&rs)).is_empty());
    }

    #[test]
    fn without_known_failures_records_are_borrowed_as_they_are() {
        let rs = Records::from([("a".to_string(), record(&["t::a"], &["t::a"], &[]))]);
        assert!(matches!(adjusted(&rs), Cow::Borrowed(_)));
    }
}
