//! Measuring test suites: repeated timed runs, junit results, memory, statistics.

pub mod balance;
pub mod budget;
pub mod budget_glob;
pub mod coverage;
pub mod drift;
pub mod framework;
pub mod interval;
pub mod junit;
pub mod live;
pub mod mask;
pub mod outliers;
pub mod paired;
pub mod pairs;
pub mod record;
pub mod shard;
pub mod shard_figures;
pub mod shard_merge;
pub mod sim;
pub mod stats;
pub mod student_t;
pub mod suite;
