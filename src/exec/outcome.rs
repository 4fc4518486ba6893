//! What a step came to and what it is doing, as data (counts, names, durations): the progress
//! inside a step and the outcome a step that succeeded leaves. `report::words` says them.

use std::time::Duration;

/// A duration as seconds, the way the reports write every time.
fn seconds<S: serde::Serializer, D: Into<Option<Duration>> + Copy>(
    d: &D,
    s: S,
) -> Result<S::Ok, S::Error> {
    match (*d).into() {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Progress inside a running step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Detail {
    /// A suite's run began (`took` none) or ended.
    Run {
        /// A warmup run, not counted.
        warmup: bool,
        /// Its number, from 1.
        index: u32,
        /// The most of its kind there will be.
        of: u32,
        /// How many of its kind it takes at least: `of` for a fixed count, fewer for an adaptive
        /// suite that may stop early.
        expected: u32,
        /// How long it took, once it ended (seconds in JSON).
        #[serde(serialize_with = "seconds")]
        took: Option<Duration>,
        /// How long a run took in the earlier record this suite is compared with (seconds in
        /// JSON), for an estimate before its own runs have ended.
        #[serde(serialize_with = "seconds", skip_serializing_if = "Option::is_none")]
        typical: Option<Duration>,
        /// When it starts, the files a pytest run reports its tests' outcomes to as they end
        /// (one, or one per shard of a sharded run): paths of this run only, not logged.
        #[serde(skip)]
        live: Vec<std::path::PathBuf>,
    },
    /// The suite is measured on its own, not in pairs with the record it is compared with.
    Sequential {
        /// Why (the reason its record's comparison keeps).
        reason: String,
    },
    /// The suite is measured in interleaved pairs with an earlier record.
    Interleaved {
        /// The earlier record.
        with: String,
        /// The seed of the pairs' order.
        seed: u64,
        /// Files switched between the two states.
        files: usize,
        /// Environment paths switched between the two states.
        env_paths: usize,
        /// The pairs it takes at least, and at most.
        pairs: (u32, u32),
        /// How long a pair should take from the earlier record's runs (seconds in JSON).
        #[serde(serialize_with = "seconds", skip_serializing_if = "Option::is_none")]
        typical: Option<Duration>,
    },
    /// A run of an interleaved pair began, in one of the two states.
    PairRun {
        /// The pair's number, from 1.
        index: u32,
        /// The record the run is for: the earlier one (the state before the changes) or this
        /// suite's.
        record: String,
        /// The files a pytest run reports its tests' outcomes to as they end (one per shard of
        /// a sharded suite): paths of this run only, not logged.
        #[serde(skip)]
        live: Vec<std::path::PathBuf>,
    },
    /// One interleaved pair ended.
    Pair {
        /// Its number, from 1.
        index: u32,
        /// The most pairs there will be.
        of: u32,
        /// How many pairs it takes at least.
        expected: u32,
        /// The earlier record ran first.
        before_first: bool,
        /// The earlier record's name and wall time in seconds.
        partner: (String, f64),
        /// The earlier record's run is its last run before the changes, not a fresh one.
        reused: bool,
        /// This suite's record name and wall time in seconds.
        record: (String, f64),
    },
}

impl Detail {
    /// Whether it is worth a line of its own in plain output (something ended or was decided),
    /// rather than only the status line.
    pub fn milestone(&self) -> bool {
        !matches!(
            self,
            Detail::Run { took: None, .. } | Detail::PairRun { .. }
        )
    }
}

/// What a step that succeeded came to, for its closing line and the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Note {
    /// An install.
    Install {
        /// The venv it created first, target-relative.
        created: Option<String>,
        /// The packages.
        packages: Vec<String>,
        /// The installer: `uv` or `pip`.
        tool: &'static str,
        /// Whether the installer changed anything (else all was installed already).
        changed: bool,
        /// What the relock of a lock file did, when there was one.
        relock: Vec<Relock>,
    },
    /// A service became ready.
    ServiceReady {
        /// After how long (seconds in JSON).
        #[serde(serialize_with = "seconds")]
        took: Duration,
        /// Its port, when planrun picked one.
        port: Option<String>,
        /// The variables it gives the steps that need it.
        exports: Vec<String>,
    },
    /// A suite measured its record.
    Suite {
        /// Median wall time, seconds.
        median: f64,
        /// Its standard deviation, for a pytest suite.
        stddev: Option<f64>,
        /// Tests passed and failed, for a pytest suite.
        tests: Option<(u64, u64)>,
        /// Tests over their budget, when the step has budgets.
        over_budget: Option<usize>,
        /// Line coverage, percent.
        coverage: Option<f64>,
    },
    /// A suite's record was taken from a saved baseline instead.
    FromBaseline {
        /// The record name.
        record: String,
        /// The saved baseline.
        source: String,
    },
}

/// What relocking a lock file after an install did beyond the plain relock.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Relock {
    /// Another uv than the one found relocked, to meet the project's pin or lock revision.
    WithUv {
        /// The specifier of the uv used.
        spec: String,
        /// Why.
        why: crate::edit::locks::UvReason,
    },
    /// `uv.lock`'s revision changed.
    RevisionMoved {
        /// Before.
        old: u32,
        /// After.
        new: u32,
    },
}
