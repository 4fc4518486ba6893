//! The `suite` action: run a test command warmup + runs times, timed, and turn the runs into a
//! [`Record`].
//!
//! For pytest each run gets `--junitxml=<file>` appended, the file in a directory of its own under
//! the spec's `junit_dir` (in an apply, `.planrun/runs/<id>/junit/`, not the system temp
//! directory: a run killed with SIGKILL leaves it where the next apply finds and removes it, see
//! [`clean_stale_junit`]), and the file is read after the run. A run whose tests fail is recorded (gates decide); a
//! run that leaves no readable junit file means pytest never got to report, so the step fails with
//! the run's last output lines. Each run's output goes to its own log file under `log_dir`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::budget::Budget;
use super::coverage;
use super::framework::Framework;
use super::junit;
use super::live;
use super::record::{Record, RunExtras, RunResult, RunSample};
use super::shard::{self, Part, ShardSpec};
use crate::process::shell::quote;
use crate::process::{self, CommandSpec, Control, Status};

/// How many output lines an error carries.
pub const TAIL_LINES: usize = 20;

/// What to run and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteSpec {
    /// The test command, run with `sh -c`.
    pub command: String,
    /// The working directory (the target).
    pub cwd: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Uncounted runs first.
    pub warmup: u32,
    /// Each warmup is a pytest `--collect-only -q` pass rather than a run of the suite: it
    /// imports every test module and conftest (compiling their bytecode and loading what they
    /// import), which is where a Python suite's first run loses its time, at the cost of
    /// collection instead of a whole run.
    pub warmup_collect: bool,
    /// Counted runs taken before [`run_suite`] asks whether they are enough (at least 1).
    pub runs: u32,
    /// An adaptive suite: at most this many counted runs (`None`: exactly `runs`).
    pub max_runs: Option<u32>,
    /// An adaptive suite starts no counted run once its counted runs have taken this long.
    pub max_time: Option<Duration>,
    /// How results are read.
    pub framework: Framework,
    /// Longest time one run may take; a run past it fails the step.
    pub timeout: Option<Duration>,
    /// Without `timeout`: a limit derived from what was measured ([`auto_timeout`]); a run
    /// past it is recorded as a run with an error, and the gates decide.
    pub auto_timeout: Option<AutoTimeout>,
    /// Where the per-run log files go (created when missing).
    pub log_dir: PathBuf,
    /// Where each pytest run's junit directory is made (created when missing).
    pub junit_dir: PathBuf,
    /// The record name; it prefixes the log files.
    pub record: String,
    /// Per-test budgets the record holds its tests to (pytest only).
    pub budgets: Vec<Budget>,
    /// Run under pytest-cov, measuring these sources (empty: the project's coverage
    /// configuration decides); `None` without coverage.
    pub coverage: Option<Vec<String>>,
    /// Each run split over shards (pytest only); `None`: one process runs the suite.
    pub shards: Option<ShardSpec>,
}

/// What `timeout = "auto"` derives a run's limit from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoTimeout {
    /// The slowest counted run of the records measured before this suite, in seconds.
    pub earlier_slowest: Option<f64>,
    /// Added to the multiple ([`AUTO_TIMEOUT_MARGIN`]).
    pub margin: Duration,
    /// The limit before any run ([`AUTO_TIMEOUT_FIRST`]).
    pub first: Duration,
}

/// The environment variable that replaces [`AUTO_TIMEOUT_MARGIN`] (seconds, e.g. `20`): a
/// quiet machine with fast suites can afford less.
pub const AUTO_TIMEOUT_MARGIN_ENV: &str = "PLANRUN_AUTO_TIMEOUT_MARGIN";

