//! How sure a comparison of two suites is: the ratio of their typical run times with a
//! confidence interval, from as few as one run each, and which side to run next to narrow it.
//!
//! # Method
//!
//! Run times are compared on the log scale, where "1.4x faster" is a difference and machine
//! noise is roughly proportional to the time (a run 5% slower is as likely at 2 s as at 20 s).
//! For each side:
//!
//! - the centre is `ln(median)` of its samples: the median, because one run slowed by another
//!   program must not move the verdict (the gates name `wall.median` for the same reason);
//! - the spread is the runs' own spread of the ln samples (from three runs on the robust one,
//!   1.4826 times their median absolute deviation with Croux and Rousseeuw's small-sample
//!   factor, so that one run slowed by another program does not make the interval useless; the
//!   standard deviation of two), pooled with a noise allowance (a relative spread such as 0.05,
//!   see [`noise_floor`]) as if the allowance were [`FLOOR_DF`] more degrees of freedom of
//!   evidence. The allowance is a starting point, not a minimum: one run has no spread of its
//!   own, and two runs that disagree by 2x must not give a t quantile of one degree of freedom
//!   (63.7 at 99%, an interval spanning thirteen orders of magnitude, as a first version did on
//!   a real suite); from the second run on, what the runs show weighs in, and by five runs it
//!   outweighs the allowance four to one. A first version also kept the spread from falling
//!   below the allowance; on the 16 s to 24 s runs of issue 22 the allowance was far too low
//!   anyway, and on a quiet machine the minimum only cost runs;
//! - the variance of the centre is `f(n) s² / n`, where `f(n)` is the variance of the median of
//!   `n` normal samples relative to that of their mean (1 for n ≤ 2, 1.35 for 3, 1.19 for 4, ...
//!   towards π/2; the table is computed by numerical integration of the order statistics, see
//!   [`median_variance_factor`]). Using the mean's `s² / n` for a median would make a 95% interval
//!   cover about 90%.
//!
//! The estimate is the difference of the centres, its standard error `se = sqrt(v_num + v_den)`,
//! and the interval `estimate ± t(ν, (1 + c) / 2) · se` with the Welch–Satterthwaite degrees of
//! freedom `ν = (v_num + v_den)² / (v_num² / df_num + v_den² / df_den)`, `df = n - 1` per side.
//! A side's `df` is its runs' `n - 1` plus the floor's [`FLOOR_DF`]: a side with one run has the
//! floor alone at `df = 1`, so 1+1 runs get `ν = 2` and a t quantile of 4.30 at 95%
//! instead of 1.96. That is deliberately conservative: it decides a 20x speed-up from one run
//! each (at a 5% floor the 95% bounds are a factor 1.36 either side of the estimate, the 99%
//! ones 2.0) and asks for more runs at 1.5x. The bounds are exponentiated back into ratios.
//!
//! # Drift
//!
//! Measured one after the other, the two sides compare two moments of the machine: drift
//! between them goes straight into the ratio and no spread shows it. What the runs can show is
//! a trend within each side; a machine that slows down while it measures one side most likely
//! kept doing so in between. `criteria::decide` therefore runs a trend test over both sides'
//! runs ([`drift::detect_blocks`](super::drift::detect_blocks)) and, when it is significant,
//! widens the interval by the trend's slope extrapolated over the runs between the two
//! records' centres: a verdict that still holds stands (`drift allowed for`), any other is
//! `inconclusive: drift`, naming how much slower or faster the machine got. A jump exactly between the sides is invisible to any test; interleaved pairs
//! (`paired`) cancel both.
//!
//! # Why not a bootstrap or Hodges–Lehmann
//!
//! Both need several runs per side before they give any interval: a bootstrap of one or two
//! samples resamples the same values, and the Mann–Whitney interval of the Hodges–Lehmann
//! estimate cannot reach 95% with 3+3 or 3+4 runs (its smallest two-sided p-value with n+m runs
//! is `2 / C(n+m, n)`: 0.10 for 3+3). The point of adaptive runs is to stop at 1+1 when the answer is obvious, so
//! the interval has to come from somewhere other than the samples alone: the noise allowance. Given
//! that, the t interval on the log scale is the textbook answer for roughly lognormal times,
//! and its assumptions fail in the conservative direction: a slow outlier raises the sample
//! standard deviation and widens the interval, which ends in `inconclusive`, not in a wrong
//! `pass`.
//!
//! # Many looks
//!
//! An adaptive loop looks at the interval after every run, and each look may end the loop with
//! a verdict, so the chance of a wrong verdict grows with the number of looks (optional
//! stopping). The simulation of issue 17 (1+1 to 10+10 runs, 5% noise) measured it: with a 95%
//! interval at every look, a suite whose true ratio sits exactly at the gate's bound ended
//! `pass` in about 4% of applies and `fail` in about 4%; with 99% at every look, in under 0.5%
//! each. `cargo bench --bench verdicts` keeps that row ("exactly 1.2x") for the methods of
//! issue 22: at 99% a look, about 1% each way, interleaved or sequential. Hence
//! [`DEFAULT_CONFIDENCE`]. [`confidence_per_look`] is the strict alternative: it splits the
//! error over every look the budget allows (Bonferroni).

