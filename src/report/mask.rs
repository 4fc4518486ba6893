//! Secret values masked in a report before any format is written from it: report.json, its
//! copies, junit.xml, summary.md, report.html and the GitHub annotations all render the masked
//! report, and a saved baseline holds a masked record.
//!
//! Every struct is destructured without `..`, so a field added to the report model does not
//! compile here until someone decides whether it can hold a secret.

use super::model::{
    DiffStatReport, FileDiff, GateReport, GateTest, PlanInfo, RollbackInfo, RunReport, StepReport,
};
pub use crate::measure::mask::mask_record;
use crate::secrets::Secrets;

/// A copy of `report` with every secret value in its text replaced by `***`.
pub fn mask_report(report: &RunReport, secrets: &Secrets) -> RunReport {
    let mut report = report.clone();
    if !secrets.is_empty() {
        mask_in_place(&mut report, secrets);
    }
    report
}

fn mask_in_place(report: &mut RunReport, secrets: &Secrets) {
    let m = |s: &mut String| secrets.mask_in_place(s);
    let RunReport {
        format_version: _,
        run_id,
        plan,
        target,
        host: _,
        started: _,
        finished: _,
        duration_s: _,
        status: _,
        exit_code: _,
        vars,
        steps,
        records,
        baselines_used,
        gates,
        diffstat,
        diff,
        rollback,
        stage,
    } = report;
    m(run_id);
    if let Some(stage) = stage {
        for c in stage
            .promotion
            .iter_mut()
            .flat_map(|p| p.criteria.iter_mut())
        {
            m(&mut c.check);
            m(&mut c.explanation);
            c.why.iter_mut().for_each(m);
        }
    }
    let PlanInfo {
        name,
        description,
        path,
        hash: _,
    } = plan;
    m(name);
    m(description);
    m(path);
    m(target);
    vars.values_mut().for_each(m);
    for step in steps {
        let StepReport {
            id,
            phase,
            action: _,
            status: _,
            started_s: _,
            duration_s: _,
            log,
            message,
            changed,
        } = step;
        m(id);
        m(phase);
        log.iter_mut().for_each(m);
        message.iter_mut().for_each(m);
        changed.iter_mut().for_each(m);
    }
    records.values_mut().for_each(|r| mask_record(r, secrets));
    baselines_used.values_mut().for_each(m);
    for gate in gates {
        let GateReport {
            phase,
            check,
            why,
            on_fail: _,
            on_inconclusive: _,
            status: _,
            explanation,
            values: _,
            message,
            intervals: _,
            details,
            line: _,
            tests,
        } = gate;
        for test in tests {
            let GateTest {
                id,
                record,
                outcome: _,
            } = test;
            m(id);
            m(record);
        }
        m(phase);
        m(check);
        why.iter_mut().for_each(m);
        explanation.iter_mut().for_each(m);
        message.iter_mut().for_each(m);
        details.iter_mut().for_each(m);
    }
    let DiffStatReport {
        files: _,
        insertions: _,
        deletions: _,
    } = diffstat;
    for file in diff {
        let FileDiff {
            path,
            diff,
            truncated: _,
        } = file;
        m(path);
        m(diff);
    }
    if let Some(RollbackInfo {
        reason,
        ok: _,
        restored,
        deleted,
        environments,
        message,
    }) = rollback
    {
        m(reason);
        restored.iter_mut().for_each(m);
        deleted.iter_mut().for_each(m);
        environments.iter_mut().for_each(m);
        message.iter_mut().for_each(m);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::sample;
    use super::*;

    #[test]
    fn no_secret_survives_in_any_format() {
        let mut report = sample();
        let secret = "s3cr3t-value";
        report.vars.insert("token".into(), secret.into());
        report.steps[0].message = Some(format!("`curl -H {secret}` exited with status 1"));
        report.gates[0].check = format!("after.failed == 0 # {secret}");
        report.diff.push(FileDiff {
            path: format!("conf/{secret}.ini"),
            diff: format!("+token = {secret}\n"),
            truncated: false,
        });
        report.records.insert(
            "r".into(),
            crate::measure::record::Record {
                command: format!("pytest {secret}"),
                ..super::super::fixture::record()
            },
        );
        let masked = mask_report(&report, &Secrets::new([secret]));
        for text in [
            super::super::json::to_json(&masked),
            super::super::junit::to_junit(&masked),
            super::super::markdown::to_markdown(&masked),
            super::super::html::to_html(&masked),
            super::super::github::annotations(&masked, &Default::default()).join("\n"),
        ] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(masked.vars["token"], "***");
        assert_eq!(mask_report(&report, &Secrets::default()), report);
    }
}
