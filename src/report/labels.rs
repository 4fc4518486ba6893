//! How each status reads to a person: one word and one icon per state, shared by every renderer.

use super::model::{GateStatus, RollbackInfo, RunStatus, StepStatus};

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
        }
    }

    /// An icon for the verdict.
    pub fn icon(self) -> &'static str {
        match self {
            RunStatus::Running => "⏳",
            RunStatus::Passed => "✅",
            RunStatus::GateFailed | RunStatus::StepFailed | RunStatus::RollbackFailed => "❌",
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
