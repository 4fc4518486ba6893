//! Sharded suites end to end with the real binary and a real pytest on copies of
//! examples/shard-demo (404 tests, its waits scaled to a tenth): local shards as concurrent
//! processes, two `--shard i/N` jobs merged, a test whose id differs between processes, and
//! the `shards` values and `--shard` slices refused before anything runs.
//!
//! The demo's tests sleep, so the split holds on a loaded machine; no figure is asserted on
//! timing beyond what any machine gives (walls positive, the run's wall the slowest shard's).

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::{one_phase_plan, only_run, plan_file, Project, Test};

/// The demo's suite at a tenth of its waits.
const SCALE: (&str, &str) = ("LEDGER_LATENCY_SCALE", "0.1");

/// The demo's test count.
const TESTS: u64 = 404;

/// A plan measuring the demo whole (`baseline`) and split (`after`, `shards = SHARDS`), with
/// gates only on what does not depend on the machine's speed.
fn plan(shards: &str) -> String {
    one_phase_plan(
        "shards",
        &format!(
            r#"
  [[phase.step]]
  id = "deps"
  action = "install"
  packages = ["pytest>=8"]
  [[phase.step]]
  id = "baseline"
  needs = ["deps"]
  action = "suite"
  command = "${{python}} -m pytest"
  record = "baseline"
  runs = 1
  warmup = 0
  [[phase.step]]
  id = "after"
  needs = ["baseline"]
  action = "suite"
  command = "${{python}} -m pytest"
  record = "after"
  runs = 2
  warmup = 1
  shards = {shards}
  [[phase.gate]]
  check = "after.tests == baseline.tests and after.failed == 0 and after.shards > 1"
"#
        ),
    )
}

fn apply<'a>(project: &'a Project, plan: &str, extra: &[&str]) -> Test<'a> {
    let mut args: Vec<OsString> = vec![
        "apply".into(),
        plan.into(),
        "--target".into(),
        project.path().into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    project
        .test()
        .args(args)
        .env(SCALE.0, SCALE.1)
        .stderr_unchecked("step timings vary")
}

fn report(run: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(run.join("report.json")).unwrap()).unwrap()
}

/// Four local shards: every test ran once (the gate on `tests` passed and the shards' test
/// counts add up), each counted run's wall is its slowest shard's, CPU is the shards' sum,
/// each shard has its own log, and the record says how evenly they shared the work.
#[test]
fn local_shards_run_every_test_once_as_concurrent_processes() {
    let project = Project::new("shard-demo");
    let (_dir, plan) = plan_file(&plan("4"));
    apply(&project, &plan, &[]).run();
    let run = only_run(&project);
    let r = report(&run);
    let after = &r["records"]["after"];
    assert_eq!(r["gates"][0]["status"], "pass", "{:#}", r["gates"]);
    assert_eq!(after["tests"].as_u64(), Some(TESTS));
    assert_eq!(after["passed"].as_u64(), Some(TESTS));
    let shards = &after["shards"];
    assert_eq!(shards["count"], 4);
    let balance = shards["balance"].as_f64().unwrap();
    assert!(balance > 0.0 && balance <= 1.0, "{balance}");
    // The warmup run taught the counted runs the durations.
    assert_eq!(shards["durations"], "the earlier records");
    for (k, walls) in shards["runs"].as_array().unwrap().iter().enumerate() {
        let walls: Vec<f64> = walls
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_f64().unwrap())
            .collect();
        assert_eq!(walls.len(), 4);
        let counted: Vec<&Value> = after["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["warmup"] == false)
            .collect();
        let slowest = walls.iter().copied().fold(0.0, f64::max);
        assert_eq!(counted[k]["wall"].as_f64(), Some(slowest));
    }
    for shard in 1..=4 {
        let log = run.join(format!("logs/after-run-1-shard-{shard}.log"));
        let text = fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(text.contains("passed"), "{text}");
        assert!(text.contains("deselected"), "{text}");
    }
    // A local run's report is no matrix job's: merging it is refused, naming it.
    Test::new()
        .args([OsString::from("report"), "merge".into(), run.clone().into()])
        .status(2)
        .stderr_contains(format!(
            "`{}` holds no record of one shard: it was not applied with `--shard i/N`",
            run.join("report.json").display()
        ))
        .run();
}

