//! Interleaved measurement, end to end: a suite whose machine gets slower by 8% of its first
//! speed every session (a counter outside the target that each pytest session reads and
//! increments) is measured in
//! pairs with its baseline, the target switched between the two states through the journal; a
//! true speed-up is kept and a change that does nothing is not failed, two busy loops running
//! beside. A `run` step with an undo command between the records makes the comparison
//! sequential, said with its reason; a SIGKILL in the middle of a switch, then rollback, leaves
//! the files and a venv planrun did not create byte for byte as before.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::newest_report as report;
use crate::support::{busy_loops, exclusive, hash_into, python, sh, uv, Project};

/// The drifting suite (pytest without the plugins of the shared venv, whose start-up would
/// dwarf the sleep on a loaded machine): each pytest session sleeps `speed.cfg` seconds and 8%
/// of that more per earlier session, counted in the file `PLANRUN_DRIFT_COUNTER` names
/// (outside the target).
const CONFTEST: &str = r#"import os
import time


def pytest_sessionstart(session):
    path = os.environ["PLANRUN_DRIFT_COUNTER"]
    try:
        with open(path) as f:
            n = int(f.read())
    except FileNotFoundError:
        n = 0
    with open(path, "w") as f:
        f.write(str(n + 1))
    with open(os.path.join(str(session.config.rootpath), "speed.cfg")) as f:
        base = float(f.read())
    time.sleep(base * (1 + 0.08 * n))
"#;

/// A plan measuring the drifting suite, then editing `path` (`pattern` -> `replacement`), then
/// measuring it again in at most `max_runs` pairs, with one gate `check`.
fn drift_plan(path: &str, pattern: &str, replacement: &str, check: &str, max_runs: u32) -> String {
    let suite = format!(
        "{} -m pytest -q -p no:cacheprovider tests_drift",
        python().display()
    );
    format!(
        r#"name = "drift"
description = "a suite on a machine that slows down"

[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  command = "{suite}"
  record = "baseline"
  min_runs = 2
  env = {{ PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }}

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "{path}"
  pattern = "{pattern}"
  replacement = "{replacement}"

  [[phase.step]]
  id = "measure"
  needs = ["edit"]
  action = "suite"
  command = "{suite}"
  record = "after"
  min_runs = 2
  max_runs = {max_runs}
  env = {{ PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }}

  [[phase.gate]]
  check = "{check}"
"#
    )
}

fn drift_project(plan: &str) -> Project {
    let project = Project::fixture("gates/target");
    project.write("drift.toml", plan);
    project.write("conftest.py", CONFTEST);
    project.write("speed.cfg", "1.00\n");
    project.write("notes.txt", "nothing here\n");
    project.write("tests_drift/test_drift.py", "def test_a():\n    pass\n");
    project
}

/// Applies `drift.toml` with the counter in a directory outside the target.
fn apply_drifting(project: &Project, codes: &[i32]) -> crate::support::Output {
    let counter = tempfile::tempdir().unwrap();
    project
        .test()
        .args(["apply", "drift.toml", "--target", "."])
        .env(
            "PLANRUN_DRIFT_COUNTER",
            counter.path().join("sessions").as_os_str(),
        )
        .status_in(codes)
        // stderr: measured numbers vary from run to run.
        .stderr_contains("planrun apply drift")
        .run()
}

/// A true speed-up (a quarter of the sleep: about 1.5x on the wall beside pytest's start-up)
/// on a machine that gets slower every session (measured one after the other, the drift eats
/// most of it) is kept: the pairs' ratio is unaffected.
#[test]
fn a_true_speed_up_on_a_drifting_machine_is_kept() {
    let _lock = exclusive();
    let _load = busy_loops(2);
    let check = "after.wall.median <= baseline.wall.median / 1.2";
    let project = drift_project(&drift_plan("speed.cfg", "1.00", "0.25", check, 16));
    let out = apply_drifting(&project, &[0]);
    assert!(
        out.stderr.contains(" interleaved) ... pass")
            || out.stderr.contains(" interleaved; the machine got"),
        "{}",
        out.stderr
    );
    let report = report(&project);
    let comparison = &report["records"]["after"]["comparison"];
    assert_eq!(comparison["mode"], "interleaved", "{report:#}");
    assert_eq!(comparison["with"], "baseline");
    assert!(comparison["seed"].is_u64(), "{comparison}");
    // Each counted run of either record has its place in a pair.
    let pairs = comparison["pairs"].as_u64().unwrap();
    assert!(pairs >= 2, "{comparison}");
    let paired = |record: &str| {
        report["records"][record]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["pair"].is_object())
            .count() as u64
    };
    assert_eq!((paired("baseline"), paired("after")), (pairs, pairs));
    assert_eq!(project.read("speed.cfg"), "0.25\n");
}

