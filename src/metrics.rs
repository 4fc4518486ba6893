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
    "shards",
    "balance",
    "shard_wall.min",
    "shard_wall.max",
];

/// The per-record metrics a run history line keeps, which `history.<record>.<metric>` reads.
pub const HISTORY_RECORD: &[&str] = &[
    "runs",
    "tests",
    "passed",
    "failed",
    "errors",
    "flaky",
    "runs_green",
    "wall.median",
    "rss_peak_mb",
    "cpu_seconds",
];

/// The metrics of a stage's history window (`history.green_streak`), besides
/// `history.<record>.<metric>`.
pub const HISTORY: &[&str] = &[
    "runs",
    "green",
    "failed",
    "green_streak",
    "fail_rate",
    "forced",
    "unreadable",
    "wall.min",
    "wall.median",
    "wall.max",
];

/// Whether `metric` (without `history.`) names something a history window answers for a plan
/// whose suites record `records`.
pub fn history_known(metric: &str, records: &[&str]) -> bool {
    HISTORY.contains(&metric)
        || metric
            .split_once('.')
            .is_some_and(|(r, m)| records.contains(&r) && HISTORY_RECORD.contains(&m))
}
