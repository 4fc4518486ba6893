use super::*;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

fn assert_interval(got: RatioInterval, want: (f64, f64, f64)) {
    assert!(
        close(got.estimate, want.0) && close(got.low, want.1) && close(got.high, want.2),
        "{got:?} != {want:?}"
    );
}

// The expected figures come from an independent Python implementation of the module doc's
// method (mpmath's regularized incomplete beta for the t quantile; the corrected MAD spread from
// three runs, pooled with the floor at one degree of freedom); it reproduces the earlier
// numpy/scipy figure of `one_run_each_uses_the_floor_with_two_degrees_of_freedom`.

/// Quiet runs (spreads of about 1%, below the 3% floor) narrow the interval: the allowance is
/// where the spread starts, not a minimum.
#[test]
fn five_and_five_quiet_runs_narrow_the_interval_below_the_floor() {
    let after = [13.1, 13.2, 13.4, 13.0, 13.3];
    let baseline = [18.5, 18.7, 19.0, 18.6, 18.9];
    let r = ratio_interval(&after, &baseline, 0.03, 0.95).unwrap();
    assert_interval(
        r,
        (
            0.705_882_352_941_176_4,
            0.682_394_224_510_468_6,
            0.730_178_946_856_147_7,
        ),
    );
    assert_eq!((r.n_num, r.n_den, r.confidence), (5, 5, 0.95));
    assert_eq!(r.to_string(), "1.42x faster, 95% CI 1.37-1.47x, 5+5 runs");
    // The same runs 5x as spread out (about 5%) give a wider interval than the floor alone.
    let spread =
        |xs: &[f64], m: f64| -> Vec<f64> { xs.iter().map(|x| m + 5.0 * (x - m)).collect() };
    let noisy =
        ratio_interval(&spread(&after, 13.2), &spread(&baseline, 18.7), 0.03, 0.95).unwrap();
    assert!(
        noisy.high / noisy.low > 1.15 * (r.high / r.low),
        "{noisy} vs {r}"
    );
}

#[test]
fn one_run_each_uses_the_floor_with_two_degrees_of_freedom() {
    let r = ratio_interval(&[10.0], &[20.0], 0.05, 0.95).unwrap();
    assert_interval(r, (0.5, 0.368_840_612_467_290_33, 0.677_799_546_876_554_3));
    assert_eq!(r.to_string(), "2.00x faster, 95% CI 1.48-2.71x, 1+1 runs");
}

#[test]
fn a_spread_above_the_floor_and_unequal_counts_use_welch() {
    let r = ratio_interval(&[1.0, 1.2, 0.9, 1.1], &[2.0, 2.1], 0.03, 0.95).unwrap();
    assert_interval(
        r,
        (
            0.512_195_121_951_219_5,
            0.402_881_346_383_374_25,
            0.651_168_998_777_578_7,
        ),
    );
    let r = ratio_interval(&[5.0, 5.5, 6.1], &[4.0], 0.05, 0.9).unwrap();
    assert_interval(r, (1.375, 1.043_991_297_535_361, 1.810_958_582_186_805_3));
    assert_eq!(r.to_string(), "1.38x slower, 90% CI 1.04-1.81x, 3+1 runs");
}

#[test]
fn display_of_large_ratios_and_odd_levels() {
    let r = RatioInterval {
        estimate: 1.0 / 20.3,
        low: 1.0 / 27.46,
        high: 1.0 / 15.02,
        n_num: 1,
        n_den: 1,
        confidence: 0.995,
    };
    assert_eq!(r.to_string(), "20.3x faster, 99.5% CI 15.0-27.5x, 1+1 runs");
    let r = RatioInterval {
        estimate: 150.0,
        low: 120.0,
        high: 190.0,
        n_num: 2,
        n_den: 3,
        confidence: 0.9,
    };
    assert_eq!(r.to_string(), "150x slower, 90% CI 120-190x, 2+3 runs");
}

#[test]
fn zero_floor_and_identical_runs_give_a_point() {
    let r = ratio_interval(&[2.0], &[4.0], 0.0, 0.95).unwrap();
    assert_eq!((r.low, r.estimate, r.high), (0.5, 0.5, 0.5));
}

#[test]
fn bad_inputs_give_none() {
    assert_eq!(ratio_interval(&[], &[1.0], 0.05, 0.95), None);
    assert_eq!(ratio_interval(&[1.0], &[0.0], 0.05, 0.95), None);
    assert_eq!(ratio_interval(&[f64::NAN], &[1.0], 0.05, 0.95), None);
    assert_eq!(ratio_interval(&[1.0], &[1.0], -0.1, 0.95), None);
    assert_eq!(ratio_interval(&[1.0], &[1.0], 0.05, 1.0), None);
    assert_eq!(ratio_interval(&[1.0], &[1.0], 0.05, 0.0), None);
}

