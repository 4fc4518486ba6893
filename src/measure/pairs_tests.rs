//! The pairing of two records as gates read it.

use super::*;
use crate::measure::record::{Comparison, PairSlot, RunSample, SEQUENTIAL};

fn sample(wall: f64, pair: Option<u32>) -> RunSample {
    RunSample {
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
        pair: pair.map(|index| PairSlot { index, first: true }),
    }
}

/// A baseline and an after measured in pairs on a machine that gets 8% slower each run, the
/// after truly 1.5x faster.
fn drifting(mode: &str) -> BTreeMap<String, Record> {
    let mut base = crate::report::fixture::record();
    let mut after = crate::report::fixture::record();
    let mut t = 1.0;
    for i in 1..=8u32 {
        let pair = (mode == INTERLEAVED).then_some(i);
        base.samples.push(sample(t, pair));
        t *= 1.08;
        after.samples.push(sample(t / 1.5, pair));
        t *= 1.08;
    }
    after.comparison = Some(Comparison {
        with: "baseline".into(),
        mode: mode.into(),
        reason: (mode == SEQUENTIAL).then(|| "step `seed` has an undo command".into()),
        seed: Some(7),
        pairs: 8,
        switch_ms: None,
    });
    BTreeMap::from([("baseline".into(), base), ("after".into(), after)])
}

#[test]
fn interleaved_pairs_give_the_true_ratio_despite_drift_and_say_the_drift() {
    let records = drifting(INTERLEAVED);
    let Some(Pairing::Interleaved {
        interval,
        pairs,
        note,
    }) = pairing(
        &records,
        ("after", "wall.median"),
        ("baseline", "wall.median"),
        0.99,
    )
    else {
        panic!("not interleaved");
    };
    assert_eq!(pairs, 8);
    // Each pair's after ran 8% later: within-pair ratio 1.08/1.5 = 0.72.
    assert!(
        (interval.estimate - 1.08 / 1.5).abs() < 1e-9,
        "{interval:?}"
    );
    let note = note.unwrap();
    assert!(note.starts_with("the machine got"), "{note}");
    assert!(note.ends_with("slower during measurement; interleaved, the ratio is unaffected"));
    // Read the other way round, the ratio is inverted.
    let Some(Pairing::Interleaved { interval: inv, .. }) = pairing(
        &records,
        ("baseline", "wall.median"),
        ("after", "wall.median"),
        0.99,
    ) else {
        panic!("not interleaved");
    };
    assert!((inv.estimate - 1.5 / 1.08).abs() < 1e-9);
}

#[test]
fn sequential_records_say_why_and_their_drift() {
    let records = drifting(SEQUENTIAL);
    let got = pairing(
        &records,
        ("after", "wall.median"),
        ("baseline", "wall.median"),
        0.99,
    );
    let Some(Pairing::Sequential { reason, drift }) = got else {
        panic!("{got:?}");
    };
    assert_eq!(reason, "step `seed` has an undo command");
    assert!(drift.unwrap().contains("slower during measurement"));
}

#[test]
fn records_without_a_comparison_have_no_pairing() {
    let mut records = drifting(INTERLEAVED);
    records.get_mut("after").unwrap().comparison = None;
    assert_eq!(
        pairing(
            &records,
            ("after", "wall.median"),
            ("baseline", "wall.median"),
            0.99
        ),
        None
    );
}
