use super::*;
use crate::measure::sim::{Machine, Rng};
use proptest::prelude::*;

fn pairs(ratios: &[(f64, f64)]) -> Vec<Pair> {
    ratios
        .iter()
        .map(|&(baseline, after)| Pair { baseline, after })
        .collect()
}

/// Hand-computed: log ratios ln(0.5), ln(0.55), ln(0.45) have mean -0.6978, sum of squares
/// 0.02022; with the 5% allowance (2 · 0.0025 per pair at 2 df) s² = (0.02022 + 0.01) / 4,
/// se = sqrt(s² / 3), t(4, 0.975) = 2.7764.
#[test]
fn three_pairs_by_hand() {
    let e = estimate_with(
        &pairs(&[(20.0, 10.0), (20.0, 11.0), (20.0, 9.0)]),
        None,
        0.95,
        0.05,
    )
    .unwrap();
    let d = [0.5f64.ln(), 0.55f64.ln(), 0.45f64.ln()];
    let m = (d[0] + d[1] + d[2]) / 3.0;
    let ss: f64 = d.iter().map(|x| (x - m).powi(2)).sum();
    let se = ((ss + 2.0 * 0.005) / 4.0 / 3.0).sqrt();
    let half = 2.776_445_105_197_793 * se;
    assert!((e.ratio - m.exp()).abs() < 1e-12, "{e:?}");
    assert!((e.lo - (m - half).exp()).abs() < 1e-9, "{e:?}");
    assert!((e.hi - (m + half).exp()).abs() < 1e-9, "{e:?}");
    assert_eq!((e.n, e.disturbed, e.order_effect), (3, 0, None));
    assert_eq!(e.to_string(), "2.01x faster, 95% CI 1.75-2.31x, 3 pairs");
}

/// One pair: the allowance alone at two degrees of freedom, as 1+1 sequential runs; a 20x
/// change is decided, a 1.5x one is not.
#[test]
fn one_pair_decides_only_an_obvious_change() {
    let big = estimate_with(&pairs(&[(20.0, 1.0)]), None, 0.99, 0.05).unwrap();
    assert!(big.hi < 0.43, "{big:?}");
    let small = estimate_with(&pairs(&[(15.0, 10.0)]), None, 0.99, 0.05).unwrap();
    assert!(small.lo < 1.0 / 1.2 && small.hi > 1.0 / 1.2, "{small:?}");
    let seq = interval::ratio_interval(&[1.0], &[20.0], 0.05, 0.99).unwrap();
    assert!((seq.low - big.lo).abs() < 1e-9 && (seq.high - big.hi).abs() < 1e-9);
}

/// The machine 15% slower each run, pairs in random order: knowing the order removes the
/// drift within pairs (the estimate is exact without noise), not knowing it only widens.
#[test]
fn the_order_removes_drift_within_pairs() {
    let machine = Machine::Ramp(0.15);
    let (mut ps, mut orders) = (Vec::new(), Vec::new());
    for i in 0..6 {
        let first = machine.slowdown(2 * i);
        let second = machine.slowdown(2 * i + 1);
        let after_first = i % 3 != 1;
        let (a, b) = if after_first {
            (10.0 * first, 15.0 * second)
        } else {
            (10.0 * second, 15.0 * first)
        };
        ps.push(Pair {
            baseline: b,
            after: a,
        });
        orders.push(if after_first {
            Order::AfterFirst
        } else {
            Order::BaselineFirst
        });
    }
    let known = estimate_with(&ps, Some(&orders), 0.99, 0.05).unwrap();
    assert!((known.ratio - 1.0 / 1.5).abs() < 1e-9, "{known:?}");
    assert!(
        (known.order_effect.unwrap() - 0.15).abs() < 1e-9,
        "{known:?}"
    );
    let unknown = estimate_with(&ps, None, 0.99, 0.05).unwrap();
    assert!(unknown.hi - unknown.lo > known.hi - known.lo);
    assert!(
        unknown.lo < 1.0 / 1.5 && 1.0 / 1.5 < unknown.hi,
        "{unknown:?}"
    );
}

