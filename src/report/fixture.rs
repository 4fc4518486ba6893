//! A realistic report shared by the renderers' tests: two records, three gates, a failed step and
//! a rollback; and a blank record for tests to fill in.

use std::collections::BTreeMap;

use super::model::{
    DiffStatReport, GateReport, GateStatus, GateTest, PlanInfo, RollbackInfo, RunReport, RunStatus,
    StepReport, StepStatus,
};
use crate::measure::junit::Outcome;
use crate::measure::record::{Record, TestFailure};
use crate::measure::stats::Summary;
use crate::plan::model::Framework;

/// A pytest record with every metric zero or empty, for tests to fill in what they read.
pub fn record() -> Record {
    Record {
        command: "pytest".into(),
        framework: Framework::Pytest,
        warmup: 0,
        runs: 3,
        wall: Summary {
            min: 0.0,
            median: 0.0,
            mean: 0.0,
            max: 0.0,
            stddev: None,
        },
        passed: 0,
        failed: 0,
        skipped: 0,
        errors: 0,
        tests: 0,
        runs_green: 1.0,
        flaky: Vec::new(),
        slowest: None,
        p95_test: None,
        rss_peak_mb: None,
        cpu_util: 0.0,
        cpu_seconds: 0.0,
        cores: 4,
        samples: Vec::new(),
        durations: BTreeMap::new(),
        slowest_tests: Vec::new(),
        failures: Vec::new(),
        warnings: Vec::new(),
        budgets: BTreeMap::new(),
        over_budget: Vec::new(),
        coverage: None,
        rss_growth_mb: None,
        test_set: None,
        comparison: None,
        shards: None,
    }
}

/// A record whose wall times are `min`, `median`, `mean`, `max` with `stddev`.
fn timed(min: f64, median: f64, mean: f64, max: f64, stddev: f64) -> Record {
    Record {
        wall: Summary {
            min,
            median,
            mean,
            max,
            stddev: Some(stddev),
        },
        ..record()
    }
}

