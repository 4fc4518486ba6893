//! One load, one compile: the graph is built once and each gate parsed once, whichever of
//! validate, resolve, a stage's resolve or `planrun graph` reads the plan afterwards.

use std::collections::BTreeMap;
use std::path::Path;

use crate::graph::{PlanGraph, BUILDS};
use crate::plan::gates::PARSES;
use crate::plan::{load_bytes, validate, ValidPlan};

const PLAN: &str = "name = 'x'\ndescription = 'd'\n\
    [[stage]]\nid = 'dev'\nphases = ['base']\n\
    [[stage]]\nid = 'ci'\nphases = ['after']\n\
    [[phase]]\nid = 'base'\n\
    [[phase.step]]\nid = 'b'\naction = 'suite'\ncommand = 'pytest'\nrecord = 'baseline'\n\
    [[phase.gate]]\ncheck = 'baseline.failed == 0'\n\
    [[phase]]\nid = 'common'\n\
    [[phase.step]]\nid = 'c'\naction = 'run'\ncommand = 'true'\n\
    [[phase]]\nid = 'after'\nneeds = ['base']\n\
    [[phase.step]]\nid = 'e'\naction = 'replace'\npath = 'f'\npattern = 'a'\nreplacement = 'b'\n\
    [[phase.step]]\nid = 'a'\nneeds = ['e']\naction = 'suite'\ncommand = 'pytest'\nrecord = 'after'\n\
    [[phase.gate]]\ncheck = 'after.failed == 0'\n\
    [[phase.gate]]\ncheck = 'after.wall.median <= baseline.wall.median * 0.9'\n";

fn counts() -> (usize, usize) {
    (BUILDS.with(|n| n.get()), PARSES.with(|n| n.get()))
}

fn valid(text: &str) -> ValidPlan {
    let loaded = load_bytes(Path::new("p.toml"), text.as_bytes()).unwrap();
    validate(loaded, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn builtins() -> BTreeMap<String, String> {
    [("target", "/t"), ("plan_dir", "/p"), ("python", "python3")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Before one compile, a load built the graph four times and parsed each gate three times.
#[test]
fn a_load_builds_one_graph_and_parses_each_gate_once() {
    let before = counts();
    let valid = valid(PLAN);
    let resolved = valid.resolve(&builtins()).unwrap().plan;
    let staged = valid.resolve_stage(&builtins(), Some(0)).unwrap().plan;
    let shown = valid.compile().unwrap().plan;
    let after = counts();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 3),
        "graphs built, gates parsed"
    );
    assert_eq!(resolved.phases.len(), 3);
    assert_eq!(
        staged.phases.len(),
        2,
        "stage `dev` runs `base` and `common`"
    );
    assert_eq!(
        shown.order, resolved.order,
        "`planrun graph` draws the order an apply runs"
    );
}

/// A stage's graph, cut from the plan's, is the graph of the plan that stage runs.
#[test]
fn a_stage_graph_is_the_graph_of_its_phases() {
    let valid = valid(PLAN);
    for stage in 0..2 {
        let staged = valid.resolve_stage(&builtins(), Some(stage)).unwrap().plan;
        let (selected, _) = crate::plan::stages::select(&valid.plan, stage);
        let built = PlanGraph::build(&selected).unwrap();
        assert_eq!(staged.order, built.order(), "stage {stage}");
        for node in built.nodes() {
            assert_eq!(staged.graph.deps(node), built.deps(node), "{node:?}");
        }
    }
}

/// A check that does not parse is one problem, parsed once, never echoed by later checks.
#[test]
fn a_bad_gate_is_one_problem_parsed_once() {
    let text = PLAN.replace("after.failed == 0", "after.failed ==");
    let before = counts();
    let loaded = load_bytes(Path::new("p.toml"), text.as_bytes()).unwrap();
    let problems = validate(loaded, &[]).unwrap_err();
    let after = counts();
    let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["invalid check in gate 1 of phase `after`: the expression ends too early: a number or metric is missing"],
    );
    assert_eq!(after.1 - before.1, 3, "each of the three gates parsed once");
}

/// A gate whose text changes once the target is known (it names a variable) is parsed again;
/// the others keep validation's parse.
#[test]
fn only_a_gate_whose_text_changed_is_parsed_again() {
    let text = PLAN
        .replace(
            "description = 'd'\n",
            "description = 'd'\n[vars]\nlimit = '0.9'\n",
        )
        .replace("* 0.9", "* ${limit}");
    let valid = valid(&text);
    let before = counts();
    valid.resolve(&builtins()).unwrap();
    let mut vars = builtins();
    vars.insert("limit".into(), "0.5".into());
    let plan = valid.resolve(&vars).unwrap().plan;
    let after = counts();
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, 1));
    assert_eq!(
        plan.phases[2].gates[1].check,
        "after.wall.median <= baseline.wall.median * 0.5"
    );
}
