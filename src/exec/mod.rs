//! Executing a plan: setup, the scheduler, processes, the actions, gates, dry-run, and the apply.

pub mod actions;
pub mod apply;
pub mod baseline;
pub mod caplog;
pub mod dryrun;
pub mod edits;
pub mod finish;
pub mod gates;
pub mod orphans;
pub mod process;
pub mod progress;
pub mod scheduler;
pub mod setup;
pub mod signals;
