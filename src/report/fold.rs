//! The fold: every event of an apply, applied in order to one `RunState` (the report as it
//! stands, its records included), from the report before anything ran. The sinks hold it; the
//! report model is built here and nowhere in the executor.

use std::time::Instant;

use crate::exec::events::{Event, RunEvent, StepOutput, Why};
use crate::exec::rollback::RollbackEvent;
use crate::exec::setup::Prepared;
use crate::graph::Node;
use crate::journal::outcome::RollbackReport;
use crate::report::model::{
    GateReport, GateStatus, PlanInfo, RollbackInfo, RunReport, RunStatus, StepReport, StepStatus,
};

/// The state of one apply, built from its events.
#[derive(Debug)]
pub struct RunState {
    /// The report as it stands, records included (unmasked; sinks mask what they show).
    pub report: RunReport,
    started: Instant,
    /// Why the run is rolling back, once it is.
    why: Option<Why>,
    /// Each step's index in `report.steps`: an event finds its step without a scan.
    index: std::collections::HashMap<String, usize>,
}

impl RunState {
    /// The state before anything ran; `report` lists every step and gate, not yet run.
    pub fn new(report: RunReport) -> Self {
        let index = (report.steps.iter().enumerate())
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        RunState {
            report,
            why: None,
            started: Instant::now(),
            index,
        }
    }

    /// Step `id` as the report has it now.
    pub fn step_report(&self, id: &str) -> Option<&StepReport> {
        self.report.steps.get(*self.index.get(id)?)
    }

    /// Seconds since the run started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::StepStarted { id, at, .. } => self.step(id, |s| {
                s.status = StepStatus::Running;
                s.started_s = Some(*at);
            }),
            Event::StepDetail { .. } => {}
            Event::StepFinished {
                id,
                seconds,
                result,
            } => {
                let (status, message, log) = match result {
                    Ok(out) => {
                        self.take_record(out);
                        let status = if out.changed.is_empty() && out.unchanged {
                            StepStatus::Unchanged
                        } else {
                            StepStatus::Ok
                        };
                        self.step(id, |s| s.changed = out.changed.clone());
                        let note = out.note.as_ref().map(crate::report::words::note);
                        (status, note, out.log.clone())
                    }
                    Err(e) => (
                        StepStatus::Failed,
                        Some(crate::report::words::failure(&e.failure)),
                        e.log.clone(),
                    ),
                };
                self.step(id, |s| {
                    s.status = status;
                    s.duration_s = Some(*seconds);
                    s.message = message;
                    s.log = log;
                });
            }
            Event::GatesDecided { phase, verdicts } => {
                for v in verdicts {
                    if let Some(slot) = self.report.gates.iter_mut().find(|g| {
                        &g.phase == phase
                            && g.check == v.check
                            && g.status == GateStatus::NotEvaluated
                    }) {
                        *slot = GateReport::from(v);
                    }
                }
            }
            Event::BaselineRefused { record } => {
                self.report
                    .records
                    .insert(record.name.clone(), record.record.as_ref().clone());
            }
            Event::Skipped { ids } => {
                for id in ids {
                    self.step(id, |s| s.status = StepStatus::Skipped);
                }
            }
            Event::Run(RunEvent::Started { .. }) => {}
            Event::Run(RunEvent::RollingBack { why }) => {
                self.report.rollback = Some(RollbackInfo {
                    reason: crate::report::words::why(why),
                    // Until the journal is replayed; a run that could not be marked applied
                    // is not saved by its rollback.
                    ok: false,
                    ..RollbackInfo::default()
                });
                self.why = Some(why.clone());
            }
            Event::Run(RunEvent::Rollback(RollbackEvent::Undone(done))) => {
                let saved = !matches!(self.why, Some(Why::NotMarkedApplied(_)));
                let info = self.report.rollback.get_or_insert_with(Default::default);
                undone(info, done);
                info.ok = saved;
                if !saved {
                    self.report.status = RunStatus::RollbackFailed;
                }
            }
            Event::Run(RunEvent::Rollback(_)) => {}
            Event::Run(RunEvent::RollbackFailed(error)) => {
                let info = self.report.rollback.get_or_insert_with(Default::default);
                info.ok = false;
                info.message = Some(match error {
                    crate::error::Error::Rollback { source, .. } => source.to_string(),
                    other => other.to_string(),
                });
                self.report.status = RunStatus::RollbackFailed;
            }
            Event::Run(RunEvent::ServiceStopped(end)) => self.step(&end.id, |s| {
                let end = crate::report::words::service_end(end);
                s.message = Some(match s.message.take() {
                    Some(note) => format!("{note}; {end}"),
                    None => end,
                });
            }),
            Event::Run(RunEvent::Changed(diffstat, diff)) => {
                self.report.diffstat = (*diffstat).into();
                self.report.diff = diff.iter().map(Into::into).collect();
            }
            Event::Run(RunEvent::Finished { status, code }) => {
                self.report.status = (*status).into();
                self.report.exit_code = Some(*code);
                self.report.finished = Some(
                    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
                );
            }
        }
        self.report.duration_s = self.elapsed();
    }

    fn take_record(&mut self, out: &StepOutput) {
        if let Some(partner) = &out.partner {
            self.report
                .records
                .insert(partner.name.clone(), partner.record.as_ref().clone());
        }
        let Some(new) = &out.record else { return };
        self.report
            .records
            .insert(new.name.clone(), new.record.as_ref().clone());
        if let Some(source) = &new.source {
            self.report
                .baselines_used
                .insert(new.name.clone(), source.clone());
        }
    }

    fn step(&mut self, id: &str, f: impl FnOnce(&mut StepReport)) {
        if let Some(s) = (self.index.get(id)).and_then(|&i| self.report.steps.get_mut(i)) {
            f(s);
        }
    }
}