/// The same drifting suite with a change that does nothing: not failed by a "not more than 10%
/// slower" gate (kept or inconclusive), and the target ends as the change left it.
#[test]
fn a_change_that_does_nothing_on_a_drifting_machine_is_not_failed() {
    let _lock = exclusive();
    let _load = busy_loops(2);
    let check = "after.wall.median <= baseline.wall.median * 1.1";
    // A change that does nothing never settles a 1.1x bound: six pairs show the same as sixteen,
    // which took ten minutes on a loaded machine.
    let project = drift_project(&drift_plan(
        "notes.txt",
        "nothing",
        "still nothing",
        check,
        6,
    ));
    let out = apply_drifting(&project, &[0, 7]);
    assert!(out.stderr.contains(" interleaved"), "{}", out.stderr);
    let report = report(&project);
    let status = report["gates"][0]["status"].as_str().unwrap();
    assert!(status == "pass" || status == "inconclusive", "{report:#}");
    // The gate's interval says what it compared and how.
    let interval = &report["gates"][0]["intervals"][0];
    assert_eq!(interval["pairing"], "interleaved", "{report:#}");
    assert_eq!(interval["num_record"], "after", "{report:#}");
    assert_eq!(interval["den_record"], "baseline", "{report:#}");
}

/// The part of a line from `from` up to the `x` that ends a CI: `1.04x slower, 99% CI 0.97-1.12x`.
fn figure_after<'a>(line: &'a str, from: &str) -> &'a str {
    let start = line.find(from).expect("the figure's start") + from.len();
    let rest = &line[start..];
    let ci = rest.find("% CI ").expect("a CI");
    let end = ci + rest[ci..].find("x,").expect("the CI's end") + 1;
    &rest[..end]
}

/// On a drifting machine the summary's `records:` line and the report's `comparison.speed` say
/// the figure the verdict used (the paired one), not a ratio of medians over runs taken minutes
/// apart: the baseline's two runs before the pairs were faster than every later run, which a
/// ratio of medians reads as the change making the suite slower.
#[test]
fn the_records_line_says_the_figure_the_verdict_used() {
    let _lock = exclusive();
    let _load = busy_loops(2);
    let check = "after.wall.median <= baseline.wall.median * 1.1";
    // A change that does nothing never settles a 1.1x bound: six pairs show the same as sixteen,
    // which took ten minutes on a loaded machine.
    let project = drift_project(&drift_plan(
        "notes.txt",
        "nothing",
        "still nothing",
        check,
        6,
    ));
    let out = apply_drifting(&project, &[0, 7]);
    let gate = out
        .stderr
        .lines()
        .find(|l| l.contains("gate after.wall.median"))
        .expect("a gate line");
    let records = out
        .stderr
        .lines()
        .find(|l| l.starts_with("records: "))
        .expect("a records line");
    let verdict = figure_after(gate, " = ");
    let verdict = verdict
        .trim_start_matches(|c: char| c != '(')
        .trim_start_matches('(');
    let summary = figure_after(records, "after ");
    let summary = summary
        .trim_start_matches(|c: char| c != '(')
        .trim_start_matches('(');
    assert_eq!(summary, verdict, "{records}\n{gate}");
    let report = report(&project);
    let pairs = report["records"]["after"]["comparison"]["pairs"]
        .as_u64()
        .unwrap();
    assert!(
        records.contains(&format!(", paired over {pairs} pairs)")),
        "{records}"
    );
    let speed = &report["records"]["after"]["comparison"]["speed"];
    assert_eq!(speed["basis"], "paired", "{report:#}");
    let interval = &report["gates"][0]["intervals"][0];
    for (a, b) in [("ratio", "estimate"), ("low", "low"), ("high", "high")] {
        let (x, y) = (speed[a].as_f64().unwrap(), interval[b].as_f64().unwrap());
        assert!((x - y).abs() < 1e-9, "{a} {x} against the gate's {b} {y}");
    }
}

