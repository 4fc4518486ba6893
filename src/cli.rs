//! The command line: clap types only. Their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run test-optimization plans against a Python repository: measured, gated, reversible.
#[derive(Debug, Parser)]
#[command(
    name = "planrun",
    version = crate::version::VERSION,
    about,
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, display_order = 900)]
    pub verbose: u8,

    /// Only warnings, errors, failures and the closing verdict on stderr.
    #[arg(short, long, global = true, display_order = 901)]
    pub quiet: bool,

    /// Colour the output: auto (a terminal, GitHub Actions logs; NO_COLOR, FORCE_COLOR honoured).
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        default_value = "auto",
        global = true,
        display_order = 902
    )]
    pub color: ColorArg,

    /// Same as --color never.
    #[arg(long, global = true, display_order = 903)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plans for errors without running anything.
    Validate(ValidateArgs),
    /// Print a plan's step graph as DOT or Mermaid.
    Graph(GraphArgs),
    /// Print the JSON Schema of the plan language.
    Schema,
    /// Run a plan against a target repository.
    Apply(ApplyArgs),
    /// Undo the most recent apply still in effect on a target.
    Rollback(RollbackArgs),
    /// List the applies recorded on a target, newest first.
    History(HistoryCmdArgs),
    /// Show each rollout stage of a plan with its run history, and whether it may be promoted.
    Status(StatusArgs),
    /// Remove a stale lock left by an apply whose process is gone.
    Unlock(UnlockArgs),
    /// Render the report of a past run again.
    Report(ReportArgs),
    /// List the plans bundled with planrun.
    Plans,
    /// Write a bundled plan (and its templates) into a repository.
    Init(InitArgs),
    /// Write a CI workflow that applies a plan (`planrun ci github|gitlab PLAN`).
    Ci(CiArgs),
    /// Profile the suite, predict what would make it faster, write a plan that checks it.
    Suggest(SuggestArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

/// `--color WHEN`. The values have no doc comments of their own: with them clap would print
/// every command's help in its long form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    // A terminal (and GitHub Actions logs), unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

impl From<ColorArg> for crate::ui::ColorWhen {
    fn from(arg: ColorArg) -> Self {
        match arg {
            ColorArg::Auto => crate::ui::ColorWhen::Auto,
            ColorArg::Always => crate::ui::ColorWhen::Always,
            ColorArg::Never => crate::ui::ColorWhen::Never,
        }
    }
}

/// The colour asked for on a raw command line, read before clap parses it so that clap's own
/// help and errors follow it: the last `--color WHEN` / `--color=WHEN` / `--no-color` before `--`.
pub fn color_from_args(args: &[std::ffi::OsString]) -> crate::ui::ColorWhen {
    let mut when = crate::ui::ColorWhen::Auto;
    let mut args = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        let value = match arg.as_ref() {
            "--" => break,
            "--no-color" => {
                when = crate::ui::ColorWhen::Never;
                continue;
            }
            "--color" => args.next().map(|v| v.into_owned()),
            a => a.strip_prefix("--color=").map(str::to_string),
        };
        match value.as_deref() {
            Some("always") => when = crate::ui::ColorWhen::Always,
            Some("never") => when = crate::ui::ColorWhen::Never,
            Some("auto") => when = crate::ui::ColorWhen::Auto,
            _ => {}
        }
    }
    when
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The bundled plan to write (`planrun plans` lists them).
    #[arg(value_name = "PLAN")]
    pub plan: String,

    /// The directory to write it into, relative to the repository.
    // Not a top-level `plans/`: setuptools' flat-layout discovery would take it for a second
    // package and fail the project's `pip install -e .`; `ci` is a name it skips.
    #[arg(long, value_name = "DIR", default_value = "ci/plans")]
    pub dir: PathBuf,

    /// The repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write planrun.1 and one page per command (planrun-apply.1, ...) here instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Plan files to check.
    #[arg(required = true, value_name = "PLAN")]
    pub plans: Vec<PathBuf>,

    /// Set a plan variable (repeatable): --var key=value.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The repository to run against (default: the plan's default_target, then the current directory).
    #[arg(long, value_name = "DIR")]
    pub target: Option<PathBuf>,

    /// Set a plan variable (repeatable): --var key=value.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// How many independent steps may run at once (default: number of cores); suites always run alone.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Print the plan, every command and file diff that would happen; touch nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: exit 0 when there is nothing to do, 2 when changes are pending (as
    /// `terraform plan -detailed-exitcode`).
    #[arg(long, requires = "dry_run")]
    pub detailed_exitcode: bool,

    /// With --ci on GitHub Actions: a ::notice annotation for each passing gate too.
    #[arg(long)]
    pub annotate_passing: bool,

    /// CI mode: no animation, step summary, annotations, failed steps' logs folded (also CI=true).
    #[arg(long)]
    pub ci: bool,

    /// Print the JSON report on stdout (with --dry-run: the planned steps and gates).
    #[arg(long)]
    pub json: bool,

    /// Copy report.json, junit.xml, summary.md, report.html and the step logs into this directory.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Save the record of the `baseline = true` suite under this name in .planrun/baselines/.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,

    /// Use a saved baseline record (a name in .planrun/baselines/ or a JSON file) instead of re-measuring.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,

    /// Tests known to fail in the baseline: a file with one pytest id (or `*` pattern) a line, `#` comments; gates then allow no new failure.
    #[arg(long, value_name = "FILE")]
    pub known_failures: Option<PathBuf>,

    /// Take whatever fails in the baseline as known for this apply (collection errors and a suite that runs no test still stop it).
    #[arg(long)]
    pub accept_baseline_failures: bool,

    /// Apply even when the same plan's last apply on this target is still in effect.
    #[arg(long)]
    pub reapply: bool,

    /// The rollout stage to apply, for a plan with `[[stage]]`s (default: the first): its phases and every earlier stage's.
    #[arg(long, value_name = "ID")]
    pub stage: Option<String>,

    /// Enter --stage although the previous stage's `promote` criteria do not hold; the report and the history say so.
    #[arg(long)]
    pub force: bool,

    /// Run only shard I of N of every suite with `shards` (a CI matrix job, e.g. `--shard 2/4`); its records are parts for `planrun report merge`.
    #[arg(long, value_name = "I/N", env = "PLANRUN_SHARD")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub history: HistoryArgs,
}

