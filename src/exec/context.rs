//! What a step sees while it runs: the prepared plan and target, the journal, where its logs go,
//! the cancel flag, and the channel its progress events take. Nothing in it is shared state a
//! step could change for another: the journal is the run's storage, and events are the only
//! way a step reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::exec::events::Event;
use crate::exec::scheduler::Emitter;
use crate::exec::services::Services;
use crate::exec::setup::Prepared;
use crate::journal::record::Journal;
use crate::measure::record::Record;
use crate::plan::compiled::Suite;
use crate::process::Control;

/// Everything the command line decides about an apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Parallel steps at most.
    pub jobs: usize,
    /// CI mode: no animation, step summary, annotations, failed steps' logs folded.
    pub ci: bool,
    /// A `::notice` for each passing gate too.
    pub annotate_passing: bool,
    /// Print the JSON report on stdout.
    pub json: bool,
    /// Copy reports here too.
    pub report_dir: Option<PathBuf>,
    /// Save the baseline record under this name.
    pub save_baseline: Option<String>,
    /// Use this saved baseline record instead of measuring.
    pub baseline: Option<String>,
    /// Tests (or `*` patterns) known to fail in every baseline, from `--known-failures FILE`.
    pub known_failures: Vec<String>,
    /// `--accept-baseline-failures`: whatever fails in a baseline is known.
    pub accept_baseline_failures: bool,
    /// Apply even when the same plan's last apply here is still in effect.
    pub reapply: bool,
    /// The history file this apply appends its line to.
    pub history: Option<PathBuf>,
    /// The stage applied and how it was entered.
    pub stage: Option<crate::run::stage::StageReport>,
    /// `--shard i/N`: the one shard of each sharded suite this apply runs.
    pub shard: Option<crate::measure::shard::Slice>,
}

/// The context of one step.
pub struct StepContext<'a> {
    /// The prepared plan and target.
    pub prep: &'a Prepared,
    /// The options of this apply.
    pub opts: &'a ApplyOptions,
    /// The journal of this run.
    pub journal: &'a Journal,
    /// `.planrun/runs/<run-id>/`.
    pub run_dir: &'a Path,
    /// Set by SIGINT/SIGTERM, which commands watch; records the process groups they start.
    pub control: &'a Control,
    /// Where the step's progress goes.
    pub emit: &'a Emitter<Event>,
    /// The records measured before this step started (given to adaptive suites, whose gates
    /// read them).
    pub records: &'a BTreeMap<String, Record>,
    /// The services running for this apply; a `service` step adds its own.
    pub services: &'a Services,
    /// For a suite compared with a record measured before the changes since: that record, to
    /// measure in interleaved pairs with it.
    pub partner: Option<&'a Partner>,
}

/// The earlier record a suite is compared with, and what happened since it was measured.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Its name.
    pub record: String,
    /// The suite step that measured it.
    pub step: Suite,
    /// The record as it stands.
    pub measured: Record,
    /// The journal's last entry when it was measured; `None` when it was not measured in this
    /// apply (a saved baseline).
    pub mark: Option<u32>,
    /// When the step that measured it ended, when that was in this apply.
    pub ended: Option<std::time::Instant>,
    /// The steps that finished since, in order.
    pub since: Vec<String>,
}

impl StepContext<'_> {
    /// `path` relative to the target, as reports show it.
    pub fn target_rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.prep.target)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}
