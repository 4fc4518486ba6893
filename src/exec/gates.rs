//! Deciding a phase's gates over the records so far: one verdict per gate, with values; and
//! whether an adaptive suite has taken enough runs for the gates that read it.

use std::collections::BTreeMap;

use crate::criteria::decide::{Decision, Outcome3, RatioCheck};
use crate::criteria::EvalError;
use crate::measure::interval::{noise_floor, DEFAULT_CONFIDENCE};
use crate::measure::record::Record;
use crate::plan::compiled::{Gate, Plan};
use crate::plan::model::OnFail;
use crate::run::verdict::{
    Detail, Explanation, Interval, NamedTest, Pairing, Status, TestOutcome, Undecided, Verdict,
};

/// Records by name, as gates read them.
pub type Records = BTreeMap<String, Record>;

/// Whether every gate of `plan` that reads `record` and can be judged now (every record it
/// reads exists: `so_far` as `record`, the others in `records`) is conclusive, or inconclusive
/// because the runs drift (more runs of a drifting machine do not settle it).
pub fn settled(plan: &Plan, record: &str, so_far: &Record, records: &Records) -> bool {
    let mut all = records.clone();
    all.insert(record.to_string(), so_far.clone());
    plan.phases
        .iter()
        .flat_map(|p| p.gates.iter().map(move |g| (p, g)))
        .filter(|(_, g)| g.expr.metric_refs().iter().any(|m| m.record == record))
        .filter(|(_, g)| {
            g.expr
                .metric_refs()
                .iter()
                .all(|m| all.contains_key(&m.record))
        })
        .all(|(_, g)| match decision(g, &all) {
            Ok(d) => d.outcome != Outcome3::Inconclusive || d.intervals.iter().any(drifted),
            Err(_) => true,
        })
}

/// Whether a comparison is inconclusive because the machine's speed drifted during it.
fn drifted(check: &RatioCheck) -> bool {
    check.drift.is_some_and(|d| d.significant)
}

/// A gate's three-valued decision over the records (at the noise floor and
/// [`DEFAULT_CONFIDENCE`]).
fn decision(gate: &Gate, records: &Records) -> Result<Decision, EvalError> {
    let lookup = |r: &str, m: &str| records.get(r)?.metric(m);
    let samples = |r: &str, m: &str| records.get(r)?.run_samples(m);
    let pairing = |nr: &str, nm: &str, dr: &str, dm: &str| {
        crate::measure::pairs::pairing(records, (nr, nm), (dr, dm), DEFAULT_CONFIDENCE)
    };
    gate.expr.decide_paired(
        &lookup,
        &samples,
        &pairing,
        noise_floor(),
        DEFAULT_CONFIDENCE,
    )
}

/// Evaluates every gate of a phase over the records so far.
pub fn evaluate(phase: &str, gates: &[Gate], records: &Records) -> Vec<Verdict> {
    gates.iter().map(|g| decide(phase, g, records)).collect()
}

/// One gate's verdict: comparisons of two records' times on their ratio's interval (at the
/// noise floor and [`DEFAULT_CONFIDENCE`]), everything else as it stands.
fn decide(phase: &str, gate: &Gate, records: &Records) -> Verdict {
    // Known failures of a baseline are out of every record's test counts: test by test.
    let adjusted = crate::exec::known::adjusted(records);
    let records: &Records = &adjusted;
    let failed = match gate.on_fail {
        OnFail::Rollback => Status::Fail,
        OnFail::Warn => Status::Warn,
    };
    let mut verdict = Verdict {
        phase: phase.to_string(),
        check: gate.check.clone(),
        why: gate.why.clone(),
        on_fail: gate.on_fail,
        on_inconclusive: gate.on_inconclusive,
        line: gate.line,
        status: failed,
        explanation: None,
        values: BTreeMap::new(),
        message: None,
        intervals: Vec::new(),
        details: Vec::new(),
        tests: Vec::new(),
    };
    if let Some(refusal) = crate::exec::testsets::speed_refusal(gate, records) {
        verdict.explanation = Some(Explanation::NoSpeedVerdict(refusal.clone()));
        verdict.message = Some(Undecided::NoSpeedVerdict(refusal));
        return verdict;
    }
    match decision(gate, records) {
        Ok(d) => {
            verdict.status = match d.outcome {
                Outcome3::Pass => Status::Pass,
                Outcome3::Fail => failed,
                Outcome3::Inconclusive => Status::Inconclusive,
            };
            verdict.values = d.values.into_iter().collect();
            verdict.intervals = d.intervals.iter().map(interval).collect();
            verdict.explanation = Some(Explanation::Decided {
                expr: gate.expr.clone(),
                checks: d.intervals,
            });
        }
        Err(e) => {
            // A gate that cannot be decided never passes: with `warn` it warns, else it fails.
            verdict.status = if gate.on_fail == OnFail::Warn {
                Status::Warn
            } else {
                Status::Error
            };
            verdict.message = Some(Undecided::Eval(e));
        }
    }
    if verdict.status != Status::Pass {
        verdict.details = details(gate, records);
        verdict.tests = named_tests(gate, records);
    }
    verdict
}

