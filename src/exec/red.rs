//! A baseline worth comparing with: before the plan changes anything, the record measured as
//! the repository is must have collected and run tests, and passed them, but for failures the
//! person declared known. Otherwise the apply stops (exit 8) before any change: a speed-up of a
//! suite that does not run, or "no new failure" against a suite where everything fails, is no
//! verdict at all.

use crate::measure::junit::Outcome;
use crate::measure::record::Record;
use crate::plan::baselines::matches;
use crate::plan::model::Framework;

pub use crate::exec::refusal::Refusal;
use crate::exec::refusal::NAMED;

/// What the person said is known to fail in a baseline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    /// Ids or `*` patterns: the suite's `known_failures` and `--known-failures FILE`.
    pub patterns: &'a [&'a str],
    /// `--accept-baseline-failures`: whatever fails in the baseline is known.
    pub accept_all: bool,
}

/// pytest's exit codes that mean the suite did not run as a suite.
fn pytest_exit(code: i32) -> Option<&'static str> {
    match code {
        2 => Some("interrupted: errors during collection or a KeyboardInterrupt"),
        3 => Some("internal error"),
        4 => Some("command line usage error"),
        5 => Some("no tests were collected"),
        _ => None,
    }
}

/// `ids` as a list that names at most [`NAMED`].
pub fn named(ids: &[String]) -> String {
    let mut text = ids
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > NAMED {
        text.push_str(&format!(" and {} more", ids.len() - NAMED));
    }
    text
}

/// Checks baseline `name` measured by step `step`: the ids of its failures taken as known, or
/// why it is refused. Records of `framework = "command"` suites have no tests to check.
pub fn check(
    step: &str,
    name: &str,
    record: &Record,
    known: Known<'_>,
) -> Result<Vec<String>, Refusal> {
    if record.framework != Framework::Pytest {
        return Ok(Vec::new());
    }
    let mut problems = Vec::new();
    let mut broken = false;
    let set = record.test_set.clone().unwrap_or_default();
    if !set.collection_errors.is_empty() {
        broken = true;
        let n = set.collection_errors.len();
        let errors: Vec<String> = set
            .collection_errors
            .iter()
            .take(NAMED)
            .map(|c| format!("`{}`: {}", c.id, c.summary))
            .collect();
        problems.push(format!(
            "{} collection error{}: {}",
            n,
            if n == 1 { "" } else { "s" },
            errors.join("; ")
        ));
    }
    let mut codes: Vec<i32> = record
        .samples
        .iter()
        .filter(|s| !s.warmup)
        .map(|s| s.exit_code)
        .filter(|c| pytest_exit(*c).is_some())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        broken = true;
        problems.push(format!(
            "pytest exited {code} ({})",
            pytest_exit(code).unwrap_or_default()
        ));
    }
    // Records saved before planrun kept test sets count what ran from their totals.
    let executed = match &record.test_set {
        Some(set) => set.executed.len() as u64,
        None => record.passed + record.failed,
    };
    if executed == 0 {
        broken = true;
        problems.push("no test ran".into());
    } else if record.passed == 0 {
        problems.push(format!(
            "no test passed: {executed} ran, {} failed, {} errors",
            record.failed, record.errors
        ));
    }
    let failing: Vec<&str> = record
        .failures
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Error))
        .filter(|f| !set.collection_errors.iter().any(|c| c.id == f.id))
        .map(|f| f.id.as_str())
        .collect();
    let (accepted, unknown): (Vec<&str>, Vec<&str>) = failing
        .iter()
        .partition(|id| known.accept_all || known.patterns.iter().any(|p| matches(p, id)));
    let unknown: Vec<String> = unknown.into_iter().map(str::to_string).collect();
    if !unknown.is_empty() {
        let n = unknown.len();
        problems.push(format!(
            "{n} failing test{} not declared known: {}",
            if n == 1 { "" } else { "s" },
            named(&unknown)
        ));
    }
    // Failures beyond the ones a record keeps cannot be checked against the known ones.
    let kept = failing.len() as u64;
    let counted =
        (record.failed + record.errors).saturating_sub(set.collection_errors.len() as u64);
    if counted > kept
        && !known.accept_all
        && record.failures.len() >= crate::measure::record::FAILURES_KEPT
    {
        problems.push(format!(
            "{} more failing tests than planrun keeps ({kept}) cannot be checked against the known ones",
            counted - kept
        ));
    }
    if problems.is_empty() {
        Ok(accepted.into_iter().map(str::to_string).collect())
    } else {
        Err(Refusal {
            record: name.to_string(),
            step: step.to_string(),
            problems,
            unknown,
            broken,
        })
    }
}

/// A suite's record on its way out of the step: a baseline is checked (refused with an event
/// that stops the apply, or its failures taken as known); a later record is told which known
/// failures it fixed.
pub fn settle(
    ctx: &crate::exec::context::StepContext<'_>,
    suite: &crate::plan::compiled::Suite,
    mut record: Record,
) -> Result<Record, crate::exec::events::StepError> {
    use crate::exec::events::{Event, NewRecord};
    use crate::exec::failure::{Failure, StepError};
    if !suite.checked_baseline {
        let known = crate::exec::known::known(ctx.records);
        for id in crate::exec::known::fixed(&record, &known) {
            record.warnings.push(format!(
                "known failure `{id}` passes in `{}`: fixed",
                suite.record
            ));
        }
        return Ok(record);
    }
    let patterns: Vec<&str> = suite
        .known_failures
        .iter()
        .chain(&ctx.opts.known_failures)
        .map(String::as_str)
        .collect();
    let known = Known {
        patterns: &patterns,
        accept_all: ctx.opts.accept_baseline_failures,
    };
    match check(&suite.id, &suite.record, &record, known) {
        Ok(accepted) => {
            if !accepted.is_empty() {
                record.warnings.push(format!(
                    "{} known failure{} in the baseline: {}; later records may fail them, no other test",
                    accepted.len(),
                    if accepted.len() == 1 { "" } else { "s" },
                    named(&accepted)
                ));
            }
            if let Some(set) = record.test_set.as_mut() {
                set.known_failures = accepted;
            }
            Ok(record)
        }
        Err(refusal) => {
            let log = record.samples.last().map(|r| ctx.target_rel(&r.log));
            ctx.emit.emit(Event::BaselineRefused {
                record: NewRecord {
                    name: suite.record.clone(),
                    record: Box::new(record),
                    source: None,
                },
            });
            Err(StepError::logged(Failure::BaselineRed(refusal), log))
        }
    }
}

#[cfg(test)]
#[path = "red_tests.rs"]
mod tests;
