//! What an apply comes to, as domain values the executor emits and `report/` folds: each gate's
//! verdict, the net change of the target's files, and how the run ended.

pub mod change;
pub mod end;
pub mod verdict;
