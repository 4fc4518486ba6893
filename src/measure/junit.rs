//! Reading pytest's JUnit XML: each test's outcome and duration, and counts that match pytest's
//! own summary line.
//!
//! pytest writes one `<testcase>` per test, with a `<failure>`, `<error>` or `<skipped>` child when
//! it did not pass. Two shapes need care. A test whose teardown fails gets a second `<testcase>`
//! with the same name and an `<error>` ("failed on teardown"); when the call itself passed, that
//! is the only element, yet pytest counts the test as passed *and* reports an error, so we do too.
//! A module that fails to import is a `<testcase classname="" name="module">` with an `<error>`
//! ("collection failure"). xfail is written as `<skipped type="pytest.xfail">` and counts as
//! skipped, as in the file's own totals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It passed.
    Passed,
    /// An assertion or exception in the test itself.
    Failed,
    /// An error in setup, teardown or collection.
    Error,
    /// Skipped or xfail.
    Skipped,
}

/// One test's result, merged over the `<testcase>` elements that carry its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// `classname::name`, or just `name` when the class name is empty (collection errors).
    pub id: String,
    /// Failed beats error beats skipped beats passed.
    pub outcome: Outcome,
    /// Seconds, as pytest reported them (setup + call + teardown by default).
    pub time: f64,
}

/// Counts in the sense of pytest's summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Tests whose call passed (also when their teardown then failed).
    pub passed: u64,
    /// `<failure>` elements.
    pub failed: u64,
    /// Tests skipped, xfail included.
    pub skipped: u64,
    /// `<error>` elements: setup, teardown and collection errors.
    pub errors: u64,
    /// Distinct test ids in the file.
    pub tests: u64,
}

/// Everything read from one JUnit file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// One entry per test id, in file order.
    pub tests: Vec<TestResult>,
    /// The summary counts.
    pub counts: Counts,
}

/// Why a JUnit file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    /// Not well-formed XML.
    #[error("junit file is not valid XML")]
    Xml(#[from] roxmltree::Error),
    /// XML, but not JUnit.
    #[error("junit file has no <testsuite> element (root is <{0}>)")]
    NotJunit(String),
}

/// Parses the text of a pytest JUnit XML file.
pub fn parse(xml: &str) -> Result<Report, JunitError> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    if !root.has_tag_name("testsuites") && !root.has_tag_name("testsuite") {
        return Err(JunitError::NotJunit(root.tag_name().name().to_string()));
    }
    let mut counts = Counts::default();
    let mut order: Vec<String> = Vec::new();
    let mut merged: BTreeMap<String, (TestResult, bool)> = BTreeMap::new();
    // Teardown errors whose test has no other element: the call passed.
    let mut teardown_only: Vec<String> = Vec::new();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        let class = case.attribute("classname").unwrap_or("");
        let name = case.attribute("name").unwrap_or("");
        let id = if class.is_empty() {
            name.to_string()
        } else {
            format!("{class}::{name}")
        };
        let time = case
            .attribute("time")
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0);
        let child = |tag: &str| case.children().find(|c| c.has_tag_name(tag));
        let failure = child("failure").is_some();
        let error = child("error");
        let skipped = child("skipped").is_some();
        let outcome = if failure {
            Outcome::Failed
        } else if error.is_some() {
            Outcome::Error
        } else if skipped {
            Outcome::Skipped
        } else {
            Outcome::Passed
        };
        counts.failed += u64::from(failure);
        counts.errors += u64::from(error.is_some());
        counts.skipped += u64::from(skipped && !failure && error.is_none());
        counts.passed += u64::from(outcome == Outcome::Passed);
        let on_teardown = error
            .and_then(|e| e.attribute("message"))
            .is_some_and(|m| m.starts_with("failed on teardown"));
        match merged.get_mut(&id) {
            Some((known, seen_twice)) => {
                known.outcome = known.outcome.worse(outcome);
                known.time = known.time.max(time);
                *seen_twice = true;
            }
            None => {
                if on_teardown && !failure {
                    teardown_only.push(id.clone());
                }
                order.push(id.clone());
                let result = TestResult {
                    id: id.clone(),
                    outcome,
                    time,
                };
                merged.insert(id, (result, false));
            }
        }
    }
    for id in &teardown_only {
        if merged.get(id).is_some_and(|(_, twice)| !twice) {
            counts.passed += 1;
        }
    }
    counts.tests = order.len() as u64;
    let tests = order
        .iter()
        .filter_map(|id| merged.remove(id).map(|(r, _)| r))
        .collect();
    Ok(Report { tests, counts })
}

