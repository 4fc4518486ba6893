//! `planrun suggest`'s prediction accuracy: on the bundled demos and on real projects' suites
//! (PyPI sdists, tests/e2e/suggest_sdists.rs), each suggested change's predicted speed-up with
//! its interval beside the one `planrun apply` then measures: the plan `suggest --write` wrote
//! (its gates as written), and the bundled xdist plan with the suggested workers and `--dist`
//! (no speed threshold: the bench wants the measurement). A row per target also counts the
//! suite runs suggest itself cost (target: at most 2), from a `sitecustomize` on PYTHONPATH
//! that logs every `python -m pytest` process's arguments as it exits.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::measure::{self, Res};
use crate::row::{num, Figure, Row};
use crate::support::{copy_tree, planrun, python, repo_root, target_dir, tempdir, write};
use crate::Config;

#[path = "../../tests/e2e/suggest_sdists.rs"]
#[allow(dead_code)]
mod sdists;

/// The bundled demos: the persistence demo with its session tests only (17 tests, as the e2e
/// test runs it: the whole demo's profile and applies take most of an hour on a busy machine),
/// the locator demo, and xdist13 (workers that each wait for their own service).
const DEMOS: &[(&str, &[&str])] = &[
    (
        "examples/persistence-demo",
        &[
            "tests/test_containers.py",
            "tests/test_images.py",
            "tests/test_lifecycle.py",
            "tests/test_migrations.py",
            "tests/test_operations.py",
            "tests/test_ports.py",
        ],
    ),
    ("examples/locator-demo", &[]),
    ("tests/fixtures/targets/xdist13", &[]),
];

/// Logs `python -m pytest`'s arguments at exit, one JSON line per process, to $PLANRUN_BENCH_RUNS.
const COUNTER: &str = r#"import atexit, json, os, sys
def _log():
    path = os.environ.get("PLANRUN_BENCH_RUNS")
    if path and sys.argv and sys.argv[0].endswith(os.path.join("pytest", "__main__.py")):
        with open(path, "a") as out:
            out.write(json.dumps(sys.argv[1:]) + "\n")
atexit.register(_log)
"#;

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let mut targets: Vec<(String, tempfile::TempDir)> = Vec::new();
    let mut rows = Vec::new();
    let names: Vec<String> = DEMOS
        .iter()
        .map(|(d, _)| d.to_string())
        .chain(
            sdists::REAL
                .iter()
                .map(|s| format!("{} {}", s.name, s.version)),
        )
        .collect();
    if cfg.quick {
        for name in names {
            rows.push(Row::skipped(
                format!("suggest prediction accuracy on {name}"),
                "skipped in --quick: profiles and applies of real suites (minutes); run `bench/run --only suggest`",
            ));
        }
        return Ok(rows);
    }
    // `PLANRUN_BENCH_SUGGEST=persistence` (any part of a target's name): only those targets.
    let wanted = |name: &str| {
        std::env::var("PLANRUN_BENCH_SUGGEST").map_or(true, |only| name.contains(only.as_str()))
    };
    if wanted("examples/backend-demo") {
        rows.extend(backend().unwrap_or_else(|e| {
            vec![Row::failed(
                "suggest prediction accuracy on examples/backend-demo",
                e,
            )]
        }));
    }
    for (demo, drop) in DEMOS.iter().filter(|(d, _)| wanted(d)) {
        let root = tempdir()?;
        copy_tree(&repo_root().join(demo), &root.path().join("t"))?;
        for file in *drop {
            std::fs::remove_file(root.path().join("t").join(file))
                .map_err(|e| format!("remove {file}: {e}"))?;
        }
        targets.push((demo.to_string(), root));
    }
    for s in sdists::REAL.iter().filter(|s| wanted(s.name)) {
        let src = sdists::fetch(s, &target_dir(), &python());
        let root = tempdir()?;
        copy_tree(&src, &root.path().join("t"))?;
        targets.push((format!("{} {} (PyPI sdist)", s.name, s.version), root));
    }
    for (name, root) in &targets {
        match one(name, root.path(), &python(), true) {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => rows.push(Row::failed(
                format!("suggest prediction accuracy on {name}"),
                e,
            )),
        }
    }
    Ok(rows)
}

