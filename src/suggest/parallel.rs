//! Predicting a suite's wall time under pytest-xdist from one serial profile: the tests (or
//! files, for `--dist loadfile`) packed onto n workers by longest-processing-time-first, plus
//! xdist's start-up (measured with the workers collecting and running no test when xdist is
//! installed; else the controller's start-up, the workers' again, and [`XDIST_SPAWN`]), the
//! session fixtures each worker builds, what each test report costs a worker and the controller
//! ([`WORKER_PER_REPORT`], [`CONTROLLER_PER_REPORT`]), and the CPUs the workers get on a
//! machine other processes share ([`Contention`]). Pure: profile figures in, predictions out.

use serde::Serialize;

/// Without a measured start-up, xdist's own cost on top of the controller's and the workers'
/// start-up: the execnet gateways and the scheduling round trips, about 0.3 s on a quiet
/// machine for pytest-xdist 3.x; the interval takes half of it to twice it.
pub const XDIST_SPAWN: f64 = 0.3;

/// The spread a single serial run leaves on per-test times (machine noise, caches warming):
/// the interval packs the tests 10% faster and 15% slower than measured.
pub const TEST_NOISE: (f64, f64) = (0.90, 1.15);

/// CPU seconds a worker spends on each report beyond the test itself (pytest's protocol
/// around it, serializing the report and sending it to the controller). Measured on the
/// 2-core development machine (pytest 9.2, pytest-xdist 3.8, CPython 3.11) with a suite of
/// 1,000 empty tests run as planrun's suite runner runs it (junit file and live plugin): the
/// workers' CPU (os.times at exit) grew by 0.75 ms a test over a `-n 2` run that selected no
/// test, three reports a test.
pub const WORKER_PER_REPORT: f64 = 0.25e-3;

/// CPU seconds the controller spends on each report: receiving and unserializing it, then the
/// terminal, junit and plugin hooks a serial run calls between its tests. Same measurement:
/// the controller's CPU grew by 0.50 ms a test. One process does it for every worker, so on a
/// busy machine it can bound the run.
pub const CONTROLLER_PER_REPORT: f64 = 0.17e-3;

/// The interval's range for the per-report costs: the measurement above, on another machine
/// or Python, from three quarters to one and a half times.
pub const PER_REPORT_RANGE: (f64, f64) = (0.75, 1.5);

/// How busy the machine was while the serial profile ran its tests, from the share of a CPU
/// its process got while it wanted one and the share of the time it wanted one (Linux's
/// schedstat). On `cores` CPUs a process that got share `s` competed with about `cores / s -
/// 1` other runnable processes; n workers and the controller then get `cores / (others + n +
/// controller)` each, at most a whole CPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contention {
    /// The machine's CPUs.
    pub cores: usize,
    /// The share of a CPU the serial run got while it wanted one (1: it never waited).
    pub share: f64,
    /// The share of the serial run's time it wanted a CPU (the rest it slept).
    pub busy: f64,
}

impl Contention {
    /// A machine nothing else uses, and tests that want a CPU all the time.
    pub fn idle(cores: usize) -> Contention {
        Contention {
            cores: cores.max(1),
            share: 1.0,
            busy: 1.0,
        }
    }

    /// Other runnable processes, on average, while the serial run ran. A process that
    /// hardly waited (a share of 95% or more) only says there were fewer than the free CPUs:
    /// taken as none.
    pub fn others(&self) -> f64 {
        let share = self.share.clamp(0.01, 1.0);
        if share >= 0.95 {
            return 0.0;
        }
        (self.cores as f64 / share - 1.0).clamp(0.0, 100.0)
    }

    /// The share of a CPU each of `runnable` processes of the suite gets.
    pub fn share_of(&self, runnable: f64) -> f64 {
        (self.cores as f64 / (self.others() + runnable).max(1e-9)).min(1.0)
    }

