//! What planrun itself costs in an apply, measured on the release binary with generated plans
//! and trees: per `run` step, per journaled edit, and per rollback as the repository grows.
//!
//! Targets (issue 3): under 2 ms per `run` step beyond a shell loop, under 5 ms per journaled
//! edit, and 3 edits in a 100,000-file tree rolled back in under 50 ms.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Timed samples of each figure; the median is reported, with the min beside it because the min
/// is the figure least moved by other programs on a shared machine.
const SAMPLES: usize = 5;

/// Steps in the chain of `true` commands.
const STEPS: usize = 200;

/// Files edited by the journaling figure.
const EDITS: usize = 50;

fn main() {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/planrun");
    if !bin.is_file() {
        eprintln!(
            "{} is missing: run `cargo build --release` first",
            bin.display()
        );
        std::process::exit(1);
    }
    println!("planrun: {}", bin.display());
    println!("load average before: {}", load_average());
    println!("median of {SAMPLES} (min in brackets)");
    step_cost(&bin);
    edit_cost(&bin);
    rollback_cost(&bin);
    println!("load average after: {}", load_average());
}

/// The 1, 5 and 15 minute load averages, as the kernel reports them.
fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion and returns how long it took; panics, with its stderr, on failure.
fn time(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("start the command");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The median and the min of some samples.
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A fresh directory under `root`.
fn dir(root: &Path, name: &str) -> PathBuf {
    let path = root.join(name);
    fs::create_dir_all(&path).expect("create a directory");
    path
}

/// Writes a plan of one phase whose steps are given as TOML bodies (without the header).
fn write_plan(path: &Path, steps: impl Iterator<Item = String>) {
    let mut text =
        String::from("name = \"bench\"\ndescription = \"Generated.\"\n\n[[phase]]\nid = \"p\"\n");
    for step in steps {
        let _ = write!(text, "\n  [[phase.step]]\n{step}");
    }
    fs::write(path, text).expect("write the plan");
}

fn apply(bin: &Path, plan: &Path, target: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("apply")
        .arg(plan)
        .arg("--target")
        .arg(target)
        .args(["--jobs", "1", "--reapply"])
        .env("NO_COLOR", "1");
    cmd
}

fn rollback(bin: &Path, target: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("rollback").arg("--target").arg(target);
    cmd
}

/// (a) A chain of 200 `true` steps against a shell script that starts `sh -c true` 200 times,
/// which is how planrun runs each step's command: the difference is planrun's own cost.
fn step_cost(bin: &Path) {
    let root = tempfile::tempdir().expect("temporary directory");
    let target = dir(root.path(), "target");
    let plan = root.path().join("chain.toml");
    write_plan(
        &plan,
        (0..STEPS).map(|i| {
            let needs = if i == 0 {
                String::new()
            } else {
                format!("  needs = [\"s{}\"]\n", i - 1)
            };
            format!("  id = \"s{i}\"\n{needs}  action = \"run\"\n  command = \"true\"\n")
        }),
    );
    let script = root.path().join("loop.sh");
    fs::write(&script, "sh -c true\n".repeat(STEPS)).expect("write the script");
    let (mut planrun, mut shell) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        planrun.push(time(&mut apply(bin, &plan, &target)));
        shell.push(time(Command::new("sh").arg(&script)));
    }
    let ((p_med, p_min), (s_med, s_min)) = (stats(planrun), stats(shell));
    let per_step = |p: Duration, s: Duration| (ms(p) - ms(s)) / STEPS as f64;
    println!();
    println!("(a) {STEPS} chained `true` steps vs a script of {STEPS} `sh -c true`");
    println!(
        "    planrun apply {:.0} ms [{:.0}], shell {:.0} ms [{:.0}]",
        ms(p_med),
        ms(p_min),
        ms(s_med),
        ms(s_min)
    );
    println!(
        "    planrun's own cost per run step: {:.2} ms [{:.2}]  (target < 2 ms)",
        per_step(p_med, s_med),
        per_step(p_min, s_min)
    );
}

