//! Paired comparison of two states measured back to back: the ratio of their times and its
//! interval from the within-pair ratios (a placeholder: a paired t interval on the log ratios).

/// One pair's two runs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The baseline state's run.
    pub baseline: f64,
    /// The after state's run.
    pub after: f64,
}

/// The paired estimate of after/baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedEstimate {
    /// How many pairs.
    pub n: usize,
    /// after/baseline: below 1, after is faster.
    pub ratio: f64,
    /// The lower bound of the interval.
    pub lo: f64,
    /// The upper bound of the interval.
    pub hi: f64,
    /// The confidence level.
    pub confidence: f64,
}

/// The ratio after/baseline from the pairs' log ratios, with a paired t interval; `None`
/// with fewer than two pairs, a non-positive time or a confidence outside (0, 1).
pub fn estimate(pairs: &[Pair], confidence: f64) -> Option<PairedEstimate> {
    if pairs.len() < 2 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let logs: Vec<f64> = pairs
        .iter()
        .map(|p| (p.baseline > 0.0 && p.after > 0.0).then(|| (p.after / p.baseline).ln()))
        .collect::<Option<_>>()?;
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = super::student_t::quantile(0.5 * (1.0 + confidence), n - 1.0)?;
    let half = t * (var / n).sqrt();
    Some(PairedEstimate {
        n: pairs.len(),
        ratio: mean.exp(),
        lo: (mean - half).exp(),
        hi: (mean + half).exp(),
        confidence,
    })
}