/// Where the run history is and how much of it criteria read.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The run history file (JSON lines; default: the target's .planrun/history.jsonl), e.g. one a CI cache carries between jobs.
    #[arg(long = "history", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// How many of a stage's most recent runs `history.*` criteria read.
    #[arg(long, value_name = "N", default_value_t = crate::history::window::DEFAULT_WINDOW)]
    pub window: usize,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The repository the plan runs against (default: the plan's default_target, then the current directory).
    #[arg(long, value_name = "DIR")]
    pub target: Option<PathBuf>,

    /// Set a plan variable (repeatable): --var key=value.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Args)]
pub struct HistoryCmdArgs {
    /// The target repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Show the runs of this plan from the run history (a plan file or the plan's `name`), not the target's journal.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<String>,

    /// Only the runs of this rollout stage (with --plan).
    #[arg(long, value_name = "ID", requires = "plan")]
    pub stage: Option<String>,

    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The target repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The target repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Restore paths changed since the apply too, after saving each person's version beside the journal.
    #[arg(long)]
    pub force: bool,

    /// End run RUN without undoing it (after fixing things by hand), or set aside a journal not written here; applies may run again.
    #[arg(long, value_name = "RUN", conflicts_with = "force")]
    pub abandon: Option<String>,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The target repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Remove the lock even if its process still seems alive.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    /// Join the reports of a CI matrix's shard jobs instead.
    #[command(subcommand)]
    pub action: Option<ReportAction>,

    /// The run id (default: the most recent run).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,

    /// The target repository (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ReportFormat,
}

/// What `planrun report` does besides rendering a run.
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Join the report.json of each job of a CI matrix (`planrun apply --shard i/N`) into the
    /// report of the whole suite: each sharded record's wall the slowest shard's, run by run,
    /// its CPU summed, its tests the union (a shard or a test missing or twice is an error).
    Merge(MergeArgs),
}

