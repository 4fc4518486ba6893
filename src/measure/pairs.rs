//! Two records measured in interleaved pairs, as a gate reads them: the paired ratio and its
//! interval from the within-pair ratios ([`super::paired`]), and a trend over the runs
//! ([`super::drift`]) said in words; or, for records measured one after the other, why, and
//! whether the machine drifted meanwhile (then no ratio of theirs can be trusted).

use std::collections::BTreeMap;

use serde::Serialize;

use super::drift;
use super::interval::RatioInterval;
use super::paired::{self, Pair};
use super::record::{Record, INTERLEAVED};

/// How the two records of a ratio were measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Pairing {
    /// In interleaved pairs: the interval is the paired one, from the within-pair ratios
    /// (numerator over denominator).
    Interleaved {
        /// The paired interval.
        interval: RatioInterval,
        /// Pairs.
        pairs: usize,
        /// A trend over the runs, said beside the verdict.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// One after the other; the interval comes from the two sides' runs as before.
    Sequential {
        /// Why they were not interleaved.
        reason: String,
        /// A trend over the runs that makes the comparison unreliable: the verdict is
        /// inconclusive.
        #[serde(skip_serializing_if = "Option::is_none")]
        drift: Option<String>,
    },
}

/// How `num` and `den` (record names) were measured together, for the per-run `metric`s
/// (`wall.*` or `cpu_seconds`); `None` when neither record says it was compared with the other.
pub fn pairing(
    records: &BTreeMap<String, Record>,
    num: (&str, &str),
    den: (&str, &str),
    confidence: f64,
) -> Option<Pairing> {
    let (n, d) = (records.get(num.0)?, records.get(den.0)?);
    let with = |r: &Record, other: &str| r.comparison.as_ref().is_some_and(|c| c.with == other);
    // The later record holds the comparison with the earlier one.
    let (later, earlier, num_is_later) = match (with(n, den.0), with(d, num.0)) {
        (true, _) => (n, d, true),
        (_, true) => (d, n, false),
        _ => return None,
    };
    let comparison = later.comparison.as_ref()?;
    if comparison.mode != INTERLEAVED {
        let walls = |r: &Record| -> Vec<f64> {
            r.samples
                .iter()
                .filter(|s| !s.warmup)
                .map(|s| s.wall)
                .collect()
        };
        return Some(Pairing::Sequential {
            reason: comparison.reason.clone().unwrap_or_default(),
            drift: trend(&[walls(earlier), walls(later)]),
        });
    }
    let (num_metric, den_metric) = (num.1, den.1);
    let value = |s: &super::record::RunSample, metric: &str| {
        if metric == "cpu_seconds" {
            s.cpu_user + s.cpu_system
        } else {
            s.wall
        }
    };
    let (later_metric, earlier_metric) = if num_is_later {
        (num_metric, den_metric)
    } else {
        (den_metric, num_metric)
    };
    // Per pair: the earlier record's run, the later record's run, and whether the earlier's ran
    // first (so drift within each pair can be fitted away, see `paired`).
    type Slot = (Option<f64>, Option<f64>, Option<bool>);
    let mut by_index: BTreeMap<u32, Slot> = BTreeMap::new();
    for s in earlier.samples.iter().filter(|s| !s.warmup) {
        if let Some(slot) = s.pair {
            let entry = by_index.entry(slot.index).or_default();
            entry.0 = Some(value(s, earlier_metric));
            entry.2 = Some(slot.first);
        }
    }
    for s in later.samples.iter().filter(|s| !s.warmup) {
        if let Some(slot) = s.pair {
            let entry = by_index.entry(slot.index).or_default();
            entry.1 = Some(value(s, later_metric));
            entry.2 = entry.2.or(Some(!slot.first));
        }
    }
    let (pairs, orders): (Vec<Pair>, Vec<paired::Order>) = by_index
        .values()
        .filter_map(|(b, a, earlier_first)| {
            let order = match (*earlier_first)? {
                true => paired::Order::BaselineFirst,
                false => paired::Order::AfterFirst,
            };
            Some((
                Pair {
                    baseline: (*b)?,
                    after: (*a)?,
                },
                order,
            ))
        })
        .unzip();
    // after/baseline as the pairs give it, never with runs taken outside the pairs.
    let i = paired::interval_of_pairs(&pairs, &orders, confidence, super::interval::noise_floor())?;
    let (ratio, lo, hi) = (i.estimate, i.low, i.high);
    let (estimate, low, high) = if num_is_later {
        (ratio, lo, hi)
    } else {
        (1.0 / ratio, 1.0 / hi, 1.0 / lo)
    };
    let side = |r: &Record| -> Vec<f64> {
        let mut walls: Vec<(u32, f64)> = r
            .samples
            .iter()
            .filter(|s| !s.warmup)
            .filter_map(|s| Some((s.pair?.index, s.wall)))
            .collect();
        walls.sort_by_key(|(i, _)| *i);
        walls.into_iter().map(|(_, w)| w).collect()
    };
    let note = trend(&[side(earlier), side(later)])
        .map(|t| format!("{t}; interleaved, the ratio is unaffected"));
    Some(Pairing::Interleaved {
        interval: RatioInterval {
            estimate,
            low,
            high,
            n_num: pairs.len(),
            n_den: pairs.len(),
            confidence,
        },
        pairs: pairs.len(),
        note,
    })
}