impl AutoTimeout {
    /// The documented rule, after runs whose slowest took `earlier_slowest` seconds; the margin
    /// from [`AUTO_TIMEOUT_MARGIN_ENV`] when it holds a non-negative number of seconds.
    pub fn new(earlier_slowest: Option<f64>) -> Self {
        let margin = std::env::var(AUTO_TIMEOUT_MARGIN_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(AUTO_TIMEOUT_MARGIN);
        AutoTimeout {
            earlier_slowest,
            margin,
            first: AUTO_TIMEOUT_FIRST,
        }
    }
}

/// How many times the slowest run so far a run may take under `timeout = "auto"`.
pub const AUTO_TIMEOUT_FACTOR: f64 = 3.0;

/// What `timeout = "auto"` adds to that multiple: startup noise on a loaded machine.
pub const AUTO_TIMEOUT_MARGIN: Duration = Duration::from_secs(60);

/// The `timeout = "auto"` limit before any run of anything was measured.
pub const AUTO_TIMEOUT_FIRST: Duration = Duration::from_secs(3600);

/// A run's limit under `timeout = "auto"`: [`AUTO_TIMEOUT_FACTOR`] times the slowest run
/// measured so far (earlier records' counted runs and this suite's own runs) plus
/// [`AUTO_TIMEOUT_MARGIN`]; [`AUTO_TIMEOUT_FIRST`] before any run. Also its basis, for the message.
pub fn auto_timeout(auto: AutoTimeout, own: &[f64]) -> (Duration, Option<f64>) {
    let slowest = own
        .iter()
        .copied()
        .chain(auto.earlier_slowest)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .reduce(f64::max);
    match slowest {
        Some(s) => (
            Duration::from_secs_f64(s * AUTO_TIMEOUT_FACTOR) + auto.margin,
            Some(s),
        ),
        None => (auto.first, None),
    }
}

/// Where a suite is: sent when a run starts and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Whether this is a warmup run.
    pub warmup: bool,
    /// The run's number among its kind, from 1.
    pub index: u32,
    /// How many runs of its kind there are.
    pub of: u32,
    /// Time since the suite started.
    pub elapsed: Duration,
    /// The run's wall time once it has ended; `None` when it starts.
    pub finished: Option<Duration>,
    /// When it starts, the files a pytest run reports its tests' outcomes to as they end
    /// ([`live`]): one, or one per shard of a sharded run.
    pub live: Vec<PathBuf>,
}

