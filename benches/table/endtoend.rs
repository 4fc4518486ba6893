//! The seed plans end to end, as planrun reports them in report.json: the persistence plan on
//! its demo and the xdist plan on the slow (waiting) demo; and the floor of the optimized
//! suite, the demo after the rewrite against pytest running as many empty tests.

use std::path::Path;

use serde_json::Value;

use crate::measure::{self, Ctx, Res};
use crate::row::{num, Figure, Row};
use crate::support::{self, copy_tree, planrun, repo_root, tempdir, write};
use crate::Config;

/// One seed plan applied to a fresh copy of its demo.
struct Case {
    plan: &'static str,
    demo: &'static str,
    /// `--var`s beyond the plan's defaults.
    vars: &'static [&'static str],
    /// The speed-up the row must show, if it has a target.
    min_speedup: Option<f64>,
}

const PERSISTENCE: Case = Case {
    plan: "persistence-demo.toml",
    demo: "examples/persistence-demo",
    vars: &[],
    min_speedup: Some(20.0),
};

/// The slow demo of the xdist test: 12 tests that wait 1.25 s each, so two workers halve it
/// even while other programs keep the cores busy.
const XDIST: Case = Case {
    plan: "xdist.toml",
    demo: "tests/fixtures/targets/iowait",
    vars: &["maxprocesses=2"],
    min_speedup: None,
};

pub fn persistence(cfg: &Config) -> Res<Vec<Row>> {
    case(cfg, &PERSISTENCE)
}

pub fn xdist(cfg: &Config) -> Res<Vec<Row>> {
    case(cfg, &XDIST)
}

fn case(cfg: &Config, case: &Case) -> Res<Vec<Row>> {
    let name = format!("end to end: plans/{} on {}", case.plan, case.demo);
    if cfg.quick {
        return Ok(vec![Row::skipped(
            name,
            "skipped in --quick: the plan measures a real suite several times (minutes); run `bench/run`",
        )]);
    }
    let root = tempdir()?;
    let target = root.path().join("demo");
    copy_tree(&repo_root().join(case.demo), &target)?;
    let report_dir = root.path().join("report");
    let mut cmd = planrun(&["apply"]);
    cmd.arg(repo_root().join("plans").join(case.plan))
        .arg("--target")
        .arg(&target)
        .arg("--report-dir")
        .arg(&report_dir);
    for var in case.vars {
        cmd.args(["--var", var]);
    }
    let (timed, output) = measure::run_any(&mut cmd)?;
    let report: Value = serde_json::from_str(&measure::read(&report_dir.join("report.json"))?)
        .ctx("parse report.json")?;
    let status = report["status"].as_str().unwrap_or("?").to_string();
    let gates = report["gates"].as_array().map_or(&[][..], Vec::as_slice);
    let passed = gates.iter().filter(|g| g["status"] == "pass").count();
    if !matches!(timed.code, 0 | 1 | 7) {
        return Err(format!(
            "planrun apply exited {}:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    }
    let (baseline, after) = (counted(&report, "baseline")?, counted(&report, "after")?);
    let row = Row::new(
        format!(
            "{name}: suite wall after vs baseline ({status}, {passed}/{} gates)",
            gates.len()
        ),
        Figure::s(&after),
    )
    .peer("baseline", Figure::s(&baseline));
    let speedup = 1.0 / row.ratio();
    let row = row.ratio_text(format!("{}x faster", num(speedup)));
    let row = match case.min_speedup {
        Some(min) => row.target(format!("≥ {min}x faster"), speedup >= min),
        None => row.target("gates pass", status == "passed"),
    };
    let floor = median(&baseline) + median(&after);
    let apply = Row::new(
        format!("{name}: whole apply (venv, installs, warmups, every run)"),
        Figure::s(&[timed.wall]),
    )
    .peer(
        "floor: one baseline run + one after run (medians)",
        Figure::s(&[floor]),
    )
    .reps("1");
    Ok(vec![row, apply])
}

/// The wall seconds of a record's counted runs (warmups an adaptive suite promoted included).
fn counted(report: &Value, record: &str) -> Res<Vec<f64>> {
    let samples = report["records"][record]["samples"]
        .as_array()
        .ok_or(format!("report.json has no record `{record}`"))?;
    Ok(samples
        .iter()
        .filter(|s| s["warmup"] != true || s["promoted"] == true)
        .filter_map(|s| s["wall"].as_f64())
        .collect())
}

fn median(xs: &[f64]) -> f64 {
    planrun::measure::stats::median(xs).unwrap_or(f64::NAN)
}

/// The persistence demo after the plan's rewrite against a project of as many empty tests
/// under the same pytest configuration, both run the same way with the same interpreter.
pub fn floor(cfg: &Config) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let demo = repo_root().join(PERSISTENCE.demo);
    let after = root.path().join("after");
    copy_tree(&demo, &after)?;
    let template = measure::read(&repo_root().join("plans/templates/persistence/conftest.py"))?;
    write(&after.join("tests/conftest.py"), template)?;
    let tests = collected(&after)?;
    let empty = root.path().join("empty");
    write(
        &empty.join("pytest.ini"),
        measure::read(&demo.join("pytest.ini"))?,
    )?;
    let body: String = (0..tests)
        .map(|i| format!("\ndef test_{i}():\n    pass\n"))
        .collect();
    write(&empty.join("tests/test_empty.py"), body)?;
    let reps = if cfg.quick { 3 } else { 10 };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    // One warmup each (bytecode compiled, files cached), then interleaved runs.
    for rep in 0..=reps {
        for (dir, into) in [(&after, &mut ours), (&empty, &mut theirs)] {
            let wall = measure::run(&mut pytest(dir))?.wall;
            if rep > 0 {
                into.push(wall);
            }
        }
    }
    let row = Row::new(
        format!("floor: persistence demo after the plan ({tests} tests), pytest wall"),
        Figure::s(&ours),
    )
    .peer(
        format!("pytest running {tests} empty tests"),
        Figure::s(&theirs),
    );
    let ratio = row.ratio();
    Ok(vec![row.target("≤ 1.3x the empty tests", ratio <= 1.3)])
}

fn pytest(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(support::python());
    cmd.args(["-m", "pytest"]).current_dir(dir);
    cmd
}

/// How many tests pytest collects in `dir`.
fn collected(dir: &Path) -> Res<usize> {
    let (timed, out) = measure::run_any(pytest(dir).args(["--collect-only", "-q"]))?;
    if timed.code != 0 {
        return Err(format!(
            "pytest --collect-only failed:\n{}",
            measure::tail(&out, 10)
        ));
    }
    // With the demo's own `-q` this is `-qq`: one `path: N` line per file.
    let counts: Vec<usize> = out
        .lines()
        .filter_map(|l| l.rsplit_once(": ")?.1.trim().parse().ok())
        .collect();
    if counts.is_empty() {
        return Err(format!(
            "no test count in pytest's output:\n{}",
            measure::tail(&out, 5)
        ));
    }
    Ok(counts.iter().sum())
}
