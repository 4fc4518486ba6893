//! The lock file follows the `pyproject.toml` an install step's `record_in` changed, relocked by
//! the project's own tool the way [`crate::edit::locks`] chooses (journaled first, so rollback
//! puts it back byte for byte); and, before an apply begins, a project whose lock needs a tool
//! that is not there is refused with what to do.

use std::path::{Path, PathBuf};

use crate::edit::locks::{self, Lock, Tool, UvChoice};
use crate::error::{Error, Result};
use crate::exec::context::StepContext;
use crate::exec::edits;
use crate::exec::failure::{Failure, Journaled, StepError};
use crate::exec::outcome::Relock;
use crate::exec::setup::Prepared;
use crate::exec::steplog::{log_path, tail};
use crate::plan::compiled::Install;
use crate::process::{self, CommandSpec};
use crate::pyenv;

/// A program on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The lock an install step's recording would leave stale, read from the target as it is.
fn stale_lock(prep: &Prepared, step: &Install) -> Option<Lock> {
    let read = |rel: &str| prep.read(rel);
    let placed = edits::placement(step, &read)?;
    if placed.packages.is_empty() {
        return None;
    }
    locks::following(&placed.file, &|rel| prep.read(rel).ok().flatten())
}

/// Why an install step would be refused before the apply begins: its recording would leave a
/// Poetry or PDM lock stale on a machine without that tool (uv is found or installed when
/// needed). The message and what to do.
pub fn refusal(prep: &Prepared, s: &Install) -> Option<(String, String)> {
    let lock = stale_lock(prep, s)?;
    let program = lock.tool.program();
    if lock.tool == Tool::Uv || on_path(program).is_some() {
        return None;
    }
    Some((
        format!(
            "step `{}` records {} in `{}`, and `{}` must follow it, but `{program}` is not on PATH",
            s.id,
            s.packages.join(" "),
            lock.pyproject,
            lock.file
        ),
        format!(
            "nothing was changed; install {program} (`uv tool install {program}` or `pipx install {program}`) and run the apply again, or name a requirements file in `record_in`"
        ),
    ))
}

/// Refuses (exit 2, nothing changed) a plan with a step [`refusal`] refuses, or whose installs
/// need a uv the project pins that cannot be had ([`crate::exec::uvpin::preflight`]).
pub fn preflight(prep: &Prepared) -> Result<()> {
    crate::exec::uvpin::preflight(prep, &process::Control::default())?;
    for s in prep.plan.installs() {
        if let Some((message, hint)) = refusal(prep, s) {
            return Err(Error::invalid(message, Some(&hint)));
        }
    }
    Ok(())
}

/// What a relock did: the lock when it changed, and a note for the step.
pub struct Relocked {
    /// The lock file, when its bytes changed.
    pub changed: Option<String>,
    /// How it was relocked, when there is something to say.
    pub notes: Vec<Relock>,
}

/// Relocks the lock beside the `pyproject.toml` among `changed`, if there is one.
pub fn relock(
    ctx: &StepContext<'_>,
    s: &Install,
    changed: &[String],
) -> std::result::Result<Relocked, StepError> {
    let read = |rel: &str| ctx.prep.read(rel).ok().flatten();
    let lock = changed.iter().find_map(|c| locks::following(c, &read));
    let Some(lock) = lock else {
        return Ok(Relocked {
            changed: None,
            notes: Vec::new(),
        });
    };
    let before = read(&lock.file);
    ctx.journal
        .record_file(Path::new(&lock.file))
        .map_err(|e| crate::exec::failure::journal_failed(Journaled::File(lock.file.clone()), e))?;
    let (argv, note) = command(ctx, &lock)?;
    let dir = Path::new(&lock.pyproject).parent().unwrap_or(Path::new(""));
    let (log, rel) = log_path(ctx, &format!("{}-{}-lock", s.id, lock.tool.program()))?;
    let quoted = argv
        .iter()
        .map(|a| process::shell::quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let spec = CommandSpec {
        command: quoted.clone(),
        cwd: ctx.prep.target.join(dir),
        env: Vec::new(),
        timeout: None,
        log: log.clone(),
        grace: process::DEFAULT_GRACE,
        log_max: process::caplog::max_from_env(),
    };
    let outcome = process::run(&spec, ctx.control, false).map_err(|source| {
        let command = quoted.clone();
        StepError::logged(Failure::Start { command, source }, rel.clone())
    })?;
    if !outcome.status.success() {
        let failure = Failure::Relock {
            command: quoted,
            status: outcome.status,
            packages: s.packages.join(" "),
            pyproject: lock.pyproject.clone(),
            tail: tail(&log),
        };
        return Err(StepError::logged(failure, rel));
    }
    let after = read(&lock.file);
    let mut notes: Vec<Relock> = note.into_iter().collect();
    if lock.tool == Tool::Uv {
        let (old, new) = (
            before.as_deref().map_or(0, locks::uv_revision),
            after.as_deref().map_or(0, locks::uv_revision),
        );
        if old != new {
            notes.push(Relock::RevisionMoved { old, new });
        }
    }
    Ok(Relocked {
        changed: (after != before).then(|| lock.file.clone()),
        notes,
    })
}

/// The relock command for `lock`, and what to say about the choice.
fn command(
    ctx: &StepContext<'_>,
    lock: &Lock,
) -> std::result::Result<(Vec<String>, Option<Relock>), StepError> {
    let missing = |program: &str| {
        StepError::from(Failure::LockToolMissing {
            lock: lock.file.clone(),
            pyproject: lock.pyproject.clone(),
            program: program.to_string(),
        })
    };
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    match lock.tool {
        Tool::Uv => {
            let uv = pyenv::find_or_provision_uv(None, Path::new("python3"), ctx.control)
                .ok_or_else(|| missing("uv"))?;
            let read = |rel: &str| ctx.prep.read(rel).ok().flatten();
            let dir = Path::new(&lock.pyproject).parent().unwrap_or(Path::new(""));
            let pin = locks::uv_pin(
                &read(&lock.pyproject).unwrap_or_default(),
                read(&dir.join("uv.toml").to_string_lossy()).as_deref(),
            );
            let revision = read(&lock.file).map_or(0, |t| locks::uv_revision(&t));
            let found = crate::exec::uvpin::version_of(&uv, ctx.control);
            let uv = path(uv);
            Ok(match locks::choose_uv(found, pin.as_deref(), revision) {
                UvChoice::Found => (vec![uv, "lock".into()], None),
                UvChoice::Other { spec, why } => (
                    vec![
                        uv,
                        "tool".into(),
                        "run".into(),
                        "--from".into(),
                        format!("uv{spec}"),
                        "uv".into(),
                        "lock".into(),
                    ],
                    Some(Relock::WithUv { spec, why }),
                ),
            })
        }
        Tool::Poetry => {
            let poetry = on_path("poetry").ok_or_else(|| missing("poetry"))?;
            let version = crate::exec::uvpin::version_of(&poetry, ctx.control);
            let mut argv = vec![path(poetry)];
            argv.extend(
                locks::poetry_lock_args(version)
                    .iter()
                    .map(|a| a.to_string()),
            );
            Ok((argv, None))
        }
        Tool::Pdm => {
            let pdm = on_path("pdm").ok_or_else(|| missing("pdm"))?;
            Ok((
                vec![path(pdm), "lock".into(), "--update-reuse".into()],
                None,
            ))
        }
    }
}
