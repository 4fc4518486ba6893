//! The terminal outside a run's event stream: what is said before an apply starts (or instead
//! of it: already applied, nothing to do), and the sinks that failed once it ended.

use crate::error::Error;
use crate::report::model::GateStatus;
use crate::sinks::apply::records_line;
use crate::ui;

/// Something said about an apply before it starts (or instead of it).
#[derive(Debug)]
pub enum Notice {
    /// A journal in the target that planrun did not write (the journal's account of it).
    ForeignJournal(String),
    /// Files this plan edits that have uncommitted changes in git.
    Uncommitted(Vec<String>),
    /// The plan is already applied here with the same inputs and nothing it wrote changed:
    /// nothing to do.
    AlreadyApplied {
        /// The plan's name.
        plan: String,
        /// The target.
        target: std::path::PathBuf,
        /// The run in effect.
        run_id: String,
        /// When it started.
        started: String,
        /// Its report, when it can be read.
        report: Option<Box<crate::report::model::RunReport>>,
    },
}

/// The terminal before an apply starts (or instead of it): its notices, the way the run's own
/// lines are written.
pub fn before_run(notice: &Notice) {
    match notice {
        Notice::ForeignJournal(text) => ui::warn(text),
        Notice::Uncommitted(paths) => ui::warn(&format!(
            "uncommitted changes in files this plan edits: {} (planrun journals them and can restore them)",
            paths.join(", ")
        )),
        Notice::AlreadyApplied {
            plan,
            target,
            run_id,
            started,
            report,
        } => {
            let verdict = report.as_deref().map(|r| {
                let passed = (r.gates.iter())
                    .filter(|g| g.status == GateStatus::Pass)
                    .count();
                let mut text = format!("{passed}/{} gates passed", r.gates.len());
                if let Some(line) = records_line(r) {
                    text.push_str("; ");
                    text.push_str(&line);
                }
                text
            });
            ui::out(&format!(
                "plan `{plan}` is already applied to {} (run {run_id}, {started}){}; nothing to do",
                target.display(),
                verdict.map(|v| format!(": {v}")).unwrap_or_default()
            ));
            ui::note("`--reapply` runs it again on top; `planrun rollback` undoes it");
        }
    }
}

/// Says each sink that failed to finish (a report that could not be written): the target's
/// state is decided by then, so this never changes the exit code.
pub fn sinks_failed(errors: &[Error]) {
    for e in errors {
        e.report();
    }
}