/// Two quick `command` suites with a `run` step with an undo command between them.
const SEQUENTIAL_PLAN: &str = r#"name = "seq"
description = "a step planrun cannot switch between the records"

[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  framework = "command"
  command = "sleep 0.3"
  record = "baseline"

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "seed"
  action = "run"
  command = "echo seeded > seeded.txt"
  undo = "rm -f seeded.txt"

  [[phase.step]]
  id = "measure"
  needs = ["seed"]
  action = "suite"
  framework = "command"
  command = "sleep 0.03"
  record = "after"

  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median * 0.5"
"#;

/// A `run` with an undo command between the records: measured one after the other, and the
/// verdict and the report say `sequential` and name the step.
#[test]
fn a_run_step_with_an_undo_command_makes_the_comparison_sequential() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write("seq.toml", SEQUENTIAL_PLAN);
    let out = project
        .test()
        .args(["apply", "seq.toml", "--target", "."])
        .status(0)
        .stderr_contains("planrun apply seq")
        .run();
    let why = "sequential: step `seed` is a `run` with an undo command";
    assert!(
        out.stderr.contains(&format!("runs, {why})")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("measure: {why}")),
        "{}",
        out.stderr
    );
    let report = report(&project);
    let comparison = &report["records"]["after"]["comparison"];
    assert_eq!(comparison["mode"], "sequential", "{report:#}");
    assert_eq!(
        comparison["reason"],
        "step `seed` is a `run` with an undo command"
    );
    assert_eq!(report["gates"][0]["intervals"][0]["pairing"], "sequential");
    assert!(
        out.stderr.contains(", in sequence, "),
        "the summary says its figure is from records in sequence:\n{}",
        out.stderr
    );
    // The same plan with the step marked unswitchable instead says that.
    let marked = SEQUENTIAL_PLAN
        .replace("  undo = \"rm -f seeded.txt\"\n", "  switchable = false\n")
        .replace(
            "command = \"echo seeded > seeded.txt\"",
            "command = \"true\"",
        );
    let project = Project::fixture("gates/target");
    project.write("seq.toml", &marked);
    project
        .test()
        .args(["apply", "seq.toml", "--target", "."])
        .status(0)
        .stderr_contains("sequential: step `seed` is marked `switchable = false`")
        .run();
}

/// The switch plan: quick suites around an install into `.venv` (a venv the test made, with
/// six 1.16.0: one package added, one upgraded) and an edit of `app.cfg`.
const SWITCH_PLAN: &str = r#"name = "switch"
description = "an install and an edit between two records"

