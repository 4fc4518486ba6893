//! A suite's record: the metrics gates read, computed purely from the raw runs.
//!
//! Runs combine conservatively, so a gate never sees a better suite than the worst counted run:
//! `failed`, `errors`, `skipped` and `tests` are the maximum over counted runs, `passed` the
//! minimum. Warmup runs are kept in `samples` (marked) but count for nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::budget::{self, Budget, OverBudget};
use super::coverage::Coverage;
use super::framework::Framework;
use super::junit::{Counts, Outcome, TestResult};
use super::outliers;
use super::stats::{self, Summary};
use crate::process::Status;

/// How many of the slowest tests `slowest_tests` keeps.
pub const SLOWEST_KEPT: usize = 20;

/// How many failing tests `failures` keeps, and how much of each one's text (its end, where
/// pytest puts the assertion and the line).
pub const FAILURES_KEPT: usize = 50;
const FAILURE_TEXT_KEPT: usize = 4000;

/// A test that failed or errored in at least one counted run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TestFailure {
    /// pytest's id of the test.
    pub id: String,
    /// The worse outcome over the runs: `failed` or `error`.
    pub outcome: Outcome,
    /// How many counted runs it failed or errored in (fewer than `runs`: flaky).
    pub runs: u32,
    /// Its file, relative to pytest's rootdir (the target, as a rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line the failure points at (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The one-line message of its last failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// pytest's text of its last failure (its last few thousand characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One run of the suite, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSample {
    /// A warmup run: kept for the record, counted in no metric.
    pub warmup: bool,
    /// A warmup run that counts as a run: an adaptive suite found it no outlier of the others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted: bool,
    /// Wall seconds from spawn to exit.
    pub wall: f64,
    /// User CPU seconds of the whole tree.
    pub cpu_user: f64,
    /// System CPU seconds of the whole tree.
    pub cpu_system: f64,
    /// Peak resident memory of the whole tree in MiB, when it could be sampled.
    pub rss_peak_mb: Option<f64>,
    /// How the command ended.
    pub status: Status,
    /// The shell-style exit code (a signal n is 128+n).
    pub exit_code: i32,
    /// The run's test counts (pytest only).
    pub counts: Option<Counts>,
    /// The file holding the run's output.
    pub log: PathBuf,
    /// The whole tree's resident memory over the run, as `[seconds since spawn, MiB]` pairs
    /// (each the peak of its slice; at most a few hundred, however long the run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<[f64; 2]>,
    /// Its place in an interleaved pair, when it was measured in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<PairSlot>,
}

/// Where a run stands in the interleaved pairs of two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSlot {
    /// The pair, from 1.
    pub index: u32,
    /// The run was the pair's first (the other record's run came second).
    pub first: bool,
}

/// How a record was compared with the record measured before the changes it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The other record.
    pub with: String,
    /// `interleaved` (runs in pairs, the target switched between the two states) or
    /// `sequential` (each record measured once, one after the other).
    pub mode: String,
    /// Why it is sequential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The seed of the pairs' random order (AB or BA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Pairs measured.
    #[serde(default)]
    pub pairs: u32,
    /// The median time of one switch between the states, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_ms: Option<f64>,
    /// This record's wall time over the other's as the verdicts read it (filled in when the
    /// report is written): the paired estimate, or the drift-widened one in sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<SpeedFigure>,
}

/// A ratio of two records' wall times with the interval a verdict decides on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedFigure {
    /// This record's time over the other's (below 1: this one is faster).
    pub ratio: f64,
    /// The interval's lower bound.
    pub low: f64,
    /// The interval's upper bound.
    pub high: f64,
    /// Its confidence level, e.g. 0.99.
    pub confidence: f64,
    /// `paired` (from interleaved pairs) or `in sequence`.
    pub basis: String,
}

/// `interleaved`.
pub const INTERLEAVED: &str = "interleaved";
/// `sequential`.
pub const SEQUENTIAL: &str = "sequential";

impl RunSample {
    /// Exit 0 and, when tests were counted, no failure and no error.
    pub fn green(&self) -> bool {
        self.status.success() && self.counts.is_none_or(|c| c.failed == 0 && c.errors == 0)
    }
}