/// The report of an xdist plan whose speed gate failed and which was rolled back.
pub fn sample() -> RunReport {
    let mut records = BTreeMap::new();
    records.insert(
        "baseline".to_string(),
        Record {
            passed: 118,
            skipped: 2,
            tests: 120,
            slowest: Some(2.5),
            p95_test: Some(0.42),
            rss_peak_mb: Some(180.0),
            cpu_util: 0.24,
            ..timed(34.1, 34.9, 34.85, 35.6, 0.41)
        },
    );
    records.insert(
        "after".to_string(),
        Record {
            passed: 117,
            failed: 1,
            skipped: 2,
            tests: 120,
            runs_green: 0.6666666666666666,
            flaky: vec!["tests/test_cart.py::test_total".into()],
            failures: vec![
                TestFailure {
                    id: "tests/test_auth.py::test_empty_password_is_refused".into(),
                    outcome: Outcome::Failed,
                    runs: 3,
                    file: Some("tests/test_auth.py".into()),
                    line: Some(27),
                    message: Some("AssertionError: assert 200 == 400".into()),
                    text: Some("    def test_empty_password_is_refused(client):\n        r = client.post(\"/login\", json={\"password\": \"\"})\n>       assert r.status_code == 400\nE       AssertionError: assert 200 == 400\n\ntests/test_auth.py:27: AssertionError".into()),
                },
                TestFailure {
                    id: "tests/test_cart.py::test_total".into(),
                    outcome: Outcome::Failed,
                    runs: 1,
                    file: Some("tests/test_cart.py".into()),
                    line: Some(9),
                    message: Some("assert 19.99 == 20.0".into()),
                    text: None,
                },
            ],
            slowest: Some(2.6),
            p95_test: Some(0.45),
            rss_peak_mb: Some(420.5),
            cpu_util: 0.88,
            ..timed(3.1, 3.2, 3.2, 3.3, 0.05)
        },
    );
    let step = |phase: &str, id: &str, action: &str, status, duration| StepReport {
        id: id.into(),
        phase: phase.into(),
        action: action.into(),
        status,
        started_s: Some(0.0),
        duration_s: duration,
        log: None,
        message: None,
        changed: Vec::new(),
    };
    let mut failed_step = step("parallel", "migrate", "run", StepStatus::Failed, Some(0.8));
    failed_step.message =
        Some("command `make migrate` exited with status 2 <stderr & \"more\">".into());
    failed_step.log = Some(".planrun/runs/r1/logs/migrate.log".into());
    let mut addopts = step(
        "parallel",
        "addopts",
        "pytest-config",
        StepStatus::Ok,
        Some(0.01),
    );
    addopts.changed = vec!["pytest.ini".into()];
    RunReport {
        format_version: 1,
        run_id: "20250301T101500Z-4f2a".into(),
        plan: PlanInfo {
            name: "xdist".into(),
            description: "Run the suite in parallel; keep it only if faster and still green."
                .into(),
            path: "plans/xdist.toml".into(),
            hash: String::new(),
        },
        target: "/home/dev/shop-api".into(),
        host: "ci-runner-7".into(),
        started: "2025-03-01T10:15:00Z".into(),
        finished: Some("2025-03-01T10:17:23Z".into()),
        duration_s: 143.2,
        status: RunStatus::GateFailed,
        exit_code: Some(1),
        vars: BTreeMap::from([("python".into(), ".venv/bin/python".into())]),
        steps: vec![
            step(
                "baseline",
                "deps",
                "install",
                StepStatus::Unchanged,
                Some(1.5),
            ),
            step("baseline", "measure", "suite", StepStatus::Ok, Some(108.4)),
            step("parallel", "xdist", "install", StepStatus::Ok, Some(4.2)),
            addopts,
            failed_step,
            step("parallel", "after", "suite", StepStatus::Skipped, None),
        ],
        records,
        baselines_used: BTreeMap::new(),
        gates: vec![
            GateReport {
                phase: "parallel".into(),
                check: "after.passed == baseline.passed".into(),
                why: None,
                on_fail: "rollback".into(),
                on_inconclusive: "rollback".into(),
                status: GateStatus::Fail,
                explanation: Some("after.passed 117 == baseline.passed 118".into()),
                values: BTreeMap::from([
                    ("after.passed".into(), 117.0),
                    ("baseline.passed".into(), 118.0),
                ]),
                message: None,
                intervals: Vec::new(),
                details: Vec::new(),
                line: Some(41),
                tests: vec![
                    GateTest {
                        id: "tests/test_auth.py::test_empty_password_is_refused".into(),
                        record: "after".into(),
                        outcome: "failed".into(),
                    },
                    GateTest {
                        id: "tests/test_cart.py::test_total".into(),
                        record: "after".into(),
                        outcome: "flaky".into(),
                    },
                ],
            },
            GateReport {
                phase: "parallel".into(),
                check: "after.wall.median <= baseline.wall.median / 1.3".into(),
                why: Some("parallel must pay for itself".into()),
                on_fail: "rollback".into(),
                on_inconclusive: "rollback".into(),
                status: GateStatus::Pass,
                explanation: Some(
                    "after.wall.median 3.20 <= baseline.wall.median 34.90 / 1.3 = 26.85".into(),
                ),
                values: BTreeMap::from([
                    ("after.wall.median".into(), 3.2),
                    ("baseline.wall.median".into(), 34.9),
                ]),
                message: None,
                intervals: Vec::new(),
                details: Vec::new(),
                line: Some(45),
                tests: Vec::new(),
            },
            GateReport {
                phase: "parallel".into(),
                check: "after.rss_peak_mb < baseline.rss_peak_mb * 2".into(),
                why: Some("memory, CI runners have 7 GB".into()),
                on_fail: "warn".into(),
                on_inconclusive: "rollback".into(),
                status: GateStatus::Warn,
                explanation: Some(
                    "after.rss_peak_mb 420.50 < baseline.rss_peak_mb 180 * 2 = 360".into(),
                ),
                values: BTreeMap::from([
                    ("after.rss_peak_mb".into(), 420.5),
                    ("baseline.rss_peak_mb".into(), 180.0),
                ]),
                message: None,
                intervals: Vec::new(),
                details: Vec::new(),
                line: Some(50),
                tests: Vec::new(),
            },
        ],
        diffstat: DiffStatReport {
            files: 2,
            insertions: 5,
            deletions: 1,
        },
        diff: Vec::new(),
        rollback: Some(RollbackInfo {
            reason: "gate `after.passed == baseline.passed` failed".into(),
            ok: true,
            restored: vec!["pytest.ini".into(), "requirements-dev.txt".into()],
            deleted: vec!["conftest_db.py".into()],
            environments: vec![".venv".into()],
            message: None,
        }),
        stage: None,
    }
}

