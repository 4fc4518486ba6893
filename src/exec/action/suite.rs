//! The `suite` action: a test suite run timed and repeated (or taken from a saved baseline),
//! measured in pairs with the record a gate compares it with when the changes between them
//! can be switched, and stored as a record.

use std::path::Path;

use super::{writes::record_caches, Action, Reads, Schedule, StepResult};
use crate::exec::context::StepContext;
use crate::exec::events::{Event, NewRecord, StepOutput};
use crate::exec::failure::{Failure, StepError};
use crate::exec::gates;
use crate::exec::outcome::{Detail, Note};
use crate::exec::planned::StepPreview;
use crate::exec::steplog::{log_path, suite_failed};
use crate::measure::suite::{self, SuiteSpec};
use crate::plan::compiled::{Runs, Suite};
use crate::plan::model::Framework;
use crate::styled::Style;

impl Action for Suite {
    /// A timed suite runs alone, so no neighbour skews its times; it reads the records so far
    /// (an adaptive one for its gates, `timeout = "auto"` for the slowest run) and the record
    /// it is measured in pairs with.
    fn schedule(&self) -> Schedule {
        Schedule {
            exclusive: true,
            serial: false,
            reads: Reads::RecordsAndPartner,
        }
    }

    fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
        run(ctx, self)
    }

    fn uses_python(&self, python: &str) -> bool {
        self.command.contains(python)
    }

    fn preview(&self, p: &mut StepPreview<'_>) {
        let s = self;
        p.out.suites += 1;
        p.planned.commands.push(s.command.clone());
        let timed = format!(
            "(timed: {} + {} -> record `{}`; {}{})",
            match s.warmup_collect {
                true => "a `--collect-only` warmup".to_string(),
                false => format!("{} warmup", s.warmup),
            },
            s.runs,
            s.record,
            match s.process.timeout {
                Some(t) => format!("timeout {}", humantime::format_duration(t)),
                None => format!(
                    "timeout auto: {}x the slowest run so far + {}s",
                    suite::AUTO_TIMEOUT_FACTOR,
                    suite::AUTO_TIMEOUT_MARGIN.as_secs()
                ),
            },
            extras(s)
        );
        p.line(|l| {
            l.plain(format!("    $ {}  ", s.command))
                .styled(Style::Dim, timed);
        });
        if !s.budgets.is_empty() {
            let derived = crate::measure::budget::derived(&s.budgets, &p.prep.target);
            p.dim_line("    ", &format!("budgets here: {}", derived.join("; ")));
        }
        if s.baseline && p.known.contains_key(&s.record) {
            p.dim_line(
                "  ",
                &format!(
                    "(not run: record `{}` comes from the saved baseline)",
                    s.record
                ),
            );
        }
    }
}

fn run(ctx: &StepContext<'_>, s: &Suite) -> StepResult {
    let prep = ctx.prep;
    record_caches(ctx)?;
    if s.baseline {
        if let Some(source) = &ctx.opts.baseline {
            let record =
                crate::exec::baseline::load(&prep.target, source).map_err(Failure::Baseline)?;
            let record = crate::exec::red::settle(ctx, s, record)?;
            return Ok(StepOutput {
                note: Some(Note::FromBaseline {
                    record: s.record.clone(),
                    source: source.clone(),
                }),
                record: Some(NewRecord {
                    name: s.record.clone(),
                    record: Box::new(record),
                    source: Some(source.clone()),
                }),
                ..StepOutput::default()
            });
        }
    }
    // The apply holds the target's lock, so junit directories of other runs are leftovers.
    if let Some(runs_dir) = ctx.run_dir.parent() {
        for gone in suite::clean_stale_junit(runs_dir, ctx.run_dir) {
            tracing::debug!("removed stale `{}`", gone.display());
        }
    }
    let spec = suite_spec(ctx, s)?;
    let id = s.id.clone();
    // A suite compared with an earlier record expects its runs to take about as long.
    let typical = ctx
        .partner
        .map(|p| p.measured.wall.median)
        .filter(|m| m.is_finite() && *m > 0.0)
        .map(std::time::Duration::from_secs_f64);
    let min_runs = spec.runs;
    let mut on_progress = |p: suite::Progress| {
        ctx.emit.emit(Event::StepDetail {
            id: id.clone(),
            detail: Detail::Run {
                warmup: p.warmup,
                index: p.index,
                of: p.of,
                expected: if p.warmup { p.of } else { min_runs.min(p.of) },
                took: p.finished,
                typical,
                live: p.live,
            },
        });
    };
    // An adaptive suite stops once every gate it can already be judged by is conclusive.
    let plan = &ctx.prep.plan;
    let mut enough = |so_far: &crate::measure::record::Record| {
        gates::settled(plan, &s.record, so_far, ctx.records)
    };
    // A suite compared with a record measured before the changes since is measured in pairs
    // with it, the target switched between the two states, when the changes allow.
    use crate::exec::interleave::{measure, Measured};
    let measured = ctx
        .partner
        .map(|p| measure(ctx, s, &spec, p, &suite_spec(ctx, &p.step)?))
        .transpose()?;
    let (record, partner) = match measured {
        Some(Measured::Interleaved(record, partner)) => (*record, Some(partner)),
        other => {
            let mut record =
                suite::run_suite_until(&spec, ctx.control, &mut on_progress, &mut enough)
                    .map_err(|e| suite_failed(ctx, e))?;
            if let Some(Measured::Sequential(comparison)) = other {
                record.comparison = Some(comparison);
            }
            (record, None)
        }
    };
    let record = crate::exec::red::settle(ctx, s, record)?;
    finish_suite(ctx, s, record, partner)
}

