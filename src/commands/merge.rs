//! `planrun report merge`: the reports of a CI matrix's shard jobs joined into the report of
//! the whole suite ([`crate::measure::shard_merge`]), checked, summarised, optionally written
//! with the durations file the next run balances from.

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
    let mut checks = match &args.plan {
        Some(plan) => plan_gates(plan)?,
        None => Vec::new(),
    };
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

/// The `check` of every gate of the plan at `path`, in plan order.
fn plan_gates(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("failed to read `{}`", path.display()), e))?;
    let plan: toml::Table = toml::from_str(&text).map_err(|e| {
        Error::invalid(
            format!("failed to parse `{}`: {e}", path.display()),
            Some("`planrun validate` on the plan says what is wrong"),
        )
    })?;
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