/// A disturbed pair alone in its order would be fitted exactly by the order effect and pass
/// for drift; with fewer than two pairs of an order the plain mean is used and its spread shows
/// the disturbance.
#[test]
fn a_pair_alone_in_its_order_is_not_fitted_away() {
    let ps = pairs(&[(20.0, 20.0), (20.0, 20.2), (20.0, 40.0)]);
    let orders = [
        Order::BaselineFirst,
        Order::BaselineFirst,
        Order::AfterFirst,
    ];
    let e = estimate_with(&ps, Some(&orders), 0.99, 0.05).unwrap();
    assert_eq!(e.order_effect, None);
    assert!(e.lo < 1.0 && e.hi > 1.1, "{e:?}");
}

/// One pair slowed 2x among eight is set aside and the verdict is the others'; below five
/// pairs nothing is set aside.
#[test]
fn one_disturbed_pair_is_set_aside() {
    let mut rng = Rng(5);
    let mut ps: Vec<Pair> = (0..8)
        .map(|_| Pair {
            baseline: rng.run(15.0, 0.03),
            after: rng.run(10.0, 0.03),
        })
        .collect();
    let clean = estimate_with(&ps, None, 0.99, 0.05).unwrap();
    ps[3].after *= 2.0;
    let e = estimate_with(&ps, None, 0.99, 0.05).unwrap();
    assert_eq!(e.disturbed, 1, "{e:?}");
    assert!(e.hi < 1.0 / 1.2, "{e:?}");
    assert!(
        (e.ratio / clean.ratio - 1.0).abs() < 0.03,
        "{e:?} {clean:?}"
    );
    assert!(
        e.to_string().ends_with("8 pairs, 1 disturbed set aside"),
        "{e}"
    );
    let few = estimate_with(&ps[..4], None, 0.99, 0.05).unwrap();
    assert_eq!(few.disturbed, 0);
}

/// Over many seeded sets of pairs the 95% interval covers the true ratio about 95% of the
/// time, whether the noise matches the allowance or is twice or half of it, with and without
/// drift within pairs (order known).
#[test]
fn the_interval_covers_the_true_ratio_at_about_its_level() {
    let truth = 1.0 / 1.3;
    for (n, noise, machine) in [
        (6, 0.05, Machine::Steady),
        (10, 0.05, Machine::Steady),
        (10, 0.10, Machine::Steady),
        (10, 0.025, Machine::Steady),
        (8, 0.05, Machine::Ramp(0.08)),
        (20, 0.05, Machine::Ramp(0.15)),
    ] {
        let mut rng = Rng(0xC0 + n as u64);
        let trials = 3000;
        let covered = (0..trials)
            .filter(|_| {
                let (mut ps, mut orders) = (Vec::new(), Vec::new());
                for i in 0..n {
                    let after_first = rng.coin();
                    let (k_after, k_base) = if after_first {
                        (2 * i, 2 * i + 1)
                    } else {
                        (2 * i + 1, 2 * i)
                    };
                    ps.push(Pair {
                        baseline: rng.run(20.0 * machine.slowdown(k_base), noise),
                        after: rng.run(20.0 * truth * machine.slowdown(k_after), noise),
                    });
                    orders.push(if after_first {
                        Order::AfterFirst
                    } else {
                        Order::BaselineFirst
                    });
                }
                let e = estimate_with(&ps, Some(&orders), 0.95, 0.05).unwrap();
                e.lo <= truth && truth <= e.hi
            })
            .count();
        let rate = covered as f64 / trials as f64;
        // Twice the allowance's noise at ten pairs: the two pseudo-degrees of freedom pull
        // the spread down a little; the rest within two points of 95%.
        let low = if noise > 0.05 { 0.915 } else { 0.93 };
        assert!(
            rate >= low && rate <= 0.99,
            "{n} pairs, noise {noise}, {machine:?}: {rate}"
        );
    }
}