/// The suite spec of step `s` in this apply.
pub fn suite_spec(ctx: &StepContext<'_>, s: &Suite) -> Result<SuiteSpec, StepError> {
    let prep = ctx.prep;
    // Each run logs to its own `<record>-<run>.log` in the logs directory; the step's log is
    // the run that failed, or else the last one.
    let (log, _) = log_path(ctx, &s.id)?;
    Ok(SuiteSpec {
        command: s.command.clone(),
        cwd: prep.target.clone(),
        env: s.process.env_pairs(),
        warmup: s.warmup,
        warmup_collect: s.warmup_collect,
        runs: s.runs.min(),
        max_runs: match s.runs {
            Runs::Auto { max, .. } => Some(max.get()),
            Runs::Fixed(_) => None,
        },
        max_time: match s.runs {
            Runs::Auto { max_time, .. } => max_time,
            Runs::Fixed(_) => None,
        },
        framework: s.framework,
        timeout: s.process.timeout,
        auto_timeout: s.auto_timeout.then(|| {
            suite::AutoTimeout::new(
                ctx.records
                    .values()
                    .flat_map(|r| r.samples.iter().filter(|x| !x.warmup && x.status.success()))
                    .map(|x| x.wall)
                    .reduce(f64::max),
            )
        }),
        log_dir: log.parent().map(Path::to_path_buf).unwrap_or_default(),
        junit_dir: crate::journal::paths::junit_dir(ctx.run_dir),
        record: s.record.clone(),
        budgets: s.budgets.clone(),
        coverage: s.coverage.clone(),
        shards: s.shards.and_then(|n| {
            crate::measure::shard::spec_for(n, ctx.opts.shard, &prep.target, ctx.records.values())
        }),
    })
}

/// A suite step's output from its record (and its partner's, grown by interleaved runs).
fn finish_suite(
    ctx: &StepContext<'_>,
    s: &Suite,
    record: crate::measure::record::Record,
    partner: Option<NewRecord>,
) -> StepResult {
    let prep = ctx.prep;
    let rel = record.samples.last().map(|r| ctx.target_rel(&r.log));
    let pytest = s.framework == Framework::Pytest;
    let note = Note::Suite {
        median: record.wall.median,
        stddev: pytest.then(|| record.wall.stddev.unwrap_or(0.0)),
        tests: pytest.then_some((record.passed, record.failed)),
        over_budget: (!s.budgets.is_empty()).then_some(record.over_budget.len()),
        coverage: record.coverage.as_ref().map(|c| c.percent),
    };
    // A baseline that grew by interleaved runs is saved again with them.
    let grown = partner
        .as_ref()
        .filter(|_| ctx.partner.is_some_and(|p| p.step.baseline))
        .map(|p| p.record.as_ref());
    let saved = if s.baseline { Some(&record) } else { grown };
    if let (Some(saved), Some(name)) = (saved, &ctx.opts.save_baseline) {
        crate::exec::baseline::save(&prep.target, name, saved, &prep.secrets).map_err(
            |source| Failure::SaveBaseline {
                name: name.clone(),
                source,
            },
        )?;
    }
    Ok(StepOutput {
        log: rel,
        note: Some(note),
        record: Some(NewRecord {
            name: s.record.clone(),
            record: Box::new(record),
            source: None,
        }),
        partner,
        ..StepOutput::default()
    })
}

/// What a suite measures beyond its times, for its dry-run line: `; budgets tests/unit 0.1 s;
/// coverage`.
fn extras(s: &Suite) -> String {
    let mut out = String::new();
    if !s.budgets.is_empty() {
        let budgets: Vec<String> = s
            .budgets
            .iter()
            .map(|b| format!("{} {} s", b.key, b.seconds))
            .collect();
        out.push_str(&format!("; budgets {}", budgets.join(", ")));
    }
    match &s.coverage {
        Some(sources) if sources.is_empty() => out.push_str("; coverage (pytest-cov)"),
        Some(sources) => out.push_str(&format!(
            "; coverage of {} (pytest-cov)",
            sources.join(", ")
        )),
        None => {}
    }
    out
}
