//! `planrun suggest`: checks the target and its Python, runs the profile, analyses it, prints
//! the result (text or JSON) and writes the chosen plan with `--write`.

use std::path::{Path, PathBuf};

use crate::cli::SuggestArgs;
use crate::error::{Error, Result};
use crate::process::Control;
use crate::pyenv::discover;
use crate::suggest::{analyze, profile, render, run as profiling, write};
use crate::{exit, ui};

/// Runs `planrun suggest`.
pub fn run(args: &SuggestArgs) -> Result<u8> {
    let overrides = super::validate::overrides(&args.vars)?;
    let target = check_target(&args.target)?;
    if let Some(plan) = &args.write {
        if plan.exists() {
            return Err(Error::invalid(
                format!("refusing to overwrite `{}`", plan.display()),
                Some("remove it, or give --write another path"),
            ));
        }
    }
    let var = overrides
        .iter()
        .rev()
        .find(|(k, _)| k == crate::plan::validate::PYTHON);
    let found = discover::discover(
        &target,
        var.map(|(_, v)| v.as_str()),
        None,
        &discover::System,
    );
    let python = python_path(&target, &found)?;
    let scratch = tempfile::Builder::new()
        .prefix("planrun-suggest-")
        .tempdir()
        .map_err(|e| Error::io("failed to create a temp directory for the profile", e))?;
    ui::status(&format!(
        "profiling the suite of {} with {} (two runs: in order, then in reverse)",
        target.display(),
        found.describe(&target)
    ));
    let spec = profiling::ProfileSpec {
        python: python.display().to_string(),
        target: target.clone(),
        scratch: scratch.path().to_path_buf(),
    };
    let control = Control::default();
    // Ctrl-C stops the suite's process group (it is not in planrun's) and ends suggest.
    let _signals = crate::process::signals::install(&control.cancel);
    let profiled = profiling::run(&spec, &control);
    if let Err(profiling::ProfileError::Suite { source, .. }) = &profiled {
        if matches!(**source, crate::measure::suite::SuiteError::Cancelled) {
            ui::error(
                "interrupted",
                Some("the suite was stopped; nothing in the target was changed"),
            );
            return Ok(exit::INTERRUPTED);
        }
    }
    let mut profile = profiled.map_err(|e| {
        Error::context(
            format!("failed to profile the suite of `{}`", target.display()),
            e,
        )
    })?;
    if let Some(code) = refuse_red(&profile) {
        return Ok(code);
    }
    relativize(&mut profile, &target);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let analysis = analyze::analyze(&profile, cores);
    let choice = write::choose(&analysis, &profile, &target, &target);
    if args.json {
        let report = render::Report {
            target: target.display().to_string(),
            python: python.display().to_string(),
            profile: render::Summary::of(&profile),
            opportunities: &analysis.opportunities,
            parallel: &analysis.parallel,
            risks: &analysis.risks,
            little_to_gain: analysis.little_to_gain,
            notes: &analysis.notes,
            plan: args
                .write
                .as_ref()
                .filter(|_| choice.plan.is_some() && !analysis.little_to_gain)
                .map(|p| p.display().to_string()),
            plan_from: choice
                .plan
                .as_ref()
                .filter(|_| args.write.is_some() && !analysis.little_to_gain)
                .map(|p| p.from),
            manual: &choice.manual,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::context("failed to write the analysis as JSON", e))?;
        ui::out(&text);
    } else {
        for line in render::lines(&profile, &analysis) {
            ui::out(&line);
        }
        for m in &choice.manual {
            ui::note(&format!("by hand: {m}"));
        }
    }
    let Some(path) = &args.write else {
        return Ok(exit::OK);
    };
    if analysis.little_to_gain {
        ui::note("wrote no plan: there is little to gain");
        return Ok(exit::OK);
    }
    if choice.plan.is_none() {
        ui::note("wrote no plan: no bundled plan fits these opportunities");
        return Ok(exit::OK);
    }
    let dir = crate::fsutil::parent_or_dot(path).to_path_buf();
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("failed to create `{}`", dir.display()), e))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("failed to resolve `{}`", dir.display()), e))?;
    // The plan points at the target relative to itself, as `planrun validate` wants it.
    let from_plan = relative(&dir, &target);
    let plan = write::choose(&analysis, &profile, &target, &from_plan)
        .plan
        .expect("the same analysis chooses the same plan");
    write_plan(path, &plan)?;
    ui::status(&format!(
        "wrote {} (from bundled plan `{}`, for opportunity {})",
        path.display(),
        plan.from,
        plan.opportunity + 1
    ));
    // The plan keeps `python = "auto"`: an interpreter path of this machine does not belong in it.
    let python_arg = var.map_or(String::new(), |(_, v)| {
        format!(" --var python={}", crate::process::shell::quote(v))
    });
    ui::note(&format!(
        "next: `planrun apply {}{python_arg} --dry-run`, then without --dry-run: it measures, changes, measures again and keeps the change only if the gates hold",
        path.display()
    ));
    Ok(exit::OK)
}

