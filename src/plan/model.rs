//! The plan language as serde types: what a plan file may say, and nothing more.
//!
//! These types are the single source of truth: the loader deserializes them, `planrun schema`
//! derives `schemas/plan.schema.json` from them, and `compile` turns them into the types the
//! executor runs. Serde only: what code reads of them is in `shape.rs`. Every struct denies
//! unknown fields so a typo is an error, never a silently ignored key.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A whole plan file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// A short name, used in reports and the run history.
    pub name: String,
    /// What the plan does and why, in a sentence or two.
    pub description: String,
    /// The repository to run against, relative to the plan file; `--target` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_target: Option<String>,
    /// Variables for `${name}` interpolation; `--var name=value` overrides them. A variable is
    /// secret (masked as `***` in reports, annotations, the dry run and logs) when it is written
    /// `{ value = "...", secret = true }` or its name contains `token`, `secret`, `password` or
    /// `key` (any case).
    #[serde(default)]
    pub vars: BTreeMap<String, VarDef>,
    /// The phases, each a group of steps followed by its gates.
    #[serde(default, rename = "phase")]
    pub phases: Vec<Phase>,
    /// Rollout stages in order: `planrun apply --stage ID` runs the phases of every stage up to
    /// and including ID (and the phases no stage names), once the previous stage's `promote`
    /// criteria hold in the run history.
    #[serde(default, rename = "stage", skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
}

/// One rollout stage (dev, part of CI, all of CI, ...).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Unique among stages; an identifier (`--stage ID`, the history's `stage`).
    pub id: String,
    /// A human title for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The phases this stage adds to the earlier stages' phases.
    #[serde(default)]
    pub phases: Vec<String>,
    /// Environment every process of an apply at this stage (or a later one) gets, such as a
    /// feature flag; a step's own `env` wins.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Criteria over this stage's run history (`history.runs >= 10`) that must hold before the
    /// next stage may be applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote: Vec<Criterion>,
}

/// A criterion with the reason it is there.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// A criteria expression over `history.*`, e.g. `history.green_streak >= 5`.
    pub check: String,
    /// Why the criterion matters; shown with the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// One `[vars]` entry: a plain string, or a table that can mark the value secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VarDef {
    /// `python = ".venv/bin/python"`.
    Plain(String),
    /// `token = { value = "...", secret = true }`.
    Table(VarTable),
}

/// The table form of a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarTable {
    /// The value.
    pub value: String,
    /// Mask the value as `***` in everything planrun writes for people; commands still get it.
    #[serde(default)]
    pub secret: bool,
}

/// A group of steps; its gates are checked once all of its steps have finished.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique among phases.
    pub id: String,
    /// A human title for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Phases whose steps (and gates) must all have finished before this phase starts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The steps of this phase.
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    /// Criteria checked after the phase's steps.
    #[serde(default, rename = "gate")]
    pub gates: Vec<Gate>,
}

/// What a failed gate does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFail {
    /// Roll the whole apply back and exit 1.
    #[default]
    Rollback,
    /// Report the verdict, keep going, exit 0: for a new, untrusted criterion.
    Warn,
}

/// What a gate whose interval straddles its threshold does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnInconclusive {
    /// Roll the apply back (exit 7): keep nothing that was not shown to work.
    #[default]
    Rollback,
    /// Keep the change and say the gate was inconclusive (exit 0).
    Keep,
}

/// A success or rollback criterion over the recorded metrics.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// A criteria expression, e.g. `after.wall.median <= baseline.wall.median * 0.43`.
    pub check: String,
    /// Why the criterion matters; shown with the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// What a failure does (default: roll back).
    #[serde(default)]
    pub on_fail: OnFail,
    /// What a verdict the measurements cannot settle does (default: roll back).
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
}

/// Counted runs of a suite without `runs` that no statistical gate reads.
pub const DEFAULT_RUNS: u32 = 3;

/// The most counted runs `runs = "auto"` takes without `max_runs`.
pub const DEFAULT_MAX_RUNS: u32 = 10;

/// `runs = "auto"`: as many runs as the gates need.
pub const AUTO: &str = "auto";
/// `warmup = "collect"`: one pytest `--collect-only` pass stands in for the warmup runs.
pub const COLLECT: &str = "collect";

/// `shards = "matrix"`: as many shards as the CI matrix has, from `--shard i/N` (or
/// `PLANRUN_SHARD`); without either the suite runs whole.
pub const MATRIX: &str = "matrix";

