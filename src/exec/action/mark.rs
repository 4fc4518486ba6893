//! The `mark` action: marks each test `fast`, `medium` or `slow` from its median in a record
//! measured earlier: the markers registered in pytest's configuration, the hook in a conftest,
//! and the durations file.

use super::{writes, Action, Reads, Schedule, StepResult};
use crate::edit;
use crate::exec::context::StepContext;
use crate::exec::edits::{change, failed, EditStepError, FileChange, Inputs};
use crate::exec::failure::Failure;
use crate::exec::planned::StepPreview;
use crate::plan::compiled::Mark;
use crate::styled::Style;

impl Action for Mark {
    /// It edits files (one at a time) from the records measured so far.
    fn schedule(&self) -> Schedule {
        Schedule {
            exclusive: false,
            serial: true,
            reads: Reads::Records,
        }
    }

    fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
        if !ctx.records.contains_key(&self.from) {
            return Err(Failure::Unmeasured {
                step: self.id.clone(),
                record: self.from.clone(),
            }
            .into());
        }
        writes::edited(ctx, self)
    }

    fn preview(&self, p: &mut StepPreview<'_>) {
        match p.known.get(&self.from) {
            Some(record) => {
                let text = format!(
                    "  marks {} tests from the saved baseline's record `{}`",
                    record.durations.len(),
                    self.from
                );
                p.line(|l| {
                    l.plain(text);
                });
            }
            None => {
                let text = format!(
                    "note: `{}` depends on record `{}`, measured earlier in this run: its content is known only then (`--baseline NAME` shows it from a saved record)",
                    self.durations, self.from
                );
                p.line(|l| {
                    l.plain("  ").styled(Style::Yellow, text);
                });
                p.out.changed.insert(self.durations.clone());
            }
        }
    }

    /// The markers registered in pytest's configuration, the hook in the conftest, and (once
    /// the record is known) the durations file.
    fn files(&self, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
        let s = self;
        let thresholds = edit::markers::Thresholds {
            fast: s.fast,
            slow: s.slow,
        };
        let mut changes = Vec::new();
        let lookup = |rel: &str| (inputs.read)(rel).ok().flatten();
        let located = edit::pytest_config::locate_for(&lookup, (inputs.pytest)());
        let old = inputs.get(located.path)?;
        let ops = edit::pytest_config::PytestOps {
            markers_add: thresholds.marker_lines(),
            ..Default::default()
        };
        let new = edit::pytest_config::edit(located.kind, old.as_deref().unwrap_or(""), &ops)
            .map_err(failed(located.path))?;
        changes.push(change(located.path, old, new));
        let old = inputs.get(&s.conftest)?;
        let rel = edit::markers::relative_to_dir_of(&s.conftest, &s.durations);
        let new = edit::markers::conftest(old.as_deref().unwrap_or(""), &rel, &s.from)
            .map_err(failed(&s.conftest))?;
        changes.push(change(&s.conftest, old, new));
        if let Some(record) = inputs.records.get(&s.from) {
            changes.push(change(
                &s.durations,
                inputs.get(&s.durations)?,
                edit::markers::durations_file(&record.durations, &thresholds, &s.from),
            ));
        }
        Ok(changes)
    }

    fn edits_pytest_config(&self) -> bool {
        true
    }
}
