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
    // after/baseline as the pairs give it. Fewer than three pairs have too little spread of
    // their own for a paired interval (two give one degree of freedom: a t quantile of 64 at
    // 99%): their runs are compared as two sides at the noise floor, as records measured apart
    // are (which decides a 20x change and nothing near a bound), and never with runs taken
    // outside the pairs.
    let paired_estimate = match pairs.len() {
        0..=2 => None,
        _ => paired::estimate_in_order(&pairs, &orders, confidence),
    };
    let (ratio, lo, hi) = match paired_estimate {
        Some(e) => (e.ratio, e.lo, e.hi),
        None => {
            let afters: Vec<f64> = pairs.iter().map(|p| p.after).collect();
            let baselines: Vec<f64> = pairs.iter().map(|p| p.baseline).collect();
            let i = super::interval::ratio_interval(
                &afters,
                &baselines,
                super::interval::noise_floor(),
                confidence,
            )?;
            (i.estimate, i.low, i.high)
        }
    };
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