use std::fmt;

use serde::Serialize;

use super::stats::{median, robust_spread, stddev};
use super::student_t;

/// The environment variable that overrides the noise allowance's starting value, as a fraction
/// (`0.03` for 3%): for a machine whose noise is known, so that one or two runs are judged
/// against it rather than against the default.
pub const NOISE_FLOOR_ENV: &str = "PLANRUN_NOISE_FLOOR";

/// The noise allowance when none is set: a 5% relative run-to-run spread, where a side's spread
/// starts before its runs show their own (it weighs as [`FLOOR_DF`] runs' worth).
///
/// A quiet machine shows 1-3% on test suites; a 2-core machine shared with compilers shows 5%
/// and more. Guessing low makes one-run verdicts wrong; guessing high costs runs until the
/// runs' own spread takes over (by the third or fourth run), so the default sits at the noisy
/// end.
pub const DEFAULT_NOISE_FLOOR: f64 = 0.05;

/// The confidence level of the interval at each look of an adaptive loop (see "Many looks" in
/// the module doc for why 99% and not 95%).
pub const DEFAULT_CONFIDENCE: f64 = 0.99;

/// The smallest relative run-to-run spread assumed for a suite: [`NOISE_FLOOR_ENV`] when it
/// holds a valid fraction, else [`DEFAULT_NOISE_FLOOR`].
pub fn noise_floor() -> f64 {
    parse_noise_floor(std::env::var(NOISE_FLOOR_ENV).ok().as_deref())
}

/// The noise floor `value` gives: a number strictly between 0 and 1, else the default.
pub fn parse_noise_floor(value: Option<&str>) -> f64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| *f > 0.0 && *f < 1.0)
        .unwrap_or(DEFAULT_NOISE_FLOOR)
}

/// The ratio of two sides' typical values with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioInterval {
    /// The ratio of the medians, numerator over denominator (below 1: the numerator is faster).
    pub estimate: f64,
    /// The lower bound of the interval.
    pub low: f64,
    /// The upper bound of the interval.
    pub high: f64,
    /// How many samples the numerator had.
    pub n_num: usize,
    /// How many samples the denominator had.
    pub n_den: usize,
    /// The confidence level, e.g. 0.95.
    pub confidence: f64,
}

impl fmt::Display for RatioInterval {
    /// `1.42x faster, 95% CI 1.37-1.47x, 5+5 runs` when the ratio is below 1 (the figures are
    /// then denominator over numerator), `1.42x slower, ...` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = format!("{}+{} runs", self.n_num, self.n_den);
        f.write_str(&self.describe(&tail))
    }
}

impl RatioInterval {
    /// `1.42x faster, 95% CI 1.37-1.47x, ` then `tail` (how the runs were taken).
    pub fn describe(&self, tail: &str) -> String {
        let (word, estimate, low, high) = if self.estimate < 1.0 {
            (
                "faster",
                1.0 / self.estimate,
                1.0 / self.high,
                1.0 / self.low,
            )
        } else {
            ("slower", self.estimate, self.low, self.high)
        };
        format!(
            "{}x {word}, {}% CI {}-{}x, {tail}",
            times(estimate),
            percent(self.confidence),
            times(low),
            times(high),
        )
    }
}

