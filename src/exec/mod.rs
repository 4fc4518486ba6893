//! Executing a plan: the scheduler, one module per action, and the apply orchestration.

pub mod scheduler;
