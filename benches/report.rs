//! The HTML report of a large suite stays usable: 5,000 tests x 10 runs in each of two records
//! (a baseline and an after that made most tests faster), every run with a full memory series.
//!
//! Prints the size of report.html (target: under 5 MB) and how long headless Chromium takes to
//! open it (target: under 1 s), measured two ways: on the page's own clock (navigation start to
//! the load event with the layout done, from a copy of the page with a timing script added, as
//! the real page allows no script), and as the wall time of a screenshot of it less that of an
//! empty page (start-up excluded, painting included). Also the time to render the page and the
//! size of report.json. `PLANRUN_BENCH_TESTS` and `PLANRUN_BENCH_RUNS` change the suite;
//! `PLANRUN_BENCH_KEEP=DIR` keeps the files there.

#[path = "../tests/integration/support/browser.rs"]
mod browser;

use std::time::{Duration, Instant};

use planrun::measure::junit::{Counts, Outcome, TestResult};
use planrun::measure::record::{Record, RunResult, RunSample};
use planrun::plan::model::Framework;
use planrun::process::Status;
use planrun::report::model::{RunReport, RunStatus};

const TESTS: usize = 5_000;
const RUNS: usize = 10;
const SIZE_TARGET: usize = 5 * 1024 * 1024;
const OPEN_TARGET: Duration = Duration::from_secs(1);
/// Browser runs per figure; the median is printed.
const VISITS: usize = 3;

/// A small fixed-seed generator (splitmix64), so the page is the same on every run.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A pytest-like id: module, class and a parameter, about 70 characters.
fn test_id(n: usize) -> String {
    format!(
        "tests/service_{:02}/test_orders_{:03}.py::TestCheckout::test_total_with_discount[case-{n}]",
        n % 37,
        n % 211
    )
}

/// Typical seconds of `tests` tests: most a few milliseconds, a long tail up to a second.
fn typical_times(tests: usize, rng: &mut Rng) -> Vec<f64> {
    (0..tests)
        .map(|_| 0.002 * (1.0 + 400.0 * rng.uniform().powi(6)))
        .collect()
}

