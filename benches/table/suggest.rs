//! `planrun suggest`'s prediction for parallel workers against what `planrun apply` of the xdist
//! plan then measures, on the persistence demo and on xdist13 (a suite whose workers each wait
//! for their own service): the predicted speed-up with its interval beside the measured one.

use serde_json::Value;

use crate::measure::{self, Res};
use crate::row::{num, Figure, Row};
use crate::support::{copy_tree, planrun, python, repo_root, tempdir};
use crate::Config;

const TARGETS: &[&str] = &[
    "examples/persistence-demo",
    "tests/fixtures/targets/xdist13",
];

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    for demo in TARGETS {
        let name = format!("suggest: predicted vs measured xdist speed-up on {demo}");
        if cfg.quick {
            rows.push(Row::skipped(
                name,
                "skipped in --quick: a profile and an apply of real suites (minutes); run `bench/run --only suggest`",
            ));
            continue;
        }
        rows.push(one(&name, demo).unwrap_or_else(|e| Row::failed(name, e)));
    }
    Ok(rows)
}

fn one(name: &str, demo: &str) -> Res<Row> {
    let root = tempdir()?;
    let target = root.path().join("demo");
    copy_tree(&repo_root().join(demo), &target)?;
    let mut cmd = planrun(&["suggest", "--json", "--var"]);
    cmd.arg(format!("python={}", python().display()))
        .arg("--target")
        .arg(&target);
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
    let best = report["parallel"]
        .as_array()
        .and_then(|ps| {
            let mid = |p: &Value| p["mid"].as_f64().unwrap_or(f64::INFINITY);
            ps.iter().min_by(|a, b| mid(a).total_cmp(&mid(b)))
        })
        .ok_or("no parallel prediction")?;
    let (low, mid, high) = (
        best["low"].as_f64().unwrap_or(f64::NAN),
        best["mid"].as_f64().unwrap_or(f64::NAN),
        best["high"].as_f64().unwrap_or(f64::NAN),
    );
    let workers = best["workers"].as_u64().unwrap_or(2);
    let dist = best["dist"].as_str().unwrap_or("worksteal").to_string();
    let predicted = wall / mid;
    let (slowest, fastest) = (wall / high, wall / low);
    // The bundled xdist plan with the suggested worker count and --dist, no speed threshold:
    // the bench wants the measurement, whatever it is.
    let plan = std::fs::read_to_string(repo_root().join("plans/xdist.toml"))
        .map_err(|e| format!("read plans/xdist.toml: {e}"))?
        .replace(
            "\"--dist\", \"worksteal\"",
            &format!("\"--dist\", \"{dist}\""),
        )
        .replace("default_target = \"../examples/persistence-demo\"\n", "");
    let plan_path = root.path().join("xdist.toml");
    std::fs::write(&plan_path, plan).map_err(|e| format!("write the plan: {e}"))?;
    let report_dir = root.path().join("report");
    let mut apply = planrun(&["apply"]);
    apply
        .arg(&plan_path)
        .arg("--target")
        .arg(&target)
        .arg("--report-dir")
        .arg(&report_dir)
        .args(["--var", &format!("maxprocesses={workers}")])
        .args(["--var", "min_speedup=0.01"]);
    let (timed, output) = measure::run_any(&mut apply)?;
    if !matches!(timed.code, 0 | 1 | 7) {
        return Err(format!(
            "planrun apply exited {}:\n{}",
            timed.code,
            measure::tail(&output, 20)
        ));
    }
    let applied: Value = serde_json::from_str(&measure::read(&report_dir.join("report.json"))?)
        .map_err(|e| format!("parse report.json: {e}"))?;
    let median = |record: &str| applied["records"][record]["wall"]["median"].as_f64();
    let (Some(before), Some(after)) = (median("baseline"), median("after")) else {
        return Err("report.json has no baseline or after wall".into());
    };
    let measured = before / after;
    let inside = (slowest..=fastest).contains(&measured);
    let within = (predicted / measured - 1.0).abs() <= 0.25;
    let row = Row::new(
        format!("{name} (-n {workers} --dist {dist})"),
        Figure::s(&[after]),
    )
    .peer("baseline wall", Figure::s(&[before]))
    .ratio_text(format!(
        "predicted {}x ({} to {}), measured {}x",
        num(predicted),
        num(slowest),
        num(fastest),
        num(measured)
    ))
    .reps("1+1");
    Ok(row.target(
        "measured within 25% of predicted, or inside the interval",
        inside || within,
    ))
}
