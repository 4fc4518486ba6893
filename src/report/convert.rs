//! The executor's domain values in the report's terms: a gate's verdict (its details put in
//! words here), the net change of the files, and how the run ended.

use super::model::{
    DiffStatReport, FileDiff, GateReport, GateStatus, GateTest, IntervalReport, RunStatus,
};
use crate::plan::model::{OnFail, OnInconclusive};
use crate::run::change::{DiffStat, FileChange};
use crate::run::end::Ending;
use crate::run::verdict::{Detail, Interval, NamedTest, Pairing, Status, TestOutcome, Verdict};

/// How a gate's `on_fail` reads in reports.
pub fn on_fail_name(on_fail: OnFail) -> &'static str {
    match on_fail {
        OnFail::Rollback => "rollback",
        OnFail::Warn => "warn",
    }
}

/// How a gate's `on_inconclusive` reads in reports.
pub fn on_inconclusive_name(on: OnInconclusive) -> &'static str {
    match on {
        OnInconclusive::Rollback => "rollback",
        OnInconclusive::Keep => "keep",
    }
}

impl From<&Verdict> for GateReport {
    fn from(v: &Verdict) -> Self {
        GateReport {
            phase: v.phase.clone(),
            check: v.check.clone(),
            why: v.why.clone(),
            on_fail: on_fail_name(v.on_fail).into(),
            on_inconclusive: on_inconclusive_name(v.on_inconclusive).into(),
            status: v.status.into(),
            explanation: crate::report::explain::explanation(v),
            values: v.values.clone(),
            message: crate::report::explain::message(v),
            intervals: v.intervals.iter().map(IntervalReport::from).collect(),
            details: v.details.iter().map(detail).collect(),
            line: v.line,
            tests: v.tests.iter().map(GateTest::from).collect(),
        }
    }
}

impl From<Status> for GateStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => GateStatus::Pass,
            Status::Fail => GateStatus::Fail,
            Status::Warn => GateStatus::Warn,
            Status::Error => GateStatus::Error,
            Status::Inconclusive => GateStatus::Inconclusive,
        }
    }
}

impl From<&Interval> for IntervalReport {
    fn from(i: &Interval) -> Self {
        IntervalReport {
            ratio: i.ratio.clone(),
            estimate: i.estimate,
            low: i.low,
            high: i.high,
            confidence: i.confidence,
            runs_num: i.runs_num,
            runs_den: i.runs_den,
            num_record: i.num_record.clone(),
            num_metric: i.num_metric.clone(),
            den_record: i.den_record.clone(),
            pairing: i.pairing.map(|p| {
                match p {
                    Pairing::Interleaved => "interleaved",
                    Pairing::Sequential => "sequential",
                }
                .to_string()
            }),
        }
    }
}

impl From<&NamedTest> for GateTest {
    fn from(t: &NamedTest) -> Self {
        GateTest {
            id: t.id.clone(),
            record: t.record.clone(),
            outcome: match t.outcome {
                TestOutcome::Failed => "failed",
                TestOutcome::Error => "error",
                TestOutcome::Flaky => "flaky",
            }
            .to_string(),
        }
    }
}

/// One thing behind a verdict that did not pass, as one line.
fn detail(d: &Detail) -> String {
    match d {
        Detail::OverBudget { record, test } => {
            format!("over budget in `{record}`: {}", test.describe())
        }
        Detail::Coverage {
            record,
            percent,
            missing,
            statements,
            least,
        } => {
            let files: Vec<String> = (least.iter())
                .map(|(path, percent)| format!("{path} {percent:.1}%"))
                .collect();
            format!(
                "coverage of `{record}`: {percent:.2}% ({missing} of {statements} statements missed); least covered: {}",
                files.join(", ")
            )
        }
    }
}

impl From<DiffStat> for DiffStatReport {
    fn from(s: DiffStat) -> Self {
        DiffStatReport {
            files: s.files,
            insertions: s.insertions,
            deletions: s.deletions,
        }
    }
}

impl From<&FileChange> for FileDiff {
    fn from(c: &FileChange) -> Self {
        FileDiff {
            path: c.path.clone(),
            diff: c.diff.clone(),
            truncated: c.truncated,
        }
    }
}