/// One run as the suite runner hands it over: the sample and the per-test results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// What was measured.
    pub sample: RunSample,
    /// Each test's outcome and time (empty for `framework = command`).
    pub tests: Vec<TestResult>,
    /// What reading the run's results found suspicious (duplicate tests, bad times).
    pub warnings: Vec<String>,
    /// What planrun's pytest plugin and pytest-cov said about the run (pytest only).
    pub extras: RunExtras,
}

/// What a pytest run says beyond its junit file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunExtras {
    /// Each test's marker names, as collected (tests without markers have no entry).
    pub markers: BTreeMap<String, BTreeSet<String>>,
    /// The largest growth of one test process's resident memory in the run, KiB.
    pub rss_growth_kb: Option<u64>,
    /// Line coverage, when the run was measured under pytest-cov.
    pub coverage: Option<Coverage>,
    /// In a sharded run, the tests the shards were chosen from (each process's collection).
    pub all_tests: Vec<String>,
    /// In a sharded run, each shard's part.
    pub shards: Vec<super::shard_figures::ShardRun>,
}

/// A test and its duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestTime {
    /// The test id (`classname::name`).
    pub id: String,
    /// Median seconds over the counted runs it appeared in.
    pub seconds: f64,
}

/// The metrics of one `suite` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The command as written (without the `--junitxml` planrun adds).
    pub command: String,
    /// How results were read; test metrics exist only for pytest.
    pub framework: Framework,
    /// Uncounted runs made first.
    pub warmup: u32,
    /// Counted runs.
    pub runs: u32,
    /// Wall seconds over the counted runs.
    pub wall: Summary,
    /// Passed tests: the minimum over counted runs.
    pub passed: u64,
    /// Failed tests: the maximum over counted runs.
    pub failed: u64,
    /// Skipped tests (xfail included): the maximum over counted runs.
    pub skipped: u64,
    /// Setup, teardown and collection errors: the maximum over counted runs.
    pub errors: u64,
    /// Distinct tests: the maximum over counted runs.
    pub tests: u64,
    /// Fraction of counted runs that exited 0 with no failure and no error.
    pub runs_green: f64,
    /// Tests whose outcome differed between counted runs, sorted.
    pub flaky: Vec<String>,
    /// Seconds of the slowest test (by its median over runs).
    pub slowest: Option<f64>,
    /// 95th percentile of the tests' median seconds.
    pub p95_test: Option<f64>,
    /// Peak resident memory of the whole process tree over counted runs, MiB.
    pub rss_peak_mb: Option<f64>,
    /// CPU seconds / wall seconds / cores over the counted runs (1.0 = every core busy).
    pub cpu_util: f64,
    /// Median CPU seconds (user + system) of a counted run.
    pub cpu_seconds: f64,
    /// The core count `cpu_util` divides by.
    pub cores: u32,
    /// Every run, warmup runs included and marked.
    pub samples: Vec<RunSample>,
    /// Each test's median seconds over the counted runs it appeared in.
    pub durations: BTreeMap<String, f64>,
    /// The slowest tests, slowest first (at most [`SLOWEST_KEPT`]).
    pub slowest_tests: Vec<TestTime>,
    /// The tests that failed or errored in a counted run, in the order of the last run that
    /// saw them (at most [`FAILURES_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<TestFailure>,
    /// Noisy runs, flaky tests, runs that were not green.
    pub warnings: Vec<String>,
    /// The per-test budgets the tests were held to, seconds by key (empty without `budgets`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<String, f64>,
    /// The tests whose median exceeds their budget, slowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub over_budget: Vec<OverBudget>,
    /// Line coverage with `coverage = true`: the lowest over the counted runs, with its files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// The largest growth of one test process's resident memory, from before its first test to
    /// after any later one, MiB (the most over the counted runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_growth_mb: Option<f64>,
    /// Which tests ran and what could not be collected (pytest only; absent in records saved
    /// before planrun kept it, which are then compared on counts alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_set: Option<TestSet>,
    /// How it was compared with the record it follows (interleaved or sequential, and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// A sharded suite's shards: each one's wall and CPU, and how evenly they shared the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<super::shard_figures::ShardFigures>,
}

/// The tests a pytest record ran, so two records are compared on the same tests, and a
/// baseline that ran nothing or could not collect is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestSet {
    /// Tests that ran in some counted run (passed, failed or errored; not skipped, not a
    /// collection error), sorted.
    pub executed: Vec<String>,
    /// What pytest could not collect in the counted runs: the module (or xdist worker) and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collection_errors: Vec<CollectionError>,
    /// The failing tests of this record taken as known (a baseline whose failures the plan or
    /// the command line declared known); gates leave them out of every record's test counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_failures: Vec<String>,
}

