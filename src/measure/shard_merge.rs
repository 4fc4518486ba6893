//! Joining the records of a CI matrix's jobs, each of which ran one shard (`--shard i/N`), into
//! the record of the whole suite: the same metrics a local sharded run gives (wall = the
//! slowest shard's, run by run; CPU summed; tests unioned; the balance), once every shard is
//! there exactly once and every test ran in exactly one of them.

use std::collections::{BTreeMap, BTreeSet};

use super::balance;
use super::record::{Record, RunSample};
use super::shard_figures::ShardFigures;
use super::stats::{self, Summary};

/// Why the parts do not make a whole.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// A part was not measured with `--shard`.
    #[error("record `{record}` of `{part}` is not one shard of a matrix (it was not measured with `--shard i/N`)")]
    NotAPart {
        /// The record.
        record: String,
        /// Which report.
        part: String,
    },
    /// The parts split the suite differently.
    #[error("record `{record}` was split into {} shards in `{}` but into {} in `{}`", a.1, a.0, b.1, b.0)]
    Counts {
        /// The record.
        record: String,
        /// One report and its count.
        a: (String, u32),
        /// Another and its count.
        b: (String, u32),
    },
    /// Shards absent or given twice.
    #[error("record `{record}` of {count} shards: {problem}")]
    Shards {
        /// The record.
        record: String,
        /// How many shards.
        count: u32,
        /// Which are missing or twice.
        problem: String,
    },
    /// Tests missing from every shard or run in several.
    #[error("record `{record}`: {problem}; the jobs must balance the same durations (commit or cache the same `.test_durations` for every job) and collect the same tests")]
    Tests {
        /// The record.
        record: String,
        /// What went wrong.
        problem: String,
    },
}

/// The record of the whole suite from `parts` (each a record of one shard, named by where it
/// came from), checked: every shard once, every test collected ran in exactly one shard.
pub fn merge(record: &str, parts: Vec<(String, Record)>) -> Result<Record, MergeError> {
    let mut by_shard: BTreeMap<u32, Vec<(String, Record)>> = BTreeMap::new();
    let mut count: Option<(String, u32)> = None;
    for (name, r) in parts {
        let Some(f) = r.shards.as_ref().filter(|f| f.only.is_some()) else {
            return Err(MergeError::NotAPart {
                record: record.into(),
                part: name,
            });
        };
        match &count {
            Some(c) if c.1 != f.count => {
                return Err(MergeError::Counts {
                    record: record.into(),
                    a: c.clone(),
                    b: (name, f.count),
                })
            }
            Some(_) => {}
            None => count = Some((name.clone(), f.count)),
        }
        let index = f.only.unwrap_or_default();
        by_shard.entry(index).or_default().push((name, r));
    }
    let count = count.map_or(0, |c| c.1);
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_shard.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    let twice: Vec<String> = by_shard
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(i, v)| {
            let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
            format!("{i} ({})", names.join(", "))
        })
        .collect();
    if !missing.is_empty() || !twice.is_empty() {
        let mut said = Vec::new();
        if !missing.is_empty() {
            said.push(format!("no report holds shard {}", missing.join(", ")));
        }
        if !twice.is_empty() {
            said.push(format!("shard {} given twice", twice.join("; ")));
        }
        return Err(MergeError::Shards {
            record: record.into(),
            count,
            problem: said.join("; "),
        });
    }
    let parts: Vec<Record> = by_shard.into_values().flatten().map(|(_, r)| r).collect();
    check_tests(record, &parts)?;
    Ok(join(parts, count))
}

/// Every test the shards were chosen from ran in exactly one of them.
fn check_tests(record: &str, parts: &[Record]) -> Result<(), MergeError> {
    let mut shard_of: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut collected: BTreeSet<&str> = BTreeSet::new();
    for r in parts {
        let f = r.shards.as_ref();
        let index = f.and_then(|f| f.only).unwrap_or_default();
        collected.extend(
            f.into_iter()
                .flat_map(|f| f.collected.iter().map(String::as_str)),
        );
        let errors: BTreeSet<&str> = r
            .test_set
            .iter()
            .flat_map(|t| t.collection_errors.iter().map(|c| c.id.as_str()))
            .collect();
        for id in r
            .durations
            .keys()
            .filter(|id| !errors.contains(id.as_str()))
        {
            shard_of.entry(id).or_default().push(index);
        }
    }
    super::shard::uneven(&shard_of, &collected).map_err(|problem| MergeError::Tests {
        record: record.into(),
        problem,
    })
}

