//! Which suites measure the target before the plan changes it (the baselines a red suite must
//! never become), and the known-failure patterns a suite may declare.
//!
//! A suite is a baseline when it says `baseline = true`, or when it is a pytest suite that an
//! edit step (`write`, `replace`, `ini`, `toml`, `pytest-config`, `mark`) waits for and that
//! waits for none: it measures the repository as the person has it, before a change. Installs,
//! services and `run` steps before it prepare the measurement and do not make it an "after";
//! a plan that edits nothing only measures, and has no baseline to refuse. `baseline = false`
//! says a suite is a diagnosis expected to fail, never a baseline.

use std::collections::BTreeSet;

use crate::graph::{Node, PlanGraph};
use crate::plan::compiled::Phase;
use crate::plan::model::Framework;

/// Marks every suite of `phases` that measures before any edit as a baseline.
pub fn mark(phases: &mut [Phase], graph: &PlanGraph) {
    let edits: BTreeSet<Node> = phases
        .iter()
        .enumerate()
        .flat_map(|(phase, p)| {
            p.steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.compiled().edits_files())
                .map(move |(index, _)| Node::Step { phase, index })
        })
        .collect();
    // What some edit waits for: a suite among them measures before that change.
    let before_an_edit: BTreeSet<Node> = edits.iter().flat_map(|e| ancestors(graph, *e)).collect();
    for (phase, p) in phases.iter_mut().enumerate() {
        for (index, step) in p.steps.iter_mut().enumerate() {
            let Some(suite) = step.suite_mut() else {
                continue;
            };
            let node = Node::Step { phase, index };
            if suite.framework == Framework::Pytest
                && !suite.not_baseline
                && before_an_edit.contains(&node)
                && !ancestors(graph, node).iter().any(|n| edits.contains(n))
            {
                suite.checked_baseline = true;
            }
            suite.checked_baseline |= suite.baseline;
        }
    }
}

/// Every node `node` waits for, directly or not.
fn ancestors(graph: &PlanGraph, node: Node) -> BTreeSet<Node> {
    let mut seen = BTreeSet::new();
    let mut todo = graph.deps(node);
    while let Some(n) = todo.pop() {
        if seen.insert(n) {
            todo.extend(graph.deps(n));
        }
    }
    seen
}

/// Why a known-failure entry is not one, with what to write instead.
pub fn check_pattern(entry: &str) -> Result<(), (&'static str, &'static str)> {
    if entry.trim().is_empty() {
        return Err((
            "is empty",
            "write a pytest id such as `tests/test_x.py::test_y`, or a pattern with `*`",
        ));
    }
    if entry.trim() != entry || entry.chars().any(char::is_control) {
        return Err((
            "has surrounding spaces or a control character",
            "write the pytest id exactly as pytest prints it",
        ));
    }
    if entry.chars().all(|c| c == '*') {
        return Err((
            "matches every test",
            "name the failing tests (or their module with `tests/test_x.py::*`); `--accept-baseline-failures` takes whatever fails as known for one apply",
        ));
    }
    Ok(())
}

/// Whether test id `id` matches known-failure `pattern`: a `*` matches any run of characters,
/// every other character itself (so `[param]` ids need no escaping).
pub fn matches(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == id;
    }
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut tail) = id.strip_prefix(first) else {
        return false;
    };
    let last = rest[rest.len() - 1];
    for part in &rest[..rest.len() - 1] {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compiled::Step;

    #[test]
    fn patterns_match_ids_with_star_only() {
        assert!(matches("tests/t.py::test_a[1]", "tests/t.py::test_a[1]"));
        assert!(!matches("tests/t.py::test_a[1]", "tests/t.py::test_a[2]"));
        assert!(matches("tests/t.py::*", "tests/t.py::test_a[2]"));
        assert!(matches("*::test_a[*]", "tests/t.py::test_a[x]"));
        assert!(!matches("*::test_a[*]", "tests/t.py::test_b[x]"));
        assert!(matches("a*a", "aa"));
        assert!(!matches("a*a", "a"));
        assert!(matches("*b*", "abc"));
        assert!(!matches("tests/t.py", "tests/t.py::x"));
    }

    #[test]
    fn bad_patterns_say_what_to_write() {
        assert!(check_pattern("tests/t.py::x").is_ok());
        assert!(check_pattern("tests/*").is_ok());
        assert_eq!(check_pattern("").unwrap_err().0, "is empty");
        assert!(check_pattern(" x").is_err());
        assert!(check_pattern("a\nb").is_err());
        assert_eq!(check_pattern("**").unwrap_err().0, "matches every test");
    }

    #[test]
    fn suites_before_any_edit_are_baselines() {
        let text = "name='p'\ndescription='d'\n[[phase]]\nid='a'\n\
            [[phase.step]]\nid='deps'\naction='install'\npackages=['pytest']\n\
            [[phase.step]]\nid='base'\nneeds=['deps']\naction='suite'\ncommand='pytest'\nrecord='b'\n\
            [[phase.step]]\nid='cmd'\naction='suite'\nframework='command'\ncommand='true'\nrecord='c'\n\
            [[phase]]\nid='z'\nneeds=['a']\n\
            [[phase.step]]\nid='edit'\naction='replace'\npath='x'\npattern='a'\nreplacement='b'\n\
            [[phase.step]]\nid='after'\nneeds=['edit']\naction='suite'\ncommand='pytest'\nrecord='a'\n\
            [[phase.step]]\nid='saved'\nneeds=['edit']\naction='suite'\ncommand='pytest'\nrecord='s'\nbaseline=true\n\
            [[phase]]\nid='alone'\n\
            [[phase.step]]\nid='measure-only'\naction='suite'\ncommand='pytest'\nrecord='m'\n\
            [[phase.step]]\nid='diagnosis'\nneeds=['deps']\naction='suite'\ncommand='pytest'\nrecord='d'\nbaseline=false\n\
            [[phase.step]]\nid='later'\nneeds=['diagnosis']\naction='write'\npath='y'\ntemplate='t'\n";
        let model: crate::plan::model::Plan = toml::from_str(text).unwrap();
        let known = crate::plan::compiled::Known {
            graph: PlanGraph::build(&model).unwrap(),
            gates: Vec::new(),
        };
        let mut plan =
            crate::plan::compiled::compile(&model, &Default::default(), &Default::default(), known)
                .unwrap();
        mark(&mut plan.phases, &plan.graph);
        let checked: Vec<(&str, bool)> = plan
            .steps()
            .filter_map(|(_, s)| match s {
                Step::Suite(s) => Some((s.id.as_str(), s.checked_baseline)),
                _ => None,
            })
            .collect();
        assert_eq!(
            checked,
            [
                ("base", true),
                ("cmd", false),
                ("after", false),
                ("saved", true),
                ("measure-only", false),
                ("diagnosis", false),
            ]
        );
    }
}
