//! Tests of the Markdown summary: exact key lines of each section, and escaping.

use super::super::fixture::sample;
use super::super::model::{GateStatus, RunStatus};
use super::*;
use crate::measure::record::Record;

fn line_starting<'a>(md: &'a str, prefix: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{md}"))
}

#[test]
fn heading_has_plan_and_verdict() {
    let md = to_markdown(&sample());
    assert!(
        md.starts_with("# xdist — ❌ gate failed, rolled back\n"),
        "{md}"
    );
    let mut passed = sample();
    passed.status = RunStatus::Passed;
    passed.rollback = None;
    assert!(to_markdown(&passed).starts_with("# xdist — ✅ passed\n"));
}

#[test]
fn run_line_names_plan_target_run_time_and_exit() {
    let md = to_markdown(&sample());
    assert!(md.contains(
        "\nplan `plans/xdist.toml` · target `/home/dev/shop-api` · run `20250301T101500Z-4f2a` · 2 min 23 s · exit 1\n"
    ));
}

#[test]
fn records_table_puts_baseline_first_with_ratios() {
    let md = to_markdown(&sample());
    assert_eq!(
        line_starting(&md, "| metric"),
        "| metric | baseline | after | after/baseline |"
    );
    assert_eq!(line_starting(&md, "|---|---:"), "|---|---:|---:|---|");
    assert_eq!(
        line_starting(&md, "| wall.median"),
        "| wall.median ± stddev | 34.90 s ± 0.41 s | 3.20 s ± 0.05 s | 0.09× (10.9× faster) |"
    );
    assert_eq!(
        line_starting(&md, "| passed"),
        "| passed | 118 | 117 | -1 |"
    );
    assert_eq!(line_starting(&md, "| failed"), "| failed | 0 | 1 | +1 |");
    assert_eq!(line_starting(&md, "| tests"), "| tests | 120 | 120 | = |");
    assert_eq!(
        line_starting(&md, "| runs_green"),
        "| runs_green | 100% | 67% | -33.3 pp |"
    );
    assert_eq!(line_starting(&md, "| flaky"), "| flaky | 0 | 1 | +1 |");
    assert_eq!(
        line_starting(&md, "| p95_test"),
        "| p95_test | 420.0 ms | 450.0 ms | 1.07× (slower) |"
    );
    assert_eq!(
        line_starting(&md, "| rss_peak_mb"),
        "| rss_peak_mb | 180.0 MB | 420.5 MB | 2.34× |"
    );
    assert_eq!(
        line_starting(&md, "| cpu_util"),
        "| cpu_util | 24% | 88% | 3.67× |"
    );
    assert_eq!(
        line_starting(&md, "- flaky in"),
        "- flaky in `after`: `tests/test_cart.py::test_total`"
    );
}

#[test]
fn missing_metrics_render_as_a_dash() {
    let mut report = sample();
    // A typed record always has a CPU figure; memory is what may be missing.
    report.records.insert(
        "after".into(),
        Record {
            passed: 3,
            ..super::super::fixture::record()
        },
    );
    let md = to_markdown(&report);
    assert_eq!(
        line_starting(&md, "| rss_peak_mb"),
        "| rss_peak_mb | 180.0 MB | — | — |"
    );
    assert_eq!(
        line_starting(&md, "| passed"),
        "| passed | 118 | 3 | -115 |"
    );
}

#[test]
fn without_a_reference_there_is_no_ratio_column() {
    let mut report = sample();
    let after = report.records.remove("after").unwrap();
    let base = report.records.remove("baseline").unwrap();
    report.records.insert("a".into(), base);
    report.records.insert("b".into(), after.clone());
    report.records.insert("c".into(), after);
    let md = to_markdown(&report);
    assert_eq!(line_starting(&md, "| metric"), "| metric | a | b | c |");
}

