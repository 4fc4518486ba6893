//! One profiled run of a suite: planrun's suite runner with the `planrun_profile` plugin
//! (`profile_plugin.py`) loaded beside its own, and the plugin's account read back into a
//! [`Profile`]. The plugin and every file of the run live in a temp directory outside the target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::measure::framework::Framework;
use crate::measure::suite::{self, SuiteSpec};
use crate::process::shell::quote;
use crate::process::Control;

/// The plugin's module name, as `-p` loads it.
pub const PLUGIN: &str = "planrun_profile";

/// The plugin's source.
const SOURCE: &str = include_str!("profile_plugin.py");

/// Why a suite could not be profiled.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The temp directory for the run could not be made.
    #[error("failed to prepare the profiling run in `{}`", path.display())]
    Prepare {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The suite runner failed (pytest never reported, it could not start, ...).
    #[error("the profiling run of `{command}` failed")]
    Suite {
        /// The command.
        command: String,
        /// The cause.
        #[source]
        source: Box<suite::SuiteError>,
    },
}

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

/// What one profiled run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

impl Profile {
    /// The tests' setup, call and teardown together.
    pub fn test_seconds(&self) -> f64 {
        self.tests.iter().map(TestTiming::total).sum()
    }

    /// How much the two runs' walls differ, relative to their mean (0 with one run).
    pub fn noise(&self) -> f64 {
        match self.reverse_wall {
            Some(r) if r + self.wall > 0.0 => (r - self.wall).abs() * 2.0 / (r + self.wall),
            _ => 0.0,
        }
    }