/// One comparison of a decision, as the verdict keeps it.
fn interval(c: &RatioCheck) -> Interval {
    Interval {
        ratio: c.label.clone(),
        estimate: c.interval.estimate,
        low: c.interval.low,
        high: c.interval.high,
        confidence: c.interval.confidence,
        runs_num: c.interval.n_num,
        runs_den: c.interval.n_den,
        num_record: c.num_record.clone(),
        num_metric: c.num_metric.clone(),
        den_record: c.den_record.clone(),
        pairing: c.pairing.as_ref().map(|p| match p {
            crate::measure::pairs::Pairing::Interleaved { .. } => Pairing::Interleaved,
            crate::measure::pairs::Pairing::Sequential { .. } => Pairing::Sequential,
        }),
    }
}

/// How many files with the least coverage a failed coverage gate names.
const COVERAGE_FILES_NAMED: usize = 5;

/// What stands behind a verdict that did not pass, for the metrics the gate read: every test
/// over its budget (slowest first, by how much), and the files with the least coverage.
fn details(gate: &Gate, records: &Records) -> Vec<Detail> {
    let mut lines = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in gate.expr.metric_refs() {
        if !seen.insert((m.record.clone(), m.metric().to_string())) {
            continue;
        }
        let Some(record) = records.get(&m.record) else {
            continue;
        };
        match m.metric() {
            "over_budget" => lines.extend(record.over_budget.iter().map(|o| Detail::OverBudget {
                record: m.record.clone(),
                test: o.clone(),
            })),
            "coverage" => {
                if let Some(c) = &record.coverage {
                    let least = crate::measure::coverage::lowest(c, COVERAGE_FILES_NAMED)
                        .into_iter()
                        .map(|(path, f)| (path.to_string(), f.percent))
                        .collect();
                    lines.push(Detail::Coverage {
                        record: m.record.clone(),
                        percent: c.percent,
                        missing: c.missing,
                        statements: c.statements,
                        least,
                    });
                }
            }
            _ => {}
        }
    }
    lines
}

/// Metrics a failing, erroring or flaky test moves.
const TEST_METRICS: &[&str] = &["failed", "errors", "passed", "runs_green", "flaky", "tests"];

/// The tests behind a verdict on test counts: each failing, erroring or flaky test of a record
/// the gate reads through [`TEST_METRICS`], except those that fail in every other record it
/// reads as well (a failure the change did not bring); new ones first.
fn named_tests(gate: &Gate, records: &Records) -> Vec<NamedTest> {
    let refs = gate.expr.metric_refs();
    let mut read: Vec<&str> = refs.iter().map(|m| m.record.as_str()).collect();
    read.sort_unstable();
    read.dedup();
    let mut counted: Vec<&str> = refs
        .iter()
        .filter(|m| TEST_METRICS.contains(&m.metric()))
        .map(|m| m.record.as_str())
        .collect();
    counted.sort_unstable();
    counted.dedup();
    let failing = |record: &str, id: &str| {
        records.get(record).is_some_and(|r| {
            r.failures.iter().any(|f| f.id == id) || r.flaky.iter().any(|f| f == id)
        })
    };
    let mut new = Vec::new();
    let mut old = Vec::new();
    for name in counted {
        let Some(record) = records.get(name) else {
            continue;
        };
        let flaky_only = record
            .flaky
            .iter()
            .filter(|id| !record.failures.iter().any(|f| &f.id == *id))
            .map(|id| (id.clone(), TestOutcome::Flaky));
        let failed = record.failures.iter().map(|f| {
            let outcome = if f.runs < record.runs {
                TestOutcome::Flaky
            } else if f.outcome == crate::measure::junit::Outcome::Error {
                TestOutcome::Error
            } else {
                TestOutcome::Failed
            };
            (f.id.clone(), outcome)
        });
        let others: Vec<&str> = read.iter().copied().filter(|r| *r != name).collect();
        for (id, outcome) in failed.chain(flaky_only) {
            let test = NamedTest {
                id: id.clone(),
                record: name.to_string(),
                outcome,
            };
            if others.is_empty() || !others.iter().all(|r| failing(r, &id)) {
                let before = others.iter().any(|r| failing(r, &id));
                if before {
                    old.push(test);
                } else {
                    new.push(test);
                }
            }
        }
    }
    new.extend(old);
    new
}