#[test]
fn saved_baselines_are_noted() {
    let mut report = sample();
    report
        .baselines_used
        .insert("baseline".into(), ".planrun/baselines/main.json".into());
    let md = to_markdown(&report);
    assert!(md.contains(
        "- `baseline` comes from the saved baseline `.planrun/baselines/main.json`, not from this run\n"
    ));
}

#[test]
fn gates_table_has_icon_check_explanation_and_why() {
    let md = to_markdown(&sample());
    assert!(md.contains("| verdict | check | explanation | why |\n"));
    assert_eq!(
        line_starting(&md, "| ❌ fail"),
        "| ❌ fail | `after.passed == baseline.passed` | `after.passed 117 == baseline.passed 118`<br>tests: tests/test_auth.py::test_empty_password_is_refused failed in after, tests/test_cart.py::test_total flaky in after |  |"
    );
    assert_eq!(
        line_starting(&md, "| ✅ pass"),
        "| ✅ pass | `after.wall.median <= baseline.wall.median / 1.3` | `after.wall.median 3.20 <= baseline.wall.median 34.90 / 1.3 = 26.85` | parallel must pay for itself |"
    );
    assert!(line_starting(&md, "| ⚠️ warn").ends_with("| memory, CI runners have 7 GB |"));
}

#[test]
fn gate_errors_show_their_message() {
    let mut report = sample();
    report.gates[0].status = GateStatus::Error;
    report.gates[0].explanation = None;
    report.gates[0].message = Some("no run produced `after.passed`".into());
    report.gates[0].tests.clear();
    let md = to_markdown(&report);
    assert!(line_starting(&md, "| 💥 error").contains("| no run produced `after.passed` |"));
}

#[test]
fn steps_table_has_status_and_duration() {
    let md = to_markdown(&sample());
    assert_eq!(
        line_starting(&md, "| ✅ ok | baseline"),
        "| ✅ ok | baseline | measure | suite | 1 min 48 s |  |"
    );
    assert_eq!(
        line_starting(&md, "| ❌ failed"),
        "| ❌ failed | parallel | migrate | run | 800.0 ms | command `make migrate` exited with status 2 &lt;stderr &amp; \"more\"&gt;<br>log: `.planrun/runs/r1/logs/migrate.log` |"
    );
    assert_eq!(
        line_starting(&md, "| ⏭️ skipped"),
        "| ⏭️ skipped | parallel | after | suite | — |  |"
    );
}

#[test]
fn diffstat_and_rollback() {
    let md = to_markdown(&sample());
    assert!(md.contains(
        "## Changes\n\n2 files changed, 5 insertions(+), 1 deletion(-), all undone by the rollback\n"
    ));
    assert!(
        md.contains("## Rollback\n\ngate `after.passed == baseline.passed` failed: ✅ completed\n")
    );
    assert!(md.contains("- restored: `pytest.ini`, `requirements-dev.txt`\n"));
    assert!(md.contains("- deleted: `conftest_db.py`\n"));
    assert!(md.ends_with("- environments: `.venv`\n"));
    assert!(md.contains("all undone by the rollback\n\n## Rollback\n"));
    let mut failed = sample();
    if let Some(r) = failed.rollback.as_mut() {
        r.ok = false;
        r.message = Some("pytest.ini: permission denied".into());
    }
    let md = to_markdown(&failed);
    assert!(md.contains(": ❌ failed: pytest.ini: permission denied; the journal was kept\n"));
    assert!(md.contains("1 deletion(-)\n"));
}

#[test]
fn table_cells_are_escaped() {
    assert_eq!(text("a | b\n<c>"), "a \\| b<br>&lt;c&gt;");
    assert_eq!(code("a or b"), "`a or b`");
    assert_eq!(code("x | y"), "`x \\| y`");
    assert_eq!(code("has `tick`"), "`` has `tick` ``");
    let mut report = sample();
    report.gates[0].check = "a.x > 1 | b".into();
    report.steps[0].id = "odd|id".into();
    let md = to_markdown(&report);
    assert!(md.contains("| `a.x > 1 \\| b` |"));
    assert!(md.contains("| odd\\|id |"));
}

