//! Tests of per-test budgets: selectors, marker expressions, the `*` fallback, warnings for
//! budgets that match no test, and the dry run's account of what each key matched.
use super::*;

fn marks(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn paths_cover_what_lies_under_them_and_nothing_beside() {
    let unit = Budget::parse("tests/unit/", 0.1).unwrap();
    assert_eq!(unit.selector, Selector::Path("tests/unit".into()));
    let none = BTreeSet::new();
    assert!(unit.covers("tests/unit/test_x.py::TestY::test_z[a/b]", &none));
    assert!(!unit.covers("tests/unit_slow/test_x.py::test_z", &none));
    assert!(!unit.covers("tests/integration/test_x.py::test_z", &none));
    let class = Budget::parse("tests/unit/test_x.py::TestY", 0.1).unwrap();
    assert!(class.covers("tests/unit/test_x.py::TestY::test_z", &none));
    assert!(!class.covers("tests/unit/test_x.py::TestYZ::test_z", &none));
    let file = Budget::parse("./test_top.py", 1.0).unwrap();
    assert!(file.covers("test_top.py::test_a", &none));
}

#[test]
fn marker_expressions_read_as_pytest_reads_them() {
    let e = MarkExpr::parse("integration and not (db or slow)").unwrap();
    assert!(e.matches(&marks(&["integration"])));
    assert!(!e.matches(&marks(&["integration", "db"])));
    assert!(!e.matches(&marks(&["unit"])));
    assert!(MarkExpr::parse("a or b and c")
        .unwrap()
        .matches(&marks(&["a"])));
    for bad in ["", "a and", "(a", "a b", "not", "a | b"] {
        assert!(MarkExpr::parse(bad).is_err(), "{bad}");
    }
    let err = Budget::parse("slow and", 1.0).unwrap_err();
    assert!(err.to_string().contains("neither a path"), "{err}");
}

#[test]
fn budgets_must_be_positive_seconds() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Budget::parse("tests/unit", bad),
            Err(BudgetError::Seconds { .. })
        ));
    }
    assert_eq!(Budget::parse(" ", 1.0), Err(BudgetError::Empty));
}

/// Slowest first; a test two budgets cover is held to the smaller; a test no budget covers
/// is never over.
#[test]
fn over_budget_lists_the_offenders_slowest_first() {
    let budgets = vec![
        Budget::parse("tests/unit", 0.1).unwrap(),
        Budget::parse("tests/integration", 2.0).unwrap(),
        Budget::parse("fast", 0.05).unwrap(),
    ];
    let durations: BTreeMap<String, f64> = [
        ("tests/unit/test_a.py::test_quick", 0.01),
        ("tests/unit/test_a.py::test_slowish", 0.25),
        ("tests/unit/test_a.py::test_marked", 0.08),
        ("tests/integration/test_b.py::test_flow", 2.4),
        ("tests/integration/test_b.py::test_ok", 1.2),
        ("tests/other/test_c.py::test_free", 9.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let markers = BTreeMap::from([(
        "tests/unit/test_a.py::test_marked".to_string(),
        marks(&["fast"]),
    )]);
    let over = over_budget(&durations, &markers, &budgets);
    let ids: Vec<(&str, f64, &str)> = over
        .iter()
        .map(|o| (o.id.as_str(), o.budget, o.key.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (
                "tests/integration/test_b.py::test_flow",
                2.0,
                "tests/integration"
            ),
            ("tests/unit/test_a.py::test_slowish", 0.1, "tests/unit"),
            ("tests/unit/test_a.py::test_marked", 0.05, "fast"),
        ]
    );
    assert_eq!(
        over[1].describe(),
        "tests/unit/test_a.py::test_slowish 0.25 s > 0.10 s (tests/unit), 0.15 s over"
    );
}

/// `*` holds only the tests no other budget covers, even when it is the smaller.
#[test]
fn the_rest_budget_is_a_fallback() {
    let budgets = vec![
        Budget::parse("**/integration", 2.0).unwrap(),
        Budget::parse("*", 0.5).unwrap(),
    ];
    let durations: BTreeMap<String, f64> = [
        ("tests/integration/test_b.py::test_flow", 1.5),
        ("tests/test_c.py::test_slow", 0.75),
        ("tests/test_c.py::test_quick", 0.2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let over = over_budget(&durations, &BTreeMap::new(), &budgets);
    assert_eq!(over.len(), 1);
    assert_eq!(
        (over[0].id.as_str(), over[0].key.as_str()),
        ("tests/test_c.py::test_slow", "*")
    );
    assert!(unmatched(&durations, &BTreeMap::new(), &budgets).is_empty());
    assert!(matches!(
        Budget::parse("tests/*.py::test_a", 1.0),
        Err(BudgetError::GlobTestId { .. })
    ));
}

/// Budgets naming directories the suite does not have hold nothing: said, not passed over.
#[test]
fn budgets_that_match_no_test_are_named() {
    let durations: BTreeMap<String, f64> = [("tests/test_a.py::test_x".to_string(), 3.0)].into();
    let demo = vec![
        Budget::parse("tests/unit", 0.1).unwrap(),
        Budget::parse("tests/integration", 2.0).unwrap(),
    ];
    assert!(over_budget(&durations, &BTreeMap::new(), &demo).is_empty());
    let warnings = unmatched(&durations, &BTreeMap::new(), &demo);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with(
            "the budgets (tests/unit, tests/integration) match no test of the 1 measured"
        ),
        "{}",
        warnings[0]
    );
    let partly = vec![
        Budget::parse("tests/", 5.0).unwrap(),
        Budget::parse("tests/unit", 0.1).unwrap(),
        Budget::parse("**/unit", 0.1).unwrap(),
    ];
    assert_eq!(
        unmatched(&durations, &BTreeMap::new(), &partly),
        ["budget `tests/unit` matches no test: it holds nothing to its 0.1 s"]
    );
}

/// The dry run's account of each key: what a pattern matched, whether a path is there
/// (never looked up outside the target), `*` and marker keys as what they select.
#[test]
fn derived_says_what_each_key_matched_in_the_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tests/unit")).unwrap();
    let budgets: Vec<Budget> = [
        ("**/unit", 0.1),
        ("**/integration", 2.0),
        ("tests/unit/", 0.1),
        ("tests/e2e", 5.0),
        ("../../etc/", 1.0),
        ("*", 2.0),
        ("slow and not db", 9.0),
    ]
    .iter()
    .map(|(k, v)| Budget::parse(k, *v).unwrap())
    .collect();
    assert_eq!(
        derived(&budgets, dir.path()),
        [
            "**/unit 0.1 s -> tests/unit",
            "**/integration 2 s -> nothing in this repository",
            "tests/unit/ 0.1 s -> tests/unit",
            "tests/e2e 5 s -> nothing: no such path here",
            "../../etc/ 1 s -> nothing: no such path here",
            "* 2 s -> every test no other budget covers",
            "slow and not db 9 s -> tests marked `slow and not db`",
        ]
    );
}
