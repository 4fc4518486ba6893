//! Sharded suites: one run of the suite is N pytest processes at once, each running the tests
//! [`super::balance`] gave its shard, and their results become one run: its wall the slowest
//! shard's (what a CI matrix waits for), its CPU the sum, its tests the union, in which a test
//! missing or run twice fails the suite. With `--shard i/N` (a CI matrix job) one process runs
//! shard i alone, and `planrun report merge` joins the jobs' records ([`super::shard_merge`]).
//!
//! Every process collects the whole suite and keeps its own shard (the `planrun_live` plugin
//! reads the balance from `PLANRUN_SHARD_PLAN`), as pytest-split does: no extra collection
//! pass, and a test no duration names is placed the same way in every process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::balance::{self, Balance};
use super::junit::{Counts, Outcome};
use super::record::RunResult;
pub use super::shard_figures::{ShardFigures, ShardRun};

/// The most shards a suite may have.
pub const MAX_SHARDS: u32 = 64;

/// The environment variable that stands for `--shard i/N`.
pub const SHARD_ENV: &str = "PLANRUN_SHARD";

/// pytest-split's durations file, which a sharded suite balances from when the target has one.
pub const DURATIONS_FILE: &str = ".test_durations";

/// The largest durations file read (a target's file is not trusted to be small).
const DURATIONS_MAX_BYTES: u64 = 64 << 20;

/// How many shards a suite step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shards {
    /// `shards = N`.
    Count(u32),
    /// `shards = "matrix"`: as many as `--shard i/N` says.
    Matrix,
}

/// One shard of N, from `--shard i/N` (i from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    /// The shard, from 1.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl std::str::FromStr for Slice {
    type Err = String;

    fn from_str(text: &str) -> Result<Slice, String> {
        let bad = || {
            format!("`{text}` is no shard: write `i/N`, e.g. `2/4` (shard 2 of 4, 1 <= i <= N <= {MAX_SHARDS})")
        };
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Slice { index, count })
    }
}

impl std::fmt::Display for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard count a step runs with under `slice` (from `--shard`): `None` to run whole, or
/// an error when the plan and the slice disagree.
pub fn resolve(shards: Shards, slice: Option<Slice>) -> Result<Option<u32>, String> {
    match (shards, slice) {
        (Shards::Count(n), Some(s)) if s.count != n => Err(format!(
            "`--shard {s}` splits into {} shards but the step says `shards = {n}`",
            s.count
        )),
        (Shards::Count(n), _) => Ok(Some(n)),
        (Shards::Matrix, Some(s)) => Ok(Some(s.count)),
        (Shards::Matrix, None) => Ok(None),
    }
}

/// What the suite runner needs of a sharded suite.
#[derive(Debug, Clone)]
pub struct ShardSpec {
    /// How many shards.
    pub count: u32,
    /// The one shard this process runs (`--shard i/N`); `None`: all of them at once.
    pub only: Option<u32>,
    /// Seconds by test id the shards are balanced from; a local suite adds its own runs'.
    pub durations: Arc<Mutex<BTreeMap<String, f64>>>,
    /// Where the durations came from, e.g. `.test_durations`; `None`: there were none.
    pub source: Option<String>,
}

impl PartialEq for ShardSpec {
    fn eq(&self, other: &ShardSpec) -> bool {
        (self.count, self.only, &self.source) == (other.count, other.only, &other.source)
    }
}

impl ShardSpec {
    /// A spec balancing from `durations` (from `source`).
    pub fn new(
        count: u32,
        only: Option<u32>,
        durations: BTreeMap<String, f64>,
        source: Option<String>,
    ) -> ShardSpec {
        ShardSpec {
            count,
            only,
            durations: Arc::new(Mutex::new(durations)),
            source,
        }
    }

    /// The balance of the durations known now.
    fn balance(&self) -> Balance {
        let durations = self.durations.lock().map(|d| d.clone()).unwrap_or_default();
        Balance::of(&durations, self.count)
    }

    /// Learns the times of a local run's tests, so the next run is balanced on them. A CI job
    /// learns nothing: every job must balance the same durations to agree on the shards.
    fn learn(&self, run: &RunResult) {
        if self.only.is_some() {
            return;
        }
        if let Ok(mut durations) = self.durations.lock() {
            for t in &run.tests {
                if t.time.is_finite() && t.time >= 0.0 {
                    durations.insert(t.id.clone(), t.time);
                }
            }
        }
    }
}

