//! What a dry run says a plan would do, as data: the header, the phases with their steps and
//! gates in execution order, the counts, and what each step would do, filled in by each
//! action's preview ([`crate::exec::action::Action::preview`]) and laid out by
//! [`crate::exec::dryrun`]; `sinks::preview` renders it for the terminal, `report::preview` as
//! JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::exec::edits::Reader;
use crate::exec::setup::Prepared;
use crate::measure::record::Record;
use crate::styled::{Style, Styled};

/// What a dry run would do: its layout, its counts and data.
#[derive(Debug, Default)]
pub struct Preview {
    /// The plan, target, environment and installer, shown first.
    pub header: Header,
    /// The phases, steps and gates in execution order.
    pub blocks: Vec<Block>,
    /// Gates that would be decided.
    pub gates: usize,
    /// Distinct files that would change.
    pub files: usize,
    /// Packages that would be installed.
    pub packages: usize,
    /// Commands that would run (`run` steps and their undo commands are counted once).
    pub commands: usize,
    /// Timed suites that would run.
    pub suites: usize,
    /// Files a step edits that already hold what it would write.
    pub already: Vec<String>,
    /// What each step would do, in execution order.
    pub steps: Vec<PlannedStep>,
    /// Services that would be started.
    pub services: usize,
    /// The files that would change, so far.
    pub changed: BTreeSet<String>,
    /// Venvs an earlier install step of this preview creates: later installs into them do not.
    pub new_venvs: BTreeSet<String>,
    /// The last `run` step previewed so far: a later diff is shown against today's content.
    pub earlier_command: Option<String>,
}

impl Preview {
    /// Whether applying would change the target: a file, a package or a command.
    pub fn pending(&self) -> bool {
        self.files + self.packages + self.commands > 0
    }

    /// Whether every file the plan edits already holds its change (and nothing else would run
    /// that changes the target): the plan's change seems to be in the target already.
    pub fn already_in_target(&self) -> bool {
        !self.already.is_empty() && self.files == 0 && self.commands == 0
    }
}

/// What the preview's header says.
#[derive(Debug, Default)]
pub struct Header {
    /// The plan's name.
    pub plan: String,
    /// The plan file, as given.
    pub plan_path: std::path::PathBuf,
    /// The target.
    pub target: std::path::PathBuf,
    /// The environment the plan runs in and why, when a step uses it.
    pub env: Option<String>,
    /// The installer its install steps would use, when it has any.
    pub installer: Option<String>,
    /// The phase ids.
    pub phases: Vec<String>,
}

/// One part of the preview, in execution order.
#[derive(Debug)]
pub enum Block {
    /// A phase begins.
    Phase {
        /// Its id.
        id: String,
        /// Its title.
        title: Option<String>,
        /// The phases it runs after.
        needs: Vec<String>,
    },
    /// A step: what its action says it would do, then its file diffs, as styled lines.
    Step {
        /// The step id.
        id: String,
        /// Its action name.
        action: &'static str,
        /// The lines under its heading.
        lines: Styled,
    },
    /// A phase's gates: each check and its why.
    Gates(Vec<(String, Option<String>)>),
}

/// What one step would do.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlannedStep {
    /// The step id.
    pub id: String,
    /// Commands it would run (for a suite, the command it times), secrets masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// A `run` step's undo command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    /// Packages it would install.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Files it would write, with their diff (none when a file already holds the change).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PlannedFile>,
}

/// One file a step would write.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlannedFile {
    /// Target-relative path.
    pub path: String,
    /// The unified diff; empty when the file already holds the change.
    pub diff: String,
    /// Whether the file already holds the change.
    pub unchanged: bool,
}

/// What an action's preview reads, and what it adds to: the preview so far, the step's entry,
/// and the lines shown under the step's heading.
pub struct StepPreview<'a> {
    /// The prepared plan and target.
    pub prep: &'a Prepared,
    /// The records known before anything runs (a saved baseline's).
    pub known: &'a BTreeMap<String, Record>,
    /// Reads a target file as the earlier steps of the preview leave it.
    pub read: &'a Reader<'a>,
    /// The preview so far: its counts.
    pub out: &'a mut Preview,
    /// What this step would do.
    pub planned: &'a mut PlannedStep,
    /// The lines under the step's heading, styled.
    pub lines: &'a mut Styled,
}

impl StepPreview<'_> {
    /// Adds a line: `build` writes its spans, the line break follows.
    pub fn line(&mut self, build: impl FnOnce(&mut Styled)) {
        build(self.lines);
        self.lines.plain("\n");
    }

    /// Adds a line of dimmed text after `indent`.
    pub fn dim_line(&mut self, indent: &str, text: &str) {
        self.line(|l| {
            l.plain(indent).styled(Style::Dim, text);
        });
    }
}