/// A ratio with three significant digits or two decimals, whichever is shorter.
fn times(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// A confidence level as a percentage without trailing zeros: `95`, `99.5`.
fn percent(c: f64) -> String {
    let text = format!("{:.2}", c * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What one side contributes: its centre on the log scale, the variance of that centre, and the
/// degrees of freedom of its spread.
#[derive(Debug, Clone, Copy)]
struct SideStats {
    center: f64,
    var: f64,
    df: f64,
}

/// Degrees of freedom the noise floor counts for in a side's spread: it is pooled with the
/// runs' own spread as one more observation of it (see "Spread" in the module doc).
pub const FLOOR_DF: f64 = 1.0;

/// A side's spread: robust from three runs on ([`robust_spread`]: one run slowed by another
/// program must not make every interval useless), the standard deviation of two; then pooled
/// with the floor, which counts [`FLOOR_DF`] degrees of freedom. The floor is where the
/// allowance starts, not a minimum: from the second run on the runs' own spread weighs in, so a
/// quiet machine's runs narrow the interval and a noisy one's widen it.
/// Returns the spread and its degrees of freedom.
pub fn side_spread(logs: &[f64], floor: f64) -> (f64, f64) {
    let n = logs.len();
    let own = if n >= 3 {
        robust_spread(logs).unwrap_or(0.0)
    } else {
        stddev(logs).unwrap_or(0.0)
    };
    let df = n.saturating_sub(1) as f64;
    let pooled = ((df * own * own + FLOOR_DF * floor * floor) / (df + FLOOR_DF)).sqrt();
    (pooled, df + FLOOR_DF)
}

fn side_stats(xs: &[f64], floor: f64) -> Option<SideStats> {
    if xs.is_empty() || xs.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return None;
    }
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let (spread, df) = side_spread(&logs, floor);
    let n = xs.len();
    Some(SideStats {
        center: median(xs)?.ln(),
        var: centre_variance(spread, n),
        df,
    })
}

/// The variance of the median of `n` samples of spread `s`.
fn centre_variance(s: f64, n: usize) -> f64 {
    median_variance_factor(n) * s * s / n as f64
}

/// The variance of the median of `n` independent normal samples over that of their mean.
///
/// Exact values up to 20, from numerical integration of the order statistics' densities
/// (`scipy.integrate`); beyond, the fit `π/2 · n / (n + a)` with `a` 0.44 for odd `n` and 1.39
/// for even `n`, within 0.1% of the exact values at 15 to 20 and keeping the variance of the
/// median decreasing in `n`.
pub fn median_variance_factor(n: usize) -> f64 {
    const EXACT: [f64; 20] = [
        1.0, 1.0, 1.346_013, 1.192_798, 1.434_168, 1.288_456, 1.473_128, 1.345_447, 1.494_912,
        1.383_264, 1.508_787, 1.410_194, 1.518_387, 1.430_350, 1.525_420, 1.446_003, 1.530_792,
        1.458_513, 1.535_029, 1.468_741,
    ];
    match n {
        0 => 1.0,
        1..=20 => EXACT[n - 1],
        _ => {
            let a = if n % 2 == 1 { 0.44 } else { 1.39 };
            std::f64::consts::FRAC_PI_2 * n as f64 / (n as f64 + a)
        }
    }
}

/// The ratio `typical(num) / typical(den)` with a `confidence` (e.g. 0.95) interval, from each
/// side's samples (one or more each) and the noise `floor` (see the module doc).
///
/// `None` when a side is empty, a sample is not a positive finite number, the floor is negative
/// or not finite, or the confidence is not strictly between 0 and 1.
pub fn ratio_interval(
    num: &[f64],
    den: &[f64],
    floor: f64,
    confidence: f64,
) -> Option<RatioInterval> {
    if !(floor.is_finite() && floor >= 0.0 && confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let (a, b) = (side_stats(num, floor)?, side_stats(den, floor)?);
    let estimate = a.center - b.center;
    let var = a.var + b.var;
    let half = if var > 0.0 {
        let df = var * var / (a.var * a.var / a.df + b.var * b.var / b.df);
        student_t::quantile(0.5 * (1.0 + confidence), df)? * var.sqrt()
    } else {
        0.0
    };
    Some(RatioInterval {
        estimate: estimate.exp(),
        low: (estimate - half).exp(),
        high: (estimate + half).exp(),
        n_num: num.len(),
        n_den: den.len(),
        confidence,
    })
}

/// The per-look confidence that keeps the chance of any wrong verdict over `looks` looks at an
/// interval within `1 - confidence` (Bonferroni: the error is split evenly).
///
/// An adaptive loop that starts at `min` runs per side and may take up to `max` per side looks
/// at most `2 * (max - min) + 1` times.
pub fn confidence_per_look(confidence: f64, looks: u32) -> f64 {
    1.0 - (1.0 - confidence) / f64::from(looks.max(1))
}

/// One side of a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The numerator, e.g. `after` in `after.wall.median <= baseline.wall.median * 0.8`.
    Num,
    /// The denominator, e.g. `baseline`.
    Den,
}

/// Which side to run once more so the interval of [`ratio_interval`] narrows most per second
/// spent, or `None` when both sides have `max_runs` samples.
///
/// `costs` are the expected seconds of one more run of (num, den), e.g. each side's median wall
/// time; with equal costs the sides alternate. An empty side comes first; a side already at
/// `max_runs` is not chosen.
/// The loop around it stops as soon as the gate is conclusive, or at `None`.
pub fn next_run(
    num: &[f64],
    den: &[f64],
    floor: f64,
    costs: (f64, f64),
    max_runs: usize,
) -> Option<Side> {
    let cost = |c: f64| if c.is_finite() && c > 0.0 { c } else { 1.0 };
    // How much one more run lowers the variance of a side's centre, per second.
    let gain = |xs: &[f64], c: f64| {
        if xs.is_empty() {
            return f64::INFINITY;
        }
        let logs: Vec<f64> = xs.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect();
        let s = side_spread(&logs, floor).0.max(f64::MIN_POSITIVE);
        let n = xs.len();
        (centre_variance(s, n) - centre_variance(s, n + 1)) / cost(c)
    };
    let open = |xs: &[f64]| xs.len() < max_runs;
    match (open(num), open(den)) {
        (false, false) => None,
        (true, false) => Some(Side::Num),
        (false, true) => Some(Side::Den),
        (true, true) => {
            let (g_num, g_den) = (gain(num, costs.0), gain(den, costs.1));
            if g_den > g_num || (g_den == g_num && den.len() < num.len()) {
                Some(Side::Den)
            } else {
                Some(Side::Num)
            }
        }
    }
}

#[cfg(test)]
#[path = "interval_tests.rs"]
mod tests;