#[test]
fn bad_input_gives_none() {
    let ok = pairs(&[(1.0, 1.0)]);
    assert_eq!(estimate_with(&[], None, 0.95, 0.05), None);
    assert_eq!(estimate_with(&ok, None, 1.0, 0.05), None);
    assert_eq!(estimate_with(&ok, None, 0.0, 0.05), None);
    assert_eq!(estimate_with(&ok, None, f64::NAN, 0.05), None);
    assert_eq!(estimate_with(&ok, None, 0.95, -0.1), None);
    assert_eq!(estimate_with(&ok, Some(&[]), 0.95, 0.05), None);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(estimate_with(&pairs(&[(bad, 1.0)]), None, 0.95, 0.05), None);
        assert_eq!(estimate_with(&pairs(&[(1.0, bad)]), None, 0.95, 0.05), None);
    }
    // Identical pairs and no allowance: a zero-width interval at the ratio, not a panic.
    let same = estimate_with(&pairs(&[(2.0, 1.0), (2.0, 1.0)]), None, 0.95, 0.0).unwrap();
    assert_eq!((same.ratio, same.lo, same.hi), (0.5, 0.5, 0.5));
    assert!(estimate(&ok, 0.95).is_some());
    assert!(estimate_in_order(&ok, &[Order::AfterFirst], 0.95).is_some());
}

/// The machine's drift over the pairs is read from each pair's mean time.
#[test]
fn machine_drift_reads_the_pairs_mean_times() {
    let machine = Machine::Ramp(0.05);
    let ps: Vec<Pair> = (0..8)
        .map(|i| Pair {
            baseline: 20.0 * machine.slowdown(2 * i),
            after: 10.0 * machine.slowdown(2 * i + 1),
        })
        .collect();
    let d = machine_drift(&ps).unwrap();
    assert!(d.significant, "{d:?}");
    assert!((d.change - (1.05f64.powi(14) - 1.0)).abs() < 1e-9, "{d:?}");
}

/// Found by the property below: a noise floor whose square overflows and a confidence whose
/// quantile rounds to 0 made `0 * inf` bounds (NaN); such inputs give no estimate.
#[test]
fn an_overflowing_floor_gives_no_estimate_rather_than_nan_bounds() {
    let ps = [Pair {
        baseline: 1.1599667649900187e35,
        after: 3.07981473817879e-173,
    }];
    for orders in [None, Some(&[Order::BaselineFirst][..])] {
        let e = estimate_with(&ps, orders, 1.5946284180193027e-167, 6.103023226440132e168);
        assert!(
            e.as_ref()
                .is_none_or(|e| e.lo <= e.ratio && e.ratio <= e.hi),
            "{e:?}"
        );
    }
}

proptest! {
    #[test]
    fn never_panics_and_orders_its_bounds(
        raw in prop::collection::vec((prop::num::f64::ANY, prop::num::f64::ANY, any::<bool>()), 0..25),
        confidence in prop::num::f64::ANY,
        floor in prop::num::f64::ANY,
    ) {
        let ps: Vec<Pair> = raw.iter().map(|&(baseline, after, _)| Pair { baseline, after }).collect();
        let orders: Vec<Order> = raw
            .iter()
            .map(|&(_, _, a)| if a { Order::AfterFirst } else { Order::BaselineFirst })
            .collect();
        for o in [None, Some(orders.as_slice())] {
            if let Some(e) = estimate_with(&ps, o, confidence, floor) {
                prop_assert!(e.lo <= e.ratio && e.ratio <= e.hi, "{e:?}");
            }
        }
        let _ = machine_drift(&ps);
    }

    #[test]
    fn positive_pairs_always_give_an_estimate(
        raw in prop::collection::vec((1e-6f64..1e6, 1e-6f64..1e6), 1..25),
    ) {
        let ps: Vec<Pair> = raw.iter().map(|&(baseline, after)| Pair { baseline, after }).collect();
        let e = estimate_with(&ps, None, 0.99, 0.05).unwrap();
        prop_assert!(e.lo > 0.0 && e.lo <= e.ratio && e.ratio <= e.hi && e.hi.is_finite());
    }
}

