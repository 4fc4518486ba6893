//! Deciding a phase's gates over the records so far: one verdict per gate, with values; and
//! whether an adaptive suite has taken enough runs for the gates that read it.

use std::collections::BTreeMap;

use crate::measure::record::Record;
use crate::plan::compiled::{Gate, Plan};
use crate::plan::model::{OnFail, OnInconclusive};
use crate::report::model::{GateReport, GateStatus};

/// How a gate's `on_inconclusive` reads in reports.
pub fn on_inconclusive_name(on: OnInconclusive) -> &'static str {
    match on {
        OnInconclusive::Rollback => "rollback",
        OnInconclusive::Keep => "keep",
    }
}

/// Whether every gate of `plan` that reads `record` and can be judged now (every record it
/// reads exists: `so_far` as `record`, the others in `records`) is conclusive.
pub fn settled(
    plan: &Plan,
    record: &str,
    so_far: &Record,
    records: &BTreeMap<String, Record>,
) -> bool {
    let get = |name: &str| {
        if name == record {
            Some(so_far)
        } else {
            records.get(name)
        }
    };
    plan.phases
        .iter()
        .flat_map(|p| p.gates.iter().map(move |g| (p, g)))
        .filter(|(_, g)| g.expr.metric_refs().iter().any(|m| m.record == record))
        .filter(|(_, g)| {
            g.expr
                .metric_refs()
                .iter()
                .all(|m| get(&m.record).is_some())
        })
        .all(|(p, g)| {
            let lookup = |r: &str, m: &str| get(r)?.metric(m);
            decide(&p.id, g, &lookup).status != GateStatus::Inconclusive
        })
}

/// How a gate's `on_fail` reads in reports.
pub fn on_fail_name(on_fail: OnFail) -> &'static str {
    match on_fail {
        OnFail::Rollback => "rollback",
        OnFail::Warn => "warn",
    }
}

/// Evaluates every gate of a phase; `lookup(record, metric)` reads the recorded metrics.
pub fn evaluate(
    phase: &str,
    gates: &[Gate],
    lookup: &dyn Fn(&str, &str) -> Option<f64>,
) -> Vec<GateReport> {
    gates.iter().map(|g| decide(phase, g, lookup)).collect()
}

fn decide(phase: &str, gate: &Gate, lookup: &dyn Fn(&str, &str) -> Option<f64>) -> GateReport {
    let mut report = GateReport {
        phase: phase.to_string(),
        check: gate.check.clone(),
        why: gate.why.clone(),
        on_fail: on_fail_name(gate.on_fail).into(),
        on_inconclusive: on_inconclusive_name(gate.on_inconclusive).into(),
        ..GateReport::default()
    };
    let failed = match gate.on_fail {
        OnFail::Rollback => GateStatus::Fail,
        OnFail::Warn => GateStatus::Warn,
    };
    match gate.expr.evaluate(lookup).map_err(|e| e.to_string()) {
        Ok(v) => {
            report.status = if v.pass { GateStatus::Pass } else { failed };
            report.explanation = Some(v.explanation);
            report.values = v.values.into_iter().collect();
        }
        Err(message) => {
            // A gate that cannot be decided never passes: with `warn` it warns, else it fails.
            report.status = if gate.on_fail == OnFail::Warn {
                GateStatus::Warn
            } else {
                GateStatus::Error
            };
            report.message = Some(message);
        }
    }
    report
}

/// Whether any verdict stops the run: a failure, an undecidable gate that does not only warn,
/// or an inconclusive one that is not kept.
pub fn blocks(reports: &[GateReport]) -> bool {
    reports.iter().any(blocking)
}

/// Whether this verdict stops the run.
pub fn blocking(r: &GateReport) -> bool {
    match r.status {
        GateStatus::Fail | GateStatus::Error => true,
        GateStatus::Inconclusive => r.on_inconclusive != "keep",
        GateStatus::Pass | GateStatus::Warn | GateStatus::NotEvaluated => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(check: &str, on_fail: OnFail) -> Gate {
        Gate {
            check: check.into(),
            expr: crate::criteria::parse(check).unwrap(),
            why: Some("because".into()),
            on_fail,
            on_inconclusive: OnInconclusive::Rollback,
        }
    }

    fn lookup(record: &str, metric: &str) -> Option<f64> {
        match (record, metric) {
            ("after", "wall.median") => Some(2.0),
            ("baseline", "wall.median") => Some(20.0),
            _ => None,
        }
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
        let r = evaluate("verify", &gates, &lookup);
        assert_eq!(r[0].status, GateStatus::Pass);
        assert_eq!(
            r[0].explanation.as_deref(),
            Some("after.wall.median 2 <= baseline.wall.median 20 * 0.43 = 8.60")
        );
        assert_eq!(r[0].values["baseline.wall.median"], 20.0);
        assert_eq!(r[1].status, GateStatus::Warn);
        assert_eq!(r[2].status, GateStatus::Fail);
        assert_eq!(r[3].status, GateStatus::Error);
        assert_eq!(
            r[3].message.as_deref(),
            Some("no run produced `after.rss_peak_mb`")
        );
        assert!(blocks(&r));
        assert!(!blocks(&r[..2]));
    }
}
