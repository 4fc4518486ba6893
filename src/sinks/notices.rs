//! The terminal outside a run's event stream: what is said before an apply starts (or instead
//! of it: already applied, nothing to do), and the sinks that failed once it ended.

use crate::error::Error;
pub use crate::exec::output::Notice;
use crate::report::model::GateStatus;
use crate::sinks::apply::records_line;
use crate::ui;

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
            // An unreadable report leaves out the verdict, not the notice.
            let report = std::fs::read_to_string(report)
                .ok()
                .and_then(|t| crate::report::json::from_json(&t).ok());
            let verdict = report.as_ref().map(|r| {
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
