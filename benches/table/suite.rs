//! How accurate and how cheap a timed suite is: its `wall.median` against hyperfine's on the
//! same pytest command, in interleaved rounds, and the memory sampler's own CPU cost.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use planrun::measure::suite::{run_suite, SuiteSpec};
use planrun::plan::model::Framework;
use planrun::process::{self, CommandSpec, Control};

use crate::measure::{self, Ctx, Res};
use crate::row::{Figure, Row, Unit};
use crate::support::{self, tempdir, write};
use crate::Config;

/// A small real pytest suite whose 10 tests wait 0.1 s each, like tests of a slow service: the
/// accuracy of the timing shows, rather than how much CPU other programs left this one.
fn pytest_project(dir: &Path) -> Res<()> {
    write(
        &dir.join("pytest.ini"),
        "[pytest]\naddopts = -q -p no:cacheprovider\n",
    )?;
    let tests: String = (0..10)
        .map(|i| format!("\ndef test_{i}():\n    time.sleep(0.1)\n"))
        .collect();
    write(
        &dir.join("tests/test_wait.py"),
        format!("import time\n{tests}"),
    )
}

pub fn accuracy(cfg: &Config) -> Res<Vec<Row>> {
    let what = "suite timing: `wall.median` of a pytest run (10 tests, 0.1 s wait each)";
    let Some(hyperfine) = support::which("hyperfine") else {
        return Ok(vec![Row::skipped(
            what,
            "hyperfine is not installed (bench/run installs Debian's `hyperfine` package)",
        )]);
    };
    let root = tempdir()?;
    pytest_project(root.path())?;
    let command = format!("{} -m pytest", support::python().display());
    // Many short rounds, alternating: on a shared machine the load changes within seconds, and
    // alternating often spreads it over every side alike. Only the first round warms up.
    let (rounds, runs) = if cfg.quick { (4, 2) } else { (12, 2) };
    let mut spec = SuiteSpec {
        command: command.clone(),
        cwd: root.path().to_path_buf(),
        env: Vec::new(),
        warmup: 1,
        warmup_collect: false,
        runs,
        max_runs: None,
        auto_timeout: None,
        max_time: None,
        // The very command hyperfine runs, with no `--junitxml` added.
        framework: Framework::Command,
        timeout: None,
        log_dir: root.path().join("logs"),
        junit_dir: root.path().join("junit"),
        record: "bench".to_string(),
        budgets: Vec::new(),
        coverage: None,
        shards: None,
    };
    let (mut ours, mut theirs, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let record = run_suite(&spec, &Control::default(), &mut |_| {}).ctx("run the suite")?;
        ours.extend(
            record
                .samples
                .iter()
                .filter(|s| !s.warmup || s.promoted)
                .map(|s| s.wall),
        );
        let warmup = u32::from(round == 0);
        theirs.extend(hyperfine_times(
            &hyperfine,
            root.path(),
            &command,
            warmup,
            runs,
        )?);
        for _ in 0..runs {
            let mut sh = Command::new("/bin/sh");
            sh.args(["-c", &command]).current_dir(root.path());
            plain.push(measure::run(&mut sh)?.wall);
        }
        spec.warmup = 0;
    }
    let version = support::version(&hyperfine)?;
    let row = Row::new(what, Figure::s(&ours))
        .peer(format!("{version}, same command"), Figure::s(&theirs));
    let ratio = row.ratio();
    let within = "within 3 % (0.97–1.03x)";
    let rows = vec![
        row.target(within, (0.97..=1.03).contains(&ratio)),
        Row::new(what, Figure::s(&ours)).peer(
            "a plain spawn-and-wait loop (`/bin/sh -c`, `wait4`)",
            Figure::s(&plain),
        ),
    ];
    Ok(rows)
}

/// hyperfine's run times of `command` after `warmup` runs, from its JSON export.
fn hyperfine_times(
    hyperfine: &Path,
    dir: &Path,
    command: &str,
    warmup: u32,
    runs: u32,
) -> Res<Vec<f64>> {
    let json = dir.join("hyperfine.json");
    measure::run(
        Command::new(hyperfine)
            .current_dir(dir)
            .args([
                "--warmup",
                &warmup.to_string(),
                "--runs",
                &runs.to_string(),
                "--style",
                "none",
            ])
            .arg("--export-json")
            .arg(&json)
            .arg(command),
    )?;
    let value: serde_json::Value =
        serde_json::from_str(&measure::read(&json)?).ctx("parse hyperfine's JSON")?;
    let times = value["results"][0]["times"]
        .as_array()
        .ok_or("hyperfine's JSON has no times")?;
    Ok(times.iter().filter_map(serde_json::Value::as_f64).collect())
}

/// planrun's own CPU (all its threads) while it runs a `sleep`, as % of the wall, with the
/// memory sampler on against off.
pub fn sampler(cfg: &Config) -> Res<Vec<Row>> {
    let dir = tempdir()?;
    let (reps, secs) = if cfg.quick { (1, 2) } else { (3, 5) };
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        for (sample_rss, into) in [(true, &mut on), (false, &mut off)] {
            let spec = CommandSpec::new(
                format!("sleep {secs}"),
                dir.path(),
                dir.path().join("sleep.log"),
            );
            let before = self_cpu();
            let start = Instant::now();
            process::run(&spec, &Control::default(), sample_rss).ctx("run sleep")?;
            let wall = start.elapsed();
            let cpu = self_cpu().saturating_sub(before);
            into.push(cpu.as_secs_f64() / wall.as_secs_f64() * 100.0);
        }
    }
    let row = Row::new(
        format!("memory sampler's CPU while a suite runs (`sleep {secs}`, 50 ms interval)"),
        Figure::new(Unit::Pct, on),
    )
    .peer("sampler off", Figure::new(Unit::Pct, off))
    .ratio_text("");
    let median = row.median();
    Ok(vec![row.target("< 1 % of a core", median < 1.0)])
}

/// User + system CPU time of this process, every thread included.
fn self_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::from_micros((t.tv_sec * 1_000_000 + t.tv_usec) as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
