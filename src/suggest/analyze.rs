//! From a [`Profile`] to ranked opportunities: parallel workers, expensive function-scoped
//! fixtures (pytest-django's database among them), collection time, coverage's cost, markers
//! from the durations, or little to gain; each with its evidence, a predicted saving with an
//! interval, the plan steps that would try it, and the risks seen on the way. Pure.

use serde::Serialize;

pub use super::opportunity::{Kind, Opportunity, Saving, Shape, FIXTURE_SHARE};
use super::parallel::{self, Contention, Prediction, Serial};
use super::profile::Profile;
use super::{coverage, django, in_memory, tiers};

/// An opportunity is worth naming when its estimate saves this share of the wall time...
pub const MIN_SHARE: f64 = 0.10;
/// ...and at least this many seconds.
pub const MIN_SECONDS: f64 = 0.5;

/// Built once per session, a fixture still costs a per-test reset (a copy, a rollback, a
/// cleanup): the pessimistic end keeps half of the repeated builds' time.
pub const FIXTURE_KEPT_LOW: f64 = 0.5;

/// The estimate's share of the repeated builds' time saved: for a SQLite file database when the
/// profile has no CPU figures (else [`in_memory::estimate`]), what the persistence demo's
/// in-memory page copy per test keeps; for any other fixture, the middle of the pessimistic
/// end and all of it.
pub const FIXTURE_KEPT_SQLITE: f64 = 0.95;
const FIXTURE_KEPT_OTHER: f64 = 0.75;

/// For a per-test PostgreSQL schema (and roles), the share of its repeated builds the backend
/// demo's pattern saves: each test's BEGIN and ROLLBACK on a pooled connection is a few round
/// trips where a rebuild dropped and created every table and committed. On the backend demo
/// (42 tests, `engine` 41.1 s of a 60.6 s profile) the suite went from 107-132 s to 22-35 s in
/// interleaved runs, the tests' phase from 93-108 s to 7-20 s: all of the builds but a few
/// percent.
pub const FIXTURE_KEPT_POSTGRES: f64 = 0.95;

/// Collection is worth a look from this share of the wall time on; trimming what is collected
/// or imported saves from a fifth to three fifths of it in the projects we measured.
pub const COLLECTION_SHARE: f64 = 0.20;
const COLLECTION_KEPT: (f64, f64) = (0.2, 0.6);

/// Something that may break when the change is made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// Which change it threatens.
    pub kind: Kind,
    /// What was seen.
    pub message: String,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The opportunities worth naming, the largest estimated saving first.
    pub opportunities: Vec<Opportunity>,
    /// The wall time predicted for 2..=cores workers, whether or not it pays.
    pub parallel: Vec<Prediction>,
    /// What may break.
    pub risks: Vec<Risk>,
    /// Nothing is predicted to make the suite faster by enough to be worth a change.
    pub little_to_gain: bool,
    /// What was measured that no change here addresses, and why (coverage's cost on a Python
    /// without sys.monitoring, ...).
    pub notes: Vec<String>,
}

/// The serial figures the parallel prediction starts from, on a machine of `cores` CPUs.
pub fn serial(profile: &Profile, cores: usize) -> Serial {
    let scoped = |scopes: &[&str]| -> f64 {
        profile
            .fixtures
            .iter()
            .filter(|f| scopes.contains(&f.scope.as_str()))
            .map(|f| f.seconds)
            .sum()
    };
    Serial {
        wall: profile.wall,
        overhead: profile.overhead(),
        collection: profile.collection,
        session_fixtures: scoped(&["session"]),
        module_fixtures: scoped(&["module", "class", "package"]),
        noise: profile.noise(),
        xdist_startup: profile.xdist_startup.clone(),
        tests: profile
            .tests
            .iter()
            // Session fixtures are in `session_fixtures`, once per worker.
            .map(|t| (t.file().to_string(), (t.total() - t.session_setup).max(0.0)))
            .collect(),
        reports: profile.reports,
        contention: contention(profile, cores),
    }
}

