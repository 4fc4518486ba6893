//! What actions share when they change the target: their file changes written journal first,
//! and the caches noted before the first command.

use std::path::Path;

use super::Action;
use crate::exec::context::StepContext;
use crate::exec::edits::{FileChange, Inputs};
use crate::exec::events::StepOutput;
use crate::exec::failure::{journal_failed, Failure, Journaled, StepError};

/// Computes an action's file changes against the disk and writes them, journaling each file
/// first; returns the files it changed.
pub fn apply(ctx: &StepContext<'_>, action: &dyn Action) -> Result<Vec<String>, StepError> {
    let prep = ctx.prep;
    let read = |rel: &str| prep.read(rel);
    let inputs = Inputs {
        read: &read,
        plan_dir: &prep.plan_dir,
        expand: &|t| prep.expand(t),
        records: ctx.records,
        pytest: &|| prep.pytest_rules().0,
    };
    let changes = action.files(&inputs).map_err(Failure::Edit)?;
    let mut changed = Vec::new();
    for change in changes {
        if change.is_noop() {
            continue;
        }
        write_change(ctx, &change)?;
        changed.push(change.rel);
    }
    Ok(changed)
}

/// The output of an action that only edits files: what it changed, or that it found them as
/// planned.
pub fn edited(ctx: &StepContext<'_>, action: &dyn Action) -> Result<StepOutput, StepError> {
    let changed = apply(ctx, action)?;
    Ok(StepOutput {
        unchanged: changed.is_empty(),
        changed,
        ..StepOutput::default()
    })
}

fn write_change(ctx: &StepContext<'_>, change: &FileChange) -> Result<(), StepError> {
    // The journal confines the path, records its before-image (and any parent directory the
    // write creates) and what is about to be written, before anything on disk changes.
    ctx.journal
        .write_file(Path::new(&change.rel), change.new.as_bytes(), change.mode)
        .map(drop)
        .map_err(|e| {
            Failure::Write {
                path: change.rel.clone(),
                source: Box::new(e),
            }
            .into()
        })
}

/// Notes the caches under the target and in the plan's environment, and the target's tree,
/// before the first command, so rollback removes new caches and moves out what the run made.
pub fn record_caches(ctx: &StepContext<'_>) -> Result<(), StepError> {
    ctx.journal
        .record_caches(|| ctx.prep.resolve_python(&ctx.prep.env.python))
        .map_err(|e| journal_failed(Journaled::Caches, e))
}
