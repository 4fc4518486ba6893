//! `planrun history`: the runs recorded on a target, newest first.

use crate::cli::TargetArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::{render, state};
use crate::ui;

/// Runs `planrun history`.
pub fn run(args: &TargetArgs) -> Result<u8> {
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
    for line in render::history_lines(&runs, id, ui::stdout_color()) {
        ui::out(&line);
    }
    if interrupted.is_some() {
        ui::warn(&format!(
            "an interrupted run must be rolled back: planrun rollback --target {}",
            target.display()
        ));
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_corrupt_histories() {
        let dir = tempfile::tempdir().unwrap();
        let args = TargetArgs {
            target: dir.path().to_path_buf(),
        };
        assert_eq!(run(&args).unwrap(), exit::OK);
        let run_dir = crate::journal::paths::run_dir(dir.path(), "20261121T140501Z-0000");
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::write(run_dir.join("meta.json"), "{").unwrap();
        let err = run(&args).unwrap_err();
        assert!(err.to_string().contains("meta.json"), "{err}");
    }
}