/// The report before anything ran: every step and gate, none evaluated; `stage` is the rollout
/// stage entered, when the plan has stages.
pub fn initial_report(
    prep: &Prepared,
    run_id: &str,
    stage: Option<crate::run::stage::StageReport>,
) -> RunReport {
    let mut report = RunReport {
        format_version: 1,
        stage,
        run_id: run_id.to_string(),
        plan: PlanInfo {
            name: prep.plan.name.clone(),
            description: prep.plan.description.clone(),
            path: prep.plan_path.display().to_string(),
            hash: crate::exec::applied::report_plan_hash(prep),
        },
        target: prep.target.display().to_string(),
        host: crate::journal::lock::host_name(),
        started: crate::timestamp::now(),
        vars: prep.shown_vars(),
        ..RunReport::default()
    };
    for node in &prep.plan.order {
        match *node {
            Node::Step { phase, .. } => {
                if let Some(step) = prep.step(node) {
                    report.steps.push(StepReport {
                        id: step.id().to_string(),
                        phase: prep.plan.phases[phase].id.clone(),
                        action: step.action().to_string(),
                        ..StepReport::default()
                    });
                }
            }
            Node::Gates { phase } => {
                let p = &prep.plan.phases[phase];
                for g in &p.gates {
                    report.gates.push(GateReport {
                        phase: p.id.clone(),
                        check: g.check.clone(),
                        why: g.why.clone(),
                        on_fail: super::convert::on_fail_name(g.on_fail).into(),
                        on_inconclusive: super::convert::on_inconclusive_name(g.on_inconclusive)
                            .into(),
                        ..GateReport::default()
                    });
                }
            }
        }
    }
    report
}

