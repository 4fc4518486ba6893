//! Noisy-run warnings the way hyperfine gives them: modified Z-scores over the wall times.
//!
//! The modified Z-score of x is (x - median) / MAD, MAD being the median absolute deviation
//! (Iglewicz and Hoaglin). A point is an outlier when |z| exceeds 1.4826 * 10: 1.4826 turns a MAD
//! into a standard deviation for normal data, so the threshold is ten standard deviations, the
//! same one hyperfine uses.

use super::stats::median;

/// Modified Z-score above which a run counts as an outlier (hyperfine's threshold).
pub const OUTLIER_THRESHOLD: f64 = 1.4826 * 10.0;

/// The modified Z-score of each value; empty for an empty sample.
pub fn modified_zscores(xs: &[f64]) -> Vec<f64> {
    let Some(mid) = median(xs) else {
        return Vec::new();
    };
    let deviations: Vec<f64> = xs.iter().map(|x| (x - mid).abs()).collect();
    // All values equal but one gives a MAD of 0; a tiny MAD still flags the odd one out.
    let mad = median(&deviations)
        .filter(|m| *m > 0.0)
        .unwrap_or(f64::EPSILON);
    xs.iter().map(|x| (x - mid) / mad).collect()
}

/// How far from the median, as a fraction of it, a run must also be to be worth a warning.
///
/// With few runs of a steady command the MAD is tiny, so a run 2% slower than the others gets
/// a huge Z-score; a warning about it ("much slower") would only be noise.
pub const MIN_RELATIVE_DEVIATION: f64 = 0.1;

/// Warnings for the counted wall times `walls` (seconds, in run order): a first run much slower
/// than the rest, else outliers; the hint depends on whether `warmup` runs were made.
pub fn warnings(walls: &[f64], warmup: u32) -> Vec<String> {
    let Some(mid) = median(walls) else {
        return Vec::new();
    };
    let outlier: Vec<bool> = modified_zscores(walls)
        .iter()
        .zip(walls)
        .map(|(z, x)| {
            z.abs() > OUTLIER_THRESHOLD && (x - mid).abs() > MIN_RELATIVE_DEVIATION * mid.abs()
        })
        .collect();
    let slow_first = walls[0] > mid && outlier[0];
    let hint = if warmup == 0 {
        "Consider `warmup = 1` (or more) to fill caches before the counted runs."
    } else {
        "Consider more warmup runs, or re-run on a quiet machine; it may be a random outlier."
    };
    if slow_first {
        vec![format!(
            "the first counted run was much slower than the rest ({:.3} s), maybe because caches \
             were cold. {hint}",
            walls[0]
        )]
    } else if outlier.contains(&true) {
        vec![
            "statistical outliers were detected among the runs. Consider re-running on a quiet \
             machine, without other programs competing for it."
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(xs: &[f64]) -> usize {
        modified_zscores(xs)
            .iter()
            .filter(|z| z.abs() > OUTLIER_THRESHOLD)
            .count()
    }

    #[test]
    fn detects_outliers_like_hyperfine() {
        assert_eq!(count(&[]), 0);
        assert_eq!(count(&[50.0]), 0);
        assert_eq!(count(&[1000.0, 0.0]), 0);
        assert_eq!(count(&[-0.2, 0.0, 0.2]), 0);
        assert_eq!(count(&[-0.2, 0.0, 0.2, 4.0]), 1);
        assert_eq!(count(&[0.5, 0.30, 0.29, 0.31, 0.30]), 1);
        assert_eq!(count(&[10.0, 10.0, 10.0, 10.0, 10.0, 100.0]), 1);
    }

    #[test]
    fn warns_about_a_slow_first_run_before_generic_outliers() {
        let slow_first = warnings(&[0.5, 0.30, 0.29, 0.31, 0.30], 0);
        assert_eq!(slow_first.len(), 1);
        assert!(
            slow_first[0].contains("first counted run"),
            "{slow_first:?}"
        );
        assert!(slow_first[0].contains("0.500 s") && slow_first[0].contains("warmup = 1"));
        let later = warnings(&[0.30, 0.29, 0.5, 0.31, 0.30], 1);
        assert_eq!(later.len(), 1);
        assert!(later[0].contains("outliers"), "{later:?}");
        assert!(warnings(&[0.30, 0.29, 0.31, 0.30], 1).is_empty());
        assert!(warnings(&[], 1).is_empty());
    }

    /// Three steady runs, the first 2% slower: a huge Z-score (tiny MAD) but nothing "much
    /// slower"; the same shape at 50% slower still warns.
    #[test]
    fn a_few_percent_is_not_worth_a_warning() {
        assert!(modified_zscores(&[0.562, 0.5503, 0.5501])[0] > OUTLIER_THRESHOLD);
        assert!(warnings(&[0.562, 0.5503, 0.5501], 1).is_empty());
        assert!(warnings(&[0.5501, 0.562, 0.5503], 1).is_empty());
        let slow = warnings(&[0.825, 0.5503, 0.5501], 1);
        assert!(
            slow.len() == 1 && slow[0].contains("first counted run"),
            "{slow:?}"
        );
    }
}
