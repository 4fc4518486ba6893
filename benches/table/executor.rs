//! The executor's own cost: 200 `run` steps against a shell script, make and just doing the
//! same 200 process starts; and 20 independent sleeps at `--jobs 2` against the ideal.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::measure::{self, Ctx, Res};
use crate::row::{Figure, Row};
use crate::support::{self, planrun, tempdir, write};
use crate::Config;

/// Steps (and script lines, and recipes) of the overhead rows.
const STEPS: usize = 200;

/// The parallel row: independent steps, each sleeping this long, at this many jobs.
const SLEEPS: usize = 20;
const SLEEP_S: f64 = 0.3;
const JOBS: usize = 2;

fn apply(plan: &Path, target: &Path, jobs: usize) -> Command {
    let jobs = jobs.to_string();
    let mut cmd = planrun(&["apply"]);
    cmd.arg(plan)
        .arg("--target")
        .arg(target)
        .args(["--jobs", &jobs]);
    cmd
}

/// A Makefile whose `all` needs one recipe per name, each running `command`.
fn makefile_of(names: &[String], command: &str) -> String {
    let mut text = format!(
        ".PHONY: all {}\nall: {}\n",
        names.join(" "),
        names.join(" ")
    );
    for name in names {
        let _ = write!(text, "{name}:\n\t{command}\n");
    }
    text
}

/// A peer of the overhead row: how it is named and the command that runs its 200 units.
struct Peer {
    name: String,
    cmd: Command,
    walls: Vec<f64>,
}

/// planrun starts every step as `/bin/sh -c <command>`, so each peer starts 200 of those too:
/// the script runs `/bin/sh -c true` per line, make's recipe is `/bin/sh -c true` (make execs
/// a recipe without shell characters directly), and just runs each recipe's `true` with
/// `sh -cu` itself.
fn peers(dir: &Path) -> Res<(Vec<Peer>, Vec<Row>)> {
    let mut peers = Vec::new();
    let mut skipped = Vec::new();
    let script = dir.join("loop.sh");
    write(&script, "/bin/sh -c true\n".repeat(STEPS))?;
    let mut sh = Command::new("/bin/sh");
    sh.arg(&script);
    peers.push(Peer {
        name: format!("sh script of {STEPS} `/bin/sh -c true`"),
        cmd: sh,
        walls: Vec::new(),
    });

    let names: Vec<String> = (0..STEPS).map(|i| format!("r{i}")).collect();
    match support::which("make") {
        Some(make) => {
            let makefile = dir.join("Makefile");
            write(&makefile, makefile_of(&names, "/bin/sh -c true"))?;
            let mut cmd = Command::new(&make);
            cmd.args(["-s", "-j1", "-f"]).arg(&makefile).arg("all");
            peers.push(Peer {
                name: format!("{} ({STEPS} recipes)", support::version(&make)?),
                cmd,
                walls: Vec::new(),
            });
        }
        None => skipped.push(Row::skipped("executor vs make", "make is not installed")),
    }
    match support::just() {
        Ok(just) => {
            let mut text = format!("all: {}\n", names.join(" "));
            for name in &names {
                let _ = write!(text, "\n{name}:\n    @true\n");
            }
            let justfile = dir.join("justfile");
            write(&justfile, text)?;
            let mut cmd = Command::new(&just);
            cmd.arg("--justfile")
                .arg(&justfile)
                .arg("--working-directory")
                .arg(dir)
                .arg("all");
            peers.push(Peer {
                name: format!("{} ({STEPS} recipes)", support::version(&just)?),
                cmd,
                walls: Vec::new(),
            });
        }
        Err(why) => skipped.push(Row::skipped(
            "executor vs just",
            format!("just unavailable: {why}"),
        )),
    }
    Ok((peers, skipped))
}

