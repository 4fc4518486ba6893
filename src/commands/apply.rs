//! `planrun apply`: dry-run preview or the real thing.

use crate::cli::ApplyArgs;
use crate::error::{Error, Result};
use crate::exec::apply;
use crate::exec::context::ApplyOptions;
use crate::exec::{dryrun, setup::Prepared};
use crate::sinks::apply as sinks;
use crate::{exit, ui};

/// Runs `planrun apply`.
pub fn run(args: &ApplyArgs) -> Result<u8> {
    let ci = sinks::ci_mode(args.ci);
    if ci {
        ui::no_animation();
    }
    let vars = super::validate::overrides(&args.vars)?;
    let prep = Prepared::at_stage(
        &args.plan,
        args.target.as_deref(),
        &vars,
        args.stage.as_deref(),
    )?;
    let shard = super::shard::check(&prep, args.shard.as_deref())?;
    if let Some(slice) = shard {
        ui::note(&format!(
            "--shard {slice}: this job measures shard {} of {} of each sharded suite; the gates judge the whole suite, so `planrun report merge --plan {}` decides them over every job's report",
            slice.index,
            slice.count,
            args.plan.display()
        ));
    }
    refuse_if_interrupted(&prep.target)?;
    check_baseline_flags(&prep, args)?;
    let history = super::status::history_path(&args.history, &prep.target)?;
    crate::history::check_appendable(&history)
        .map_err(|e| super::status::history_error(&history, e))?;
    let stage = super::status::enter_stage(
        &prep,
        &history,
        args.history.window,
        args.force,
        args.dry_run,
    )?;
    if let Some(stage) = &stage {
        ui::note(&format!(
            "stage `{}` of {}: {}",
            stage.id,
            ui::count(prep.plan.stages.len(), "stage"),
            match &stage.promotion {
                None => "the first stage".to_string(),
                Some(p) if p.holds() => format!("stage `{}` is promoted", p.stage),
                Some(p) => format!("stage `{}` is NOT promoted (--force)", p.stage),
            }
        ));
    }
    if args.dry_run {
        return dry_run(&prep, args);
    }
    check_installs(&prep)?;
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    if jobs == 0 {
        return Err(Error::invalid("--jobs must be at least 1", None));
    }
    let opts = ApplyOptions {
        jobs,
        ci,
        annotate_passing: args.annotate_passing,
        json: args.json,
        report_dir: args.report_dir.clone(),
        save_baseline: args.save_baseline.clone(),
        baseline: args.baseline.clone(),
        known_failures: match &args.known_failures {
            Some(path) => read_known_failures(path)?,
            None => Vec::new(),
        },
        accept_baseline_failures: args.accept_baseline_failures,
        reapply: args.reapply,
        history: Some(history),
        stage,
        shard,
    };
    apply::apply(
        &prep,
        &opts,
        &mut crate::sinks::output::ApplyOutput::new(&prep, &opts),
    )
}

/// The known failures of `--known-failures FILE`: one id or `*` pattern a line; blank lines and
/// `#` comments skipped; a bad entry is an error naming its line.
fn read_known_failures(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            format!("failed to read --known-failures `{}`: {e}", path.display()),
            Some("give a text file with one pytest id a line"),
        )
    })?;
    let mut known = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        crate::plan::baselines::check_pattern(entry).map_err(|(why, hint)| {
            Error::invalid(
                format!(
                    "{}:{}: known failure `{entry}` {why}",
                    path.display(),
                    n + 1
                ),
                Some(hint),
            )
        })?;
        known.push(entry.to_string());
    }
    Ok(known)
}

/// `--dry-run`: the preview (or `--json`), a note when the plan is applied already, a warning
/// when its change is in the target already, and with `--detailed-exitcode` 2 for changes.
fn dry_run(prep: &Prepared, args: &ApplyArgs) -> Result<u8> {
    let known = known_records(prep, args.baseline.as_deref())?;
    let preview = dryrun::preview(prep, &known).map_err(|e| Error::invalid(e.to_string(), None))?;
    let applied = crate::exec::applied::applied_here(prep);
    let pending = applied.is_none() && preview.pending();
    if args.json {
        let report = crate::report::mask::mask_report(
            &crate::report::fold::initial_report(prep, "", None),
            &prep.secrets,
        );
        let json = crate::report::preview::DryRunReport {
            report: &report,
            dry_run: true,
            planned: &preview.steps,
            changes_pending: pending,
            already_in_target: &preview.already,
        };
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| Error::context("failed to render the dry run as JSON", e))?;
        ui::out(&text);
    } else {
        let text = crate::sinks::preview::text(&preview, ui::stdout_color(), &prep.secrets);
        ui::out(text.trim_end());
    }
    if let Some(run) = applied {
        ui::note(&format!(
            "plan `{}` is already applied here (run {run}): apply would do nothing",
            prep.plan.name
        ));
    } else if preview.already_in_target() {
        ui::warn(&format!(
            "every file this plan edits already holds its change ({}): the change seems to be in the target already, and applying would measure the suite against itself",
            preview.already.join(", ")
        ));
    }
    Ok(if args.detailed_exitcode && pending {
        exit::CHANGES_PENDING
    } else {
        exit::OK
    })
}

