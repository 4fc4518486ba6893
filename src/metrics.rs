//! The metric paths a suite record provides, which gates may name (`after.wall.median`): the
//! one list both the criteria language and the record that answers them read.

/// The metrics that summarise one figure per counted run (wall or CPU seconds), whose samples
/// a gate comparing two records decides on (`Record::run_samples`).
pub const PER_RUN: &[&str] = &[
    "wall.min",
    "wall.median",
    "wall.mean",
    "wall.max",
    "cpu_seconds",
];

/// Every metric path a record answers (`crate::measure::record::Record::metric`), without
/// the record's name.
pub const METRICS: &[&str] = &[
    "wall.min",
    "wall.median",
    "wall.mean",
    "wall.max",
    "wall.stddev",
    "passed",
    "failed",
    "skipped",
    "errors",
    "tests",
    "runs_green",
    "flaky",
    "slowest",
    "p95_test",
    "rss_peak_mb",
    "cpu_util",
    "cpu_seconds",
    "runs",
    "warmup",
    "over_budget",
    "coverage",
    "rss_growth_mb",
];
