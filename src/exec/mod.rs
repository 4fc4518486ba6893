//! Executing a compiled plan: the scheduler runs steps (actions) as workers that emit events;
//! one fold keeps the run's state and sinks show and store it; services run beside the steps;
//! plus the dry-run preview.

pub mod actions;
pub mod apply;
pub mod baseline;
pub mod context;
pub mod dryrun;
pub mod edits;
pub mod eventlog;
pub mod events;
pub mod failure;
pub mod gates;
pub mod interleave;
pub mod known;
pub mod progress;
pub mod red;
pub mod relock;
pub mod scheduler;
pub mod services;
pub mod setup;
pub mod sink;
pub mod sinks;
pub mod state;
pub mod steplog;
pub mod testsets;
pub mod uvpin;
