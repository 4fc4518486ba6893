//! The actions that only edit files: `write`, `replace`, `ini`, `toml` and `pytest-config`.
//! Each computes its change purely; they run one at a time, and apply writes what the dry run
//! shows.

use super::{writes, Action, Schedule, StepResult};
use crate::edit;
use crate::exec::context::StepContext;
use crate::exec::edits::{change, failed, EditStepError, FileChange, Inputs};
use crate::exec::planned::StepPreview;
use crate::plan::model::{IniStep, PytestConfigStep, ReplaceStep, TomlStep, WriteStep};

/// An edit runs one at a time (two steps never edit one file at once) and reads nothing of
/// the run.
const SCHEDULE: Schedule = Schedule {
    exclusive: false,
    serial: true,
    reads: super::Reads::Nothing,
};

/// The [`Action`] of an edit step whose `files` is `$files`; `$pytest`: it edits pytest's
/// configuration file.
macro_rules! edit_action {
    ($ty:ty, $pytest:expr, $files:expr) => {
        impl Action for $ty {
            fn schedule(&self) -> Schedule {
                SCHEDULE
            }

            fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
                writes::edited(ctx, self)
            }

            // An edit's preview is its diff, which the dry run shows for every action.
            fn preview(&self, _p: &mut StepPreview<'_>) {}

            fn files(&self, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
                $files(self, inputs)
            }

            fn edits_pytest_config(&self) -> bool {
                $pytest
            }
        }
    };
}

edit_action!(WriteStep, false, write);
edit_action!(ReplaceStep, false, replace);
edit_action!(IniStep, false, ini);
edit_action!(TomlStep, false, toml);
edit_action!(PytestConfigStep, true, pytest_config);

fn write(s: &WriteStep, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
    let template = inputs.plan_dir.join(&s.template);
    let text = std::fs::read_to_string(&template).map_err(|e| EditStepError::Template {
        path: template.display().to_string(),
        message: e.to_string(),
    })?;
    let new = (inputs.expand)(&text).map_err(|message| EditStepError::Interpolate {
        path: template.display().to_string(),
        message,
    })?;
    let mode = s.mode.as_deref().map(parse_mode).transpose()?;
    let old = inputs.get(&s.path)?;
    let mut c = change(&s.path, old, new);
    c.mode = mode;
    Ok(vec![c])
}

fn replace(s: &ReplaceStep, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
    let old = inputs.get(&s.path)?;
    let text = old.clone().unwrap_or_default();
    let new = edit::replace::edit(&text, &s.pattern, &s.replacement, s.regex, s.first_only)
        .map_err(failed(&s.path))?;
    Ok(vec![change(&s.path, old, new)])
}

fn ini(s: &IniStep, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
    let old = inputs.get(&s.path)?;
    let ops = edit::ini::IniOps {
        set: s.set.clone(),
        unset: s.unset.clone(),
        append: s.append.clone(),
        remove: s.remove.clone(),
    };
    let new =
        edit::ini::edit(old.as_deref().unwrap_or(""), &s.section, &ops).map_err(failed(&s.path))?;
    Ok(vec![change(&s.path, old, new)])
}

fn toml(s: &TomlStep, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
    let old = inputs.get(&s.path)?;
    let ops = edit::toml::TomlOps {
        set: s.set.clone(),
        unset: s.unset.clone(),
        append: s.append.clone(),
        remove: s.remove.clone(),
    };
    let new =
        edit::toml::edit(old.as_deref().unwrap_or(""), &s.table, &ops).map_err(failed(&s.path))?;
    Ok(vec![change(&s.path, old, new)])
}

fn pytest_config(
    s: &PytestConfigStep,
    inputs: &Inputs<'_>,
) -> Result<Vec<FileChange>, EditStepError> {
    let lookup = |rel: &str| (inputs.read)(rel).ok().flatten();
    let located = edit::pytest_config::locate_for(&lookup, (inputs.pytest)());
    let old = inputs.get(located.path)?;
    let ops = edit::pytest_config::PytestOps {
        addopts_add: s.addopts_add.clone(),
        addopts_remove: s.addopts_remove.clone(),
        set: s.set.clone(),
        markers_add: s.markers_add.clone(),
    };
    let new = edit::pytest_config::edit(located.kind, old.as_deref().unwrap_or(""), &ops)
        .map_err(failed(located.path))?;
    Ok(vec![change(located.path, old, new)])
}

fn parse_mode(text: &str) -> Result<u32, EditStepError> {
    let digits = text.trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| EditStepError::Mode(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_octal() {
        assert_eq!(parse_mode("0755").unwrap(), 0o755);
        assert_eq!(parse_mode("644").unwrap(), 0o644);
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("rwx").is_err());
    }
}
