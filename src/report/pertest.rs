//! Per-test before/after: the tests two records share, each with its median time on both sides,
//! and which of them saved or lost the most time.

use super::compare::columns;
use super::model::RunReport;
use crate::measure::record::Record;

/// One test's median seconds in the reference record and in the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestChange<'a> {
    /// The pytest id.
    pub id: &'a str,
    /// Median seconds in the reference record.
    pub before: f64,
    /// Median seconds in the other record.
    pub after: f64,
}

impl TestChange<'_> {
    /// Seconds gained (positive: slower) from before to after.
    pub fn delta(&self) -> f64 {
        self.after - self.before
    }
}

/// Two records' tests side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison<'a> {
    /// The reference record's name.
    pub before: &'a str,
    /// The other record's name.
    pub after: &'a str,
    /// The tests both records ran, by id.
    pub shared: Vec<TestChange<'a>>,
    /// Tests only the reference ran.
    pub only_before: usize,
    /// Tests only the other record ran.
    pub only_after: usize,
}

impl<'a> Comparison<'a> {
    /// The tests of `before` and `after` (records named `before_name` and `after_name`).
    pub fn of(
        before_name: &'a str,
        before: &'a Record,
        after_name: &'a str,
        after: &'a Record,
    ) -> Comparison<'a> {
        let shared: Vec<TestChange<'a>> = before
            .durations
            .iter()
            .filter_map(|(id, &b)| {
                let &a = after.durations.get(id)?;
                Some(TestChange {
                    id,
                    before: b,
                    after: a,
                })
            })
            .collect();
        Comparison {
            before: before_name,
            after: after_name,
            only_before: before.durations.len() - shared.len(),
            only_after: after.durations.len() - shared.len(),
            shared,
        }
    }

    /// At most `n` tests that got faster, the most seconds saved first (ties by id).
    pub fn saved(&self, n: usize) -> Vec<TestChange<'a>> {
        self.ranked(n, |c| -c.delta())
    }

    /// At most `n` tests that got slower, the most seconds lost first (ties by id).
    pub fn lost(&self, n: usize) -> Vec<TestChange<'a>> {
        self.ranked(n, TestChange::delta)
    }

    /// The tests whose `gain` is positive, largest first, at most `n`.
    fn ranked(&self, n: usize, gain: impl Fn(&TestChange<'a>) -> f64) -> Vec<TestChange<'a>> {
        let mut picked: Vec<TestChange<'a>> = self
            .shared
            .iter()
            .copied()
            .filter(|c| gain(c) > 0.0)
            .collect();
        picked.sort_by(|a, b| gain(b).total_cmp(&gain(a)).then_with(|| a.id.cmp(b.id)));
        picked.truncate(n);
        picked
    }
}

/// The reference record of `report` against each other record, where both timed their tests.
pub fn comparisons(report: &RunReport) -> Vec<Comparison<'_>> {
    let (names, reference) = columns(&report.records, &report.baselines_used);
    let Some((base_name, base)) = reference.and_then(|r| Some((r, report.records.get(r)?))) else {
        return Vec::new();
    };
    if base.durations.is_empty() {
        return Vec::new();
    }
    names
        .into_iter()
        .filter(|n| *n != base_name)
        .filter_map(|name| {
            let other = report.records.get(name)?;
            (!other.durations.is_empty()).then(|| Comparison::of(base_name, base, name, other))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixture::record;
    use super::*;

    fn timed(tests: &[(&str, f64)]) -> Record {
        Record {
            durations: tests.iter().map(|(id, s)| (id.to_string(), *s)).collect(),
            ..record()
        }
    }

    #[test]
    fn shared_tests_pair_up_and_the_rest_is_counted() {
        let before = timed(&[("a", 1.0), ("b", 2.0), ("gone", 3.0)]);
        let after = timed(&[("a", 0.5), ("b", 2.5), ("new", 0.1), ("new2", 0.1)]);
        let c = Comparison::of("baseline", &before, "after", &after);
        assert_eq!(c.shared.len(), 2);
        assert_eq!((c.only_before, c.only_after), (1, 2));
        assert_eq!(c.saved(20)[0].id, "a");
        assert_eq!(c.lost(20)[0].id, "b");
        assert_eq!(c.lost(20)[0].delta(), 0.5);
    }

    #[test]
    fn rankings_are_largest_first_positive_only_and_cut() {
        let before = timed(&[("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0), ("e", 1.0)]);
        let after = timed(&[("a", 0.9), ("b", 0.2), ("c", 0.2), ("d", 1.0), ("e", 3.0)]);
        let c = Comparison::of("x", &before, "y", &after);
        let saved: Vec<&str> = c.saved(2).iter().map(|t| t.id).collect();
        assert_eq!(saved, ["b", "c"], "ties by id");
        let saved_all: Vec<&str> = c.saved(10).iter().map(|t| t.id).collect();
        assert_eq!(
            saved_all,
            ["b", "c", "a"],
            "an unchanged test saved nothing"
        );
        let lost: Vec<&str> = c.lost(10).iter().map(|t| t.id).collect();
        assert_eq!(lost, ["e"]);
    }

    #[test]
    fn the_reference_is_compared_with_every_timed_record() {
        let mut report = RunReport::default();
        report
            .records
            .insert("baseline".into(), timed(&[("a", 1.0)]));
        report.records.insert("after".into(), timed(&[("a", 0.5)]));
        report.records.insert("check".into(), record());
        let pairs: Vec<(&str, &str)> = comparisons(&report)
            .iter()
            .map(|c| (c.before, c.after))
            .collect();
        assert_eq!(
            pairs,
            [("baseline", "after")],
            "an untimed record is left out"
        );
        report.records.insert("baseline".into(), record());
        assert!(comparisons(&report).is_empty());
    }
}
