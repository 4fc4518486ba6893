//! The file changes a step makes, computed purely from what the files hold now.
//!
//! Dry-run and apply both call [`compute`]: dry-run reads through an overlay of earlier previewed
//! changes and prints the diff; apply reads the disk and writes the result. One function, so the
//! preview and the change cannot disagree.

use std::path::Path;

use std::collections::BTreeMap;

use crate::edit;
use crate::edit::pytest_config::Generation;
use crate::measure::record::Record;
use crate::plan::compiled::{Install, Mark, Step};

/// One file's change: its content before (None = absent) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the target, as the plan names it.
    pub rel: String,
    /// Content before the step; `None` when the file does not exist.
    pub old: Option<String>,
    /// Content after the step.
    pub new: String,
    /// Unix permissions to give the file, when the step asks for them.
    pub mode: Option<u32>,
}

impl FileChange {
    /// Whether applying the change would alter the file.
    pub fn is_noop(&self) -> bool {
        self.old.as_deref() == Some(self.new.as_str()) && self.mode.is_none()
    }
}

/// Why a step's change could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EditStepError {
    /// The edit itself failed (no match, malformed input, ...).
    #[error("cannot edit `{path}`: {source}")]
    Edit {
        path: String,
        #[source]
        source: edit::error::EditError,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    /// The template of a `write` step could not be read.
    #[error("cannot read template `{path}`: {message}")]
    Template { path: String, message: String },
    /// A mode string is not octal.
    #[error("mode `{0}` is not an octal permission such as \"0644\"")]
    Mode(String),
    /// `record_in` names a requirements file that pins hashes.
    #[error("cannot record packages in `{path}`: it pins hashes (`--hash=`), and a line without one would make pip refuse the whole file; name another file in `record_in`, or regenerate this one with `pip-compile --generate-hashes` after the apply")]
    Hashed { path: String },
    /// Template interpolation failed.
    #[error("template `{path}`: {message}")]
    Interpolate { path: String, message: String },
}

/// How a step reads the target's files: `Ok(None)` when a file does not exist.
pub type Reader<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

/// Expands `${vars}` in a template's text.
pub type Expander<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

/// The file changes `step` makes, given how to read files, where the plan lives, the records
/// measured so far (a `mark` step reads one; without it, its durations file is left out), and
/// which pytest's rules find its configuration file (asked only by the steps that edit it).
pub fn compute(
    step: &Step,
    read: &Reader<'_>,
    plan_dir: &Path,
    expand: &Expander<'_>,
    records: &BTreeMap<String, Record>,
    pytest: &dyn Fn() -> Generation,
) -> Result<Vec<FileChange>, EditStepError> {
    let get = |rel: &str| {
        read(rel).map_err(|message| EditStepError::Read {
            path: rel.to_string(),
            message,
        })
    };
    let wrap = |path: &str| {
        let path = path.to_string();
        move |source| EditStepError::Edit { path, source }
    };
    let change = |rel: &str, old: Option<String>, new: String| FileChange {
        rel: rel.to_string(),
        old,
        new,
        mode: None,
    };
    Ok(match step {
        Step::Run(_) | Step::Suite(_) | Step::Service(_) => Vec::new(),
        Step::Install(s) => record_in_change(s, read)?.into_iter().collect(),
        Step::Write(s) => {
            let template = plan_dir.join(&s.template);
            let text = std::fs::read_to_string(&template).map_err(|e| EditStepError::Template {
                path: template.display().to_string(),
                message: e.to_string(),
            })?;
            let new = expand(&text).map_err(|message| EditStepError::Interpolate {
                path: template.display().to_string(),
                message,
            })?;
            let mode = s.mode.as_deref().map(parse_mode).transpose()?;
            let old = get(&s.path)?;
            let mut c = change(&s.path, old, new);
            c.mode = mode;
            vec![c]
        }
        Step::Replace(s) => {
            let old = get(&s.path)?;
            let text = old.clone().unwrap_or_default();
            let new = edit::replace::edit(&text, &s.pattern, &s.replacement, s.regex, s.first_only)
                .map_err(wrap(&s.path))?;
            vec![change(&s.path, old, new)]
        }
        Step::Ini(s) => {
            let old = get(&s.path)?;
            let ops = edit::ini::IniOps {
                set: s.set.clone(),
                unset: s.unset.clone(),
                append: s.append.clone(),
                remove: s.remove.clone(),
            };
            let new = edit::ini::edit(old.as_deref().unwrap_or(""), &s.section, &ops)
                .map_err(wrap(&s.path))?;
            vec![change(&s.path, old, new)]
        }
        Step::Toml(s) => {
            let old = get(&s.path)?;
            let ops = edit::toml::TomlOps {
                set: s.set.clone(),
                unset: s.unset.clone(),
                append: s.append.clone(),
                remove: s.remove.clone(),
            };
            let new = edit::toml::edit(old.as_deref().unwrap_or(""), &s.table, &ops)
                .map_err(wrap(&s.path))?;
            vec![change(&s.path, old, new)]
        }
        Step::PytestConfig(s) => {
            let lookup = |rel: &str| read(rel).ok().flatten();
            let located = edit::pytest_config::locate_for(&lookup, pytest());
            let old = get(located.path)?;
            let ops = edit::pytest_config::PytestOps {
                addopts_add: s.addopts_add.clone(),
                addopts_remove: s.addopts_remove.clone(),
                set: s.set.clone(),
                markers_add: s.markers_add.clone(),
            };
            let new = edit::pytest_config::edit(located.kind, old.as_deref().unwrap_or(""), &ops)
                .map_err(wrap(located.path))?;
            vec![change(located.path, old, new)]
        }
        Step::Mark(s) => mark_changes(s, read, records.get(&s.from), pytest())?,
    })
}

