//! The plan `suggest --write` writes: the bundled plan that verifies the best opportunity with a
//! plan (`xdist` for parallel workers, `persistence-demo` for a per-test SQLite file fixture
//! the demo's template fits, `django-reuse-db`, `coverage-sysmon`, `budgets-warn` for markers),
//! its gates set from the prediction and the measured baseline.
//! Opportunities no bundled plan fits are named as manual changes instead. Pure: text in, text out.

use std::path::Path;

use super::analyze::{Analysis, Kind, Opportunity, Shape};
use super::backend;
use super::profile::Profile;
use crate::plan::bundled::{self, Bundled};

/// A plan ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanText {
    /// The bundled plan it comes from.
    pub from: &'static str,
    /// Which opportunity it verifies (its index in the ranking).
    pub opportunity: usize,
    /// The plan file's text.
    pub text: String,
    /// The templates it needs, relative to the plan's directory.
    pub templates: Vec<(String, String)>,
}

/// What `--write` would do: a plan, and the changes no plan fits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice {
    /// The plan, when an opportunity has one.
    pub plan: Option<PlanText>,
    /// Opportunities ranked above it (or instead of it) that need a change by hand, and why.
    pub manual: Vec<String>,
}

/// Chooses the plan for the best opportunity that has one; `target` is the repository,
/// `default_target` the way the plan's `default_target` points at it.
pub fn choose(
    analysis: &Analysis,
    profile: &Profile,
    target: &Path,
    default_target: &Path,
) -> Choice {
    let mut choice = Choice::default();
    for (i, o) in analysis.opportunities.iter().enumerate() {
        let plan = match o.kind {
            Kind::ParallelWorkers => Some(xdist_plan(o, profile, default_target)),
            Kind::FixtureScope if o.shape == Some(Shape::Postgres) => {
                match conftest_fits(o, target, &BACKEND_FIT) {
                    Ok(()) => backend_plan(o, profile, default_target)
                        .map_err(|why| {
                            choice.manual.push(format!("{}: {why}", o.title));
                        })
                        .ok(),
                    Err(why) => {
                        choice.manual.push(format!("{}: {why}", o.title));
                        None
                    }
                }
            }
            Kind::FixtureScope if o.shape == Some(Shape::SqliteFile) => {
                match conftest_fits(o, target, &PERSISTENCE_FIT) {
                    Ok(()) => Some(persistence_plan(o, profile, default_target)),
                    Err(why) => {
                        choice.manual.push(format!("{}: {why}", o.title));
                        None
                    }
                }
            }
            Kind::FixtureScope
                if o.shape == Some(Shape::Django)
                    && o.fixture.as_deref() == Some(super::django::SETUP) =>
            {
                Some(django_plan(o, profile, default_target))
            }
            Kind::Coverage => match coverage_plan(o, profile, default_target) {
                Some(plan) => Some(plan),
                None => {
                    choice.manual.push(format!(
                        "{}: coverage reads a configuration file outside the repository; {}",
                        o.title,
                        o.steps.join("; ")
                    ));
                    None
                }
            },
            Kind::Markers => Some(markers_plan(o, profile, default_target)),
            Kind::FixtureScope => {
                choice.manual.push(format!(
                    "{}: no bundled plan rewrites this fixture; {}",
                    o.title,
                    o.steps.first().map_or("", String::as_str)
                ));
                None
            }
            Kind::Collection => {
                choice.manual.push(format!(
                    "{}: no bundled plan for it; {}",
                    o.title,
                    o.steps.join("; ")
                ));
                None
            }
        };
        if let Some((from, text, templates)) = plan {
            choice.plan = Some(PlanText {
                from,
                opportunity: i,
                text,
                templates,
            });
            break;
        }
    }
    choice
}

type Built = (&'static str, String, Vec<(String, String)>);

fn bundled_plan(name: &str) -> &'static Bundled {
    bundled::find(name).expect("the plan is bundled")
}

