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
        speed: None,
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

/// The gate decided over `records` as the apply decides it.
fn decide(check: &str, records: &BTreeMap<String, Record>) -> crate::criteria::decide::tests::Said {
    let lookup = |r: &str, m: &str| records.get(r)?.metric(m);
    let samples = |r: &str, m: &str| records.get(r)?.run_samples(m);
    let pairing =
        |nr: &str, nm: &str, dr: &str, dm: &str| pairing(records, (nr, nm), (dr, dm), 0.99);
    let expr = crate::criteria::parse(check).unwrap();
    let d = expr
        .decide_paired(&lookup, &samples, &pairing, 0.05, 0.99)
        .unwrap();
    crate::criteria::decide::tests::Said::of(&expr, d)
}

#[test]
fn a_gate_on_interleaved_records_is_decided_on_the_pairs_and_says_so() {
    use crate::criteria::decide::Outcome3;
    let records = drifting(INTERLEAVED);
    let d = decide("after.wall.median <= baseline.wall.median / 1.2", &records);
    assert_eq!(d.outcome, Outcome3::Pass, "{}", d.explanation);
    assert!(
        d.explanation.contains("1.39x faster, 99% CI")
            && d.explanation
                .contains(", 8 pairs interleaved; the machine got"),
        "{}",
        d.explanation
    );
}

#[test]
fn a_gate_on_sequential_records_that_drifted_is_inconclusive_and_says_why() {
    use crate::criteria::decide::Outcome3;
    let records = drifting(SEQUENTIAL);
    let d = decide("after.wall.median <= baseline.wall.median / 1.2", &records);
    assert_eq!(d.outcome, Outcome3::Inconclusive, "{}", d.explanation);
    assert!(
        d.explanation.contains(
            "8+8 runs, sequential: step `seed` has an undo command; inconclusive: drift, the machine got"
        ),
        "{}",
        d.explanation
    );
}

/// One pair is compared as one run a side at the noise floor: 20x is decided, a change near the
/// bound is not, and no run taken at another time (the baseline's sequential ones) counts.
#[test]
fn one_pair_decides_only_what_one_run_a_side_can() {
    use crate::criteria::decide::Outcome3;
    let pair = |base: f64, after: f64| {
        let mut records = drifting(INTERLEAVED);
        let b = records.get_mut("baseline").unwrap();
        b.samples = vec![sample(0.01, None), sample(base, Some(1))];
        let a = records.get_mut("after").unwrap();
        a.samples = vec![sample(after, Some(1))];
        records
    };
    let check = "after.wall.median <= baseline.wall.median / 1.2";
    let d = decide(check, &pair(20.0, 1.0));
    assert_eq!(d.outcome, Outcome3::Pass, "{}", d.explanation);
    assert!(d.explanation.contains("20.0x faster") && d.explanation.contains("1 pair interleaved"));
    let d = decide(check, &pair(1.5, 1.0));
    assert_eq!(d.outcome, Outcome3::Inconclusive, "{}", d.explanation);
}

/// What reports say of two interleaved records is the paired figure a gate decides on, not the
/// ratio of their medians over all runs (which the drift pulls towards the later record).
#[test]
fn the_speed_of_interleaved_records_is_the_paired_figure() {
    let mut records = drifting(INTERLEAVED);
    // The baseline's own runs before the pairs, on the machine as it was then.
    let early = [sample(0.5, None), sample(0.5, None), sample(0.5, None)];
    records
        .get_mut("baseline")
        .unwrap()
        .samples
        .splice(0..0, early);
    let speed = speed(&records, "after", "baseline", 0.05, 0.99).unwrap();
    let Some(Pairing::Interleaved { interval, .. }) = pairing(
        &records,
        ("after", "wall.median"),
        ("baseline", "wall.median"),
        0.99,
    ) else {
        panic!("not interleaved");
    };
    assert_eq!(speed.figure.widened, interval);
    assert_eq!(speed.mode(), "paired");
    let medians = records["after"].run_samples("wall.median").unwrap();
    let medians = crate::measure::stats::median(&medians).unwrap()
        / crate::measure::stats::median(&records["baseline"].run_samples("wall.median").unwrap())
            .unwrap();
    assert!((medians - interval.estimate).abs() > 0.1, "{medians}");
    assert!(
        speed.describe().ends_with(", paired over 8 pairs"),
        "{}",
        speed.describe()
    );
}

/// Measured in sequence on a drifting machine, the figure is the two sides' interval widened
/// by the drift, as the verdict decides on it, and says so.
#[test]
fn the_speed_of_sequential_records_is_widened_by_their_drift() {
    let records = drifting(SEQUENTIAL);
    let speed = speed(&records, "after", "baseline", 0.05, 0.99).unwrap();
    let f = speed.figure;
    assert!(f.drift.unwrap().significant, "{f:?}");
    assert!(f.widened.low < f.interval.low && f.widened.high > f.interval.high);
    assert_eq!(f.widened.estimate, f.interval.estimate);
    let text = speed.describe();
    assert!(
        text.contains(", in sequence, 8+8 runs, drift allowed for"),
        "{text}"
    );
}