/// Each block of two pairs holds one AB and one BA pair, which first drawn once per block.
#[test]
fn orders_come_in_balanced_blocks() {
    let mut rng = Rng(9);
    let mut last = None;
    let mut drawn = 0;
    let mut orders = Vec::new();
    for i in 0..40u32 {
        let after_first = block_order(i, last, &mut || {
            drawn += 1;
            rng.coin()
        });
        last = Some(after_first);
        orders.push(after_first);
    }
    assert_eq!(drawn, 20);
    for block in orders.chunks(2) {
        assert_ne!(block[0], block[1], "{orders:?}");
    }
    // Both orders lead a block somewhere: the first of each is random.
    let leads: Vec<bool> = orders.chunks(2).map(|b| b[0]).collect();
    assert!(leads.contains(&true) && leads.contains(&false));
}

/// Balanced pairs on a steady machine: the crossover and the plain fit agree on the estimate,
/// and the plain one's extra degree of freedom gives the narrower interval, which is used; with
/// drift within the pairs the crossover's is narrower and used, free of the drift.
#[test]
fn balanced_pairs_use_the_narrower_of_the_two_fits() {
    let steady = pairs(&[(20.0, 15.0), (20.0, 15.3), (20.0, 14.6), (20.0, 15.1)]);
    let orders = [
        Order::AfterFirst,
        Order::BaselineFirst,
        Order::BaselineFirst,
        Order::AfterFirst,
    ];
    let known = estimate_with(&steady, Some(&orders), 0.99, 0.05).unwrap();
    let plain = estimate_with(&steady, None, 0.99, 0.05).unwrap();
    assert!((known.ratio - plain.ratio).abs() < 1e-12);
    assert!((known.lo - plain.lo).abs() < 1e-12 && (known.hi - plain.hi).abs() < 1e-12);
    assert!(known.order_effect.is_some(), "{known:?}");
    // 15% slower per run: the second run of each pair 15% slower.
    let drifting: Vec<Pair> = orders
        .iter()
        .map(|o| match o {
            Order::BaselineFirst => Pair {
                baseline: 20.0,
                after: 15.0 * 1.15,
            },
            Order::AfterFirst => Pair {
                baseline: 20.0 * 1.15,
                after: 15.0,
            },
        })
        .collect();
    let known = estimate_with(&drifting, Some(&orders), 0.99, 0.05).unwrap();
    let plain = estimate_with(&drifting, None, 0.99, 0.05).unwrap();
    assert!((known.ratio - 0.75).abs() < 1e-9, "{known:?}");
    assert!(known.hi - known.lo < plain.hi - plain.lo);
}

/// One or two pairs are compared as two sides at the noise floor, from three on paired.
#[test]
fn the_interval_of_few_pairs_is_the_two_sides_one() {
    let two = pairs(&[(20.0, 10.0), (21.0, 10.5)]);
    let orders = [Order::AfterFirst, Order::BaselineFirst];
    let got = interval_of_pairs(&two, &orders, 0.99, 0.05).unwrap();
    let sides = interval::ratio_interval(&[10.0, 10.5], &[20.0, 21.0], 0.05, 0.99).unwrap();
    assert_eq!(got, sides);
    let three = pairs(&[(20.0, 10.0), (21.0, 10.5), (20.5, 10.1)]);
    let orders = [Order::AfterFirst, Order::BaselineFirst, Order::AfterFirst];
    let got = interval_of_pairs(&three, &orders, 0.99, 0.05).unwrap();
    let paired = estimate_with(&three, Some(&orders), 0.99, 0.05).unwrap();
    assert_eq!(got, paired.to_interval());
}