/// A CI matrix of two jobs, each on its own checkout with `--shard i/2`, each recording one
/// shard and deferring the gates; `report merge` joins them into the whole suite's record,
/// writes pytest-split's durations, and decides the criteria on the whole. A merge missing a
/// job names the shard; a third job's balance from that durations file puts the slow tests
/// apart.
#[test]
fn two_shard_jobs_merge_into_the_whole_suite() {
    let plan_text = plan("\"matrix\"");
    let (_dir, plan) = plan_file(&plan_text);
    let jobs: Vec<Project> = (0..2).map(|_| Project::new("shard-demo")).collect();
    let mut reports = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let slice = format!("{}/2", i + 1);
        let out = apply(job, &plan, &["--shard", &slice]).run();
        assert!(
            out.stderr.contains("the gates judge the whole suite"),
            "{}",
            out.stderr
        );
        let run = only_run(job);
        let r = report(&run);
        assert_eq!(r["gates"][0]["status"], "not-evaluated", "deferred");
        let part = &r["records"]["after"];
        assert_eq!(part["shards"]["only"].as_u64(), Some(i as u64 + 1));
        assert!(part["tests"].as_u64().unwrap() < TESTS);
        reports.push(run);
    }
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("merged.json");
    let durations = dir.path().join(".test_durations");
    let out = Test::new()
        .arg("report")
        .arg("merge")
        .args(&reports)
        .arg("-o")
        .arg(&merged)
        .arg("--durations")
        .arg(&durations)
        .args([
            "--check",
            "after.tests == baseline.tests and after.shards == 2",
        ])
        .args(["--check", "after.failed == 0"])
        .stdout_unchecked("walls vary")
        .run();
    assert!(
        out.stdout.contains("after: 2 shards, wall "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "check after.tests 404 == baseline.tests 404 and after.shards 2 == 2 ... pass"
        ),
        "{}",
        out.stdout
    );
    let whole: Value = serde_json::from_str(&fs::read_to_string(&merged).unwrap()).unwrap();
    let after = &whole["records"]["after"];
    assert_eq!(after["tests"].as_u64(), Some(TESTS));
    assert!(after["shards"]["only"].is_null());
    assert!(after["shards"]["balance"].as_f64().unwrap() > 0.0);
    let times: serde_json::Map<String, Value> =
        serde_json::from_str(&fs::read_to_string(&durations).unwrap()).unwrap();
    assert_eq!(times.len() as u64, TESTS);

    // One job's report alone is not the whole suite.
    Test::new()
        .args([
            OsString::from("report"),
            "merge".into(),
            reports[0].clone().into(),
        ])
        .status(2)
        .stdout_unchecked("nothing merged")
        .stderr_contains("no report is shard 2 of 2: the whole suite needs every shard")
        .run();
    // A job's report given twice is named, as is a `--plan` the jobs did not apply.
    let twice = reports[0].join("report.json");
    Test::new()
        .args([OsString::from("report"), "merge".into()])
        .arg(&reports[0])
        .arg(&twice)
        .arg(&reports[1])
        .status(2)
        .stderr_contains(format!(
            "shard 1 of 2 is given more than once: `{0}`, `{0}`",
            twice.display()
        ))
        .run();
    let (_other_dir, other) = plan_file("name = \"other\"\n");
    Test::new()
        .args([OsString::from("report"), "merge".into()])
        .args(&reports)
        .args(["--plan", &other])
        .status(2)
        .stderr_contains("is plan `other`, but the jobs applied plan `shards`")
        .run();
    // A failing criterion is a failed gate.
    Test::new()
        .args([OsString::from("report"), "merge".into()])
        .args(&reports)
        .args(["--check", "after.tests > 404"])
        .status(1)
        .stdout_contains("check after.tests 404 > 404 ... FAIL")
        .run();

    // With durations committed, a job balances from them: the two tests the file says are
    // slowest by far land on different shards (times set here, so no machine reorders them).
    let third = Project::new("shard-demo");
    let mut committed = times.clone();
    for (id, t) in committed.iter_mut() {
        *t = Value::from(match () {
            _ if id.ends_with("[1.4]") => 100.0,
            _ if id.ends_with("[1.2]") => 99.0,
            _ => 0.01,
        });
    }
    fs::write(
        third.join(".test_durations"),
        serde_json::to_string(&committed).unwrap(),
    )
    .unwrap();
    // Its plan was edited since the first two jobs ran (a stale artifact of an older run).
    let (_edited_dir, edited) = plan_file(&(plan_text.clone() + "# edited\n"));
    apply(&third, &edited, &["--shard", "1/2"]).run();
    let stale = only_run(&third);
    let part = &report(&stale)["records"]["after"];
    assert_eq!(part["shards"]["durations"], "`.test_durations`");
    let ran: Vec<&String> = part["durations"].as_object().unwrap().keys().collect();
    let slow = |p: &str| ran.iter().any(|id| id.ends_with(&format!("[{p}]")));
    assert!(slow("1.4") != slow("1.2"), "{ran:?}");
    Test::new()
        .args([OsString::from("report"), "merge".into()])
        .arg(&stale)
        .arg(&reports[1])
        .status(2)
        .stderr_contains("the jobs did not apply the same plan alike")
        .stderr_contains(format!(
            "{}/report.json` is a report of plan `shards` (hash ",
            reports[1].display()
        ))
        .run();
}

