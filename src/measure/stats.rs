//! Summary statistics of a sample: min, median, mean, max, sample standard deviation, percentiles.

use serde::{Deserialize, Serialize};

/// The summary of a non-empty sample (seconds when it summarises wall times).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The smallest value.
    pub min: f64,
    /// The middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// The arithmetic mean.
    pub mean: f64,
    /// The largest value.
    pub max: f64,
    /// The sample standard deviation (n - 1); `None` for a single value.
    pub stddev: Option<f64>,
}

impl Summary {
    /// Summarises `xs`; `None` when it is empty.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        Some(Summary {
            min: min(xs)?,
            median: median(xs)?,
            mean: mean(xs)?,
            max: max(xs)?,
            stddev: stddev(xs),
        })
    }
}

/// The smallest value.
pub fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::min)
}

/// The largest value.
pub fn max(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::max)
}

/// The arithmetic mean.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The median: the 50th percentile.
pub fn median(xs: &[f64]) -> Option<f64> {
    percentile(xs, 50.0)
}

/// The sample standard deviation (Bessel's n - 1); `None` for fewer than two values.
pub fn stddev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let sum_sq: f64 = xs.iter().map(|x| (x - m).powi(2)).sum();
    Some((sum_sq / (xs.len() - 1) as f64).sqrt())
}

/// The `p`th percentile (0..=100, clamped) with linear interpolation between closest ranks, the
/// definition numpy uses by default; `None` for an empty sample.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// A robust standard deviation: 1.4826 times the median absolute deviation from the median,
/// times Croux and Rousseeuw's small-sample factor (1992) so that it is unbiased for normal
/// samples of every size (the plain 1.4826 MAD of three values underestimates the standard
/// deviation by a third). `None` for fewer than two values.
pub fn robust_spread(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let mid = median(xs)?;
    let deviations: Vec<f64> = xs.iter().map(|x| (x - mid).abs()).collect();
    Some(1.4826 * mad_factor(xs.len()) * median(&deviations)?)
}

/// Croux and Rousseeuw's finite-sample correction of the MAD for `n` values: their table up to
/// 9, `n / (n - 0.8)` beyond.
pub fn mad_factor(n: usize) -> f64 {
    const TABLE: [f64; 8] = [1.196, 1.495, 1.363, 1.206, 1.200, 1.140, 1.129, 1.107];
    match n {
        0 | 1 => 1.0,
        2..=9 => TABLE[n - 2],
        _ => n as f64 / (n as f64 - 0.8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn known_numbers() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = Summary::of(&xs).unwrap();
        assert_eq!((s.min, s.max, s.mean, s.median), (2.0, 9.0, 5.0, 4.5));
        // Population stddev is 2; the sample one is sqrt(32 / 7).
        assert!(close(s.stddev.unwrap(), (32.0f64 / 7.0).sqrt()));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn small_and_empty_samples() {
        assert_eq!(Summary::of(&[]), None);
        let one = Summary::of(&[1.5]).unwrap();
        assert_eq!(
            (one.min, one.median, one.max, one.stddev),
            (1.5, 1.5, 1.5, None)
        );
    }

    #[test]
    fn percentiles_interpolate() {
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&xs, 0.0), Some(1.0));
        assert_eq!(percentile(&xs, 100.0), Some(10.0));
        assert!(close(percentile(&xs, 95.0).unwrap(), 9.55));
        assert!(close(percentile(&xs, 50.0).unwrap(), 5.5));
        assert_eq!(percentile(&xs, 250.0), Some(10.0));
    }

    /// The corrected MAD is about unbiased for normal samples at every size, where 1.4826 MAD
    /// alone underestimates the standard deviation at three values by a third.
    #[test]
    fn robust_spread_is_unbiased_for_normal_samples() {
        let mut rng = crate::measure::sim::Rng(17);
        for n in [2usize, 3, 4, 5, 7, 9, 12, 30] {
            let trials = 20_000;
            let total: f64 = (0..trials)
                .map(|_| {
                    let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                    robust_spread(&xs).unwrap()
                })
                .sum();
            let mean = total / trials as f64;
            assert!((mean - 1.0).abs() < 0.03, "n = {n}: {mean}");
        }
        assert_eq!(robust_spread(&[1.0]), None);
        assert_eq!(robust_spread(&[3.0, 3.0, 3.0]), Some(0.0));
    }

    proptest! {
        #[test]
        fn summary_is_ordered(xs in prop::collection::vec(-1e6f64..1e6, 1..50)) {
            let s = Summary::of(&xs).unwrap();
            prop_assert!(s.min <= s.median && s.median <= s.max);
            prop_assert!(s.min <= s.mean + 1e-6 && s.mean <= s.max + 1e-6);
            prop_assert!(s.stddev.unwrap_or(0.0) >= 0.0);
            let p95 = percentile(&xs, 95.0).unwrap();
            prop_assert!(s.median <= p95 && p95 <= s.max);
        }
    }
}
