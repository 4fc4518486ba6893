//! One apply: lock the target, open a journal, run the DAG, decide the gates, and on any failure
//! (a step, a gate, a signal) roll everything back; the report is rewritten after every step.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::exec::progress::{fmt_duration, Progress};
use crate::exec::scheduler::{self, Outcome, Task};
use crate::exec::setup::Prepared;
use crate::exec::{actions, gates};
use crate::exit;
use crate::graph::Node;
use crate::journal::lock::Lock;
use crate::journal::record::Journal;
use crate::journal::replay::{self, RollbackReport};
use crate::journal::state::{RunMeta, Status};
use crate::measure::record::Record;
use crate::report::model::{
    DiffStatReport, GateStatus, PlanInfo, RollbackInfo, RunReport, RunStatus, StepReport,
    StepStatus,
};
use crate::ui::{self, Style};

/// Everything the command line decides about an apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Parallel steps at most.
    pub jobs: usize,
    /// CI mode: plain output, step summary, annotations.
    pub ci: bool,
    /// Print the JSON report on stdout.
    pub json: bool,
    /// Copy reports here too.
    pub report_dir: Option<PathBuf>,
    /// Save the baseline record under this name.
    pub save_baseline: Option<String>,
    /// Use this saved baseline record instead of measuring.
    pub baseline: Option<String>,
    /// Apply even when the same plan's last apply here is still in effect.
    pub reapply: bool,
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    Gate(String),
    Step(String),
}

/// The state shared by the steps of one run.
pub struct Run<'a> {
    /// The prepared plan and target.
    pub prep: &'a Prepared,
    /// The options of this apply.
    pub opts: &'a ApplyOptions,
    /// The journal of this run.
    pub journal: Journal,
    /// `.planrun/runs/<run-id>/`.
    pub run_dir: PathBuf,
    /// Set by SIGINT/SIGTERM, which commands watch; records the process groups they start.
    pub control: crate::process::Control,
    /// The suite records so far.
    pub records: Mutex<BTreeMap<String, Record>>,
    /// The report, rewritten after each step.
    pub report: Mutex<RunReport>,
    /// Live progress.
    pub progress: Arc<Progress>,
    /// Serializes file edits, so two steps never edit one file at once.
    pub edit_lock: Mutex<()>,
    started: Instant,
    stop: Mutex<Option<Stop>>,
}