/// A module (or an xdist worker) pytest could not collect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionError {
    /// The id pytest gave the collection error (`tests.test_x`, or `gw1` for xdist).
    pub id: String,
    /// The first line of pytest's text, and its `E   ` line when there is one.
    pub summary: String,
}

/// pytest's message on the `<error>` of a module it could not collect.
const COLLECTION_FAILURE: &str = "collection failure";

/// The test set of counted pytest runs: what ran and what could not be collected.
fn test_set(runs: &[RunResult]) -> TestSet {
    let mut executed = BTreeSet::new();
    let mut collection_errors: Vec<CollectionError> = Vec::new();
    for test in runs.iter().flat_map(|r| &r.tests) {
        if test.outcome == Outcome::Error && test.message.as_deref() == Some(COLLECTION_FAILURE) {
            if !collection_errors.iter().any(|c| c.id == test.id) {
                collection_errors.push(CollectionError {
                    id: test.id.clone(),
                    summary: collection_summary(test.text.as_deref().unwrap_or("")),
                });
            }
        } else if test.outcome != Outcome::Skipped {
            executed.insert(test.id.clone());
        }
    }
    TestSet {
        executed: executed.into_iter().collect(),
        collection_errors,
        known_failures: Vec::new(),
    }
}

/// The first line of a collection error's text and its last `E   ` line (the exception).
fn collection_summary(text: &str) -> String {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let raised = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("E "))
        .map(str::trim);
    match (first, raised) {
        (Some(f), Some(e)) if f != e => format!("{f} ({e})"),
        (Some(f), _) => f.to_string(),
        (None, Some(e)) => e.to_string(),
        (None, None) => COLLECTION_FAILURE.to_string(),
    }
}

