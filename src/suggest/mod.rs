//! `planrun suggest`: profile a suite once, say where its time goes, predict what each change
//! would save, and write the plan that verifies the best one.

pub mod account;
pub mod analyze;
pub mod backend;
pub mod coverage;
pub mod django;
pub mod in_memory;
pub mod opportunity;
pub mod parallel;
pub mod profile;
pub mod render;
pub mod run;
pub mod tiers;
pub mod write;