/// Locks a mutex of the run; a step that panicked while holding it leaves plain data behind.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Run<'_> {
    /// Writes report.json as it stands now. The other formats are derived from it (`planrun
    /// report`) and written once at the end: three atomic, fsynced files per step made up most of
    /// planrun's own cost per `run` step (benches/apply.rs).
    pub fn save_report(&self) {
        let mut report = lock(&self.report);
        report.duration_s = self.started.elapsed().as_secs_f64();
        // Rewritten around every step: atomic, but not fsynced; the final reports are.
        let path = self.run_dir.join(crate::report::write::REPORT_JSON);
        let shown = crate::report::mask::mask_report(&report, &self.prep.secrets);
        let json = crate::report::json::to_json(&shown);
        if let Err(e) = crate::fsutil::replace_unsynced(&path, json.as_bytes()) {
            tracing::warn!("failed to write the report: {e}");
        }
    }

    fn set_step(&self, id: &str, f: impl FnOnce(&mut StepReport)) {
        let mut report = lock(&self.report);
        if let Some(s) = report.steps.iter_mut().find(|s| s.id == id) {
            f(s);
        }
    }

    fn run_node(&self, node: &Node) -> Outcome {
        match node {
            Node::Step { .. } => self.run_step(node),
            Node::Gates { phase } => self.run_gates(*phase),
        }
    }

    fn run_step(&self, node: &Node) -> Outcome {
        let Some(step) = self.prep.step(node) else {
            return Outcome::Failed;
        };
        let id = step.id().to_string();
        let start = self.started.elapsed().as_secs_f64();
        self.set_step(&id, |s| {
            s.status = StepStatus::Running;
            s.started_s = Some(start);
        });
        // A crash report should say what was running, not only what had finished.
        self.save_report();
        self.progress.started(&id, step.action());
        tracing::info!(step = %id, action = step.action(), "step started");
        let t = Instant::now();
        let result = actions::execute(self, step);
        // What the step left is what rollback compares with, to tell later edits by a person.
        let result = match (result, self.journal.seal_files()) {
            (Ok(_), Err(e)) => Err(actions::Failure::new(format!(
                "failed to journal what the step wrote: {e}"
            ))),
            (result, _) => result,
        };
        tracing::info!(step = %id, ok = result.is_ok(), seconds = t.elapsed().as_secs_f64(), "step finished");
        let duration = t.elapsed().as_secs_f64();
        let (status, message, outcome) = match result {
            Ok(done) => {
                let status = if done.changed.is_empty() && done.unchanged {
                    StepStatus::Unchanged
                } else {
                    StepStatus::Ok
                };
                self.set_step(&id, |s| {
                    s.changed = done.changed.clone();
                    s.log = done.log.clone();
                });
                (status, done.note, Outcome::Done)
            }
            Err(failure) => {
                self.set_step(&id, |s| s.log = failure.log.clone());
                let mut stop = lock(&self.stop);
                if stop.is_none() {
                    *stop = Some(Stop::Step(id.clone()));
                }
                (StepStatus::Failed, Some(failure.message), Outcome::Failed)
            }
        };
        self.set_step(&id, |s| {
            s.status = status;
            s.duration_s = Some(duration);
            s.message = message.clone();
        });
        let shown = match (&status, &message) {
            (StepStatus::Failed, Some(m)) => Some(m.as_str()),
            (_, Some(m)) => Some(m.as_str()),
            _ => None,
        };
        let shown = shown.map(|m| self.prep.secrets.mask(m));
        self.progress.finished(&id, status, shown.as_deref());
        self.save_report();
        outcome
    }

    fn run_gates(&self, phase: usize) -> Outcome {
        let phase = &self.prep.plan.phases[phase];
        if phase.gates.is_empty() {
            return Outcome::Done;
        }
        let verdicts = {
            let records = lock(&self.records);
            let lookup = |record: &str, metric: &str| records.get(record)?.metric(metric);
            gates::evaluate(&phase.id, &phase.gates, &lookup)
        };
        let color = ui::stderr_color();
        for v in &verdicts {
            let (word, style) = match v.status {
                GateStatus::Pass => ("pass", Style::BoldGreen),
                GateStatus::Fail => ("FAIL", Style::BoldRed),
                GateStatus::Warn => ("warn", Style::BoldYellow),
                GateStatus::Error => ("ERROR", Style::BoldRed),
                GateStatus::NotEvaluated => ("skip", Style::Dim),
            };
            let body = v
                .explanation
                .clone()
                .or_else(|| v.message.clone())
                .unwrap_or_else(|| v.check.clone());
            let mut line = format!("gate {body} ... {}", ui::paint(color, style, word));
            if v.status != GateStatus::Pass {
                if let Some(why) = &v.why {
                    line.push_str(&format!("  ({why})"));
                }
            }
            self.progress.line(&line);
        }
        let blocked = gates::blocks(&verdicts);
        tracing::info!(phase = %phase.id, blocked, "gates decided");
        {
            let mut report = lock(&self.report);
            for v in verdicts.iter() {
                if let Some(slot) = report.gates.iter_mut().find(|g| {
                    g.phase == v.phase && g.check == v.check && g.status == GateStatus::NotEvaluated
                }) {
                    *slot = v.clone();
                }
            }
        }
        self.save_report();
        if blocked {
            let failed = verdicts
                .iter()
                .find(|v| matches!(v.status, GateStatus::Fail | GateStatus::Error))
                .map(|v| v.check.clone())
                .unwrap_or_default();
            let mut stop = lock(&self.stop);
            if stop.is_none() {
                *stop = Some(Stop::Gate(failed));
            }
            return Outcome::Failed;
        }
        Outcome::Done
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn initial_report(prep: &Prepared, run_id: &str) -> RunReport {
    let mut report = RunReport {
        format_version: 1,
        run_id: run_id.to_string(),
        plan: PlanInfo {
            name: prep.plan.name.clone(),
            description: prep.plan.description.clone(),
            path: prep.plan_path.display().to_string(),
        },
        target: prep.target.display().to_string(),
        started: now_rfc3339(),
        vars: prep.shown_vars(),
        ..RunReport::default()
    };
    for node in &prep.order {
        match node {
            Node::Step { phase, .. } => {
                if let Some(step) = prep.step(node) {
                    report.steps.push(StepReport {
                        id: step.id().to_string(),
                        phase: prep.plan.phases[*phase].id.clone(),
                        action: step.action().to_string(),
                        ..StepReport::default()
                    });
                }
            }
            Node::Gates { phase } => {
                let p = &prep.plan.phases[*phase];
                for g in &p.gates {
                    report.gates.push(crate::report::model::GateReport {
                        phase: p.id.clone(),
                        check: g.check.clone(),
                        why: g.why.clone(),
                        on_fail: match g.on_fail {
                            crate::plan::model::OnFail::Rollback => "rollback".into(),
                            crate::plan::model::OnFail::Warn => "warn".into(),
                        },
                        ..Default::default()
                    });
                }
            }
        }
    }
    report
}

/// Runs a prepared plan for real and returns the exit code.
pub fn apply(prep: &Prepared, opts: &ApplyOptions) -> Result<u8> {
    let lock_guard = Lock::acquire(&prep.target, "apply").map_err(|e| {
        let code = match e {
            crate::journal::lock::LockError::Held { .. }
            | crate::journal::lock::LockError::Stale { .. } => exit::LOCKED,
            _ => exit::INVALID,
        };
        Error::Message {
            message: crate::error::with_causes(&e),
            hint: e.hint().map(str::to_string),
            code,
        }
    })?;
    crate::journal::explain::warn_foreign(&prep.target);
    let plan_hash = plan_hash(prep);
    if !opts.reapply {
        if let Some(code) = already_applied(prep, &plan_hash)? {
            return Ok(code);
        }
    }
    warn_dirty_files(prep);
    let meta = RunMeta {
        plan: prep.plan.name.clone(),
        plan_path: prep.plan_path.clone(),
        plan_hash,
    };
    // Checked before the journal begins: a run that cannot keep its reports never starts.
    crate::journal::state::state_subdir(&prep.target, &["runs"]).map_err(|e| Error::Message {
        message: format!("failed to prepare the reports directory: {e}"),
        hint: None,
        code: exit::INVALID,
    })?;
    let journal = Journal::begin(&prep.target, meta).map_err(|e| Error::Message {
        message: format!(
            "failed to open the journal: {}",
            crate::error::with_causes(&e)
        ),
        hint: None,
        code: exit::INVALID,
    })?;
    let run_id = journal.run_id().to_string();
    let groups =
        crate::process::Groups::record_in(journal.run_dir().join(crate::process::orphans::FILE));
    let run_dir = crate::journal::state::state_subdir(&prep.target, &["runs", &run_id, "logs"])
        .map(|logs| {
            logs.parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or(logs)
        })
        .map_err(|e| Error::Message {
            message: format!("failed to create the run's report directory: {e}"),
            hint: None,
            code: exit::INVALID,
        })?;

    let cancel = crate::process::Cancel::new();
    let _signals = crate::process::signals::install(&cancel);
    let steps = prep
        .order
        .iter()
        .filter(|n| matches!(n, Node::Step { .. }))
        .count();
    let run = Run {
        prep,
        opts,
        journal,
        run_dir: run_dir.clone(),
        control: crate::process::Control::new(cancel.clone(), groups),
        records: Mutex::new(BTreeMap::new()),
        report: Mutex::new(initial_report(prep, &run_id)),
        progress: Progress::new(steps, ui::animate()),
        edit_lock: Mutex::new(()),
        started: Instant::now(),
        stop: Mutex::new(None),
    };
    let color = ui::stderr_color();
    run.progress.line(&format!(
        "{} {} -> {} {}",
        ui::paint(color, Style::Bold, "planrun apply"),
        prep.plan.name,
        prep.target.display(),
        ui::paint(color, Style::Dim, &format!("(run {run_id})"))
    ));
    run.save_report();

    let index: BTreeMap<Node, usize> = prep
        .order
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, i))
        .collect();
    let tasks: Vec<Task> = prep
        .order
        .iter()
        .map(|n| Task {
            deps: prep
                .graph
                .deps(*n)
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect(),
            exclusive: matches!(prep.step(n), Some(crate::plan::model::Step::Suite(_))),
        })
        .collect();
    let stop = cancel.flag();
    let outcomes = scheduler::run(&tasks, opts.jobs, &stop, |i| run.run_node(&prep.order[i]));
    run.progress.finish();

    {
        let mut report = lock(&run.report);
        for (node, outcome) in prep.order.iter().zip(&outcomes) {
            if *outcome == Outcome::Skipped {
                if let Some(step) = prep.step(node) {
                    if let Some(s) = report.steps.iter_mut().find(|s| s.id == step.id()) {
                        s.status = StepStatus::Skipped;
                    }
                }
            }
        }
    }

    // What the run changed, derived from its before-images (edits and `run` steps' `changes`
    // alike), taken before any rollback undoes it.
    lock(&run.report).diffstat = net_diffstat(&prep.target, run.journal.run_dir());

    let interrupted = cancel.is_cancelled();
    let stop = lock(&run.stop).clone();
    let (status, code, reason) = match (&stop, interrupted) {
        (_, true) => (
            RunStatus::Interrupted,
            exit::INTERRUPTED,
            "interrupted by a signal".to_string(),
        ),
        (Some(Stop::Gate(check)), _) => (
            RunStatus::GateFailed,
            exit::GATE_FAILED,
            format!("gate failed: {check}"),
        ),
        (Some(Stop::Step(id)), _) => (
            RunStatus::StepFailed,
            exit::STEP_FAILED,
            format!("step `{id}` failed"),
        ),
        (None, false) => (RunStatus::Passed, exit::OK, String::new()),
    };
    let mut final_code = code;
    let mut final_status = status;
    if status != RunStatus::Passed {
        ui::err(&format!(
            "{} {reason}; rolling back",
            ui::paint(color, Style::BoldRed, "✗")
        ));
        let t = Instant::now();
        let info = match replay::rollback_run(&prep.target, &run_id, Default::default()) {
            Ok(done) => {
                let info = rollback_info(&reason, &done);
                ui::err(&format!(
                    "{} rolled back in {}: {} restored, {} deleted, {} environment(s) restored",
                    ui::paint(color, Style::BoldGreen, "↺"),
                    fmt_duration(t.elapsed()),
                    info.restored.len(),
                    info.deleted.len(),
                    info.environments.len()
                ));
                info
            }
            Err(e) => {
                let message = e.to_string();
                let err = crate::journal::explain::rollback_error(&prep.target, e, color);
                final_code = match &err {
                    Error::Message { code, .. } => *code,
                    _ => exit::ROLLBACK_FAILED,
                };
                final_status = RunStatus::RollbackFailed;
                err.report();
                RollbackInfo {
                    reason: reason.clone(),
                    ok: false,
                    message: Some(message),
                    ..Default::default()
                }
            }
        };
        lock(&run.report).rollback = Some(info);
    } else if let Err(e) = run.journal.set_status(Status::Applied) {
        // A run that cannot be marked applied would stay "running" and block the target:
        // it is undone instead, so the target ends in a state the journal can describe.
        ui::error(
            &format!("failed to mark the run applied: {e}; rolling back"),
            None,
        );
        final_status = RunStatus::RollbackFailed;
        final_code = match replay::rollback_run(&prep.target, &run_id, Default::default()) {
            Ok(_) => exit::STEP_FAILED,
            Err(e) => crate::journal::explain::rollback_error(&prep.target, e, color).report(),
        };
    }

    let report = {
        let mut report = lock(&run.report);
        report.status = final_status;
        report.exit_code = Some(final_code);
        report.finished = Some(now_rfc3339());
        report.duration_s = run.started.elapsed().as_secs_f64();
        // Every format and copy is written from the masked report.
        crate::report::mask::mask_report(&report, &prep.secrets)
    };
    // The target's state is decided above; a report that cannot be written is said, but
    // never turns the exit code into "invalid, nothing ran".
    if let Err(e) = crate::exec::finish::publish(&report, &run_dir, opts, final_code) {
        e.report();
    }
    drop(lock_guard);
    Ok(final_code)
}