    /// What the run spent outside collection and tests: interpreter and pytest start-up,
    /// plugins, session teardown.
    pub fn overhead(&self) -> f64 {
        (self.wall - self.collection - self.test_seconds()).max(0.0)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    /// The interpreter, as the command line or discovery gave it.
    pub python: String,
    /// The target (the working directory).
    pub target: PathBuf,
    /// Where the plugin, the junit file and the logs go (outside the target).
    pub scratch: PathBuf,
}

/// Runs the suite twice under the profiling plugin: in order (the profile), then in reverse
/// order, whose outcomes show order dependence and whose wall shows the machine's noise. A red
/// first run is returned as it is (the caller refuses it) without the second.
pub fn run(spec: &ProfileSpec, control: &Control) -> Result<Profile, ProfileError> {
    let mut profile = run_once(spec, control, false)?;
    if profile.failed > 0 || profile.errors > 0 || profile.tests.is_empty() {
        return Ok(profile);
    }
    let reverse = run_once(spec, control, true)?;
    profile.reverse_wall = Some(reverse.wall);
    profile.order_dependent = differing(&profile, &reverse);
    if profile.already_parallel {
        return Ok(profile);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![2, cores.max(2)];
    counts.dedup();
    profile.xdist_startup = counts
        .into_iter()
        .filter_map(|n| xdist_startup(spec, control, n).map(|s| (n, s)))
        .collect();
    Ok(profile)
}

/// The expression no test id matches, so that workers start and collect and run nothing.
const NO_TEST: &str = "planrun_suggest_selects_no_test";

/// The wall of `pytest -n workers -k <nothing>`: what pytest-xdist costs before the first test
/// on this machine now; `None` when xdist is not installed or the run did not end as one that
/// selected no test (exit 5) or passed (exit 0).
fn xdist_startup(spec: &ProfileSpec, control: &Control, workers: usize) -> Option<f64> {
    let has_xdist = crate::process::Invocation::new(&spec.python)
        .args(["-c", "import xdist"])
        .cwd(&spec.target)
        .timeout(Some(std::time::Duration::from_secs(60)));
    let ok = crate::process::capture(&has_xdist, control).is_ok_and(|c| c.outcome.status.success());
    if !ok {
        return None;
    }
    let n = workers.to_string();
    let run = crate::process::Invocation::new(&spec.python)
        .args(["-m", "pytest", "-n", &n, "-q", "-k", NO_TEST])
        .cwd(&spec.target)
        .timeout(Some(std::time::Duration::from_secs(600)));
    let out = crate::process::capture(&run, control).ok()?;
    let code = out.outcome.status.code();
    tracing::debug!(workers, code, wall = ?out.outcome.wall, "xdist start-up measured");
    matches!(code, 0 | 5).then(|| out.outcome.wall.as_secs_f64())
}

/// The tests whose outcome differs between two runs (a test only one of them ran included).
fn differing(a: &Profile, b: &Profile) -> Vec<String> {
    let outcomes = |p: &Profile| -> BTreeMap<String, String> {
        p.tests
            .iter()
            .map(|t| (t.id.clone(), t.outcome.clone()))
            .collect()
    };
    let (a, b) = (outcomes(a), outcomes(b));
    let mut ids: Vec<String> = a
        .iter()
        .filter(|(id, o)| b.get(*id) != Some(o))
        .map(|(id, _)| id.clone())
        .chain(b.keys().filter(|id| !a.contains_key(*id)).cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn run_once(spec: &ProfileSpec, control: &Control, reverse: bool) -> Result<Profile, ProfileError> {
    let prepare = |source| ProfileError::Prepare {
        path: spec.scratch.clone(),
        source,
    };
    let plugin_dir = spec.scratch.join("plugin");
    std::fs::create_dir_all(&plugin_dir).map_err(prepare)?;
    std::fs::write(plugin_dir.join(format!("{PLUGIN}.py")), SOURCE).map_err(prepare)?;
    let name = if reverse { "reverse" } else { "profile" };
    let out = spec.scratch.join(format!("{name}.jsonl"));
    let base = format!("{} -m pytest", quote(&spec.python));
    let pythonpath = match std::env::var("PYTHONPATH").ok().filter(|v| !v.is_empty()) {
        Some(rest) => format!("{}:{rest}", plugin_dir.display()),
        None => plugin_dir.display().to_string(),
    };
    let mut env = vec![
        ("PYTHONPATH".into(), pythonpath),
        ("PLANRUN_PROFILE".into(), out.display().to_string()),
    ];
    if reverse {
        env.push(("PLANRUN_PROFILE_REVERSE".into(), "1".into()));
    }
    let suite_spec = SuiteSpec {
        command: format!("{base} -p {PLUGIN}"),
        cwd: spec.target.clone(),
        env,
        warmup: 0,
        runs: 1,
        max_runs: None,
        max_time: None,
        framework: Framework::Pytest,
        timeout: None,
        auto_timeout: Some(suite::AutoTimeout::new(None)),
        log_dir: spec.scratch.join("logs"),
        junit_dir: spec.scratch.join("junit"),
        record: name.into(),
        budgets: Vec::new(),
        coverage: None,
    };
    let record = suite::run_suite(&suite_spec, control, &mut |_| {}).map_err(|source| {
        ProfileError::Suite {
            command: base.clone(),
            source: Box::new(source),
        }
    })?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let mut profile = parse(&text);
    let sample = record.samples.iter().find(|s| !s.warmup);
    profile.command = base;
    profile.wall = record.wall.median;
    profile.cpu = sample.map_or(0.0, |s| s.cpu_user + s.cpu_system);
    profile.cores = record.cores;
    profile.passed = record.passed;
    profile.failed = record.failed;
    profile.skipped = record.skipped;
    profile.errors = record.errors;
    profile.collected = profile.collected.max(record.tests);
    profile.log = sample.map(|s| s.log.clone()).unwrap_or_default();
    Ok(profile)
}

/// Reads the plugin's JSON lines; lines that are not the plugin's are skipped.
pub fn parse(text: &str) -> Profile {
    let mut p = Profile {
        command: String::new(),
        wall: 0.0,
        cpu: 0.0,
        cores: 1,
        collected: 0,
        passed: 0,
        failed: 0,
        skipped: 0,
        errors: 0,
        collection: 0.0,
        tests: Vec::new(),
        fixtures: Vec::new(),
        sqlite: Vec::new(),
        tmp_created: BTreeMap::new(),
        postgres: BTreeMap::new(),
        shared_files: Vec::new(),
        log: PathBuf::new(),
        reverse_wall: None,
        order_dependent: Vec::new(),
        xdist_startup: Vec::new(),
        already_parallel: false,
    };
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["xdist"].as_bool() == Some(true) {
            p.already_parallel = true;
        } else if let Some(seconds) = v["collection"].as_f64() {
            p.collection += seconds;
            p.collected += v["tests"].as_u64().unwrap_or(0);
        } else if let (Some(id), Some(when)) = (v["test"].as_str(), v["when"].as_str()) {
            let i = *index.entry(id.to_string()).or_insert_with(|| {
                p.tests.push(TestTiming {
                    id: id.to_string(),
                    outcome: "passed".into(),
                    ..TestTiming::default()
                });
                p.tests.len() - 1
            });
            let t = &mut p.tests[i];
            let seconds = v["seconds"].as_f64().unwrap_or(0.0).max(0.0);
            match when {
                "setup" => t.setup += seconds,
                "call" => t.call += seconds,
                _ => t.teardown += seconds,
            }
            match v["outcome"].as_str() {
                Some("failed") => t.outcome = "failed".into(),
                Some("skipped") if t.outcome == "passed" => t.outcome = "skipped".into(),
                _ => {}
            }
        } else if let Some(list) = v["fixtures"].as_array() {
            for f in list {
                merge_fixture(&mut p.fixtures, f);
            }
        } else if let Some(list) = v["sqlite"].as_array() {
            p.sqlite.extend(list.iter().map(|s| SqliteUse {
                path: s["path"].as_str().unwrap_or_default().to_string(),
                tests: strings(&s["tests"]),
                fixtures: strings(&s["fixtures"]),
            }));
            add_counts(&mut p.tmp_created, &v["tmp_created"]);
            for (id, seconds) in v["session_setup"].as_object().into_iter().flatten() {
                if let Some(t) = p.tests.iter_mut().find(|t| &t.id == id) {
                    t.session_setup += seconds.as_f64().unwrap_or(0.0).max(0.0);
                }
            }
            add_counts(&mut p.postgres, &v["postgres"]);
        } else if let Some(list) = v["shared_files"].as_array() {
            p.shared_files.extend(list.iter().map(|s| SharedFile {
                path: s["path"].as_str().unwrap_or_default().to_string(),
                writers: strings(&s["writers"]),
                tests: strings(&s["tests"]),
            }));
        }
    }
    p
}

/// Adds one process's account of a fixture to the totals (xdist workers each send their own).
fn merge_fixture(all: &mut Vec<FixtureTiming>, f: &serde_json::Value) {
    let name = f["name"].as_str().unwrap_or_default();
    let scope = f["scope"].as_str().unwrap_or("function");
    let defined_in = f["where"].as_str().unwrap_or_default();
    let (count, seconds) = (
        f["count"].as_u64().unwrap_or(0),
        f["seconds"].as_f64().unwrap_or(0.0).max(0.0),
    );
    match all
        .iter_mut()
        .find(|x| x.name == name && x.scope == scope && x.defined_in == defined_in)
    {
        Some(x) => {
            x.count += count;
            x.seconds += seconds;
        }
        None => all.push(FixtureTiming {
            name: name.to_string(),
            scope: scope.to_string(),
            defined_in: defined_in.to_string(),
            count,
            seconds,
        }),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn add_counts(into: &mut BTreeMap<String, u64>, v: &serde_json::Value) {
    for (k, n) in v.as_object().into_iter().flatten() {
        *into.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_fixtures_add_up_over_processes() {
        let text = concat!(
            r#"{"xdist": true}"#,
            "\n",
            r#"{"collection": 0.5, "tests": 2}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "setup", "seconds": 0.3, "outcome": "passed"}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "call", "seconds": 0.1, "outcome": "failed"}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "teardown", "seconds": 0.05, "outcome": "passed"}"#,
            "\n",
            r#"{"fixtures": [{"name": "db", "scope": "function", "where": "tests", "count": 2, "seconds": 0.5}]}"#,
            "\n",
            r#"{"fixtures": [{"name": "db", "scope": "function", "where": "tests", "count": 1, "seconds": 0.25}]}"#,
            "\n",
            r#"{"sqlite": [{"path": "/x.db", "tests": ["t.py::a"], "fixtures": ["db"]}], "tmp_created": {"t.py::a": 1}, "session_setup": {"t.py::a": 0.2}, "postgres": {}}"#,
            "\n",
            r#"{"shared_files": [{"path": "/r/c.json", "writers": ["t.py::a"], "tests": ["t.py::a", "t.py::b"]}]}"#,
            "\n",
            r#"{"test": "t.py::b", "wh"#,
        );
        let p = parse(text);
        assert_eq!(p.collected, 2);
        assert!(p.already_parallel);
        assert_eq!(p.tests.len(), 1);
        let a = &p.tests[0];
        assert!((a.total() - 0.45).abs() < 1e-9);
        assert_eq!((a.outcome.as_str(), a.file()), ("failed", "t.py"));
        assert_eq!(p.fixtures.len(), 1);
        assert_eq!(p.fixtures[0].count, 3);
        assert!((p.fixtures[0].seconds - 0.75).abs() < 1e-9);
        assert_eq!(p.sqlite[0].fixtures, ["db"]);
        assert_eq!(p.tmp_created["t.py::a"], 1);
        assert!((p.tests[0].session_setup - 0.2).abs() < 1e-9);
        assert_eq!(p.shared_files[0].tests.len(), 2);
    }

    #[test]
    fn outcomes_that_differ_between_orders_are_order_dependence() {
        let t = |id: &str, outcome: &str| TestTiming {
            id: id.into(),
            outcome: outcome.into(),
            ..TestTiming::default()
        };
        let mut a = parse("");
        a.tests = vec![t("x", "passed"), t("y", "passed"), t("z", "passed")];
        let mut b = parse("");
        b.tests = vec![t("z", "passed"), t("y", "failed"), t("w", "passed")];
        assert_eq!(differing(&a, &b), ["w", "x", "y"]);
        assert_eq!(differing(&a, &a), Vec::<String>::new());
        a.wall = 10.0;
        assert_eq!(a.noise(), 0.0);
        a.reverse_wall = Some(12.0);
        assert!((a.noise() - 2.0 / 11.0).abs() < 1e-12);
    }
}
