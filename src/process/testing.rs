//! Waiting in tests for a state of the process table rather than for a length of time.

use std::time::{Duration, Instant};

use super::proctree;

/// Long enough for any state a test waits for, on the most loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `done` until it holds (true) or the deadline passes (false).
pub(crate) fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > DEADLINE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// How many live (non-zombie) processes are in group `pgid`.
pub(crate) fn live_members(pgid: i32) -> usize {
    proctree::scan()
        .iter()
        .filter(|p| p.pgrp == pgid && !p.is_zombie())
        .count()
}