/// What identifies this apply's inputs: the plan file and every variable.
fn plan_hash(prep: &Prepared) -> String {
    let bytes = std::fs::read(&prep.plan_path).unwrap_or_default();
    crate::journal::state::plan_hash(&bytes, &prep.vars)
}

/// When the newest run still in effect on the target is this same plan with the same inputs:
/// says so and returns exit 0 if nothing it wrote has changed since (Terraform's "No
/// changes"), or refuses, naming what changed, when something did.
fn already_applied(prep: &Prepared, plan_hash: &str) -> Result<Option<u8>> {
    use crate::journal::{entry, replay, state};
    let target = &prep.target;
    let Ok(runs) = state::history(target) else {
        return Ok(None);
    };
    let Some(run) = runs
        .into_iter()
        .find(|r| !matches!(r.status, Status::RolledBack | Status::Abandoned))
    else {
        return Ok(None);
    };
    let dir = state::run_dir(target, &run.id);
    let Ok(record) = state::read_record(&dir) else {
        return Ok(None);
    };
    if run.status != Status::Applied || record.plan_hash.is_empty() || record.plan_hash != plan_hash
    {
        return Ok(None);
    }
    let drift = entry::read_log(&dir, true)
        .and_then(|entries| replay::drift(target, &dir, &entries))
        .unwrap_or_default();
    if !drift.is_empty() {
        let names: Vec<&str> = drift.iter().map(|d| d.path.as_str()).collect();
        return Err(Error::Message {
            message: format!(
                "plan `{}` is already applied here (run {}, {}), and these files changed since: {}",
                prep.plan.name,
                run.id,
                run.started,
                names.join(", ")
            ),
            hint: Some(format!(
                "`planrun rollback --target {0}` to start from the original (your changes are kept unless you pass --force), or `--reapply` to apply on top",
                target.display()
            )),
            code: exit::INVALID,
        });
    }
    let report_path = target
        .join(crate::fsutil::STATE_DIR)
        .join("runs")
        .join(&run.id)
        .join(crate::report::write::REPORT_JSON);
    let report = std::fs::read_to_string(report_path)
        .ok()
        .and_then(|t| crate::report::json::from_json(&t).ok());
    let verdict = report.as_ref().map(|r| {
        let passed = r
            .gates
            .iter()
            .filter(|g| g.status == GateStatus::Pass)
            .count();
        let mut text = format!("{passed}/{} gates passed", r.gates.len());
        if let Some(line) = crate::exec::finish::records_line(r) {
            text.push_str("; ");
            text.push_str(&line);
        }
        text
    });
    ui::out(&format!(
        "plan `{}` is already applied to {} (run {}, {}){}; nothing to do",
        prep.plan.name,
        target.display(),
        run.id,
        run.started,
        verdict.map(|v| format!(": {v}")).unwrap_or_default()
    ));
    ui::note("`--reapply` runs it again on top; `planrun rollback` undoes it");
    Ok(Some(exit::OK))
}

