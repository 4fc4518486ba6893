//! One apply: lock the target, open a journal, run the DAG, decide the gates, and on any failure
//! (a step, a gate, a signal) roll everything back.
//!
//! The flow is nextest's: the scheduler's workers run steps ([`Action::execute`](crate::exec::action::Action::execute)) and emit
//! [`Event`]s; the dispatcher (this thread) keeps the records and the first [`Stop`], decides
//! gates inline, and hands every event to the [`Output`] (where `report/` folds them and the
//! sinks show and store them). No state is shared between steps.

use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::exec::action::{self, Reads};
use crate::exec::context::{ApplyOptions, StepContext};
use crate::exec::events::{Event, RunEvent, Stop, Why};
use crate::exec::failure::Journaled;
use crate::exec::output::{Begun, Notice, Output};
use crate::exec::scheduler::{self, Dispatch, Emitter, Outcome, Task};
use crate::exec::setup::Prepared;
use crate::exec::{applied, gates};
use crate::exit;
use crate::graph::Node;
use crate::journal::lock::Lock;
use crate::journal::record::Journal;
use crate::journal::state::{RunMeta, Status};
use crate::plan::compiled::Step;
use crate::run::end::Ending;

/// The dispatcher's side of one apply: the records, the first stop, the gates it decides, and
/// where its events go.
struct Dispatcher<'a> {
    prep: &'a Prepared,
    out: &'a mut dyn Output,
    /// The first failure, if any.
    stop: Option<Stop>,
    journal: &'a Journal,
    /// Each record measured in this apply: the journal's last entry then, when its step
    /// ended, and the steps that finished since (what an interleaved suite compared with it
    /// switches across).
    marks: std::collections::BTreeMap<String, (u32, std::time::Instant, Vec<String>)>,
    /// The records so far, shared with the steps that read them: a step is given the map, not
    /// a copy of every record in it; a new record is added in place once no step holds the map.
    records: std::sync::Arc<Records>,
    /// `--shard i/N`: this job measures one shard, so the gates, which judge the whole suite,
    /// are decided by `planrun report merge --plan` over every job's report.
    defer_gates: bool,
    /// When the steps began to run: a step's start is given from it.
    started: Instant,
}

impl Dispatcher<'_> {
    fn send(&mut self, event: Event) {
        if let Event::StepFinished { id, result, .. } = &event {
            for (_, _, since) in self.marks.values_mut() {
                since.push(id.clone());
            }
            let measured = result
                .as_ref()
                .ok()
                .and_then(|out| out.record.as_ref())
                .filter(|r| r.source.is_none());
            if let Some(new) = measured {
                // No other step runs beside a suite: the journal is as the suite left it.
                self.marks.insert(
                    new.name.clone(),
                    (
                        self.journal.last_seq(),
                        std::time::Instant::now(),
                        Vec::new(),
                    ),
                );
            }
        }
        if self.stop.is_none() {
            self.stop = Stop::of(&event);
        }
        self.share_records(&event);
        self.out.event(&event);
    }

    /// Adds the records `event` brought to the map the steps share.
    fn share_records(&mut self, event: &Event) {
        let new: Vec<&crate::exec::events::NewRecord> = match event {
            Event::StepFinished {
                result: Ok(out), ..
            } => out.partner.iter().chain(&out.record).collect(),
            Event::BaselineRefused { record } => vec![record],
            _ => return,
        };
        for r in new {
            std::sync::Arc::make_mut(&mut self.records)
                .insert(r.name.clone(), r.record.as_ref().clone());
        }
    }
}

/// What a worker step is given when it starts.
#[derive(Default)]
struct Input {
    records: std::sync::Arc<Records>,
    partner: Option<Partner>,
}

impl Dispatcher<'_> {
    /// The record suite `s` is compared with by a gate, when one was measured before it:
    /// the suite is measured in pairs with it.
    fn partner(&self, s: &crate::plan::compiled::Suite) -> Option<Partner> {
        let records = &*self.records;
        let other = self
            .prep
            .plan
            .phases
            .iter()
            .flat_map(|p| &p.gates)
            // Only a comparison of times: counts need no pairs.
            .map(|g| {
                let mut refs = g.expr.metric_refs();
                refs.retain(|m| crate::metrics::PER_RUN.contains(&m.metric()));
                refs
            })
            .filter(|refs| refs.iter().any(|m| m.record == s.record))
            .flatten()
            .map(|m| m.record.clone())
            .find(|r| *r != s.record && records.contains_key(r))?;
        let step = self.prep.plan.suites().find(|x| x.record == other)?.clone();
        let (mark, ended, since) = match self.marks.get(&other) {
            Some((mark, ended, since)) => (Some(*mark), Some(*ended), since.clone()),
            None => (None, None, Vec::new()),
        };
        Some(Partner {
            record: other.clone(),
            step,
            measured: records.get(&other)?.clone(),
            mark,
            ended,
            since,
        })
    }
}

