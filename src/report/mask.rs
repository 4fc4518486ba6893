//! Secret values masked in a report before any format is written from it: report.json, its
//! copies, junit.xml, summary.md, report.html and the GitHub annotations all render the masked
//! report, and a saved baseline holds a masked record.
//!
//! Every struct is destructured without `..`, so a field added to the report model does not
//! compile here until someone decides whether it can hold a secret.

use std::borrow::Cow;

use super::model::{
    DiffStatReport, FileDiff, GateReport, GateTest, PlanInfo, RollbackInfo, RunReport, StepReport,
};
use crate::measure::record::{Record, RunSample, TestFailure, TestTime};
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

/// Masks every secret value in a suite record's text: its command, test ids, log paths and
/// warnings (for the report, and for a saved baseline, which is shared like one).
pub fn mask_record(record: &mut Record, secrets: &Secrets) {
    let m = |s: &mut String| secrets.mask_in_place(s);
    let Record {
        command,
        framework: _,
        warmup: _,
        runs: _,
        wall: _,
        passed: _,
        failed: _,
        skipped: _,
        errors: _,
        tests: _,
        runs_green: _,
        flaky,
        slowest: _,
        p95_test: _,
        rss_peak_mb: _,
        cpu_util: _,
        cpu_seconds: _,
        cores: _,
        samples,
        durations,
        slowest_tests,
        failures,
        warnings,
        budgets,
        over_budget,
        coverage,
        rss_growth_mb: _,
        test_set,
        comparison,
        shards,
    } = record;
    m(command);
    if let Some(s) = shards {
        s.collected.iter_mut().for_each(m);
        s.durations.iter_mut().for_each(m);
    }
    if let Some(set) = test_set {
        set.executed.iter_mut().for_each(m);
        set.known_failures.iter_mut().for_each(m);
        for c in &mut set.collection_errors {
            m(&mut c.id);
            m(&mut c.summary);
        }
    }
    flaky.iter_mut().for_each(m);
    if let Some(c) = comparison {
        c.reason.iter_mut().for_each(m);
    }
    mask_keys(durations, secrets);
    for sample in samples {
        let RunSample {
            warmup: _,
            promoted: _,
            wall: _,
            cpu_user: _,
            cpu_system: _,
            rss_peak_mb: _,
            status: _,
            exit_code: _,
            counts: _,
            log,
            memory: _,
            pair: _,
        } = sample;
        if let Cow::Owned(masked) = secrets.mask(&log.to_string_lossy()) {
            *log = masked.into();
        }
    }
    for test in slowest_tests {
        let TestTime { id, seconds: _ } = test;
        m(id);
    }
    for failure in failures {
        let TestFailure {
            id,
            outcome: _,
            runs: _,
            file,
            line: _,
            message,
            text,
        } = failure;
        m(id);
        file.iter_mut().for_each(m);
        message.iter_mut().for_each(m);
        text.iter_mut().for_each(m);
    }
    warnings.iter_mut().for_each(m);
    mask_keys(budgets, secrets);
    for over in over_budget {
        m(&mut over.id);
        m(&mut over.key);
    }
    if let Some(coverage) = coverage {
        mask_keys(&mut coverage.files, secrets);
    }
}

/// Masks secret values in the keys of a map (test ids, file paths), leaving it alone when none
/// has one.
fn mask_keys<V>(map: &mut std::collections::BTreeMap<String, V>, secrets: &Secrets) {
    if map.keys().any(|k| matches!(secrets.mask(k), Cow::Owned(_))) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (secrets.mask(&k).into_owned(), v))
            .collect();
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
