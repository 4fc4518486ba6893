//! Peak resident memory of a whole process tree, sampled by a background thread.
//!
//! Every tick the sampler sums the resident set of the root and all its descendants (pytest-xdist
//! workers included) and keeps the peak. Reading every process in `/proc` costs one open and read
//! each (about 1.5 ms for 90 processes in a VM: 3 % of a core at 20 Hz), so the sampler remembers
//! the processes it has seen outside the tree: a process that is not a descendant when first seen
//! never becomes one (orphans are adopted by init, never by the tree), so after the first tick
//! only new pids and the tree itself are read. Listing `/proc` is cheap. A pid recycled after
//! `pid_max` wrapped around could be missed; that takes millions of forks.
//!
//! The sum counts pages shared between processes (a forked worker's copy-on-write pages) once per
//! process, like `ps` and `top` do; it is the memory the tree would need without sharing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::proctree::{self, ProcInfo};

/// The default time between samples.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);

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

/// The tree under one root, re-read tick after tick.
#[derive(Debug)]
struct Tree {
    root: u32,
    /// Pids seen outside the tree: never read again.
    strangers: HashSet<u32>,
    buf: String,
}

impl Tree {
    /// The resident pages of the tree now.
    fn resident_pages(&mut self) -> u64 {
        let mut table: Vec<ProcInfo> = Vec::new();
        for pid in proctree::pids() {
            if !self.strangers.contains(&pid) {
                table.extend(proctree::read(pid, &mut self.buf));
            }
        }
        let members: HashSet<u32> = proctree::descendants(&table, self.root)
            .into_iter()
            .collect();
        let mut pages = 0;
        for p in &table {
            if members.contains(&p.pid) {
                pages += p.rss_pages;
            } else {
                self.strangers.insert(p.pid);
            }
        }
        pages
    }
}

/// The sampler's loop: returns the peak in KiB once `stop` is set.
fn sample_until(root: u32, interval: Duration, stop: &AtomicBool) -> u64 {
    let mut tree = Tree {
        root,
        strangers: HashSet::new(),
        buf: String::with_capacity(512),
    };
    let mut peak_pages = 0u64;
    while !stop.load(Ordering::Acquire) {
        peak_pages = peak_pages.max(tree.resident_pages());
        // Parked rather than slept so that `stop` wakes the thread at once.
        thread::park_timeout(interval);
    }
    peak_pages * (proctree::page_size() / 1024)
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
    fn processes_outside_the_tree_are_read_once() {
        let mut child = Command::new("sh")
            .args(["-c", &format!("sleep 0.3; {ALLOC_50MB}")])
            .spawn()
            .unwrap();
        let mut tree = Tree {
            root: child.id(),
            strangers: HashSet::new(),
            buf: String::new(),
        };
        let before = tree.resident_pages();
        assert!(tree.strangers.contains(&std::process::id()));
        assert!(!tree.strangers.contains(&child.id()));
        let mut during = 0;
        while child.try_wait().unwrap().is_none() {
            during = during.max(tree.resident_pages());
            thread::sleep(Duration::from_millis(20));
        }
        let kb = during.saturating_sub(before) * proctree::page_size() / 1024;
        assert!(
            kb > 45 * 1024,
            "a child born after the first tick adds {kb} KiB"
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
