//! Predicting a suite's wall time under pytest-xdist from one serial profile: the tests (or
//! files, for `--dist loadfile`) packed onto n workers by longest-processing-time-first, plus
//! xdist's start-up (measured with the workers collecting and running no test when xdist is
//! installed; else the controller's start-up, the workers' again, and [`XDIST_SPAWN`]) and the
//! session fixtures each worker builds. Pure: profile figures in, predictions out.

use serde::Serialize;

/// Without a measured start-up, xdist's own cost on top of the controller's and the workers'
/// start-up: the execnet gateways and the scheduling round trips, about 0.3 s on a quiet
/// machine for pytest-xdist 3.x; the interval takes half of it to twice it.
pub const XDIST_SPAWN: f64 = 0.3;

/// The spread a single serial run leaves on per-test times (machine noise, caches warming):
/// the interval packs the tests 10% faster and 15% slower than measured.
pub const TEST_NOISE: (f64, f64) = (0.90, 1.15);

/// The figures of a serial run the prediction starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Serial {
    /// The run's wall time.
    pub wall: f64,
    /// Interpreter and pytest start-up and session teardown (wall minus collection and tests).
    pub overhead: f64,
    /// Collection seconds.
    pub collection: f64,
    /// Session-scoped fixtures' setup seconds: each worker builds its own.
    pub session_fixtures: f64,
    /// Module-, class- and package-scoped fixtures' setup seconds: rebuilt by each worker that
    /// runs a test of their scope unless a worker gets the whole file.
    pub module_fixtures: f64,
    /// How much two runs of the same suite differed, relative (0 with one run): the interval
    /// widens by it on both sides.
    pub noise: f64,
    /// Measured walls of xdist runs that selected no test, by worker count.
    pub xdist_startup: Vec<(usize, f64)>,
    /// Each test's file and seconds (setup + call + teardown, less the session fixtures it
    /// happened to build first).
    pub tests: Vec<(String, f64)>,
}

/// pytest-xdist's `--dist` modes planrun chooses between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dist {
    /// Tests sent to workers in chunks as they free up.
    Load,
    /// Each file's tests to one worker (module fixtures built once).
    Loadfile,
    /// Like load, and idle workers steal from busy ones: for tests of very different lengths.
    Worksteal,
}

impl Dist {
    /// The value `--dist` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Dist::Load => "load",
            Dist::Loadfile => "loadfile",
            Dist::Worksteal => "worksteal",
        }
    }
}

/// The predicted wall time for one worker count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Workers (`-n`).
    pub workers: usize,
    /// The `--dist` mode it assumes.
    pub dist: Dist,
    /// Predicted wall seconds: the optimistic end, the estimate, the pessimistic end.
    pub low: f64,
    /// The estimate.
    pub mid: f64,
    /// The pessimistic end.
    pub high: f64,
}

/// The longest-processing-time-first makespan of `jobs` on `workers` workers: each job, the
/// longest first, goes to the least loaded worker (within 4/3 of the optimum, Graham 1969).
pub fn lpt_makespan(jobs: &[f64], workers: usize) -> f64 {
    let workers = workers.max(1);
    let mut sorted: Vec<f64> = jobs.iter().copied().filter(|j| j.is_finite()).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut loads = vec![0.0f64; workers];
    for job in sorted {
        let least = loads
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one worker");
        *least += job.max(0.0);
    }
    loads.into_iter().fold(0.0, f64::max)
}

/// A lower bound no schedule beats: the longest job, or the work spread evenly.
pub fn ideal_makespan(jobs: &[f64], workers: usize) -> f64 {
    let total: f64 = jobs.iter().sum();
    let longest = jobs.iter().copied().fold(0.0, f64::max);
    longest.max(total / workers.max(1) as f64)
}

/// Each file's total seconds.
fn per_file(tests: &[(String, f64)]) -> Vec<f64> {
    let mut files: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for (file, s) in tests {
        *files.entry(file.as_str()).or_default() += s;
    }
    files.into_values().collect()
}