/// The target, made absolute; it must be a directory with Python files in it.
fn check_target(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::invalid(
            format!("target `{}` is not a directory", dir.display()),
            Some("pass an existing repository with --target DIR"),
        ));
    }
    let target = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("failed to resolve `{}`", dir.display()), e))?;
    if !has_python(&target, 4) {
        return Err(Error::invalid(
            format!("target `{}` has no Python files", dir.display()),
            Some("suggest profiles a pytest suite: pass the repository that holds it with --target DIR"),
        ));
    }
    Ok(target)
}

/// Whether a `.py` file lies within `depth` levels of `dir` (hidden directories and venvs aside).
fn has_python(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(kind) = e.file_type() else {
            return false;
        };
        if kind.is_file() {
            name.ends_with(".py")
        } else {
            kind.is_dir()
                && depth > 0
                && !name.starts_with('.')
                && !matches!(name.as_str(), "venv" | "node_modules" | "__pycache__")
                && has_python(&e.path(), depth - 1)
        }
    })
}

/// The interpreter's path; it must exist and import pytest.
fn python_path(target: &Path, found: &discover::Found) -> Result<PathBuf> {
    let given = Path::new(&found.python);
    // Relative paths are the target's (as a plan's commands, run there, see them); a bare
    // name is looked up on PATH.
    let python = if given.is_absolute() || given.components().count() == 1 {
        given.to_path_buf()
    } else {
        target.join(given)
    };
    let hint = "pass --var python=PATH naming an interpreter with pytest installed, or activate the project's environment";
    if found.source == discover::Source::Missing {
        return Err(Error::invalid(
            format!("no Python environment found for `{}`", target.display()),
            Some(hint),
        ));
    }
    let inv = crate::process::Invocation::new(python.display().to_string())
        .args(["-c", "import pytest"])
        .cwd(target)
        .timeout(Some(std::time::Duration::from_secs(60)));
    let ok = crate::process::capture(&inv, &Control::default())
        .is_ok_and(|c| c.outcome.status.success());
    if !ok {
        return Err(Error::invalid(
            format!(
                "`{}` ({}) cannot import pytest",
                python.display(),
                found.source
            ),
            Some(hint),
        ));
    }
    Ok(python)
}

/// A suite that ran no test, or not green, is no baseline to predict from: the error and
/// [`exit::BASELINE_RED`].
fn refuse_red(p: &profile::Profile) -> Option<u8> {
    let (message, hint) = if p.tests.is_empty() && p.failed == 0 && p.errors == 0 {
        (
            "the suite ran no test".to_string(),
            "check testpaths and the test file names pytest collects (`python -m pytest --collect-only -q`)",
        )
    } else if p.failed > 0 || p.errors > 0 {
        (
            format!(
                "the suite is red: {} failed, {} errors of {} tests; see `{}`",
                p.failed,
                p.errors,
                p.tests.len().max(p.collected as usize),
                p.log.display()
            ),
            "suggest predicts from a green run: fix the failures, or deselect them (pytest --deselect, -k) in the project's pytest configuration",
        )
    } else {
        return None;
    };
    ui::error(&message, Some(hint));
    Some(exit::BASELINE_RED)
}

/// The path from directory `from` to `to`, both absolute and resolved (`.` when equal).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Shows the target's own paths relative to it.
fn relativize(p: &mut profile::Profile, target: &Path) {
    for f in &mut p.shared_files {
        f.path = profile::shown_path(&f.path, target);
    }
    for s in &mut p.sqlite {
        s.path = profile::shown_path(&s.path, target);
    }
    if let Some(file) = p.coverage.as_mut().and_then(|c| c.config_file.as_mut()) {
        *file = profile::shown_path(file, target);
    }
}

/// Writes the plan and its templates (none may exist yet), then checks the plan loads and validates.
fn write_plan(path: &Path, plan: &write::PlanText) -> Result<()> {
    let dir = crate::fsutil::parent_or_dot(path).to_path_buf();
    let mut files = vec![(path.to_path_buf(), plan.text.clone())];
    files.extend(
        plan.templates
            .iter()
            .map(|(rel, text)| (dir.join(rel), text.clone())),
    );
    if let Some((existing, _)) = files.iter().find(|(p, _)| p.exists()) {
        return Err(Error::invalid(
            format!("refusing to overwrite `{}`", existing.display()),
            Some("remove it, or give --write a path in another directory"),
        ));
    }
    for (file, text) in &files {
        file.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::fsutil::write_atomic(file, text.as_bytes(), None))
            .map_err(|e| Error::io(format!("failed to write `{}`", file.display()), e))?;
    }
    let valid = crate::plan::load(path).and_then(|loaded| crate::plan::validate(loaded, &[]));
    if let Err(diagnostics) = valid {
        // A plan planrun's own check refuses is not left behind for someone to apply.
        for (file, _) in &files {
            let _ = std::fs::remove_file(file);
        }
        return Err(Error::Plan(diagnostics));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_points_at_the_target_relative_to_itself() {
        let r = |a: &str, b: &str| relative(Path::new(a), Path::new(b)).display().to_string();
        assert_eq!(r("/w/repo/plans", "/w/repo"), "..");
        assert_eq!(r("/w/plans", "/w/repo"), "../repo");
        assert_eq!(r("/w/repo", "/w/repo"), ".");
        assert_eq!(r("/a/b/c", "/x/y"), "../../../x/y");
    }
}
