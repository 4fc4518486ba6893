//! `planrun report merge`: the reports of a CI matrix's shard jobs joined into the report of
//! the whole suite ([`crate::measure::shard_merge`]), checked, summarised, optionally written
//! with the durations file the next run balances from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::MergeArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::paths::REPORT_JSON;
use crate::measure::shard;
use crate::measure::shard_merge;
use crate::report::json::{from_json, to_json};
use crate::report::model::RunReport;
use crate::ui;

/// The largest report read.
const REPORT_MAX_BYTES: u64 = 256 << 20;

/// Runs `planrun report merge`.
pub fn run(args: &MergeArgs) -> Result<u8> {
    let reports = args
        .reports
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>>>()?;
    check_jobs(&reports)?;
    let gates = match &args.plan {
        Some(plan) => plan_gates(plan, &reports[0].1.plan.name)?,
        None => Vec::new(),
    };
    let merged = merge(reports)?;
    for (name, r) in &merged.records {
        let Some(f) = &r.shards else { continue };
        let walls: Vec<String> = f.walls.iter().map(|w| format!("{w:.2}")).collect();
        ui::out(&format!(
            "{name}: {} shards, wall {:.2}s (the slowest shard; shards {} s), balance {}, {} tests, CPU {:.1}s",
            f.count,
            r.wall.median,
            walls.join(" "),
            f.balance.map_or("-".into(), |b| format!("{:.0}%", b * 100.0)),
            r.tests,
            r.cpu_seconds,
        ));
    }
    if let Some(out) = &args.output {
        write(out, &to_json(&merged))?;
    }
    if let Some(out) = &args.durations {
        let mut durations = std::collections::BTreeMap::new();
        for r in merged.records.values().filter(|r| r.shards.is_some()) {
            durations.extend(r.durations.clone());
        }
        write(out, &shard::durations_json(&durations))?;
    }
    let mut failed = false;
    let mut checks = gates;
    checks.extend(args.checks.iter().cloned());
    for check in &checks {
        let expr = crate::criteria::parse(check).map_err(|e| {
            Error::invalid(
                format!("--check `{check}`: {e}"),
                Some("write a criterion as a plan's gate would, e.g. `after.balance >= 0.9`"),
            )
        })?;
        let verdict = expr
            .evaluate(&|record, metric| merged.records.get(record)?.metric(metric))
            .map_err(|e| {
                Error::invalid(
                    format!("--check `{check}`: {e}"),
                    Some("name a record the reports hold and a metric of it, e.g. `after.wall.median`"),
                )
            })?;
        failed |= !verdict.pass;
        ui::out(&format!(
            "check {} ... {}",
            verdict.explanation,
            if verdict.pass { "pass" } else { "FAIL" }
        ));
    }
    Ok(if failed { exit::GATE_FAILED } else { exit::OK })
}

/// The jobs' reports as one: each record some report holds as one shard of a matrix joined
/// from every report's part, the others as the first report has them. The per-job gate
/// verdicts are dropped: they judged one shard (`--check` judges the whole).
fn merge(reports: Vec<(PathBuf, RunReport)>) -> Result<RunReport> {
    let mut base = reports
        .first()
        .map(|(_, r)| r.clone())
        .ok_or_else(|| Error::invalid("no report to merge", None))?;
    let names: std::collections::BTreeSet<String> = reports
        .iter()
        .flat_map(|(_, r)| r.records.keys().cloned())
        .collect();
    let mut any = false;
    for name in names {
        let parts: Vec<(String, crate::measure::record::Record)> = reports
            .iter()
            .filter_map(|(path, r)| {
                let record = r.records.get(&name)?;
                let part = record.shards.as_ref().is_some_and(|f| f.only.is_some());
                part.then(|| (path.display().to_string(), record.clone()))
            })
            .collect();
        if parts.is_empty() {
            continue;
        }
        any = true;
        let records: Vec<_> = parts.iter().map(|(_, r)| r.clone()).collect();
        if let Some(note) = shard_merge::unpaired_note(&name, &records) {
            ui::warn(&note);
        }
        let whole = shard_merge::merge(&name, parts).map_err(|e| {
            Error::invalid(
                e.to_string(),
                Some("pass the report.json of every job of the matrix, each once"),
            )
        })?;
        base.records.insert(name, whole);
    }
    if !any {
        return Err(Error::invalid(
            "none of the reports holds a record of one shard",
            Some("merge the reports of `planrun apply --shard i/N` jobs, one per shard"),
        ));
    }
    base.gates.clear();
    base.run_id = format!("{}-merged", base.run_id);
    Ok(base)
}

