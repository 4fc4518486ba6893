//! Why a step failed, as data: what failed, the error that caused it kept as its `source`, and
//! the command output that explains it. Only `report::words` turns one into words, for the sinks
//! and the report (nextest's `ExecuteError` beside its displayer).

use std::error::Error as StdError;
use std::path::PathBuf;

use crate::process::Status;

/// Another layer's error, kept whole so its chain of causes reaches the renderer.
pub type Source = Box<dyn StdError + Send + Sync + 'static>;

/// What planrun was journaling when the journal failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journaled {
    /// A file's before-image (its target-relative path).
    File(String),
    /// A `run` step's undo command.
    Undo,
    /// A venv the step creates.
    Venv,
    /// An environment's packages.
    Environment,
    /// The caches and the target's tree before the first command.
    Caches,
    /// How to stop a service.
    Service,
    /// What the step wrote, sealed once it ended.
    StepWrites,
}

impl std::fmt::Display for Journaled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Journaled::File(rel) => write!(f, "`{rel}`"),
            Journaled::Undo => f.write_str("the undo command"),
            Journaled::Venv => f.write_str("the venv"),
            Journaled::Environment => f.write_str("the environment"),
            Journaled::Caches => f.write_str("the caches"),
            Journaled::Service => f.write_str("the service"),
            Journaled::StepWrites => f.write_str("what the step wrote"),
        }
    }
}