/// How busy the machine was while the profile's tests ran: what the scheduler says (Linux),
/// else an idle machine.
pub fn contention(profile: &Profile, cores: usize) -> Contention {
    let idle = Contention::idle(cores);
    match profile.sched {
        Some(s) => Contention {
            share: s.share().unwrap_or(1.0),
            busy: s.busy().unwrap_or(1.0),
            ..idle
        },
        None => idle,
    }
}

/// Analyses a profile taken on a machine with `cores` cores.
pub fn analyze(profile: &Profile, cores: usize) -> Analysis {
    let wall = profile.wall.max(1e-9);
    let mut opportunities = Vec::new();
    // Per-test times from workers say nothing of a serial run to predict from.
    let parallel = if profile.already_parallel {
        Vec::new()
    } else {
        parallel::predictions(&serial(profile, cores), cores)
    };
    if let Some(best) = parallel
        .iter()
        .copied()
        .min_by(|a, b| a.mid.total_cmp(&b.mid))
    {
        opportunities.push(parallel_opportunity(profile, best, cores));
    }
    opportunities.extend(fixture_opportunities(profile));
    opportunities.extend(django::reuse_db(profile));
    opportunities.extend(collection_opportunity(profile));
    let (coverage, mut notes) = coverage::coverage(profile);
    notes.extend(django::note(profile));
    opportunities.extend(coverage);
    opportunities.extend(tiers::markers(profile));
    // No change takes the run below its start-up and collection.
    let most = (wall - profile.overhead() - profile.collection).max(0.0);
    for o in &mut opportunities {
        // Collection takes collection's time away; coverage's cost is everywhere.
        let most = if matches!(o.kind, Kind::Collection | Kind::Coverage) {
            wall
        } else {
            most
        };
        o.saving = o.saving.capped(most);
    }
    opportunities.retain(|o| worth_it(o.saving, wall));
    rank(&mut opportunities);
    let little_to_gain = opportunities.iter().all(|o| o.kind == Kind::Markers);
    Analysis {
        opportunities,
        parallel,
        risks: risks(profile),
        little_to_gain,
        notes,
    }
}

/// Whether a saving is large enough to be named.
pub fn worth_it(saving: Saving, wall: f64) -> bool {
    saving.mid >= MIN_SHARE * wall && saving.mid >= MIN_SECONDS
}

/// The largest estimated saving first; between equals, the surer (larger pessimistic end).
/// Markers come last: they make a profile faster, not the suite.
pub fn rank(opportunities: &mut [Opportunity]) {
    opportunities.sort_by(|a, b| {
        (a.kind == Kind::Markers)
            .cmp(&(b.kind == Kind::Markers))
            .then(b.saving.mid.total_cmp(&a.saving.mid))
            .then(b.saving.low.total_cmp(&a.saving.low))
    });
}

fn parallel_opportunity(profile: &Profile, p: Prediction, cores: usize) -> Opportunity {
    let wall = profile.wall;
    let tests = profile.tests.len();
    Opportunity {
        kind: Kind::ParallelWorkers,
        title: format!(
            "run the tests on {} pytest-xdist workers (--dist {})",
            p.workers,
            p.dist.as_str()
        ),
        evidence: vec![
            format!(
                "{tests} tests take {:.2} s of a {wall:.2} s run; the longest takes {:.2} s",
                profile.test_seconds(),
                profile.tests.iter().map(|t| t.total()).fold(0.0, f64::max)
            ),
            startup_evidence(profile, p.workers, cores),
            format!(
                "predicted wall with -n {}: {:.2} s ({:.2} to {:.2})",
                p.workers, p.mid, p.low, p.high
            ),
        ]
        .into_iter()
        .chain(cost_evidence(profile, cores))
        .collect(),
        saving: Saving {
            low: wall - p.high,
            mid: wall - p.mid,
            high: wall - p.low,
        },
        steps: vec![
            "install pytest-xdist>=3.5".into(),
            format!(
                "pytest-config: addopts += -n auto --dist {} --maxprocesses {}",
                p.dist.as_str(),
                p.workers
            ),
            "suite: measure again; gates: no new failure, same tests, the predicted speed-up"
                .into(),
        ],
        fixture: None,
        share: None,
        shape: None,
        workers: Some(p),
    }
}

