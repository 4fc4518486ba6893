//! The run history: one JSON line per apply (`.planrun/history.jsonl`, or `--history FILE` so a
//! CI cache can carry it between jobs), the statistics a stage's `promote` criteria read over
//! its last runs (`history.green_streak`), and promotion between stages.
//!
//! History is data that must not be lost: appends are whole lines written under an exclusive
//! lock and fsynced, and a torn or corrupt line is reported with its number and skipped, never
//! fatal and never silently left out of what is shown.

pub mod entry;
pub mod file;
pub mod promote;
pub mod window;

pub use entry::Entry;
pub use file::{append, check_appendable, read, HistoryFile, Unreadable};
pub use window::Window;

#[cfg(test)]
mod tests;
