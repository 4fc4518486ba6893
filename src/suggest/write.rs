//! The plan `suggest --write` writes: the bundled plan that verifies the best opportunity with a
//! plan (`xdist` for parallel workers, `persistence-demo` for a per-test SQLite file fixture
//! the demo's template fits), its gates set from the prediction and the measured baseline.
//! Opportunities no bundled plan fits are named as manual changes instead. Pure: text in, text out.

use std::path::Path;

use super::analyze::{Analysis, Kind, Opportunity, Shape};
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
            Kind::FixtureScope if o.shape == Some(Shape::SqliteFile) => {
                match persistence_fits(o, target) {
                    Ok(()) => Some(persistence_plan(o, profile, default_target)),
                    Err(why) => {
                        choice.manual.push(format!("{}: {why}", o.title));
                        None
                    }
                }
            }
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

/// A speed-up threshold from a prediction: its pessimistic end, rounded down to hundredths,
/// never below 1.05 (a change must pay for itself).
pub fn speedup_gate(speedup_low: f64) -> f64 {
    ((speedup_low * 100.0).floor() / 100.0).max(1.05)
}

fn xdist_plan(o: &Opportunity, profile: &Profile, target: &Path) -> Built {
    let plan = bundled_plan("xdist");
    let mut text = base_text(plan, &header(o, profile, plan.name), target);
    let gate = speedup_gate(o.saving.speedup_low(profile.wall));
    let workers = o.workers.map_or(2, |w| w.workers);
    let dist = o.workers.map_or("worksteal", |w| w.dist.as_str());
    text = text
        .replace(
            "min_speedup = \"1.2\"",
            &format!("min_speedup = \"{gate:.2}\""),
        )
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

fn templates(plan: &Bundled) -> Vec<(String, String)> {
    plan.templates
        .iter()
        .map(|(rel, text)| (rel.to_string(), text.to_string()))
        .collect()
}

/// Whether the persistence template can replace the target's `tests/conftest.py`: every
/// module it imports is the target's, it defines the expensive fixture, and it defines every
/// fixture the target's conftest defines (so no test loses one).
fn persistence_fits(o: &Opportunity, target: &Path) -> Result<(), String> {
    let plan = bundled_plan("persistence-demo");
    let template = plan.templates.first().map_or("", |(_, t)| t);
    for line in template.lines() {
        let Some(module) = line
            .strip_prefix("from ")
            .and_then(|r| r.split_whitespace().next())
        else {
            continue;
        };
        let top = module.split('.').next().unwrap_or(module);
        let known = ["sqlite3", "pytest", "os", "tempfile", "pathlib"];
        if !known.contains(&top)
            && !target.join(top).is_dir()
            && !target.join(format!("{top}.py")).is_file()
        {
            return Err(format!(
                "the bundled persistence plan's fixtures import `{top}`, which this repository does not have; make the change by hand: build the migrated database once per session (in memory) and give each test a copy (the persistence demo's pattern)"
            ));
        }
    }
    let name = o.fixture.as_deref().unwrap_or_default();
    let defines = |text: &str, name: &str| text.contains(&format!("def {name}("));
    if !defines(template, name) {
        return Err(format!(
            "the bundled persistence plan's fixtures do not define `{name}`; make the change by hand"
        ));
    }
    let conftest = std::fs::read_to_string(target.join("tests/conftest.py")).unwrap_or_default();
    let mut lines = conftest.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("@pytest.fixture") {
            continue;
        }
        let Some(def) = lines.peek() else { break };
        let fixture = def
            .trim_start()
            .strip_prefix("def ")
            .and_then(|r| r.split('(').next());
        let Some(fixture) = fixture.filter(|f| !defines(template, f)) else {
            continue;
        };
        if let Some(test) = requested_by(&target.join("tests"), fixture) {
            return Err(format!(
                "tests/conftest.py defines `{fixture}`, which `{test}` requests and the bundled persistence plan's conftest does not define; make the change by hand"
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