/// Whether any verdict stops the run (see [`Verdict::blocks`]).
pub fn blocks(verdicts: &[Verdict]) -> bool {
    verdicts.iter().any(Verdict::blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::RunSample;
    use crate::plan::compiled;
    use crate::plan::model::OnInconclusive;
    use crate::report::model::GateReport;

    /// The verdict's explanation in the report's words.
    fn said(v: &Verdict) -> String {
        crate::report::explain::explanation(v).unwrap()
    }

    fn gate(check: &str, on_fail: OnFail) -> Gate {
        Gate {
            check: check.into(),
            expr: crate::criteria::parse(check).unwrap(),
            why: Some("because".into()),
            on_fail,
            on_inconclusive: OnInconclusive::Rollback,
            line: None,
        }
    }

    /// A record whose counted runs took `walls` seconds (median as the wall metric).
    fn timed(walls: &[f64]) -> Record {
        let mut r = crate::report::fixture::record();
        let mut sorted = walls.to_vec();
        sorted.sort_by(f64::total_cmp);
        r.wall.median = crate::measure::stats::median(walls).unwrap();
        r.wall.min = sorted[0];
        r.runs = walls.len() as u32;
        r.samples = walls
            .iter()
            .map(|&wall| RunSample {
                warmup: false,
                promoted: false,
                wall,
                cpu_user: wall,
                cpu_system: 0.0,
                rss_peak_mb: None,
                status: crate::process::Status::Exited(0),
                exit_code: 0,
                counts: None,
                log: "x.log".into(),
                memory: Vec::new(),
                pair: None,
            })
            .collect();
        r
    }

    fn records(after: &[f64], baseline: &[f64]) -> Records {
        Records::from([
            ("after".to_string(), timed(after)),
            ("baseline".to_string(), timed(baseline)),
        ])
    }

    #[test]
    fn a_failed_gate_on_test_counts_names_the_new_failures() {
        use crate::measure::junit::Outcome;
        use crate::measure::record::TestFailure;
        let failure = |id: &str, outcome, runs| TestFailure {
            id: id.into(),
            outcome,
            runs,
            ..TestFailure::default()
        };
        let mut rs = records(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0]);
        let after = rs.get_mut("after").unwrap();
        after.failed = 3;
        after.failures = vec![
            failure("t.py::old", Outcome::Failed, 3),
            failure("t.py::a", Outcome::Failed, 3),
            failure("t.py::b", Outcome::Failed, 1),
            failure("t.py::e", Outcome::Error, 3),
        ];
        after.flaky = vec!["t.py::b".into(), "t.py::c".into()];
        let baseline = rs.get_mut("baseline").unwrap();
        baseline.failed = 1;
        baseline.failures = vec![failure("t.py::old", Outcome::Failed, 3)];
        let v = decide(
            "p",
            &gate("after.failed <= baseline.failed", OnFail::Rollback),
            &rs,
        );
        assert_eq!(v.status, Status::Fail);
        let named: Vec<(&str, &str, TestOutcome)> = v
            .tests
            .iter()
            .map(|t| (t.id.as_str(), t.record.as_str(), t.outcome))
            .collect();
        assert_eq!(
            named,
            [
                ("t.py::a", "after", TestOutcome::Failed),
                ("t.py::b", "after", TestOutcome::Flaky),
                ("t.py::e", "after", TestOutcome::Error),
                ("t.py::c", "after", TestOutcome::Flaky),
            ]
        );
        // Alone, a record's failures are all named; a gate on times names none; nor does a pass.
        let alone = decide("p", &gate("baseline.failed == 0", OnFail::Rollback), &rs);
        assert_eq!(alone.tests.len(), 1);
        let times = decide("p", &gate("after.wall.median < 0.5", OnFail::Rollback), &rs);
        assert_eq!((times.status, times.tests.len()), (Status::Fail, 0));
        let pass = decide("p", &gate("after.failed <= 3", OnFail::Rollback), &rs);
        assert!(pass.tests.is_empty());
    }

    /// A speed gate over records that ran different tests fails (warns with `warn`) with the
    /// difference, and names its check.
    #[test]
    fn a_speed_gate_over_different_tests_fails_naming_them() {
        let mut rs = records(&[1.0], &[20.0]);
        for (name, ids) in [("after", vec!["t::a"]), ("baseline", vec!["t::a", "t::b"])] {
            rs.get_mut(name).unwrap().test_set = Some(crate::measure::record::TestSet {
                executed: ids.into_iter().map(String::from).collect(),
                ..Default::default()
            });
        }
        let check = "after.wall.median <= baseline.wall.median * 0.43";
        let v = decide("p", &gate(check, OnFail::Rollback), &rs);
        assert_eq!(v.status, Status::Fail);
        let explanation = said(&v);
        assert!(
            explanation.starts_with("after.wall.median <= baseline.wall.median * 0.43: no speed verdict: `after` and `baseline` ran different tests: 0 only in `after`, 1 only in `baseline` (t::b)"),
            "{explanation}"
        );
        assert!(v.intervals.is_empty());
        assert_eq!(
            decide("p", &gate(check, OnFail::Warn), &rs).status,
            Status::Warn
        );
        rs.get_mut("after")
            .unwrap()
            .test_set
            .as_mut()
            .unwrap()
            .executed
            .push("t::b".into());
        assert_eq!(
            decide("p", &gate(check, OnFail::Rollback), &rs).status,
            Status::Pass
        );
    }

    #[test]
    fn pass_fail_warn_and_missing() {
        let gates = [
            gate(
                "after.wall.median <= baseline.wall.median * 0.43",
                OnFail::Rollback,
            ),
            gate("after.wall.median > 100", OnFail::Warn),
            gate("after.wall.median > 100", OnFail::Rollback),
            gate("after.rss_peak_mb < 500", OnFail::Rollback),
        ];
        let r = evaluate("verify", &gates, &records(&[2.0], &[20.0]));
        assert_eq!(r[0].status, Status::Pass);
        let explanation = said(&r[0]);
        assert!(
            explanation.starts_with("after.wall.median 2 <= baseline.wall.median 20 * 0.43 = 8.60 (10.00x faster, 99% CI"),
            "{explanation}"
        );
        assert!(explanation.ends_with("1+1 runs)"), "{explanation}");
        assert_eq!(r[0].values["baseline.wall.median"], 20.0);
        assert_eq!(r[0].intervals.len(), 1);
        assert_eq!(
            (r[0].intervals[0].runs_num, r[0].intervals[0].runs_den),
            (1, 1)
        );
        assert!(r[0].intervals[0].low < 0.1 && r[0].intervals[0].high > 0.1);
        assert_eq!(r[1].status, Status::Warn);
        assert_eq!(r[2].status, Status::Fail);
        assert_eq!(r[3].status, Status::Error);
        assert_eq!(
            crate::report::explain::message(&r[3]).as_deref(),
            Some("no run produced `after.rss_peak_mb`")
        );
        assert!(blocks(&r));
        assert!(!blocks(&r[..2]));
    }

    /// 1.24x against a 1.2x bound from one run each cannot be told from noise: inconclusive,
    /// which blocks unless the gate keeps it; many quiet runs settle it.
    #[test]
    fn a_ratio_near_its_bound_is_inconclusive_until_the_runs_settle_it() {
        let check = "after.wall.median <= baseline.wall.median / 1.2";
        let near = evaluate(
            "p",
            &[gate(check, OnFail::Rollback)],
            &records(&[10.0], &[12.4]),
        );
        assert_eq!(near[0].status, Status::Inconclusive);
        assert!(blocks(&near));
        let mut kept = gate(check, OnFail::Rollback);
        kept.on_inconclusive = OnInconclusive::Keep;
        let kept = evaluate("p", &[kept], &records(&[10.0], &[12.4]));
        assert_eq!(kept[0].on_inconclusive, OnInconclusive::Keep);
        assert!(!blocks(&kept));
        // Quiet runs in no particular order (runs that grow steadily would be drift).
        let jitter = |i: u32| 0.01 * f64::from((i * 7) % 10);
        let after: Vec<f64> = (0..10).map(|i| 10.0 + jitter(i)).collect();
        let baseline: Vec<f64> = (0..10).map(|i| 14.0 + jitter(i + 3)).collect();
        let settled = evaluate(
            "p",
            &[gate(check, OnFail::Rollback)],
            &records(&after, &baseline),
        );
        assert_eq!(settled[0].status, Status::Pass, "{}", said(&settled[0]));
    }

    /// A budget gate that fails names every test over budget, slowest first, by how much; a
    /// coverage gate names the least covered files; a gate that passes names nothing (in the
    /// report's words).
    #[test]
    fn failed_gates_name_what_stands_behind_them() {
        let report = crate::report::fixture::budgets();
        let records: Records = report.records.clone();
        let r = evaluate(
            "p",
            &[
                gate("after.over_budget == 0", OnFail::Rollback),
                gate("after.coverage >= baseline.coverage - 0.5", OnFail::Warn),
                gate("baseline.over_budget == 0", OnFail::Rollback),
            ],
            &records,
        );
        let shown: Vec<GateReport> = r.iter().map(GateReport::from).collect();
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(
            shown[0].details,
            [
                "over budget in `after`: tests/integration/test_flow.py::test_checkout 2.31 s > 2.00 s (tests/integration), 0.31 s over",
                "over budget in `after`: tests/unit/test_tax.py::TestRates::test_rate[de] 0.25 s > 0.10 s (tests/unit), 0.15 s over",
            ]
        );
        assert_eq!(r[1].status, Status::Warn);
        assert_eq!(shown[1].details.len(), 2, "{:?}", shown[1].details);
        assert!(
            shown[1].details[0].starts_with("coverage of `after`: 78.57% (3 of 14 statements missed); least covered: shop/tax.py 50.0%, shop/cart.py 90.0%"),
            "{:?}",
            shown[1].details
        );
        assert_eq!(r[2].status, Status::Pass);
        assert!(r[2].details.is_empty());
    }

    #[test]
    fn settled_judges_only_the_gates_whose_records_exist() {
        let plan = |check: &str| compiled::Plan {
            name: "p".into(),
            description: String::new(),
            default_target: None,
            phases: vec![compiled::Phase {
                id: "p".into(),
                title: None,
                needs: Vec::new(),
                steps: Vec::new(),
                gates: vec![gate(check, OnFail::Rollback)],
            }],
            graph: crate::graph::PlanGraph::build(
                &toml::from_str::<crate::plan::model::Plan>(
                    "name='p'\ndescription='d'\n[[phase]]\nid='p'\n",
                )
                .unwrap(),
            )
            .unwrap(),
            order: Vec::new(),
            stages: Vec::new(),
            stage: None,
        };
        let ratio = plan("after.wall.median <= baseline.wall.median / 1.2");
        let base = Records::from([("baseline".to_string(), timed(&[12.4]))]);
        // The baseline alone: the gate cannot be judged yet, so the baseline has enough runs.
        assert!(settled(
            &ratio,
            "baseline",
            &timed(&[12.4]),
            &Records::new()
        ));
        assert!(!settled(&ratio, "after", &timed(&[10.0]), &base));
        assert!(settled(&ratio, "after", &timed(&[2.0]), &base));
        // A machine 8% slower each run: inconclusive, and settled, for more runs of a drifting
        // machine cannot settle it.
        let ramp = |from: i32, n: i32, typical: f64| -> Vec<f64> {
            (from..from + n)
                .map(|k| typical * 1.08f64.powi(k))
                .collect()
        };
        let drifting = Records::from([("baseline".to_string(), timed(&ramp(0, 4, 12.4)))]);
        let after = timed(&ramp(4, 4, 10.0));
        let mut all = drifting.clone();
        all.insert("after".into(), after.clone());
        let verdict = decide("p", &ratio.phases[0].gates[0], &all);
        assert_eq!(verdict.status, Status::Inconclusive);
        assert!(
            said(&verdict).contains("inconclusive: drift, the machine got"),
            "{}",
            said(&verdict)
        );
        assert!(settled(&ratio, "after", &after, &drifting));
    }
}