/// `planrun report merge`'s arguments.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The jobs' report.json files (or the directories holding them, e.g. downloaded artifacts).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the merged report.json here (`planrun report` renders it like any run's).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write every test's median seconds here in pytest-split's format (`.test_durations`), to
    /// commit or cache for the next run's balance.
    #[arg(long, value_name = "FILE")]
    pub durations: Option<PathBuf>,

    /// Decide this plan's gates over the merged records (the jobs deferred them); exit 1 when
    /// one fails.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,

    /// A criterion on the merged records (repeatable), e.g. `after.balance >= 0.9`; exit 1 when
    /// one fails.
    #[arg(long = "check", value_name = "EXPR")]
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
    Junit,
    Html,
}

/// `planrun suggest`'s arguments.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The repository whose suite to profile (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// Set a variable (repeatable): --var python=PATH picks the interpreter.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Write the plan that verifies the best opportunity (with its templates beside it).
    #[arg(long, value_name = "PLAN")]
    pub write: Option<PathBuf>,

    /// Print the analysis as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `planrun ci`: which CI system.
#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(subcommand)]
    pub system: CiSystem,
}

/// The CI systems planrun writes workflows for.
#[derive(Debug, Subcommand)]
pub enum CiSystem {
    /// Write a GitHub Actions workflow that applies the plan on every push and pull request.
    Github(GithubArgs),
    /// Write a GitLab CI pipeline (.gitlab-ci.yml) that applies the plan on its default branch and merge requests.
    Gitlab(GitlabArgs),
}

/// `planrun ci gitlab`.
#[derive(Debug, Args)]
pub struct GitlabArgs {
    #[command(flatten)]
    pub workflow: WorkflowArgs,

    /// How many shard jobs the `parallel:` matrix has, for a plan whose suites say `shards = "matrix"` (a plan's `shards = N` gives N).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,

    /// Run each sharded suite's `shards = N` as N processes on the job's runner instead of `parallel:` shard jobs and a merge (what a plan with rollout stages needs: each stage's apply decides its own gates).
    #[arg(long, conflicts_with = "shards")]
    pub shards_on_runner: bool,

    /// Write the pipeline to this file instead of printing it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `planrun ci github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    #[command(flatten)]
    pub workflow: WorkflowArgs,

    /// Let a manual run (`workflow_dispatch`, input `open_pr`) open a pull request with a kept change through `gh`; the job that opens it gets write permissions.
    #[arg(long)]
    pub pull_request: bool,

    /// How many shard jobs the matrix has, for a plan whose suites say `shards = "matrix"` (a plan's `shards = N` gives N).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,

    /// Run each sharded suite's `shards = N` as N processes on the job's runner instead of a matrix of shard jobs and a merge (what a plan with rollout stages needs: each stage's apply decides its own gates).
    #[arg(long, conflicts_with = "shards")]
    pub shards_on_runner: bool,

    /// Write the workflow to this file instead of printing it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What every `planrun ci SYSTEM` takes.
#[derive(Debug, Args)]
pub struct WorkflowArgs {
    /// The plan file; it must lie inside the repository (`planrun init NAME` writes a bundled one there).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The repository the workflow runs in (default: the current directory).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        hide_default_value = true
    )]
    pub target: PathBuf,

    /// A Python version of the job matrix (repeatable; default: the repository's .python-version, else 3.12).
    #[arg(long = "python", value_name = "VERSION")]
    pub pythons: Vec<String>,

    /// A plan variable every apply in the workflow sets (repeatable): --var key=value.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Where the workflow installs planrun from, as pipx takes it: a wheel's URL (a release asset), a `git+https://...@TAG` URL, or a wheel's path in the repository (default: `planrun==VERSION` from PyPI).
    #[arg(long, value_name = "SPEC")]
    pub planrun_from: Option<String>,
}
