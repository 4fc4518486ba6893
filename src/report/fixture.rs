//! A realistic report shared by the renderers' tests: two records, three gates, a failed step and
//! a rollback.

use std::collections::BTreeMap;

use serde_json::json;

use super::model::{
    DiffStatReport, GateReport, GateStatus, PlanInfo, RollbackInfo, RunReport, RunStatus,
    StepReport, StepStatus,
};

/// The report of an xdist plan whose speed gate failed and which was rolled back.
pub fn sample() -> RunReport {
    let mut records = BTreeMap::new();
    records.insert(
        "baseline".to_string(),
        json!({
            "wall": {"min": 34.1, "median": 34.9, "mean": 34.85, "max": 35.6, "stddev": 0.41},
            "passed": 118, "failed": 0, "skipped": 2, "errors": 0, "tests": 120,
            "runs_green": 1.0, "flaky": [], "slowest": 2.5, "p95_test": 0.42,
            "rss_peak_mb": 180.0, "cpu_util": 0.24,
            "samples": [34.1, 34.9, 35.6],
        }),
    );
    records.insert(
        "after".to_string(),
        json!({
            "wall": {"min": 3.1, "median": 3.2, "mean": 3.2, "max": 3.3, "stddev": 0.05},
            "passed": 117, "failed": 1, "skipped": 2, "errors": 0, "tests": 120,
            "runs_green": 0.6666666666666666, "flaky": ["tests/test_cart.py::test_total"],
            "slowest": 2.6, "p95_test": 0.45, "rss_peak_mb": 420.5, "cpu_util": 0.88,
            "samples": [3.1, 3.2, 3.3],
        }),
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
        },
        target: "/home/dev/shop-api".into(),
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
                status: GateStatus::Fail,
                explanation: Some("after.passed 117 == baseline.passed 118".into()),
                values: BTreeMap::from([
                    ("after.passed".into(), 117.0),
                    ("baseline.passed".into(), 118.0),
                ]),
                message: None,
            },
            GateReport {
                phase: "parallel".into(),
                check: "after.wall.median <= baseline.wall.median / 1.3".into(),
                why: Some("parallel must pay for itself".into()),
                on_fail: "rollback".into(),
                status: GateStatus::Pass,
                explanation: Some(
                    "after.wall.median 3.20 <= baseline.wall.median 34.90 / 1.3 = 26.85".into(),
                ),
                values: BTreeMap::from([
                    ("after.wall.median".into(), 3.2),
                    ("baseline.wall.median".into(), 34.9),
                ]),
                message: None,
            },
            GateReport {
                phase: "parallel".into(),
                check: "after.rss_peak_mb < baseline.rss_peak_mb * 2".into(),
                why: Some("memory, CI runners have 7 GB".into()),
                on_fail: "warn".into(),
                status: GateStatus::Warn,
                explanation: Some(
                    "after.rss_peak_mb 420.50 < baseline.rss_peak_mb 180 * 2 = 360".into(),
                ),
                values: BTreeMap::from([
                    ("after.rss_peak_mb".into(), 420.5),
                    ("baseline.rss_peak_mb".into(), 180.0),
                ]),
                message: None,
            },
        ],
        diffstat: DiffStatReport {
            files: 2,
            insertions: 5,
            deletions: 1,
        },
        rollback: Some(RollbackInfo {
            reason: "gate `after.passed == baseline.passed` failed".into(),
            ok: true,
            restored: vec!["pytest.ini".into(), "requirements-dev.txt".into()],
            deleted: vec!["conftest_db.py".into()],
            environments: vec![".venv".into()],
            message: None,
        }),
    }
}
