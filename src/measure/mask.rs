//! Secret values masked in a suite record's text (for a report, and for a saved baseline,
//! which is shared like one).
//!
//! Every struct is destructured without `..`, so a field added to a record does not compile
//! here until someone decides whether it can hold a secret.

use std::borrow::Cow;

use crate::measure::record::{Record, RunSample, TestFailure, TestTime};
use crate::secrets::Secrets;

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
