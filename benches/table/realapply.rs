//! One real apply as the verdict rows read it (its speed gate's verdict, ratio, interval and
//! pairs, its time to verdict and wall time, from report.json), and the floors it is held
//! against: the work no apply can skip, timed directly.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::measure::{self, Ctx, Res};
use crate::row::num;
use crate::support::{self, copy_tree, planrun, repo_root, tempdir, write};

/// What one apply decided and what it took.
pub struct Applied {
    /// The exit code.
    pub code: i32,
    /// The speed gate's verdict: `pass`, `fail`, `inconclusive`, ...
    pub verdict: String,
    /// after / baseline, the gate's estimate, and its interval.
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    /// `interleaved` or `sequential`, and the pairs taken.
    pub mode: String,
    pub pairs: u64,
    /// Counted runs of each side (after, baseline).
    pub runs: (u64, u64),
    /// Seconds from the apply's start to the end of the step whose record the gate judges.
    pub to_verdict: f64,
    /// The whole apply, spawn to exit.
    pub wall: f64,
}

impl Applied {
    /// What the tally counts it as.
    pub fn outcome(&self) -> &'static str {
        match (self.code, self.verdict.as_str()) {
            (0, "pass") => "kept",
            (_, "inconclusive") => "inconclusive",
            (_, "fail") => "rolled back",
            _ => "other",
        }
    }

    /// `pass: 1.31x faster (99% CI 1.12-1.53x), 4 pairs interleaved (5+5 runs)`.
    pub fn said(&self) -> String {
        format!(
            "{}: {}x faster (99% CI {}-{}x), {} {} pairs ({}+{} runs)",
            self.verdict,
            num(1.0 / self.ratio),
            num(1.0 / self.high),
            num(1.0 / self.low),
            self.pairs,
            self.mode,
            self.runs.1,
            self.runs.0,
        )
    }
}

/// Applies `plan` (under plans/) to `target` with `vars`, and reads its speed gate.
pub fn apply(plan: &str, target: &Path, vars: &[String]) -> Res<Applied> {
    let report_dir = target.with_extension("report");
    let mut cmd = planrun(&["apply"]);
    cmd.arg(repo_root().join("plans").join(plan))
        .arg("--target")
        .arg(target)
        .arg("--report-dir")
        .arg(&report_dir);
    for var in vars {
        cmd.args(["--var", var]);
    }
    let (timed, output) = measure::run_any(&mut cmd)?;
    let report: Value = serde_json::from_str(&measure::read(&report_dir.join("report.json"))?)
        .ctx("parse report.json")?;
    let gates = report["gates"].as_array().map_or(&[][..], Vec::as_slice);
    let Some(gate) = gates.iter().find(|g| g["intervals"].as_array().is_some()) else {
        return Err(format!(
            "planrun apply exited {} with no speed verdict:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    };
    let interval = &gate["intervals"][0];
    let num_record = interval["ratio"]
        .as_str()
        // `after/baseline wall.median`: the numerator's record comes first.
        .and_then(|r| r.split(['/', '.', ' ']).next())
        .unwrap_or("after")
        .to_string();
    let comparison = &report["records"][&num_record]["comparison"];
    let step_end = report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["id"] == "after" || s["id"] == num_record.as_str())
        .filter_map(|s| Some(s["started_s"].as_f64()? + s["duration_s"].as_f64()?))
        .fold(f64::NAN, f64::max);
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    Ok(Applied {
        code: timed.code,
        verdict: gate["status"].as_str().unwrap_or("?").to_string(),
        ratio: f(&interval["estimate"]),
        low: f(&interval["low"]),
        high: f(&interval["high"]),
        mode: comparison["mode"]
            .as_str()
            .unwrap_or("sequential")
            .to_string(),
        pairs: comparison["pairs"].as_u64().unwrap_or(0),
        runs: (
            interval["runs_num"].as_u64().unwrap_or(0),
            interval["runs_den"].as_u64().unwrap_or(0),
        ),
        to_verdict: step_end,
        wall: timed.wall,
    })
}

/// A fresh copy of the repository's `demo` in its own temporary directory.
pub fn copy(demo: &str) -> Res<(tempfile::TempDir, PathBuf)> {
    let root = tempdir()?;
    let target = root.path().join("demo");
    copy_tree(&repo_root().join(demo), &target)?;
    Ok((root, target))
}

/// `uv <args>` in `dir`, from the test venv with the shared cache.
pub fn uv(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(support::venv::uv());
    cmd.args(args)
        .current_dir(dir)
        .env("PATH", support::venv::env_path())
        .env("UV_CACHE_DIR", support::venv::uv_cache_dir());
    cmd
}

/// A `.venv` in `dir` with `packages`, as planrun's `install` step makes one (uv, warm cache).
pub fn venv(dir: &Path, packages: &[&str]) -> Res<f64> {
    let venv = measure::run(&mut uv(dir, &["venv", "-q", ".venv"]))?.wall;
    let mut args = vec!["pip", "install", "-q", "--python", ".venv/bin/python"];
    args.extend_from_slice(packages);
    Ok(venv + measure::run(&mut uv(dir, &args))?.wall)
}

/// The persistence plan's unavoidable work, timed directly on a fresh copy of its demo: the
/// install, one run of the suite as it is, and one run after the rewrite.
pub struct Floor {
    pub install: f64,
    pub baseline: f64,
    pub after: f64,
}

impl Floor {
    pub fn total(&self) -> f64 {
        self.install + self.baseline + self.after
    }
}

pub fn persistence_floor() -> Res<Floor> {
    let (_root, dir) = copy("examples/persistence-demo")?;
    let install = venv(&dir, &["pytest>=8", "pytest-reverse>=1.7"])?;
    let suite = |dir: &Path| -> Res<f64> {
        let mut cmd = Command::new(dir.join(".venv/bin/python"));
        cmd.args(["-m", "pytest", "--durations=10"])
            .current_dir(dir);
        Ok(measure::run(&mut cmd)?.wall)
    };
    let baseline = suite(&dir)?;
    let template = measure::read(&repo_root().join("plans/templates/persistence/conftest.py"))?;
    write(&dir.join("tests/conftest.py"), template)?;
    let after = suite(&dir)?;
    Ok(Floor {
        install,
        baseline,
        after,
    })
}
