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
//!
//! Besides the peak the sampler keeps the tree's memory over time for the HTML report, in at most
//! [`SERIES_POINTS`] points whatever the run's length: when the series is full, neighbouring
//! points merge (each keeps its slice's peak, so no spike is lost) and every later point covers
//! twice as many ticks.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::proctree::{self, ProcInfo};

/// The default time between samples.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);

/// The most points a memory series holds, however long the run.
pub const SERIES_POINTS: usize = 240;

/// One point of a memory series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RssPoint {
    /// Time from the start of sampling to the start of the point's slice.
    pub at: Duration,
    /// The tree's peak resident memory over the slice, in KiB.
    pub kb: u64,
}

/// What a sampler saw: the peak and the memory over time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RssTrace {
    /// The peak tree RSS in KiB (0 if nothing was seen).
    pub peak_kb: u64,
    /// The tree's memory over time, at most [`SERIES_POINTS`] points, oldest first.
    pub series: Vec<RssPoint>,
}

/// A running sampler; [`RssSampler::stop`] ends it and returns the peak.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<RssTrace>,
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
        Some(self.finish().peak_kb).filter(|&kb| kb > 0)
    }

    /// Stops the thread and returns what it saw (empty if the thread failed).
    pub fn finish(self) -> RssTrace {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        self.thread.join().unwrap_or_default()
    }
}

/// A series of at most `cap` points built one tick at a time: each point is the peak of
/// `stride` ticks, and `stride` doubles whenever the series fills up.
#[derive(Debug)]
struct Series {
    cap: usize,
    stride: usize,
    /// Ticks folded into the last point so far.
    filled: usize,
    points: Vec<RssPoint>,
}

impl Series {
    /// A series of at most `cap` points (rounded up to an even number, at least 2).
    fn new(cap: usize) -> Series {
        Series {
            cap: cap.max(2).next_multiple_of(2),
            stride: 1,
            filled: 0,
            points: Vec::new(),
        }
    }

    fn push(&mut self, at: Duration, kb: u64) {
        if self.filled < self.stride {
            if let Some(last) = self.points.last_mut() {
                last.kb = last.kb.max(kb);
                self.filled += 1;
                return;
            }
        }
        if self.points.len() == self.cap {
            // Each pair becomes one point holding the pair's peak, at the first's time. The cap
            // is even and the last point full, so every merged point covers the new stride.
            self.points = self
                .points
                .chunks(2)
                .map(|pair| RssPoint {
                    at: pair[0].at,
                    kb: pair.iter().map(|p| p.kb).max().unwrap_or(0),
                })
                .collect();
            self.stride *= 2;
        }
        self.points.push(RssPoint { at, kb });
        self.filled = 1;
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

/// The sampler's loop: returns what it saw once `stop` is set.
fn sample_until(root: u32, interval: Duration, stop: &AtomicBool) -> RssTrace {
    let mut tree = Tree {
        root,
        strangers: HashSet::new(),
        buf: String::with_capacity(512),
    };
    let kb_per_page = proctree::page_size() / 1024;
    let started = Instant::now();
    let mut series = Series::new(SERIES_POINTS);
    let mut peak_kb = 0u64;
    while !stop.load(Ordering::Acquire) {
        let at = started.elapsed();
        let kb = tree.resident_pages() * kb_per_page;
        peak_kb = peak_kb.max(kb);
        // A tick that found no process (the tree is gone) adds no point.
        if kb > 0 {
            series.push(at, kb);
        }
        // Parked rather than slept so that `stop` wakes the thread at once.
        thread::park_timeout(interval);
    }
    RssTrace {
        peak_kb,
        series: series.points,
    }
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
    fn a_long_series_is_thinned_and_keeps_every_peak() {
        let mut series = Series::new(8);
        for tick in 0..1000u64 {
            let kb = if tick == 777 { 9_999 } else { tick % 10 };
            series.push(Duration::from_millis(tick * 50), kb);
        }
        let points = &series.points;
        assert!(points.len() <= 8 && points.len() >= 4, "{points:?}");
        assert_eq!(points[0].at, Duration::ZERO);
        assert!(points.windows(2).all(|w| w[0].at < w[1].at), "{points:?}");
        assert_eq!(points.iter().map(|p| p.kb).max(), Some(9_999));
        // Every point but the last holds the peak of a whole slice, which includes a 9.
        assert!(
            points[..points.len() - 1].iter().all(|p| p.kb >= 9),
            "{points:?}"
        );
        let mut short = Series::new(8);
        for tick in 0..5u64 {
            short.push(Duration::from_millis(tick), tick);
        }
        assert_eq!(short.points.len(), 5, "no thinning below the cap");
    }

    #[test]
    fn the_trace_follows_the_tree_over_time() {
        let mut child = Command::new("sh")
            .args(["-c", &format!("sleep 0.3; {ALLOC_50MB}")])
            .spawn()
            .unwrap();
        let sampler = RssSampler::start(child.id(), Duration::from_millis(20));
        child.wait().unwrap();
        let trace = sampler.finish();
        let series = &trace.series;
        assert!(series.len() >= 5, "{series:?}");
        assert!(series.len() <= SERIES_POINTS);
        let first = series[0].kb;
        assert!(trace.peak_kb > first + 40 * 1024, "{trace:?}");
        assert_eq!(series.iter().map(|p| p.kb).max(), Some(trace.peak_kb));
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