pub fn overhead(cfg: &Config) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let plan = root.path().join("chain.toml");
    write(&plan, crate::plans::runs(STEPS, "true", true))?;
    // One step and one line: what planrun costs once per apply (plan, journal, lock, reports)
    // and what the script costs once, so that the per-step figure is the marginal cost.
    let one = root.path().join("one.toml");
    write(&one, crate::plans::runs(1, "true", true))?;
    let one_line = root.path().join("one.sh");
    write(&one_line, "/bin/sh -c true\n")?;
    let (mut peers, skipped) = peers(root.path())?;
    // An earlier build beside this one, in the same loop, when `PLANRUN_BENCH_BEFORE` names it:
    // a change's before and after measured on the same machine at the same moment.
    let before = std::env::var_os("PLANRUN_BENCH_BEFORE").map(std::path::PathBuf::from);
    let mut before_walls = Vec::new();
    let reps = if cfg.quick { 3 } else { 10 };
    let (mut ours, mut ours_one, mut script_one) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        // A fresh target each time: no earlier run's journal or history to read.
        let target = root.path().join(format!("target-{rep}"));
        let target_one = root.path().join(format!("target-one-{rep}"));
        for dir in [&target, &target_one] {
            std::fs::create_dir_all(dir).ctx(format!("create {}", dir.display()))?;
        }
        ours.push(measure::run(&mut apply(&plan, &target, 1))?.wall);
        if let Some(bin) = &before {
            let target = root.path().join(format!("target-before-{rep}"));
            std::fs::create_dir_all(&target).ctx(format!("create {}", target.display()))?;
            let mut cmd = apply(&plan, &target, 1);
            let mut earlier = Command::new(bin);
            earlier
                .args(cmd.get_args())
                .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
            for (k, v) in cmd.get_envs() {
                if v.is_none() {
                    earlier.env_remove(k);
                }
            }
            cmd = earlier;
            before_walls.push(measure::run(&mut cmd)?.wall);
        }
        for peer in &mut peers {
            peer.walls.push(measure::run(&mut peer.cmd)?.wall);
        }
        ours_one.push(measure::run(&mut apply(&one, &target_one, 1))?.wall);
        script_one.push(measure::run(Command::new("/bin/sh").arg(&one_line))?.wall);
    }
    let mut rows = Vec::new();
    let mut peers = peers.into_iter();
    let Some(script) = peers.next() else {
        return Err("no shell peer".into());
    };
    let what = format!("executor: {STEPS} `run` steps of `true` (`--jobs 1`)");
    let row =
        Row::new(what.clone(), Figure::ms(&ours)).peer(&script.name, Figure::ms(&script.walls));
    let ratio = row.ratio();
    rows.push(row.target("≤ 1.3x the script", ratio <= 1.3));
    if let Some(bin) = &before {
        rows.push(Row::new(what.clone(), Figure::ms(&ours)).peer(
            format!("the build {}", bin.display()),
            Figure::ms(&before_walls),
        ));
    }
    let per_step: Vec<f64> = (0..reps)
        .map(|i| {
            let planrun = ours[i] - ours_one[i];
            let shell = script.walls[i] - script_one[i];
            (planrun - shell) / (STEPS - 1) as f64
        })
        .collect();
    let row = Row::new(
        "executor overhead per step beyond the script's: (200-step − 1-step apply) − \
         (200-line − 1-line script), / 199, paired by repetition",
        Figure::ms(&per_step),
    );
    let median = row.median();
    rows.push(row.target("< 0.5 ms", median < 0.5));
    rows.push(
        Row::new(
            "executor: apply of a 1-step plan (planrun's fixed cost)",
            Figure::ms(&ours_one),
        )
        .peer("sh script of 1 `/bin/sh -c true`", Figure::ms(&script_one)),
    );
    for peer in peers {
        rows.push(
            Row::new(what.clone(), Figure::ms(&ours)).peer(peer.name, Figure::ms(&peer.walls)),
        );
    }
    rows.extend(skipped);
    Ok(rows)
}

pub fn parallel(cfg: &Config) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let plan = root.path().join("sleeps.toml");
    let command = format!("sleep {SLEEP_S}");
    write(&plan, crate::plans::runs(SLEEPS, &command, false))?;
    // make at the same -j: the ideal plus what starting 20 processes two at a time costs here.
    let make = support::which("make");
    let makefile = root.path().join("Makefile");
    let names: Vec<String> = (0..SLEEPS).map(|i| format!("s{i}")).collect();
    write(
        &makefile,
        makefile_of(&names, &format!("/bin/sh -c '{command}'")),
    )?;
    let reps = if cfg.quick { 2 } else { 5 };
    let (mut walls, mut make_walls) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let target = root.path().join(format!("target-{rep}"));
        std::fs::create_dir_all(&target).ctx(format!("create {}", target.display()))?;
        walls.push(measure::run(&mut apply(&plan, &target, JOBS))?.wall);
        if let Some(make) = &make {
            let mut cmd = Command::new(make);
            cmd.args(["-s", &format!("-j{JOBS}"), "-f"])
                .arg(&makefile)
                .arg("all");
            make_walls.push(measure::run(&mut cmd)?.wall);
        }
    }
    let what = format!("parallel: {SLEEPS} independent `{command}` at `--jobs {JOBS}`");
    let ideal = SLEEPS as f64 * SLEEP_S / JOBS as f64;
    let row = Row::new(what.clone(), Figure::s(&walls))
        .peer(
            format!("ideal {SLEEPS} × {SLEEP_S} s / {JOBS}"),
            Figure::s(&[ideal]),
        )
        .reps(reps.to_string());
    let ratio = row.ratio();
    let mut rows = vec![row.target("≤ 1.05x ideal", ratio <= 1.05)];
    if let Some(make) = &make {
        rows.push(Row::new(what, Figure::s(&walls)).peer(
            format!("{} -j{JOBS}, same 20 recipes", support::version(make)?),
            Figure::s(&make_walls),
        ));
    }
    Ok(rows)
}
