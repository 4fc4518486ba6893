//! How each status reads to a person: one word and one icon per state, and the tests a gate
//! names as one phrase, shared by every renderer.

use super::model::{
    GateReport, GateStatus, GateTest, RollbackInfo, RunReport, RunStatus, StepStatus,
};
use crate::measure::record::TestFailure;

/// At most this many tests a gate's one-line message names.
pub const TESTS_NAMED: usize = 5;

impl GateTest {
    /// `tests/test_a.py::test_x failed in after`.
    pub fn phrase(&self) -> String {
        format!("{} {} in {}", self.id, self.outcome, self.record)
    }
}

impl GateReport {
    /// `tests: a failed in after, b flaky in after and 3 more`; `None` when it names no test.
    pub fn tests_phrase(&self) -> Option<String> {
        if self.tests.is_empty() {
            return None;
        }
        let named: Vec<String> = self
            .tests
            .iter()
            .take(TESTS_NAMED)
            .map(GateTest::phrase)
            .collect();
        let more = self.tests.len().saturating_sub(TESTS_NAMED);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(format!("tests: {}{more}", named.join(", ")))
    }
}

impl RunReport {
    /// What record `record` knows of test `id`'s failure: its file, line, message and text.
    pub fn failure(&self, record: &str, id: &str) -> Option<&TestFailure> {
        self.records
            .get(record)?
            .failures
            .iter()
            .find(|f| f.id == id)
    }
}

impl RunStatus {
    /// The overall verdict as a short phrase, e.g. `gate failed, rolled back`.
    pub fn phrase(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Passed => "passed",
            RunStatus::GateFailed => "gate failed, rolled back",
            RunStatus::StepFailed => "step failed, rolled back",
            RunStatus::Interrupted => "interrupted, rolled back",
            RunStatus::RollbackFailed => "rollback failed, journal kept",
            RunStatus::Inconclusive => "inconclusive, rolled back",
            RunStatus::BaselineRed => "baseline red, nothing kept",
        }
    }

    /// An icon for the verdict.
    pub fn icon(self) -> &'static str {
        match self {
            RunStatus::Running => "⏳",
            RunStatus::Passed => "✅",
            RunStatus::GateFailed
            | RunStatus::StepFailed
            | RunStatus::RollbackFailed
            | RunStatus::BaselineRed => "❌",
            RunStatus::Interrupted | RunStatus::Inconclusive => "⚠️",
        }
    }
}

impl StepStatus {
    /// The status as one word.
    pub fn word(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Ok => "ok",
            StepStatus::Unchanged => "unchanged",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    /// An icon for the status.
    pub fn icon(self) -> &'static str {
        match self {
            StepStatus::Pending | StepStatus::Running => "⏳",
            StepStatus::Ok => "✅",
            StepStatus::Unchanged => "➖",
            StepStatus::Failed => "❌",
            StepStatus::Skipped => "⏭️",
        }
    }
}

impl GateStatus {
    /// The verdict as one word (or two).
    pub fn word(self) -> &'static str {
        match self {
            GateStatus::NotEvaluated => "not evaluated",
            GateStatus::Pass => "pass",
            GateStatus::Fail => "fail",
            GateStatus::Warn => "warn",
            GateStatus::Error => "error",
            GateStatus::Inconclusive => "inconclusive",
        }
    }

    /// An icon for the verdict.
    pub fn icon(self) -> &'static str {
        match self {
            GateStatus::NotEvaluated => "⏭️",
            GateStatus::Pass => "✅",
            GateStatus::Fail => "❌",
            GateStatus::Warn => "⚠️",
            GateStatus::Error => "💥",
            GateStatus::Inconclusive => "❔",
        }
    }
}

impl RollbackInfo {
    /// What the rollback put back, each list with its label, in the order reports show them.
    pub fn lists(&self) -> [(&'static str, &[String]); 3] {
        [
            ("restored", &self.restored),
            ("deleted", &self.deleted),
            ("environments", &self.environments),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_names_its_first_tests() {
        let mut gate = crate::report::fixture::sample().gates[0].clone();
        assert_eq!(
            gate.tests_phrase().as_deref(),
            Some("tests: tests/test_auth.py::test_empty_password_is_refused failed in after, tests/test_cart.py::test_total flaky in after")
        );
        let test = gate.tests[0].clone();
        gate.tests = vec![test; 7];
        assert!(gate
            .tests_phrase()
            .unwrap()
            .ends_with("failed in after and 2 more"));
        gate.tests.clear();
        assert_eq!(gate.tests_phrase(), None);
    }

    #[test]
    fn failed_runs_say_they_were_rolled_back() {
        assert_eq!(RunStatus::GateFailed.phrase(), "gate failed, rolled back");
        assert_eq!(RunStatus::GateFailed.icon(), "❌");
        assert_eq!(RunStatus::Passed.icon(), "✅");
    }

    #[test]
    fn every_status_has_a_distinct_word() {
        let steps = [
            StepStatus::Pending,
            StepStatus::Running,
            StepStatus::Ok,
            StepStatus::Unchanged,
            StepStatus::Failed,
            StepStatus::Skipped,
        ];
        let mut words: Vec<_> = steps.iter().map(|s| s.word()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), steps.len());
        assert_eq!(GateStatus::NotEvaluated.word(), "not evaluated");
        assert_eq!(GateStatus::Warn.icon(), "⚠️");
    }
}