#[test]
fn noise_floor_parses_fractions_and_falls_back() {
    assert_eq!(parse_noise_floor(Some("0.03")), 0.03);
    assert_eq!(parse_noise_floor(Some(" 0.1 ")), 0.1);
    for bad in ["", "abc", "0", "-0.02", "1", "3", "NaN", "inf"] {
        assert_eq!(parse_noise_floor(Some(bad)), DEFAULT_NOISE_FLOOR, "{bad:?}");
    }
    assert_eq!(parse_noise_floor(None), DEFAULT_NOISE_FLOOR);
}

#[test]
fn the_median_variance_decreases_with_runs() {
    let var = |n: usize| median_variance_factor(n) / n as f64;
    for n in 1..60 {
        assert!(var(n + 1) <= var(n), "n = {n}");
    }
    assert_eq!(median_variance_factor(2), 1.0);
    assert!((median_variance_factor(10_001) - std::f64::consts::FRAC_PI_2).abs() < 1e-3);
}

#[test]
fn confidence_per_look_splits_the_error() {
    assert!((confidence_per_look(0.95, 10) - 0.995).abs() < 1e-12);
    assert_eq!(confidence_per_look(0.95, 0), 0.95);
}

#[test]
fn next_run_alternates_at_equal_costs_and_prefers_cheap_runs() {
    let floor = 0.05;
    assert_eq!(
        next_run(&[1.0], &[1.0], floor, (1.0, 1.0), 10),
        Some(Side::Num)
    );
    assert_eq!(
        next_run(&[1.0, 1.0], &[1.0], floor, (1.0, 1.0), 10),
        Some(Side::Den)
    );
    // A baseline twenty times slower: the after side is worth several runs first.
    let mut after = vec![1.0];
    let base = [20.0];
    let mut picks = Vec::new();
    while let Some(side) = next_run(&after, &base, floor, (1.0, 20.0), 10) {
        if side == Side::Den {
            break;
        }
        after.push(1.0);
        picks.push(side);
    }
    assert!(picks.len() >= 3, "{picks:?}");
    assert_eq!(
        next_run(&[1.0; 4], &[], floor, (1.0, 1.0), 10),
        Some(Side::Den)
    );
    // A side at its budget is never chosen; both at it ends the loop.
    assert_eq!(
        next_run(&[1.0; 3], &[1.0], floor, (1.0, 1.0), 3),
        Some(Side::Den)
    );
    assert_eq!(next_run(&[1.0; 3], &[1.0; 3], floor, (1.0, 1.0), 3), None);
}

#[test]
fn a_noisier_side_gets_the_next_run() {
    let calm = [10.0, 10.1, 9.9];
    let noisy = [10.0, 13.0, 8.0];
    assert_eq!(
        next_run(&calm, &noisy, 0.01, (1.0, 1.0), 10),
        Some(Side::Den)
    );
    assert_eq!(
        next_run(&noisy, &calm, 0.01, (1.0, 1.0), 10),
        Some(Side::Num)
    );
}

proptest! {
    #[test]
    fn the_interval_holds_the_estimate_and_scales(
        num in prop::collection::vec(0.5f64..50.0, 1..8),
        den in prop::collection::vec(0.5f64..50.0, 1..8),
        k in 0.1f64..10.0,
        c in 0.5f64..0.999,
    ) {
        let r = ratio_interval(&num, &den, 0.03, c).unwrap();
        prop_assert!(r.low <= r.estimate && r.estimate <= r.high);
        // Scaling one side scales the ratio and its bounds: the interval is on the log scale.
        let scaled: Vec<f64> = num.iter().map(|x| x * k).collect();
        let s = ratio_interval(&scaled, &den, 0.03, c).unwrap();
        prop_assert!((s.low / r.low / k - 1.0).abs() < 1e-9);
        prop_assert!((s.high / r.high / k - 1.0).abs() < 1e-9);
        // A higher confidence never narrows it.
        let wider = ratio_interval(&num, &den, 0.03, (c + 1.0) / 2.0).unwrap();
        prop_assert!(wider.low <= r.low && r.high <= wider.high);
    }
}

/// One cold run among three (a venv compiling its bytecode) does not blow the interval up, and
/// two runs that disagree by 2x give a wide but finite one, not a one-degree-of-freedom t.
#[test]
fn an_outlier_run_or_a_disagreeing_pair_keeps_the_interval_usable() {
    let cold = ratio_interval(&[0.42, 0.41, 0.43], &[2.6, 0.86, 0.87], 0.05, 0.99).unwrap();
    assert!(cold.high < 0.9, "{cold}");
    assert!(cold.low > 0.3, "{cold}");
    let pair = ratio_interval(&[0.3, 0.6], &[0.5, 1.0], 0.05, 0.99).unwrap();
    assert!(pair.high < 100.0 && pair.low > 0.01, "{pair}");
}
