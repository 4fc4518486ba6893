//! `cargo bench --bench table [-- --quick]` (what `bench/run` runs): every figure of the
//! README's Performance table, measured in this one run, each beside its peer where one
//! exists, with its repetitions, min / median / max, its target and whether it was met.
//!
//! Progress goes to stderr; stdout is the header and the table, as the README quotes them.
//! A row whose measurement fails says so in the table and the others still run.

mod endtoend;
mod envrollback;
mod executor;
mod journal;
mod measure;
mod plans;
mod realapply;
mod realverdicts;
mod row;
mod shards;
mod suggest;
mod suite;
mod support;
mod switch;
mod toggler;
mod validate;

use std::time::Instant;

use measure::Res;
use row::{Row, Verdict};

/// How the run was asked for.
pub struct Config {
    /// `--quick`: fewer repetitions, the minutes-long end-to-end rows skipped.
    pub quick: bool,
}

type Group = fn(&Config) -> Res<Vec<Row>>;

/// The rows, in the table's order: a name for progress and failures, and what measures them.
const GROUPS: &[(&str, Group)] = &[
    ("executor overhead", executor::overhead),
    ("parallel scheduling", executor::parallel),
    ("validation", validate::rows),
    ("suite timing vs hyperfine", suite::accuracy),
    ("memory sampler", suite::sampler),
    ("journal an edit", journal::edit),
    ("rollback of 3 edits", journal::rollback),
    ("dry-run", journal::dry_run),
    ("end to end: persistence", endtoend::persistence),
    ("end to end: xdist", endtoend::xdist),
    ("floor of the optimized suite", endtoend::floor),
    ("environment rollback", envrollback::rows),
    ("state switch for interleaving", switch::rows),
    (
        "real: verdicts of the persistence plan, busy loops toggling",
        realverdicts::persistence,
    ),
    (
        "real: verdicts of the xdist plan, busy loops toggling",
        realverdicts::xdist,
    ),
    (
        "real: time to verdict of the README's first command",
        realverdicts::first_command,
    ),
    ("suggest prediction accuracy", suggest::rows),
    (
        "suggest prediction accuracy on Django",
        suggest::django_rows,
    ),
    ("sharding: 1, 2 and 4 local shards", shards::rows),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only TEXT`: the rows whose group name contains TEXT (one figure, measured again).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let cfg = Config { quick };
    // Set before any thread starts: every uv the rows run shares the tests' warm cache.
    std::env::set_var("UV_CACHE_DIR", support::venv::uv_cache_dir());
    let started = Instant::now();
    let load_before = measure::load_average();
    let header = header(&cfg, &load_before);
    eprintln!("bench: preparing the test venv (target/test-venv)");
    support::venv::tools_venv();
    let mut rows = Vec::new();
    for (name, group) in GROUPS {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        eprint!("bench: {name} ... ");
        let start = Instant::now();
        match group(&cfg) {
            Ok(group_rows) => rows.extend(group_rows),
            Err(why) => {
                eprintln!("failed:\n{why}");
                rows.push(Row::failed(*name, why));
            }
        }
        eprintln!("{:.1} s", start.elapsed().as_secs_f64());
    }
    println!("{header}");
    print!("{}", row::render(&rows));
    println!();
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.verdict(), Verdict::Missed | Verdict::Failed))
        .map(Row::what)
        .collect();
    println!(
        "load average (1, 5, 15 min) before: {load_before}; after: {}. Whole run: {:.0} s{}.",
        measure::load_average(),
        started.elapsed().as_secs_f64(),
        if quick { " (--quick)" } else { "" }
    );
    if !missed.is_empty() {
        println!("missed or failed: {}", missed.join("; "));
    }
}

/// When and where: the date, the CPU, the cores and the planrun build.
fn header(cfg: &Config, load_before: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "planrun {} (release), {}{}; {cores} cores, {cpu}; load average at start {load_before}\n",
        planrun::version::VERSION,
        planrun::timestamp::now(),
        if cfg.quick { ", --quick" } else { "" },
    )
}
