//! Tests of the HTML report: self-contained, every section present with its data, every chart
//! well-formed SVG with one mark per run or test, and text escaped.

use super::super::fixture::{rich, sample};
use super::super::html_changes::log_href;
use super::*;

/// Every `<svg>` element of `page`, parsed.
fn charts(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<svg ") {
        let end = rest[start..].find("</svg>").expect("a closed svg") + start + 6;
        let svg = &rest[start..end];
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        out.push(svg.to_string());
        rest = &rest[end..];
    }
    out
}

fn chart<'a>(all: &'a [String], class: &str) -> Vec<&'a String> {
    let prefix = format!("<svg class=\"chart {class}\"");
    all.iter().filter(|c| c.starts_with(&prefix)).collect()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn the_page_is_self_contained_and_has_both_colour_schemes() {
    let page = to_html(&rich());
    assert!(
        page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n"),
        "{page}"
    );
    assert!(page.ends_with("</html>\n"));
    // Nothing to fetch and nothing to run; the policy forbids both should anything slip in.
    for banned in [
        "<script", "<link", "@import", "url(", "http://", "https://", "src=",
    ] {
        assert!(!page.contains(banned), "{banned} in the page");
    }
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    assert!(page.contains("@media (prefers-color-scheme: dark)"));
    assert!(page.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
}

#[test]
fn the_verdict_and_every_gate_show_with_values_and_interval() {
    let page = to_html(&rich());
    assert!(page
        .contains("<h1>xdist <span class=\"verdict fail\">✗ gate failed, rolled back</span></h1>"));
    // The figure a gate comparing the two records' times decides on (here in sequence).
    assert!(page.contains(
        "<p class=\"headline\">median wall time: baseline 34.90 s → after 3.20 s: 10.9x faster, 99% CI 8.92-13.3x, in sequence, 3+3 runs</p>"
    ));
    assert_eq!(count(&page, "<span class=\"badge fail\">✗ fail</span>"), 1);
    assert_eq!(count(&page, "<span class=\"badge pass\">✓ pass</span>"), 1);
    assert_eq!(count(&page, "<span class=\"badge warn\">⚠ warn</span>"), 1);
    assert!(page.contains("<code>after.wall.median &lt;= baseline.wall.median / 1.3</code>"));
    assert!(page.contains("<li><code>baseline.passed</code> = 118</li>"));
    assert!(page.contains(
        "after.wall.median / baseline.wall.median: 10.9x faster, 99% CI 10.1-11.8x, 3+3 runs"
    ));
    assert_eq!(chart(&charts(&page), "interval").len(), 1);
}

#[test]
fn runs_show_as_one_dot_each_on_a_log_axis() {
    let page = to_html(&rich());
    let all = charts(&page);
    let runs = chart(&all, "runs");
    assert_eq!(runs.len(), 1);
    let runs = runs[0];
    assert!(runs.contains("aria-label=\"runs of each record (wall time, log scale)\""));
    assert_eq!(count(runs, "<circle class=\"run "), 6);
    assert_eq!(count(runs, "<circle class=\"warmup "), 1);
    assert_eq!(count(runs, "<rect class=\"box "), 2);
    assert!(
        runs.contains("<title>baseline warmup 1: 36 s</title>"),
        "{runs}"
    );
    assert!(runs.contains(">median 3.2 s</text>"));
    // The metrics table follows, with the reference first and the ratio last.
    assert!(page.contains("<th><code>wall.median</code></th><td class=\"num\">34.90 s ± 0.41 s</td><td class=\"num\">3.20 s ± 0.05 s</td><td class=\"num\">0.09× (10.9× faster, in sequence)</td>"));
}

#[test]
fn every_shared_test_is_a_point_and_the_top_tests_are_listed() {
    let page = to_html(&rich());
    let all = charts(&page);
    let scatter = chart(&all, "scatter");
    assert_eq!(scatter.len(), 1);
    let scatter = scatter[0];
    assert!(scatter.contains("data-tests=\"11\""));
    assert_eq!(count(scatter, "<circle class=\"pt "), 11);
    assert_eq!(count(scatter, "<circle class=\"pt faster\""), 9);
    assert_eq!(count(scatter, "<circle class=\"pt slower\""), 1);
    assert_eq!(count(scatter, "<circle class=\"pt same\""), 1);
    assert!(scatter.contains("<title>tests/test_3.py::test_case: 200 ms → 600 ms</title>"));
    assert_eq!(count(scatter, "class=\"diagonal\""), 1);
    assert!(
        page.contains("Tests 1 only in <code>baseline</code>."),
        "{page}"
    );
    let saved = page.find("<h4>Saved the most time</h4>").unwrap();
    let lost = page.find("<h4>Lost the most time</h4>").unwrap();
    // Test 10 saved the most (550 ms -> 55 ms); test 3 is the only one slower.
    assert!(page[saved..lost].starts_with(
        "<h4>Saved the most time</h4><table class=\"top\"><thead><tr><th>test</th><th>baseline</th><th>after</th><th colspan=\"2\">change</th></tr></thead><tbody><tr><td class=\"id\"><code>tests/<wbr>test_10.py::<wbr>test_case</code></td><td class=\"num\">550.0 ms</td><td class=\"num\">55.0 ms</td><td class=\"num\">−495.0 ms</td>"
    ));
    assert_eq!(count(&page[saved..lost], "<tr><td class=\"id\">"), 9);
    assert_eq!(count(&page[lost..], "<tr><td class=\"id\">"), 1);
    assert!(page[lost..].contains("<code>tests/<wbr>test_3.py::<wbr>test_case</code>"));
}

#[test]
fn memory_is_drawn_per_record_and_run() {
    let page = to_html(&rich());
    let all = charts(&page);
    let memory = chart(&all, "memory");
    assert_eq!(memory.len(), 2);
    assert_eq!(count(memory[0], "<polyline class=\"mem warmup s0\""), 1);
    assert_eq!(count(memory[0], "<polyline class=\"mem run s0\""), 3);
    assert_eq!(count(memory[1], "<polyline class=\"mem run s1\""), 3);
    assert!(
        memory[1].contains("<title>after run 2: peak 420 MiB</title>"),
        "{}",
        memory[1]
    );
    let plain = to_html(&sample());
    assert!(plain.contains("No memory samples"));
    assert!(chart(&charts(&plain), "memory").is_empty());
}

#[test]
fn steps_link_their_logs_and_the_diff_is_shown() {
    let page = to_html(&rich());
    assert!(page.contains("<a href=\"../../../.planrun/runs/r1/logs/migrate.log\">migrate.log</a>"));
    assert!(page.contains("style=\"margin-left:0.0%;width:"));
    assert!(page.contains("<summary><code>pytest.ini</code></summary><pre class=\"diff\">"));
    assert!(page.contains(
        "<span class=\"del\">-addopts = -q</span><span class=\"add\">+addopts = -q -n auto</span>"
    ));
    assert!(page
        .contains("2 files changed, 5 insertions(+), 1 deletions(−), all undone by the rollback."));
    assert!(page
        .contains("<li>restored: <code>pytest.ini</code>, <code>requirements-dev.txt</code></li>"));
    assert!(to_html(&sample()).contains("This report holds no diff"));
}

#[test]
fn logs_of_the_run_itself_are_linked_beside_the_report() {
    let mut report = sample();
    report.run_id = "r1".into();
    assert_eq!(
        log_href(&report, ".planrun/runs/r1/logs/a b.log"),
        "logs/a%20b.log"
    );
    assert_eq!(log_href(&report, "/abs/x.log"), "/abs/x.log");
    assert_eq!(log_href(&report, "build.log"), "../../../build.log");
}

#[test]
fn text_from_the_run_is_escaped_everywhere() {
    let mut report = rich();
    let evil = "tests/x.py::test[<script>alert('x')</script>&\"]";
    for record in report.records.values_mut() {
        record.durations.insert(evil.into(), 1.0);
    }
    report.plan.name = "<b>plan</b>".into();
    report.steps[0].message = Some("<img src=x>".into());
    report.diff[0].diff.push_str("+<script>\n");
    let page = to_html(&report);
    assert!(!page.contains("<script"), "unescaped");
    assert!(!page.contains("<img"), "unescaped");
    assert!(page.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;&quot;"));
    assert!(page.contains("<title>&lt;b&gt;plan&lt;/b&gt; — "));
    // Every chart is still well-formed XML.
    assert_eq!(charts(&page).len(), 5);
}

#[test]
fn an_empty_report_still_renders() {
    let page = to_html(&RunReport::default());
    assert!(page.contains("<h1>planrun <span class=\"verdict skip\">– running</span></h1>"));
    assert!(page.contains("No suite was measured."));
    assert!(page.contains("The plan has no gates."));
    assert!(charts(&page).is_empty());
}
