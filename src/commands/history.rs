//! `planrun history`: the runs recorded on a target, newest first.

use crate::cli::HistoryCmdArgs as TargetArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::{render, state};
use crate::ui;

/// Runs `planrun history`.
pub fn run(args: &TargetArgs) -> Result<u8> {
    if let Some(plan) = &args.plan {
        return stage_runs(args, plan);
    }
    let target = &args.target;
    let unreadable = |e: crate::journal::error::JournalError| {
        Error::invalid(
            format!("cannot read the history of `{}`: {e}", target.display()),
            None,
        )
    };
    let runs = state::history(target).map_err(unreadable)?;
    if runs.is_empty() {
        ui::note(&format!(
            "no planrun runs recorded in `{}`",
            target.display()
        ));
        return Ok(exit::OK);
    }
    let interrupted = state::interrupted(target).map_err(unreadable)?;
    let id = interrupted.as_ref().map(|run| run.id.as_str());
    for line in render::history_lines(&runs, id) {
        ui::out(&ui::render_out(&line));
    }
    if interrupted.is_some() {
        ui::warn(&format!(
            "an interrupted run must be rolled back: planrun rollback --target {}",
            target.display()
        ));
    }
    Ok(exit::OK)
}

/// `planrun history --plan P [--stage S]`: the plan's runs from the run history, oldest first,
/// the last `--window` of them.
fn stage_runs(args: &TargetArgs, plan: &str) -> Result<u8> {
    let name = plan_name(plan)?;
    let path = super::status::history_path(&args.history, &args.target)?;
    let file = super::status::read_history(&path)?;
    let runs: Vec<&crate::history::Entry> = file
        .entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.plan == name)
        .filter(|e| args.stage.is_none() || e.stage == args.stage)
        .collect();
    let which = match &args.stage {
        Some(s) => format!("plan `{name}`, stage `{s}`"),
        None => format!("plan `{name}`"),
    };
    if runs.is_empty() {
        ui::note(&format!("no runs of {which} in `{}`", path.display()));
        return Ok(exit::OK);
    }
    let shown = &runs[runs.len().saturating_sub(args.history.window)..];
    ui::out(&format!(
        "{} of {which} in `{}` (the last {} of {})",
        ui::count(shown.len(), "run"),
        path.display(),
        shown.len(),
        runs.len()
    ));
    for e in shown {
        let commit = e.commit.as_deref().map_or("-", |c| &c[..c.len().min(10)]);
        let walls: Vec<String> = e
            .records
            .iter()
            .filter_map(|(r, m)| {
                m.get("wall.median").map(|w| {
                    format!(
                        "{r} {}",
                        crate::report::words::fmt_duration(std::time::Duration::from_secs_f64(
                            w.max(0.0)
                        ))
                    )
                })
            })
            .collect();
        ui::out(&format!(
            "{}  {}  {:<8}  {:<6}  exit {:<3} {:>8}{}  {}",
            e.time,
            e.run_id,
            e.stage.as_deref().unwrap_or("-"),
            commit,
            e.exit_code,
            crate::report::words::fmt_duration(std::time::Duration::from_secs_f64(
                e.duration_s.max(0.0)
            )),
            if e.forced { "  forced" } else { "" },
            walls.join(", ")
        ));
    }
    Ok(exit::OK)
}

/// A plan's name: `plan` itself, or the `name` of the plan file it names.
fn plan_name(plan: &str) -> Result<String> {
    let path = std::path::Path::new(plan);
    if !path.is_file() {
        return Ok(plan.to_string());
    }
    let loaded = crate::plan::load(path).map_err(Error::Plan)?;
    Ok(loaded.plan.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_corrupt_histories() {
        let dir = tempfile::tempdir().unwrap();
        let args = TargetArgs {
            target: dir.path().to_path_buf(),
            plan: None,
            stage: None,
            history: crate::cli::HistoryArgs {
                file: None,
                window: 20,
            },
        };
        assert_eq!(run(&args).unwrap(), exit::OK);
        let run_dir = crate::journal::paths::run_dir(dir.path(), "20261121T140501Z-0000");
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::write(run_dir.join("meta.json"), "{").unwrap();
        let err = run(&args).unwrap_err();
        assert!(err.to_string().contains("meta.json"), "{err}");
    }
}