impl Record {
    /// Builds the record from every run (warmup ones marked); `None` without a counted run.
    pub fn from_runs(
        command: &str,
        framework: Framework,
        runs: Vec<RunResult>,
        cores: u32,
    ) -> Option<Record> {
        let mut warnings: Vec<String> = Vec::new();
        let mut warn = |w: String| {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        };
        let runs: Vec<RunResult> = runs.into_iter().map(|r| sanitize(r, &mut warn)).collect();
        let (warm, counted): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.sample.warmup);
        let walls: Vec<f64> = counted.iter().map(|r| r.sample.wall).collect();
        let wall = Summary::of(&walls)?;
        let count_of = |pick: fn(&Counts) -> u64, fold: fn(u64, u64) -> u64| {
            counted
                .iter()
                .filter_map(|r| r.sample.counts.as_ref().map(pick))
                .reduce(fold)
                .unwrap_or(0)
        };
        let cpu: Vec<f64> = counted
            .iter()
            .map(|r| r.sample.cpu_user + r.sample.cpu_system)
            .collect();
        let wall_total: f64 = walls.iter().sum();
        let cpu_util = if wall_total > 0.0 {
            cpu.iter().sum::<f64>() / wall_total / f64::from(cores.max(1))
        } else {
            0.0
        };
        let green = counted.iter().filter(|r| r.sample.green()).count();
        let coverage = counted
            .iter()
            .filter_map(|r| r.extras.coverage.as_ref())
            .min_by(|a, b| a.percent.total_cmp(&b.percent))
            .cloned();
        let rss_growth_mb = counted
            .iter()
            .filter_map(|r| r.extras.rss_growth_kb)
            .max()
            .map(|kb| kb as f64 / 1024.0);
        let durations = median_durations(&counted);
        let times: Vec<f64> = durations.values().copied().collect();
        let flaky = flaky_tests(&counted);
        let failures = failures(&counted);
        let test_set = (framework == Framework::Pytest).then(|| test_set(&counted));
        let warmup = u32::try_from(warm.len()).unwrap_or(u32::MAX);
        warnings.extend(outliers::warnings(&walls, warmup));
        if green < counted.len() {
            warnings.push(format!(
                "{} of {} counted runs were not green (non-zero exit, failure or error)",
                counted.len() - green,
                counted.len()
            ));
        }
        if !flaky.is_empty() {
            let shown: Vec<&str> = flaky.iter().take(5).map(String::as_str).collect();
            let more = flaky.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let noun = if flaky.len() == 1 { "test" } else { "tests" };
            warnings.push(format!(
                "{} flaky {noun}: {}{more}",
                flaky.len(),
                shown.join(", ")
            ));
        }
        Some(Record {
            command: command.to_string(),
            framework,
            warmup,
            runs: u32::try_from(counted.len()).unwrap_or(u32::MAX),
            wall,
            passed: count_of(|c| c.passed, u64::min),
            failed: count_of(|c| c.failed, u64::max),
            skipped: count_of(|c| c.skipped, u64::max),
            errors: count_of(|c| c.errors, u64::max),
            tests: count_of(|c| c.tests, u64::max),
            runs_green: green as f64 / counted.len() as f64,
            flaky,
            slowest: stats::max(&times),
            p95_test: stats::percentile(&times, 95.0),
            rss_peak_mb: stats::max(
                &counted
                    .iter()
                    .filter_map(|r| r.sample.rss_peak_mb)
                    .collect::<Vec<_>>(),
            ),
            cpu_util,
            cpu_seconds: stats::median(&cpu).unwrap_or(0.0),
            cores,
            slowest_tests: slowest(&durations),
            failures,
            durations,
            samples: warm.into_iter().chain(counted).map(|r| r.sample).collect(),
            warnings,
            budgets: BTreeMap::new(),
            over_budget: Vec::new(),
            coverage,
            rss_growth_mb,
            test_set,
            comparison: None,
            shards: None,
        })
    }

    /// The record with its tests held to `budgets`; `markers` gives each test's marker names
    /// (for budgets keyed by a marker expression).
    pub fn with_budgets(
        mut self,
        budgets: &[Budget],
        markers: &BTreeMap<String, BTreeSet<String>>,
    ) -> Record {
        self.budgets = budgets.iter().map(|b| (b.key.clone(), b.seconds)).collect();
        self.over_budget = budget::over_budget(&self.durations, markers, budgets);
        self.warnings
            .extend(budget::unmatched(&self.durations, markers, budgets));
        self
    }

    /// The value of a metric path (one of [`crate::metrics::METRICS`]); `None` for an unknown path or a metric
    /// this record has no value for (test metrics of `framework = command`, a single run's
    /// stddev, memory that could not be sampled).
    /// The per-run samples behind a per-run metric (the counted runs' wall or CPU seconds),
    /// which gates comparing two records decide on; `None` for every other metric.
    pub fn run_samples(&self, path: &str) -> Option<Vec<f64>> {
        if !crate::metrics::PER_RUN.contains(&path) {
            return None;
        }
        let counted = self.samples.iter().filter(|s| !s.warmup);
        let values: Vec<f64> = if path == "cpu_seconds" {
            counted.map(|s| s.cpu_user + s.cpu_system).collect()
        } else {
            counted.map(|s| s.wall).collect()
        };
        (!values.is_empty()).then_some(values)
    }

    pub fn metric(&self, path: &str) -> Option<f64> {
        let tests = self.framework == Framework::Pytest;
        let count = |n: u64| tests.then_some(n as f64);
        match path {
            "wall.min" => Some(self.wall.min),
            "wall.median" => Some(self.wall.median),
            "wall.mean" => Some(self.wall.mean),
            "wall.max" => Some(self.wall.max),
            "wall.stddev" => self.wall.stddev,
            "passed" => count(self.passed),
            "failed" => count(self.failed),
            "skipped" => count(self.skipped),
            "errors" => count(self.errors),
            "tests" => count(self.tests),
            "flaky" => count(self.flaky.len() as u64),
            "runs_green" => Some(self.runs_green),
            "slowest" => self.slowest.filter(|_| tests),
            "p95_test" => self.p95_test.filter(|_| tests),
            "rss_peak_mb" => self.rss_peak_mb,
            "cpu_util" => Some(self.cpu_util),
            "cpu_seconds" => Some(self.cpu_seconds),
            "runs" => Some(f64::from(self.runs)),
            "warmup" => Some(f64::from(self.warmup)),
            "over_budget" => {
                count(self.over_budget.len() as u64).filter(|_| !self.budgets.is_empty())
            }
            "coverage" => self.coverage.as_ref().map(|c| c.percent),
            "rss_growth_mb" => self.rss_growth_mb,
            "shards" => self.shards.as_ref().map(|s| f64::from(s.count)),
            "balance" => self.shards.as_ref().and_then(|s| s.balance),
            "shard_wall.min" => self
                .shards
                .as_ref()
                .and_then(|s| super::stats::min(&s.walls)),
            "shard_wall.max" => self
                .shards
                .as_ref()
                .and_then(|s| super::stats::max(&s.walls)),
            _ => None,
        }
    }
}

