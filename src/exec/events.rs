//! What happens during an apply, as data: workers and the dispatcher emit these events, one fold
//! turns them into the run's state, and the sinks show and store it.

use crate::measure::record::Record;
use crate::run::change::{DiffStat, FileChange};
use crate::run::end::Ending;
use crate::run::verdict::Verdict;

/// What a step that succeeded leaves behind.
#[derive(Debug, Default)]
pub struct StepOutput {
    /// Target-relative files it changed.
    pub changed: Vec<String>,
    /// It had nothing to do (an edit already in place).
    pub unchanged: bool,
    /// Its log file, relative to the target.
    pub log: Option<String>,
    /// What it came to, for its closing line and the report.
    pub note: Option<crate::exec::outcome::Note>,
    /// The record a suite step measured (or took from a saved baseline).
    pub record: Option<NewRecord>,
    /// The earlier record an interleaved suite measured again beside its own, grown by its
    /// runs in the pairs.
    pub partner: Option<NewRecord>,
}

impl StepOutput {
    /// What measuring its record warned of, to show under the step: the warnings of a record
    /// it measured (none for one taken from a saved baseline, whose warnings were shown when
    /// it was measured).
    pub fn warnings(&self) -> &[String] {
        match &self.record {
            Some(new) if new.source.is_none() => &new.record.warnings,
            _ => &[],
        }
    }
}

/// A record a suite step produced.
#[derive(Debug)]
pub struct NewRecord {
    /// The record name gates read it by.
    pub name: String,
    /// The metrics.
    pub record: Box<Record>,
    /// The saved baseline it came from, when `--baseline` stood in for the suite.
    pub source: Option<String>,
}

pub use crate::exec::failure::{Failure, StepError};

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A gate failed (its check).
    Gate(String),
    /// A step failed (its id).
    Step(String),
    /// A gate the measurements could not settle, and that is not kept (its check).
    Inconclusive(String),
    /// A baseline was red (its record name).
    BaselineRed(String),
}

impl Stop {
    /// The stop `event` brings, if any: a failed step, a verdict that blocks (a failure, an
    /// undecidable gate, an inconclusive one not kept), a refused baseline. The dispatcher
    /// keeps the first.
    pub fn of(event: &Event) -> Option<Stop> {
        match event {
            Event::StepFinished {
                id, result: Err(_), ..
            } => Some(Stop::Step(id.clone())),
            Event::GatesDecided { verdicts, .. } => {
                let v = verdicts.iter().find(|v| v.blocks())?;
                Some(match v.status {
                    crate::run::verdict::Status::Inconclusive => {
                        Stop::Inconclusive(v.check.clone())
                    }
                    _ => Stop::Gate(v.check.clone()),
                })
            }
            Event::BaselineRefused { record } => Some(Stop::BaselineRed(record.name.clone())),
            _ => None,
        }
    }
}

/// Why an apply rolls back.
#[derive(Debug, Clone)]
pub enum Why {
    /// A signal came.
    Signal,
    /// A step, a gate or the baseline stopped the run.
    Stopped(Stop),
    /// The run could not be marked applied (the journal's error): it is undone instead, and
    /// the rollback does not count as having saved it.
    NotMarkedApplied(std::sync::Arc<crate::journal::error::JournalError>),
}

/// One thing that happened in an apply.
#[derive(Debug)]
pub enum Event {
    /// A step started, `at` seconds into the run.
    StepStarted {
        /// The step id.
        id: String,
        /// Its action name.
        action: &'static str,
        /// Seconds since the run started.
        at: f64,
    },
    /// Progress inside a step (a suite's runs).
    StepDetail {
        /// The step id.
        id: String,
        /// What is happening now.
        detail: crate::exec::outcome::Detail,
    },
    /// A step ended.
    StepFinished {
        /// The step id.
        id: String,
        /// How long it took.
        seconds: f64,
        /// What it came to.
        result: Result<StepOutput, StepError>,
    },
    /// A phase's gates were decided.
    GatesDecided {
        /// The phase id.
        phase: String,
        /// One verdict per gate.
        verdicts: Vec<Verdict>,
    },
    /// A baseline suite measured a red record (no test ran, collection errors, failures not
    /// declared known): the apply stops with [`crate::exit::BASELINE_RED`] before any change.
    BaselineRefused {
        /// The record as measured, kept for the report.
        record: NewRecord,
    },
    /// Steps that never ran.
    Skipped {
        /// Their ids.
        ids: Vec<String>,
    },
    /// Something about the run as a whole.
    Run(RunEvent),
}