/// Why a suite produced no record.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// `runs = 0`.
    #[error("a suite needs at least one counted run")]
    NoRuns,
    /// The log directory or a temporary junit directory could not be created.
    #[error("failed to prepare `{path}`")]
    Prepare {
        /// What was being created.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The command could not be started or waited for.
    #[error("failed to run `{command}`")]
    Spawn {
        /// The command.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// pytest left no readable junit file.
    #[error("{run} of `{command}` left no junit results ({reason}); see `{}`", log.display())]
    Junit {
        /// Which run, e.g. `run 2` or `warmup 1`.
        run: String,
        /// The command.
        command: String,
        /// Missing, or why it could not be parsed.
        reason: String,
        /// The run's log file.
        log: PathBuf,
        /// The last output lines of the run.
        tail: Vec<String>,
    },
    /// A run took longer than the timeout and was ended.
    #[error("{run} of `{command}` timed out after {}", humantime::format_duration(*timeout))]
    TimedOut {
        /// Which run.
        run: String,
        /// The command.
        command: String,
        /// The limit.
        timeout: Duration,
        /// The last output lines of the run.
        tail: Vec<String>,
    },
    /// The shards of a run did not run every test exactly once.
    #[error("{run} of `{command}` split its tests over shards unevenly: {problem}; every shard chooses from its own collection, so a test whose id changes between processes (a random or unordered parametrization) cannot be sharded")]
    Shards {
        /// Which run.
        run: String,
        /// The command.
        command: String,
        /// Which tests ran in no shard or in several.
        problem: String,
    },
    /// planrun was interrupted.
    #[error("interrupted")]
    Cancelled,
}

impl SuiteError {
    /// The command's last output lines, when the error has them.
    pub fn output(&self) -> &[String] {
        match self {
            SuiteError::Junit { tail, .. } | SuiteError::TimedOut { tail, .. } => tail,
            _ => &[],
        }
    }
}

/// Runs the suite and builds its record; `progress` hears of every run's start and end.
pub fn run_suite(
    spec: &SuiteSpec,
    control: &Control,
    progress: &mut dyn FnMut(Progress),
) -> Result<Record, SuiteError> {
    run_suite_until(spec, control, progress, &mut |_| false)
}

/// [`run_suite`] for an adaptive suite too: one with `max_runs` asks `enough` after each
/// counted run from the `runs`-th on, with the record so far, and stops once it says so, at `max_runs`, or once the
/// counted runs have taken `max_time`. Its warmup runs count too when they are not outliers of
/// the counted ones ([`counts_as_run`]): a slow suite is not run once for nothing.
pub fn run_suite_until(
    spec: &SuiteSpec,
    control: &Control,
    progress: &mut dyn FnMut(Progress),
    enough: &mut dyn FnMut(&Record) -> bool,
) -> Result<Record, SuiteError> {
    if spec.runs == 0 {
        return Err(SuiteError::NoRuns);
    }
    fs::create_dir_all(&spec.log_dir).map_err(|source| SuiteError::Prepare {
        path: spec.log_dir.clone(),
        source,
    })?;
    let adaptive = spec.max_runs.is_some();
    let max_runs = spec.max_runs.unwrap_or(spec.runs).max(spec.runs);
    let started = Instant::now();
    let mut results = Vec::new();
    let mut run = |warmup: bool, index: u32, of: u32, results: &mut Vec<RunResult>| {
        let mut tell = |finished, live| {
            progress(Progress {
                warmup,
                index,
                of,
                elapsed: started.elapsed(),
                finished,
                live,
            })
        };
        let own = own_walls(spec, results);
        let limit = match (spec.timeout, spec.auto_timeout) {
            (None, Some(auto)) => Some(auto_timeout(auto, &own)),
            _ => None,
        };
        let begun = &mut |live: &[PathBuf]| tell(None, live.to_vec());
        let result = run_once(spec, control, warmup, index, limit, begun)?;
        tell(
            Some(Duration::from_secs_f64(result.sample.wall)),
            Vec::new(),
        );
        let timed_out = result.sample.status == Status::TimedOut;
        results.push(result);
        Ok::<_, SuiteError>(timed_out)
    };
    for i in 1..=spec.warmup {
        if run(true, i, spec.warmup, &mut results)? {
            break;
        }
    }
    let record = |results: &[RunResult]| build_record(spec, results, adaptive);
    let counted_started = Instant::now();
    for i in 1..=max_runs {
        // A run that hung is a result: the suite takes no more, and the gates decide.
        if run(false, i, max_runs, &mut results)? {
            break;
        }
        if i < spec.runs || i == max_runs {
            continue;
        }
        if spec
            .max_time
            .is_some_and(|limit| counted_started.elapsed() >= limit)
        {
            tracing::info!(record = %spec.record, runs = i, "max_time reached");
            break;
        }
        if adaptive && record(&results).is_some_and(|r| enough(&r)) {
            tracing::info!(record = %spec.record, runs = i, "enough runs for the gates");
            break;
        }
    }
    record(&results).ok_or(SuiteError::NoRuns)
}

/// The walls of the runs so far that say how long a run takes (for `timeout = "auto"`): the
/// successful ones, a collection pass not among them.
fn own_walls(spec: &SuiteSpec, results: &[RunResult]) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.sample.status.success() && !(r.sample.warmup && spec.warmup_collect))
        .map(|r| r.sample.wall)
        .collect()
}

