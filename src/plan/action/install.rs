//! The compiled `install` step: the packages, the interpreter whose environment receives them,
//! and where the requirements are recorded; the interpreters' defaults are filled in here.

use super::{CompiledStep, Compiling, Process, Written};
use crate::plan::fields::{list, opt, Visit};
use crate::plan::locate::{at, Seg};
use crate::plan::model::{InstallStep, Installer};

impl Written for InstallStep {
    fn strings(&mut self, f: &mut Visit<'_>) {
        list(f, "packages", &mut self.packages);
        opt(f, "python", &mut self.python);
        opt(f, "base_python", &mut self.base_python);
        opt(f, "record_in", &mut self.record_in);
        opt(f, "group", &mut self.group);
    }

    /// `record_in`, unless it is `"auto"` (the file is found when the step runs).
    fn paths(&self) -> Vec<(Vec<Seg>, &str)> {
        (self.record_in.iter())
            .filter(|r| *r != "auto")
            .map(|r| (at!["record_in"], r.as_str()))
            .collect()
    }
}

/// The interpreter an `install` step uses when it names none.
pub const DEFAULT_PYTHON: &str = ".venv/bin/python";

/// The interpreter that creates a missing venv when the step names none.
pub const DEFAULT_BASE_PYTHON: &str = "python3";

/// An `install` step.
#[derive(Debug, Clone)]
pub struct Install {
    /// The step id.
    pub id: String,
    /// Requirement specifiers.
    pub packages: Vec<String>,
    /// The interpreter whose environment receives them ([`DEFAULT_PYTHON`] unless given).
    pub python: String,
    /// The interpreter that creates a missing venv ([`DEFAULT_BASE_PYTHON`] unless given).
    pub base_python: String,
    /// Which installer.
    pub installer: Installer,
    /// Where the requirements are also recorded.
    pub record_in: Option<String>,
    /// The dependency group or extra to record into.
    pub group: Option<String>,
    /// Record into `[project.optional-dependencies]`.
    pub extra: bool,
    /// Timeout and environment of the installer.
    pub process: Process,
}

/// Compiles a written `install` step.
pub fn compile(s: &InstallStep, c: &Compiling<'_>) -> Install {
    Install {
        id: s.id.clone(),
        packages: s.packages.clone(),
        python: s.python.clone().unwrap_or_else(|| DEFAULT_PYTHON.into()),
        base_python: s
            .base_python
            .clone()
            .unwrap_or_else(|| DEFAULT_BASE_PYTHON.into()),
        installer: s.installer,
        record_in: s.record_in.clone(),
        group: s.group.clone(),
        extra: s.extra,
        process: c.process(&s.env, &s.id),
    }
}

impl CompiledStep for Install {
    fn id(&self) -> &str {
        &self.id
    }

    fn action(&self) -> &'static str {
        "install"
    }

    fn process(&self) -> Option<&Process> {
        Some(&self.process)
    }

    fn process_mut(&mut self) -> Option<&mut Process> {
        Some(&mut self.process)
    }

    /// `record_in`, unless it is `"auto"` (the file is found when the step runs).
    fn target_paths(&self) -> Vec<&str> {
        self.record_in
            .iter()
            .filter(|p| *p != "auto")
            .map(String::as_str)
            .collect()
    }
}