/// The shards' records (in shard order, checked) as one: run k of the whole is run k of every
/// shard, its wall the slowest shard's and its CPU the sum; counts summed; tests unioned.
fn join(parts: Vec<Record>, count: u32) -> Record {
    let counted: Vec<Vec<&RunSample>> = parts
        .iter()
        .map(|r| r.samples.iter().filter(|s| !s.warmup).collect())
        .collect();
    let runs = counted.iter().map(Vec::len).min().unwrap_or(0);
    let mut samples = Vec::new();
    let mut walls_by_run = Vec::new();
    for k in 0..runs {
        let row: Vec<&RunSample> = counted.iter().map(|c| c[k]).collect();
        walls_by_run.push(row.iter().map(|s| s.wall).collect::<Vec<f64>>());
        samples.push(joined_sample(&row));
    }
    let mut whole = parts[0].clone();
    let walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_user + s.cpu_system).collect();
    if let Some(w) = Summary::of(&walls) {
        whole.wall = w;
    }
    whole.runs = u32::try_from(runs).unwrap_or(u32::MAX);
    whole.cpu_seconds = stats::median(&cpu).unwrap_or(0.0);
    whole.runs_green = samples.iter().filter(|s| s.green()).count() as f64 / runs.max(1) as f64;
    let sum = |pick: fn(&Record) -> u64| parts.iter().map(pick).sum::<u64>();
    whole.passed = sum(|r| r.passed);
    whole.failed = sum(|r| r.failed);
    whole.skipped = sum(|r| r.skipped);
    whole.errors = sum(|r| r.errors);
    whole.tests = sum(|r| r.tests);
    whole.durations = parts.iter().flat_map(|r| r.durations.clone()).collect();
    let times: Vec<f64> = whole.durations.values().copied().collect();
    whole.slowest = stats::max(&times);
    whole.p95_test = stats::percentile(&times, 95.0);
    whole.slowest_tests = super::record::slowest(&whole.durations);
    whole.rss_peak_mb = stats::max(
        &parts
            .iter()
            .filter_map(|r| r.rss_peak_mb)
            .collect::<Vec<_>>(),
    );
    whole.rss_growth_mb = stats::max(
        &parts
            .iter()
            .filter_map(|r| r.rss_growth_mb)
            .collect::<Vec<_>>(),
    );
    let utils: Vec<f64> = parts.iter().map(|r| r.cpu_util).collect();
    whole.cpu_util = stats::mean(&utils).unwrap_or(0.0);
    let mut flaky: BTreeSet<String> = BTreeSet::new();
    let mut warnings: Vec<String> = Vec::new();
    whole.failures.clear();
    whole.over_budget.clear();
    for r in &parts {
        flaky.extend(r.flaky.iter().cloned());
        for w in &r.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        whole.failures.extend(r.failures.iter().cloned());
        whole.over_budget.extend(r.over_budget.iter().cloned());
    }
    whole.failures.truncate(super::record::FAILURES_KEPT);
    whole.flaky = flaky.into_iter().collect();
    whole.warnings = warnings;
    whole.test_set = parts[0].test_set.as_ref().map(|_| {
        let mut set = super::record::TestSet::default();
        let mut executed = BTreeSet::new();
        for t in parts.iter().filter_map(|r| r.test_set.as_ref()) {
            executed.extend(t.executed.iter().cloned());
            for c in &t.collection_errors {
                if !set.collection_errors.iter().any(|x| x.id == c.id) {
                    set.collection_errors.push(c.clone());
                }
            }
            for k in &t.known_failures {
                if !set.known_failures.contains(k) {
                    set.known_failures.push(k.clone());
                }
            }
        }
        set.executed = executed.into_iter().collect();
        set
    });
    whole.comparison = None;
    whole.samples = samples;
    let per = |pick: fn(&ShardFigures) -> &Vec<f64>| -> Vec<f64> {
        parts
            .iter()
            .map(|r| {
                r.shards
                    .as_ref()
                    .and_then(|f| pick(f).first().copied())
                    .unwrap_or(0.0)
            })
            .collect()
    };
    let balances: Vec<f64> = walls_by_run
        .iter()
        .filter_map(|w| balance::efficiency(w))
        .collect();
    whole.shards = Some(ShardFigures {
        count,
        only: None,
        walls: per(|f| &f.walls),
        cpu: per(|f| &f.cpu),
        runs: walls_by_run,
        balance: stats::median(&balances),
        durations: parts[0].shards.as_ref().and_then(|f| f.durations.clone()),
        collected: Vec::new(),
    });
    whole
}

/// Run k of every shard as one run of the whole: the slowest wall, CPU summed, counts summed,
/// the first failing shard's status and log.
fn joined_sample(row: &[&RunSample]) -> RunSample {
    let mut s = row[0].clone();
    for other in &row[1..] {
        s.wall = s.wall.max(other.wall);
        s.cpu_user += other.cpu_user;
        s.cpu_system += other.cpu_system;
        s.rss_peak_mb = match (s.rss_peak_mb, other.rss_peak_mb) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if s.green() && !other.green() {
            s.status = other.status;
            s.exit_code = other.exit_code;
            s.log = other.log.clone();
        }
        s.counts = match (s.counts, other.counts) {
            (Some(a), Some(b)) => Some(super::junit::Counts {
                tests: a.tests + b.tests,
                passed: a.passed + b.passed,
                failed: a.failed + b.failed,
                skipped: a.skipped + b.skipped,
                errors: a.errors + b.errors,
            }),
            (a, b) => a.or(b),
        };
    }
    s.memory.clear();
    s.pair = None;
    s
}

/// Why the merged `record` has no paired interval although its `parts` were measured in
/// interleaved pairs (`None` when none was). Each job's pairs cancel its own machine's drift,
/// but pair k of the whole would take each state's slowest shard, which can be another job's in
/// each state: the joined pair would compare two machines, the very difference pairs exist to
/// cancel. So the merged record is compared on medians, like a sequential one.
pub fn unpaired_note(record: &str, parts: &[Record]) -> Option<String> {
    let with = &parts
        .iter()
        .filter_map(|r| r.comparison.as_ref())
        .find(|c| c.mode == super::record::INTERLEAVED)?
        .with;
    Some(format!(
        "`{record}` was measured in interleaved pairs with `{with}` within each job; pairs are not joined across jobs (each state's slowest shard can be another job's machine, the difference pairs cancel), so the merged `{record}` is compared on medians, without a paired interval"
    ))
}

#[cfg(test)]
#[path = "shard_merge_tests.rs"]
mod tests;