/// The shard spec of a suite asking for `shards` in an apply given `slice` (`--shard`), in
/// `target`, after the records `earlier`; `None` to run whole. A matrix job balances from the
/// target's [`DURATIONS_FILE`] alone, which every job has alike; a local suite also from the
/// earlier records of the apply (a later record's times win) and then from its own runs.
pub fn spec_for<'a>(
    shards: Shards,
    slice: Option<Slice>,
    target: &Path,
    earlier: impl Iterator<Item = &'a super::record::Record>,
) -> Option<ShardSpec> {
    let count = resolve(shards, slice).ok()??;
    let mut durations = BTreeMap::new();
    let mut sources = Vec::new();
    if let Some(d) = read_durations(&target.join(DURATIONS_FILE)).filter(|d| !d.is_empty()) {
        durations.extend(d);
        sources.push(format!("`{DURATIONS_FILE}`"));
    }
    if slice.is_none() {
        let timed: Vec<_> = earlier.filter(|r| !r.durations.is_empty()).collect();
        for r in &timed {
            durations.extend(r.durations.iter().map(|(k, v)| (k.clone(), *v)));
        }
        if !timed.is_empty() {
            sources.push("the earlier records".to_string());
        }
    }
    let source = (!durations.is_empty()).then(|| sources.join(" and "));
    Some(ShardSpec::new(
        count,
        slice.map(|s| s.index),
        durations,
        source,
    ))
}

/// Reads pytest-split's durations file (`{"test id": seconds}`, or its older list of
/// `[id, seconds]` pairs); `None` when there is none or it cannot be used (logged).
pub fn read_durations(path: &Path) -> Option<BTreeMap<String, f64>> {
    let bytes = match crate::fsutil::read_nofollow(path, DURATIONS_MAX_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("cannot read `{}` ({e}); ignored", path.display());
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let parsed: Result<BTreeMap<String, f64>, _> = serde_json::from_str(&text).or_else(|_| {
        serde_json::from_str::<Vec<(String, f64)>>(&text).map(|v| v.into_iter().collect())
    });
    match parsed {
        Ok(d) => Some(
            d.into_iter()
                .filter(|(_, s)| s.is_finite() && *s >= 0.0)
                .collect(),
        ),
        Err(e) => {
            tracing::warn!("`{}` is no durations file ({e}); ignored", path.display());
            None
        }
    }
}

/// `durations` in pytest-split's format, sorted by id, to commit or cache as `.test_durations`.
pub fn durations_json(durations: &BTreeMap<String, f64>) -> String {
    let rounded: BTreeMap<&str, f64> = durations
        .iter()
        .map(|(k, v)| (k.as_str(), (v * 1e6).round() / 1e6))
        .collect();
    serde_json::to_string_pretty(&rounded).unwrap_or_default() + "\n"
}

/// The shard one process of a sharded run keeps.
#[derive(Debug, Clone)]
pub struct Part {
    /// The shard, from 1.
    pub shard: u32,
    /// The balance file its plugin reads.
    pub plan: PathBuf,
    /// The file its plugin reports its tests to as they end, beside `plan`.
    pub live: PathBuf,
}

/// The processes of one run of `sh` balanced by the file `plan`: every shard at once, or the
/// one `--shard` gave.
pub fn parts(sh: &ShardSpec, plan: &Path) -> Vec<Part> {
    let shards = match sh.only {
        Some(i) => i..=i,
        None => 1..=sh.count,
    };
    shards
        .map(|shard| Part {
            shard,
            plan: plan.to_path_buf(),
            live: plan.with_file_name(format!("live-{shard}.jsonl")),
        })
        .collect()
}

/// Why a sharded run gave no result.
#[derive(Debug)]
pub enum RunFailure<E> {
    /// The balance file could not be written.
    Prepare(std::io::Error),
    /// A shard's process failed.
    Process(E),
    /// The shards did not run every test exactly once.
    Uneven(String),
}

/// One run of a sharded suite: `process` for each shard at once (or the one `--shard` gave),
/// told the balance through the file `plan` (which is removed after), made one [`RunResult`].
pub fn run<E: Send>(
    sh: &ShardSpec,
    plan: &Path,
    process: &(dyn Fn(Part) -> Result<RunResult, E> + Sync),
) -> Result<RunResult, RunFailure<E>> {
    // Each process keeps the shard its `PLANRUN_SHARD_INDEX` names.
    let text = serde_json::to_string(&sh.balance()).unwrap_or_default();
    crate::fsutil::write_atomic(plan, text.as_bytes(), None).map_err(RunFailure::Prepare)?;
    let parts = parts(sh, plan);
    let shards: Vec<u32> = parts.iter().map(|p| p.shard).collect();
    let results: Vec<Option<Result<RunResult, E>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || process(part)))
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let _ = std::fs::remove_file(plan);
    let mut parts = Vec::new();
    for (shard, result) in shards.into_iter().zip(results) {
        match result {
            Some(Ok(r)) => parts.push((shard, r)),
            Some(Err(e)) => return Err(RunFailure::Process(e)),
            None => return Err(RunFailure::Uneven(format!("shard {shard} panicked"))),
        }
    }
    let run = combine(parts, sh.only.is_none()).map_err(RunFailure::Uneven)?;
    sh.learn(&run);
    Ok(run)
}