impl Dispatch<Event, Input> for Dispatcher<'_> {
    fn event(&mut self, event: Event) {
        self.send(event);
    }

    /// A step's start is sent here, as it is handed to its worker: the worker's first word
    /// would cost one more hand-off between threads per step, and the order of starts is the
    /// scheduler's own.
    fn starting(&mut self, task: usize) {
        let step = (self.prep.plan.order.get(task)).and_then(|n| self.prep.step(n));
        if let Some(step) = step {
            tracing::info!(step = %step.id(), action = step.action(), "step started");
            self.send(Event::StepStarted {
                id: step.id().to_string(),
                action: step.action(),
                at: self.started.elapsed().as_secs_f64(),
            });
        }
    }

    fn idle(&mut self) {
        self.out.idle();
    }

    /// Decides a phase's gates over the records the events brought so far.
    fn inline(&mut self, task: usize) -> Outcome {
        let Some(Node::Gates { phase }) = self.prep.plan.order.get(task).copied() else {
            return Outcome::Failed;
        };
        let phase = &self.prep.plan.phases[phase];
        if phase.gates.is_empty() || self.defer_gates {
            return Outcome::Done;
        }
        let verdicts = gates::evaluate(&phase.id, &phase.gates, &self.records);
        let blocked = gates::blocks(&verdicts);
        tracing::info!(phase = %phase.id, blocked, "gates decided");
        self.send(Event::GatesDecided {
            phase: phase.id.clone(),
            verdicts,
        });
        if blocked {
            Outcome::Failed
        } else {
            Outcome::Done
        }
    }

    /// A suite reads the records so far (an adaptive one for its gates, `timeout = "auto"` for
    /// the slowest run), and so does a `mark` step (the durations it marks from); every other
    /// step needs nothing.
    fn input(&mut self, task: usize) -> Input {
        let step = self
            .prep
            .plan
            .order
            .get(task)
            .and_then(|n| self.prep.step(n));
        let Some(step) = step else {
            return Input::default();
        };
        match action::of(step).schedule().reads {
            Reads::Nothing => Input::default(),
            Reads::Records => Input {
                records: self.records.clone(),
                partner: None,
            },
            Reads::RecordsAndPartner => Input {
                records: self.records.clone(),
                partner: step.suite().and_then(|s| self.partner(s)),
            },
        }
    }
}

use crate::exec::context::Partner;
use crate::exec::gates::Records;

/// Runs one step on a worker (its start was sent by the dispatcher): its events, and what it
/// left sealed in the journal; returns its outcome and the event of its end, for the worker to
/// send once the step's input is dropped.
fn run_step(ctx: &StepContext<'_>, step: &Step) -> (Outcome, Event) {
    let id = step.id().to_string();
    let t = Instant::now();
    let result = action::of(step).execute(ctx);
    // What the step left is what rollback compares with, to tell later edits by a person.
    let result = match (result, ctx.journal.seal_files()) {
        (Ok(_), Err(e)) => Err(crate::exec::failure::journal_failed(
            Journaled::StepWrites,
            e,
        )),
        (result, _) => result,
    };
    let mut result = result;
    crate::exec::steplog::unwritten_log_dropped(ctx, &mut result);
    let seconds = t.elapsed().as_secs_f64();
    tracing::info!(step = %id, ok = result.is_ok(), seconds, "step finished");
    let outcome = if result.is_ok() {
        Outcome::Done
    } else {
        Outcome::Failed
    };
    let finished = Event::StepFinished {
        id,
        seconds,
        result,
    };
    (outcome, finished)
}

/// The scheduler's view of the plan: dependencies by index, suites alone, edits one at a time
/// (two steps never edit one file at once), gates decided inline.
fn tasks(prep: &Prepared) -> Vec<Task> {
    let order = &prep.plan.order;
    let index: std::collections::BTreeMap<Node, usize> =
        order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    order
        .iter()
        .map(|n| {
            let schedule = prep.step(n).map(|s| action::of(s).schedule());
            Task {
                deps: prep
                    .plan
                    .graph
                    .deps(*n)
                    .iter()
                    .filter_map(|d| index.get(d).copied())
                    .collect(),
                exclusive: schedule.is_some_and(|s| s.exclusive),
                serial: schedule.is_some_and(|s| s.serial),
                inline: schedule.is_none(),
            }
        })
        .collect()
}