/// The Django demo in its own venv (Django 5.2, pytest-django): its test database, 30
/// migrations, is most of its run. Its own row group (`bench/run --only Django`). No xdist
/// row: pytest-xdist is not in that venv.
pub fn django_rows(cfg: &Config) -> Res<Vec<Row>> {
    let name = "examples/django-demo";
    if cfg.quick {
        return Ok(vec![Row::skipped(
            format!("suggest prediction accuracy on {name}"),
            "skipped in --quick: a profile and an apply of the Django demo's suite; run `bench/run --only Django`",
        )]);
    }
    let root = tempdir()?;
    copy_tree(&repo_root().join(name), &root.path().join("t"))?;
    Ok(
        one(name, root.path(), &django_python(), false).unwrap_or_else(|e| {
            vec![Row::failed(
                format!("suggest prediction accuracy on {name}"),
                e,
            )]
        }),
    )
}

/// The Django demo's interpreter: target/django-venv, built as the e2e test builds it.
fn django_python() -> PathBuf {
    crate::support::venv::cached_venv(
        "django-venv",
        &repo_root().join("tests/django-requirements.txt"),
    )
    .join("bin/python")
}

/// The backend demo's 42 tests of test_auth.py and test_roles.py (as its e2e test runs them) in
/// its own venv (its pinned requirements, by uv), profiled on a throwaway PostgreSQL that
/// TEST_DATABASE_URL points at, then the plan suggest wrote applied as written (it starts its
/// own server).
fn backend() -> Res<Vec<Row>> {
    let name = "examples/backend-demo (42 tests)";
    let root = tempdir()?;
    let target = root.path().join("t");
    copy_tree(&repo_root().join("examples/backend-demo"), &target)?;
    for file in ["test_projects", "test_tasks", "test_users"] {
        std::fs::remove_file(target.join(format!("tests/{file}.py")))
            .map_err(|e| format!("remove {file}: {e}"))?;
    }
    let uv = crate::support::venv::tools_venv().join("bin/uv");
    let venv = root.path().join("venv");
    let python = venv.join("bin/python");
    for cmd in [
        std::process::Command::new(&uv)
            .args(["venv", "-q", "--python", "python3"])
            .arg(&venv),
        std::process::Command::new(&uv)
            .args(["pip", "install", "-q", "--python"])
            .arg(&python)
            .arg("-r")
            .arg(target.join("requirements-dev.txt")),
    ] {
        let (timed, out) = measure::run_any(cmd)?;
        if timed.code != 0 {
            return Err(format!("the demo's venv: {}", measure::tail(&out, 10)));
        }
    }
    let script = repo_root().join("plans/templates/backend/postgres.sh");
    let dir = tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a free port: {e}"))?
        .port()
        .to_string();
    let dir_arg = dir.path().to_str().ok_or("a temp dir that is not UTF-8")?;
    let mut server = std::process::Command::new("sh")
        .arg(&script)
        .args(["start", dir_arg, &port])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("start PostgreSQL: {e}"))?;
    let ready = || {
        std::process::Command::new("sh")
            .arg(&script)
            .args(["ready", dir_arg, &port])
            .status()
            .is_ok_and(|s| s.success())
    };
    let started = std::time::Instant::now();
    while !ready() && started.elapsed().as_secs() < 180 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let url = format!("postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres");
    let profiled = one_with(
        name,
        root.path(),
        &python,
        &[("TEST_DATABASE_URL", &url)],
        false,
    );
    let _ = std::process::Command::new("sh")
        .arg(&script)
        .args(["stop", dir_arg, &port])
        .status();
    let _ = server.kill();
    let _ = server.wait();
    profiled
}

/// The predicted speed-up (estimate, pessimistic and optimistic ends) of an opportunity.
struct Predicted {
    mid: f64,
    low: f64,
    high: f64,
}

fn one(name: &str, root: &Path, python: &Path, xdist: bool) -> Res<Vec<Row>> {
    one_with(name, root, python, &[], xdist)
}

