//! The actions a step can take, as one trait, and the registry: the one place that sends a
//! compiled step to its action's module. Each module under `action/` holds everything the
//! executor, the dry run and the scheduler ask of its action.
//!
//! Adding an action: its written fields in `plan/model.rs` (the plan language and its schema),
//! registered in `plan/shape.rs`'s `with_step!`; what the plan layer reads of it (interpolated
//! strings, paths), its compiled type and its compile in `plan/action/NAME.rs`, registered in
//! `plan/compiled.rs`; what it does in `exec/action/NAME.rs`, registered in [`of`]. The compiler
//! names every one of these matches (none has a catch-all), and `action_layout_tests` keeps
//! variant matches of compiled steps out of other files.

use crate::exec::edits::{EditStepError, FileChange, Inputs};
use crate::exec::events::StepOutput;
use crate::exec::failure::StepError;
use crate::exec::planned::StepPreview;
use crate::plan::compiled::Step;

pub mod edit;
pub mod install;
pub mod mark;
pub mod run;
pub mod service;
pub mod suite;
pub mod writes;

/// What a step's execution comes to.
pub type StepResult = Result<StepOutput, StepError>;

/// What a step reads of the run so far, besides its own step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reads {
    /// Nothing: it depends only on the target.
    #[default]
    Nothing,
    /// The records measured so far.
    Records,
    /// The records so far and the earlier record a gate compares its own with, to be
    /// measured in pairs with it.
    RecordsAndPartner,
}

/// How the scheduler may run a step beside the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Runs with nothing else running (a timed suite: a neighbour would skew its times).
    pub exclusive: bool,
    /// Never runs beside another serial step (it edits files or an environment).
    pub serial: bool,
    /// What it reads of the run so far.
    pub reads: Reads,
}

/// What every action is: how it is scheduled, run, and previewed, and what it writes.
pub trait Action {
    /// How the scheduler runs it.
    fn schedule(&self) -> Schedule;

    /// Runs it for real: journal first, then change the world.
    fn execute(&self, ctx: &crate::exec::context::StepContext<'_>) -> StepResult;

    /// Adds what it would do to the dry run: its lines and its counts, before its file diffs.
    fn preview(&self, p: &mut StepPreview<'_>);

    /// The file changes it makes, computed purely from what the files hold now; dry run and
    /// apply both call it, so the preview and the change cannot disagree.
    fn files(&self, _inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
        Ok(Vec::new())
    }

    /// It edits the file pytest reads its configuration from (found only when it runs).
    fn edits_pytest_config(&self) -> bool {
        false
    }

    /// A lock file beside a requirements file it changes is relocked by the lock's own tool.
    fn relocks(&self) -> bool {
        false
    }

    /// It runs the interpreter `python` names (an install into it, a command that names it):
    /// the dry run's header says which environment that is.
    fn uses_python(&self, _python: &str) -> bool {
        false
    }

    /// Why the target cannot be switched across it to measure two records in pairs, when it
    /// cannot (it has effects the journal does not hold).
    fn unswitchable(&self) -> Option<String> {
        None
    }
}

/// `of`, written from the registry of actions (`plan::compiled::for_each_action`).
macro_rules! action_of {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// The action of a compiled step.
        pub fn of(step: &Step) -> &dyn Action {
            match step {
                $(Step::$variant(s) => s,)*
            }
        }
    };
}

crate::plan::compiled::for_each_action!(action_of);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each action's rules, asked of the action itself: a timed suite runs alone and reads the
    /// records and its partner; edits, marks and installs run one at a time; only `run` steps
    /// with effects outside the journal and services keep the target from being switched.
    #[test]
    fn each_action_gives_its_own_scheduling_and_switching_rules() {
        let plan = crate::plan::action::every_action();
        let rules: Vec<(&str, bool, bool, Reads, bool, bool, bool)> = plan
            .steps()
            .map(|(_, step)| {
                let a = of(step);
                let s = a.schedule();
                (
                    step.id(),
                    s.exclusive,
                    s.serial,
                    s.reads,
                    a.edits_pytest_config(),
                    a.relocks(),
                    a.unswitchable().is_some(),
                )
            })
            .collect();
        use Reads::*;
        assert_eq!(
            rules,
            [
                ("r", false, false, Nothing, false, false, true),
                ("i", false, true, Nothing, false, true, false),
                ("w", false, true, Nothing, false, false, false),
                ("re", false, true, Nothing, false, false, false),
                ("in", false, true, Nothing, false, false, false),
                ("to", false, true, Nothing, false, false, false),
                ("pc", false, true, Nothing, true, false, false),
                ("s", true, false, RecordsAndPartner, false, false, false),
                ("m", false, true, Records, true, false, false),
                ("db", false, false, Nothing, false, false, true),
            ]
        );
    }
}
