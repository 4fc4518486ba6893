//! The rollout stage an apply runs at, and the previous stage's promotion as decided before it
//! (from the history): decided before anything runs, carried into the report as it is.

use serde::{Deserialize, Serialize};

/// The stage an apply ran at, and how it was entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StageReport {
    /// The stage id.
    pub id: String,
    /// Entered with `--force` although the previous stage's promotion did not hold.
    #[serde(default)]
    pub forced: bool,
    /// The previous stage's promotion, as decided before the apply (absent for the first stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
}

/// One promotion criterion, decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionVerdict {
    /// The check.
    pub check: String,
    /// Why it is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Whether it holds.
    pub pass: bool,
    /// The check with its values (`history.runs 3 >= 10`), or why it has none.
    pub explanation: String,
}

/// A stage's promotion, decided over its window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// The stage whose history was read.
    pub stage: String,
    /// Runs of that stage in the window.
    pub runs: usize,
    /// Each criterion.
    pub criteria: Vec<CriterionVerdict>,
}

impl Promotion {
    /// Whether every criterion holds.
    pub fn holds(&self) -> bool {
        self.criteria.iter().all(|c| c.pass)
    }

    /// The criteria that do not hold, as one line each.
    pub fn failures(&self) -> Vec<String> {
        self.criteria
            .iter()
            .filter(|c| !c.pass)
            .map(|c| match &c.why {
                Some(why) => format!("{} ({why})", c.explanation),
                None => c.explanation.clone(),
            })
            .collect()
    }
}
