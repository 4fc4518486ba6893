//! Running OS processes: spawning in a process group, timeouts, cancellation, signals, orphans,
//! process-tree RSS and `/proc`; it imports nothing else from planrun.

pub mod caplog;
pub mod orphans;
pub mod proctree;
pub mod rss;
pub mod signals;
pub mod spawn;

pub use spawn::{run, tail, Cancel, CommandSpec, Outcome, Status, DEFAULT_GRACE};