/// The bundled plan's text for `target`, without its `#:schema` line (there is no schema file
/// beside a written plan), under a header that says where it came from.
fn base_text(plan: &Bundled, header: &[String], target: &Path) -> String {
    let text = plan.for_repository("", &target.display().to_string());
    let mut out = String::new();
    for line in header {
        out.push_str(&format!("# {line}\n"));
    }
    for line in text.lines().filter(|l| !l.starts_with("#:schema")) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn header(o: &Opportunity, profile: &Profile, from: &str) -> Vec<String> {
    let wall = profile.wall;
    vec![
        format!("Written by `planrun suggest` from bundled plan `{from}`: {}.", o.title),
        format!(
            "Measured: `{}` took {wall:.2} s for {} tests; predicted saving {:.2} s ({:.2} to {:.2}), a speed-up of {:.2}x ({:.2}x at the pessimistic end).",
            profile.command,
            profile.tests.len(),
            o.saving.mid,
            o.saving.low,
            o.saving.high,
            o.saving.speedup_mid(wall),
            o.saving.speedup_low(wall)
        ),
        "The speed gate holds the apply to the pessimistic end of that prediction.".into(),
    ]
}

/// The backend plan without its parallel phase, its speed gate at the prediction's
/// pessimistic end.
fn backend_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Result<Built, String> {
    let plan = bundled_plan(backend::PLAN);
    let text = base_text(plan, &header(o, profile, plan.name), target);
    let speedup = speedup_gate(o.saving.speedup_low(profile.wall));
    let text = backend::fixtures_only(&text, 1.0 / speedup, speedup)?;
    let templates = templates(plan)
        .into_iter()
        .filter(|(rel, _)| backend::wanted_template(rel))
        .collect();
    Ok((plan.name, text, templates))
}

/// A speed-up threshold from a prediction: its pessimistic end, rounded down to hundredths,
/// never below 1.05 (a change must pay for itself).
pub fn speedup_gate(speedup_low: f64) -> f64 {
    ((speedup_low * 100.0).floor() / 100.0).max(1.05)
}

fn xdist_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Built {
    let plan = bundled_plan("xdist");
    let mut text = base_text(plan, &header(o, profile, plan.name), target);
    let workers = o.workers.map_or(2, |w| w.workers);
    let dist = o.workers.map_or("worksteal", |w| w.dist.as_str());
    text = with_min_speedup(&text, "1.2", o, profile)
        .replace(
            "maxprocesses = \"4\"",
            &format!("maxprocesses = \"{workers}\""),
        )
        .replace(
            "\"--dist\", \"worksteal\"",
            &format!("\"--dist\", \"{dist}\""),
        );
    (plan.name, text, templates(plan))
}

fn persistence_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Built {
    let plan = bundled_plan("persistence-demo");
    let text = base_text(plan, &header(o, profile, plan.name), target);
    let ratio = 1.0 / speedup_gate(o.saving.speedup_low(profile.wall));
    // The seed's absolute 15 s was for its author's 35 s suite; the gate that replaces it is
    // this suite's measured baseline times the predicted ratio.
    let text = text.replace(
        "  check = \"after.wall.median <= 15\"\n  why = \"the target: the persistence suite in 15 s or less\"",
        &format!(
            "  check = \"after.wall.median <= baseline.wall.median * {ratio:.2}\"\n  why = \"the prediction of `planrun suggest`: at least {:.2}x faster\"",
            1.0 / ratio
        ),
    );
    (plan.name, text, templates(plan))
}

/// The plan with its `min_speedup` at the prediction's pessimistic end.
fn with_min_speedup(text: &str, default: &str, o: &Opportunity, profile: &Profile) -> String {
    let gate = speedup_gate(o.saving.speedup_low(profile.wall));
    text.replace(
        &format!("min_speedup = \"{default}\""),
        &format!("min_speedup = \"{gate:.2}\""),
    )
}

fn django_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Built {
    let plan = bundled_plan("django-reuse-db");
    let text = base_text(plan, &header(o, profile, plan.name), target);
    let mut text = with_min_speedup(&text, "1.2", o, profile);
    if let Some(options) = super::django::options(profile) {
        // Only the options the run lacked that can work: one already in addopts stays as it is,
        // --reuse-db is left out for a database in memory, --nomigrations for data migrations.
        let wanted: Vec<String> = options.add.iter().map(|o| format!("\"{o}\"")).collect();
        text = text
            .replace(
                "addopts_add = [\"--reuse-db\", \"--nomigrations\"]",
                &format!("addopts_add = [{}]", wanted.join(", ")),
            )
            .replace(
                "(--reuse-db --nomigrations); keep it",
                &format!("({}); keep it", options.add.join(" ")),
            );
        if !options.add.contains(&"--reuse-db") {
            // Nothing to create for the counted runs to reuse.
            text = text.replace(
                "  # One whole run first: it creates the database the counted runs reuse.\n  warmup = \"1\"",
                "  warmup = \"${warmup}\"",
            );
        }
    }
    (plan.name, text, templates(plan))
}

/// The coverage plan with `core` set in the file coverage reads; `None` when that file is
/// outside the target.
fn coverage_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Option<Built> {
    use super::coverage::{config_target, ConfigTarget};
    let file = profile.coverage.as_ref()?.config_file.as_deref();
    let step = match config_target(file)? {
        ConfigTarget::Toml(path) => format!(
            "  action = \"toml\"\n  path = {}\n  table = \"tool.coverage.run\"",
            toml_str(&path)
        ),
        ConfigTarget::Ini(path, section) => format!(
            "  action = \"ini\"\n  path = {}\n  section = \"{section}\"",
            toml_str(&path)
        ),
    };
    let plan = bundled_plan("coverage-sysmon");
    let text = base_text(plan, &header(o, profile, plan.name), target);
    let text = with_min_speedup(&text, "1.1", o, profile).replace(
        "  action = \"toml\"\n  path = \"pyproject.toml\"\n  table = \"tool.coverage.run\"",
        &step,
    );
    Some((plan.name, text, templates(plan)))
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The budgets-warn plan held to the prediction instead of the seed's absolute figures: the
/// fast profile within the predicted ratio of the baseline, the full suite no slower than the
/// seed's regression tolerance (x 1.2), coverage not lower, memory as a warning.
fn markers_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Built {
    let plan = bundled_plan("budgets-warn");
    let text = base_text(plan, &header(o, profile, plan.name), target);
    let ratio = 1.0 / speedup_gate(o.saving.speedup_low(profile.wall));
    let text = text
        .replace(
            "  check = \"fast.wall.median < 30 and fast.failed == 0 and fast.tests > 0\"\n  why = \"the fast profile gives feedback in under 30 s\"",
            &format!(
                "  check = \"fast.wall.median <= baseline.wall.median * {ratio:.2} and fast.failed == 0 and fast.tests > 0\"\n  why = \"the prediction of `planrun suggest`: the fast profile at least {:.2}x faster than the full suite\"",
                1.0 / ratio
            ),
        )
        .replace(
            "  check = \"after.wall.median < 60\"\n  why = \"the full suite under 60 s\"",
            "  check = \"after.wall.median <= baseline.wall.median * 1.2\"\n  why = \"the full suite no slower than the baseline and its tolerance (x 1.2)\"",
        )
        .replace(
            "  check = \"after.coverage >= 80 and after.coverage >= baseline.coverage - 0.5\"\n  why = \"coverage stays above 80% and does not drop\"",
            "  check = \"after.coverage >= baseline.coverage - 0.5\"\n  why = \"coverage does not drop\"",
        )
        .replace(
            "  why = \"peak memory under 500 MB, no test process growing by 10 MB\"\n",
            "  why = \"peak memory under 500 MB, no test process growing by 10 MB\"\n  on_fail = \"warn\"\n",
        );
    (plan.name, text, templates(plan))
}

fn templates(plan: &Bundled) -> Vec<(String, String)> {
    plan.templates
        .iter()
        .map(|(rel, text)| (rel.to_string(), text.to_string()))
        .collect()
}

/// A bundled plan whose templates replace the target's `tests/conftest.py`, and what a person
/// does by hand where they do not fit.
struct ConftestFit {
    plan: &'static str,
    /// Which of its templates are the conftests it writes.
    conftest: fn(&str) -> bool,
    /// Modules they import that are the suite's dependencies or the standard library's.
    known: &'static [&'static str],
    /// The change, said for a person making it by hand.
    by_hand: &'static str,
}

const PERSISTENCE_FIT: ConftestFit = ConftestFit {
    plan: "persistence-demo",
    conftest: |rel| rel.ends_with("conftest.py"),
    known: &["sqlite3", "pytest", "os", "tempfile", "pathlib"],
    by_hand: "build the migrated database once per session (in memory) and give each test a copy (the persistence demo's pattern)",
};

const BACKEND_FIT: ConftestFit = ConftestFit {
    plan: backend::PLAN,
    conftest: backend::conftest_template,
    known: backend::KNOWN_MODULES,
    by_hand: "a session-scoped engine that creates the schema and the roles once, each test on a connection whose transaction is rolled back (the backend demo's pattern)",
};

/// Whether a bundled plan's conftests can replace the target's `tests/conftest.py`: every
/// module they import is the target's (or a known dependency), they define the expensive
/// fixture, and they define every fixture the target's conftest defines that a test requests
/// (so no test loses one).
fn conftest_fits(o: &Opportunity, target: &Path, fit: &ConftestFit) -> Result<(), String> {
    let plan = bundled_plan(fit.plan);
    let what = format!("the bundled `{}` plan's fixtures", fit.plan);
    for (_, template) in plan.templates.iter().filter(|(rel, _)| (fit.conftest)(rel)) {
        for line in template.lines() {
            let Some(module) = line
                .strip_prefix("from ")
                .and_then(|r| r.split_whitespace().next())
            else {
                continue;
            };
            let top = module.split('.').next().unwrap_or(module);
            if fit.known.contains(&top) {
                continue;
            }
            let path = target.join(module.replace('.', "/"));
            if !path.is_dir() && !path.with_extension("py").is_file() {
                return Err(format!(
                    "{what} import `{module}`, which this repository does not have; make the change by hand: {}",
                    fit.by_hand
                ));
            }
        }
    }
    let last = plan
        .templates
        .iter()
        .rfind(|(rel, _)| (fit.conftest)(rel))
        .map_or("", |(_, t)| *t);
    let name = o.fixture.as_deref().unwrap_or_default();
    let defines = |text: &str, name: &str| text.contains(&format!("def {name}("));
    if !defines(last, name) {
        return Err(format!(
            "{what} do not define `{name}`; make the change by hand: {}",
            fit.by_hand
        ));
    }
    let conftest = std::fs::read_to_string(target.join("tests/conftest.py")).unwrap_or_default();
    let mut lines = conftest.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("@pytest.fixture") {
            continue;
        }
        let Some(def) = lines.peek() else { break };
        let def = def.trim_start();
        let fixture = def
            .strip_prefix("async ")
            .unwrap_or(def)
            .strip_prefix("def ")
            .and_then(|r| r.split('(').next());
        let Some(fixture) = fixture.filter(|f| !defines(last, f)) else {
            continue;
        };
        if let Some(test) = requested_by(&target.join("tests"), fixture) {
            return Err(format!(
                "tests/conftest.py defines `{fixture}`, which `{test}` requests and {what} do not define; make the change by hand: {}",
                fit.by_hand
            ));
        }
    }
    Ok(())
}