/// `sample()` with what the HTML report draws: per-test times, runs with memory samples, a gate
/// interval and a diff. The tests: `tests/test_<n>.py::test_case` for n in 0..12, which got
/// 10x faster, except test 3 (slower) and test 7 (unchanged); test 11 ran only before.
pub fn rich() -> RunReport {
    use crate::measure::record::RunSample;
    use crate::process::Status;
    let mut report = sample();
    let run = |wall: f64, warmup: bool, peak: f64| RunSample {
        warmup,
        promoted: false,
        wall,
        cpu_user: wall,
        cpu_system: 0.0,
        rss_peak_mb: Some(peak),
        status: Status::Exited(0),
        exit_code: 0,
        counts: None,
        log: "x.log".into(),
        memory: (0..=10)
            .map(|i| {
                [
                    wall * f64::from(i) / 10.0,
                    peak * (0.5 + f64::from(i) / 20.0),
                ]
            })
            .collect(),
        pair: None,
    };
    let id = |n: usize| format!("tests/test_{n}.py::test_case");
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    for n in 0..12 {
        let seconds = 0.05 * (n + 1) as f64;
        before.insert(id(n), seconds);
        let now = match n {
            3 => seconds * 3.0,
            7 => seconds,
            11 => continue,
            _ => seconds / 10.0,
        };
        after.insert(id(n), now);
    }
    if let Some(r) = report.records.get_mut("baseline") {
        r.durations = before;
        r.samples = vec![
            run(36.0, true, 170.0),
            run(34.1, false, 175.0),
            run(34.9, false, 180.0),
            run(35.6, false, 178.0),
        ];
    }
    if let Some(r) = report.records.get_mut("after") {
        r.durations = after;
        r.samples = vec![
            run(3.1, false, 400.0),
            run(3.2, false, 420.5),
            run(3.3, false, 410.0),
        ];
    }
    report.gates[1].intervals = vec![super::model::IntervalReport {
        ratio: "after.wall.median / baseline.wall.median".into(),
        estimate: 0.0917,
        low: 0.085,
        high: 0.099,
        confidence: 0.99,
        runs_num: 3,
        runs_den: 3,
        num_record: "after".into(),
        num_metric: "wall.median".into(),
        den_record: "baseline".into(),
        pairing: Some("interleaved".into()),
    }];
    report.diff = vec![super::model::FileDiff {
        path: "pytest.ini".into(),
        diff: "--- a/pytest.ini\n+++ b/pytest.ini\n@@ -1,2 +1,2 @@\n [pytest]\n-addopts = -q\n+addopts = -q -n auto\n".into(),
        truncated: false,
    }];
    report
}

/// The sample report with budgets and coverage: `after` has two tests over budget and 78.6%
/// coverage, and a failed budget gate names them.
pub fn budgets() -> RunReport {
    use crate::measure::budget::OverBudget;
    use crate::measure::coverage::{Coverage, FileCoverage};
    let mut report = sample();
    let file = |percent: f64, statements: u64, missing: u64| FileCoverage {
        percent,
        statements,
        missing,
    };
    let coverage = |percent: f64, tax: f64| Coverage {
        percent,
        statements: 14,
        missing: 3,
        files: BTreeMap::from([
            ("shop/cart.py".to_string(), file(90.0, 10, 1)),
            ("shop/tax.py".to_string(), file(tax, 4, 2)),
        ]),
    };
    let over = vec![
        OverBudget {
            id: "tests/integration/test_flow.py::test_checkout".into(),
            seconds: 2.31,
            budget: 2.0,
            key: "tests/integration".into(),
        },
        OverBudget {
            id: "tests/unit/test_tax.py::TestRates::test_rate[de]".into(),
            seconds: 0.25,
            budget: 0.1,
            key: "tests/unit".into(),
        },
    ];
    let budgets = BTreeMap::from([
        ("tests/integration".to_string(), 2.0),
        ("tests/unit".to_string(), 0.1),
    ]);
    if let Some(after) = report.records.get_mut("after") {
        after.budgets = budgets.clone();
        after.over_budget = over.clone();
        after.coverage = Some(coverage(78.57, 50.0));
        after.rss_growth_mb = Some(1.5);
    }
    if let Some(baseline) = report.records.get_mut("baseline") {
        baseline.budgets = budgets;
        baseline.coverage = Some(coverage(80.0, 75.0));
    }
    report.gates.push(GateReport {
        phase: "parallel".into(),
        check: "after.over_budget == 0".into(),
        why: Some("unit tests < 0.1 s, integration < 2 s".into()),
        on_fail: "rollback".into(),
        on_inconclusive: "rollback".into(),
        status: GateStatus::Fail,
        explanation: Some("after.over_budget 2 == 0".into()),
        values: BTreeMap::from([("after.over_budget".into(), 2.0)]),
        message: None,
        intervals: Vec::new(),
        details: over
            .iter()
            .map(|o| format!("over budget in `after`: {}", o.describe()))
            .collect(),
        line: None,
        tests: Vec::new(),
    });
    report
}
