//! Peak resident memory of a whole process tree, sampled by a background thread.
//!
//! Every tick the sampler sums the resident set of the root and every descendant it knows of
//! (pytest-xdist workers included) and keeps the peak. Finding descendants needs a scan of all of
//! `/proc`, which costs one read per process on the machine, so a full scan runs only every
//! `RESCAN_EVERY` ticks (and on the first ones, when the tree grows fastest); in between only the
//! known members are re-read. A process born and gone between two scans is missed, which matters
//! little: the peak of a test suite is held for far longer than a few hundred milliseconds.
//!
//! The sum counts pages shared between processes (a forked worker's copy-on-write pages) once per
//! process, like `ps` and `top` do; it is the memory the tree would need without sharing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::proctree;

/// The default time between samples.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);

/// A full `/proc` scan runs every this many ticks; other ticks re-read known members only.
const RESCAN_EVERY: u32 = 5;

/// The first ticks always rescan: a suite spawns its workers right after it starts.
const EARLY_TICKS: u32 = 10;

/// A running sampler; [`RssSampler::stop`] ends it and returns the peak.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl RssSampler {
    /// Starts sampling the tree under `root` every `interval`.
    pub fn start(root: u32, interval: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || sample_until(root, interval, &flag));
        RssSampler { stop, thread }
    }

    /// Stops the thread and returns the peak tree RSS in KiB (`None` if nothing was seen).
    pub fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        match self.thread.join() {
            Ok(0) | Err(_) => None,
            Ok(peak) => Some(peak),
        }
    }
}

/// The sampler's loop: returns the peak in KiB once `stop` is set.
fn sample_until(root: u32, interval: Duration, stop: &AtomicBool) -> u64 {
    let page_kb = proctree::page_size() / 1024;
    let mut buf = String::with_capacity(512);
    let mut members: Vec<u32> = Vec::new();
    let mut peak_pages = 0u64;
    let mut tick = 0u32;
    while !stop.load(Ordering::Acquire) {
        let pages = if tick < EARLY_TICKS || tick % RESCAN_EVERY == 0 {
            let table = proctree::scan();
            members = proctree::descendants(&table, root);
            table
                .iter()
                .filter(|p| members.contains(&p.pid))
                .map(|p| p.rss_pages)
                .sum()
        } else {
            let mut sum = 0;
            members.retain(|&pid| match proctree::read(pid, &mut buf) {
                Some(p) => {
                    sum += p.rss_pages;
                    !p.is_zombie()
                }
                None => false,
            });
            sum
        };
        peak_pages = peak_pages.max(pages);
        tick = tick.wrapping_add(1);
        // Parked rather than slept so that `stop` wakes the thread at once.
        thread::park_timeout(interval);
    }
    peak_pages * page_kb
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    /// Peak KiB of `sh -c script` sampled over its whole life.
    fn peak_of(script: &str) -> u64 {
        let mut child = Command::new("sh").args(["-c", script]).spawn().unwrap();
        let sampler = RssSampler::start(child.id(), Duration::from_millis(20));
        child.wait().unwrap();
        sampler.stop().unwrap()
    }

    const ALLOC_50MB: &str =
        "python3 -c 'import time; x = b\"x\" * (50 * 1024 * 1024); time.sleep(0.6)'";

    #[test]
    fn sees_memory_of_a_grandchild_and_sums_the_tree() {
        let one = peak_of(&format!("{ALLOC_50MB}; true"));
        let two = peak_of(&format!("{ALLOC_50MB} & {ALLOC_50MB} & wait"));
        assert!(one > 50 * 1024, "one worker peak {one} KiB");
        assert!(
            two > one + 40 * 1024,
            "two workers {two} KiB vs one {one} KiB"
        );
    }

    #[test]
    fn stop_is_prompt_and_reports_nothing_for_a_missing_root() {
        let sampler = RssSampler::start(u32::MAX - 1, Duration::from_secs(10));
        thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        assert_eq!(sampler.stop(), None);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