/// (b) 50 `replace` steps on 50 files, each journaled (before-image, fsync) then written; the
/// apply is rolled back, untimed, between samples so each sample edits again.
fn edit_cost(bin: &Path) {
    let root = tempfile::tempdir().expect("temporary directory");
    let target = dir(root.path(), "target");
    for i in 0..EDITS {
        fs::write(
            target.join(format!("f{i:02}.py")),
            format!("VALUE_{i} = 0\n"),
        )
        .expect("write a file");
    }
    let replace = |i: usize| {
        format!(
            "  id = \"e{i}\"\n  action = \"replace\"\n  path = \"f{i:02}.py\"\n  pattern = \"= 0\"\n  replacement = \"= 1\"\n"
        )
    };
    let many = root.path().join("edits.toml");
    write_plan(&many, (0..EDITS).map(replace));
    let one = root.path().join("edit.toml");
    write_plan(&one, (0..1).map(replace));
    let (mut all, mut single) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        all.push(time(&mut apply(bin, &many, &target)));
        time(&mut rollback(bin, &target));
        single.push(time(&mut apply(bin, &one, &target)));
        time(&mut rollback(bin, &target));
    }
    let ((a_med, a_min), (o_med, o_min)) = (stats(all), stats(single));
    let marginal = |a: Duration, o: Duration| (ms(a) - ms(o)) / (EDITS - 1) as f64;
    println!();
    println!("(b) journaling an edit: a plan of {EDITS} replace steps on {EDITS} files");
    println!(
        "    apply {:.0} ms [{:.0}] -> {:.2} ms per edit [{:.2}]  (target < 5 ms)",
        ms(a_med),
        ms(a_min),
        ms(a_med) / EDITS as f64,
        ms(a_min) / EDITS as f64
    );
    println!(
        "    beyond a 1-edit plan ({:.0} ms [{:.0}]): {:.2} ms per extra edit [{:.2}]",
        ms(o_med),
        ms(o_min),
        marginal(a_med, o_med),
        marginal(a_min, o_min)
    );
}

/// A target of `files` small files (1,000 per directory) plus the three a plan edits.
fn tree(root: &Path, files: usize) -> PathBuf {
    let target = dir(root, &format!("tree-{files}"));
    for i in 0..files {
        let sub = target.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            fs::create_dir_all(&sub).expect("create a directory");
        }
        fs::write(sub.join(format!("m{i}.py")), format!("X = {i}\n")).expect("write a file");
    }
    for name in ["a", "b", "c"] {
        fs::write(target.join(format!("{name}.py")), "FLAG = True\n").expect("write a file");
    }
    target
}

/// (c) `planrun rollback` of 3 edits in a 100,000-file tree and in a 100-file tree: its time
/// should follow the files touched, not the size of the repository.
fn rollback_cost(bin: &Path) {
    let root = tempfile::tempdir().expect("temporary directory");
    let plan = root.path().join("three.toml");
    write_plan(
        &plan,
        ["a", "b", "c"].iter().map(|name| {
            format!(
                "  id = \"{name}\"\n  action = \"replace\"\n  path = \"{name}.py\"\n  pattern = \"True\"\n  replacement = \"False\"\n"
            )
        }),
    );
    let built = Instant::now();
    let (small, large) = (tree(root.path(), 100), tree(root.path(), 100_000));
    // SAFETY: sync takes no arguments; it flushes the built trees so that writeback of them does
    // not fall inside the timed rollbacks.
    unsafe { libc::sync() };
    let (mut s, mut l) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        // Interleaved, so disk and load noise fall on both.
        for (target, samples) in [(&small, &mut s), (&large, &mut l)] {
            time(&mut apply(bin, &plan, target));
            samples.push(time(&mut rollback(bin, target)));
        }
    }
    let ((s_med, s_min), (l_med, l_min)) = (stats(s), stats(l));
    println!();
    println!(
        "(c) rollback of 3 edits (trees built in {:.1} s)",
        built.elapsed().as_secs_f64()
    );
    println!(
        "    100-file tree     {:.1} ms [{:.1}]",
        ms(s_med),
        ms(s_min)
    );
    println!(
        "    100,000-file tree {:.1} ms [{:.1}]  (target < 50 ms)",
        ms(l_med),
        ms(l_min)
    );
}
