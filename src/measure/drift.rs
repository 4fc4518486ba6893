//! Whether the machine's speed changed while a suite was measured: a Mann–Kendall trend test
//! over the run times in the order they ran, with a Theil–Sen slope for how much.
//!
//! # Why this test
//!
//! Drift on a shared machine is monotone over minutes (a CI neighbour starts, the CPU warms up
//! and throttles) but its shape is unknown: linear, a ramp, a step. Mann–Kendall asks only
//! whether later runs tend to be slower (or faster) than earlier ones: its statistic `S` counts
//! the pairs of runs `i < j` with `t_j > t_i` minus those with `t_j < t_i`. It is rank based, so
//! it assumes nothing about the noise's distribution, one run slowed by another program moves
//! `S` by at most `n - 1`, and it is exact at the handful of runs a suite gets: under no trend
//! every order of the runs is equally likely, and the number of inversions of a random
//! permutation has a known distribution (the Mahonian numbers), computed here by a small
//! dynamic program rather than the normal approximation, which is poor below ten runs. A
//! regression slope would be tested with a t statistic that one outlier can make or break.
//!
//! The size of the change is the Theil–Sen slope of the log run times (the median of the slopes
//! between every two runs, robust to about 29% bad runs), over the whole span of runs:
//! `change = exp(slope · (n - 1)) - 1`, so a suite whose runs grow 5% each over 8 runs reports
//! about `1.05^7 - 1 = 41%` slower by the end.
//!
//! # Several sequences
//!
//! Two records measured one after the other (baseline, then after a change) differ by the change
//! itself, so their runs are not one sequence: [`detect_blocks`] sums `S` over each record's own
//! runs (Hirsch's seasonal Kendall test: the blocks' null distributions are convolved) and takes
//! the Theil–Sen slope over the pairs of runs within a block, extrapolated over every run of the
//! measurement. A jump of the machine's speed exactly between two records cannot be told from
//! the change's effect by any test; only interleaved pairs cancel that (see `paired`).
//!
//! # Level
//!
//! A trend is [`significant`](Drift::significant) at a two-sided p below [`DRIFT_ALPHA`] (5%).
//! In a sequential comparison a significant trend makes a speed verdict `inconclusive: drift`:
//! a false alarm costs an inconclusive verdict, a missed drift a wrong keep or rollback, so the
//! level errs towards alarms. In `cargo bench --bench verdicts`, 1% instead of 5% left the
//! steady machine's sequential rows as they were (20.8% against 20.6% of a 1.5x inconclusive)
//! and doubled the unchanged suites failed at 5% slower per run (12.8% against 6.4%). Three
//! runs can never reach it (the smallest two-sided p of three
//! runs is 1/3); a lone sequence needs five (2/120).

use std::fmt;

use serde::Serialize;

use super::stats::median;

/// The two-sided level below which a trend counts as drift.
pub const DRIFT_ALPHA: f64 = 0.05;

/// Above this many runs in one sequence the exact null distribution gives way to the normal
/// approximation (with continuity correction), which is then within 0.001 of it.
const EXACT_MAX_RUNS: usize = 60;

/// A trend in run times over one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Drift {
    /// Relative change of the run time from the first run to the last, from the trend: 0.38 is
    /// 38% slower by the end, negative is faster.
    pub change: f64,
    /// Whether the trend is significant at [`DRIFT_ALPHA`] (two-sided).
    pub significant: bool,
    /// The two-sided p-value of the Mann–Kendall test.
    pub p_value: f64,
    /// The Theil–Sen slope of the log run time per run (0.049 is about 5% slower per run).
    pub slope: f64,
    /// How many runs the trend spans.
    pub runs: usize,
}

impl Drift {
    /// `slower` or `faster`, the way the change goes.
    pub fn direction(&self) -> &'static str {
        if self.change >= 0.0 {
            "slower"
        } else {
            "faster"
        }
    }
}

impl fmt::Display for Drift {
    /// `the machine got 38% slower during measurement (trend over 12 runs, p = 0.002)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = 100.0 * self.change.abs();
        let amount = if percent >= 10.0 {
            format!("{percent:.0}%")
        } else {
            format!("{percent:.1}%")
        };
        write!(
            f,
            "the machine got {amount} {} during measurement (trend over {} runs, p {})",
            self.direction(),
            self.runs,
            p_text(self.p_value)
        )
    }
}

/// A p-value with two significant digits, `< 0.001` below that.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else if p < 0.01 {
        format!("= {p:.3}")
    } else {
        format!("= {p:.2}")
    }
}

