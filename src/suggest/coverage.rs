//! Coverage overhead: what coverage.py costs the run (measured: the second profiling run went
//! without it) and what its sys.monitoring core (`core = "sysmon"`, Python 3.12+) would save, or
//! why that does not apply here.

use super::opportunity::{Kind, Opportunity, Saving};
use super::profile::Profile;

/// The Python that has `sys.monitoring`.
pub const SYSMON_PYTHON: (u32, u32) = (3, 12);

/// Before this Python coverage.py measures branches with its C tracer, whatever the core says.
pub const SYSMON_BRANCH_PYTHON: (u32, u32) = (3, 14);

/// The share of coverage's cost sys.monitoring removes: the pessimistic end, the estimate, the
/// optimistic end. It pays per line once rather than per execution, so a suite that runs the
/// same lines often gains most. On pyflakes' suite (Python 3.12.1, coverage 7.18) the C tracer
/// cost 6.6 s over 6.2 s and sys.monitoring 2.8 s: 58% of the cost removed.
pub const SYSMON_SAVES: (f64, f64, f64) = (0.3, 0.6, 0.9);

/// What coverage costs, when it is measured: an opportunity on a Python that has
/// sys.monitoring, else notes that say why it does not apply.
pub fn coverage(profile: &Profile) -> (Option<Opportunity>, Vec<String>) {
    let Some(cov) = &profile.coverage else {
        return (None, Vec::new());
    };
    let Some(cost) = profile.coverage_overhead() else {
        return (
            None,
            vec![format!(
                "coverage.py ({}) measures the run, but not through pytest-cov: its cost was not measured (pytest-cov's --no-cov turns it off for the second run)",
                tracer_name(&cov.tracer)
            )],
        );
    };
    let wall = profile.wall.max(1e-9);
    let costs = format!(
        "coverage.py ({}) costs {cost:.2} s, {:.0}% of the run: the run took {:.2} s with it and {:.2} s without it (pytest-cov's --no-cov)",
        tracer_name(&cov.tracer),
        100.0 * cost / wall,
        profile.wall,
        profile.wall - cost,
    );
    if cov.tracer == "SysMonitor" {
        return (
            None,
            vec![format!(
                "{costs}; it already uses sys.monitoring, the cheapest core"
            )],
        );
    }
    let python = profile.python.unwrap_or((0, 0));
    let version = format!("{}.{}", python.0, python.1);
    if python < SYSMON_PYTHON {
        return (
            None,
            vec![format!(
                "{costs}; COVERAGE_CORE=sysmon does not apply on Python {version}: sys.monitoring needs Python {}.{} or later (coverage.py falls back to its C tracer); run coverage in a CI job of its own, or upgrade Python",
                SYSMON_PYTHON.0, SYSMON_PYTHON.1
            )],
        );
    }
    if cov.branch && python < SYSMON_BRANCH_PYTHON {
        return (
            None,
            vec![format!(
                "{costs}; sys.monitoring does not apply to branch coverage on Python {version}: coverage.py measures branches with its C tracer before Python {}.{}",
                SYSMON_BRANCH_PYTHON.0, SYSMON_BRANCH_PYTHON.1
            )],
        );
    }
    // The cost is one run's wall less another's: the noise the machine has widens it.
    let spread = profile.noise() * wall;
    if cost <= spread {
        return (
            None,
            vec![format!(
                "{costs}; that is within the machine's noise (about {spread:.2} s a run), so no saving is predicted: measure it with the bundled coverage-sysmon plan, which repeats the runs"
            )],
        );
    }
    let saving = Saving {
        low: (cost - spread).max(0.0) * SYSMON_SAVES.0,
        mid: cost.max(0.0) * SYSMON_SAVES.1,
        high: (cost + spread).max(0.0) * SYSMON_SAVES.2,
    };
    let file = config_target(cov.config_file.as_deref()).map_or_else(
        || {
            format!(
                "edit {} by hand",
                cov.config_file.as_deref().unwrap_or_default()
            )
        },
        |t| t.describe(),
    );
    let opportunity = Opportunity {
        kind: Kind::Coverage,
        title: "measure coverage with sys.monitoring (core = \"sysmon\") instead of the C tracer"
            .into(),
        evidence: vec![
            costs,
            format!(
                "Python {version} has sys.monitoring; coverage.py with core = \"sysmon\" records a line once instead of paying a call per execution (it removed 58% of coverage's cost on pyflakes' suite)"
            ),
        ],
        saving,
        steps: vec![
            "install coverage>=7.9 (it reads `core` from its configuration)".into(),
            format!("{file}: core = \"sysmon\""),
            "suite: measure again under coverage; gates: no new failure, same tests, coverage not lower, the predicted speed-up".into(),
        ],
        fixture: None,
        share: Some(cost / wall),
        shape: None,
        workers: None,
    };
    (Some(opportunity), Vec::new())
}

fn tracer_name(tracer: &str) -> &str {
    match tracer {
        "CTracer" => "its C tracer",
        "PyTracer" => "its Python tracer",
        "SysMonitor" => "sys.monitoring",
        "" => "an unknown tracer",
        other => other,
    }
}

/// Where the `core` setting goes: the file coverage read, in its own form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigTarget {
    /// `[tool.coverage.run]` of a TOML file.
    Toml(String),
    /// A section of an INI file: `[run]` of `.coveragerc`, `[coverage:run]` of setup.cfg or tox.ini.
    Ini(String, &'static str),
}

impl ConfigTarget {
    fn describe(&self) -> String {
        match self {
            ConfigTarget::Toml(path) => format!("toml: [tool.coverage.run] of {path}"),
            ConfigTarget::Ini(path, section) => format!("ini: [{section}] of {path}"),
        }
    }
}

/// The file (relative to the target) and table for `core`, from the configuration file coverage
/// read (shown relative to the target): that file in its own form, else a new `.coveragerc` (a
/// new pyproject.toml would change what build tools see); `None` for a file outside the target.
pub fn config_target(config_file: Option<&str>) -> Option<ConfigTarget> {
    let Some(file) = config_file else {
        return Some(ConfigTarget::Ini(".coveragerc".into(), "run"));
    };
    let path = std::path::Path::new(file);
    let inside = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return None;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Some(match name.as_deref() {
        Some("setup.cfg" | "tox.ini") => ConfigTarget::Ini(file.into(), "coverage:run"),
        Some(n) if n.ends_with(".toml") => ConfigTarget::Toml(file.into()),
        _ => ConfigTarget::Ini(file.into(), "run"),
    })
}
