//! `planrun status PLAN`: each rollout stage with its history and whether it may be promoted;
//! and the history helpers `apply` and `history` share.

use std::path::{Path, PathBuf};

use crate::cli::{HistoryArgs, StatusArgs};
use crate::error::{Error, Result};
use crate::exec::setup::Prepared;
use crate::history::{promote, HistoryFile, Window};
use crate::report::model::StageReport;
use crate::ui::{self, Style};
use crate::{exit, journal};

/// The history file `args` name, or the target's own: refused (exit 2) when the target's
/// `.planrun/` is a symlink, not a directory or not this user's, so a repository cannot point
/// planrun's reads or appends elsewhere through it.
pub(crate) fn history_path(args: &HistoryArgs, target: &Path) -> Result<PathBuf> {
    match &args.file {
        Some(file) => Ok(file.clone()),
        None => {
            journal::paths::existing_state_dir(target)?;
            Ok(journal::paths::history_file(target))
        }
    }
}

/// Reads the history, warning about each line it skips.
pub(crate) fn read_history(path: &Path) -> Result<HistoryFile> {
    let file = crate::history::read(path).map_err(|e| history_error(path, e))?;
    for warning in file.warnings(path) {
        ui::warn(&warning);
    }
    Ok(file)
}

/// A history that cannot be read or appended to: refused (exit 2) when planrun will not use
/// what is there (a symlink, not a regular file), an I/O error otherwise.
pub(crate) fn history_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        Error::invalid(format!("refusing the history: {e}"), None)
    } else {
        Error::io(
            format!("failed to read the history `{}`", path.display()),
            e,
        )
    }
}

/// The stage an apply runs at, after the previous stage's promotion was decided over its
/// history: refused (exit 9, with the numbers) when it does not hold, unless `force`.
pub(crate) fn enter_stage(
    prep: &Prepared,
    history: &Path,
    window: usize,
    force: bool,
    dry_run: bool,
) -> Result<Option<StageReport>> {
    let Some(stage) = prep.plan.current_stage() else {
        if force {
            ui::warn("--force has no effect: the plan has no stages");
        }
        return Ok(None);
    };
    let promotion = match prep.plan.previous_stage() {
        None => None,
        Some(previous) => {
            let file = read_history(history)?;
            let w = Window::of(&file, &prep.plan.name, Some(&previous.id), window);
            Some(promote::decide(previous, &w))
        }
    };
    let holds = promotion.as_ref().is_none_or(promote::Promotion::holds);
    if !holds {
        let p = promotion.as_ref().map_or_else(Default::default, |p| {
            (p.stage.clone(), p.runs, p.failures())
        });
        if dry_run && !force {
            ui::warn(&format!(
                "an apply of stage `{}` would be refused: stage `{}` is not promoted ({})",
                stage.id,
                p.0,
                p.2.join("; ")
            ));
        } else if !force {
            return Err(Error::NotPromoted {
                stage: stage.id.clone(),
                previous: p.0,
                runs: p.1,
                failures: p.2,
            });
        } else {
            ui::warn(&format!(
                "entering stage `{}` with --force: stage `{}` is not promoted ({})",
                stage.id,
                p.0,
                p.2.join("; ")
            ));
        }
    }
    Ok(Some(StageReport {
        id: stage.id.clone(),
        forced: !holds && force,
        promotion,
    }))
}

/// Runs `planrun status`.
pub fn run(args: &StatusArgs) -> Result<u8> {
    let vars = super::validate::overrides(&args.vars)?;
    let prep = Prepared::new(&args.plan, args.target.as_deref(), &vars)?;
    let path = history_path(&args.history, &prep.target)?;
    let file = read_history(&path)?;
    let plan = &prep.plan;
    let color = ui::stdout_color();
    ui::out(&format!(
        "{} {} (history {}, window {})",
        ui::paint(color, Style::Bold, "plan"),
        plan.name,
        path.display(),
        args.history.window
    ));
    if plan.stages.is_empty() {
        let w = Window::of(&file, &plan.name, None, args.history.window);
        ui::out(&format!("  no stages; {}", summary(&w)));
        return Ok(exit::OK);
    }
    // Stage k may be applied when stage k-1 is promoted; the first always may.
    let mut may_enter = true;
    for stage in &plan.stages {
        let w = Window::of(&file, &plan.name, Some(&stage.id), args.history.window);
        let title = stage
            .title
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        let entry = if may_enter {
            "may be applied"
        } else {
            "locked"
        };
        ui::out(&format!(
            "stage {}{title}: {}; {entry}",
            ui::paint(color, Style::Bold, &stage.id),
            summary(&w)
        ));
        if stage.promote.is_empty() {
            ui::out("  promote: no criteria; the next stage may follow at once");
            continue;
        }
        let promotion = promote::decide(stage, &w);
        for c in &promotion.criteria {
            let (word, style) = if c.pass {
                ("met", Style::BoldGreen)
            } else {
                ("NOT MET", Style::BoldRed)
            };
            ui::out(&format!(
                "  promote: {} ... {}",
                c.explanation,
                ui::paint(color, style, word)
            ));
        }
        let verdict = if promotion.holds() {
            ui::paint(color, Style::BoldGreen, "may be promoted")
        } else {
            ui::paint(color, Style::BoldRed, "not yet promoted")
        };
        ui::out(&format!("  => {verdict}"));
        may_enter = may_enter && promotion.holds();
    }
    Ok(exit::OK)
}

/// `5 runs, 4 green, green streak 3, fail rate 20%, last 2026-12-02T06:00:00Z (exit 0)`.
fn summary(w: &Window<'_>) -> String {
    let Some(last) = w.runs.last() else {
        return "no runs yet".to_string();
    };
    let n = w.runs.len();
    let green = w.metric("green").unwrap_or(0.0);
    let streak = w.metric("green_streak").unwrap_or(0.0);
    let rate = w.metric("fail_rate").unwrap_or(0.0);
    format!(
        "{}, {green} green, green streak {streak}, fail rate {:.0}%, last {} (exit {})",
        ui::count(n, "run"),
        rate * 100.0,
        last.time,
        last.exit_code
    )
}
