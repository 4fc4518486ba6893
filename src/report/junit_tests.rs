//! Tests of the JUnit renderer: structure, counts, escaping.

use super::super::fixture::sample;
use super::super::model::{GateStatus, StepStatus};
use super::*;

fn doc_counts(xml: &str) -> (usize, usize, usize, usize) {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
    (
        count("testcase"),
        count("failure"),
        count("error"),
        count("skipped"),
    )
}

#[test]
fn output_parses_and_counts_match() {
    let report = sample();
    let xml = to_junit(&report);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    let names: Vec<_> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["baseline", "parallel"]);
    // 6 steps + 3 gates + the 2 tests the failed gate names; the failed step, the failed gate
    // and its tests; the skipped step.
    assert_eq!(doc_counts(&xml), (11, 4, 0, 1));
    assert_eq!(root.attribute("tests"), Some("11"));
    assert_eq!(root.attribute("failures"), Some("4"));
    assert_eq!(
        root.attribute("skipped"),
        None,
        "junit-10.xsd has no such attribute here"
    );
    assert_eq!(suites[1].attribute("tests"), Some("9"));
    assert_eq!(suites[1].attribute("failures"), Some("4"));
    assert_eq!(suites[1].attribute("skipped"), Some("1"));
    assert_eq!(suites[0].attribute("failures"), Some("0"));
    for suite in &suites {
        assert_eq!(suite.attribute("timestamp"), Some("2025-03-01T10:15:00Z"));
        assert_eq!(suite.attribute("hostname"), Some("ci-runner-7"));
    }
}

#[test]
fn a_failed_gate_has_a_case_per_test_it_names_with_pytests_text() {
    let xml = to_junit(&sample());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap()
    };
    let auth = case("tests/test_auth.py::test_empty_password_is_refused");
    assert_eq!(auth.attribute("classname"), Some("planrun.test.after"));
    let failure = auth.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("failed in after: AssertionError: assert 200 == 400")
    );
    let body = failure.text().unwrap();
    assert!(body.starts_with("gate: after.passed == baseline.passed\nat: tests/test_auth.py:27\n\n    def test_empty"), "{body}");
    let cart = case("tests/test_cart.py::test_total");
    let failure = cart.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("flaky in after: assert 19.99 == 20.0 (1 of 3 runs)")
    );
    // The tests follow their gate.
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    let at = names
        .iter()
        .position(|n| *n == "after.passed == baseline.passed")
        .unwrap();
    assert_eq!(
        names[at + 1],
        "tests/test_auth.py::test_empty_password_is_refused"
    );
}

#[test]
fn tests_under_a_gate_that_only_warns_pass_with_a_note() {
    let mut report = sample();
    report.gates[0].status = GateStatus::Warn;
    let xml = to_junit(&report);
    assert_eq!(doc_counts(&xml), (11, 1, 0, 1));
    assert!(xml.contains("<system-out>failed in after: AssertionError: assert 200 == 400\ngate: "));
}

#[test]
fn steps_and_gates_have_their_class_names_and_times() {
    let xml = to_junit(&sample());
    assert!(xml.contains(
        "    <testcase classname=\"planrun.step\" name=\"measure\" time=\"108.400\"/>\n"
    ));
    assert!(xml.contains(
        "    <testcase classname=\"planrun.gate\" name=\"after.wall.median &lt;= baseline.wall.median / 1.3\" time=\"0.000\"/>\n"
    ));
}

#[test]
fn failed_gate_message_has_explanation_and_why() {
    let mut report = sample();
    report.gates[0].why = Some("nothing may break".into());
    let xml = to_junit(&report);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("after.passed == baseline.passed"))
        .unwrap();
    assert_eq!(case.attribute("classname"), Some(GATE_CLASS));
    let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("after.passed 117 == baseline.passed 118 (nothing may break)")
    );
    let body = failure.text().unwrap();
    assert!(body.contains("after.passed = 117\n"), "{body}");
    assert!(body.contains("why: nothing may break"), "{body}");
}

