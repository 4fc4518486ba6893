//! Whether a sequence of run times trends (the machine got slower or faster while measuring):
//! a placeholder Theil–Sen slope with a Mann–Kendall test.

/// A trend over the runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Relative speed change over the measurement, e.g. 0.38: got 38% slower.
    pub change: f64,
    /// Whether the trend is significant (Mann–Kendall, two-sided 5%).
    pub significant: bool,
}

/// The trend of `walls` in run order; `None` with fewer than four runs or a non-positive time.
pub fn detect(walls: &[f64]) -> Option<Drift> {
    let n = walls.len();
    if n < 4 || walls.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return None;
    }
    let logs: Vec<f64> = walls.iter().map(|w| w.ln()).collect();
    let mut slopes = Vec::new();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            slopes.push((logs[j] - logs[i]) / (j - i) as f64);
            s += match logs[j].partial_cmp(&logs[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let slope = super::stats::median(&slopes)?;
    let nf = n as f64;
    let var = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let z = if s > 0 {
        (s as f64 - 1.0) / var.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / var.sqrt()
    } else {
        0.0
    };
    Some(Drift {
        change: (slope * (nf - 1.0)).exp() - 1.0,
        significant: z.abs() > 1.96,
    })
}
