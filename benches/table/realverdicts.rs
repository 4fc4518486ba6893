//! Verdicts on a real machine whose speed changes while it measures (issue 22): the
//! persistence plan on its demo and the xdist plan on a suite it makes about 1.3x faster, each
//! applied five times while busy loops start and stop beside it, every verdict printed with its
//! ratio, interval and pairs, and tallied against the true ratio, measured by interleaved runs
//! of the two pytest commands in the same run; and the README's first command's time to
//! verdict against its floor (the install, one baseline run and one after run, timed directly).

use std::process::Command;
use std::time::Duration;

use crate::measure::{self, Res};
use crate::realapply::{self, persistence_floor, Applied};
use crate::row::{num, Figure, Row, Unit};
use crate::toggler::Toggler;
use crate::Config;

/// Applies of each plan under the toggling load.
const APPLIES: usize = 5;
/// How long each number of busy loops lasts.
const PERIOD: Duration = Duration::from_secs(5);
/// The xdist suite (tests/fixtures/targets/xdist13) and the bound its plan is given.
const XDIST_DEMO: &str = "tests/fixtures/targets/xdist13";
const MIN_SPEEDUP: f64 = 1.1;

fn skipped(cfg: &Config, what: &str) -> Option<Vec<Row>> {
    cfg.quick.then(|| {
        vec![Row::skipped(
            what,
            "skipped in --quick: real applies under load take many minutes; run `bench/run --only real`",
        )]
    })
}

/// One apply's row: what it decided, its wall time.
fn apply_row(name: &str, k: usize, applied: &Applied, changes: usize) -> Row {
    eprintln!(
        "\n  {name} apply {k}/{APPLIES}: {}; verdict at {:.1} s, apply {:.1} s, exit {}, busy loops changed {changes} times",
        applied.said(),
        applied.to_verdict,
        applied.wall,
        applied.code
    );
    Row::new(
        format!(
            "{name} apply {k}/{APPLIES}, busy loops changed {changes} times: {}; verdict at {} s; exit {}",
            applied.said(),
            num(applied.to_verdict),
            applied.code
        ),
        Figure::s(&[applied.wall]),
    )
}

/// The kept / rolled back / inconclusive count of `applies`, and whether they all agree with
/// `expected`.
fn tally(name: &str, applies: &[Applied], expected: &str, truth: &str) -> Row {
    let count = |o: &str| applies.iter().filter(|a| a.outcome() == o).count();
    let walls: Vec<f64> = applies.iter().map(|a| a.wall).collect();
    let text = format!(
        "kept {}, rolled back {}, inconclusive {}{}",
        count("kept"),
        count("rolled back"),
        count("inconclusive"),
        match count("other") {
            0 => String::new(),
            n => format!(", other {n}"),
        }
    );
    let all = applies.iter().all(|a| a.outcome() == expected);
    Row::new(
        format!("{name}: tally of {} applies against {truth}", applies.len()),
        Figure::new(Unit::S, walls),
    )
    .ratio_text(text)
    .target(format!("every apply {expected}"), all)
}