#[test]
fn failed_step_message_survives_escaping() {
    let xml = to_junit(&sample());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("migrate"))
        .and_then(|c| c.children().find(|n| n.has_tag_name("failure")))
        .unwrap();
    let message = "command `make migrate` exited with status 2 <stderr & \"more\">";
    assert_eq!(failure.attribute("message"), Some(message));
    assert!(failure
        .text()
        .unwrap()
        .ends_with("log: .planrun/runs/r1/logs/migrate.log"));
}

#[test]
fn warn_gate_passes_with_system_out() {
    let xml = to_junit(&sample());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("after.rss_peak_mb < baseline.rss_peak_mb * 2"))
        .unwrap();
    let kids: Vec<_> = case.children().filter(|n| n.is_element()).collect();
    assert_eq!(kids.len(), 1);
    assert!(kids[0].has_tag_name("system-out"));
    assert!(kids[0]
        .text()
        .unwrap()
        .starts_with("warning: after.rss_peak_mb 420.50 < baseline.rss_peak_mb 180 * 2 = 360 (memory, CI runners have 7 GB)"));
}

#[test]
fn error_and_unevaluated_gates() {
    let mut report = sample();
    report.gates[1].status = GateStatus::Error;
    report.gates[1].explanation = None;
    report.gates[1].message = Some("no run produced `after.wall.median`".into());
    report.gates[2].status = GateStatus::NotEvaluated;
    let xml = to_junit(&report);
    assert_eq!(doc_counts(&xml), (11, 4, 1, 2));
    assert!(xml.contains(
        "<error message=\"no run produced `after.wall.median` (parallel must pay for itself)\">"
    ));
}

#[test]
fn unchanged_and_running_steps() {
    let mut report = sample();
    report.steps[2].status = StepStatus::Running;
    let xml = to_junit(&report);
    assert!(xml.contains("<skipped message=\"still running when the report was written\"/>"));
    assert!(xml.contains("<system-out>unchanged</system-out>"));
}

#[test]
fn an_empty_report_is_still_valid() {
    let xml = to_junit(&Default::default());
    assert_eq!(doc_counts(&xml), (0, 0, 0, 0));
}

#[test]
fn escaper_handles_markup_and_control_characters() {
    let nasty = "<&>\"' a\tb\nc\rd\u{1b}[31m\u{0}e\u{FFFF}";
    assert_eq!(
        escape_attr(nasty),
        "&lt;&amp;&gt;&quot;&apos; a&#9;b&#10;c&#13;d\u{FFFD}[31m\u{FFFD}e\u{FFFD}"
    );
    assert_eq!(
        escape_text(nasty),
        "&lt;&amp;&gt;&quot;&apos; a\tb\nc&#13;d\u{FFFD}[31m\u{FFFD}e\u{FFFD}"
    );
    let xml = format!("<a v=\"{}\">{}</a>", escape_attr(nasty), escape_text(nasty));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let a = doc.root_element();
    let kept = "<&>\"' a\tb\nc\rd\u{FFFD}[31m\u{FFFD}e\u{FFFD}";
    assert_eq!(a.attribute("v"), Some(kept));
    assert_eq!(a.text(), Some(kept));
}

proptest::proptest! {
    #[test]
    fn any_names_give_a_parseable_document(step in "\\PC*", check in ".*", why in ".*") {
        let mut report = sample();
        report.steps[0].id = step.clone();
        report.gates[0].check = check.clone();
        report.gates[0].why = Some(why);
        let xml = to_junit(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        proptest::prop_assert_eq!(doc.descendants().filter(|n| n.has_tag_name("testcase")).count(), 11);
    }
}

#[test]
fn a_failed_budget_gate_names_the_tests_in_its_failure() {
    let xml = to_junit(&super::super::fixture::budgets());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("testcase") && n.attribute("name") == Some("after.over_budget == 0")
        })
        .and_then(|c| c.children().find(|n| n.has_tag_name("failure")))
        .expect("the budget gate fails");
    let body = failure.text().unwrap_or_default();
    for id in [
        "tests/integration/test_flow.py::test_checkout 2.31 s > 2.00 s (tests/integration), 0.31 s over",
        "tests/unit/test_tax.py::TestRates::test_rate[de] 0.25 s > 0.10 s (tests/unit), 0.15 s over",
    ] {
        assert!(body.contains(id), "{body}");
    }
}
