//! Promotion: whether a stage's history lets the next stage be applied, criterion by
//! criterion, with the numbers.

use super::window::Window;
use crate::plan::stages::Stage;
pub use crate::report::model::{CriterionVerdict, Promotion};

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