/// Runs a prepared plan for real, its notices and events to `out`, and returns the exit code.
pub fn apply(prep: &Prepared, opts: &ApplyOptions, out: &mut dyn Output) -> Result<u8> {
    let lock_guard = Lock::acquire(&prep.target, "apply")?;
    let Some(plan_hash) = preflight(prep, opts, out)? else {
        return Ok(exit::OK);
    };
    let (journal, groups, run_dir) = open_run(prep, plan_hash)?;
    let run_id = journal.run_id().to_string();
    let cancel = crate::process::Cancel::new();
    let _signals = crate::process::signals::install(&cancel);
    // Orphans of the run's commands come back to planrun, which ends them with the run.
    crate::process::scope::become_subreaper();
    let control = crate::process::Control::new(cancel.clone(), groups)
        .scoped(crate::process::Scope::new(&run_id));
    out.begin(&Begun {
        run_id: run_id.clone(),
        run_dir: run_dir.clone(),
    });
    let mut dispatcher = Dispatcher {
        prep,
        out,
        stop: None,
        journal: &journal,
        marks: Default::default(),
        records: Default::default(),
        defer_gates: opts.shard.is_some(),
        started: Instant::now(),
    };
    dispatcher.send(Event::Run(RunEvent::Started {
        run_id: run_id.clone(),
    }));

    dispatcher.started = Instant::now();
    let order = &prep.plan.order;
    let services = crate::exec::services::Services::default();
    let worker = |i: usize, input: Input, emit: &Emitter<Event>| {
        let Some(step) = prep.step(&order[i]) else {
            return Outcome::Failed;
        };
        let ctx = StepContext {
            prep,
            opts,
            journal: &journal,
            run_dir: &run_dir,
            control: &control,
            emit,
            records: &input.records,
            services: &services,
            partner: input.partner.as_ref(),
        };
        let (outcome, finished) = run_step(&ctx, step);
        // The records are let go first, so the record this step brings is added in place.
        drop(input);
        emit.finish(finished);
        outcome
    };
    let outcomes = scheduler::run(
        &tasks(prep),
        opts.jobs,
        &cancel.flag(),
        worker,
        &mut dispatcher,
    );
    // Services run for the whole apply, and stop before anything is rolled back.
    for end in services.stop_all(&cancel, &control.groups) {
        dispatcher.send(Event::Run(RunEvent::ServiceStopped(end)));
    }
    // Nothing the run started outlives it, not even what left its group or lost its mark.
    crate::process::scope::end_run(&control.scope);
    dispatcher.after_steps(&outcomes);
    let (status, code, why) = ending(dispatcher.stop.clone(), cancel.is_cancelled());
    let (status, code) = dispatcher.conclude(&run_id, (status, code), why);
    dispatcher.send(Event::Run(RunEvent::Finished { status, code }));
    // The target's state is decided above; a report that cannot be written is said, but
    // never turns the exit code into "invalid, nothing ran".
    dispatcher.out.finish();
    drop(lock_guard);
    Ok(code)
}

/// What comes before the journal: notices of a foreign journal and of files not committed,
/// the refusal of a lock file that would go stale; `None` (after its notice) when the plan is
/// applied here already and not to be applied again, else the plan's hash.
fn preflight(prep: &Prepared, opts: &ApplyOptions, out: &mut dyn Output) -> Result<Option<String>> {
    for w in crate::journal::explain::foreign_warnings(&prep.target) {
        out.notice(&Notice::ForeignJournal(w));
    }
    let plan_hash = applied::plan_hash(prep);
    if !opts.reapply {
        if let Some(notice) = applied::already_applied(prep, &plan_hash)? {
            out.notice(&notice);
            return Ok(None);
        }
    }
    if let Some(dirty) = dirty_files(prep) {
        out.notice(&dirty);
    }
    // A lock file that would go stale for want of its tool is refused before anything changes.
    crate::exec::relock::preflight(prep)?;
    Ok(Some(plan_hash))
}

/// Begins the run: its journal, the record of its process groups, its report directory.
fn open_run(
    prep: &Prepared,
    plan_hash: String,
) -> Result<(Journal, crate::process::Groups, PathBuf)> {
    let meta = RunMeta {
        plan: prep.plan.name.clone(),
        plan_path: prep.plan_path.clone(),
        plan_hash,
    };
    // Checked before the journal begins: a run that cannot keep its reports never starts.
    crate::journal::paths::ensure_reports_dir(&prep.target)
        .map_err(|e| Error::context("failed to prepare the reports directory", e))?;
    let journal = Journal::begin(&prep.target, meta)
        .map_err(|e| Error::context("failed to open the journal", e))?;
    let groups =
        crate::process::Groups::record_in(crate::journal::paths::orphan_groups(journal.run_dir()));
    let run_dir = crate::journal::paths::ensure_report_dir(&prep.target, journal.run_id())
        .map_err(|e| Error::context("failed to create the run's report directory", e))?;
    Ok((journal, groups, run_dir))
}