impl From<Ending> for RunStatus {
    fn from(e: Ending) -> Self {
        match e {
            Ending::Passed => RunStatus::Passed,
            Ending::GateFailed => RunStatus::GateFailed,
            Ending::StepFailed => RunStatus::StepFailed,
            Ending::Interrupted => RunStatus::Interrupted,
            Ending::RollbackFailed => RunStatus::RollbackFailed,
            Ending::Inconclusive => RunStatus::Inconclusive,
            Ending::BaselineRed => RunStatus::BaselineRed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of a verdict lands in the report's gate under its name and in its words:
    /// the policy names, the pairing, each test's outcome, each detail as one line.
    #[test]
    fn a_verdict_reads_in_the_report_as_before() {
        let verdict = Verdict {
            phase: "verify".into(),
            check: "after.wall.median <= baseline.wall.median / 1.3".into(),
            why: Some("parallel must pay for itself".into()),
            on_fail: OnFail::Warn,
            on_inconclusive: OnInconclusive::Keep,
            line: Some(12),
            status: Status::Inconclusive,
            explanation: Some(crate::run::verdict::Explanation::Decided {
                expr: crate::criteria::parse("after.wall.median <= 7.7").unwrap(),
                checks: Vec::new(),
            }),
            values: [("after.wall.median".to_string(), 8.0)].into(),
            message: None,
            intervals: vec![Interval {
                ratio: "after.wall.median / baseline.wall.median".into(),
                estimate: 0.8,
                low: 0.7,
                high: 0.9,
                confidence: 0.95,
                runs_num: 5,
                runs_den: 5,
                num_record: "after".into(),
                num_metric: "wall.median".into(),
                den_record: "baseline".into(),
                pairing: Some(Pairing::Interleaved),
            }],
            details: vec![
                Detail::OverBudget {
                    record: "after".into(),
                    test: crate::measure::budget::OverBudget {
                        id: "t.py::slow".into(),
                        seconds: 0.25,
                        budget: 0.1,
                        key: "tests".into(),
                    },
                },
                Detail::Coverage {
                    record: "after".into(),
                    percent: 78.571,
                    missing: 3,
                    statements: 14,
                    least: vec![("shop/tax.py".into(), 50.0), ("shop/cart.py".into(), 90.0)],
                },
            ],
            tests: vec![
                NamedTest {
                    id: "t.py::a".into(),
                    record: "after".into(),
                    outcome: TestOutcome::Failed,
                },
                NamedTest {
                    id: "t.py::b".into(),
                    record: "after".into(),
                    outcome: TestOutcome::Flaky,
                },
            ],
        };
        let json = serde_json::to_value(GateReport::from(&verdict)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "phase": "verify",
                "check": "after.wall.median <= baseline.wall.median / 1.3",
                "why": "parallel must pay for itself",
                "on_fail": "warn",
                "on_inconclusive": "keep",
                "status": "inconclusive",
                "explanation": "after.wall.median 8 <= 7.7",
                "values": {"after.wall.median": 8.0},
                "intervals": [{
                    "ratio": "after.wall.median / baseline.wall.median",
                    "estimate": 0.8, "low": 0.7, "high": 0.9, "confidence": 0.95,
                    "runs_num": 5, "runs_den": 5,
                    "num_record": "after", "num_metric": "wall.median", "den_record": "baseline",
                    "pairing": "interleaved"
                }],
                "details": [
                    "over budget in `after`: t.py::slow 0.25 s > 0.10 s (tests), 0.15 s over",
                    "coverage of `after`: 78.57% (3 of 14 statements missed); least covered: shop/tax.py 50.0%, shop/cart.py 90.0%"
                ],
                "line": 12,
                "tests": [
                    {"id": "t.py::a", "record": "after", "outcome": "failed"},
                    {"id": "t.py::b", "record": "after", "outcome": "flaky"}
                ]
            })
        );
    }

    /// Each way a run ends keeps its name in the report; the net change keeps its figures.
    #[test]
    fn endings_and_changes_read_in_the_report_as_before() {
        let names: Vec<serde_json::Value> = [
            Ending::Passed,
            Ending::GateFailed,
            Ending::StepFailed,
            Ending::Interrupted,
            Ending::RollbackFailed,
            Ending::Inconclusive,
            Ending::BaselineRed,
        ]
        .into_iter()
        .map(|e| serde_json::to_value(RunStatus::from(e)).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "passed",
                "gate-failed",
                "step-failed",
                "interrupted",
                "rollback-failed",
                "inconclusive",
                "baseline-red"
            ]
        );
        let stat = DiffStatReport::from(DiffStat {
            files: 2,
            insertions: 5,
            deletions: 1,
        });
        assert_eq!((stat.files, stat.insertions, stat.deletions), (2, 5, 1));
        let diff = FileDiff::from(&FileChange {
            path: "setup.cfg".into(),
            diff: "--- a/setup.cfg\n".into(),
            truncated: true,
        });
        assert_eq!(
            serde_json::to_value(diff).unwrap(),
            serde_json::json!({"path": "setup.cfg", "diff": "--- a/setup.cfg\n", "truncated": true})
        );
    }
}