[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  framework = "command"
  command = "sleep 0.05"
  record = "baseline"

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "deps"
  action = "install"
  python = ".venv/bin/python"
  packages = ["iniconfig==2.0.0", "six==1.17.0"]

  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "app.cfg"
  pattern = "slow"
  replacement = "fast"

  [[phase.step]]
  id = "measure"
  needs = ["deps", "edit"]
  action = "suite"
  framework = "command"
  command = "sleep 0.05"
  record = "after"

  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median * 2"
"#;

fn venv_tree(venv: &Path) -> std::collections::BTreeMap<std::path::PathBuf, (u32, String)> {
    let mut out = std::collections::BTreeMap::new();
    hash_into(venv, venv, &mut out);
    out
}

/// SIGKILL halfway through the first switch (files switched, the environment half switched:
/// a debug build's hook stops there and says so), then `planrun rollback`: the files and the
/// venv planrun did not create are as before the apply, byte for byte.
#[test]
fn a_sigkill_in_the_middle_of_a_switch_rolls_back_byte_for_byte() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write("switch.toml", SWITCH_PLAN);
    project.write("app.cfg", "mode = slow\n");
    let venv = project.join(".venv");
    sh(Command::new(uv()).args(["venv", "-q"]).arg(&venv));
    sh(Command::new(uv())
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .arg("six==1.16.0"));
    let files = project.hash_tree();
    let env = venv_tree(&venv);
    let pause = tempfile::tempdir().unwrap();
    let marker = pause.path().join("paused");
    let mut running = project
        .test()
        .args(["apply", "switch.toml", "--target", "."])
        .env("PLANRUN_TEST_PAUSE_IN_SWITCH", marker.as_os_str())
        .env("PLANRUN_SEED", "1")
        .status(137)
        .stdout_unchecked("killed mid-switch")
        .stderr_unchecked("killed mid-switch")
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !marker.exists() {
        assert!(running.is_running(), "the apply ended before the switch");
        assert!(Instant::now() < deadline, "the switch never paused");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Half switched: the environment holds both states' paths.
    let site = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    let stashed = std::fs::read_dir(&site)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".planrun-off")
        })
        .count();
    assert!(stashed > 0, "nothing was stashed yet");
    running.signal(libc::SIGKILL);
    running.wait();
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's account lists what it restored")
        .stderr_unchecked("notes vary")
        .run();
    assert_eq!(project.hash_tree(), files);
    assert_eq!(venv_tree(&venv), env);
}

/// After an interleaved apply that was kept (files and an environment switched back and forth),
/// the switches are not drift, a person's edit is: rollback refuses it (exit 5) and, once the
/// edit is undone, restores the files and the venv byte for byte.
#[test]
fn after_interleaving_only_a_persons_edit_is_drift() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write("switch.toml", SWITCH_PLAN);
    project.write("app.cfg", "mode = slow\n");
    let venv = project.join(".venv");
    sh(Command::new(uv()).args(["venv", "-q"]).arg(&venv));
    sh(Command::new(uv())
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .arg("six==1.16.0"));
    let files = project.hash_tree();
    let env = venv_tree(&venv);
    project
        .test()
        .args(["apply", "switch.toml", "--target", "."])
        .status(0)
        .stderr_contains("interleaved with `baseline`")
        .run();
    assert_eq!(
        report(&project)["records"]["after"]["comparison"]["mode"],
        "interleaved"
    );
    assert_eq!(project.read("app.cfg"), "mode = fast\n");
    project.write("app.cfg", "mode = mine\n");
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(5)
        .stdout_unchecked("the refusal is on stderr")
        .stderr_contains("app.cfg")
        .run();
    project.write("app.cfg", "mode = fast\n");
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's account lists what it restored")
        .stderr_unchecked("notes vary")
        .run();
    assert_eq!(project.hash_tree(), files);
    assert_eq!(venv_tree(&venv), env);
}

/// The switch plan on a target without a venv: the first install creates `.venv` before the
/// baseline (a precondition both records share), the second installs into it between them.
const CREATED_VENV_PLAN: &str = r#"name = "created"
description = "an install into a venv the apply created, between two records"

[[phase]]
id = "before"
  [[phase.step]]
  id = "venv"
  action = "install"
  python = ".venv/bin/python"
  packages = ["iniconfig==2.0.0"]

  [[phase.step]]
  id = "base"
  needs = ["venv"]
  action = "suite"
  framework = "command"
  command = "sleep 0.05"
  record = "baseline"

[[phase]]
id = "change"
needs = ["before"]
  [[phase.step]]
  id = "deps"
  action = "install"
  python = ".venv/bin/python"
  packages = ["six==1.17.0"]

  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "app.cfg"
  pattern = "slow"
  replacement = "fast"

  [[phase.step]]
  id = "measure"
  needs = ["deps", "edit"]
  action = "suite"
  framework = "command"
  command = "sleep 0.05"
  record = "after"

  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median * 2"
"#;

