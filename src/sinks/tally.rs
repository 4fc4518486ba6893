//! What the terminal knows of a running suite's runs (from its progress events and a clock):
//! which run of how many, and about how long is left, for the status line.

use std::time::{Duration, Instant};

use crate::exec::outcome::Detail;
use crate::measure::live::Follow;

/// A suite step's runs (or interleaved pairs) as its events told them.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// `run`, `warmup` or `pair`; empty before the first event of that kind.
    kind: &'static str,
    index: u32,
    expected: u32,
    of: u32,
    /// When the run in progress began; `None` between runs.
    current: Option<Instant>,
    /// How long the ended ones of this kind took.
    walls: Vec<Duration>,
    /// How long a run took in the record this suite is compared with.
    typical: Option<Duration>,
    /// When the last pair ended, or the first began: a pair's own runs' events come between.
    last_pair: Option<Instant>,
    /// The run in progress's live files (one per shard of a sharded run) and what each said
    /// so far.
    live: Vec<(std::path::PathBuf, Follow)>,
    /// For an interleaved suite: its pairs at least and at most, and a pair's expected time;
    /// the first pair starts when the last warmup run ends (or at once without warmup).
    pairs: Option<((u32, u32), Option<Duration>)>,
}

impl Tally {
    /// Takes in `detail`, which came at `at`.
    pub fn observe(&mut self, detail: &Detail, at: Instant) {
        match detail {
            Detail::Run {
                warmup,
                index,
                of,
                expected,
                took,
                typical,
                live,
            } => {
                self.start_kind(if *warmup { "warmup" } else { "run" });
                (self.index, self.of, self.expected) = (*index, *of, *expected);
                self.typical = *typical;
                match took {
                    None => self.current = Some(at),
                    Some(took) => {
                        self.walls.push(*took);
                        self.current = None;
                    }
                }
                self.live = follow(live);
                if let Some(pairs) = self.pairs.filter(|_| took.is_some() && index == of) {
                    self.first_pair(pairs, at);
                }
            }
            // A pair is only told when it ends: the next one starts then, and a pair took the
            // time since the event before it.
            Detail::Pair {
                index,
                of,
                expected,
                ..
            } => {
                self.start_kind("pair");
                self.walls.push(at - self.last_pair.unwrap_or(at));
                self.last_pair = Some(at);
                self.live.clear();
                (self.of, self.expected) = (*of, *expected);
                if index < of {
                    self.index = index + 1;
                    self.current = Some(at);
                } else {
                    self.index = *index;
                    self.current = None;
                }
            }
            // The run in progress is one of the pair's two: its tests are counted as a run's.
            Detail::PairRun { live, .. } => self.live = follow(live),
            Detail::Interleaved { pairs, typical, .. } => {
                self.pairs = Some((*pairs, *typical));
                self.first_pair((*pairs, *typical), at);
            }
            Detail::Sequential { .. } => {}
        }
    }

    /// The first pair of an interleaved suite starts at `at`.
    fn first_pair(
        &mut self,
        ((expected, of), typical): ((u32, u32), Option<Duration>),
        at: Instant,
    ) {
        self.start_kind("pair");
        (self.index, self.expected, self.of) = (1, expected, of);
        self.typical = typical;
        self.current = Some(at);
        self.last_pair = Some(at);
        self.live.clear();
    }

    fn start_kind(&mut self, kind: &'static str) {
        if self.kind != kind {
            self.kind = kind;
            self.walls.clear();
        }
    }

    /// `run 2 of 3: 40 passed, 0 failed, about 4s left`, or `None` before any run or pair
    /// began and once the expected ones ended (what comes next is not known here: the counted
    /// runs after the warmup, pairs, another run of an adaptive suite, or the step's end);
    /// reads on in the run's live files, a sharded run's shards' counts summed.
    pub fn status(&mut self, now: Instant) -> Option<String> {
        if self.kind.is_empty() || (self.current.is_none() && self.index >= self.expected) {
            return None;
        }
        let tests = (!self.live.is_empty()).then(|| {
            self.live.iter_mut().fold((0, 0), |(p, f), (file, follow)| {
                follow.read_on(file);
                (p + follow.counts.passed, f + follow.counts.failed)
            })
        });
        Some(crate::report::words::run_status(
            self.kind,
            (self.index, self.expected, self.of),
            tests,
            self.left(now),
        ))
    }

    /// The time still to wait until the expected count (or the one in progress past it) ends:
    /// the mean of the ended ones, else the compared record's run, times what is left.
    fn left(&self, now: Instant) -> Option<Duration> {
        let per = match self.walls.len() {
            0 => self.typical?,
            n => self.walls.iter().sum::<Duration>() / u32::try_from(n).ok()?,
        };
        let target = self.expected.max(self.index);
        let whole = target.saturating_sub(self.index);
        let current = match self.current {
            Some(began) => per.saturating_sub(now.saturating_duration_since(began)),
            None => Duration::ZERO,
        };
        Some(per * whole + current)
    }
}

