//! What one apply did, as a flat serializable value: every report format reads this and only this.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::measure::record::Record;
pub use crate::run::stage::{CriterionVerdict, Promotion, StageReport};

/// The report of one apply (or dry run), rewritten after every step so a crash leaves a valid file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// Version of this format.
    pub format_version: u32,
    /// The run id, also the directory name under `.planrun/runs/`.
    pub run_id: String,
    /// The plan that ran.
    pub plan: PlanInfo,
    /// The target repository (absolute path).
    pub target: String,
    /// The machine it ran on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// When the run ended (RFC 3339, UTC); absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Wall time of the whole run so far, in seconds.
    pub duration_s: f64,
    /// Where the run stands.
    pub status: RunStatus,
    /// The process exit code; absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// Variables after `--var` overrides.
    pub vars: BTreeMap<String, String>,
    /// Every step, in execution order.
    pub steps: Vec<StepReport>,
    /// Suite records by name, as the suite steps made them (or a saved baseline held them).
    pub records: BTreeMap<String, Record>,
    /// Records that came from a saved baseline instead of a measurement: record name -> source.
    #[serde(default)]
    pub baselines_used: BTreeMap<String, String>,
    /// Every gate, in plan order.
    pub gates: Vec<GateReport>,
    /// Lines changed in the target's files.
    pub diffstat: DiffStatReport,
    /// The net change of each file, as a unified diff, taken before any rollback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FileDiff>,
    /// What was rolled back, when the run was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackInfo>,
    /// The rollout stage applied, for a plan with stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageReport>,
}

/// The plan that ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PlanInfo {
    /// The plan's `name`.
    pub name: String,
    /// The plan's `description`.
    pub description: String,
    /// The plan file as given on the command line.
    pub path: String,
    /// The hash of the plan file, its variables (secrets masked) and the stage: the same in
    /// every job of a CI matrix that applied the same plan alike.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Still running (or killed: the journal says which).
    #[default]
    Running,
    /// Every step succeeded and every gate passed (or only warned).
    Passed,
    /// A gate failed; the target was rolled back.
    GateFailed,
    /// A step failed; the target was rolled back.
    StepFailed,
    /// Interrupted by a signal; the target was rolled back.
    Interrupted,
    /// Rolling back failed; the journal was kept.
    RollbackFailed,
    /// A gate could not be settled by the measurements; the target was rolled back.
    Inconclusive,
    /// The baseline was red (no test ran, collection errors, failures not declared known);
    /// nothing of the plan's changes was kept.
    BaselineRed,
}

/// One step's fate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StepReport {
    /// The step id.
    pub id: String,
    /// The id of its phase.
    pub phase: String,
    /// The action name (`run`, `suite`, ...).
    pub action: String,
    /// Where it stands.
    pub status: StepStatus,
    /// Seconds from the start of the run to the start of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_s: Option<f64>,
    /// How long it took, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Its log file (relative to the target), for steps that run commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// What went wrong, or a short note of what it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Target-relative files this step changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// Not started yet.
    #[default]
    Pending,
    /// Running now.
    Running,
    /// Succeeded.
    Ok,
    /// Succeeded without changing anything (an edit already in place).
    Unchanged,
    /// Failed.
    Failed,
    /// Never ran: an earlier failure stopped the run.
    Skipped,
}

/// One gate's verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GateReport {
    /// The id of the phase the gate belongs to.
    pub phase: String,
    /// The expression, after `${var}` interpolation.
    pub check: String,
    /// Why the gate matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// `rollback` or `warn`.
    pub on_fail: String,
    /// `rollback` or `keep`: what an inconclusive verdict does.
    #[serde(default = "rollback")]
    pub on_inconclusive: String,
    /// The verdict.
    pub status: GateStatus,
    /// The expression with every metric's value substituted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Each metric the gate read and its value.
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
    /// Why the gate could not be evaluated (e.g. a metric no run produced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The ratio of two records' times the gate compared, with its confidence interval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<IntervalReport>,
    /// What stands behind a verdict that did not pass, one line each: the tests over budget
    /// (slowest first, by how much), the files with the least coverage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The line of its `check` in the plan file (1-based), where annotations point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The tests behind a failed verdict on test counts: those that failed, errored or were
    /// flaky in a record the gate reads (new ones first: not failing in the other records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<GateTest>,
}

/// A test a gate's verdict names; its failure's text is in the record's `failures`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GateTest {
    /// pytest's id of the test.
    pub id: String,
    /// The record it failed in.
    pub record: String,
    /// `failed`, `error` or `flaky`.
    pub outcome: String,
}

fn rollback() -> String {
    "rollback".into()
}

/// A ratio of two records' per-run metric with its confidence interval.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IntervalReport {
    /// What is compared, e.g. `after.wall.median / baseline.wall.median`.
    pub ratio: String,
    /// The estimate.
    pub estimate: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
    /// The confidence, e.g. 0.95.
    pub confidence: f64,
    /// Counted runs of the numerator's record.
    pub runs_num: usize,
    /// Counted runs of the denominator's record.
    pub runs_den: usize,
    /// The numerator's record, e.g. `after` (empty in reports of older planruns).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub num_record: String,
    /// The numerator's metric, e.g. `wall.median`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub num_metric: String,
    /// The denominator's record, e.g. `baseline`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub den_record: String,
    /// How the two records were measured: `interleaved` (the estimate is the paired one) or
    /// `sequential` (one after the other); absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<String>,
}

/// A gate's verdict.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum GateStatus {
    /// Not reached (an earlier failure stopped the run).
    #[default]
    NotEvaluated,
    /// The criterion holds.
    Pass,
    /// The criterion does not hold; the run was rolled back.
    Fail,
    /// The criterion does not hold, but the gate only warns.
    Warn,
    /// The criterion could not be evaluated; counts as a failure.
    Error,
    /// The measurements cannot settle it: the interval straddles the threshold.
    Inconclusive,
}

/// Lines changed in the target's files.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiffStatReport {
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
}

/// The net change of one file the run changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileDiff {
    /// The file, relative to the target.
    pub path: String,
    /// Its unified diff (`--- a/`, `+++ b/`, hunks), cut at a line when it is very long.
    pub diff: String,
    /// Whether `diff` was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// What a rollback did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RollbackInfo {
    /// Why the run was rolled back.
    pub reason: String,
    /// Whether the rollback completed.
    pub ok: bool,
    /// Files restored to their before-image.
    pub restored: Vec<String>,
    /// Files (and directories) the plan created, now deleted.
    pub deleted: Vec<String>,
    /// Python environments put back to their package set.
    pub environments: Vec<String>,
    /// What went wrong during the rollback, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