/// A `mark` step's changes: the markers registered in pytest's configuration, the hook in the
/// conftest, and (once `record` is known) the durations file.
fn mark_changes(
    s: &Mark,
    read: &Reader<'_>,
    record: Option<&Record>,
    pytest: Generation,
) -> Result<Vec<FileChange>, EditStepError> {
    let get = |rel: &str| {
        read(rel).map_err(|message| EditStepError::Read {
            path: rel.to_string(),
            message,
        })
    };
    let thresholds = edit::markers::Thresholds {
        fast: s.fast,
        slow: s.slow,
    };
    let mut changes = Vec::new();
    let lookup = |rel: &str| read(rel).ok().flatten();
    let located = edit::pytest_config::locate_for(&lookup, pytest);
    let old = get(located.path)?;
    let ops = edit::pytest_config::PytestOps {
        markers_add: thresholds.marker_lines(),
        ..Default::default()
    };
    let new = edit::pytest_config::edit(located.kind, old.as_deref().unwrap_or(""), &ops).map_err(
        |source| EditStepError::Edit {
            path: located.path.to_string(),
            source,
        },
    )?;
    changes.push(FileChange {
        rel: located.path.to_string(),
        old,
        new,
        mode: None,
    });
    let old = get(&s.conftest)?;
    let rel = edit::markers::relative_to_dir_of(&s.conftest, &s.durations);
    let new =
        edit::markers::conftest(old.as_deref().unwrap_or(""), &rel, &s.from).map_err(|source| {
            EditStepError::Edit {
                path: s.conftest.clone(),
                source,
            }
        })?;
    changes.push(FileChange {
        rel: s.conftest.clone(),
        old,
        new,
        mode: None,
    });
    if let Some(record) = record {
        changes.push(FileChange {
            rel: s.durations.clone(),
            old: get(&s.durations)?,
            new: edit::markers::durations_file(&record.durations, &thresholds, &s.from),
            mode: None,
        });
    }
    Ok(changes)
}

/// Where `record_in` would put an install step's requirements, and why, read through `read`.
pub fn placement(step: &Install, read: &Reader<'_>) -> Option<edit::placement::Placement> {
    let record_in = step.record_in.as_deref()?;
    let request = edit::placement::Request {
        record_in,
        group: step.group.as_deref(),
        extra: step.extra,
        packages: &step.packages,
    };
    Some(edit::placement::place(&request, &|rel| {
        read(rel).ok().flatten()
    }))
}