    /// How much longer a test of the serial run takes on a worker that gets `share`: its
    /// CPU-bound part by the ratio of the shares, its sleeping part not at all.
    pub fn slowdown(&self, share: f64) -> f64 {
        let busy = self.busy.clamp(0.0, 1.0);
        busy * self.share.clamp(0.01, 1.0) / share.max(1e-3) + (1.0 - busy)
    }
}

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
    /// The reports the tests made (three a test, and one a subtest).
    pub reports: u64,
    /// How busy the machine was.
    pub contention: Contention,
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
fn per_file<'a>(tests: impl Iterator<Item = (&'a str, f64)>) -> Vec<f64> {
    let mut files: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for (file, s) in tests {
        *files.entry(file).or_default() += s;
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

/// The test phase on n workers: the packed makespan, its lower bound, the controller's time
/// for every report, and the share of a CPU each worker gets.
#[derive(Debug, Clone, Copy)]
struct Phase {
    lpt: f64,
    ideal: f64,
    controller: f64,
    share: f64,
}

/// The test phase with the per-report costs times `cost`: each test slowed by the CPUs the
/// workers get, plus its reports; the controller runnable beside the workers for the share of
/// the phase its reports take (estimated once from the phase without it).
fn phase(serial: &Serial, n: usize, dist: Dist, cost: f64) -> Phase {
    let c = serial.contention;
    let per_test = serial.reports as f64 / serial.tests.len().max(1) as f64;
    let controller_cpu = serial.reports as f64 * CONTROLLER_PER_REPORT * cost;
    let jobs = |share: f64| -> Vec<f64> {
        let slow = c.slowdown(share);
        let reports = per_test * WORKER_PER_REPORT * cost / share;
        let tests = serial
            .tests
            .iter()
            .map(|(file, s)| (file.as_str(), s * slow + reports));
        match dist {
            Dist::Loadfile => per_file(tests),
            Dist::Load | Dist::Worksteal => tests.map(|t| t.1).collect(),
        }
    };
    let alone = c.share_of(n as f64);
    let first = lpt_makespan(&jobs(alone), n).max(1e-9);
    let controller_busy = (controller_cpu / alone / first).min(1.0);
    let share = c.share_of(n as f64 + controller_busy);
    let jobs = jobs(share);
    Phase {
        lpt: lpt_makespan(&jobs, n),
        ideal: ideal_makespan(&jobs, n),
        controller: controller_cpu / share,
        share,
    }
}

/// The prediction for `workers` under `dist`.
pub fn predict(serial: &Serial, workers: usize, dist: Dist) -> Prediction {
    let n = workers.max(1);
    let c = serial.contention;
    let (low, mid, high) = (
        phase(serial, n, dist, PER_REPORT_RANGE.0),
        phase(serial, n, dist, 1.0),
        phase(serial, n, dist, PER_REPORT_RANGE.1),
    );
    let slow_n = c.slowdown(mid.share);
    // Module fixtures: with whole files per worker each is built once, as in series; else
    // about every worker that runs one of its tests builds it again.
    let repeated = match dist {
        Dist::Loadfile => 0.0,
        Dist::Load | Dist::Worksteal => {
            serial.module_fixtures * slow_n * (n as f64 - 1.0) / n as f64
        }
    };
    // `load` hands out chunks in collection order and cannot rebalance, so it is priced at
    // the pessimistic end of the noise.
    let imbalance = match dist {
        Dist::Load => 1.05,
        Dist::Loadfile | Dist::Worksteal => 1.0,
    };
    let noise = serial.noise.clamp(0.0, 1.0);
    let (fast, slow) = ((TEST_NOISE.0 - noise).max(0.5), TEST_NOISE.1 + noise);
    // Start-up: the model (the controller's, then the workers' started and collecting side by
    // side at the share each gets, and xdist's own cost) and, when xdist is installed, one
    // measured run that selected no test: the estimate is their mean, the interval spans both
    // (a single short run is as noisy as the machine it ran on).
    let (model_low, model, model_high) = modelled_startup(serial, n);
    let (start_low, start, start_high) = match startup_at(&serial.xdist_startup, n) {
        Some(measured) => (
            measured.min(model_low) * fast,
            (measured + model) / 2.0,
            measured.max(model_high) * slow,
        ),
        None => (model_low, model, model_high),
    };
    let session = serial.session_fixtures * slow_n;
    Prediction {
        workers: n,
        dist,
        low: start_low + (session + low.ideal.max(low.controller) + repeated) * fast,
        mid: start + session + (mid.lpt * imbalance).max(mid.controller) + repeated,
        high: start_high
            + (session + (high.lpt * imbalance).max(high.controller) + repeated) * slow,
    }
}

/// xdist's start-up modelled from the serial profile: the controller's own start-up and
/// teardown (the serial run's overhead less the reporting between its tests, which the
/// controller does during the tests), then the n workers' start-up and collection side by side,
/// each at the share of a CPU it gets, and [`XDIST_SPAWN`] (half to twice that in the interval).
pub fn modelled_startup(serial: &Serial, n: usize) -> (f64, f64, f64) {
    let c = serial.contention;
    let reporting = serial.reports as f64 * CONTROLLER_PER_REPORT / c.share.max(0.01);
    let own = (serial.overhead - reporting).max(0.0);
    let both = own + (own + serial.collection) * c.slowdown(c.share_of(n as f64));
    (
        both + XDIST_SPAWN * 0.5,
        both + XDIST_SPAWN,
        both + XDIST_SPAWN * 2.0,
    )
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
#[path = "parallel_tests.rs"]
mod tests;