/// The reports are the jobs of one matrix: one plan applied alike (the same plan hash: file,
/// variables, stage), each a shard job of the same count, every shard once.
fn check_jobs(reports: &[(PathBuf, RunReport)]) -> Result<()> {
    let Some((first_path, first)) = reports.first() else {
        return Err(Error::invalid("no report to merge", None));
    };
    for (path, r) in &reports[1..] {
        if r.plan.hash != first.plan.hash {
            return Err(Error::invalid(
                format!(
                    "`{}` is a report of {}, but `{}` of {}: the jobs did not apply the same plan alike",
                    path.display(),
                    applied(r),
                    first_path.display(),
                    applied(first)
                ),
                Some("merge the reports of one matrix run's shard jobs (one workflow run's artifacts); a job with another version of the plan, other `--var` values or another `--stage` measured something else"),
            ));
        }
    }
    let mut by_shard: BTreeMap<u32, Vec<&Path>> = BTreeMap::new();
    let mut count: Option<(u32, &Path)> = None;
    for (path, r) in reports {
        let Some((index, n)) = slice(r) else {
            return Err(Error::invalid(
                format!(
                    "`{}` holds no record of one shard: it was not applied with `--shard i/N`",
                    path.display()
                ),
                Some("pass only the reports of the matrix's `planrun apply --shard i/N` jobs"),
            ));
        };
        match count {
            Some((c, other)) if c != n => return Err(Error::invalid(
                format!(
                    "`{}` is shard {index} of {n}, but `{}` is one of {c} shards",
                    path.display(),
                    other.display()
                ),
                Some("merge the jobs of one matrix: every job runs `--shard i/N` with the same N"),
            )),
            Some(_) => {}
            None => count = Some((n, path)),
        }
        by_shard.entry(index).or_default().push(path);
    }
    let n = count.map_or(0, |c| c.0);
    if let Some((index, paths)) = by_shard.iter().find(|(_, p)| p.len() > 1) {
        let paths: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(Error::invalid(
            format!(
                "shard {index} of {n} is given more than once: {}",
                paths.join(", ")
            ),
            Some("pass each job's report once (of a re-run job, its last attempt's)"),
        ));
    }
    let missing: Vec<String> = (1..=n)
        .filter(|i| !by_shard.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            format!(
                "no report is shard {} of {n}: the whole suite needs every shard",
                missing.join(", ")
            ),
            Some("pass the report of every job of the matrix; a job that failed before its suites ran left none to merge"),
        ));
    }
    Ok(())
}

/// The shard a job's report ran (`--shard i/N`), from its sharded records.
fn slice(r: &RunReport) -> Option<(u32, u32)> {
    r.records
        .values()
        .filter_map(|rec| rec.shards.as_ref())
        .find_map(|f| Some((f.only?, f.count)))
}

/// `plan `shards` (hash 1a2b3c4d)`, as an error names the plan a report applied.
fn applied(r: &RunReport) -> String {
    match r.plan.hash.get(..12) {
        Some(short) => format!("plan `{}` (hash {short})", r.plan.name),
        None => format!(
            "plan `{}` from a planrun that does not record the plan's hash",
            r.plan.name
        ),
    }
}