pub fn persistence(cfg: &Config) -> Res<Vec<Row>> {
    let name = "real, busy loops toggling 0/1/2: plans/persistence-demo.toml";
    if let Some(rows) = skipped(cfg, name) {
        return Ok(rows);
    }
    let toggler = Toggler::start(PERIOD, 0);
    let (mut rows, mut applies, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for k in 1..=APPLIES {
        let before = toggler.changes();
        let (_root, target) = realapply::copy("examples/persistence-demo")?;
        let applied = realapply::apply("persistence-demo.toml", &target, &[])?;
        let floor = persistence_floor()?;
        let row = apply_row(name, k, &applied, toggler.changes() - before)
            .peer(
                format!(
                    "floor after it: install {} + baseline {} + after {} s",
                    num(floor.install),
                    num(floor.baseline),
                    num(floor.after)
                ),
                Figure::s(&[floor.total()]),
            )
            .reps("1");
        eprintln!(
            "  floor after it: {:.1} s (install {:.1} + baseline {:.1} + after {:.1}): apply {:.2}x, verdict {:.2}x its floor",
            floor.total(),
            floor.install,
            floor.baseline,
            floor.after,
            applied.wall / floor.total(),
            applied.to_verdict / floor.total()
        );
        ratios.push(row.ratio());
        let met = row.ratio() <= 1.5;
        rows.push(row.target("≤ 1.5x its floor", met));
        applies.push(applied);
    }
    drop(toggler);
    let speedups: Vec<String> = applies.iter().map(|a| num(1.0 / a.ratio)).collect();
    rows.push(tally(
        name,
        &applies,
        "kept",
        &format!(
            "its 20x effect (the applies' own estimates: {}x)",
            speedups.join(", ")
        ),
    ));
    rows.push(
        Row::new(
            format!("{name}: whole apply over its floor, each of the {APPLIES}"),
            Figure::new(Unit::Pct, ratios.iter().map(|r| r * 100.0).collect()),
        )
        .target(
            "≤ 150 %",
            planrun::measure::stats::median(&ratios).is_some_and(|m| m <= 1.5),
        ),
    );
    Ok(rows)
}

/// The README's first command as a person runs it (no busy loops of the bench's), its time to
/// verdict and whole apply against the floor timed right after it.
pub fn first_command(cfg: &Config) -> Res<Vec<Row>> {
    let name = "real, no busy loops of the bench's own: the README's first command (plans/persistence-demo.toml)";
    if let Some(rows) = skipped(cfg, name) {
        return Ok(rows);
    }
    let (_root, target) = realapply::copy("examples/persistence-demo")?;
    let applied = realapply::apply("persistence-demo.toml", &target, &[])?;
    let floor = persistence_floor()?;
    eprintln!(
        "\n  first command: {}; verdict at {:.1} s, apply {:.1} s; floor {:.1} s (install {:.1} + baseline {:.1} + after {:.1})",
        applied.said(),
        applied.to_verdict,
        applied.wall,
        floor.total(),
        floor.install,
        floor.baseline,
        floor.after
    );
    let peer = format!(
        "floor: install {} + baseline {} + after {} s",
        num(floor.install),
        num(floor.baseline),
        num(floor.after)
    );
    let verdict = Row::new(
        format!("{name}: time to verdict ({})", applied.said()),
        Figure::s(&[applied.to_verdict]),
    )
    .peer(peer.clone(), Figure::s(&[floor.total()]));
    let whole = Row::new(
        format!("{name}: whole apply (leak check and reports too)"),
        Figure::s(&[applied.wall]),
    )
    .peer(peer, Figure::s(&[floor.total()]));
    let met = whole.ratio() <= 1.5;
    Ok(vec![verdict, whole.target("≤ 1.5x its floor", met)])
}

/// `python -m pytest` in the xdist demo, serial or as the plan makes it parallel.
fn pytest(dir: &std::path::Path, parallel: bool) -> Command {
    let mut cmd = Command::new(crate::support::python());
    cmd.args(["-m", "pytest"]).current_dir(dir);
    if parallel {
        cmd.args(["-n", "auto", "--dist", "worksteal", "--maxprocesses", "2"]);
    }
    cmd
}

/// One interleaved pair of the two pytest commands, in the order `k` gives (AB, BA, ...):
/// (serial, parallel) seconds.
fn true_pair(dir: &std::path::Path, k: usize) -> Res<(f64, f64)> {
    let time = |parallel| measure::run(&mut pytest(dir, parallel)).map(|t| t.wall);
    Ok(if k % 2 == 0 {
        let serial = time(false)?;
        (serial, time(true)?)
    } else {
        let parallel = time(true)?;
        (time(false)?, parallel)
    })
}

pub fn xdist(cfg: &Config) -> Res<Vec<Row>> {
    let name = format!(
        "real, busy loops toggling 0/1/2: plans/xdist.toml on {XDIST_DEMO} (`after <= baseline / {MIN_SPEEDUP}`)"
    );
    if let Some(rows) = skipped(cfg, &name) {
        return Ok(rows);
    }
    let (_truth_root, truth_dir) = realapply::copy(XDIST_DEMO)?;
    // One warmup each, then a pair before each apply and one after the last, so the true ratio
    // is measured on the same machine, at the same times, as the verdicts.
    true_pair(&truth_dir, 0)?;
    let toggler = Toggler::start(PERIOD, 3);
    let (mut rows, mut applies, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
    let vars = [
        "maxprocesses=2".to_string(),
        format!("min_speedup={MIN_SPEEDUP}"),
    ];
    for k in 1..=APPLIES {
        pairs.push(true_pair(&truth_dir, k)?);
        let before = toggler.changes();
        let (_root, target) = realapply::copy(XDIST_DEMO)?;
        // An existing venv: an install into it is switched file by file, so it interleaves.
        realapply::venv(&target, &["pytest==9.2.0"])?;
        let mut with_python = vars.to_vec();
        with_python.push(format!(
            "python={}",
            target.join(".venv/bin/python").display()
        ));
        let applied = realapply::apply("xdist.toml", &target, &with_python)?;
        rows.push(apply_row(&name, k, &applied, toggler.changes() - before).reps("1"));
        applies.push(applied);
    }
    pairs.push(true_pair(&truth_dir, APPLIES + 1)?);
    drop(toggler);
    let (serial, parallel): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let logs: Vec<f64> = pairs.iter().map(|(s, p)| (s / p).ln()).collect();
    let geo = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
    let truth = Row::new(
        format!(
            "{name}: true ratio, `pytest` and `pytest -n auto --maxprocesses 2` interleaved beside the applies (geometric mean of the {} pair ratios {}x)",
            pairs.len(),
            num(geo)
        ),
        Figure::s(&parallel),
    )
    .peer("serial `pytest`", Figure::s(&serial));
    let speedup = 1.0 / truth.ratio();
    eprintln!(
        "\n  xdist true ratio: {}x faster (medians), {}x (pairs' geometric mean)",
        num(speedup),
        num(geo)
    );
    let truth = truth.ratio_text(format!("{}x faster", num(speedup)));
    // A true ratio above the bound should be kept; within 5% of it, inconclusive is right.
    let expected = if geo > MIN_SPEEDUP * 1.05 {
        "kept"
    } else if geo < MIN_SPEEDUP / 1.05 {
        "rolled back"
    } else {
        "inconclusive"
    };
    rows.push(tally(
        &name,
        &applies,
        expected,
        &format!("a true {}x", num(geo)),
    ));
    rows.push(truth);
    Ok(rows)
}
