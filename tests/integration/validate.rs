//! `planrun validate`, `graph` and `schema` run as the real binary on tests/fixtures/plans.

use crate::support::lines;
use crate::support::{repo_root, Test};

const DIR: &str = "tests/fixtures/plans";

/// The diagnostic of tests/fixtures/plans/cycle.toml.
const CYCLE: &str = "error: dependency cycle: a -> c -> b -> a
 --> tests/fixtures/plans/cycle.toml:9:12
  |
9 |   needs = [\"c\"]
  |            ^^^
  = help: remove one of these `needs` to break the cycle

";

/// `planrun validate <plans...>` in the repository root.
fn validate(plans: &[&str]) -> Test<'static> {
    Test::new()
        .arg("validate")
        .args(plans.iter().map(|p| format!("{DIR}/{p}")))
}

#[test]
fn a_valid_plan_prints_one_summary_line() {
    validate(&["good.toml", "small.toml"])
        .stdout(
            "tests/fixtures/plans/good.toml: ok — 2 phases, 5 steps, 2 gates\n\
             tests/fixtures/plans/small.toml: ok — 2 phases, 3 steps, 1 gate\n",
        )
        .run();
}

#[test]
fn a_typo_is_rendered_with_place_and_hint() {
    validate(&["typo.toml"])
        .status(2)
        .stderr(
            "error: unknown field `need` in step `measure`\n  \
             --> tests/fixtures/plans/typo.toml:11:3\n   |\n\
             11 |   need = [\"deps\"]\n   |   ^^^^\n   \
             = help: did you mean `needs`?\n\n\
             invalid: tests/fixtures/plans/typo.toml: 1 problem\n\n",
        )
        .run();
}

#[test]
fn a_cycle_shows_its_path() {
    validate(&["cycle.toml"])
        .status(2)
        .stderr(format!(
            "{CYCLE}invalid: tests/fixtures/plans/cycle.toml: 1 problem\n\n"
        ))
        .run();
}

#[test]
fn every_problem_of_a_bad_plan_is_reported_and_good_plans_still_pass() {
    let out = validate(&["bad.toml", "good.toml"])
        .status(2)
        .stdout("tests/fixtures/plans/good.toml: ok — 2 phases, 5 steps, 2 gates\n")
        .verbatim()
        .stderr_snapshot("validate-bad")
        .run();
    let err = out.stderr;
    for line in [
        "error: dependency cycle: measure -> phase two -> phase one -> measure",
        "error: unknown variable `pyhton` in step `measure`",
        "error: path `/etc/passwd` in step `write` is absolute",
        "error: template `../outside.txt` in step `write` leaves the plan's directory with `..`",
        "error: duplicate step id `measure`",
        "   = note: first defined at line 12",
        "error: step `measure` needs unknown step `mesure`",
        "  --> tests/fixtures/plans/bad.toml:36:53",
        "invalid: tests/fixtures/plans/bad.toml: 9 problems",
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "missing `{line}` in:\n{err}"
        );
    }
}

#[test]
fn vars_come_from_the_command_line() {
    validate(&["vars.toml"])
        .status(2)
        .stderr(lines(&[
            "error: unknown variable `runs` in step `s`",
            "  --> tests/fixtures/plans/vars.toml:12:11",
            "   |",
            "12 |   runs = \"${runs}\"",
            "   |           ^^^^^^^",
            "   = help: define it in `[vars]` or pass `--var runs=...`",
            "",
            "invalid: tests/fixtures/plans/vars.toml: 1 problem",
            "",
        ]))
        .run();
    validate(&["vars.toml"])
        .args(["--var", "runs=5"])
        .stdout("tests/fixtures/plans/vars.toml: ok — 1 phase, 1 step, 0 gates\n")
        .run();
    validate(&["vars.toml"])
        .args(["--var", "runs"])
        .status(2)
        .stderr("error: `--var runs` lacks a value; write `--var runs=VALUE`\n")
        .run();
}

