//! `planrun validate` on generated plans of 100, 1,000 and 10,000 steps: time and peak memory,
//! each size against the one ten times smaller, so the growth shows; and the 10,000-step plan
//! against Python's `tomllib.load` of the same file (reading it, nothing checked).

use crate::measure::{self, Res};
use crate::row::{Figure, Row, Unit};
use crate::support::{planrun, python, tempdir, write};
use crate::Config;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// A tenfold bigger plan may take at most this many times as long (or as much memory): near
/// linear, with room for the fixed cost of starting the process dwindling.
const GROWTH: f64 = 15.0;

/// The most `planrun validate` of the 10,000-step plan may take (issue 25).
const BIGGEST_MS: f64 = 50.0;

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let reps = if cfg.quick { 5 } else { 15 };
    let mut paths = Vec::new();
    for steps in SIZES {
        let path = root.path().join(format!("plan-{steps}.toml"));
        write(&path, crate::plans::big(steps))?;
        paths.push(path);
    }
    let (mut walls, mut rss) = (vec![Vec::new(); SIZES.len()], vec![Vec::new(); SIZES.len()]);
    let (mut tomllib, mut cpu, mut tomllib_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let biggest = &paths[SIZES.len() - 1];
    // Interleaved, so that load from other programs falls on every size (and the peer) alike.
    for _ in 0..reps {
        for (i, path) in paths.iter().enumerate() {
            let mut cmd = planrun(&["validate"]);
            cmd.arg(path);
            let timed = measure::run(&mut cmd)?;
            walls[i].push(timed.wall);
            rss[i].push(timed.peak_rss_mib);
            if i == SIZES.len() - 1 {
                cpu.push(timed.cpu);
            }
        }
        let mut peer = std::process::Command::new(python());
        peer.args([
            "-c",
            "import sys, tomllib; tomllib.load(open(sys.argv[1], 'rb'))",
        ])
        .arg(biggest);
        let timed = measure::run(&mut peer)?;
        tomllib.push(timed.wall);
        tomllib_cpu.push(timed.cpu);
    }
    let mut rows = Vec::new();
    for (i, steps) in SIZES.iter().enumerate() {
        let what = format!(
            "`planrun validate` of a generated {}-step plan: time",
            group(*steps)
        );
        let mut row = Row::new(what, Figure::ms(&walls[i]));
        if i > 0 {
            row = row.peer(
                format!("{} steps", group(SIZES[i - 1])),
                Figure::ms(&walls[i - 1]),
            );
            let ratio = row.ratio();
            row = row.target(format!("≤ {GROWTH}x for 10x steps"), ratio <= GROWTH);
        }
        rows.push(row);
    }
    let last = SIZES.len() - 1;
    let row = Row::new(
        format!(
            "`planrun validate` of a generated {}-step plan beside Python reading it",
            group(SIZES[last])
        ),
        Figure::ms(&walls[last]),
    )
    .peer("`tomllib.load` of the same file", Figure::ms(&tomllib));
    let median = row.median();
    rows.push(row.target(format!("< {BIGGEST_MS} ms"), median < BIGGEST_MS));
    // The same runs' CPU time: on a loaded machine the wall time above is mostly waiting for a
    // core, and this is the figure a change to validation moves.
    rows.push(
        Row::new(
            format!(
                "`planrun validate` of a generated {}-step plan: CPU time (user + system)",
                group(SIZES[last])
            ),
            Figure::ms(&cpu),
        )
        .peer("`tomllib.load` of the same file", Figure::ms(&tomllib_cpu)),
    );
    for (i, steps) in SIZES.iter().enumerate() {
        let what = format!(
            "`planrun validate` of a generated {}-step plan: peak memory",
            group(*steps)
        );
        let mut row = Row::new(what, Figure::new(Unit::MiB, rss[i].clone()));
        if i > 0 {
            row = row.peer(
                format!("{} steps", group(SIZES[i - 1])),
                Figure::new(Unit::MiB, rss[i - 1].clone()),
            );
            let ratio = row.ratio();
            row = row.target(format!("≤ {GROWTH}x for 10x steps"), ratio <= GROWTH);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// `10000` as `10,000`.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