/// Where the start-up figure comes from: the model, and the measured run when there is one.
fn startup_evidence(profile: &Profile, workers: usize, cores: usize) -> String {
    let (_, model, _) = parallel::modelled_startup(&serial(profile, cores), workers);
    match parallel::startup_at(&profile.xdist_startup, workers) {
        Some(s) => format!(
            "pytest-xdist with {workers} workers and no test selected took {s:.2} s here (start-up, collection in each worker, teardown); modelled from the profile, {model:.2} s; the estimate takes their mean"
        ),
        None => format!(
            "pytest-xdist is not installed: its start-up is modelled from the profile as {model:.2} s (the controller's start-up, then the workers' starting and collecting side by side, plus {:.1} s)",
            parallel::XDIST_SPAWN
        ),
    }
}

/// What xdist's per-report cost and a busy machine add, when they add anything.
fn cost_evidence(profile: &Profile, cores: usize) -> Vec<String> {
    let c = contention(profile, cores);
    let mut lines = Vec::new();
    if profile.reports > 0 {
        lines.push(format!(
            "{} test reports: each costs a worker about {:.2} ms of CPU and the controller {:.2} ms (measured on pytest-xdist 3.8), {:.2} s of the controller's CPU in all",
            profile.reports,
            parallel::WORKER_PER_REPORT * 1e3,
            parallel::CONTROLLER_PER_REPORT * 1e3,
            profile.reports as f64 * parallel::CONTROLLER_PER_REPORT
        ));
    }
    if c.others() > 0.0 {
        lines.push(format!(
            "the machine is busy: the profiled tests got {:.0}% of a CPU while they wanted one (about {:.1} other processes runnable on {} CPUs), so workers share the CPUs with them",
            c.share * 100.0,
            c.others(),
            c.cores
        ));
    }
    lines
}

