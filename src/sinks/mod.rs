//! Where an apply's events go: every byte a person reads about a run (the terminal, the event
//! log and `report.json`, the report files, CI, `--json`, the history) is written here, from
//! the events and the report `report/` folds from them.

pub mod apply;
pub mod eventlog;
pub mod notices;
pub mod output;
pub mod preview;
pub mod progress;
pub mod sink;
pub mod tally;
