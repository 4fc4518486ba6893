//! How an apply ended, as the dispatcher decides it (a report adds "still running").

/// How an apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every step succeeded and every gate passed (or only warned).
    Passed,
    /// A gate failed; the target was rolled back.
    GateFailed,
    /// A step failed; the target was rolled back.
    StepFailed,
    /// Interrupted by a signal; the target was rolled back.
    Interrupted,
    /// Rolling back failed; the journal was kept.
    RollbackFailed,
    /// A gate could not be settled by the measurements; the target was rolled back.
    Inconclusive,
    /// The baseline was red: nothing of the plan's changes was kept.
    BaselineRed,
}