/// One record of `runs` runs (the first a warmup) of tests whose typical seconds are `typical`,
/// each run's time within 10% of it.
fn record(typical: &[f64], runs: usize, rng: &mut Rng) -> Record {
    let results: Vec<RunResult> = (0..runs)
        .map(|i| {
            let tests: Vec<TestResult> = typical
                .iter()
                .enumerate()
                .map(|(n, t)| TestResult {
                    id: test_id(n),
                    outcome: Outcome::Passed,
                    time: t * (0.9 + 0.2 * rng.uniform()),
                    ..TestResult::default()
                })
                .collect();
            let wall = tests.iter().map(|t| t.time).sum::<f64>() + 1.5;
            let memory = (0..240)
                .map(|k| {
                    let at = wall * k as f64 / 240.0;
                    [at, 90.0 + 60.0 * (k as f64 / 240.0) + 5.0 * rng.uniform()]
                })
                .collect();
            let count = tests.len() as u64;
            RunResult {
                sample: RunSample {
                    warmup: i == 0,
                    promoted: false,
                    wall,
                    cpu_user: wall * 0.9,
                    cpu_system: wall * 0.05,
                    rss_peak_mb: Some(160.0),
                    status: Status::Exited(0),
                    exit_code: 0,
                    counts: Some(Counts {
                        passed: count,
                        failed: 0,
                        skipped: 0,
                        errors: 0,
                        tests: count,
                    }),
                    log: format!(".planrun/runs/bench/logs/run-{i}.log").into(),
                    memory,
                    pair: None,
                },
                tests,
                warnings: Vec::new(),
                extras: Default::default(),
            }
        })
        .collect();
    Record::from_runs("python -m pytest", Framework::Pytest, results, 2)
        .unwrap_or_else(|| panic!("a record from {runs} runs"))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let tests = env_count("PLANRUN_BENCH_TESTS", TESTS);
    let runs = env_count("PLANRUN_BENCH_RUNS", RUNS).max(1);
    let mut rng = Rng(15);
    let mut report = RunReport {
        format_version: 1,
        run_id: "bench".into(),
        status: RunStatus::Passed,
        duration_s: 60.0,
        ..RunReport::default()
    };
    // The baseline counts `runs` runs after a warmup, like the after.
    let before = typical_times(tests, &mut rng);
    // Most tests got four times faster; every tenth got slower.
    let after: Vec<f64> = before
        .iter()
        .enumerate()
        .map(|(n, t)| if n % 10 == 3 { t * 1.4 } else { t / 4.0 })
        .collect();
    let baseline = record(&before, runs + 1, &mut rng);
    let after = record(&after, runs + 1, &mut rng);
    report.records.insert("baseline".into(), baseline);
    report.records.insert("after".into(), after);

    let started = Instant::now();
    let html = planrun::report::html::to_html(&report);
    let render = started.elapsed();
    let json = planrun::report::json::to_json(&report);
    let size_ok = html.len() < SIZE_TARGET;
    println!("report of {tests} tests x {runs} runs (+1 warmup) in 2 records");
    println!(
        "  report.html: {:.2} MB ({} bytes; target < 5 MB: {}), rendered in {:.0} ms",
        mb(html.len()),
        html.len(),
        if size_ok { "ok" } else { "OVER" },
        render.as_secs_f64() * 1000.0
    );
    println!("  report.json: {:.2} MB", mb(json.len()));

    let temp = tempfile::tempdir().expect("a temp dir");
    let dir = match std::env::var_os("PLANRUN_BENCH_KEEP") {
        Some(keep) => {
            std::fs::create_dir_all(&keep).expect("the directory to keep the files in");
            std::path::PathBuf::from(keep)
        }
        None => temp.path().to_path_buf(),
    };
    let page = dir.join("report.html");
    std::fs::write(&page, &html).expect("write report.html");
    let browser = match browser::Browser::find() {
        Ok(b) => b,
        Err(why) => {
            println!("  open time: not measured, no browser ({why})");
            return;
        }
    };
    // The page's own clock: a copy that may run one script, which reads the clock once the
    // page has loaded and been laid out.
    let timed = html
        .replacen(
            "<meta http-equiv=\"Content-Security-Policy\"",
            "<meta name=\"csp-removed\"",
            1,
        )
        .replacen(
            "</body>",
            "<script>addEventListener('load', () => { document.body.getBoundingClientRect(); \
             document.title = 'opened ' + performance.now().toFixed(1); });</script></body>",
            1,
        );
    let timed_page = dir.join("timed.html");
    std::fs::write(&timed_page, timed).expect("write timed.html");
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><title>blank</title>").expect("write blank.html");
    let png = dir.join("shot.png");
    let mut clock = Vec::new();
    let mut shots = Vec::new();
    let mut blanks = Vec::new();
    for _ in 0..VISITS {
        let visit = browser.dump_dom(&timed_page).expect("chromium --dump-dom");
        let ms = visit
            .stdout
            .split("<title>opened ")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .and_then(|t| t.parse::<f64>().ok())
            .expect("the page wrote its open time");
        clock.push(Duration::from_secs_f64(ms / 1000.0));
        let shot = browser
            .screenshot(&page, &png, (1280, 2000))
            .expect("chromium --screenshot");
        assert!(
            browser::console_messages(&shot.stderr).is_empty(),
            "console messages: {:?}",
            browser::console_messages(&shot.stderr)
        );
        shots.push(shot.elapsed);
        let empty = browser
            .screenshot(&blank, &png, (1280, 2000))
            .expect("chromium --screenshot");
        blanks.push(empty.elapsed);
    }
    let opened = median(clock);
    let shot = median(shots);
    let empty = median(blanks);
    println!(
        "  open in chromium: {:.0} ms to load and lay out on the page's clock (target < 1 s: {}), \
         screenshot {:.0} ms - empty page {:.0} ms = {:.0} ms (median of {VISITS})",
        opened.as_secs_f64() * 1000.0,
        if opened < OPEN_TARGET { "ok" } else { "OVER" },
        shot.as_secs_f64() * 1000.0,
        empty.as_secs_f64() * 1000.0,
        shot.saturating_sub(empty).as_secs_f64() * 1000.0
    );
}