/// What failed in a step.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The step's command ran and ended without success (exit code, signal, timeout).
    #[error("`{command}` {}", ended(.status))]
    Command {
        /// The command as the plan gave it.
        command: String,
        /// How it ended.
        status: Status,
        /// The last lines of its output.
        tail: Vec<String>,
    },
    /// The relock after an install ended without success.
    #[error("`{command}` {} after recording {packages} in `{pyproject}`", ended(.status))]
    Relock {
        /// The lock tool's command line.
        command: String,
        /// How it ended.
        status: Status,
        /// The packages the install recorded.
        packages: String,
        /// The `pyproject.toml` they were recorded in.
        pyproject: String,
        /// The last lines of its output.
        tail: Vec<String>,
    },
    /// A lock file must follow its `pyproject.toml`, and its tool is nowhere to be had.
    #[error("`{lock}` must follow `{pyproject}`, but {program} is not on PATH and could not be installed")]
    LockToolMissing {
        /// The lock file.
        lock: String,
        /// The `pyproject.toml` it follows.
        pyproject: String,
        /// The missing program.
        program: String,
    },
    /// A command could not be started at all.
    #[error("failed to start `{command}`")]
    Start {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The journal refused or failed to record something before it changed.
    #[error("failed to journal {what}")]
    Journal {
        /// What was being journaled.
        what: Journaled,
        /// The journal's error.
        #[source]
        source: Source,
    },
    /// A computed edit could not be written.
    #[error("failed to write `{path}`")]
    Write {
        /// The target-relative path.
        path: String,
        /// The journal's error.
        #[source]
        source: Source,
    },
    /// An edit could not be computed (a file that does not parse, a conflict, a template).
    #[error(transparent)]
    Edit(#[from] crate::exec::edits::EditStepError),
    /// A `mark` step ran before the record it reads.
    #[error("step `{step}` marks tests from record `{record}`, which no suite has measured yet")]
    Unmeasured {
        /// The mark step.
        step: String,
        /// The record it reads.
        record: String,
    },
    /// An install's python resolves outside the target.
    #[error("python `{python}` leaves the target")]
    PythonOutside {
        /// The python as the plan gave it.
        python: String,
    },
    /// An install's python does not exist and is not where a venv could be made.
    #[error("python `{python}` does not exist, and it is not of the form DIR/bin/python inside the target, so no venv can be made for it")]
    NoVenvFor {
        /// The python as the plan gave it.
        python: String,
    },
    /// The environment is not one planrun may change (not a venv, a system python, ...).
    #[error(transparent)]
    Refused(#[from] crate::envjournal::guard::GuardError),
    /// The venv could not be created.
    #[error("failed to create the venv `{venv}`")]
    CreateVenv {
        /// Its target-relative directory.
        venv: String,
        /// Why.
        #[source]
        source: crate::pyenv::PyEnvError,
    },
    /// The environment or its installer could not be found.
    #[error(transparent)]
    Environment(#[from] crate::pyenv::PyEnvError),
    /// The target pins a uv that could not be had.
    #[error(transparent)]
    UvPin(#[from] crate::exec::uvpin::PinError),
    /// The environment's layout could not be read.
    #[error("failed to inspect the environment")]
    InspectEnvironment(#[source] crate::envjournal::error::EnvJournalError),
    /// What an install would change could not be worked out.
    #[error("failed to plan the install of {packages}")]
    PlanInstall {
        /// The packages, space-separated.
        packages: String,
        /// Why.
        #[source]
        source: crate::envjournal::error::EnvJournalError,
    },
    /// The installer failed.
    #[error("failed to install {packages}")]
    Install {
        /// The packages, space-separated.
        packages: String,
        /// The installer's error.
        #[source]
        source: crate::pyenv::PyEnvError,
    },
    /// A service's private directory could not be made.
    #[error("failed to create the service's directory `{}`", .dir.display())]
    ServiceDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A service started but never became ready.
    #[error("service `{id}`: {why}")]
    NotReady {
        /// The service step's id.
        id: String,
        /// What happened instead.
        why: crate::process::service::NotReady,
        /// The last lines of its output.
        tail: Vec<String>,
    },
    /// A suite could not be measured (it could not run, or its results could not be read).
    #[error(transparent)]
    Suite(#[from] crate::measure::suite::SuiteError),
    /// A baseline measured red: nothing is changed before it is worth comparing with.
    #[error("baseline `{}` is red", .0.record)]
    BaselineRed(crate::exec::refusal::Refusal),
    /// A saved baseline could not be read or written.
    #[error(transparent)]
    Baseline(#[from] crate::exec::baseline::BaselineError),
    /// A baseline could not be saved under its name.
    #[error("failed to save baseline `{name}`")]
    SaveBaseline {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: crate::exec::baseline::BaselineError,
    },
    /// A step id that cannot name a log file.
    #[error("step id `{}`", crate::ident::shown(.id))]
    LogName {
        /// The id.
        id: String,
        /// Why.
        #[source]
        source: crate::ident::IdentError,
    },
    /// The target could not be switched between the states an interleaved pair compares.
    #[error("failed to {what}")]
    Switch {
        /// What it was doing (`switch the target back`, ...).
        what: &'static str,
        /// The journal's error.
        #[source]
        source: Source,
    },
    /// Interleaved pairs ended without a counted run.
    #[error("no counted run in the interleaved pairs")]
    NoPairs,
}

/// How a command ended, as a sentence fragment.
pub fn ended(status: &Status) -> String {
    match status {
        Status::Exited(code) => format!("exited with status {code}"),
        Status::Signaled(sig) => format!("was killed by signal {sig}"),
        Status::TimedOut => "timed out and was stopped".into(),
        Status::Cancelled => "was interrupted".into(),
    }
}

impl Failure {
    /// A short, stable name of what failed, for machine readers (the event log).
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Command { status, .. } | Failure::Relock { status, .. } => match status {
                Status::Exited(_) => "command-exited",
                Status::Signaled(_) => "command-signalled",
                Status::TimedOut => "command-timed-out",
                Status::Cancelled => "command-cancelled",
            },
            Failure::LockToolMissing { .. } => "lock-tool-missing",
            Failure::Start { .. } => "start-failed",
            Failure::Journal { .. } => "journal-failed",
            Failure::Write { .. } => "write-failed",
            Failure::Edit(_) => "edit-failed",
            Failure::Unmeasured { .. } => "record-not-measured",
            Failure::PythonOutside { .. } | Failure::NoVenvFor { .. } => "python-unusable",
            Failure::Refused(_) => "environment-refused",
            Failure::CreateVenv { .. } => "venv-not-created",
            Failure::Environment(_) | Failure::InspectEnvironment(_) => "environment-unusable",
            Failure::UvPin(_) => "uv-pin-unmet",
            Failure::PlanInstall { .. } | Failure::Install { .. } => "install-failed",
            Failure::ServiceDir { .. } => "service-dir-failed",
            Failure::NotReady { .. } => "service-not-ready",
            Failure::Suite(_) => "suite-could-not-run",
            Failure::BaselineRed(_) => "baseline-red",
            Failure::Baseline(_) | Failure::SaveBaseline { .. } => "baseline-unusable",
            Failure::LogName { .. } => "bad-step-id",
            Failure::Switch { .. } | Failure::NoPairs => "interleave-failed",
        }
    }

    /// The exit status of the command that failed, when a command ran and ended.
    pub fn status(&self) -> Option<Status> {
        match self {
            Failure::Command { status, .. } | Failure::Relock { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The output lines quoted under the failure.
    pub fn output(&self) -> &[String] {
        match self {
            Failure::Command { tail, .. }
            | Failure::Relock { tail, .. }
            | Failure::NotReady { tail, .. } => tail,
            Failure::Suite(e) => e.output(),
            _ => &[],
        }
    }
}

/// Why a step failed: what failed, and the log that tells more.
#[derive(Debug)]
pub struct StepError {
    /// What failed, its causes kept (boxed: a step's result stays small on the happy path).
    pub failure: Box<Failure>,
    /// Its log file, relative to the target.
    pub log: Option<String>,
}

impl<F: Into<Failure>> From<F> for StepError {
    fn from(failure: F) -> Self {
        StepError {
            failure: Box::new(failure.into()),
            log: None,
        }
    }
}

impl StepError {
    /// `failure`, with the log file that tells more.
    pub fn logged(failure: impl Into<Failure>, log: impl Into<Option<String>>) -> Self {
        StepError {
            failure: Box::new(failure.into()),
            log: log.into(),
        }
    }
}

/// A journal failure while recording `what`, its error kept as the cause.
pub fn journal_failed(what: Journaled, e: crate::journal::error::JournalError) -> StepError {
    Failure::Journal {
        what,
        source: Box::new(e),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal failure keeps its cause as a source, down to the OS error, and the rendering
    /// names what failed, then each cause.
    #[test]
    fn a_failure_keeps_its_source_chain_and_the_rendering_names_the_cause() {
        let os = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let journal = crate::journal::error::JournalError::Io {
            context: "write the before-image".into(),
            source: os,
        };
        let failure = Failure::Journal {
            what: Journaled::File("setup.cfg".into()),
            source: Box::new(journal),
        };
        let mut chain = Vec::new();
        let mut next: Option<&dyn StdError> = Some(&failure);
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert_eq!(chain[0], "failed to journal `setup.cfg`");
        assert!(chain[2].contains("No space left"), "{chain:?}");
        let shown = crate::report::words::failure(&failure);
        assert!(
            shown.starts_with("failed to journal `setup.cfg`: failed to write the before-image"),
            "{shown}"
        );
        assert!(shown.contains("No space left on device"), "{shown}");
        assert_eq!(failure.kind(), "journal-failed");
    }

    #[test]
    fn a_command_failure_is_its_status_and_output_as_data() {
        let failure = Failure::Command {
            command: "pytest -x".into(),
            status: Status::Exited(3),
            tail: vec!["E  boom".into()],
        };
        assert_eq!(failure.status(), Some(Status::Exited(3)));
        assert_eq!(failure.kind(), "command-exited");
        assert_eq!(
            crate::report::words::failure(&failure),
            "`pytest -x` exited with status 3\n  | E  boom"
        );
        let silent = Failure::Command {
            command: "sleep 9".into(),
            status: Status::TimedOut,
            tail: Vec::new(),
        };
        assert_eq!(silent.kind(), "command-timed-out");
        assert_eq!(
            crate::report::words::failure(&silent),
            "`sleep 9` timed out and was stopped\n  (no output)"
        );
    }
}