fn fixture_opportunities(profile: &Profile) -> Vec<Opportunity> {
    let wall = profile.wall.max(1e-9);
    profile
        .fixtures
        .iter()
        .filter(|f| f.scope == "function" && f.count >= 3)
        .filter(|f| f.seconds / wall >= FIXTURE_SHARE)
        .map(|f| {
            let share = f.seconds / wall;
            let repeated = f.seconds * (1.0 - 1.0 / f.count as f64);
            let shape = shape_of(profile, &f.name);
            // The optimistic end: everything the tests that used it spent outside their bodies
            // (the fixtures around it, a file database's removal), less one build, which
            // stays; for a SQLite file their bodies too, whose every commit was durable on a
            // file and is a memory copy afterwards (on the persistence demo the bodies went
            // from 11 s to about 1).
            let users = fixture_users(profile, &f.name, shape);
            let bodies = if shape == Some(Shape::SqliteFile) { 1.0 } else { 0.0 };
            let around: f64 = profile
                .tests
                .iter()
                .filter(|t| users.as_ref().is_none_or(|u| u.contains(&t.id)))
                .map(|t| t.setup + t.teardown + t.call * bodies)
                .sum();
            let high = (around - f.seconds / f.count as f64).max(repeated)
                * (1.0 + profile.noise());
            let kept = match shape {
                Some(Shape::SqliteFile) => FIXTURE_KEPT_SQLITE,
                Some(Shape::Postgres) => FIXTURE_KEPT_POSTGRES,
                _ => FIXTURE_KEPT_OTHER,
            };
            let mut evidence = vec![format!(
                "`{}` (function scope{}) was set up {} times: {:.2} s, {:.0}% of the run, {:.3} s each",
                f.name,
                if f.defined_in.is_empty() {
                    String::new()
                } else {
                    format!(", defined in {}", f.defined_in)
                },
                f.count,
                f.seconds,
                share * 100.0,
                f.seconds / f.count as f64
            )];
            let steps = match shape {
                Some(Shape::SqliteFile) => {
                    let files = profile
                        .sqlite
                        .iter()
                        .filter(|s| s.path != ":memory:" && s.fixtures.contains(&f.name))
                        .count();
                    evidence.push(format!(
                        "its setup connects to a new SQLite file each time ({files} database files): the persistence demo's pattern"
                    ));
                    vec![
                        format!("write: a session fixture that builds the database once in memory (migrations included) and gives each test a copy under the name `{}`", f.name),
                        "suite: measure again, and once in reverse order (pytest --reverse) for leaks between tests".into(),
                    ]
                }
                Some(Shape::Postgres) => {
                    if let Some(engines) = profile.sqlalchemy.get(&f.name) {
                        evidence.push(format!(
                            "its setup creates a SQLAlchemy engine each time ({engines} engines) and {} test(s) connect to PostgreSQL: the backend demo's pattern (schema and roles built per test)",
                            profile.postgres.len()
                        ));
                    }
                    vec![
                        "write: session-scoped schema and roles, each test in a transaction rolled back (the backend demo's pattern)".into(),
                        "suite: measure again, and once in reverse order".into(),
                    ]
                }
                Some(Shape::Django) => vec![
                    "pytest-config: addopts += --reuse-db --nomigrations (pytest-django)".into(),
                    "suite: measure again".into(),
                ],
                Some(Shape::SqlalchemyEngine) => {
                    evidence.push(format!(
                        "its setup creates a SQLAlchemy engine each time ({} engines)",
                        profile.sqlalchemy.get(&f.name).copied().unwrap_or(0)
                    ));
                    vec![
                        "edit by hand: a session-scoped engine that creates the tables once (metadata.create_all); per test, a connection whose transaction is rolled back at teardown, the Session bound to it with join_transaction_mode=\"create_savepoint\"".into(),
                        format!("keep the name `{}` for the per-test Session, so no test changes", f.name),
                        "suite: measure again, and once in reverse order (pytest --reverse) for leaks between tests".into(),
                    ]
                }
                None => vec![
                    format!("edit by hand: build what `{}` makes once (scope=\"session\") and reset it per test", f.name),
                    "suite: measure again, and once in reverse order".into(),
                ],
            };
            let wall_model = Saving {
                low: repeated * FIXTURE_KEPT_LOW * (1.0 - profile.noise()).max(0.0),
                mid: repeated * kept,
                high,
            };
            // In memory a SQLite file's waits on the disk go, in the bodies too: the CPU the
            // tests wanted is what stays (when the profile says it).
            let memory = (shape == Some(Shape::SqliteFile))
                .then(|| in_memory::estimate(profile, f, users.as_ref()))
                .flatten();
            evidence.extend(memory.map(|m| m.evidence()));
            let saving = memory.map_or(wall_model, |m| m.saving);
            Opportunity {
                kind: Kind::FixtureScope,
                title: format!("build `{}` once per session instead of once per test", f.name),
                evidence,
                saving,
                steps,
                fixture: Some(f.name.clone()),
                share: Some(share),
                shape,
                workers: None,
            }
        })
        .collect()
}

/// The tests that used fixture `name`, when the profile knows them (those that connected to
/// its SQLite files); `None`: every test counts.
fn fixture_users(
    profile: &Profile,
    name: &str,
    shape: Option<Shape>,
) -> Option<std::collections::BTreeSet<String>> {
    (shape == Some(Shape::SqliteFile)).then(|| {
        profile
            .sqlite
            .iter()
            .filter(|s| s.fixtures.iter().any(|f| f == name))
            .flat_map(|s| s.tests.iter().cloned())
            .collect()
    })
}

