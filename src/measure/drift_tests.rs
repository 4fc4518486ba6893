use super::*;
use crate::measure::sim::Rng;
use proptest::prelude::*;

/// A suite 5% slower every run over eight runs, without noise: the exact p of a perfect
/// order (2 / 8!) and the change `1.05^7 - 1`.
#[test]
fn a_pure_trend_is_found_with_its_size() {
    let walls: Vec<f64> = (0..8).map(|k| 10.0 * 1.05f64.powi(k)).collect();
    let d = detect(&walls).unwrap();
    assert!(d.significant);
    assert!((d.p_value - 2.0 / 40320.0).abs() < 1e-12, "{d:?}");
    assert!((d.change - (1.05f64.powi(7) - 1.0)).abs() < 1e-9, "{d:?}");
    assert!((d.slope - 1.05f64.ln()).abs() < 1e-12);
    assert_eq!(d.runs, 8);
    assert_eq!(
        d.to_string(),
        "the machine got 41% slower during measurement (trend over 8 runs, p < 0.001)"
    );
    let faster: Vec<f64> = walls.iter().rev().copied().collect();
    let f = detect(&faster).unwrap();
    assert!(f.significant && f.change < 0.0 && f.direction() == "faster");
}

/// With noise of 5% a run and 8% drift a run, eight runs find it nearly always; the size is
/// near the truth.
#[test]
fn a_noisy_trend_is_found_and_sized() {
    let mut rng = Rng(7);
    let (mut found, mut changes) = (0, Vec::new());
    for _ in 0..500 {
        let walls: Vec<f64> = (0..8)
            .map(|k| rng.run(10.0 * 1.08f64.powi(k), 0.05))
            .collect();
        let d = detect(&walls).unwrap();
        found += usize::from(d.significant);
        changes.push(d.change);
    }
    assert!(found >= 490, "{found} of 500");
    let typical = median(&changes).unwrap();
    let truth = 1.08f64.powi(7) - 1.0;
    assert!((typical - truth).abs() < 0.05, "{typical} vs {truth}");
}

/// Steady runs are flagged at about the stated level, never above it by more than chance.
#[test]
fn noise_without_trend_is_flagged_at_the_stated_rate() {
    let mut rng = Rng(11);
    for n in [5usize, 8, 12, 70] {
        let trials = 4000;
        let flagged = (0..trials)
            .filter(|_| {
                let walls: Vec<f64> = (0..n).map(|_| rng.run(10.0, 0.05)).collect();
                detect(&walls).unwrap().significant
            })
            .count();
        let rate = flagged as f64 / trials as f64;
        // The exact test is conservative (discrete); 3 standard errors of slack above.
        assert!(rate <= DRIFT_ALPHA + 0.011, "n = {n}: {rate}");
        assert!(rate >= 0.5 * DRIFT_ALPHA || n < 8, "n = {n}: {rate}");
    }
}

/// The exact distribution against hand counts: three runs have 6 orders, S = ±3 for one each.
#[test]
fn exact_p_values_match_counts() {
    assert!((mann_kendall_p(3, &[3]) - 2.0 / 6.0).abs() < 1e-12);
    assert!((mann_kendall_p(1, &[3]) - 1.0).abs() < 1e-12);
    assert!((mann_kendall_p(6, &[4]) - 2.0 / 24.0).abs() < 1e-12);
    // S = 4 of 4 runs: inversions 0 or 1 (1 + 3 orders) each way.
    assert!((mann_kendall_p(4, &[4]) - 8.0 / 24.0).abs() < 1e-12);
    // Two blocks of three: both perfect, S = 6, 2 / 36.
    assert!((mann_kendall_p(6, &[3, 3]) - 2.0 / 36.0).abs() < 1e-12);
    assert_eq!(mann_kendall_p(0, &[5]), 1.0);
    // The normal approximation beyond the exact range agrees with the exact value near it.
    let exact = mann_kendall_p(400, &[60]);
    let approx = mann_kendall_p(400, &[61]);
    assert!((exact - approx).abs() < 0.01, "{exact} {approx}");
}

/// A baseline and an after record each drifting: the blocks' trends add up, the change spans
/// every run; a jump between the blocks alone is no trend within either.
#[test]
fn blocks_sum_their_trends_and_ignore_the_step_between_them() {
    let baseline: Vec<f64> = (0..4).map(|k| 20.0 * 1.08f64.powi(k)).collect();
    let after: Vec<f64> = (4..9).map(|k| 13.0 * 1.08f64.powi(k)).collect();
    let d = detect_blocks(&[&baseline, &after]).unwrap();
    assert!(d.significant, "{d:?}");
    assert_eq!(d.runs, 9);
    assert!((d.change - (1.08f64.powi(8) - 1.0)).abs() < 1e-9, "{d:?}");
    let flat = detect_blocks(&[&[20.0, 20.1, 19.9], &[10.0, 10.1, 9.9]]).unwrap();
    assert!(!flat.significant && flat.change.abs() < 0.05, "{flat:?}");
}

#[test]
fn too_few_or_bad_runs_give_none() {
    assert_eq!(detect(&[]), None);
    assert_eq!(detect(&[1.0]), None);
    assert_eq!(detect(&[1.0, 2.0]), None);
    assert_eq!(detect(&[1.0, 2.0, f64::NAN]), None);
    assert_eq!(detect(&[1.0, 2.0, -3.0]), None);
    assert_eq!(detect_blocks(&[&[1.0], &[2.0], &[3.0]]), None);
    let three = detect(&[1.0, 2.0, 3.0]).unwrap();
    assert!(!three.significant, "three runs can never reach the level");
    let same = detect(&[2.0, 2.0, 2.0, 2.0, 2.0]).unwrap();
    assert_eq!(
        (same.p_value, same.change, same.significant),
        (1.0, 0.0, false)
    );
}

proptest! {
    #[test]
    fn never_panics(
        a in prop::collection::vec(prop::num::f64::ANY, 0..30),
        b in prop::collection::vec(prop::num::f64::ANY, 0..30),
    ) {
        if let Some(d) = detect_blocks(&[&a, &b]) {
            prop_assert!((0.0..=1.0).contains(&d.p_value));
            prop_assert!(d.change >= -1.0, "{d:?}");
        }
        let _ = detect(&a);
    }
}
