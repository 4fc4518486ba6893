//! What an apply comes to, as domain values the executor emits and `report/` folds: each gate's
//! verdict, the net change of the target's files, how the run ended, and the stage it ran at.

pub mod change;
pub mod end;
pub mod stage;
pub mod verdict;