#[test]
fn missing_and_binary_files_are_errors_not_panics() {
    Test::new()
        .args(["validate", "no/such/plan.toml"])
        .status(2)
        .stderr(lines(&[
            "error: failed to read plan `no/such/plan.toml`: No such file or \
             directory (os error 2)",
            " = help: check the path; plans are TOML files such as \
             `plans/xdist.toml`",
            "",
            "invalid: no/such/plan.toml: 1 problem",
            "",
        ]))
        .run();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin.toml");
    std::fs::write(&bin, [0u8, 159, 146, 150, 255, b'\n']).unwrap();
    Test::new()
        .arg("validate")
        .arg(&bin)
        .status(2)
        .stderr(lines(&[
            "error: the plan is not valid UTF-8",
            " --> [TMP]/bin.toml:1:2",
            "  |",
            "1 | �����",
            "  |  ^",
            "  = help: save the file as UTF-8",
            "",
            "invalid: [TMP]/bin.toml: 1 problem",
            "",
        ]))
        .run();
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let plan = format!("{DIR}/small.toml");
    let dot = Test::new()
        .args(["graph", &plan])
        .stdout(lines(&[
            "digraph plan {",
            "  rankdir=TB;",
            "  node [shape=box];",
            "  subgraph cluster_0 {",
            "    label=\"base\";",
            "    n0 [label=\"deps\\ninstall\"];",
            "    n1 [label=\"measure\\nsuite\"];",
            "    n2 [label=\"base done\", shape=diamond];",
            "  }",
            "  subgraph cluster_1 {",
            "    label=\"fast\";",
            "    n3 [label=\"after\\nsuite\"];",
            "    n4 [label=\"1 gate\", shape=diamond];",
            "  }",
            "  n0 -> n1;",
            "  n1 -> n2;",
            "  n2 -> n3;",
            "  n3 -> n4;",
            "}",
        ]))
        .run()
        .stdout;
    assert!(dot.starts_with("digraph plan {\n"), "{dot}");
    for line in [
        "  subgraph cluster_1 {",
        "    n0 [label=\"deps\\ninstall\"];",
        "  n2 -> n3;",
    ] {
        assert!(
            dot.lines().any(|l| l == line),
            "missing `{line}` in:\n{dot}"
        );
    }
    let mermaid = Test::new()
        .args(["graph", &plan, "--format", "mermaid"])
        .stdout(lines(&[
            "flowchart TD",
            "  subgraph p0[\"base\"]",
            "    n0[\"deps<br/>install\"]",
            "    n1[\"measure<br/>suite\"]",
            "    n2{\"base done\"}",
            "  end",
            "  subgraph p1[\"fast\"]",
            "    n3[\"after<br/>suite\"]",
            "    n4{\"1 gate\"}",
            "  end",
            "  n0 --> n1",
            "  n1 --> n2",
            "  n2 --> n3",
            "  n3 --> n4",
        ]))
        .run()
        .stdout;
    assert!(
        mermaid
            .starts_with("flowchart TD\n  subgraph p0[\"base\"]\n    n0[\"deps<br/>install\"]\n"),
        "{mermaid}"
    );
    assert!(mermaid.lines().any(|l| l == "  n2 --> n3"), "{mermaid}");
    Test::new()
        .args(["graph", &format!("{DIR}/cycle.toml")])
        .status(2)
        .stderr(CYCLE)
        .run();
}

/// When this fails, schemas/plan.schema.json is stale: run
/// `cargo run -- schema > schemas/plan.schema.json`.
#[test]
fn schema_matches_the_committed_file() {
    let committed = std::fs::read_to_string(repo_root().join("schemas/plan.schema.json")).unwrap();
    Test::new().arg("schema").verbatim().stdout(committed).run();
}

/// Under GitHub Actions each problem is also an `::error` annotation at its place in the plan.
#[test]
fn validate_annotates_each_problem_on_github_actions() {
    validate(&["typo.toml"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", repo_root())
        .status(2)
        .stdout(
            "::error file=tests/fixtures/plans/typo.toml,line=11,col=3,title=planrun%3A invalid plan::\
             unknown field `need` in step `measure`%0Ahelp: did you mean `needs`?\n",
        )
        .stderr_contains("error: unknown field `need` in step `measure`\n")
        .run();
}