/// Whether the tests' lengths differ enough for work stealing to matter: the longest is more
/// than ten times the median.
pub fn skewed(tests: &[(String, f64)]) -> bool {
    let mut secs: Vec<f64> = tests.iter().map(|t| t.1).collect();
    secs.sort_by(f64::total_cmp);
    let (Some(median), Some(longest)) = (secs.get(secs.len() / 2), secs.last()) else {
        return false;
    };
    *longest > 10.0 * median.max(1e-4)
}

/// The prediction for `workers` under `dist`.
pub fn predict(serial: &Serial, workers: usize, dist: Dist) -> Prediction {
    let n = workers.max(1);
    let jobs: Vec<f64> = match dist {
        Dist::Loadfile => per_file(&serial.tests),
        Dist::Load | Dist::Worksteal => serial.tests.iter().map(|t| t.1).collect(),
    };
    // Module fixtures: with whole files per worker each is built once, as in series; else
    // about every worker that runs one of its tests builds it again.
    let repeated = match dist {
        Dist::Loadfile => 0.0,
        Dist::Load | Dist::Worksteal => serial.module_fixtures * (n as f64 - 1.0) / n as f64,
    };
    // `load` hands out chunks in collection order and cannot rebalance, so it is priced at
    // the pessimistic end of the noise.
    let imbalance = match dist {
        Dist::Load => 1.05,
        Dist::Loadfile | Dist::Worksteal => 1.0,
    };
    let noise = serial.noise.clamp(0.0, 1.0);
    let (fast, slow) = ((TEST_NOISE.0 - noise).max(0.5), TEST_NOISE.1 + noise);
    // Start-up: measured (with its collection and teardown), or the controller's and then the
    // workers' (started at once), their collection and xdist's own cost.
    let (start_low, start, start_high) = match startup_at(&serial.xdist_startup, n) {
        Some(measured) => (measured * fast, measured, measured * slow),
        None => {
            let both = 2.0 * serial.overhead + serial.collection;
            (
                both + XDIST_SPAWN * 0.5,
                both + XDIST_SPAWN,
                both + XDIST_SPAWN * 2.0,
            )
        }
    };
    let session = serial.session_fixtures;
    let lpt = lpt_makespan(&jobs, n) * imbalance;
    let ideal = ideal_makespan(&jobs, n);
    Prediction {
        workers: n,
        dist,
        low: start_low + session * fast + (ideal + repeated) * fast,
        mid: start + session + lpt + repeated,
        high: start_high + (session + lpt + repeated) * slow,
    }
}

/// The measured start-up for `n` workers: the measurement at `n`, else the line through the
/// two nearest (never below the smallest measured), else the one measurement there is.
pub fn startup_at(measured: &[(usize, f64)], n: usize) -> Option<f64> {
    let mut points = measured.to_vec();
    points.sort_by_key(|p| p.0);
    match points.as_slice() {
        [] => None,
        [(_, s)] => Some(*s),
        _ => {
            if let Some((_, s)) = points.iter().find(|p| p.0 == n) {
                return Some(*s);
            }
            let i = points
                .partition_point(|p| p.0 < n)
                .clamp(1, points.len() - 1);
            let ((n0, s0), (n1, s1)) = (points[i - 1], points[i]);
            let slope = (s1 - s0) / (n1 as f64 - n0 as f64);
            let floor = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            Some((s0 + slope * (n as f64 - n0 as f64)).max(floor))
        }
    }
}

/// The best `--dist` for `workers`: the one with the lowest estimate; between equals,
/// worksteal for skewed suites, else load.
pub fn best_dist(serial: &Serial, workers: usize) -> Prediction {
    let preferred = if skewed(&serial.tests) {
        Dist::Worksteal
    } else {
        Dist::Load
    };
    let mut best = predict(serial, workers, preferred);
    for dist in [Dist::Worksteal, Dist::Load, Dist::Loadfile] {
        let p = predict(serial, workers, dist);
        if p.mid < best.mid * 0.98 {
            best = p;
        }
    }
    best
}