#[test]
fn long_flaky_lists_are_cut() {
    let ids: Vec<String> = (0..13).map(|i| format!("t{i}")).collect();
    let listed = flaky_list(&ids);
    assert!(listed.starts_with("`t0`, `t1`"));
    assert!(listed.ends_with("`t9`, and 3 more"));
}

#[test]
fn an_empty_report_renders() {
    let md = to_markdown(&RunReport::default());
    assert!(md.starts_with("# planrun — ⏳ running\n"));
    assert!(!md.contains("## Records"));
    assert!(md.ends_with("## Changes\n\n0 files changed, 0 insertions(+), 0 deletions(-)\n"));
}

/// Each test over budget by its pytest id with its median, budget and excess; coverage per
/// file beside the total; the failed budget gate names the tests too.
#[test]
fn budgets_and_coverage_have_their_sections() {
    let md = to_markdown(&super::super::fixture::budgets());
    assert_eq!(
        line_starting(&md, "| after | `tests/integration"),
        "| after | `tests/integration/test_flow.py::test_checkout` | 2.31 s | 2.00 s (`tests/integration`) | 310.0 ms |"
    );
    assert_eq!(
        line_starting(&md, "| after | `tests/unit"),
        "| after | `tests/unit/test_tax.py::TestRates::test_rate[de]` | 250.0 ms | 100.0 ms (`tests/unit`) | 150.0 ms |"
    );
    assert!(
        md.find("test_checkout").unwrap() < md.find("test_rate[de]").unwrap(),
        "slowest first"
    );
    assert_eq!(
        line_starting(&md, "| **total**"),
        "| **total** | **80.00%** | **78.57%** |"
    );
    assert_eq!(
        line_starting(&md, "| `shop/tax.py`"),
        "| `shop/tax.py` | 75.0% | 50.0% |"
    );
    assert_eq!(
        line_starting(&md, "| coverage |"),
        "| coverage | 80.00% | 78.57% | -1.4 |"
    );
    assert_eq!(
        line_starting(&md, "| over_budget |"),
        "| over_budget | 0 | 2 | +2 |"
    );
    let gate = line_starting(&md, "| ❌ fail | `after.over_budget == 0`");
    assert!(
        gate.contains("<br>over budget in `after`: tests/unit/test_tax.py::TestRates::test_rate[de] 0.25 s &gt; 0.10 s (tests/unit), 0.15 s over"),
        "{gate}"
    );
    // Without budgets or coverage, neither section nor row appears.
    let plain = to_markdown(&sample());
    assert!(!plain.contains("## Over budget") && !plain.contains("## Coverage"));
    assert!(!plain.contains("| over_budget") && !plain.contains("| coverage"));
}

#[test]
fn failing_tests_have_a_table_with_each_records_outcome_and_the_message() {
    let md = to_markdown(&sample());
    let section = md.split("## Failing tests\n\n").nth(1).unwrap();
    let table: Vec<&str> = section.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        table,
        [
            "| test | baseline | after | message |",
            "|---|---|---|---|",
            "| `tests/test_auth.py::test_empty_password_is_refused` | — | ❌ failed | AssertionError: assert 200 == 400 (tests/test_auth.py:27) |",
            "| `tests/test_cart.py::test_total` | — | ⚠️ flaky (1/3 runs failed) | assert 19.99 == 20.0 (tests/test_cart.py:9) |",
        ]
    );
    let gate = line_starting(&md, "| ❌ fail |");
    assert!(
        gate.contains(
            "<br>tests: tests/test_auth.py::test_empty_password_is_refused failed in after, "
        ),
        "{gate}"
    );
    let mut green = sample();
    green.gates.iter_mut().for_each(|g| g.tests.clear());
    green.records.values_mut().for_each(|r| {
        r.failures.clear();
        r.flaky.clear();
    });
    assert!(!to_markdown(&green).contains("## Failing tests"));
}
