//! Why a baseline is refused, as data, and what to do about it: shared by the check that refuses
//! it (`red`) and the failure a step reports (`failure`).

/// How many ids a message names before it says "and N more".
pub const NAMED: usize = 8;

/// Why a baseline is refused: each problem, and the failing tests not declared known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The record name.
    pub record: String,
    /// The suite step that measured it.
    pub step: String,
    /// What is wrong, one sentence fragment each.
    pub problems: Vec<String>,
    /// The failing tests that were not declared known (for the hint).
    pub unknown: Vec<String>,
    /// The suite could not be run as a suite at all (no test, collection errors).
    pub broken: bool,
}

impl Refusal {
    /// The step's failure message: what is wrong, then what to do.
    pub fn message(&self) -> String {
        let mut text = format!(
            "baseline `{}` is red: refusing to change the target before it is worth comparing with",
            self.record
        );
        for p in &self.problems {
            text.push_str("\n  - ");
            text.push_str(p);
        }
        text.push_str("\nhint: ");
        text.push_str(&self.hint());
        text
    }

    /// What to do about it.
    fn hint(&self) -> String {
        if self.broken {
            return "fix the suite so that it collects and runs tests as the repository is (run its command by hand), then apply again".into();
        }
        let ids: Vec<String> = self
            .unknown
            .iter()
            .take(NAMED)
            .map(|id| format!("{id:?}"))
            .collect();
        format!(
            "fix the failing tests first, or declare them known: `known_failures = [{}]` on step `{}`, `--known-failures FILE` (one id a line), or `--accept-baseline-failures`; gates then allow no new failure",
            ids.join(", "),
            self.step
        )
    }
}
