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
            explanation: v.explanation.clone(),
            values: v.values.clone(),
            message: v.message.clone(),
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