/// Uncounted runs of a suite without `warmup`.
pub const DEFAULT_WARMUP: u32 = 1;

/// An integer that may also be given as a `${var}` string, resolved after interpolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrVar {
    /// A literal value.
    Int(u32),
    /// A string such as `"${runs}"`, interpolated and then parsed as an integer.
    Var(String),
}

/// Declares one step struct per action, each with the common fields followed by its own, so that
/// `deny_unknown_fields` works per action and the schema lists exactly the fields each accepts.
/// Actions that run processes (`process`) also take `timeout` and `env`; the edit actions run
/// none, so a plan that gives them either is refused instead of having it silently ignored.
macro_rules! step_struct {
    (process $(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        step_struct! {
            $(#[$meta])* $name {
                /// Longest time the step may take, e.g. `"90s"`, `"5m"`.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                timeout: Option<String>,
                /// Extra environment variables for the step's commands.
                #[serde(default)]
                env: BTreeMap<String, String>,
                $($(#[$fmeta])* $field : $ty,)*
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Unique among all steps of the plan.
            pub id: String,
            /// Steps (in any phase) that must succeed before this one runs.
            #[serde(default)]
            pub needs: Vec<String>,
            /// `false`: the target is never switched back and forth across this step to
            /// measure two records in interleaved pairs; records it lies between are measured
            /// one after the other (for a step with effects planrun does not journal).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub switchable: Option<bool>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}

step_struct! {
    process
    /// Run a shell command in the target directory.
    RunStep {
        /// The command, run with `sh -c` in the target directory.
        command: String,
        /// A command that undoes this one, run on rollback.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<String>,
        /// Files (relative to the target) the command may change; journaled before it runs.
        #[serde(default)]
        changes: Vec<String>,
    }
}

/// Which installer the `install` action uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Installer {
    /// uv when it is on PATH or in the venv, else pip.
    #[default]
    Auto,
    /// Always uv.
    Uv,
    /// Always pip.
    Pip,
}

step_struct! {
    process
    /// Ensure a virtual environment and install packages into it.
    InstallStep {
        /// Requirement specifiers, e.g. `"pytest-xdist>=3.5"`.
        packages: Vec<String>,
        /// The interpreter whose environment receives the packages, e.g. `"${python}"`. When it
        /// does not exist and has the shape `DIR/bin/python` inside the target, a venv is created
        /// at `DIR`. Default: `${python}`, the environment the plan runs in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        python: Option<String>,
        /// The interpreter that creates a missing venv (default `python3`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_python: Option<String>,
        /// Installer to use (default: uv when available, else pip).
        #[serde(default)]
        installer: Installer,
        /// Also record the requirements: a requirements file, `pyproject.toml`, or `"auto"` (where
        /// the project lists pytest: a dependency group, Poetry group, extra, requirements file
        /// or tox deps; else its dev requirements, else `requirements-dev.txt`). Requirements the
        /// project already declares are not recorded again; a lock beside a changed
        /// `pyproject.toml` is relocked by its own tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record_in: Option<String>,
        /// In `pyproject.toml`: the dependency group (PEP 735, or Poetry's) or, with `extra =
        /// true`, the optional-dependencies list to record into (default: the one holding
        /// pytest, else `dev`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// Record into `[project.optional-dependencies]` instead of `[dependency-groups]`.
        #[serde(default)]
        extra: bool,
    }
}

step_struct! {
    /// Write a file from a template beside the plan, with `${vars}` expanded.
    WriteStep {
        /// The template, relative to the plan file.
        template: String,
        /// The file to write, relative to the target.
        path: String,
        /// Unix permissions as an octal string, e.g. `"0755"` (default: keep, or `0644` for new files).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
    }
}

step_struct! {
    /// Replace text in a file; an error when the pattern matches nothing.
    ReplaceStep {
        /// The file to edit, relative to the target.
        path: String,
        /// The text (or, with `regex = true`, the regular expression) to find.
        pattern: String,
        /// The replacement; with `regex = true`, `$1`/`${name}` refer to groups.
        replacement: String,
        /// Treat `pattern` as a regular expression.
        #[serde(default)]
        regex: bool,
        /// Replace only the first match instead of all.
        #[serde(default)]
        first_only: bool,
    }
}

step_struct! {
    /// Edit keys of one section of an INI file (pytest.ini, tox.ini, setup.cfg), keeping the rest.
    IniStep {
        /// The file to edit, relative to the target; created when missing.
        path: String,
        /// The section, e.g. `pytest` or `tool:pytest`; created when missing.
        section: String,
        /// Keys to set to a value.
        #[serde(default)]
        set: BTreeMap<String, String>,
        /// Keys to remove.
        #[serde(default)]
        unset: Vec<String>,
        /// Items to append to whitespace/line separated list values (kept once).
        #[serde(default)]
        append: BTreeMap<String, Vec<String>>,
        /// Items to remove from list values.
        #[serde(default)]
        remove: BTreeMap<String, Vec<String>>,
    }
}

step_struct! {
    /// Edit keys of one table of a TOML file (e.g. pyproject.toml), formatting and comments kept.
    TomlStep {
        /// The file to edit, relative to the target; created when missing.
        path: String,
        /// The dotted table path, e.g. `tool.pytest.ini_options`; created when missing.
        table: String,
        /// Keys to set (any TOML value).
        #[serde(default)]
        set: BTreeMap<String, serde_json::Value>,
        /// Keys to remove.
        #[serde(default)]
        unset: Vec<String>,
        /// Values to append to array keys (kept once).
        #[serde(default)]
        append: BTreeMap<String, Vec<serde_json::Value>>,
        /// Values to remove from array keys.
        #[serde(default)]
        remove: BTreeMap<String, Vec<serde_json::Value>>,
    }
}

step_struct! {
    /// Edit the configuration file pytest itself reads (pytest.ini, pyproject.toml, tox.ini,
    /// setup.cfg, in pytest's order); creates pytest.ini when there is none.
    PytestConfigStep {
        /// Options to add to `addopts`; an option already present gets the new value.
        #[serde(default)]
        addopts_add: Vec<String>,
        /// Options to remove from `addopts` (with their values).
        #[serde(default)]
        addopts_remove: Vec<String>,
        /// Other ini options to set, e.g. `testpaths`.
        #[serde(default)]
        set: BTreeMap<String, String>,
        /// Marker lines to register, e.g. `"slow: takes more than a second"`.
        #[serde(default)]
        markers_add: Vec<String>,
    }
}

pub use crate::measure::framework::Framework;

step_struct! {
    process
    /// Run a test suite timed and repeated, and store its metrics as a record.
    SuiteStep {
        /// The test command, run with `sh -c` in the target directory.
        command: String,
        /// The record name gates refer to, e.g. `baseline` or `after`.
        record: String,
        /// Counted runs, at least 1, or `"auto"`: as many as the gates that read this record
        /// need to be conclusive, within `min_runs`..`max_runs` and `max_time` (default: `"auto"`
        /// when a gate compares this record's times with another record's, else 3).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        runs: Option<IntOrVar>,
        /// With `runs = "auto"`: counted runs taken before deciding (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_runs: Option<IntOrVar>,
        /// With `runs = "auto"`: the most counted runs (default 10).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_runs: Option<IntOrVar>,
        /// With `runs = "auto"`: no run starts after the counted runs have taken this long, e.g.
        /// `"10m"`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_time: Option<String>,
        /// Uncounted runs before the counted ones (default 1), or `"collect"`: one pytest
        /// `--collect-only` pass (imports and bytecode warmed, not a whole run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<IntOrVar>,
        /// How results are read (default pytest).
        #[serde(default)]
        framework: Framework,
        /// `true`: this suite measures the baseline: `--baseline` may stand in for it, and it
        /// must be worth comparing with (it ran tests, none failed but `known_failures`). A
        /// pytest suite that no edit step comes before is checked as a baseline too, unless it
        /// says `false` (a diagnosis expected to fail, not a baseline).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        baseline: Option<bool>,
        /// Tests known to fail in this baseline, by pytest id (`tests/test_x.py::test_y[1]`), a
        /// `*` in an entry matching any run of characters (`tests/legacy/*`). A baseline with
        /// a failing test not listed here stops the apply (exit 8); with them, gates compare
        /// test by test: these may still fail later, no other test may start failing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        known_failures: Vec<String>,
        /// Seconds each test's median may take, by path prefix of its pytest id
        /// (`"tests/unit" = 0.1`; a key with `/`, `::` or `.py`), by path pattern (`"**/unit" =
        /// 0.1`: the tests under any directory named `unit`), `"*"` for every test no other
        /// key covers, or by marker expression (`"slow and not db" = 5`); a test several keys
        /// cover is held to the smallest. The record's `over_budget` counts the tests over
        /// theirs, and the suite warns when a key matches no test (pytest only).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        budgets: BTreeMap<String, f64>,
        /// Run under pytest-cov (which the suite's environment must have) and record `coverage`,
        /// the percent of lines covered, with each file's figures.
        #[serde(default)]
        coverage: bool,
        /// With `coverage = true`: what to measure (`--cov=SOURCE` each); default: the project's
        /// coverage configuration (`[tool.coverage.run] source`), else everything that runs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        coverage_source: Vec<String>,
        /// Split the tests over this many pytest processes, balanced by measured durations
        /// (longest first), which run at once: the record's wall is the slowest shard's, and it
        /// gains `shards`, `balance` and each shard's wall. `"matrix"`: as many as the CI
        /// matrix has, from `planrun apply --shard i/N` (or `PLANRUN_SHARD=i/N`), the suite
        /// whole without either. With `--shard i/N` only shard i runs (pytest only, 1 to 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shards: Option<IntOrVar>,
    }
}

step_struct! {
    /// Mark each test `fast`, `medium` or `slow` from its median in a record measured earlier:
    /// registers the markers in pytest's configuration, writes the durations to a file meant to
    /// be committed, and adds a hook to a `conftest.py` that marks the tests from it.
    MarkStep {
        /// The record whose per-test durations decide, e.g. `baseline`; its suite must run
        /// before this step.
        from: String,
        /// A test whose median is below this many seconds is `fast` (default 0.1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fast: Option<f64>,
        /// A test whose median is above this many seconds is `slow` (default 1.0); between the
        /// two it is `medium`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slow: Option<f64>,
        /// The durations file, relative to the target (default `.test-durations.json`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        durations: Option<String>,
        /// The conftest that gets the marking hook, relative to the target (default
        /// `conftest.py`); created when missing, its own hooks left alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conftest: Option<String>,
    }
}

step_struct! {
    /// Start a long-running process (a database server) that runs until the apply ends.
    ServiceStep {
        /// The command, run with `sh -c` in the target directory in a process group of its own;
        /// it must stay in the foreground until it is stopped. `${service.<id>.port}` is a free
        /// TCP port and `${service.<id>.dir}` an empty directory of its own, both picked for it.
        command: String,
        /// A command (`sh -c`) tried every 200 ms until it exits 0: then the service is ready
        /// and the steps that need it may start. Without it the service is ready once started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ready: Option<String>,
        /// How long `ready` may take to succeed, e.g. `"2m"` (default 60 s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ready_timeout: Option<String>,
        /// A command that stops the service cleanly, run when the apply ends (before SIGTERM
        /// and SIGKILL), and by `planrun rollback` for a service a killed apply left running.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop: Option<String>,
        /// Environment variables given to every later step that needs this one (through its
        /// own `needs` or its phase's), e.g. `TEST_DATABASE_URL`.
        #[serde(default)]
        export: BTreeMap<String, String>,
        /// Extra environment variables for the service's own commands.
        #[serde(default)]
        env: BTreeMap<String, String>,
    }
}

/// The default `ready_timeout` of a service.
pub const DEFAULT_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One step: the action decides which fields it takes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Step {
    /// Run a shell command.
    Run(RunStep),
    /// Install Python packages into a venv.
    Install(InstallStep),
    /// Write a file from a template.
    Write(WriteStep),
    /// Replace text in a file.
    Replace(ReplaceStep),
    /// Edit an INI file.
    Ini(IniStep),
    /// Edit a TOML file.
    Toml(TomlStep),
    /// Edit pytest's own configuration.
    PytestConfig(PytestConfigStep),
    /// Run a timed suite.
    Suite(SuiteStep),
    /// Mark tests fast, medium or slow from a record's durations.
    Mark(MarkStep),
    /// Start a service for the rest of the apply.
    Service(ServiceStep),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_step_field_is_rejected() {
        let text = "name='x'\ndescription='d'\n[[phase]]\nid='p'\n[[phase.step]]\nid='s'\naction='run'\ncommand='true'\nneed=['a']\n";
        let err = toml::from_str::<Plan>(text).unwrap_err();
        assert!(err.to_string().contains("need"), "{err}");
        let ok = "name='x'\ndescription='d'\n[[phase]]\nid='p'\n[[phase.step]]\nid='s'\naction='suite'\ncommand='true'\nrecord='r'\nruns='${n}'\n";
        let plan: Plan = toml::from_str(ok).unwrap();
        assert!(
            matches!(&plan.phases[0].steps[0], Step::Suite(s) if s.runs == Some(IntOrVar::Var("${n}".into())))
        );
    }
}