/// The first test file under `dir` with a test function that takes `fixture` as a parameter.
fn requested_by(dir: &Path, fixture: &str) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(found) = requested_by(&path, fixture) {
                return Some(found);
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("test") && name.ends_with(".py")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().any(|l| takes(l, fixture)) {
            return Some(name);
        }
    }
    None
}

/// Whether `line` defines a test function with a parameter called `fixture`.
fn takes(line: &str, fixture: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("async ").unwrap_or(line);
    let Some(params) = line
        .strip_prefix("def test")
        .and_then(|r| r.split_once('('))
        .map(|(_, p)| p)
    else {
        return false;
    };
    params
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == fixture)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::analyze::Saving;
    use crate::suggest::profile::{CoverageUse, DjangoUse};

    fn opportunity(kind: Kind, shape: Option<Shape>, fixture: Option<&str>) -> Opportunity {
        Opportunity {
            kind,
            title: "a change".into(),
            evidence: Vec::new(),
            saving: Saving {
                low: 2.0,
                mid: 4.0,
                high: 6.0,
            },
            steps: vec!["a step".into()],
            fixture: fixture.map(str::to_string),
            share: None,
            shape,
            workers: None,
        }
    }

    /// Writes `built` into a temp dir beside a target and checks planrun's own validation.
    fn validates(built: &Built) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        let plans = dir.path().join("plans");
        std::fs::create_dir(&plans).unwrap();
        let plan = plans.join("suggested.toml");
        std::fs::write(&plan, &built.1).unwrap();
        for (rel, text) in &built.2 {
            let path = plans.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let loaded = crate::plan::load(&plan).unwrap_or_else(|e| panic!("{e:?}\n{}", built.1));
        if let Err(e) = crate::plan::validate(loaded, &[]) {
            panic!("{e:?}\n{}", built.1);
        }
        built.1.clone()
    }

    fn profile() -> Profile {
        Profile {
            command: "python -m pytest".into(),
            wall: 10.0,
            ..Profile::default()
        }
    }

    /// The coverage plan sets `core` in the file coverage read, with the gate from the prediction.
    #[test]
    fn the_coverage_plan_edits_the_file_coverage_reads() {
        let mut p = profile();
        p.coverage = Some(CoverageUse {
            tracer: "CTracer".into(),
            config_file: Some("setup.cfg".into()),
            branch: false,
            pytest_cov: true,
        });
        let o = opportunity(Kind::Coverage, None, None);
        let target = Path::new("../repo");
        let text = validates(&coverage_plan(&o, &p, target).unwrap());
        assert!(
            text.contains("  action = \"ini\"\n  path = \"setup.cfg\"\n  section = \"coverage:run\"\n  set = { core = \"sysmon\" }"),
            "{text}"
        );
        // 10 s less 2 s at the pessimistic end: 1.25x.
        assert!(text.contains("min_speedup = \"1.25\""), "{text}");
        p.coverage.as_mut().unwrap().config_file = None;
        let text = validates(&coverage_plan(&o, &p, target).unwrap());
        assert!(
            text.contains("  path = \".coveragerc\"\n  section = \"run\""),
            "{text}"
        );
        p.coverage.as_mut().unwrap().config_file = Some("/etc/coveragerc".into());
        assert!(coverage_plan(&o, &p, target).is_none());
    }

    /// The Django plan adds only the options the run lacked.
    #[test]
    fn the_django_plan_adds_the_missing_options() {
        let mut p = profile();
        p.django = Some(DjangoUse {
            reuse_db: false,
            nomigrations: true,
        });
        let o = opportunity(
            Kind::FixtureScope,
            Some(Shape::Django),
            Some("django_db_setup"),
        );
        let text = validates(&django_plan(&o, &p, Path::new("../repo")));
        assert!(text.contains("addopts_add = [\"--reuse-db\"]\n"), "{text}");
        assert!(text.contains("min_speedup = \"1.25\""), "{text}");
    }

    /// The Django demo's data migrations keep --nomigrations out of the plan; a test database
    /// in memory keeps --reuse-db out, and then the after-suite warms up as the baseline does
    /// (there is no database to create for the counted runs).
    #[test]
    fn the_django_plan_leaves_out_what_cannot_work() {
        use crate::suggest::profile::DjangoDatabase;
        let mut p = profile();
        p.django = Some(DjangoUse {
            reuse_db: false,
            nomigrations: false,
        });
        p.django_db = Some(DjangoDatabase {
            in_memory: false,
            data_migrations: vec!["shop.0004_seed_currencies".into()],
        });
        let o = opportunity(
            Kind::FixtureScope,
            Some(Shape::Django),
            Some("django_db_setup"),
        );
        let text = validates(&django_plan(&o, &p, Path::new("../repo")));
        assert!(text.contains("addopts_add = [\"--reuse-db\"]\n"), "{text}");
        assert!(text.contains("(--reuse-db); keep it only if"), "{text}");
        assert!(text.contains("  warmup = \"1\"\n"), "{text}");
        p.django_db = Some(DjangoDatabase {
            in_memory: true,
            data_migrations: Vec::new(),
        });
        let text = validates(&django_plan(&o, &p, Path::new("../repo")));
        assert!(
            text.contains("addopts_add = [\"--nomigrations\"]\n"),
            "{text}"
        );
        assert!(!text.contains("warmup = \"1\""), "{text}");
        assert_eq!(text.matches("warmup = \"${warmup}\"").count(), 2, "{text}");
    }

    /// The markers plan holds the fast profile to the prediction, and drops the seed's absolute
    /// figures (60 s, 30 s, 80% coverage) that say nothing of this suite.
    #[test]
    fn the_markers_plan_is_held_to_the_prediction() {
        let o = opportunity(Kind::Markers, None, None);
        let text = validates(&markers_plan(&o, &profile(), Path::new("../repo")));
        for gone in [
            "fast.wall.median < 30",
            "after.wall.median < 60",
            "after.coverage >= 80",
        ] {
            assert!(!text.contains(gone), "{gone}\n{text}");
        }
        assert!(text.contains("check = \"fast.wall.median <= baseline.wall.median * 0.80 and fast.failed == 0 and fast.tests > 0\""), "{text}");
        assert!(text.contains("check = \"after.wall.median <= baseline.wall.median * 1.2\""));
        assert!(
            text.contains("growing by 10 MB\"\n  on_fail = \"warn\"\n"),
            "{text}"
        );
    }

    /// The backend demo's conftests fit the backend demo; the plan written from them has no
    /// xdist phase and no worker-database template, holds the apply to the prediction, and
    /// validates (its throwaway server's script beside it).
    #[test]
    fn the_backend_plan_fits_the_backend_demo_and_validates() {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/backend-demo");
        let o = opportunity(Kind::FixtureScope, Some(Shape::Postgres), Some("engine"));
        conftest_fits(&o, &demo, &BACKEND_FIT).unwrap();
        let built = backend_plan(&o, &profile(), Path::new("../repo")).unwrap();
        let text = validates(&built);
        let rels: Vec<&str> = built.2.iter().map(|(rel, _)| rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "templates/backend/conftest.1-session-roles.py",
                "templates/backend/conftest.2-session-schema.py",
                "templates/backend/conftest.3-transaction.py",
                "templates/backend/postgres.sh"
            ]
        );
        // 10 s less 2 s at the pessimistic end: 1.25x, so 0.80 of the baseline.
        assert!(text.contains("max_time_ratio = \"0.80\""), "{text}");
        assert!(!text.contains("pytest-xdist=="), "{text}");
    }

    /// A repository without the modules the backend conftests import, or whose conftest has a
    /// fixture a test requests and the template lacks, gets no plan: a change by hand, named.
    #[test]
    fn the_backend_plan_does_not_fit_another_repository() {
        let o = opportunity(Kind::FixtureScope, Some(Shape::Postgres), Some("engine"));
        let dir = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        put("app/db.py", "");
        put("tests/fixtures.py", "");
        let why = conftest_fits(&o, dir.path(), &BACKEND_FIT).unwrap_err();
        assert!(why.contains("import `app.roles`"), "{why}");
        assert!(
            why.contains("rolled back (the backend demo's pattern)"),
            "{why}"
        );
        put("app/roles.py", "");
        put(
            "tests/conftest.py",
            "@pytest.fixture\nasync def engine(url):\n    pass\n\n@pytest.fixture\nasync def tenant(engine):\n    pass\n",
        );
        put("tests/test_t.py", "async def test_a(tenant):\n    pass\n");
        let why = conftest_fits(&o, dir.path(), &BACKEND_FIT).unwrap_err();
        assert!(
            why.contains("defines `tenant`, which `test_t.py` requests"),
            "{why}"
        );
        std::fs::remove_file(dir.path().join("tests/test_t.py")).unwrap();
        conftest_fits(&o, dir.path(), &BACKEND_FIT).unwrap();
    }

    #[test]
    fn the_gate_is_the_pessimistic_end_rounded_down() {
        assert_eq!(speedup_gate(1.379), 1.37);
        assert_eq!(speedup_gate(0.8), 1.05);
        assert_eq!(speedup_gate(12.0), 12.0);
    }

    #[test]
    fn a_test_takes_a_fixture_only_as_a_parameter() {
        assert!(takes("def test_x(db_path, manager):", "db_path"));
        assert!(takes(
            "    async def test_y(self, db_path: str):",
            "db_path"
        ));
        assert!(!takes("def test_x(db_path_factory):", "db_path"));
        assert!(!takes("def helper(db_path):", "db_path"));
        assert!(!takes("x = db_path", "db_path"));
    }
}
