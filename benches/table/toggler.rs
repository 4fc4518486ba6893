//! A machine whose speed changes while it measures: busy loops that start and stop beside a
//! measurement, cycling through 0, 1 and 2 loops every few seconds on a background thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// The integration tests' busy loops (`sh -c 'while :; do :; done'` in their own process
// groups, killed when dropped), compiled here as there.
#[path = "../../tests/integration/support/load.rs"]
mod load;

/// How many busy loops run in each period, in turn: every change of level from any level is in
/// the cycle (0 to 1, 1 to 2, 2 to 0, 0 to 2, 2 to 1, 1 to 0).
const CYCLE: [usize; 6] = [0, 1, 2, 0, 2, 1];

/// Busy loops toggled on a background thread until dropped; what was toggled when is kept.
pub struct Toggler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    levels: Arc<Mutex<Vec<usize>>>,
}

impl Toggler {
    /// Starts cycling, each level held for `period`; the cycle starts at `phase` so that
    /// successive measurements do not all start on a quiet machine.
    pub fn start(period: Duration, phase: usize) -> Toggler {
        let stop = Arc::new(AtomicBool::new(false));
        let levels = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, levels) = (Arc::clone(&stop), Arc::clone(&levels));
            std::thread::spawn(move || {
                let mut step = phase;
                while !stop.load(Ordering::Relaxed) {
                    let level = CYCLE[step % CYCLE.len()];
                    if let Ok(mut seen) = levels.lock() {
                        seen.push(level);
                    }
                    // Dropping the loops at the end of the period kills them.
                    let _loops = load::busy_loops(level);
                    let until = Instant::now() + period;
                    // Polls the flag so that a stop does not wait out a whole period.
                    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    step += 1;
                }
            })
        };
        Toggler {
            stop,
            thread: Some(thread),
            levels,
        }
    }

    /// How many times the number of busy loops changed so far.
    pub fn changes(&self) -> usize {
        self.levels.lock().map_or(0, |l| l.len().saturating_sub(1))
    }
}

impl Drop for Toggler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
