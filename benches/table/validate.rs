//! `planrun validate` on generated plans of 100, 1,000 and 10,000 steps: time and peak memory,
//! each size against the one ten times smaller, so the growth shows.

use crate::measure::{self, Res};
use crate::row::{Figure, Row, Unit};
use crate::support::{planrun, tempdir, write};
use crate::Config;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// A tenfold bigger plan may take at most this many times as long (or as much memory): near
/// linear, with room for the fixed cost of starting the process dwindling.
const GROWTH: f64 = 15.0;

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
    // Interleaved, so that load from other programs falls on every size alike.
    for _ in 0..reps {
        for (i, path) in paths.iter().enumerate() {
            let mut cmd = planrun(&["validate"]);
            cmd.arg(path);
            let timed = measure::run(&mut cmd)?;
            walls[i].push(timed.wall);
            rss[i].push(timed.peak_rss_mib);
        }
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
            let (ratio, median) = (row.ratio(), row.median());
            row = if *steps == 10_000 {
                row.target(
                    format!("< 100 ms; ≤ {GROWTH}x for 10x steps"),
                    median < 100.0 && ratio <= GROWTH,
                )
            } else {
                row.target(format!("≤ {GROWTH}x for 10x steps"), ratio <= GROWTH)
            };
        }
        rows.push(row);
    }
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
