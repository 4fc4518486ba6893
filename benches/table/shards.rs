//! Sharding: plans/shards.toml on examples/shard-demo (seed 004's shape scaled down: 404
//! tests, a few slow ones holding most of the time) as 1, 2 and 4 local shards, each against
//! the suite measured whole in the same apply: the slowest shard's wall, how evenly the
//! shards shared the work (ideal wall / slowest shard, per counted run), and the merged test
//! count beside the unsharded one.

use serde_json::Value;

use crate::measure::{self, Ctx, Res};
use crate::row::{num, Figure, Row, Unit};
use crate::support::{copy_tree, planrun, repo_root, tempdir};
use crate::Config;

/// The efficiency the 4-shard row must reach.
const MIN_BALANCE: f64 = 0.9;

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    for shards in [1, 2, 4] {
        rows.extend(one(cfg, shards)?);
    }
    Ok(rows)
}

fn one(cfg: &Config, shards: u32) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let target = root.path().join("demo");
    copy_tree(&repo_root().join("examples/shard-demo"), &target)?;
    let report_dir = root.path().join("report");
    let mut cmd = planrun(&["apply"]);
    cmd.arg(repo_root().join("plans/shards.toml"))
        .arg("--target")
        .arg(&target)
        .arg("--report-dir")
        .arg(&report_dir)
        .args(["--var", &format!("shards={shards}")])
        .args([
            "--var",
            &format!("python={}", crate::support::python().display()),
        ]);
    if cfg.quick {
        // A tenth of the waits and one counted run: the same shape in a quarter of a minute.
        cmd.env("LEDGER_LATENCY_SCALE", "0.1")
            .args(["--var", "runs=1"]);
    }
    let (timed, output) = measure::run_any(&mut cmd)?;
    // 1 shard is no faster than the whole suite: its speed gate fails, and that is the figure.
    if !matches!(timed.code, 0 | 1 | 7) {
        return Err(format!(
            "planrun apply exited {}:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    }
    let report: Value = serde_json::from_str(&measure::read(&report_dir.join("report.json"))?)
        .ctx("parse report.json")?;
    let after = &report["records"]["after"];
    let baseline = &report["records"]["baseline"];
    let walls = |r: &Value| -> Vec<f64> {
        r["samples"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter(|s| s["warmup"] != true || s["promoted"] == true)
                    .filter_map(|s| s["wall"].as_f64())
                    .collect()
            })
            .unwrap_or_default()
    };
    let balances: Vec<f64> = after["shards"]["runs"]
        .as_array()
        .ok_or("the after record has no shard figures")?
        .iter()
        .filter_map(|run| {
            let w: Vec<f64> = run.as_array()?.iter().filter_map(Value::as_f64).collect();
            planrun::measure::balance::efficiency(&w).map(|e| e * 100.0)
        })
        .collect();
    let (tests, whole) = (after["tests"].as_u64(), baseline["tests"].as_u64());
    let name = format!("sharding: examples/shard-demo as {shards} local shard(s)");
    let speed = Row::new(
        format!(
            "{name}: slowest shard's wall vs the whole suite ({} of {} tests)",
            tests.unwrap_or(0),
            whole.unwrap_or(0)
        ),
        Figure::s(&walls(after)),
    )
    .peer("whole suite", Figure::s(&walls(baseline)));
    let speedup = 1.0 / speed.ratio();
    let speed = speed
        .ratio_text(format!("{}x faster", num(speedup)))
        .target(
            "merged tests = unsharded",
            tests.is_some() && tests == whole,
        );
    let balance = Row::new(
        format!("{name}: balance efficiency (ideal wall / slowest shard)"),
        Figure::new(Unit::Pct, balances.clone()),
    );
    let balance = if shards == 4 {
        let median = planrun::measure::stats::median(&balances).unwrap_or(f64::NAN);
        balance.target(
            format!("≥ {:.0} %", MIN_BALANCE * 100.0),
            median >= MIN_BALANCE * 100.0,
        )
    } else {
        balance
    };
    Ok(vec![speed, balance])
}
