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
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It passed.
    #[default]
    Passed,
    /// An assertion or exception in the test itself.
    Failed,
    /// An error in setup, teardown or collection.
    Error,
    /// Skipped or xfail.
    Skipped,
}

/// One test's result, merged over the `<testcase>` elements that carry its id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TestResult {
    /// pytest's node id (`tests/test_auth.py::TestLogin::test_ok[1]`) when the file names the
    /// test's file (planrun asks for `junit_family=xunit1`), else `classname::name`, or just
    /// `name` when the class name is empty (collection errors).
    pub id: String,
    /// Failed beats error beats skipped beats passed.
    pub outcome: Outcome,
    /// Seconds, as pytest reported them (setup + call + teardown by default).
    pub time: f64,
    /// The test's file, relative to pytest's rootdir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The 1-based line a failure points at: where it was raised in the test's file, else the
    /// test's `def`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// A failure's or error's one-line message (`AssertionError: nope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A failure's or error's text as pytest printed it (the traceback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
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
    /// Values that were not believable and how they were taken (duplicate testcases, negative
    /// or non-finite times).
    pub warnings: Vec<String>,
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

/// How many examples a warning about bad values names.
const NAMED: usize = 3;

/// What the `<testcase>` elements of one test id said.
#[derive(Debug, Default)]
struct Seen {
    /// The outcome of the first element that is not a teardown error: the call (or setup).
    call: Option<Outcome>,
    /// Whether an element reported an error on teardown.
    teardown_error: bool,
    /// The worst outcome over every element.
    worst: Option<Outcome>,
    /// The longest believable time.
    time: f64,
    /// Elements beyond the one call and one teardown error pytest writes at most.
    extra: usize,
    /// The test's file and `def` line.
    file: Option<String>,
    line: Option<u32>,
    /// The worst element's failure or error: message, text, and the line it was raised at.
    problem: Option<(Option<String>, String, Option<u32>)>,
}

/// Parses the text of a pytest JUnit XML file. Counts come from the merged tests, so a file
/// that lists a test twice counts it once (with a warning) and `passed` never exceeds `tests`.
pub fn parse(xml: &str) -> Result<Report, JunitError> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    if !root.has_tag_name("testsuites") && !root.has_tag_name("testsuite") {
        return Err(JunitError::NotJunit(root.tag_name().name().to_string()));
    }
    let mut order: Vec<String> = Vec::new();
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut bad_times: Vec<String> = Vec::new();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        let class = case.attribute("classname").unwrap_or("");
        let name = case.attribute("name").unwrap_or("");
        let file = case.attribute("file").filter(|f| !f.is_empty());
        let id = node_id(class, name, file);
        let time = match case.attribute("time").map(|t| t.trim().parse::<f64>()) {
            None => 0.0,
            Some(Ok(t)) if t.is_finite() && t >= 0.0 => t,
            // A time pytest cannot have measured is unknown; 0 keeps it out of `slowest`.
            Some(_) => {
                let bad = format!("{id} ({})", case.attribute("time").unwrap_or_default());
                if !bad_times.contains(&bad) {
                    bad_times.push(bad);
                }
                0.0
            }
        };
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
        let on_teardown = !failure
            && error
                .and_then(|e| e.attribute("message"))
                .is_some_and(|m| m.starts_with("failed on teardown"));
        let entry = seen.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            Seen::default()
        });
        if entry.file.is_none() {
            entry.file = file.map(str::to_string);
            // xunit1 writes the `def` line 0-based.
            entry.line = case
                .attribute("line")
                .and_then(|l| l.trim().parse::<u32>().ok())
                .map(|l| l + 1);
        }
        let bad = child("failure").or(error);
        let worse_than_seen = entry.worst.is_none_or(|w| w.worse(outcome) != w);
        if let Some(el) = bad.filter(|_| worse_than_seen || entry.problem.is_none()) {
            let text = el.text().unwrap_or("").to_string();
            let raised = file.and_then(|f| raised_at(&text, f));
            entry.problem = Some((el.attribute("message").map(str::to_string), text, raised));
        }
        if on_teardown {
            entry.extra += usize::from(entry.teardown_error);
            entry.teardown_error = true;
        } else if let Some(call) = entry.call {
            entry.extra += 1;
            entry.call = Some(call.worse(outcome));
        } else {
            entry.call = Some(outcome);
        }
        entry.worst = Some(entry.worst.map_or(outcome, |w| w.worse(outcome)));
        entry.time = entry.time.max(time);
    }
    let mut counts = Counts::default();
    let mut duplicates: Vec<&str> = Vec::new();
    for id in &order {
        let Some(s) = seen.get(id) else { continue };
        // A test with only a teardown error passed its call, as pytest's summary says.
        match s.call.unwrap_or(Outcome::Passed) {
            Outcome::Passed => counts.passed += 1,
            Outcome::Failed => counts.failed += 1,
            Outcome::Error => counts.errors += 1,
            Outcome::Skipped => counts.skipped += 1,
        }
        counts.errors += u64::from(s.teardown_error);
        if s.extra > 0 {
            duplicates.push(id);
        }
    }
    counts.tests = order.len() as u64;
    let mut warnings = Vec::new();
    if !duplicates.is_empty() {
        warnings.push(format!(
            "junit file lists {} test(s) more than once, counted once: {}",
            duplicates.len(),
            named(&duplicates)
        ));
    }
    if !bad_times.is_empty() {
        let ids: Vec<&str> = bad_times.iter().map(String::as_str).collect();
        warnings.push(format!(
            "junit file has {} negative or non-finite test time(s), taken as unknown (0): {}",
            ids.len(),
            named(&ids)
        ));
    }
    let tests = order
        .into_iter()
        .filter_map(|id| {
            let s = seen.remove(&id)?;
            let (message, text, raised) = match s.problem {
                Some((m, t, r)) => (m, Some(t).filter(|t| !t.is_empty()), r),
                None => (None, None, None),
            };
            Some(TestResult {
                id,
                outcome: s.worst.unwrap_or(Outcome::Passed),
                time: s.time,
                file: s.file,
                line: raised.or(s.line),
                message,
                text,
            })
        })
        .collect();
    Ok(Report {
        tests,
        counts,
        warnings,
    })
}