impl Outcome {
    /// The more severe of two outcomes of the same test: failed, then error, then skipped.
    fn worse(self, other: Outcome) -> Outcome {
        let rank = |o: Outcome| match o {
            Outcome::Failed => 0,
            Outcome::Error => 1,
            Outcome::Skipped => 2,
            Outcome::Passed => 3,
        };
        if rank(other) < rank(self) {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real pytest 8 output (trimmed bodies): pass, fail in a class, setup error, skip, xfail,
    /// parametrized ids.
    const MIXED: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="7" time="0.043" timestamp="2026-11-21T13:47:10.618007+00:00" hostname="vm"><testcase classname="test_demo.TestThing" name="test_ok" time="0.000" /><testcase classname="test_demo.TestThing" name="test_fail" time="0.001"><failure message="AssertionError: nope&#10;assert 1 == 2">self = &lt;test_demo.TestThing object at 0x7eff13eb1a90&gt;
E   AssertionError: nope</failure></testcase><testcase classname="test_demo" name="test_error" time="0.000"><error message="failed on setup with &quot;RuntimeError: fixture broke&quot;">E       RuntimeError: fixture broke</error></testcase><testcase classname="test_demo" name="test_skip" time="0.000"><skipped type="pytest.skip" message="not today">/tmp/pyt/test_demo.py:9: not today</skipped></testcase><testcase classname="test_demo" name="test_xfail" time="0.000"><skipped type="pytest.xfail" message="" /></testcase><testcase classname="test_demo" name="test_param[1]" time="0.250" /><testcase classname="test_demo" name="test_param[2]" time="0.000" /></testsuite></testsuites>"#;

    /// pytest's summary: 1 failed, 1 passed, 2 errors.
    const TEARDOWN: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="2" failures="1" skipped="0" tests="3" time="0.036"><testcase classname="test_td" name="test_fails_then_teardown" time="0.010"><failure message="assert 0"></failure></testcase><testcase classname="test_td" name="test_fails_then_teardown" time="0.000"><error message="failed on teardown with &quot;RuntimeError: teardown broke&quot;"></error></testcase><testcase classname="test_td" name="test_passes_then_teardown" time="0.000"><error message="failed on teardown with &quot;RuntimeError: teardown broke&quot;"></error></testcase></testsuite></testsuites>"#;

    /// An import error at collection: pytest says "Interrupted: 1 error during collection".
    const COLLECTION: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1" time="0.124"><testcase classname="" name="test_broken" time="0.000"><error message="collection failure">ImportError while importing test module '/tmp/pyt/test_broken.py'.</error></testcase></testsuite></testsuites>"#;

    fn counts(passed: u64, failed: u64, skipped: u64, errors: u64, tests: u64) -> Counts {
        Counts {
            passed,
            failed,
            skipped,
            errors,
            tests,
        }
    }

    #[test]
    fn mixed_outcomes_match_pytest_summary() {
        // pytest said: 1 failed, 3 passed, 1 skipped, 1 xfailed, 1 error.
        let r = parse(MIXED).unwrap();
        assert_eq!(r.counts, counts(3, 1, 2, 1, 7));
        let outcome = |id: &str| r.tests.iter().find(|t| t.id == id).unwrap().outcome;
        assert_eq!(outcome("test_demo.TestThing::test_ok"), Outcome::Passed);
        assert_eq!(outcome("test_demo.TestThing::test_fail"), Outcome::Failed);
        assert_eq!(outcome("test_demo::test_error"), Outcome::Error);
        assert_eq!(outcome("test_demo::test_skip"), Outcome::Skipped);
        assert_eq!(outcome("test_demo::test_xfail"), Outcome::Skipped);
        assert_eq!(r.tests[5].id, "test_demo::test_param[1]");
        assert_eq!(r.tests[5].time, 0.25);
    }

    #[test]
    fn teardown_errors_merge_into_their_test() {
        let r = parse(TEARDOWN).unwrap();
        assert_eq!(r.counts, counts(1, 1, 0, 2, 2));
        assert_eq!(r.tests.len(), 2);
        assert_eq!(r.tests[0].outcome, Outcome::Failed);
        assert_eq!(r.tests[0].time, 0.010);
        assert_eq!(r.tests[1].outcome, Outcome::Error);
    }

    #[test]
    fn collection_errors_count_as_errors() {
        let r = parse(COLLECTION).unwrap();
        assert_eq!(r.counts, counts(0, 0, 0, 1, 1));
        assert_eq!(r.tests[0].id, "test_broken");
        assert_eq!(r.tests[0].outcome, Outcome::Error);
    }

    #[test]
    fn bare_testsuite_root_and_empty_suites() {
        let r = parse(r#"<testsuite tests="1"><testcase classname="a" name="b"/></testsuite>"#);
        assert_eq!(r.unwrap().counts, counts(1, 0, 0, 0, 1));
        let empty = parse(r#"<testsuites><testsuite name="pytest" tests="0"/></testsuites>"#);
        assert_eq!(empty.unwrap(), Report::default());
    }

    #[test]
    fn rejects_what_is_not_junit() {
        assert!(matches!(parse(""), Err(JunitError::Xml(_))));
        assert!(matches!(parse("<testsuites>"), Err(JunitError::Xml(_))));
        let other = parse("<html/>").unwrap_err();
        assert_eq!(
            other.to_string(),
            "junit file has no <testsuite> element (root is <html>)"
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn counts_add_up(outcomes in prop::collection::vec(0u8..4, 0..30)) {
            let cases: String = outcomes.iter().enumerate().map(|(i, o)| {
                let child = ["", "<failure/>", "<error message=\"x\"/>", "<skipped/>"][*o as usize];
                format!(r#"<testcase classname="m" name="t{i}" time="0.1">{child}</testcase>"#)
            }).collect();
            let r = parse(&format!("<testsuites><testsuite>{cases}</testsuite></testsuites>")).unwrap();
            let c = r.counts;
            prop_assert_eq!(c.passed + c.failed + c.skipped + c.errors, c.tests);
            prop_assert_eq!(c.tests as usize, outcomes.len());
        }
    }
}