/// Refuses, before anything changes, an install whose environment planrun could not restore
/// whole or whose venv folder it would wrongly take for its own (`envjournal::guard`).
fn check_installs(prep: &Prepared) -> Result<()> {
    use crate::envjournal::guard;
    for s in prep.plan.installs() {
        let Some(python) = prep.resolve_python(&s.python) else {
            continue;
        };
        let refused =
            |e: guard::GuardError| Error::invalid(format!("step `{}`: {e}", s.id), Some(e.hint()));
        if guard::must_create(&python).map_err(refused)? {
            continue;
        }
        let venv = crate::pyenv::venv_dir_of(&python).filter(|d| d.join("pyvenv.cfg").is_file());
        let control = crate::process::Control::default();
        guard::check_interpreter(&python, venv.as_deref(), &s.process.env_pairs(), &control)
            .map_err(refused)?;
    }
    Ok(())
}

/// Checks `--baseline` and `--save-baseline` before anything runs: the plan needs a suite with
/// `baseline = true` for them to act on, and a baseline to use must load.
fn check_baseline_flags(prep: &Prepared, args: &ApplyArgs) -> Result<()> {
    if let Some(name) = &args.save_baseline {
        crate::exec::baseline::check_name(name).map_err(|e| {
            Error::invalid(
                format!("--save-baseline: {e}"),
                Some("name the baseline with ASCII letters, digits, `_`, `.` and `-`, e.g. `--save-baseline main`; it is saved as .planrun/baselines/NAME.json"),
            )
        })?;
    }
    let flag = match (&args.baseline, &args.save_baseline) {
        (Some(b), _) => format!("--baseline {b}"),
        (None, Some(s)) => format!("--save-baseline {s}"),
        (None, None) => return Ok(()),
    };
    let has_baseline_suite = prep.plan.suites().any(|suite| suite.baseline);
    if !has_baseline_suite {
        return Err(Error::invalid(
            format!("{flag} given, but no suite step of the plan has `baseline = true`"),
            Some("mark the suite that measures the baseline with `baseline = true`"),
        ));
    }
    if let Some(name) = &args.save_baseline {
        crate::exec::baseline::check_saveable(&prep.target, name).map_err(|e| {
            Error::invalid(
                format!("--save-baseline: {e}"),
                Some("remove the symlink or file at .planrun/baselines (planrun makes that directory itself)"),
            )
        })?;
    }
    if let Some(source) = &args.baseline {
        crate::exec::baseline::load(&prep.target, source).map_err(|e| {
            Error::invalid(
                e.to_string(),
                Some("save one with `planrun apply --save-baseline NAME`, or pass a record JSON file"),
            )
        })?;
    }
    Ok(())
}

/// The records a dry run knows before anything runs: with `--baseline`, the saved record under
/// the name of the suite it stands in for.
fn known_records(
    prep: &Prepared,
    baseline: Option<&str>,
) -> Result<std::collections::BTreeMap<String, crate::measure::record::Record>> {
    let mut known = std::collections::BTreeMap::new();
    let Some(source) = baseline else {
        return Ok(known);
    };
    let record = crate::exec::baseline::load(&prep.target, source)
        .map_err(|e| Error::invalid(e.to_string(), None))?;
    for s in prep.plan.suites().filter(|s| s.baseline) {
        known.insert(s.record.clone(), record.clone());
    }
    Ok(known)
}

/// Refuses to work on a target whose last apply was killed before it could finish or roll back.
pub fn refuse_if_interrupted(target: &std::path::Path) -> Result<()> {
    crate::journal::state::ensure_not_interrupted(target).map_err(|e| Error::Message {
        message: crate::error::with_causes(&e),
        hint: Some(format!(
            "if you already put things right by hand, `planrun rollback --abandon RUN --target {}` ends it (`planrun history` lists the runs)",
            target.display()
        )),
    })
}