/// What a replay undid, in the report's terms.
fn undone(info: &mut RollbackInfo, done: &RollbackReport) {
    use crate::journal::outcome::Outcome as Undo;
    for action in &done.actions {
        let subject = action.subject.clone();
        match action.outcome {
            Undo::Restored => info.restored.push(subject),
            Undo::Deleted | Undo::DirRemoved | Undo::VenvRemoved => info.deleted.push(subject),
            Undo::EnvRestored { .. } => info.environments.push(subject),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::failure::{Failure, StepError};

    fn state() -> RunState {
        let mut report = RunReport::default();
        for id in ["a", "b", "c"] {
            report.steps.push(StepReport {
                id: id.into(),
                ..StepReport::default()
            });
        }
        report.gates.push(GateReport {
            phase: "p".into(),
            check: "x".into(),
            ..GateReport::default()
        });
        RunState::new(report)
    }

    #[test]
    fn steps_and_verdicts_fold_into_the_report() {
        let mut s = state();
        s.apply(&Event::StepStarted {
            id: "a".into(),
            action: "run",
            at: 0.5,
        });
        assert_eq!(s.report.steps[0].status, StepStatus::Running);
        s.apply(&Event::StepFinished {
            id: "a".into(),
            seconds: 1.0,
            result: Ok(StepOutput {
                unchanged: true,
                ..StepOutput::default()
            }),
        });
        s.apply(&Event::StepFinished {
            id: "b".into(),
            seconds: 2.0,
            result: Err(Failure::NoPairs.into()),
        });
        s.apply(&Event::GatesDecided {
            phase: "p".into(),
            verdicts: vec![crate::run::verdict::Verdict {
                phase: "p".into(),
                check: "x".into(),
                why: None,
                on_fail: Default::default(),
                on_inconclusive: Default::default(),
                line: None,
                status: crate::run::verdict::Status::Fail,
                explanation: None,
                values: Default::default(),
                message: None,
                intervals: Vec::new(),
                details: Vec::new(),
                tests: Vec::new(),
            }],
        });
        s.apply(&Event::Skipped {
            ids: vec!["c".into()],
        });
        let steps = &s.report.steps;
        assert_eq!(steps[0].status, StepStatus::Unchanged);
        assert_eq!(steps[0].started_s, Some(0.5));
        assert_eq!(
            (steps[1].status, steps[1].message.as_deref()),
            (
                StepStatus::Failed,
                Some("no counted run in the interleaved pairs")
            )
        );
        assert_eq!(steps[2].status, StepStatus::Skipped);
        assert_eq!(s.report.gates[0].status, GateStatus::Fail);
    }

    /// A refused baseline's record stays in the report, and its step's own failure after it
    /// marks the step failed (the dispatcher stops the run as red: see `Stop::of`).
    #[test]
    fn a_refused_baseline_keeps_its_record() {
        let mut s = state();
        s.apply(&Event::BaselineRefused {
            record: crate::exec::events::NewRecord {
                name: "baseline".into(),
                record: Box::new(crate::report::fixture::record()),
                source: None,
            },
        });
        s.apply(&Event::StepFinished {
            id: "a".into(),
            seconds: 1.0,
            result: Err(StepError::from(Failure::BaselineRed(
                crate::exec::red::Refusal {
                    record: "baseline".into(),
                    step: "a".into(),
                    problems: vec![],
                    unknown: vec![],
                    broken: true,
                },
            ))),
        });
        assert!(s.report.records.contains_key("baseline"));
        assert_eq!(s.report.steps[0].status, StepStatus::Failed);
    }

    fn undone(actions: &[(&str, crate::journal::outcome::Outcome)]) -> Event {
        use crate::journal::outcome::RollbackAction;
        Event::Run(RunEvent::Rollback(RollbackEvent::Undone(RollbackReport {
            run_id: "r".into(),
            plan: "p".into(),
            already_rolled_back: false,
            actions: (actions.iter().enumerate())
                .map(|(i, (subject, outcome))| RollbackAction {
                    seq: i as u32,
                    outcome: outcome.clone(),
                    subject: subject.to_string(),
                    seconds: 0.0,
                })
                .collect(),
            seconds: 0.2,
            saved: Vec::new(),
            leftovers: Vec::new(),
        })))
    }

    /// The report's account of a rollback is built from the rollback service's events: why
    /// (in words), then what the replay undid.
    #[test]
    fn the_rollback_folds_into_the_report_from_its_events() {
        use crate::journal::outcome::Outcome as Undo;
        let mut s = state();
        s.apply(&Event::Run(RunEvent::RollingBack {
            why: Why::Stopped(crate::exec::events::Stop::Step("b".into())),
        }));
        s.apply(&undone(&[
            ("app.py", Undo::Restored),
            ("new.txt", Undo::Deleted),
        ]));
        let info = s.report.rollback.clone().unwrap();
        assert_eq!(info.reason, "step `b` failed");
        assert!(info.ok);
        assert_eq!(
            (info.restored, info.deleted),
            (vec!["app.py".to_string()], vec!["new.txt".to_string()])
        );
        assert_ne!(s.report.status, RunStatus::RollbackFailed);
    }

    /// A run undone because it could not be marked applied is not saved by its rollback; a
    /// rollback that did not finish says its error and fails the run.
    #[test]
    fn a_rollback_that_did_not_save_the_run_or_did_not_finish_fails_it() {
        let mut s = state();
        s.apply(&Event::Run(RunEvent::RollingBack {
            why: Why::NotMarkedApplied(std::sync::Arc::new(
                crate::journal::error::JournalError::NoSuchRun("r1".into()),
            )),
        }));
        s.apply(&undone(&[]));
        let info = s.report.rollback.clone().unwrap();
        assert_eq!(
            info.reason,
            "failed to mark the run applied: no run `r1` in the journal"
        );
        assert!(!info.ok);
        assert_eq!(s.report.status, RunStatus::RollbackFailed);

        let mut s = state();
        s.apply(&Event::Run(RunEvent::RollingBack { why: Why::Signal }));
        let error = crate::journal::error::RollbackError::Journal(
            crate::journal::error::JournalError::NoSuchRun("r".into()),
        );
        let error = crate::error::Error::rollback(std::path::Path::new("/t"), error);
        s.apply(&Event::Run(RunEvent::RollbackFailed(error)));
        let info = s.report.rollback.clone().unwrap();
        assert_eq!(info.reason, "interrupted by a signal");
        assert_eq!(
            (info.ok, info.message.as_deref()),
            (false, Some("no run `r` in the journal"))
        );
        assert_eq!(s.report.status, RunStatus::RollbackFailed);
    }
}
