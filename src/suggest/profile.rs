//! What profiling a suite measured: each test's phases, each fixture's set-ups, what the tests
//! touched, and the runs' walls, as one [`Profile`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One test's phases, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestTiming {
    /// pytest's node id.
    pub id: String,
    /// Setup (fixtures) seconds.
    pub setup: f64,
    /// The test body's seconds.
    pub call: f64,
    /// Teardown seconds.
    pub teardown: f64,
    /// passed, failed or skipped (the worst of its phases).
    pub outcome: String,
    /// Seconds of its setup that went to session-scoped fixtures (the first test to use one
    /// builds it for all).
    pub session_setup: f64,
    /// CPU seconds of its phases together (the process's, all threads), when the plugin said:
    /// what is left of the test when its waits on I/O are gone.
    pub cpu: Option<f64>,
}

impl TestTiming {
    /// Setup, call and teardown together.
    pub fn total(&self) -> f64 {
        self.setup + self.call + self.teardown
    }

    /// The test's file (the node id up to `::`).
    pub fn file(&self) -> &str {
        self.id.split("::").next().unwrap_or(&self.id)
    }
}

/// One fixture's own setup time (its dependencies excluded), summed over its set-ups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixtureTiming {
    /// The fixture's name.
    pub name: String,
    /// function, class, module, package or session.
    pub scope: String,
    /// Where it is defined, as pytest's baseid (`tests` for `tests/conftest.py`; empty for
    /// plugins and the root conftest).
    pub defined_in: String,
    /// How many times it was set up.
    pub count: u64,
    /// Seconds over all set-ups.
    pub seconds: f64,
}

/// A SQLite database connected to during tests or fixtures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqliteUse {
    /// The database file (`:memory:` for in-memory ones).
    pub path: String,
    /// The tests during which it was connected to.
    pub tests: Vec<String>,
    /// The fixtures whose setup connected to it.
    pub fixtures: Vec<String>,
}

/// A file outside the temp directory that one test wrote and other tests touched too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedFile {
    /// The file.
    pub path: String,
    /// The tests that wrote it.
    pub writers: Vec<String>,
    /// Every test that wrote or read it.
    pub tests: Vec<String>,
}

/// Coverage measuring the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageUse {
    /// coverage.py's tracer: `CTracer`, `PyTracer` or `SysMonitor`.
    pub tracer: String,
    /// The configuration file coverage read, when it read one.
    pub config_file: Option<String>,
    /// It measures branches too.
    pub branch: bool,
    /// pytest-cov started it (so `--no-cov` turns it off).
    pub pytest_cov: bool,
}

/// pytest-django's database options in the profiled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DjangoUse {
    /// `--reuse-db` was on.
    pub reuse_db: bool,
    /// `--nomigrations` was on.
    pub nomigrations: bool,
}

/// What pytest-django's run left to see once it ended: whether a test database lives in memory
/// (SQLite's default test database: `--reuse-db` cannot keep it) and which of the repository's
/// own migrations run Python or SQL (their rows are missing from a database `--nomigrations`
/// builds from the models).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DjangoDatabase {
    /// A test database (of any alias) lives in memory.
    pub in_memory: bool,
    /// The repository's data migrations (`app.0004_name`), in order.
    pub data_migrations: Vec<String>,
}

/// How the scheduler treated the profiled process while its tests ran (Linux's
/// `/proc/self/schedstat`, from the end of collection to the end of the session).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sched {
    /// Seconds on a CPU.
    pub cpu: f64,
    /// Seconds runnable but waiting for a CPU (other processes had them).
    pub wait: f64,
    /// Seconds that passed.
    pub elapsed: f64,
}

impl Sched {
    /// The share of a CPU the process got while it wanted one (1: never waited).
    pub fn share(&self) -> Option<f64> {
        let wanted = self.cpu + self.wait;
        (wanted > 0.0 && self.cpu.is_finite() && self.wait.is_finite())
            .then(|| (self.cpu / wanted).clamp(0.01, 1.0))
    }

    /// The share of the time the process wanted a CPU (the rest it slept: I/O, sleeps,
    /// subprocesses).
    pub fn busy(&self) -> Option<f64> {
        (self.elapsed > 0.0).then(|| ((self.cpu + self.wait) / self.elapsed).clamp(0.0, 1.0))
    }
}

/// The noise assumed when the second run cannot show it (it ran without coverage).
pub const ASSUMED_NOISE: f64 = 0.10;

