//! How accurate and how cheap a timed suite is: its `wall.median` against hyperfine's (or a
//! minimal spawn-and-wait loop when hyperfine is missing), and the sampler's own CPU cost.
//!
//! Targets (issue 4): the median within 3 % of hyperfine's, the sampler under 1 % CPU.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use planrun::measure::stats;
use planrun::measure::suite::{run_suite, SuiteSpec};
use planrun::plan::model::Framework;
use planrun::process::{self, CommandSpec, Control};

const RUNS: u32 = 10;

/// Rounds of (planrun, hyperfine, spawn loop); interleaving them spreads the load of a shared
/// machine evenly over the three.
const ROUNDS: usize = 3;

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // CPU-bound commands are at the mercy of whatever else runs; the load says how much did.
    println!("load average before: {}", load_average());
    println!("accuracy: median of {ROUNDS} interleaved rounds, each {RUNS} runs after 1 warmup");
    let busy = "python3 -c 'import time\nt = time.time()\nwhile time.time() - t < 0.3: pass'";
    for command in ["sleep 0.2", busy] {
        accuracy(dir.path(), command);
    }
    println!();
    println!("sampler cost: planrun's own CPU while a 5 s `sleep` runs");
    for sample_rss in [false, true] {
        overhead(dir.path(), sample_rss);
    }
    println!("load average after: {}", load_average());
}

/// The 1, 5 and 15 minute load averages, as the kernel reports them.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints planrun's median and min, hyperfine's and the spawn loop's for `command`, and the
/// differences. The min is the figure least moved by other programs on a shared machine.
fn accuracy(dir: &Path, command: &str) {
    let spec = SuiteSpec {
        command: command.to_string(),
        cwd: dir.to_path_buf(),
        env: Vec::new(),
        warmup: 1,
        runs: RUNS,
        max_runs: None,
        auto_timeout: None,
        max_time: None,
        framework: Framework::Command,
        timeout: None,
        log_dir: dir.join("logs"),
        junit_dir: dir.join("junit"),
        record: "bench".to_string(),
        budgets: Vec::new(),
        coverage: None,
    };
    let (mut ours, mut hyperfine, mut spawn_loop) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let record = run_suite(&spec, &Control::default(), &mut |_| {}).expect("suite runs");
        ours.push((record.wall.median, record.wall.min));
        hyperfine.extend(hyperfine_stats(dir, command));
        spawn_loop.extend(loop_stats(command));
    }
    let label = command.lines().next().unwrap_or(command);
    println!("  {label}");
    let Some((median, min)) = combine(&ours) else {
        return;
    };
    println!("    planrun    median {median:.4} s   min {min:.4} s");
    for (name, rounds) in [("hyperfine", hyperfine), ("spawn loop", spawn_loop)] {
        let Some((ref_median, ref_min)) = combine(&rounds) else {
            println!("    {name:<10} not available");
            continue;
        };
        let diff = |ours: f64, theirs: f64| (ours - theirs) / theirs * 100.0;
        println!(
            "    {name:<10} median {ref_median:.4} s   min {ref_min:.4} s   planrun differs by \
             {:+.2} % (median), {:+.2} % (min)",
            diff(median, ref_median),
            diff(min, ref_min)
        );
    }
}

/// The median of the rounds' medians and the smallest of their minimums.
fn combine(rounds: &[(f64, f64)]) -> Option<(f64, f64)> {
    let medians: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let mins: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    Some((stats::median(&medians)?, stats::min(&mins)?))
}

/// hyperfine's median and min for `command`, when hyperfine is installed.
fn hyperfine_stats(dir: &Path, command: &str) -> Option<(f64, f64)> {
    let json = dir.join("hyperfine.json");
    let runs = RUNS.to_string();
    let status = Command::new("hyperfine")
        .args(["--warmup", "1", "--runs", &runs, "--style", "none"])
        .arg("--export-json")
        .arg(&json)
        .arg(command)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let text = std::fs::read_to_string(&json).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let result = &value["results"][0];
    Some((result["median"].as_f64()?, result["min"].as_f64()?))
}

/// Median and min of a minimal hyperfine-like loop: spawn `sh -c`, wait, time it.
fn loop_stats(command: &str) -> Option<(f64, f64)> {
    let mut walls = Vec::new();
    for i in 0..=RUNS {
        let start = Instant::now();
        let status = Command::new("sh").args(["-c", command]).status();
        let wall = start.elapsed().as_secs_f64();
        // Run 0 is the warmup.
        if i > 0 && status.is_ok_and(|s| s.success()) {
            walls.push(wall);
        }
    }
    Some((stats::median(&walls)?, stats::min(&walls)?))
}

/// Prints planrun's CPU time (all its threads) while it runs `sleep 5`, as % of the wall.
fn overhead(dir: &Path, sample_rss: bool) {
    let spec = CommandSpec::new("sleep 5", dir, dir.join("logs/overhead.log"));
    let before = self_cpu();
    let start = Instant::now();
    let outcome = process::run(&spec, &Control::default(), sample_rss).expect("sleep runs");
    let wall = start.elapsed();
    let cpu = self_cpu().saturating_sub(before);
    let share = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
    println!(
        "  rss sampling {:<3}  cpu {:>6.1} ms over {:.2} s wall = {share:.3} %  (peak {:?} KiB)",
        if sample_rss { "on" } else { "off" },
        cpu.as_secs_f64() * 1000.0,
        wall.as_secs_f64(),
        outcome.rss_peak_kb
    );
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