/// The record of `results` (warmup runs promoted where [`counts_as_run`] with `promote`).
pub fn build_record(spec: &SuiteSpec, results: &[RunResult], promote: bool) -> Option<Record> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores = u32::try_from(cores).unwrap_or(1);
    let mut results = results.to_vec();
    // A collection pass is no run of the suite, however close its time.
    if promote && !spec.warmup_collect {
        promote_warmups(&mut results);
    }
    let mut markers: std::collections::BTreeMap<_, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for r in &results {
        for (id, names) in &r.extras.markers {
            markers
                .entry(id.clone())
                .or_default()
                .extend(names.iter().cloned());
        }
    }
    let figures = spec.shards.as_ref().and_then(|sh| {
        let counted: Vec<&RunResult> = results.iter().filter(|r| !r.sample.warmup).collect();
        shard::figures(sh, &counted)
    });
    let note = spec.shards.as_ref().and_then(shard::even_split_note);
    Record::from_runs(&spec.command, spec.framework, results, cores).map(|r| {
        let mut r = r.with_budgets(&spec.budgets, &markers);
        r.shards = figures;
        r.warnings.extend(note);
        r
    })
}

/// One run of the suite on its own (an interleaved pair's), numbered `index` among its kind;
/// under `timeout = "auto"` its limit comes from the earlier records' slowest run. `begun` is
/// told when the run starts, with the files a pytest run reports its tests to as they end.
pub fn run_single(
    spec: &SuiteSpec,
    control: &Control,
    warmup: bool,
    index: u32,
    begun: &mut dyn FnMut(&[PathBuf]),
) -> Result<RunResult, SuiteError> {
    fs::create_dir_all(&spec.log_dir).map_err(|source| SuiteError::Prepare {
        path: spec.log_dir.clone(),
        source,
    })?;
    let limit = match (spec.timeout, spec.auto_timeout) {
        (None, Some(auto)) => Some(auto_timeout(auto, &[])),
        _ => None,
    };
    run_once(spec, control, warmup, index, limit, begun)
}

/// Whether a warmup run of `wall` seconds counts as a run beside the counted `walls`: it is
/// within [`super::outliers::MIN_RELATIVE_DEVIATION`] (10%) of their median, and, with three or more
/// counted runs, no outlier by hyperfine's modified Z-score either.
pub fn counts_as_run(wall: f64, walls: &[f64]) -> bool {
    let Some(mid) = super::stats::median(walls) else {
        return false;
    };
    if (wall - mid).abs() > super::outliers::MIN_RELATIVE_DEVIATION * mid.abs() {
        return false;
    }
    if walls.len() < 3 {
        return true;
    }
    let mut all = walls.to_vec();
    all.push(wall);
    super::outliers::modified_zscores(&all)
        .last()
        .is_some_and(|z| z.abs() <= super::outliers::OUTLIER_THRESHOLD)
}

/// Marks the warmup runs that [`counts_as_run`] as counted (their junit results were read like
/// any run's; one whose command failed is never promoted).
fn promote_warmups(results: &mut [RunResult]) {
    let walls: Vec<f64> = results
        .iter()
        .filter(|r| !r.sample.warmup)
        .map(|r| r.sample.wall)
        .collect();
    for r in results.iter_mut().filter(|r| r.sample.warmup) {
        if r.sample.green() && counts_as_run(r.sample.wall, &walls) {
            r.sample.warmup = false;
            r.sample.promoted = true;
        }
    }
}

/// One run: the command (with `--junitxml` for pytest), measured, and its junit file read.
fn run_once(
    spec: &SuiteSpec,
    control: &Control,
    warmup: bool,
    index: u32,
    auto_limit: Option<(Duration, Option<f64>)>,
    begun: &mut dyn FnMut(&[PathBuf]),
) -> Result<RunResult, SuiteError> {
    match &spec.shards {
        Some(sh) if spec.framework == Framework::Pytest && !(warmup && spec.warmup_collect) => {
            let label = run_label(warmup, index);
            let dir = junit_tempdir(spec, &format!("{label} shards"))?;
            let plan = dir.path().join("shards.json");
            // The shards report to files named before they start, so the terminal counts the
            // tests of all of them as they end.
            let live: Vec<PathBuf> = shard::parts(sh, &plan)
                .into_iter()
                .map(|p| p.live)
                .collect();
            begun(&live);
            let process = |part: Part| {
                run_process(
                    spec,
                    control,
                    warmup,
                    index,
                    auto_limit,
                    &mut |_| {},
                    Some(&part),
                )
            };
            shard::run(sh, &plan, &process).map_err(|e| match e {
                shard::RunFailure::Prepare(source) => SuiteError::Prepare {
                    path: dir.path().to_path_buf(),
                    source,
                },
                shard::RunFailure::Process(e) => e,
                shard::RunFailure::Uneven(problem) => SuiteError::Shards {
                    run: label,
                    command: spec.command.clone(),
                    problem,
                },
            })
        }
        _ => run_process(spec, control, warmup, index, auto_limit, begun, None),
    }
}