/// pytest's node id from a testcase's attributes: xunit1's `file` gives the path, and the class
/// name after the module's dotted path gives the classes (`tests.test_a.TestX` in
/// `tests/test_a.py` is `tests/test_a.py::TestX`). Without a file, or when the class name does
/// not start with the module's path, it stays `classname::name`.
pub fn node_id(class: &str, name: &str, file: Option<&str>) -> String {
    let junit = if class.is_empty() {
        name.to_string()
    } else {
        format!("{class}::{name}")
    };
    let Some((file, module)) = file.and_then(|f| Some((f, f.strip_suffix(".py")?))) else {
        return junit;
    };
    let module = module.replace(['/', '\\'], ".");
    if class.is_empty() {
        // A module that failed to collect: its name is the module's dotted path.
        return if name == module {
            file.to_string()
        } else {
            junit
        };
    }
    let classes = if class == module {
        ""
    } else if let Some(rest) = class
        .strip_prefix(module.as_str())
        .and_then(|r| r.strip_prefix('.'))
    {
        rest
    } else {
        return junit;
    };
    let mut id = file.to_string();
    for part in classes.split('.').filter(|c| !c.is_empty()) {
        id.push_str("::");
        id.push_str(part);
    }
    id.push_str("::");
    id.push_str(name);
    id
}

/// The line a traceback says the failure was raised at in `file`: pytest ends a failure's text
/// with `tests/test_a.py:5: AssertionError`.
fn raised_at(text: &str, file: &str) -> Option<u32> {
    text.lines().rev().find_map(|l| {
        let rest = l.strip_prefix(file)?.strip_prefix(':')?;
        let (line, _) = rest.split_once(':')?;
        line.parse().ok()
    })
}