/// The live files of a run that began, each read from its start.
fn follow(files: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, Follow)> {
    files
        .iter()
        .map(|file| (file.clone(), Follow::default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(index: u32, expected: u32, of: u32, took: Option<u64>) -> Detail {
        Detail::Run {
            warmup: false,
            index,
            of,
            expected,
            took: took.map(Duration::from_secs),
            typical: None,
            live: Vec::new(),
        }
    }

    /// The one warmup run, starting (`None`) or ended after `took` seconds.
    fn warmup(took: Option<u64>) -> Detail {
        let mut detail = run(1, 1, 1, took);
        if let Detail::Run { warmup, .. } = &mut detail {
            *warmup = true;
        }
        detail
    }

    #[test]
    fn the_estimate_comes_from_the_runs_so_far() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tally = Tally::default();
        assert_eq!(tally.status(t0), None);
        tally.observe(&run(1, 3, 3, None), at(0));
        // Nothing ended yet and no record to compare with: no guess.
        assert_eq!(tally.status(at(5)).as_deref(), Some("run 1 of 3"));
        tally.observe(&run(1, 3, 3, Some(10)), at(10));
        tally.observe(&run(2, 3, 3, None), at(10));
        assert_eq!(
            tally.status(at(14)).as_deref(),
            Some("run 2 of 3, about 16s left")
        );
        // A run slower than the mean leaves the whole of the next one.
        assert_eq!(
            tally.status(at(25)).as_deref(),
            Some("run 2 of 3, about 10s left")
        );
    }

    #[test]
    fn an_adaptive_suite_says_its_expected_count_and_its_most() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tally = Tally::default();
        for i in 1..=3 {
            tally.observe(&run(i, 3, 10, None), at(u64::from(i - 1) * 2));
            if i == 3 {
                assert_eq!(
                    tally.status(at(5)).as_deref(),
                    Some("run 3 of ~3 (at most 10), about 1s left")
                );
            }
            tally.observe(&run(i, 3, 10, Some(2)), at(u64::from(i) * 2));
        }
        // Whether a fourth run comes is the gates' to say.
        assert_eq!(tally.status(at(6)), None);
        tally.observe(&run(4, 3, 10, None), at(6));
        assert_eq!(
            tally.status(at(7)).as_deref(),
            Some("run 4 (at most 10), about 1s left")
        );
    }

    #[test]
    fn a_suite_compared_with_a_record_guesses_from_its_runs_first() {
        let t0 = Instant::now();
        let mut tally = Tally::default();
        let first = Detail::Run {
            warmup: false,
            index: 1,
            of: 5,
            expected: 5,
            took: None,
            typical: Some(Duration::from_secs(20)),
            live: Vec::new(),
        };
        tally.observe(&first, t0);
        assert_eq!(
            tally.status(t0 + Duration::from_secs(5)).as_deref(),
            Some("run 1 of 5, about 1m35s left")
        );
    }

    #[test]
    fn warmups_do_not_set_the_pace_of_counted_runs() {
        let t0 = Instant::now();
        let mut tally = Tally::default();
        tally.observe(&warmup(None), t0);
        tally.observe(&warmup(Some(60)), t0);
        tally.observe(&run(1, 2, 2, None), t0);
        assert_eq!(tally.status(t0).as_deref(), Some("run 1 of 2"));
    }

    /// Interleaved with `baseline`, whose runs took 4s each: a pair should take 8s.
    fn interleaved(pairs: (u32, u32)) -> Detail {
        Detail::Interleaved {
            with: "baseline".into(),
            seed: 1,
            files: 1,
            env_paths: 0,
            pairs,
            typical: Some(Duration::from_secs(8)),
        }
    }

    #[test]
    fn pairs_are_timed_between_their_ends() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let pair = |index| Detail::Pair {
            index,
            of: 10,
            expected: 4,
            before_first: true,
            partner: ("baseline".into(), 4.0),
            reused: false,
            record: ("after".into(), 2.0),
        };
        let mut tally = Tally::default();
        tally.observe(&interleaved((4, 10)), t0);
        tally.observe(&warmup(None), t0);
        assert_eq!(tally.status(t0).as_deref(), Some("warmup 1 of 1"));
        tally.observe(&warmup(Some(3)), at(3));
        // The first pair guesses from the earlier record's runs until it ends.
        assert_eq!(
            tally.status(at(4)).as_deref(),
            Some("pair 1 of ~4 (at most 10), about 31s left")
        );
        // Pairs of 3s (from the warmup's end) and 6s: 4.5s each.
        tally.observe(&pair(1), at(6));
        tally.observe(&pair(2), at(12));
        assert_eq!(
            tally.status(at(13)).as_deref(),
            Some("pair 3 of ~4 (at most 10), about 8s left")
        );
    }

    #[test]
    fn a_pairs_run_says_its_tests_so_far_and_the_pairs_left() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("live.jsonl");
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tally = Tally::default();
        tally.observe(&interleaved((3, 3)), t0);
        let run = |index, record: &str| Detail::PairRun {
            index,
            record: record.into(),
            live: vec![file.clone()],
        };
        tally.observe(&run(1, "baseline"), t0);
        let line = |id: &str, outcome: &str| {
            format!(r#"{{"id": "{id}", "when": "call", "outcome": "{outcome}"}}"#)
        };
        let text = format!("{}\n{}\n", line("t::a", "passed"), line("t::b", "failed"));
        std::fs::write(&file, text).unwrap();
        assert_eq!(
            tally.status(at(2)).as_deref(),
            Some("pair 1 of 3: 1 passed, 1 failed, about 22s left")
        );
        // The pair's other run counts from nothing, in its own file.
        std::fs::write(&file, "").unwrap();
        tally.observe(&run(1, "after"), at(4));
        assert_eq!(
            tally.status(at(4)).as_deref(),
            Some("pair 1 of 3: 0 passed, 0 failed, about 20s left")
        );
        // A pair of 10s (its runs' events between do not cut it short).
        let pair = Detail::Pair {
            index: 1,
            of: 3,
            expected: 3,
            before_first: true,
            partner: ("baseline".into(), 4.0),
            reused: false,
            record: ("after".into(), 6.0),
        };
        tally.observe(&pair, at(10));
        assert_eq!(
            tally.status(at(10)).as_deref(),
            Some("pair 2 of 3, about 20s left")
        );
        tally.observe(&run(2, "after"), at(10));
        assert_eq!(
            tally.status(at(11)).as_deref(),
            Some("pair 2 of 3: 0 passed, 0 failed, about 19s left")
        );
    }

    #[test]
    fn a_pytest_run_says_its_tests_so_far() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("live.jsonl");
        let t0 = Instant::now();
        let mut tally = Tally::default();
        let start = |index| Detail::Run {
            warmup: false,
            index,
            of: 2,
            expected: 2,
            took: None,
            typical: None,
            live: vec![file.clone()],
        };
        tally.observe(&start(1), t0);
        assert_eq!(
            tally.status(t0).as_deref(),
            Some("run 1 of 2: 0 passed, 0 failed")
        );
        let line = |id: &str, outcome: &str| {
            format!(r#"{{"id": "{id}", "when": "call", "outcome": "{outcome}"}}"#)
        };
        let text = format!("{}\n{}\n", line("t::a", "passed"), line("t::b", "failed"));
        std::fs::write(&file, text).unwrap();
        assert_eq!(
            tally.status(t0).as_deref(),
            Some("run 1 of 2: 1 passed, 1 failed")
        );
        // The next run counts from nothing, in its own file.
        tally.observe(&run(1, 2, 2, Some(1)), t0);
        std::fs::write(&file, "").unwrap();
        tally.observe(&start(2), t0);
        assert_eq!(
            tally.status(t0).as_deref(),
            Some("run 2 of 2: 0 passed, 0 failed, about 1s left")
        );
    }

    #[test]
    fn a_sharded_run_sums_its_shards_tests() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<_> = (1..=2)
            .map(|i| dir.path().join(format!("live-{i}.jsonl")))
            .collect();
        let t0 = Instant::now();
        let mut tally = Tally::default();
        let start = Detail::Run {
            warmup: false,
            index: 2,
            of: 2,
            expected: 2,
            took: None,
            typical: Some(Duration::from_secs(4)),
            live: files.clone(),
        };
        tally.observe(&start, t0);
        let line = |id: &str, outcome: &str| {
            format!(r#"{{"id": "{id}", "when": "call", "outcome": "{outcome}"}}"#)
        };
        // One shard has not started writing yet: it counts nothing.
        std::fs::write(&files[0], line("t::a", "passed") + "\n").unwrap();
        assert_eq!(
            tally.status(t0 + Duration::from_secs(1)).as_deref(),
            Some("run 2 of 2: 1 passed, 0 failed, about 3s left")
        );
        let other = format!("{}\n{}\n", line("t::b", "passed"), line("t::c", "failed"));
        std::fs::write(&files[1], other).unwrap();
        assert_eq!(
            tally.status(t0 + Duration::from_secs(2)).as_deref(),
            Some("run 2 of 2: 2 passed, 1 failed, about 2s left")
        );
    }
}