/// The shards' results as one run; with `check`, every test the shards were chosen from ran in
/// exactly one shard, else the error says which did not.
pub fn combine(parts: Vec<(u32, RunResult)>, check: bool) -> Result<RunResult, String> {
    let mut shard_of: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut collected: BTreeSet<&str> = BTreeSet::new();
    for (shard, r) in &parts {
        collected.extend(r.extras.all_tests.iter().map(String::as_str));
        for t in r.tests.iter().filter(|t| !collection_error(t)) {
            shard_of.entry(&t.id).or_default().push(*shard);
        }
    }
    if check {
        uneven(&shard_of, &collected)?;
    }
    let collected: Vec<String> = collected.into_iter().map(str::to_string).collect();
    let mut runs: Vec<ShardRun> = Vec::new();
    let mut combined: Option<RunResult> = None;
    for (shard, r) in parts {
        runs.push(ShardRun {
            shard,
            wall: r.sample.wall,
            cpu_seconds: r.sample.cpu_user + r.sample.cpu_system,
            tests: r.sample.counts.map_or(r.tests.len() as u64, |c| c.tests),
            log: r.sample.log.clone(),
        });
        combined = Some(match combined {
            None => r,
            Some(acc) => add(acc, r),
        });
    }
    let mut run = combined.ok_or("no shard ran")?;
    run.extras.shards = runs;
    run.extras.all_tests = collected;
    Ok(run)
}

/// What the shards' tests got wrong, given the shards each test ran in and the tests they were
/// chosen from: the tests that ran in no shard and those that ran in several, named.
pub fn uneven(
    shard_of: &BTreeMap<&str, Vec<u32>>,
    collected: &BTreeSet<&str>,
) -> Result<(), String> {
    let twice: Vec<String> = shard_of
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(id, s)| {
            let s: Vec<String> = s.iter().map(u32::to_string).collect();
            format!("{id} (shards {})", s.join(", "))
        })
        .collect();
    let missing: Vec<&str> = collected
        .iter()
        .filter(|id| !shard_of.contains_key(*id))
        .copied()
        .collect();
    let mut said = Vec::new();
    if !missing.is_empty() {
        said.push(format!(
            "{} collected test(s) ran in no shard: {}",
            missing.len(),
            shown(missing.iter().copied())
        ));
    }
    if !twice.is_empty() {
        said.push(format!(
            "{} test(s) ran in more than one shard: {}",
            twice.len(),
            shown(twice.iter().map(String::as_str))
        ));
    }
    match said.is_empty() {
        true => Ok(()),
        false => Err(said.join("; ")),
    }
}

/// The first few of `ids` and how many more.
fn shown<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = ids.collect();
    let more = all.len().saturating_sub(5);
    let head = all[..all.len().min(5)].join(", ");
    if more > 0 {
        format!("{head} and {more} more")
    } else {
        head
    }
}

fn collection_error(t: &super::junit::TestResult) -> bool {
    t.outcome == Outcome::Error && t.message.as_deref() == Some("collection failure")
}

