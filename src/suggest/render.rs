//! What `planrun suggest` prints: the profile in one line, the ranked opportunities with their
//! evidence, predicted saving and plan steps, the parallel predictions, the risks; and the same
//! as one JSON document ([`Report`]).

use serde::Serialize;

use super::analyze::{Analysis, Risk};
use super::parallel::Prediction;
use super::profile::{FixtureTiming, Profile};

/// `suggest --json`: everything the terminal shows, as data.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    /// The target.
    pub target: String,
    /// The interpreter the suite ran with.
    pub python: String,
    /// The profiled run.
    pub profile: Summary<'a>,
    /// The opportunities, the largest predicted saving first.
    pub opportunities: &'a [super::analyze::Opportunity],
    /// Predicted wall time for 2..=cores workers.
    pub parallel: &'a [Prediction],
    /// What may break.
    pub risks: &'a [Risk],
    /// Nothing is worth a change.
    pub little_to_gain: bool,
    /// What was measured that no change here addresses, and why.
    pub notes: &'a [String],
    /// The plan written with `--write` (its path), if any.
    pub plan: Option<String>,
    /// The bundled plan it was made from.
    pub plan_from: Option<&'static str>,
    /// Changes no bundled plan makes, to do by hand.
    pub manual: &'a [String],
}

/// The profiled run, without its per-test lines.
#[derive(Debug, Clone, Serialize)]
pub struct Summary<'a> {
    /// The command.
    pub command: &'a str,
    /// Wall seconds.
    pub wall: f64,
    /// CPU seconds of the process tree.
    pub cpu: f64,
    /// Cores on this machine.
    pub cores: u32,
    /// Tests that ran.
    pub tests: usize,
    /// The wall of the second run, in reverse order.
    pub reverse_wall: Option<f64>,
    /// Tests whose outcome differed between the two orders.
    pub order_dependent: &'a [String],
    /// Tests that passed.
    pub passed: u64,
    /// Collection seconds.
    pub collection: f64,
    /// The interpreter's (major, minor) version.
    pub python_version: Option<(u32, u32)>,
    /// Coverage measured the run: its tracer and configuration file.
    pub coverage: Option<&'a super::profile::CoverageUse>,
    /// Seconds coverage added (the second run went without it).
    pub coverage_overhead: Option<f64>,
    /// Reports the tests made (what xdist's workers would send the controller).
    pub reports: u64,
    /// How the scheduler treated the tests' process (Linux): seconds on a CPU, waiting for
    /// one, elapsed.
    pub sched: Option<super::profile::Sched>,
    /// Start-up and teardown seconds around collection and tests.
    pub overhead: f64,
    /// The tests' setup, call and teardown seconds.
    pub test_seconds: f64,
    /// Each fixture set up, the most expensive first.
    pub fixtures: Vec<&'a FixtureTiming>,
    /// The ten slowest tests: id and seconds.
    pub slowest: Vec<(&'a str, f64)>,
    /// Tests that created files under the temp directory.
    pub tests_creating_temp_files: usize,
    /// Tests that connected to PostgreSQL.
    pub tests_using_postgres: usize,
    /// SQLite database files connected to (in-memory ones excluded).
    pub sqlite_files: usize,
}

impl<'a> Summary<'a> {
    /// The summary of `p`.
    pub fn of(p: &'a Profile) -> Self {
        let mut fixtures: Vec<&FixtureTiming> = p.fixtures.iter().collect();
        fixtures.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        let mut slowest: Vec<(&str, f64)> =
            p.tests.iter().map(|t| (t.id.as_str(), t.total())).collect();
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        slowest.truncate(10);
        Summary {
            command: &p.command,
            wall: p.wall,
            cpu: p.cpu,
            cores: p.cores,
            tests: p.tests.len(),
            reverse_wall: p.reverse_wall,
            order_dependent: &p.order_dependent,
            passed: p.passed,
            collection: p.collection,
            python_version: p.python,
            coverage: p.coverage.as_ref(),
            coverage_overhead: p.coverage_overhead(),
            reports: p.reports,
            sched: p.sched,
            overhead: p.overhead(),
            test_seconds: p.test_seconds(),
            fixtures,
            slowest,
            tests_creating_temp_files: p.tmp_created.len(),
            tests_using_postgres: p.postgres.len(),
            sqlite_files: p.sqlite.iter().filter(|s| s.path != ":memory:").count(),
        }
    }
}

/// The terminal lines.
pub fn lines(profile: &Profile, analysis: &Analysis) -> Vec<String> {
    let wall = profile.wall;
    let mut out = vec![format!(
        "profiled `{}`: {:.2} s for {} tests ({} passed); collection {:.2} s, start-up and teardown {:.2} s, tests {:.2} s, CPU {:.0}% of the wall",
        profile.command,
        wall,
        profile.tests.len(),
        profile.passed,
        profile.collection,
        profile.overhead(),
        profile.test_seconds(),
        100.0 * profile.cpu / wall.max(1e-9)
    )];
    if let (Some(reverse), true) = (profile.reverse_wall, profile.reverse_without_coverage) {
        out.push(format!(
            "in reverse order without coverage (--no-cov): {reverse:.2} s, {} test(s) changed outcome",
            profile.order_dependent.len()
        ));
    } else if let Some(reverse) = profile.reverse_wall {
        out.push(format!(
            "in reverse order: {reverse:.2} s ({:.0}% apart), {} test(s) changed outcome",
            100.0 * profile.noise(),
            profile.order_dependent.len()
        ));
    }
    out.push(String::new());
    if analysis.little_to_gain {
        out.push(format!(
            "little to gain: no change is predicted to save {:.0}% of the run and {:.1} s; the suite is already fast for what it does",
            super::analyze::MIN_SHARE * 100.0,
            super::analyze::MIN_SECONDS
        ));
    } else {
        out.push("opportunities, the largest predicted saving first:".into());
    }
    for (i, o) in analysis.opportunities.iter().enumerate() {
        out.push(format!("{}. {}", i + 1, o.title));
        out.push(format!(
            "   predicted saving {:.2} s ({:.2} to {:.2}): {:.1}% of the run, {:.2}x faster ({:.2}x to {:.2}x)",
            o.saving.mid,
            o.saving.low,
            o.saving.high,
            100.0 * o.saving.mid / wall.max(1e-9),
            o.saving.speedup_mid(wall),
            o.saving.speedup_low(wall),
            wall / (wall - o.saving.high).max(1e-9)
        ));
        for e in &o.evidence {
            out.push(format!("   evidence: {e}"));
        }
        for s in &o.steps {
            out.push(format!("   step: {s}"));
        }
    }
    if !analysis.parallel.is_empty() {
        out.push(String::new());
        out.push(format!(
            "parallel workers, predicted wall (serial {wall:.2} s):"
        ));
        for p in &analysis.parallel {
            out.push(format!(
                "  -n {} --dist {}: {:.2} s ({:.2} to {:.2})",
                p.workers,
                p.dist.as_str(),
                p.mid,
                p.low,
                p.high
            ));
        }
    }
    if !analysis.notes.is_empty() {
        out.push(String::new());
        out.push("notes:".into());
        for n in &analysis.notes {
            out.push(format!("  - {n}"));
        }
    }
    if !analysis.risks.is_empty() {
        out.push(String::new());
        out.push("risks:".into());
        for r in &analysis.risks {
            out.push(format!("  - {}", r.message));
        }
    }
    out
}