/// `warmup 2` or `run 3`.
fn run_label(warmup: bool, index: u32) -> String {
    if warmup {
        format!("warmup {index}")
    } else {
        format!("run {index}")
    }
}

/// One pytest (or command) process of a run: the whole run, or one shard's `part` of it.
pub fn run_process(
    spec: &SuiteSpec,
    control: &Control,
    warmup: bool,
    index: u32,
    auto_limit: Option<(Duration, Option<f64>)>,
    begun: &mut dyn FnMut(&[PathBuf]),
    part: Option<&Part>,
) -> Result<RunResult, SuiteError> {
    let mut label = run_label(warmup, index);
    if let Some(p) = part {
        label.push_str(&format!(" shard {}", p.shard));
    }
    // The record is an identifier (validate checked it); the path is built only from one.
    let name = format!("{}-{}", spec.record, label.replace(' ', "-"));
    let log =
        crate::ident::ident_path(&spec.log_dir, &name, "log").map_err(|e| SuiteError::Prepare {
            path: spec.log_dir.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("record `{}`: {e}", crate::ident::shown(&spec.record)),
            ),
        })?;
    // The directory lives until the end of this function; pytest creates the file inside it,
    // so a file that is not there afterwards means pytest did not report.
    let collect_only = warmup && spec.warmup_collect;
    let junit_dir = match spec.framework {
        Framework::Pytest if !collect_only => Some(junit_tempdir(spec, &label)?),
        Framework::Pytest | Framework::Command => None,
    };
    let junit_path = junit_dir.as_ref().map(|d| d.path().join("junit.xml"));
    let mut command = match &junit_path {
        // xunit1 adds each test's file and line, from which its pytest id and the place a
        // failure points at come; the file is planrun's own, so the family is too.
        Some(path) => format!(
            "{} --junitxml={} -o junit_family=xunit1",
            spec.command,
            quote(&path.display().to_string())
        ),
        None if collect_only => format!("{} --collect-only -q", spec.command),
        None => spec.command.clone(),
    };
    let mut env = spec.env.clone();
    // A pytest run also reports as it goes (so a hang can say which tests had not finished),
    // gives its tests' ids as pytest prints them, their markers and how much each test process
    // grew; the plugin lives in the run's own junit directory.
    let live = match &junit_dir {
        Some(dir) => {
            let file = part.map_or_else(|| dir.path().join(live::FILE), |p| p.live.clone());
            live::prepare(dir.path(), &file, &mut env).map_err(|source| SuiteError::Prepare {
                path: dir.path().to_path_buf(),
                source,
            })?;
            Some(file)
        }
        None => None,
    };
    if live.is_some() {
        command.push_str(" -p ");
        command.push_str(live::PLUGIN);
    }
    if let Some(p) = part {
        env.push(("PLANRUN_SHARD_PLAN".into(), p.plan.display().to_string()));
        env.push(("PLANRUN_SHARD_INDEX".into(), (p.shard - 1).to_string()));
    }
    // Coverage goes to the run's junit directory too: its data file and its JSON report, so
    // the target gets neither.
    if let (Some(dir), Some(sources)) = (&junit_dir, &spec.coverage) {
        command.push(' ');
        command.push_str(&coverage::args(sources, dir.path()));
        env.push((
            "COVERAGE_FILE".into(),
            dir.path().join(coverage::DATA).display().to_string(),
        ));
    }
    let command_spec = CommandSpec {
        env,
        timeout: spec.timeout.or(auto_limit.map(|(limit, _)| limit)),
        ..CommandSpec::new(command, &spec.cwd, &log)
    };
    begun(live.as_slice());
    let outcome =
        process::run(&command_spec, control, true).map_err(|source| SuiteError::Spawn {
            command: spec.command.clone(),
            source,
        })?;
    match outcome.status {
        Status::Cancelled => return Err(SuiteError::Cancelled),
        Status::TimedOut if auto_limit.is_some() => {
            let progress = live.as_deref().map(live::read);
            return Ok(timed_out_run(
                spec, &label, warmup, &outcome, log, auto_limit, progress,
            ));
        }
        Status::TimedOut => {
            return Err(SuiteError::TimedOut {
                run: label,
                command: spec.command.clone(),
                timeout: spec.timeout.unwrap_or_default(),
                tail: process::tail(&log, TAIL_LINES),
            })
        }
        Status::Exited(_) | Status::Signaled(_) => {}
    }
    let report = match &junit_path {
        Some(path) => Some(read_junit(path).map_err(|reason| {
            let tail = process::tail(&log, TAIL_LINES);
            SuiteError::Junit {
                reason: match &spec.coverage {
                    Some(_) if tail.iter().any(|l| l.contains("unrecognized arguments: --cov")) => {
                        format!("{reason}: pytest does not know `--cov`; `coverage = true` needs pytest-cov in the suite's environment (add it to an install step)")
                    }
                    _ => reason,
                },
                run: label.clone(),
                command: spec.command.clone(),
                tail,
                log: log.clone(),
            }
        })?),
        None => None,
    };
    let account = live.as_deref().map(live::read_account).unwrap_or_default();
    let coverage = match (&junit_dir, &spec.coverage) {
        (Some(dir), Some(_)) => coverage::read(dir.path(), &spec.cwd),
        _ => None,
    };
    let sample = sample_of(&outcome, warmup, report.as_ref().map(|r| r.counts), log);
    let (mut tests, mut warnings) = report.map(|r| (r.tests, r.warnings)).unwrap_or_default();
    if spec.coverage.is_some() && coverage.is_none() {
        warnings.push(format!(
            "{label} of `{}` wrote no coverage report (is pytest-cov installed and not disabled with `-p no:cov`?)",
            spec.command
        ));
    }
    // The ids as pytest prints them (`tests/unit/test_x.py::TestY::test_z[1]`), which the
    // junit file dots into a class name; a test the plugin did not see keeps the junit id.
    let nodeids = live::nodeids_by_junit_id(&account.collected);
    for test in &mut tests {
        if let Some(nodeid) = nodeids.get(&test.id) {
            test.id = nodeid.clone();
        }
    }
    Ok(RunResult {
        sample,
        tests,
        warnings,
        extras: RunExtras {
            markers: account.markers,
            rss_growth_kb: account.rss_growth_kb,
            coverage,
            all_tests: account.sharded_from,
            shards: Vec::new(),
        },
    })
}