/// A run with its unbelievable values taken out, each named through `warn`: counts above the
/// number of tests are capped at it, and negative or non-finite test times become 0 (unknown),
/// so no metric shows `passed` above `tests` or a negative `slowest`.
fn sanitize(mut run: RunResult, warn: &mut dyn FnMut(String)) -> RunResult {
    run.warnings.drain(..).for_each(&mut *warn);
    if let Some(c) = run.sample.counts.as_mut() {
        let tests = c.tests;
        let mut capped = false;
        for n in [&mut c.passed, &mut c.failed, &mut c.skipped] {
            capped |= *n > tests;
            *n = (*n).min(tests);
        }
        if capped {
            warn(format!(
                "a run counted more results than its {tests} tests; counts capped at {tests}"
            ));
        }
    }
    let mut bad = 0usize;
    for t in &mut run.tests {
        if !t.time.is_finite() || t.time < 0.0 {
            t.time = 0.0;
            bad += 1;
        }
    }
    if bad > 0 {
        warn(format!(
            "{bad} negative or non-finite test time(s), taken as unknown (0)"
        ));
    }
    run
}

/// Each test's median time over the runs it appeared in.
fn median_durations(runs: &[RunResult]) -> BTreeMap<String, f64> {
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for test in runs.iter().flat_map(|r| &r.tests) {
        times.entry(&test.id).or_default().push(test.time);
    }
    times
        .into_iter()
        .filter_map(|(id, ts)| Some((id.to_string(), stats::median(&ts)?)))
        .collect()
}

/// Tests seen with more than one outcome across the runs, sorted. A test missing from a run is
/// not counted as a change: a run that crashed before reaching it says nothing about it.
fn flaky_tests(runs: &[RunResult]) -> Vec<String> {
    let mut outcomes: BTreeMap<&str, BTreeSet<Outcome>> = BTreeMap::new();
    for test in runs.iter().flat_map(|r| &r.tests) {
        outcomes.entry(&test.id).or_default().insert(test.outcome);
    }
    outcomes
        .into_iter()
        .filter(|(_, seen)| seen.len() > 1)
        .map(|(id, _)| id.to_string())
        .collect()
}

/// The tests that failed or errored in any of `runs`, each with how many runs and its last text.
fn failures(runs: &[RunResult]) -> Vec<TestFailure> {
    let mut found: Vec<TestFailure> = Vec::new();
    for test in runs.iter().flat_map(|r| &r.tests) {
        if !matches!(test.outcome, Outcome::Failed | Outcome::Error) {
            continue;
        }
        let at = match found.iter().position(|f| f.id == test.id) {
            Some(i) => i,
            None if found.len() < FAILURES_KEPT => {
                found.push(TestFailure {
                    id: test.id.clone(),
                    outcome: test.outcome,
                    ..TestFailure::default()
                });
                found.len() - 1
            }
            None => continue,
        };
        let f = &mut found[at];
        f.runs += 1;
        if test.outcome == Outcome::Failed {
            f.outcome = Outcome::Failed;
        }
        f.file = test.file.clone().or(f.file.take());
        f.line = test.line.or(f.line);
        f.message = test.message.clone().or(f.message.take());
        if let Some(text) = &test.text {
            f.text = Some(tail_chars(text, FAILURE_TEXT_KEPT));
        }
    }
    found
}

/// The last `n` characters of `text`.
fn tail_chars(text: &str, n: usize) -> String {
    let skip = text.chars().count().saturating_sub(n);
    text.chars().skip(skip).collect()
}

/// The slowest tests, slowest first, ties by id.
pub(super) fn slowest(durations: &BTreeMap<String, f64>) -> Vec<TestTime> {
    let mut all: Vec<TestTime> = durations
        .iter()
        .map(|(id, &seconds)| TestTime {
            id: id.clone(),
            seconds,
        })
        .collect();
    all.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.id.cmp(&b.id))
    });
    all.truncate(SLOWEST_KEPT);
    all
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