/// Warns about files the plan will edit that have uncommitted changes in git.
fn warn_dirty_files(prep: &Prepared) {
    let mut files: Vec<String> = prep
        .plan
        .steps()
        .flat_map(|(_, s)| s.target_paths())
        .map(str::to_string)
        .collect();
    if prep
        .plan
        .steps()
        .any(|(_, s)| matches!(s, crate::plan::model::Step::PytestConfig(_)))
    {
        let read = |rel: &str| prep.read(rel).ok().flatten();
        files.push(crate::edit::pytest_config::locate(&read).path.to_string());
    }
    let dirty = crate::fsutil::uncommitted(&prep.target, &files);
    if !dirty.is_empty() {
        ui::warn(&format!(
            "uncommitted changes in files this plan edits: {} (planrun journals them and can restore them)",
            dirty.join(", ")
        ));
    }
}

/// The net change of every file the run journaled: before-image against the file as it is now.
fn net_diffstat(target: &std::path::Path, journal_dir: &std::path::Path) -> DiffStatReport {
    let images = match crate::journal::entry::file_before_images(journal_dir) {
        Ok(images) => images,
        Err(e) => {
            tracing::warn!("cannot read the journal for the diff stat: {e}");
            return DiffStatReport::default();
        }
    };
    let mut total = crate::edit::diff::DiffStat::default();
    for (rel, before) in images {
        let now = std::fs::read(target.join(&rel)).ok();
        if now == before {
            continue;
        }
        let old = before.as_deref().map(String::from_utf8_lossy);
        let new = now.as_deref().map(String::from_utf8_lossy);
        total += crate::edit::diff::stat(old.as_deref(), new.as_deref());
    }
    DiffStatReport {
        files: total.files,
        insertions: total.insertions,
        deletions: total.deletions,
    }
}

/// What a rollback did, in the report's terms.
fn rollback_info(reason: &str, done: &RollbackReport) -> RollbackInfo {
    use crate::journal::replay::Outcome as Undo;
    let mut info = RollbackInfo {
        reason: reason.to_string(),
        ok: true,
        ..RollbackInfo::default()
    };
    for action in &done.actions {
        let subject = action.subject.clone();
        match action.outcome {
            Undo::Restored => info.restored.push(subject),
            Undo::Deleted | Undo::DirRemoved | Undo::VenvRemoved => info.deleted.push(subject),
            Undo::EnvRestored { .. } => info.environments.push(subject),
            _ => {}
        }
    }
    info
}