/// A run stopped by `timeout = "auto"`: recorded as a run with one error (the hang) and no
/// readable junit file, its wall time the limit, the counts of the tests that had ended (from
/// the live account, for pytest), and warnings that say how long it ran, why that limit, and
/// which tests had not finished.
fn timed_out_run(
    spec: &SuiteSpec,
    label: &str,
    warmup: bool,
    outcome: &process::Outcome,
    log: PathBuf,
    auto_limit: Option<(Duration, Option<f64>)>,
    progress: Option<live::Progress>,
) -> RunResult {
    let (limit, basis) = auto_limit.unwrap_or((Duration::ZERO, None));
    let margin = spec.auto_timeout.map_or(AUTO_TIMEOUT_MARGIN, |a| a.margin);
    let why = match basis {
        Some(s) => format!(
            "{AUTO_TIMEOUT_FACTOR}x the slowest run so far, {s:.1} s, plus {:.1} s",
            margin.as_secs_f64()
        ),
        None => "the limit before any run was measured".to_string(),
    };
    let mut warnings = vec![format!(
        "{label} of `{}` timed out after {:.1} s ({why}) and was stopped; it counts as a run with an error",
        spec.command,
        limit.as_secs_f64()
    )];
    let mut counts = junit::Counts::default();
    if let Some(p) = &progress {
        counts = p.counts;
        if !p.unfinished.is_empty() {
            let shown: Vec<&str> = p.unfinished.iter().take(10).map(String::as_str).collect();
            let more = p.unfinished.len() - shown.len();
            warnings.push(format!(
                "{} of {} tests had not finished: {}{}",
                p.unfinished.len(),
                p.collected,
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    counts.errors += 1;
    let tail = process::tail(&log, 3);
    if !tail.is_empty() {
        warnings.push(format!("its last output: {}", tail.join(" | ")));
    }
    RunResult {
        sample: sample_of(outcome, warmup, Some(counts), log),
        tests: Vec::new(),
        warnings,
        extras: RunExtras::default(),
    }
}

/// What the kernel measured of one run, with its test counts.
fn sample_of(
    outcome: &process::Outcome,
    warmup: bool,
    counts: Option<junit::Counts>,
    log: PathBuf,
) -> RunSample {
    RunSample {
        warmup,
        promoted: false,
        wall: outcome.wall.as_secs_f64(),
        cpu_user: outcome.cpu_user.as_secs_f64(),
        cpu_system: outcome.cpu_system.as_secs_f64(),
        rss_peak_mb: outcome.rss_peak_kb.map(|kb| kb as f64 / 1024.0),
        status: outcome.status,
        exit_code: outcome.status.code(),
        counts,
        log,
        // Milliseconds and hundredths of a MiB: finer would only lengthen report.json.
        memory: outcome
            .rss_series
            .iter()
            .map(|p| {
                let seconds = (p.at.as_secs_f64() * 1000.0).round() / 1000.0;
                let mib = (p.kb as f64 / 1024.0 * 100.0).round() / 100.0;
                [seconds, mib]
            })
            .collect(),
        pair: None,
    }
}

/// A fresh directory for one run's junit file under `spec.junit_dir`, made absolute because the
/// command runs in the target and pytest resolves `--junitxml` against its own working directory.
fn junit_tempdir(spec: &SuiteSpec, label: &str) -> Result<tempfile::TempDir, SuiteError> {
    let prepare = |source| SuiteError::Prepare {
        path: spec.junit_dir.clone(),
        source,
    };
    let parent = std::path::absolute(&spec.junit_dir).map_err(prepare)?;
    fs::create_dir_all(&parent).map_err(prepare)?;
    // pytest writes its junit file in there: never through a symlink planted in its place.
    crate::journal::paths::check_dir(&parent).map_err(|e| {
        prepare(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            e.to_string(),
        ))
    })?;
    tempfile::Builder::new()
        .prefix(&format!("{}-{}-", spec.record, label.replace(' ', "-")))
        .tempdir_in(&parent)
        .map_err(prepare)
}

/// Removes the `junit/` directories that other runs under `runs_dir` left behind (a SIGKILL
/// skips the clean-up that normally removes them), keeping `current`'s. Only an apply that holds
/// the target's lock may call it: then no other run of the target is alive. Symlinks are not
/// followed; what cannot be removed is logged and left. Returns the directories removed.
pub fn clean_stale_junit(runs_dir: &Path, current: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let run = entry.path();
        if run == current || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let junit = crate::journal::paths::junit_dir(&run);
        if !fs::symlink_metadata(&junit).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        match fs::remove_dir_all(&junit) {
            Ok(()) => removed.push(junit),
            Err(e) => tracing::warn!("cannot remove stale `{}`: {e}", junit.display()),
        }
    }
    removed
}

/// Reads and parses a junit file; the error says why in a few words.
fn read_junit(path: &Path) -> Result<junit::Report, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("the junit file was not written".to_string())
        }
        Err(e) => return Err(format!("the junit file could not be read: {e}")),
    };
    junit::parse(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "suite_tests.rs"]
mod tests;
