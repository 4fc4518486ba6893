//! Measuring test suites: repeated timed runs, junit results, memory, statistics.

pub mod proctree;
pub mod rss;
