//! Profiling a suite: planrun's suite runner with the `planrun_profile` plugin
//! (`profile_plugin.py`) loaded beside its own, once in order and once in reverse, the plugin's
//! account read back into a [`Profile`], and xdist's start-up measured when it is installed.
//! The plugin and every file of the runs live in a temp directory outside the target.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::account::parse;
use super::profile::Profile;
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
/// order, whose outcomes show order dependence and whose wall shows the machine's noise, or,
/// when pytest-cov measured the first run, what coverage costs (the second runs with
/// `--no-cov`; two runs in all either way). A red first run is returned as it is (the caller
/// refuses it) without the second.
pub fn run(spec: &ProfileSpec, control: &Control) -> Result<Profile, ProfileError> {
    let mut profile = run_once(spec, control, Second::No)?;
    if profile.failed > 0 || profile.errors > 0 || profile.tests.is_empty() {
        return Ok(profile);
    }
    let without_coverage = profile.coverage.as_ref().is_some_and(|c| c.pytest_cov);
    let second = if without_coverage {
        Second::ReverseWithoutCoverage
    } else {
        Second::Reverse
    };
    let reverse = run_once(spec, control, second)?;
    profile.reverse_wall = Some(reverse.wall);
    profile.reverse_without_coverage = without_coverage;
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

/// Which run: the first, or the second in reverse order (with or without coverage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Second {
    No,
    Reverse,
    ReverseWithoutCoverage,
}

fn run_once(
    spec: &ProfileSpec,
    control: &Control,
    second: Second,
) -> Result<Profile, ProfileError> {
    let reverse = second != Second::No;
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
    let no_cov = if second == Second::ReverseWithoutCoverage {
        " --no-cov"
    } else {
        ""
    };
    let suite_spec = SuiteSpec {
        command: format!("{base} -p {PLUGIN}{no_cov}"),
        cwd: spec.target.clone(),
        env,
        // Before the first run, one `--collect-only` pass compiles the bytecode a fresh
        // checkout lacks (no run of the suite): else the first run's collection is the cold
        // one, which no later run pays.
        warmup: u32::from(second == Second::No),
        warmup_collect: true,
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
        shards: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::profile::TestTiming;

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
