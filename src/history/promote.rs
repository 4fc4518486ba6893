//! Promotion: whether a stage's history lets the next stage be applied, criterion by
//! criterion, with the numbers.

use serde::{Deserialize, Serialize};

use super::window::Window;
use crate::plan::stages::Stage;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Decides `stage`'s promotion criteria over `window`. A criterion whose history has no value
/// yet (a median of no runs) does not hold.
pub fn decide(stage: &Stage, window: &Window<'_>) -> Promotion {
    let lookup = |record: &str, metric: &str| {
        if record == "history" {
            window.metric(metric)
        } else {
            None
        }
    };
    let criteria = stage
        .promote
        .iter()
        .map(|c| match c.expr.evaluate(&lookup) {
            Ok(v) => CriterionVerdict {
                check: c.check.clone(),
                why: c.why.clone(),
                pass: v.pass,
                explanation: v.explanation,
            },
            Err(e) => CriterionVerdict {
                check: c.check.clone(),
                why: c.why.clone(),
                pass: false,
                explanation: format!("{}: {e} in the stage's history yet", c.check),
            },
        })
        .collect();
    Promotion {
        stage: stage.id.clone(),
        runs: window.runs.len(),
        criteria,
    }
}