/// A parametrization whose ids are random differs in every process: the shards cannot agree
/// on the tests, and the step fails naming tests that ran in no shard, not a short suite.
#[test]
fn tests_whose_ids_differ_between_processes_fail_the_step() {
    let project = Project::new("shard-demo");
    project.write(
        "tests/unit/test_random.py",
        "import random\n\nimport pytest\n\n\n@pytest.mark.parametrize(\"x\", [random.random() for _ in range(6)])\ndef test_random(x):\n    assert x < 1\n",
    );
    let (_dir, plan) = plan_file(&plan("2"));
    let out = apply(&project, &plan, &[]).status(3).run();
    assert!(
        out.stderr.contains("split its tests over shards unevenly")
            && out.stderr.contains("ran in no shard")
            && out
                .stderr
                .contains("tests/unit/test_random.py::test_random["),
        "{}",
        out.stderr
    );
}

/// Bad `shards` values are refused by `validate` (and so before any apply) with the plan's
/// file, line and column; so are a `--shard` slice that is no slice or that disagrees with the
/// plan, and `--shard` on a plan without shards.
#[test]
fn bad_shards_values_and_slices_are_refused_before_anything_runs() {
    let step = |id: &str, extra: &str| {
        format!("  [[phase.step]]\n  id = \"{id}\"\n  action = \"suite\"\n  command = \"pytest\"\n  record = \"{id}\"\n{extra}\n")
    };
    let text = one_phase_plan(
        "bad",
        &[
            step("many", "  shards = 65"),
            step("cmd", "  framework = \"command\"\n  shards = 2"),
            step("cov", "  coverage = true\n  shards = 2"),
        ]
        .concat(),
    );
    let (_dir, path) = plan_file(&text);
    let out = Test::new()
        .args(["validate", &path])
        .status(2)
        .stderr_unchecked("checked below")
        .run();
    for (message, line) in [
        ("`shards = 65` in step `many` is more than 64", 10),
        ("`shards` in step `cmd` needs a pytest suite", 17),
        (
            "`shards` in step `cov` cannot be combined with `coverage = true`",
            24,
        ),
    ] {
        assert!(out.stderr.contains(message), "{message}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{path}:{line}:")),
            "{path}:{line}: {}",
            out.stderr
        );
    }
    let (_dir, words) = plan_file(&one_phase_plan("bad", &step("s", "  shards = \"many\"")));
    Test::new()
        .args(["validate", &words])
        .status(2)
        .stderr_contains("`shards` in step `s` must be a whole number of at least 1 or `\"matrix\"`, but it is `many`")
        .stderr_contains(format!("{words}:10:"))
        .run();

    let project = Project::new("shard-demo");
    let (_dir, four) = plan_file(&plan("4"));
    let before = project.hash_tree();
    apply(&project, &four, &["--shard", "5/4"])
        .status(2)
        .stderr_contains("--shard: `5/4` is no shard: write `i/N`")
        .run();
    apply(&project, &four, &["--shard", "1/3"])
        .status(2)
        .stderr_contains(
            "`--shard 1/3` splits into 3 shards but the step says `shards = 4` (step `after`",
        )
        .run();
    let (_dir, whole) = plan_file(&plan("1").replace("  shards = 1\n", ""));
    project
        .test()
        .args(["apply", &whole, "--target"])
        .arg(project.path())
        .env("PLANRUN_SHARD", "1/2")
        .status(2)
        .stderr_contains("--shard 1/2: no suite step of")
        .run();
    assert_eq!(project.hash_tree(), before, "nothing ran");
}

