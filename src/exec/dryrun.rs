//! `--dry-run`, as `terraform plan`: a header (plan, target, installer, phases), then each phase
//! with its steps in execution order (every command, every file diff) and its gates with their
//! whys, and a closing count; touching nothing. `--json` gives the same as data, shaped like
//! `report.json` (its `steps` and `gates`, none run yet) plus what each step would do.
//!
//! What a step would do is its action's to say ([`Action::preview`]); its file changes are
//! computed by the same [`Action::files`] that apply uses, reading through an overlay of the
//! changes previewed so far, so a later edit of the same file shows its real diff. This module
//! lays the steps out, with the phases, gates and counts around them, as data
//! ([`Preview`]); `sinks::preview` renders it for the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::edit::diff;
use crate::exec::action::{self, Action};
use crate::exec::edits::{self, FileChange};
use crate::exec::planned::StepPreview;
pub use crate::exec::planned::{Block, Header, PlannedFile, PlannedStep, Preview};
use crate::exec::setup::Prepared;
use crate::graph::Node;
use crate::measure::record::Record;
use crate::plan::compiled::Step;
use crate::plan::model::Installer;
use crate::styled::{Style, Styled};

/// Builds the preview of a prepared apply; `known` holds the records known before anything runs
/// (the saved baseline `--baseline` names, under its suite's record name). Commands, diffs and
/// undo lines hold secret values as they are: whoever shows them masks them.
pub fn preview(
    prep: &Prepared,
    known: &BTreeMap<String, Record>,
) -> Result<Preview, edits::EditStepError> {
    let mut out = Preview {
        header: header(prep),
        ..Preview::default()
    };
    let mut overlay: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut current_phase: Option<usize> = None;
    for node in &prep.plan.order {
        let (phase_index, index) = match node {
            Node::Step { phase, index } => (*phase, Some(*index)),
            Node::Gates { phase } => (*phase, None),
        };
        let phase = &prep.plan.phases[phase_index];
        if current_phase != Some(phase_index) && (index.is_some() || !phase.gates.is_empty()) {
            current_phase = Some(phase_index);
            out.blocks.push(Block::Phase {
                id: phase.id.clone(),
                title: phase.title.clone(),
                needs: phase.needs.clone(),
            });
        }
        let Some(index) = index else {
            out.gates += phase.gates.len();
            let gates = phase.gates.iter();
            out.blocks.push(Block::Gates(
                gates.map(|g| (g.check.clone(), g.why.clone())).collect(),
            ));
            continue;
        };
        let step = &phase.steps[index];
        let lines = preview_step(prep, known, &mut overlay, &mut out, step)?;
        out.blocks.push(Block::Step {
            id: step.id().to_string(),
            action: step.action(),
            lines,
        });
    }
    out.files = out.changed.len();
    let changed = std::mem::take(&mut out.changed);
    out.already.retain(|f| !changed.contains(f));
    out.changed = changed;
    // The data shows secret values masked, as the text does; apply runs them unmasked.
    for step in &mut out.steps {
        for c in step.commands.iter_mut().chain(step.undo.iter_mut()) {
            *c = prep.secrets.mask(c).into_owned();
        }
        for f in &mut step.files {
            f.diff = prep.secrets.mask(&f.diff).into_owned();
        }
    }
    Ok(out)
}

/// One step's lines: its heading, what its action says it would do, and its file diffs,
/// computed by the same [`Action::files`] apply uses, read through the overlay of the changes
/// previewed so far (which this step's join).
fn preview_step(
    prep: &Prepared,
    known: &BTreeMap<String, Record>,
    overlay: &mut BTreeMap<String, Option<String>>,
    out: &mut Preview,
    step: &Step,
) -> Result<Styled, edits::EditStepError> {
    let action = action::of(step);
    let mut planned = PlannedStep {
        id: step.id().to_string(),
        ..PlannedStep::default()
    };
    let mut lines = Styled::new();
    let read = |rel: &str| -> Result<Option<String>, String> {
        match overlay.get(rel) {
            Some(content) => Ok(content.clone()),
            None => prep.read(rel),
        }
    };
    action.preview(&mut StepPreview {
        prep,
        known,
        read: &read,
        out,
        planned: &mut planned,
        lines: &mut lines,
    });
    let mut pytest = crate::edit::pytest_config::Generation::Pytest9;
    if action.edits_pytest_config() {
        let (generation, why) = prep.pytest_rules();
        pytest = generation;
        let found =
            crate::edit::pytest_config::locate_for(&|rel| read(rel).ok().flatten(), generation);
        let what = match found.exists {
            true => format!(
                "pytest reads {} ({}'s rules: {why})",
                found.kind.describe(),
                generation.name()
            ),
            false => format!(
                "no file holds pytest's configuration ({}'s rules: {why}): creates pytest.ini",
                generation.name()
            ),
        };
        lines.plain("    ").styled(Style::Dim, what).plain("\n");
    }
    let changes: Vec<FileChange> = action.files(&edits::Inputs {
        read: &read,
        plan_dir: &prep.plan_dir,
        expand: &|t| prep.expand(t),
        records: known,
        pytest: &|| pytest,
    })?;
    for c in changes {
        file_lines(prep, overlay, out, &mut planned, &mut lines, action, c);
    }
    out.steps.push(planned);
    Ok(lines)
}

