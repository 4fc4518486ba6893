//! What a sharded suite records of its shards: each shard's part of a run, and the figures a
//! record keeps (each shard's wall and CPU, how evenly they shared the work).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One shard's part of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    /// The shard, from 1.
    pub shard: u32,
    /// Its wall seconds.
    pub wall: f64,
    /// Its CPU seconds (user and system).
    pub cpu_seconds: f64,
    /// The tests it ran.
    pub tests: u64,
    /// Its log.
    pub log: PathBuf,
}

/// What a sharded record says of its shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFigures {
    /// How many shards the suite was split into.
    pub count: u32,
    /// The one shard this record ran (`--shard i/N`, from 1): a part for `planrun report
    /// merge`, whose `wall` is that shard's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<u32>,
    /// Each shard's median wall seconds over the counted runs, shard 1 first.
    pub walls: Vec<f64>,
    /// Each shard's median CPU seconds over the counted runs.
    pub cpu: Vec<f64>,
    /// Each counted run's shard walls, in run order (what a merge pairs up).
    pub runs: Vec<Vec<f64>>,
    /// How evenly the shards shared the work: the ideal wall (the shards' mean) over the
    /// slowest shard's, the median over the counted runs; none for one shard of a matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<f64>,
    /// Where the durations that balanced the shards came from; none: an even split by count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations: Option<String>,
    /// The tests the shards were chosen from (a part's, for the merge to check the union).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collected: Vec<String>,
}