/// Two jobs whose sharded after-suite was measured in interleaved pairs with their sharded
/// baseline (a pytest-config edit between, which planrun switches): each job's pairs cancel its
/// own machine's drift, but joined across jobs they would compare machines, so the merge says
/// it compares medians and keeps no paired interval.
#[test]
fn jobs_measured_in_pairs_merge_on_medians_and_say_so() {
    let text = one_phase_plan(
        "paired-shards",
        r#"
  [[phase.step]]
  id = "deps"
  action = "install"
  packages = ["pytest>=8"]
  [[phase.step]]
  id = "baseline"
  needs = ["deps"]
  action = "suite"
  command = "${python} -m pytest"
  record = "baseline"
  runs = 2
  warmup = 0
  shards = "matrix"
  [[phase.step]]
  id = "addopts"
  needs = ["baseline"]
  action = "pytest-config"
  addopts_add = ["-p", "no:cacheprovider"]
  [[phase.step]]
  id = "after"
  needs = ["addopts"]
  action = "suite"
  command = "${python} -m pytest"
  record = "after"
  runs = 2
  warmup = 0
  shards = "matrix"
  [[phase.gate]]
  check = "after.tests == baseline.tests"
  [[phase.gate]]
  check = "after.wall.median <= baseline.wall.median * 100"
"#,
    );
    let (_dir, plan) = plan_file(&text);
    let mut reports = Vec::new();
    for i in 1..=2 {
        let job = Project::new("shard-demo");
        apply(&job, &plan, &["--shard", &format!("{i}/2")]).run();
        let run = only_run(&job);
        let after = &report(&run)["records"]["after"];
        assert_eq!(after["comparison"]["mode"], "interleaved", "{after:#}");
        reports.push((job, run));
    }
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("merged.json");
    let out = Test::new()
        .args([OsString::from("report"), "merge".into()])
        .args(reports.iter().map(|(_, run)| run))
        .arg("-o")
        .arg(&merged)
        .args(["--check", "after.tests == baseline.tests"])
        .stdout_unchecked("walls vary")
        .stderr_contains("`after` was measured in interleaved pairs with `baseline` within each job; pairs are not joined across jobs")
        .run();
    assert!(
        out.stdout
            .contains("check after.tests 404 == baseline.tests 404 ... pass"),
        "{}",
        out.stdout
    );
    let whole: Value = serde_json::from_str(&fs::read_to_string(&merged).unwrap()).unwrap();
    assert!(whole["records"]["after"]["comparison"].is_null());
    assert_eq!(whole["records"]["baseline"]["tests"].as_u64(), Some(TESTS));
}