/// A file change's lines (its diff, or that it is already as planned) and the lock its
/// action relocks beside it; the change joins the overlay.
fn file_lines(
    prep: &Prepared,
    overlay: &mut BTreeMap<String, Option<String>>,
    out: &mut Preview,
    planned: &mut PlannedStep,
    lines: &mut Styled,
    action: &dyn Action,
    c: FileChange,
) {
    if c.is_noop() {
        lines
            .plain(format!("    {} ", c.rel))
            .styled(Style::Dim, "(already as planned, unchanged)")
            .plain("\n");
        if !out.already.contains(&c.rel) {
            out.already.push(c.rel.clone());
        }
        planned.files.push(PlannedFile {
            path: c.rel.clone(),
            diff: String::new(),
            unchanged: true,
        });
        return;
    }
    if let Some(cmd) = &out.earlier_command {
        lines
            .plain("    ")
            .styled(
                Style::Yellow,
                format!(
                    "note: shown against today's content; step `{cmd}` runs first and may change `{}`",
                    c.rel
                ),
            )
            .plain("\n");
    }
    lines
        .0
        .extend(diff::unified_styled(&c.rel, c.old.as_deref(), Some(&c.new)).0);
    planned.files.push(PlannedFile {
        path: c.rel.clone(),
        diff: diff::unified(&c.rel, c.old.as_deref(), Some(&c.new)),
        unchanged: false,
    });
    out.changed.insert(c.rel.clone());
    if action.relocks() {
        let lookup = |rel: &str| match overlay.get(rel) {
            Some(content) => content.clone(),
            None => prep.read(rel).ok().flatten(),
        };
        if let Some(lock) = crate::edit::locks::following(&c.rel, &lookup) {
            let line = crate::edit::locks::describe(&lock, &lookup);
            let (command, why) = line.split_once("  ").unwrap_or((&line, ""));
            lines
                .plain(format!("    $ {command}  "))
                .styled(Style::Dim, why)
                .plain("\n");
            planned.commands.push(command.to_string());
        }
    }
    overlay.insert(c.rel.clone(), Some(c.new));
}

/// The plan, target, environment, installer and phases.
fn header(prep: &Prepared) -> Header {
    Header {
        plan: prep.plan.name.clone(),
        plan_path: prep.plan_path.clone(),
        target: prep.target.clone(),
        env: environment(prep),
        installer: installer(prep),
        phases: prep.plan.phases.iter().map(|p| p.id.clone()).collect(),
    }
}

/// The environment the plan runs in and why (see [`crate::pyenv::discover`]), when it installs
/// into it or a command runs its interpreter; a missing one says whether an install creates it.
fn environment(prep: &Prepared) -> Option<String> {
    let python = prep.env.python.as_str();
    let uses = prep
        .plan
        .steps()
        .any(|(_, s)| action::of(s).uses_python(python));
    if !uses {
        return None;
    }
    let mut text = prep.env.describe(&prep.target);
    let exists = prep
        .resolve_python(&prep.env.python)
        .is_some_and(|p| p.exists());
    if !exists {
        let creates = prep
            .plan
            .installs()
            .find(|i| i.python == prep.env.python)
            .map(|i| i.id.as_str());
        text.pop();
        match creates {
            Some(id) => {
                let _ = write!(text, "; step `{id}` creates the venv)");
            }
            None => text.push_str("; no install step creates it)"),
        }
    }
    Some(text)
}

/// Which installer the plan's install steps would use, found as apply finds it (but nothing is
/// provisioned); `None` without install steps.
fn installer(prep: &Prepared) -> Option<String> {
    let installs: Vec<_> = prep.plan.installs().collect();
    let first = installs.first()?;
    if installs.iter().all(|i| i.installer == Installer::Pip) {
        return Some("pip (the plan asks for it)".into());
    }
    let venv = prep
        .resolve_python(&first.python)
        .and_then(|p| crate::pyenv::venv_dir_of(&p));
    Some(match crate::pyenv::find_uv(venv.as_deref()) {
        Some(uv) => crate::exec::uvpin::describe(prep, &uv)
            .unwrap_or_else(|| format!("uv ({})", uv.display())),
        None => match crate::pyenv::uv_cache_venv() {
            Some(cache) => format!(
                "uv, installed once into {} on first use (pip if that fails)",
                cache.display()
            ),
            None => "pip (no uv found)".into(),
        },
    })
}
