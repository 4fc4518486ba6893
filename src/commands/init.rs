//! `planrun plans` and `planrun init PLAN`: the bundled plans, listed, and one written into a
//! repository with its templates and the schema its `#:schema` line points at.

use std::path::{Component, Path, PathBuf};

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::plan::bundled::{self, Bundled};
use crate::{exit, ui};

/// The schema file `planrun init` writes beside the plan, so an editor checks it offline.
const SCHEMA_FILE: &str = "plan.schema.json";

/// Runs `planrun plans`: the plans that fit any pytest repository, then the examples made for
/// planrun's demo repositories, one line each with its name and description.
pub fn list() -> Result<u8> {
    let width = bundled::PLANS
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let (examples, generic): (Vec<&Bundled>, Vec<&Bundled>) =
        bundled::PLANS.iter().partition(|p| p.example.is_some());
    for plan in generic {
        ui::out(&format!("{:width$}  {}", plan.name, plan.description()));
    }
    ui::out("");
    ui::out("examples, each made for a demo repository of planrun's examples/:");
    for plan in examples {
        ui::out(&format!("{:width$}  {}", plan.name, plan.description()));
    }
    ui::note("`planrun init NAME` writes one into a repository");
    Ok(exit::OK)
}

/// Runs `planrun init`.
pub fn run(args: &InitArgs) -> Result<u8> {
    let plan = bundled::find(&args.plan).ok_or_else(|| {
        let names = bundled::PLANS.iter().map(|p| p.name);
        let hint =
            crate::plan::diag::did_you_mean(&args.plan, names.clone()).unwrap_or_else(|| {
                format!(
                    "the bundled plans are {}",
                    names.collect::<Vec<_>>().join(", ")
                )
            });
        Error::invalid(
            format!("no bundled plan is called `{}`", args.plan),
            Some(&hint),
        )
    })?;
    let up = up_to_repository(&args.dir)?;
    let files = files(plan, &up);
    let dir = args.target.join(&args.dir);
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(rel, _)| *rel != SCHEMA_FILE && dir.join(rel).exists())
            .map(|(rel, _)| shown(&args.dir.join(rel)))
            .collect();
        if !existing.is_empty() {
            return Err(Error::invalid(
                format!("refusing to overwrite {}", existing.join(", ")),
                Some("pass --force to overwrite, or --dir to write elsewhere"),
            ));
        }
    }
    for (rel, text) in &files {
        let path = dir.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::fsutil::write_atomic(&path, text.as_bytes(), None));
        written.map_err(|e| Error::io(format!("failed to write `{}`", path.display()), e))?;
        ui::status(&format!("wrote {}", shown(&args.dir.join(rel))));
    }
    if let Some(demo) = plan.example {
        ui::warn(&format!(
            "`{}` is an example made for planrun's examples/{demo}: it expects that repository's layout and code; `planrun plans` lists the plans that fit any repository",
            plan.name
        ));
    }
    let plan_path = shown(&args.dir.join(format!("{}.toml", plan.name)));
    ui::note(&format!(
        "next: `planrun apply {plan_path} --dry-run`, then without --dry-run"
    ));
    Ok(exit::OK)
}

/// The files to write, relative to the plan's directory: the plan, its templates, the schema.
fn files(plan: &Bundled, up: &str) -> Vec<(String, String)> {
    let mut files = vec![(
        format!("{}.toml", plan.name),
        plan.for_repository(SCHEMA_FILE, up),
    )];
    files.extend(
        plan.templates
            .iter()
            .map(|(rel, text)| (rel.to_string(), text.to_string())),
    );
    files.push((
        SCHEMA_FILE.to_string(),
        crate::plan::schema::plan_schema_text(),
    ));
    files
}

/// The path from `dir` back up to the repository (`plans` -> `..`, `ci/plans` -> `../..`);
/// `dir` must stay inside the repository.
fn up_to_repository(dir: &Path) -> Result<String> {
    let mut depth = 0usize;
    for part in dir.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => {
                return Err(Error::invalid(
                    format!("--dir `{}` leaves the repository", dir.display()),
                    Some("give a relative path inside it, such as `plans` or `ci/plans`"),
                ))
            }
        }
    }
    Ok(match depth {
        0 => ".".to_string(),
        n => vec![".."; n].join("/"),
    })
}

fn shown(path: &Path) -> String {
    let path: PathBuf = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_as_far_up_as_the_directory_is_deep() {
        assert_eq!(up_to_repository(Path::new("plans")).unwrap(), "..");
        assert_eq!(up_to_repository(Path::new("./ci/plans")).unwrap(), "../..");
        assert_eq!(up_to_repository(Path::new(".")).unwrap(), ".");
        assert!(up_to_repository(Path::new("../x")).is_err());
        assert!(up_to_repository(Path::new("/tmp/x")).is_err());
    }
}