/// The ids of the steps the scheduler skipped.
fn skipped_ids(prep: &Prepared, outcomes: &[Outcome]) -> Vec<String> {
    (prep.plan.order.iter().zip(outcomes))
        .filter(|(_, o)| **o == Outcome::Skipped)
        .filter_map(|(n, _)| prep.step(n).map(|s| s.id().to_string()))
        .collect()
}

/// How the run ends before any rollback, its exit code, and why it rolls back, if it does.
fn ending(stop: Option<Stop>, cancelled: bool) -> (Ending, u8, Option<Why>) {
    match (stop, cancelled) {
        (_, true) => (Ending::Interrupted, exit::INTERRUPTED, Some(Why::Signal)),
        (None, false) => (Ending::Passed, exit::OK, None),
        (Some(stop), false) => {
            let (status, code) = match stop {
                Stop::Gate(_) => (Ending::GateFailed, exit::GATE_FAILED),
                Stop::Step(_) => (Ending::StepFailed, exit::STEP_FAILED),
                Stop::BaselineRed(_) => (Ending::BaselineRed, exit::BASELINE_RED),
                Stop::Inconclusive(_) => (Ending::Inconclusive, exit::INCONCLUSIVE),
            };
            (status, code, Some(Why::Stopped(stop)))
        }
    }
}

impl Dispatcher<'_> {
    /// Says which steps never ran and what the run changed, derived from its before-images
    /// (edits and `run` steps' `changes` alike), taken before any rollback undoes it.
    fn after_steps(&mut self, outcomes: &[Outcome]) {
        let skipped = skipped_ids(self.prep, outcomes);
        if !skipped.is_empty() {
            self.send(Event::Skipped { ids: skipped });
        }
        let (diffstat, diff) =
            crate::exec::changes::net_changes(&self.prep.target, self.journal.run_dir());
        self.send(Event::Run(RunEvent::Changed(diffstat, diff)));
    }

    /// Ends the run as `ending` says: rolled back when there is a `why`, else marked applied
    /// (and rolled back after all when it cannot be). Returns how it ended and its exit code.
    fn conclude(&mut self, run_id: &str, ending: (Ending, u8), why: Option<Why>) -> (Ending, u8) {
        if let Some(why) = why {
            return match self.roll_back(run_id, why) {
                None => ending,
                Some(failed) => (Ending::RollbackFailed, failed),
            };
        }
        match self.journal.set_status(Status::Applied) {
            Ok(()) => ending,
            // A run that cannot be marked applied would stay "running" and block the target:
            // it is undone instead, so the target ends in a state the journal can describe.
            Err(e) => {
                let code = self.roll_back(run_id, Why::NotMarkedApplied(std::sync::Arc::new(e)));
                (Ending::RollbackFailed, code.unwrap_or(exit::STEP_FAILED))
            }
        }
    }

    /// Rolls the run back through the one rollback service, its events to the sinks.
    /// Returns the error's exit code when the rollback did not finish.
    fn roll_back(&mut self, run_id: &str, why: Why) -> Option<u8> {
        self.send(Event::Run(RunEvent::RollingBack { why }));
        let target = self.prep.target.clone();
        let which = crate::exec::rollback::Which::Run(run_id);
        let mut emit = |e| self.send(Event::Run(RunEvent::Rollback(e)));
        let result =
            crate::exec::rollback::roll_back(&target, which, Default::default(), &mut emit);
        let error = Error::rollback(&target, result.err()?);
        let code = error.code();
        self.send(Event::Run(RunEvent::RollbackFailed(error)));
        Some(code)
    }
}

/// The notice of files the plan will edit that have uncommitted changes in git, if any.
fn dirty_files(prep: &Prepared) -> Option<Notice> {
    let mut files: Vec<String> = prep
        .plan
        .steps()
        .flat_map(|(_, s)| s.target_paths())
        .map(str::to_string)
        .collect();
    if prep
        .plan
        .steps()
        .any(|(_, s)| action::of(s).edits_pytest_config())
    {
        let read = |rel: &str| prep.read(rel).ok().flatten();
        let rules = prep.pytest_rules().0;
        files.push(
            crate::edit::pytest_config::locate_for(&read, rules)
                .path
                .to_string(),
        );
    }
    let dirty = crate::gitstate::uncommitted(&prep.target, &files);
    (!dirty.is_empty()).then_some(Notice::Uncommitted(dirty))
}