/// The known shape of fixture `name`, from what its setup was seen doing.
fn shape_of(profile: &Profile, name: &str) -> Option<Shape> {
    if matches!(name, "django_db_setup" | "_django_db_helper") {
        return Some(Shape::Django);
    }
    if profile.sqlalchemy.get(name).is_some_and(|&n| n >= 2) {
        // An engine per test on PostgreSQL: the backend demo's schema and roles per test.
        if !profile.postgres.is_empty() {
            return Some(Shape::Postgres);
        }
        return Some(Shape::SqlalchemyEngine);
    }
    let sqlite_files = profile
        .sqlite
        .iter()
        .filter(|s| s.path != ":memory:" && s.fixtures.iter().any(|f| f == name))
        .count();
    if sqlite_files >= 2 {
        return Some(Shape::SqliteFile);
    }
    let uses = profile.fixtures.iter().any(|f| f.name == name);
    (uses && !profile.postgres.is_empty() && name.contains("db")).then_some(Shape::Postgres)
}

fn collection_opportunity(profile: &Profile) -> Option<Opportunity> {
    let wall = profile.wall.max(1e-9);
    let share = profile.collection / wall;
    (share >= COLLECTION_SHARE).then(|| Opportunity {
        kind: Kind::Collection,
        title: "collect and import less".into(),
        evidence: vec![format!(
            "collection took {:.2} s, {:.0}% of the run, for {} tests",
            profile.collection,
            share * 100.0,
            profile.collected
        )],
        saving: Saving {
            low: profile.collection * COLLECTION_KEPT.0,
            mid: profile.collection * (COLLECTION_KEPT.0 + COLLECTION_KEPT.1) / 2.0,
            high: profile.collection * COLLECTION_KEPT.1,
        },
        steps: vec![
            "pytest-config: testpaths = the test directories; norecursedirs += build dist .venv node_modules".into(),
            "pytest-config: addopts += --import-mode=importlib; move heavy imports out of conftest.py".into(),
            "measure `python -X importtime -m pytest --collect-only -q` for the imports that cost most".into(),
        ],
        fixture: None,
        share: Some(share),
        shape: None,
        workers: None,
    })
}

fn risks(profile: &Profile) -> Vec<Risk> {
    let mut risks = Vec::new();
    if profile.already_parallel {
        risks.push(Risk {
            kind: Kind::ParallelWorkers,
            message: "the suite already runs on pytest-xdist workers (its pytest configuration passes -n): no parallel prediction, and the fixture figures add up the workers' set-ups".into(),
        });
    }
    if !profile.order_dependent.is_empty() {
        let shown: Vec<&str> = profile
            .order_dependent
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        let more = profile.order_dependent.len() - shown.len();
        risks.push(Risk {
            kind: Kind::ParallelWorkers,
            message: format!(
                "{} test(s) changed outcome when the suite ran in reverse order: {}{}; they depend on other tests, and pytest-xdist reorders tests too",
                profile.order_dependent.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
        });
    }
    for f in &profile.shared_files {
        risks.push(Risk {
            kind: Kind::ParallelWorkers,
            message: format!(
                "`{}` is written by {} test(s) and used by {}: pytest-xdist workers would share it (key it by PYTEST_XDIST_WORKER, as the locator demo's fix does)",
                f.path,
                f.writers.len(),
                f.tests.len()
            ),
        });
    }
    for s in profile
        .sqlite
        .iter()
        .filter(|s| s.path != ":memory:" && s.tests.len() > 1)
    {
        risks.push(Risk {
            kind: Kind::ParallelWorkers,
            message: format!(
                "{} tests connect to the same SQLite file `{}`: workers would write it at once",
                s.tests.len(),
                s.path
            ),
        });
    }
    if !profile.postgres.is_empty() {
        risks.push(Risk {
            kind: Kind::ParallelWorkers,
            message: format!(
                "{} test(s) connect to PostgreSQL: each worker needs a database of its own (one per worker)",
                profile.postgres.len()
            ),
        });
    }
    risks
}

#[cfg(test)]
#[path = "analyze_tests.rs"]
mod tests;