/// The apply itself: its start, what it changed, its rollback and its end.
#[derive(Debug)]
pub enum RunEvent {
    /// The run began.
    Started {
        /// The run id.
        run_id: String,
    },
    /// The net change of the target's files, taken before any rollback: the stat and each
    /// file's diff.
    Changed(DiffStat, Vec<FileChange>),
    /// A step or gate failed, or a signal came: the rollback begins.
    RollingBack {
        /// Why.
        why: Why,
    },
    /// The rollback did something (see [`crate::exec::rollback`], which `planrun rollback`
    /// runs too).
    Rollback(crate::exec::rollback::RollbackEvent),
    /// The rollback did not finish; the error owns the exit code.
    RollbackFailed(crate::error::Error),
    /// A service was stopped as the apply ended.
    ServiceStopped(crate::exec::services::ServiceEnd),
    /// The run ended with this status and exit code.
    Finished {
        /// How it ended.
        status: Ending,
        /// The process exit code.
        code: u8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::verdict::{Status, Verdict};

    fn verdict(check: &str, status: Status, keep: bool) -> Verdict {
        Verdict {
            phase: "p".into(),
            check: check.into(),
            why: None,
            on_fail: Default::default(),
            on_inconclusive: if keep {
                crate::plan::model::OnInconclusive::Keep
            } else {
                crate::plan::model::OnInconclusive::Rollback
            },
            line: None,
            status,
            explanation: None,
            values: Default::default(),
            message: None,
            intervals: Vec::new(),
            details: Vec::new(),
            tests: Vec::new(),
        }
    }

    fn gates(verdicts: Vec<Verdict>) -> Event {
        Event::GatesDecided {
            phase: "p".into(),
            verdicts,
        }
    }

    /// A failed step, a blocking verdict (failed, undecidable, or inconclusive and not kept)
    /// and a refused baseline each stop the run, each as itself; a pass, a warning and a kept
    /// inconclusive verdict do not.
    #[test]
    fn what_stops_a_run() {
        let failed = Event::StepFinished {
            id: "b".into(),
            seconds: 1.0,
            result: Err(crate::exec::failure::Failure::NoPairs.into()),
        };
        assert_eq!(Stop::of(&failed), Some(Stop::Step("b".into())));
        let ok = Event::StepFinished {
            id: "a".into(),
            seconds: 1.0,
            result: Ok(StepOutput::default()),
        };
        assert_eq!(Stop::of(&ok), None);
        let decided = gates(vec![
            verdict("w", Status::Warn, false),
            verdict("i", Status::Inconclusive, false),
            verdict("f", Status::Fail, false),
        ]);
        assert_eq!(Stop::of(&decided), Some(Stop::Inconclusive("i".into())));
        let error = gates(vec![verdict("e", Status::Error, false)]);
        assert_eq!(Stop::of(&error), Some(Stop::Gate("e".into())));
        let kept = gates(vec![
            verdict("p", Status::Pass, false),
            verdict("k", Status::Inconclusive, true),
        ]);
        assert_eq!(Stop::of(&kept), None);
        let refused = Event::BaselineRefused {
            record: NewRecord {
                name: "baseline".into(),
                record: Box::new(crate::report::fixture::record()),
                source: None,
            },
        };
        assert_eq!(
            Stop::of(&refused),
            Some(Stop::BaselineRed("baseline".into()))
        );
    }
}