/// The predictions for 2..=cores workers (2 on a single core, where workers only take turns).
pub fn predictions(serial: &Serial, cores: usize) -> Vec<Prediction> {
    (2..=cores.max(2)).map(|n| best_dist(serial, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(tests: &[(&str, f64)]) -> Serial {
        Serial {
            wall: 1.0 + tests.iter().map(|t| t.1).sum::<f64>(),
            overhead: 0.8,
            collection: 0.2,
            session_fixtures: 0.0,
            module_fixtures: 0.0,
            noise: 0.0,
            xdist_startup: Vec::new(),
            tests: tests.iter().map(|(f, s)| (f.to_string(), *s)).collect(),
        }
    }

    #[test]
    fn lpt_packs_the_longest_first() {
        // LPT is not optimal (3+3 against 2+2+2 would be 6), but it is what the bound is for.
        assert_eq!(lpt_makespan(&[3.0, 3.0, 2.0, 2.0, 2.0], 2), 7.0);
        assert_eq!(lpt_makespan(&[1.0, 1.0, 1.0, 1.0], 4), 1.0);
        assert_eq!(lpt_makespan(&[5.0, 1.0, 1.0], 2), 5.0);
        assert_eq!(lpt_makespan(&[], 3), 0.0);
        assert_eq!(lpt_makespan(&[2.0, 2.0], 0), 4.0);
        // Graham's bound: never above 4/3 of the ideal.
        let jobs: Vec<f64> = (1..40).map(|i| f64::from(i % 7) + 0.5).collect();
        for n in 2..6 {
            assert!(lpt_makespan(&jobs, n) <= ideal_makespan(&jobs, n) * 4.0 / 3.0 + 1e-9);
        }
    }

    #[test]
    fn a_suite_of_equal_tests_halves_its_test_time_on_two_workers() {
        let s = serial(&[("a.py", 1.0); 10]);
        let p = predict(&s, 2, Dist::Worksteal);
        // The controller's 0.8 s and the workers' 0.8 s, 0.2 s collection, 0.3 s xdist, 5 s
        // of tests.
        assert!((p.mid - 7.1).abs() < 1e-9, "{p:?}");
        // A measured start-up replaces the model.
        let measured = Serial {
            xdist_startup: vec![(2, 2.5)],
            ..s.clone()
        };
        assert!((predict(&measured, 2, Dist::Worksteal).mid - 7.5).abs() < 1e-9);
        assert!(p.low < p.mid && p.mid < p.high);
        // Two runs that differed by 20% widen the interval on both sides.
        let noisy = predict(
            &Serial {
                noise: 0.2,
                ..s.clone()
            },
            2,
            Dist::Worksteal,
        );
        assert!(noisy.low < p.low && noisy.high > p.high && noisy.mid == p.mid);
        let more = predict(&s, 5, Dist::Worksteal);
        assert!(more.mid < p.mid);
    }

    #[test]
    fn one_long_test_bounds_the_prediction() {
        let s = serial(&[("a.py", 12.0), ("b.py", 1.0), ("b.py", 1.0)]);
        let p = predict(&s, 4, Dist::Worksteal);
        assert!((p.mid - (1.8 + XDIST_SPAWN + 12.0)).abs() < 1e-9, "{p:?}");
        assert!(skewed(&s.tests));
        assert!(!skewed(&serial(&[("a.py", 1.0); 5]).tests));
    }

    #[test]
    fn start_up_between_and_beyond_measured_counts() {
        let m = [(8, 6.0), (2, 3.0)];
        assert_eq!(startup_at(&m, 2), Some(3.0));
        assert_eq!(startup_at(&m, 4), Some(4.0));
        assert_eq!(startup_at(&m, 10), Some(7.0));
        assert_eq!(startup_at(&[(2, 3.0)], 6), Some(3.0));
        assert_eq!(startup_at(&[], 2), None);
        // A line that falls does not go below the cheapest measurement.
        assert_eq!(startup_at(&[(2, 3.0), (4, 2.0)], 8), Some(2.0));
    }

    #[test]
    fn expensive_module_fixtures_choose_loadfile() {
        let mut s = serial(&[("a.py", 1.0), ("a.py", 1.0), ("b.py", 1.0), ("b.py", 1.0)]);
        s.module_fixtures = 4.0;
        let best = best_dist(&s, 2);
        assert_eq!(best.dist, Dist::Loadfile, "{best:?}");
        s.module_fixtures = 0.0;
        assert_ne!(best_dist(&s, 2).dist, Dist::Loadfile);
        let all = predictions(&s, 4);
        assert_eq!(all.iter().map(|p| p.workers).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(predictions(&s, 1).len(), 1);
    }
}