/// The `check` of every gate of the plan at `path`, in plan order; the plan must be the one
/// the reports name (`applied`).
fn plan_gates(path: &Path, applied: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("failed to read `{}`", path.display()), e))?;
    let plan: toml::Table = toml::from_str(&text).map_err(|e| {
        Error::invalid(
            format!("failed to parse `{}`: {e}", path.display()),
            Some("`planrun validate` on the plan says what is wrong"),
        )
    })?;
    let name = plan
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    if name != applied {
        return Err(Error::invalid(
            format!(
                "`--plan {}` is plan `{name}`, but the jobs applied plan `{applied}`",
                path.display()
            ),
            Some("give `--plan` the plan file the jobs applied"),
        ));
    }
    let phases = plan.get("phase").and_then(|p| p.as_array());
    Ok(phases
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("gate")?.as_array())
        .flatten()
        .filter_map(|g| Some(g.get("check")?.as_str()?.to_string()))
        .collect())
}

/// Reads a report.json (or the one in a directory).
fn read(path: &Path) -> Result<(PathBuf, RunReport)> {
    let file = if path.is_dir() {
        path.join(REPORT_JSON)
    } else {
        path.to_path_buf()
    };
    let bytes = crate::fsutil::read_nofollow(&file, REPORT_MAX_BYTES)
        .map_err(|e| Error::io(format!("failed to read `{}`", file.display()), e))?;
    let report = from_json(&String::from_utf8_lossy(&bytes)).map_err(|e| {
        Error::invalid(
            format!("failed to parse `{}`: {e}", file.display()),
            Some("pass the report.json a `planrun apply --shard i/N` job wrote"),
        )
    })?;
    Ok((file, report))
}

/// Writes `text` to `path` whole or not at all.
fn write(path: &Path, text: &str) -> Result<()> {
    crate::fsutil::write_atomic(path, text.as_bytes(), None)
        .map_err(|e| Error::io(format!("failed to write `{}`", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::shard_figures::ShardFigures;
    use crate::report::fixture;

    /// The report of a job that ran shard `index` of `count` of plan hash `hash`.
    fn job(index: u32, count: u32, hash: &str) -> (PathBuf, RunReport) {
        let mut report = fixture::sample();
        report.plan.hash = hash.into();
        let mut record = fixture::record();
        record.shards = Some(ShardFigures {
            count,
            only: Some(index),
            walls: vec![1.0],
            cpu: vec![1.0],
            runs: vec![vec![1.0]],
            balance: None,
            durations: None,
            collected: Vec::new(),
        });
        report.records = [("after".to_string(), record)].into();
        (PathBuf::from(format!("job{index}-of-{count}.json")), report)
    }

    fn refusal(reports: &[(PathBuf, RunReport)]) -> String {
        check_jobs(reports).unwrap_err().to_string()
    }

    #[test]
    fn the_jobs_of_one_matrix_pass() {
        assert!(check_jobs(&[job(2, 2, "h"), job(1, 2, "h")]).is_ok());
    }

    #[test]
    fn jobs_of_another_plan_or_matrix_are_named() {
        let e = refusal(&[job(1, 2, "aaaaaaaaaaaaaaaa"), job(2, 2, "bbbbbbbbbbbbbbbb")]);
        assert!(
            e.starts_with("`job2-of-2.json` is a report of plan `xdist` (hash bbbbbbbbbbbb), but `job1-of-2.json` of plan `xdist` (hash aaaaaaaaaaaa)"),
            "{e}"
        );
        let e = refusal(&[job(1, 2, ""), job(2, 2, "h")]);
        assert!(
            e.contains("from a planrun that does not record the plan's hash"),
            "{e}"
        );
        let e = refusal(&[job(1, 2, "h"), job(2, 3, "h")]);
        assert!(
            e.starts_with(
                "`job2-of-3.json` is shard 2 of 3, but `job1-of-2.json` is one of 2 shards"
            ),
            "{e}"
        );
        let e = refusal(&[job(1, 3, "h"), job(3, 3, "h")]);
        assert!(e.starts_with("no report is shard 2 of 3"), "{e}");
        let (path, mut whole) = job(1, 1, "h");
        whole.records.values_mut().for_each(|r| r.shards = None);
        let e = refusal(&[(path, whole)]);
        assert!(
            e.starts_with("`job1-of-1.json` holds no record of one shard"),
            "{e}"
        );
    }
}
