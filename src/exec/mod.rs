//! Executing a plan: setup, the scheduler, the actions, gates, dry-run, and the apply.

pub mod actions;
pub mod apply;
pub mod baseline;
pub mod dryrun;
pub mod edits;
pub mod finish;
pub mod gates;
pub mod progress;
pub mod scheduler;
pub mod setup;