/// The trend of one sequence of run times (seconds, in the order they ran).
///
/// `None` for fewer than three runs or any value that is not a positive finite number.
pub fn detect(walls: &[f64]) -> Option<Drift> {
    detect_blocks(&[walls])
}

/// The trend over several sequences measured one after the other (e.g. a baseline's runs, then
/// the changed suite's): Mann–Kendall summed within each block, the Theil–Sen slope over pairs
/// within a block, the change extrapolated over all the runs (see the module doc).
///
/// `None` when the blocks hold fewer than three runs in all, or fewer than one pair of runs in
/// one block, or any value is not a positive finite number.
pub fn detect_blocks(blocks: &[&[f64]]) -> Option<Drift> {
    let runs: usize = blocks.iter().map(|b| b.len()).sum();
    let valid = blocks
        .iter()
        .all(|b| b.iter().all(|x| x.is_finite() && *x > 0.0));
    if !valid || runs < 3 || blocks.iter().all(|b| b.len() < 2) {
        return None;
    }
    let logs: Vec<Vec<f64>> = blocks
        .iter()
        .map(|b| b.iter().map(|x| x.ln()).collect())
        .collect();
    let mut s = 0i64;
    let mut slopes = Vec::new();
    for block in &logs {
        for i in 0..block.len() {
            for j in i + 1..block.len() {
                let d = block[j] - block[i];
                s += if d > 0.0 {
                    1
                } else if d < 0.0 {
                    -1
                } else {
                    0
                };
                slopes.push(d / (j - i) as f64);
            }
        }
    }
    let sizes: Vec<usize> = blocks.iter().map(|b| b.len()).collect();
    let p_value = mann_kendall_p(s, &sizes);
    let slope = median(&slopes).unwrap_or(0.0);
    Some(Drift {
        change: (slope * (runs - 1) as f64).exp() - 1.0,
        significant: p_value < DRIFT_ALPHA,
        p_value,
        slope,
        runs,
    })
}

/// The two-sided p-value `P(|S| >= |s|)` of the Mann–Kendall statistic summed over blocks of
/// the given sizes, under no trend (every order within each block equally likely).
pub fn mann_kendall_p(s: i64, sizes: &[usize]) -> f64 {
    let s = s.unsigned_abs();
    if s == 0 {
        return 1.0;
    }
    if sizes.iter().any(|n| *n > EXACT_MAX_RUNS) {
        // Kendall's variance of S summed over blocks; continuity-corrected normal tail.
        let var: f64 = sizes
            .iter()
            .map(|&n| {
                let n = n as f64;
                n * (n - 1.0) * (2.0 * n + 5.0) / 18.0
            })
            .sum();
        let z = (s as f64 - 1.0) / var.sqrt();
        return (2.0 * normal_upper_tail(z)).min(1.0);
    }
    // S = pairs - 2 · inversions within each block; the total inversions' distribution is the
    // convolution of each block's Mahonian distribution.
    let mut dist = vec![1.0];
    let mut pairs = 0u64;
    for &n in sizes {
        dist = convolve(&dist, &inversions(n));
        pairs += (n * n.saturating_sub(1) / 2) as u64;
    }
    // |S| >= s  <=>  inversions <= (pairs - s) / 2  or  inversions >= (pairs + s) / 2.
    let tail: f64 = dist
        .iter()
        .enumerate()
        .filter(|(k, _)| {
            let k = *k as u64;
            2 * k + s <= pairs || 2 * k >= pairs + s
        })
        .map(|(_, p)| p)
        .sum();
    tail.min(1.0)
}

/// The distribution of the number of inversions of a uniformly random permutation of `n`
/// (the Mahonian numbers over `n!`), as probabilities indexed by the count.
fn inversions(n: usize) -> Vec<f64> {
    let mut dist = vec![1.0];
    for k in 1..=n {
        // Adding the k-th element adds 0..k-1 inversions, uniformly.
        let mut next = vec![0.0; dist.len() + k - 1];
        let mut window = 0.0;
        for (i, slot) in next.iter_mut().enumerate() {
            if i < dist.len() {
                window += dist[i];
            }
            if i >= k {
                window -= dist[i - k];
            }
            *slot = window / k as f64;
        }
        dist = next;
    }
    dist
}

fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// `P(Z > z)` for a standard normal `Z` (Abramowitz and Stegun 7.1.26 on erfc, error below
/// 1.5e-7, plenty for a significance level).
fn normal_upper_tail(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