/// The names in the created venv's site-packages.
fn site_names(venv: &Path) -> Vec<String> {
    let lib = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut names: Vec<String> = std::fs::read_dir(lib.join("site-packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An install into a venv the apply itself created before the baseline is switched like any
/// other (the venv's state after its creation is the before state): interleaved, kept, the
/// install in place afterwards, and rollback removes the venv whole.
#[test]
fn an_install_into_a_venv_the_apply_created_is_interleaved() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write("created.toml", CREATED_VENV_PLAN);
    project.write("app.cfg", "mode = slow\n");
    let files = project.hash_tree();
    let venv = project.join(".venv");
    let out = project
        .test()
        .args(["apply", "created.toml", "--target", "."])
        .status(0)
        .stderr_contains("interleaved with `baseline`")
        .run();
    assert!(!out.stderr.contains("sequential"), "{}", out.stderr);
    let report = report(&project);
    let comparison = &report["records"]["after"]["comparison"];
    assert_eq!(comparison["mode"], "interleaved", "{report:#}");
    // Both states were measured: six was moved aside and back, and is in place at the end.
    assert!(comparison["switch_ms"].is_number(), "{comparison}");
    let names = site_names(&venv);
    assert!(names.iter().any(|n| n == "six.py"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with(".planrun-off")),
        "{names:?}"
    );
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's account lists what it restored")
        .stderr_unchecked("notes vary")
        .run();
    assert!(!venv.exists(), "the created venv is removed");
    assert_eq!(project.hash_tree(), files);
}

/// SIGKILL halfway through a switch of a venv the apply created (six moved aside, its stash
/// beside it), then `planrun rollback`: no venv is left, stashes included, and the files are
/// as before.
#[test]
fn a_sigkill_mid_switch_of_a_created_venv_leaves_no_venv() {
    let _lock = exclusive();
    let project = Project::fixture("gates/target");
    project.write("created.toml", CREATED_VENV_PLAN);
    project.write("app.cfg", "mode = slow\n");
    let files = project.hash_tree();
    let venv = project.join(".venv");
    let pause = tempfile::tempdir().unwrap();
    let marker = pause.path().join("paused");
    let mut running = project
        .test()
        .args(["apply", "created.toml", "--target", "."])
        .env("PLANRUN_TEST_PAUSE_IN_SWITCH", marker.as_os_str())
        .env("PLANRUN_SEED", "1")
        .status(137)
        .stdout_unchecked("killed mid-switch")
        .stderr_unchecked("killed mid-switch")
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !marker.exists() {
        assert!(running.is_running(), "the apply ended before the switch");
        assert!(Instant::now() < deadline, "the switch never paused");
        std::thread::sleep(Duration::from_millis(50));
    }
    let names = site_names(&venv);
    assert!(
        names.iter().any(|n| n.ends_with(".planrun-off")),
        "nothing was stashed yet: {names:?}"
    );
    running.signal(libc::SIGKILL);
    running.wait();
    project
        .test()
        .args(["rollback", "--target", "."])
        .status(0)
        .stdout_unchecked("the rollback's account lists what it restored")
        .stderr_unchecked("notes vary")
        .run();
    assert!(
        !venv.exists(),
        "the created venv is removed, stashes and all"
    );
    assert_eq!(project.hash_tree(), files);
}

/// `plans/xdist.toml` on a target without any venv (the README's case): its first install
/// creates `.venv` before the baseline, pytest-xdist goes into it between the records, and the
/// two are measured in interleaved pairs. Whether xdist pays on this machine's load decides the
/// verdict (kept, failed or inconclusive); whichever it is, the records line says the paired
/// figure and, after the rollback (its own or `planrun rollback`), no venv is left.
#[test]
fn the_xdist_plan_on_a_target_without_a_venv_is_interleaved() {
    let _lock = exclusive();
    let project =
        Project::from_dir(&crate::support::repo_root().join("tests/fixtures/targets/iowait"));
    let files = project.hash_tree();
    let venv = project.join(".venv");
    assert!(!venv.exists());
    let out = project
        .test()
        .args(["apply"])
        .arg(crate::support::plan("xdist.toml"))
        .args([
            "--target",
            ".",
            "--var",
            "python=.venv/bin/python",
            "--var",
            "maxprocesses=2",
            // The verdict is not what this test checks, only how it was measured: three pairs,
            // not the budget `runs = "auto"` spends on a ratio near the bound (10 minutes on a
            // loaded machine).
            "--var",
            "runs=3",
        ])
        .status_in(&[0, 1, 7])
        // stderr: measured numbers vary.
        .stderr_contains("interleaved with `baseline`")
        .stderr_contains(" pairs interleaved")
        .stderr_contains(", paired over ")
        .run();
    assert!(!out.stderr.contains("sequential"), "{}", out.stderr);
    let report = report(&project);
    let comparison = &report["records"]["after"]["comparison"];
    assert_eq!(comparison["mode"], "interleaved", "{report:#}");
    assert_eq!(comparison["speed"]["basis"], "paired", "{comparison}");
    if report["exit_code"] == 0 {
        project
            .test()
            .args(["rollback", "--target", "."])
            .status(0)
            .stdout_unchecked("the rollback's account lists what it restored")
            .stderr_unchecked("notes vary")
            .run();
    }
    assert!(!venv.exists(), "the created venv is removed");
    assert_eq!(project.hash_tree(), files);
}

/// The drifting suite measured once before an edit that shortens its sleep, with `between`
/// (plan text) as a step between the two records; neither suite warms up. The edit makes the
/// sleep 20 times shorter, so that a pair or two settle the gate on any machine: the pairs'
/// opening is under test here, not the verdict.
fn reuse_plan(between: &str) -> String {
    let suite = format!(
        "{} -m pytest -q -p no:cacheprovider tests_drift",
        python().display()
    );
    format!(
        r#"name = "drift"
description = "the last baseline run opens the pairs"

[[phase]]
id = "before"
  [[phase.step]]
  id = "base"
  action = "suite"
  command = "{suite}"
  record = "baseline"
  min_runs = 1
  warmup = 0
  env = {{ PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }}

[[phase]]
id = "change"
needs = ["before"]
{between}
  [[phase.step]]
  id = "edit"
  action = "replace"
  path = "speed.cfg"
  pattern = "2.00"
  replacement = "0.10"

  [[phase.step]]
  id = "measure"
  needs = ["edit"]
  action = "suite"
  command = "{suite}"
  record = "after"
  min_runs = 1
  max_runs = 6
  warmup = 0
  env = {{ PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }}

  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median / 1.2"
"#
    )
}

/// Counted runs of `record` in the report, and how many of them are in a pair.
fn counted_and_paired(report: &Value, record: &str) -> (usize, usize) {
    let samples = report["records"][record]["samples"].as_array().unwrap();
    let counted = samples.iter().filter(|s| s["warmup"] != true).count();
    let paired = samples.iter().filter(|s| s["pair"].is_object()).count();
    (counted, paired)
}

/// The baseline's run, measured just before the changes, opens the pairs as their first `A`
/// (an AB pair): the 2-second suite runs once on each side where it ran once more before; a
/// step that takes a second between them (half the run) makes the gap too long, and the first
/// pair runs the baseline afresh.
#[test]
fn the_baseline_run_just_before_the_changes_opens_the_pairs() {
    let _lock = exclusive();
    let _load = busy_loops(2);
    let reused = "(its last run, just before the changes)";
    let project = drift_project(&reuse_plan(""));
    project.write("speed.cfg", "2.00\n");
    let out = apply_drifting(&project, &[0]);
    assert!(out.stderr.contains("(AB): `baseline` "), "{}", out.stderr);
    assert!(out.stderr.contains(reused), "{}", out.stderr);
    let got = report(&project);
    let pairs = got["records"]["after"]["comparison"]["pairs"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        counted_and_paired(&got, "baseline"),
        (pairs, pairs),
        "{got:#}"
    );
    let first = got["records"]["baseline"]["samples"][0]["pair"].clone();
    assert_eq!(first, serde_json::json!({"index": 1, "first": true}));

    let pause = "  [[phase.step]]\n  id = \"pause\"\n  action = \"run\"\n  command = \"sleep 1\"\n";
    let project = drift_project(&reuse_plan(pause));
    project.write("speed.cfg", "2.00\n");
    let out = apply_drifting(&project, &[0]);
    assert!(!out.stderr.contains(reused), "{}", out.stderr);
    let got = report(&project);
    let pairs = got["records"]["after"]["comparison"]["pairs"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        counted_and_paired(&got, "baseline"),
        (pairs + 1, pairs),
        "{got:#}"
    );
}
