//! Executing a compiled plan: the scheduler runs steps (actions) as workers that emit events;
//! the dispatcher decides gates and hands every event to one [`output::Output`] (report/ folds
//! them, the sinks show and store them); services run beside the steps; plus the dry-run
//! preview.

pub mod action;
pub mod applied;
pub mod apply;
pub mod baseline;
pub mod changes;
pub mod context;
pub mod dryrun;
pub mod edits;
pub mod events;
pub mod failure;
pub mod gates;
pub mod interleave;
pub mod known;
pub mod outcome;
pub mod output;
pub mod planned;
pub mod red;
pub mod refusal;
pub mod relock;
pub mod rollback;
pub mod scheduler;
pub mod services;
pub mod setup;
pub mod steplog;
pub mod testsets;
pub mod uvpin;