/// Two sides' ratio as a verdict decides on it: the interval, the trend over the runs when they
/// were not interleaved, and the interval widened by what that trend could have put between
/// them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    /// The interval as measured: the paired one for interleaved pairs, else the two sides'.
    pub interval: RatioInterval,
    /// The trend over both sides' runs in the order they ran (`None` for interleaved pairs,
    /// which cancel it).
    pub drift: Option<drift::Drift>,
    /// `interval` widened by the shift a significant `drift` extrapolates between the two
    /// sides' centres (see `measure::interval`, "Drift"): what the verdict is decided on.
    pub widened: RatioInterval,
}

/// The figure of `num / den` from their per-run samples and how they were measured together
/// (see [`Figure`]); `None` when a side has no usable sample.
pub fn figure(
    num: &[f64],
    den: &[f64],
    pairing: Option<&Pairing>,
    floor: f64,
    confidence: f64,
) -> Option<Figure> {
    let (interval, drift) = match pairing {
        // Interleaved pairs cancel drift: the paired interval stands as it is.
        Some(Pairing::Interleaved { interval, .. }) => (*interval, None),
        _ => (
            super::interval::ratio_interval(num, den, floor, confidence)?,
            drift::detect_blocks(&[den, num]),
        ),
    };
    // Measured one after the other, a trend within the records says the machine was not the
    // same for both: extrapolated over the runs between the two records' centres, it shifts the
    // ratio by up to `shift` either way.
    let shift = drift.filter(|d| d.significant).map_or(0.0, |d| {
        d.slope.abs() * (num.len() + den.len()) as f64 / 2.0
    });
    let widened = RatioInterval {
        low: interval.low * (-shift).exp(),
        high: interval.high * shift.exp(),
        ..interval
    };
    Some(Figure {
        interval,
        drift,
        widened,
    })
}

/// How two records compare in speed, as every report says it: the figure a gate comparing their
/// wall times decides on, and how they were measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Speed {
    /// The figure (`widened` is what reports show).
    pub figure: Figure,
    /// How the records were measured together, when the later says it was compared with the
    /// earlier.
    pub pairing: Option<Pairing>,
}

impl Speed {
    /// `paired` or `in sequence`.
    pub fn mode(&self) -> &'static str {
        match self.pairing {
            Some(Pairing::Interleaved { .. }) => "paired",
            _ => "in sequence",
        }
    }

    /// `1.02x slower, 99% CI 0.97-1.08x, paired over 6 pairs`, or `..., in sequence, 3+4 runs`
    /// with `drift allowed for` when a trend widened it.
    pub fn describe(&self) -> String {
        let i = &self.figure.widened;
        let mut text = match &self.pairing {
            Some(Pairing::Interleaved { pairs, .. }) => i.describe(&format!(
                "paired over {pairs} pair{}",
                if *pairs == 1 { "" } else { "s" }
            )),
            _ => i.describe(&format!("in sequence, {}+{} runs", i.n_num, i.n_den)),
        };
        if self.figure.drift.is_some_and(|d| d.significant) {
            text.push_str(", drift allowed for");
        }
        text
    }
}

/// How record `num` compares in wall time with record `den`, as a gate reading
/// `num.wall.median / den.wall.median` would decide it (at `floor` and `confidence`); `None`
/// when either has no counted run.
pub fn speed(
    records: &BTreeMap<String, Record>,
    num: &str,
    den: &str,
    floor: f64,
    confidence: f64,
) -> Option<Speed> {
    const METRIC: &str = "wall.median";
    let num_samples = records.get(num)?.run_samples(METRIC)?;
    let den_samples = records.get(den)?.run_samples(METRIC)?;
    let pairing = pairing(records, (num, METRIC), (den, METRIC), confidence);
    let figure = figure(
        &num_samples,
        &den_samples,
        pairing.as_ref(),
        floor,
        confidence,
    )?;
    Some(Speed { figure, pairing })
}

/// The largest significant trend over the sides' runs, in words: `the machine got 38% slower
/// during measurement`.
pub fn trend(sides: &[Vec<f64>]) -> Option<String> {
    let worst = sides
        .iter()
        .filter_map(|walls| drift::detect(walls))
        .filter(|d| d.significant)
        .max_by(|a, b| a.change.abs().total_cmp(&b.change.abs()))?;
    let (word, by) = if worst.change >= 0.0 {
        ("slower", worst.change)
    } else {
        // A speed-up of the machine, said as the share of time it saved.
        ("faster", -worst.change)
    };
    Some(format!(
        "the machine got {:.0}% {word} during measurement",
        by * 100.0
    ))
}

#[cfg(test)]
#[path = "pairs_tests.rs"]
mod tests;