/// What one profiled run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Profile {
    /// The command that ran (without planrun's additions).
    pub command: String,
    /// The run's wall time, seconds.
    pub wall: f64,
    /// CPU seconds (user + system) of the whole process tree.
    pub cpu: f64,
    /// Cores on this machine.
    pub cores: u32,
    /// Tests collected, passed, failed, skipped, errors.
    pub collected: u64,
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests skipped.
    pub skipped: u64,
    /// Errors (collection or fixture).
    pub errors: u64,
    /// Collection seconds (imports of test modules and conftests included).
    pub collection: f64,
    /// Every test's phases, in the order they ended.
    pub tests: Vec<TestTiming>,
    /// Reports the tests made (setup, call and teardown each, and every subtest's): what
    /// pytest-xdist's workers send the controller one by one.
    pub reports: u64,
    /// How the scheduler treated the run's tests, when the system says (Linux).
    pub sched: Option<Sched>,
    /// Every fixture that was set up.
    pub fixtures: Vec<FixtureTiming>,
    /// SQLite databases connected to.
    pub sqlite: Vec<SqliteUse>,
    /// Tests (and how many files) that created files under the temp directory.
    pub tmp_created: BTreeMap<String, u64>,
    /// Tests (and how many connections) that connected to PostgreSQL.
    pub postgres: BTreeMap<String, u64>,
    /// Files outside the temp directory that several tests touch and one writes.
    pub shared_files: Vec<SharedFile>,
    /// The run's log file.
    pub log: PathBuf,
    /// The wall time of the second run, in reverse order.
    pub reverse_wall: Option<f64>,
    /// Tests whose outcome differed between the run in order and the run in reverse.
    pub order_dependent: Vec<String>,
    /// The suite already runs on pytest-xdist workers (its own configuration says `-n`).
    pub already_parallel: bool,
    /// When pytest-xdist is installed: the wall of a run with n workers that deselects every
    /// test (controller and worker start-up, collection in each worker, teardown), by n.
    pub xdist_startup: Vec<(usize, f64)>,
    /// The interpreter's (major, minor) version.
    pub python: Option<(u32, u32)>,
    /// Coverage measured the run.
    pub coverage: Option<CoverageUse>,
    /// The second run had coverage turned off (`--no-cov`): its wall is the suite's without
    /// coverage, not a second look at the machine's noise.
    pub reverse_without_coverage: bool,
    /// pytest-django ran the suite.
    pub django: Option<DjangoUse>,
    /// pytest-django's test databases and the repository's data migrations, seen after the run.
    pub django_db: Option<DjangoDatabase>,
    /// SQLAlchemy engines created during set-ups, by fixture (`<test>` for test bodies).
    pub sqlalchemy: BTreeMap<String, u64>,
    /// CPU seconds of the function-scoped fixtures' own set-ups (their dependencies excluded),
    /// by name, when the plugin said.
    pub fixture_cpu: BTreeMap<String, f64>,
}

impl Profile {
    /// The tests' setup, call and teardown together.
    pub fn test_seconds(&self) -> f64 {
        self.tests.iter().map(TestTiming::total).sum()
    }

    /// How much the two runs' walls differ, relative to their mean (0 with one run;
    /// [`ASSUMED_NOISE`] when the second run was without coverage).
    pub fn noise(&self) -> f64 {
        if self.reverse_without_coverage {
            return ASSUMED_NOISE;
        }
        match self.reverse_wall {
            Some(r) if r + self.wall > 0.0 => (r - self.wall).abs() * 2.0 / (r + self.wall),
            _ => 0.0,
        }
    }

    /// Seconds coverage added to the run: the run's wall less the second's, which ran without
    /// coverage; `None` unless it did.
    pub fn coverage_overhead(&self) -> Option<f64> {
        let without = self
            .reverse_wall
            .filter(|_| self.reverse_without_coverage)?;
        Some(self.wall - without)
    }

    /// What the run spent outside collection and tests: interpreter and pytest start-up,
    /// plugins, session teardown.
    pub fn overhead(&self) -> f64 {
        (self.wall - self.collection - self.test_seconds()).max(0.0)
    }
}

/// The tests a path of the target's own is shared by, shown relative to the target.
pub fn shown_path(path: &str, target: &Path) -> String {
    let canon = target
        .canonicalize()
        .unwrap_or_else(|_| target.to_path_buf());
    Path::new(path)
        .strip_prefix(&canon)
        .map_or_else(|_| path.to_string(), |rel| rel.display().to_string())
}
