//! Measuring test suites: repeated timed runs, junit results, memory, statistics.

pub mod interval;
pub mod junit;
pub mod outliers;
pub mod proctree;
pub mod record;
pub mod rss;
pub mod stats;
pub mod student_t;
pub mod suite;
