//! What an apply tells the world, behind one trait: its notices before it starts, the moment it
//! begins, every event, and its end. The executor emits these as data; the implementation (the
//! `sinks` layer) folds the events into the report and writes every byte a person reads.

use std::path::PathBuf;

use crate::exec::events::Event;

/// Where an apply's notices and events go.
pub trait Output {
    /// Something said before the run starts (or instead of it).
    fn notice(&mut self, notice: &Notice);
    /// The run began: the journal is open and its report directory exists.
    fn begin(&mut self, run: &Begun);
    /// One event, in the order the dispatcher took it.
    fn event(&mut self, event: &Event);
    /// No event came for a while: a moment to catch up on what was put off.
    fn idle(&mut self) {}
    /// The run is over, its exit code decided: what is written at the end is written now, and
    /// what could not be is said there (it never changes the exit code).
    fn finish(&mut self);
}

/// The run an apply began.
#[derive(Debug, Clone)]
pub struct Begun {
    /// The run id.
    pub run_id: String,
    /// Its report directory.
    pub run_dir: PathBuf,
}

/// Something said about an apply before it starts (or instead of it).
#[derive(Debug)]
pub enum Notice {
    /// A journal in the target that planrun did not write (the journal's account of it).
    ForeignJournal(String),
    /// Files this plan edits that have uncommitted changes in git.
    Uncommitted(Vec<String>),
    /// The plan is already applied here with the same inputs and nothing it wrote changed:
    /// nothing to do.
    AlreadyApplied {
        /// The plan's name.
        plan: String,
        /// The target.
        target: PathBuf,
        /// The run in effect.
        run_id: String,
        /// When it started.
        started: String,
        /// Where its report is (it may be missing or unreadable).
        report: PathBuf,
    },
}