/// The change recording an install step's packages in the project's requirements, if it asks
/// and the project does not declare them already.
fn record_in_change(
    step: &Install,
    read: &Reader<'_>,
) -> Result<Option<FileChange>, EditStepError> {
    use edit::placement::Target;
    let Some(placed) = placement(step, read) else {
        return Ok(None);
    };
    if placed.packages.is_empty() {
        return Ok(None);
    }
    let rel = placed.file;
    let old = read(&rel).map_err(|message| EditStepError::Read {
        path: rel.clone(),
        message,
    })?;
    let text = old.as_deref().unwrap_or("");
    let packages = &placed.packages;
    let wrap = |source| EditStepError::Edit {
        path: rel.clone(),
        source,
    };
    let new = match &placed.target {
        // pip's hash-checking mode refuses a whole file with one unhashed line, and replacing a
        // pinned line would orphan its `--hash` continuation lines.
        Target::Requirements if text.contains("--hash") => {
            return Err(EditStepError::Hashed { path: rel });
        }
        Target::Requirements => edit::requirements::add(text, packages),
        Target::Tox { section } => edit::tox::add(text, section, packages),
        Target::Poetry { group } => {
            edit::poetry::add_dependencies(text, group, packages).map_err(wrap)?
        }
        Target::Array { table, key } => {
            edit::groups::add(text, table, key, packages).map_err(wrap)?
        }
    };
    Ok(Some(FileChange {
        rel,
        old,
        new,
        mode: None,
    }))
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
    use std::collections::HashMap;

    fn reader(files: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, String> {
        let map: HashMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |rel: &str| Ok(map.get(rel).cloned())
    }

    fn install(record_in: &str) -> Install {
        Install {
            id: "x".into(),
            packages: vec!["pytest-xdist>=3.5".into()],
            python: crate::plan::compiled::DEFAULT_PYTHON.into(),
            base_python: crate::plan::compiled::DEFAULT_BASE_PYTHON.into(),
            installer: Default::default(),
            record_in: Some(record_in.into()),
            group: None,
            extra: false,
            process: Default::default(),
        }
    }

    #[test]
    fn auto_record_prefers_existing_requirement_files() {
        let read = reader(&[("requirements/dev.txt", "pytest>=8\n")]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert_eq!(c.rel, "requirements/dev.txt");
        assert!(c.new.contains("pytest-xdist>=3.5"));
        assert!(c.new.contains("pytest>=8"));
    }

    #[test]
    fn auto_record_finds_pyproject_groups() {
        let read = reader(&[(
            "pyproject.toml",
            "[project]\nname='x'\n\n[dependency-groups]\ndev = [\"pytest>=8\"]\n",
        )]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert_eq!(c.rel, "pyproject.toml");
        assert!(c.new.contains("pytest-xdist>=3.5"), "{}", c.new);
        let read = reader(&[(
            "pyproject.toml",
            "[project]\nname='x'\n[project.optional-dependencies]\ntest = [\"pytest\"]\n",
        )]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert!(
            c.new
                .contains("test = [\n    \"pytest\",\n    \"pytest-xdist>=3.5\",\n]"),
            "{}",
            c.new
        );
    }

    #[test]
    fn auto_record_falls_back_to_a_new_requirements_dev() {
        let c = record_in_change(&install("auto"), &reader(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(c.rel, "requirements-dev.txt");
        assert_eq!(c.old, None);
        assert_eq!(c.new, "pytest-xdist>=3.5\n");
    }

    #[test]
    fn a_poetry_project_gets_its_dev_group() {
        let project = "[tool.poetry]\nname = \"shop\"\n";
        for record_in in ["auto", "pyproject.toml"] {
            let read = reader(&[("pyproject.toml", project)]);
            let c = record_in_change(&install(record_in), &read)
                .unwrap()
                .unwrap();
            assert_eq!(c.rel, "pyproject.toml");
            assert!(
                c.new
                    .ends_with("[tool.poetry.group.dev.dependencies]\npytest-xdist = \">=3.5\"\n"),
                "{record_in}: {}",
                c.new
            );
        }
    }

    #[test]
    fn a_hashed_requirements_file_is_refused_not_left_with_orphan_hashes() {
        let hashed = "execnet==2.1.1 \\\n    --hash=sha256:abc\n";
        let read = reader(&[("requirements-dev.txt", hashed)]);
        let err = record_in_change(&install("auto"), &read).unwrap_err();
        assert!(
            err.to_string().contains("pins hashes") && err.to_string().contains("record_in"),
            "{err}"
        );
    }

    #[test]
    fn modes_parse_as_octal() {
        assert_eq!(parse_mode("0755").unwrap(), 0o755);
        assert_eq!(parse_mode("644").unwrap(), 0o644);
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("rwx").is_err());
    }
}