/// Two shards' results as one run of the machine they shared: the slower wall, CPU summed, a
/// failed status (and its log) kept, counts summed, collection errors once.
fn add(mut acc: RunResult, r: RunResult) -> RunResult {
    let (a, b) = (&mut acc.sample, &r.sample);
    a.wall = a.wall.max(b.wall);
    a.cpu_user += b.cpu_user;
    a.cpu_system += b.cpu_system;
    a.rss_peak_mb = match (a.rss_peak_mb, b.rss_peak_mb) {
        (Some(x), Some(y)) => Some(x + y),
        (x, y) => x.or(y),
    };
    if a.status.success() && !b.status.success() {
        a.status = b.status;
        a.exit_code = b.exit_code;
        a.log = b.log.clone();
    } else if a.green() && !b.green() {
        a.log = b.log.clone();
    }
    a.counts = match (a.counts, b.counts) {
        (Some(x), Some(y)) => Some(sum(x, y)),
        (x, y) => x.or(y),
    };
    a.memory.clear();
    let seen: BTreeSet<String> = acc
        .tests
        .iter()
        .filter(|t| collection_error(t))
        .map(|t| t.id.clone())
        .collect();
    let mut errors_dropped = 0;
    for t in r.tests {
        if collection_error(&t) && seen.contains(&t.id) {
            errors_dropped += 1;
            continue;
        }
        acc.tests.push(t);
    }
    if let Some(c) = acc.sample.counts.as_mut() {
        c.errors = c.errors.saturating_sub(errors_dropped);
        c.tests = c.tests.saturating_sub(errors_dropped);
    }
    for w in r.warnings {
        if !acc.warnings.contains(&w) {
            acc.warnings.push(w);
        }
    }
    let x = &mut acc.extras;
    for (id, names) in r.extras.markers {
        x.markers.entry(id).or_default().extend(names);
    }
    x.rss_growth_kb = x.rss_growth_kb.max(r.extras.rss_growth_kb);
    acc
}

fn sum(a: Counts, b: Counts) -> Counts {
    Counts {
        tests: a.tests + b.tests,
        passed: a.passed + b.passed,
        failed: a.failed + b.failed,
        skipped: a.skipped + b.skipped,
        errors: a.errors + b.errors,
    }
}

/// The shard figures of a record's counted runs; `None` for a suite that was not sharded.
pub fn figures(sh: &ShardSpec, counted: &[&RunResult]) -> Option<ShardFigures> {
    let runs: Vec<&[ShardRun]> = counted
        .iter()
        .map(|r| r.extras.shards.as_slice())
        .filter(|s| !s.is_empty())
        .collect();
    let first = runs.first()?;
    let per = |pick: fn(&ShardRun) -> f64| -> Vec<f64> {
        (0..first.len())
            .map(|i| {
                let xs: Vec<f64> = runs.iter().filter_map(|r| r.get(i)).map(pick).collect();
                super::stats::median(&xs).unwrap_or(0.0)
            })
            .collect()
    };
    let walls_by_run: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.iter().map(|s| s.wall).collect())
        .collect();
    let balances: Vec<f64> = walls_by_run
        .iter()
        .filter_map(|w| balance::efficiency(w))
        .collect();
    Some(ShardFigures {
        count: sh.count,
        only: sh.only,
        walls: per(|s| s.wall),
        cpu: per(|s| s.cpu_seconds),
        runs: walls_by_run,
        balance: match sh.only {
            Some(_) => None,
            None => super::stats::median(&balances),
        },
        durations: sh.source.clone(),
        collected: match sh.only {
            Some(_) => counted
                .last()
                .map(|r| r.extras.all_tests.clone())
                .unwrap_or_default(),
            None => Vec::new(),
        },
    })
}

/// A warning for a sharded record balanced without durations.
pub fn even_split_note(sh: &ShardSpec) -> Option<String> {
    sh.source.is_none().then(|| match sh.only {
        Some(_) => format!(
            "no `{DURATIONS_FILE}` in the target to balance {} shards on (a matrix job balances from it alone, so that every job agrees): the tests were split evenly by count; `planrun report merge --durations {DURATIONS_FILE}` writes one",
            sh.count
        ),
        None => format!(
            "no test durations to balance {} shards on (no `{DURATIONS_FILE}` in the target and no earlier record): the first run split the tests evenly by count",
            sh.count
        ),
    })
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
