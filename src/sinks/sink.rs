//! What every consumer of an apply's events implements: the terminal, the report files, CI,
//! `--json`, the history and the live event log (`sinks`, `eventlog`) all take events this way.

use crate::error::Result;
use crate::exec::events::Event;
use crate::report::fold::RunState;
use crate::report::model::RunReport;

/// A consumer of an apply's events.
pub trait Sink {
    /// One event, after the state has taken it in.
    fn event(&mut self, event: &Event, state: &RunState);
    /// No event came for a while: a moment to catch up on what was put off.
    fn idle(&mut self, state: &RunState) {
        let _ = state;
    }
    /// The run is over; `report` is the final report, secrets masked.
    fn finish(&mut self, report: &RunReport) -> Result<()> {
        let _ = report;
        Ok(())
    }
}