/// [`one`] with the suite's interpreter and environment variables of its own; with `env` (a
/// server only the profile can reach) or without `xdist` the xdist row is left out.
fn one_with(
    name: &str,
    root: &Path,
    py: &Path,
    env: &[(&str, &str)],
    xdist: bool,
) -> Res<Vec<Row>> {
    let target = root.join("t");
    // The xdist plan is applied to a copy as it was: the written plan's apply may keep its change.
    let pristine = root.join("t-xdist");
    copy_tree(&target, &pristine)?;
    let hook = root.join("hook");
    write(&hook.join("sitecustomize.py"), COUNTER)?;
    let runs_log = root.join("runs.jsonl");
    let plan = root.join("plans/suggested.toml");
    let mut cmd = planrun(&["suggest", "--json", "--var"]);
    cmd.arg(format!("python={}", py.display()))
        .envs(env.iter().copied())
        .arg("--target")
        .arg(&target)
        .arg("--write")
        .arg(&plan)
        .env("PYTHONPATH", &hook)
        .env("PLANRUN_BENCH_RUNS", &runs_log);
    let (timed, output) = measure::run_any(&mut cmd)?;
    if timed.code != 0 {
        return Err(format!(
            "planrun suggest exited {}:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    }
    let start = output.find('{').ok_or("suggest printed no JSON")?;
    let end = output.rfind('}').ok_or("suggest printed no JSON")?;
    let report: Value =
        serde_json::from_str(&output[start..=end]).map_err(|e| format!("parse: {e}"))?;
    let wall = report["profile"]["wall"]
        .as_f64()
        .ok_or("no profile wall")?;
    let mut rows = vec![runs_row(name, &runs_log, timed.wall, &report)?];
    // The plan suggest wrote, as written.
    if let Some(from) = report["plan_from"].as_str() {
        let top = report["opportunities"]
            .as_array()
            .and_then(|os| os.iter().find(|o| written_for(o, from)))
            .ok_or("a plan was written for no opportunity")?;
        let s = &top["saving"];
        let speedup = |saved: f64| wall / (wall - saved).max(1e-9);
        let predicted = Predicted {
            mid: speedup(s["mid"].as_f64().unwrap_or(f64::NAN)),
            low: speedup(s["low"].as_f64().unwrap_or(f64::NAN)),
            high: speedup(s["high"].as_f64().unwrap_or(f64::NAN)),
        };
        let kind = top["kind"].as_str().unwrap_or("?").to_string();
        rows.push(applied(
            &format!("suggest: {kind} (plan `{from}` as written) on {name}"),
            &plan,
            &target,
            &root.join("report-written"),
            py,
            &[],
            &predicted,
        )?);
    }
    if !env.is_empty() {
        return Ok(rows);
    }
    // Parallel workers, whatever the verdict on speed: the prediction is always made.
    if let Some(best) = report["parallel"]
        .as_array()
        .filter(|_| xdist)
        .and_then(|ps| {
            let mid = |p: &Value| p["mid"].as_f64().unwrap_or(f64::INFINITY);
            ps.iter().min_by(|a, b| mid(a).total_cmp(&mid(b)))
        })
    {
        let f = |k: &str| best[k].as_f64().unwrap_or(f64::NAN);
        let predicted = Predicted {
            mid: wall / f("mid"),
            low: wall / f("high"),
            high: wall / f("low"),
        };
        let workers = best["workers"].as_u64().unwrap_or(2);
        let dist = best["dist"].as_str().unwrap_or("worksteal").to_string();
        if report["plan_from"].as_str() != Some("xdist") {
            let text = std::fs::read_to_string(repo_root().join("plans/xdist.toml"))
                .map_err(|e| format!("read plans/xdist.toml: {e}"))?
                .replace(
                    "\"--dist\", \"worksteal\"",
                    &format!("\"--dist\", \"{dist}\""),
                )
                .replace("default_target = \"../examples/persistence-demo\"\n", "");
            let xdist = root.join("xdist.toml");
            write(&xdist, text)?;
            rows.push(applied(
                &format!("suggest: parallel-workers (-n {workers} --dist {dist}) on {name}"),
                &xdist,
                &pristine,
                &root.join("report-xdist"),
                py,
                &[
                    format!("maxprocesses={workers}"),
                    "min_speedup=0.01".to_string(),
                ],
                &predicted,
            )?);
        }
    }
    Ok(rows)
}

/// Whether opportunity `o` is the one a plan from bundled plan `from` verifies.
fn written_for(o: &Value, from: &str) -> bool {
    let kind = o["kind"].as_str().unwrap_or_default();
    match from {
        "xdist" => kind == "parallel-workers",
        "coverage-sysmon" => kind == "coverage",
        "budgets-warn" => kind == "markers",
        _ => kind == "fixture-scope",
    }
}

/// How many suite runs suggest cost, from the counter's log: `python -m pytest` processes that
/// were neither the `--collect-only` warm-up nor xdist's start-up probe (`-k` selecting no test).
fn runs_row(name: &str, log: &Path, wall: f64, report: &Value) -> Res<Row> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (mut suite, mut other) = (0, 0);
    for line in text.lines() {
        let args: Vec<String> = serde_json::from_str(line).unwrap_or_default();
        if args.iter().any(|a| a == "--collect-only")
            || args.iter().any(|a| a == "planrun_suggest_selects_no_test")
        {
            other += 1;
        } else {
            suite += 1;
        }
    }
    let little = report["little_to_gain"].as_bool() == Some(true);
    Ok(Row::new(
        format!("suggest prediction accuracy on {name}: suggest's own cost"),
        Figure::s(&[wall]),
    )
    .ratio_text(format!(
        "{suite} suite runs, {other} collect-only or start-up probes; {}",
        if little {
            "little to gain".to_string()
        } else {
            format!(
                "{} opportunities",
                report["opportunities"].as_array().map_or(0, Vec::len)
            )
        }
    ))
    .reps("1")
    .target("at most 2 suite runs", suite <= 2))
}

/// Applies `plan` to `target` and compares the measured speed-up (baseline over after wall
/// medians) with the prediction.
fn applied(
    what: &str,
    plan: &Path,
    target: &Path,
    report_dir: &Path,
    python: &Path,
    vars: &[String],
    predicted: &Predicted,
) -> Res<Row> {
    let mut apply = planrun(&["apply"]);
    apply
        .arg(plan)
        .arg("--target")
        .arg(target)
        .arg("--report-dir")
        .arg(report_dir)
        .args(["--var", &format!("python={}", python.display())])
        // Two runs a side: "auto" takes up to ten pairs on a change near 1x, and the bench
        // has seven targets.
        .args(["--var", "runs=2"]);
    for v in vars {
        apply.args(["--var", v]);
    }
    let (timed, output) = measure::run_any(&mut apply)?;
    if !matches!(timed.code, 0 | 1 | 7) {
        return Err(format!(
            "planrun apply exited {}:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    }
    let report: Value = serde_json::from_str(&measure::read(&report_dir.join("report.json"))?)
        .map_err(|e| format!("parse report.json: {e}"))?;
    let median = |record: &str| report["records"][record]["wall"]["median"].as_f64();
    // The markers plan's change is the fast profile, measured as `fast`.
    let after = median("fast").or_else(|| median("after"));
    let (Some(before), Some(after)) = (median("baseline"), after) else {
        return Err("report.json has no baseline or after wall".into());
    };
    let measured = before / after;
    let inside = (predicted.low..=predicted.high).contains(&measured);
    let within = (predicted.mid / measured - 1.0).abs() <= 0.25;
    Ok(Row::new(what.to_string(), Figure::s(&[after]))
        .peer("baseline wall", Figure::s(&[before]))
        .ratio_text(format!(
            "predicted {}x ({} to {}), measured {}x; apply exit {}",
            num(predicted.mid),
            num(predicted.low),
            num(predicted.high),
            num(measured),
            timed.code
        ))
        .reps("2+2")
        .target(
            "measured within 25% of predicted, or inside the interval",
            inside || within,
        ))
}