/// The first few of `items`, and how many more there are.
fn named(items: &[&str]) -> String {
    let shown = items[..items.len().min(NAMED)].join(", ");
    match items.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
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

    /// pytest 9 with `-o junit_family=xunit1` (trimmed): a class, a parametrized test, a setup
    /// error, a module that failed to import.
    const XUNIT1: &str = r#"<testsuites><testsuite name="pytest" errors="2" failures="2" tests="5"><testcase classname="tests.test_a.TestX" name="test_ok" file="tests/test_a.py" line="2" time="0.001" /><testcase classname="tests.test_a.TestX" name="test_bad" file="tests/test_a.py" line="3" time="0.001"><failure message="AssertionError: nope&#10;assert 1 == 2">    def test_bad(self):
&gt;       assert 1 == 2, "nope"
E       AssertionError: nope

tests/test_a.py:5: AssertionError</failure></testcase><testcase classname="tests.test_a" name="test_p[1.5]" file="tests/test_a.py" line="5" time="0.001"><failure message="assert 1.5 == 2">E   assert 1.5 == 2</failure></testcase><testcase classname="tests.test_a" name="test_err" file="tests/test_a.py" line="9" time="0.000"><error message="failed on setup with &quot;RuntimeError: fixture broke&quot;">tests/conftest.py:3: RuntimeError</error></testcase><testcase classname="" name="tests.test_b" file="tests/test_b.py" time="0.000"><error message="collection failure">ImportError while importing test module</error></testcase></testsuite></testsuites>"#;

    #[test]
    fn xunit1_files_give_pytest_ids_lines_and_failure_texts() {
        let r = parse(XUNIT1).unwrap();
        let ids: Vec<&str> = r.tests.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tests/test_a.py::TestX::test_ok",
                "tests/test_a.py::TestX::test_bad",
                "tests/test_a.py::test_p[1.5]",
                "tests/test_a.py::test_err",
                "tests/test_b.py",
            ]
        );
        let bad = &r.tests[1];
        assert_eq!(bad.file.as_deref(), Some("tests/test_a.py"));
        assert_eq!(bad.line, Some(5), "where it was raised");
        assert_eq!(
            bad.message.as_deref(),
            Some("AssertionError: nope\nassert 1 == 2")
        );
        assert!(bad
            .text
            .as_deref()
            .unwrap()
            .contains("E       AssertionError: nope"));
        assert_eq!(r.tests[2].line, Some(6), "the def, 1-based");
        assert_eq!(r.tests[3].line, Some(10), "raised in another file: the def");
        assert_eq!(r.tests[0].message, None);
        assert_eq!(r.tests[4].outcome, Outcome::Error);
        assert_eq!(r.counts, counts(1, 2, 0, 2, 5));
    }

    #[test]
    fn node_ids_fall_back_to_the_junit_names() {
        assert_eq!(node_id("m.C", "t", None), "m.C::t");
        assert_eq!(node_id("", "t", None), "t");
        assert_eq!(node_id("other.C", "t", Some("m.py")), "other.C::t");
        assert_eq!(node_id("m", "t", Some("m.py")), "m.py::t");
        assert_eq!(
            node_id("a.b.C.D", "t[x.y]", Some("a/b.py")),
            "a/b.py::C::D::t[x.y]"
        );
        assert_eq!(node_id("", "other", Some("m.py")), "other");
        assert_eq!(node_id("m", "t", Some("README.txt")), "m::t");
    }

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

    #[test]
    fn a_test_listed_twice_counts_once_with_a_warning() {
        let xml = r#"<testsuites><testsuite tests="4">
            <testcase classname="m" name="a" time="0.1"/>
            <testcase classname="m" name="a" time="0.1"/>
            <testcase classname="m" name="b" time="0.2"/>
            <testcase classname="m" name="c" time="0.3"/>
            <testcase classname="m" name="c" time="0.3"/>
        </testsuite></testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!(r.counts, counts(3, 0, 0, 0, 3));
        assert_eq!(r.tests.len(), 3);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(
            r.warnings[0].contains("2 test(s) more than once"),
            "{:?}",
            r.warnings
        );
        assert!(r.warnings[0].contains("m::a, m::c"), "{:?}", r.warnings);
    }

    #[test]
    fn a_duplicate_with_another_outcome_takes_the_worse_and_counts_once() {
        let xml = r#"<testsuite>
            <testcase classname="m" name="a"/>
            <testcase classname="m" name="a"><failure message="x"/></testcase>
            <testcase classname="m" name="a"><error message="failed on teardown with x"/></testcase>
            <testcase classname="m" name="a"><error message="failed on teardown with x"/></testcase>
        </testsuite>"#;
        let r = parse(xml).unwrap();
        assert_eq!(r.counts, counts(0, 1, 0, 1, 1));
        assert_eq!(r.tests[0].outcome, Outcome::Failed);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn the_teardown_shape_is_not_a_duplicate() {
        assert!(parse(TEARDOWN).unwrap().warnings.is_empty());
        assert!(parse(MIXED).unwrap().warnings.is_empty());
    }

    #[test]
    fn negative_and_non_finite_times_are_unknown() {
        let xml = r#"<testsuite>
            <testcase classname="m" name="neg" time="-5.0"/>
            <testcase classname="m" name="nan" time="NaN"/>
            <testcase classname="m" name="inf" time="inf"/>
            <testcase classname="m" name="big" time="-1e400"/>
            <testcase classname="m" name="ok" time="0.5"/>
            <testcase classname="m" name="junk" time="soon"/>
        </testsuite>"#;
        let r = parse(xml).unwrap();
        let times: Vec<f64> = r.tests.iter().map(|t| t.time).collect();
        assert_eq!(times, vec![0.0, 0.0, 0.0, 0.0, 0.5, 0.0]);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(
            r.warnings[0].starts_with("junit file has 5 negative or non-finite test time(s)"),
            "{:?}",
            r.warnings
        );
        assert!(r.warnings[0].contains("m::neg (-5.0)"), "{:?}", r.warnings);
        assert!(r.warnings[0].ends_with("and 2 more"), "{:?}", r.warnings);
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

        #[test]
        fn duplicates_never_count_more_than_the_tests(
            cases in prop::collection::vec((0u8..4, 0u8..6, -10.0f64..10.0), 0..30),
        ) {
            let xml: String = cases.iter().map(|(o, name, time)| {
                let child = ["", "<failure/>", "<error message=\"x\"/>", "<skipped/>"][*o as usize];
                format!(r#"<testcase classname="m" name="t{name}" time="{time}">{child}</testcase>"#)
            }).collect();
            let r = parse(&format!("<testsuite>{xml}</testsuite>")).unwrap();
            let c = r.counts;
            prop_assert_eq!(c.passed + c.failed + c.skipped + c.errors, c.tests);
            prop_assert!(r.tests.iter().all(|t| t.time >= 0.0 && t.time.is_finite()));
        }
    }
}
