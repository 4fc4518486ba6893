//! The HTML report's charts, as inline SVG: each record's runs on one time axis, per-test
//! before/after as a scatter, each record's memory over time, and gate intervals.

use super::compare::columns;
use super::model::{IntervalReport, RunReport};
use super::pertest::Comparison;
use super::svg::{seconds_label, short, Scale, Svg};
use crate::measure::record::Record;
use crate::measure::stats;

/// Width of the wide charts, in CSS pixels (they shrink with the page).
const WIDTH: f64 = 760.0;
/// Colour classes of the records' series (`s0`..), in record order.
const SERIES: usize = 6;

/// The records in table order, each with its colour class.
pub fn ordered(report: &RunReport) -> Vec<(&str, &Record, String)> {
    let (names, _) = columns(&report.records, &report.baselines_used);
    names
        .into_iter()
        .enumerate()
        .filter_map(|(i, name)| Some((name, report.records.get(name)?, format!("s{}", i % SERIES))))
        .collect()
}

/// Every run of every record as a dot on one time axis (log where the times span
/// [`super::svg::LOG_RATIO`]), over a box from the first to the third quartile with the median
/// marked and whiskers to the extremes; warmup runs are hollow. `None` without records.
pub fn runs_chart(report: &RunReport) -> Option<String> {
    let records = ordered(report);
    if records.is_empty() {
        return None;
    }
    let walls = records
        .iter()
        .flat_map(|(_, r, _)| r.samples.iter().map(|s| s.wall))
        .chain(records.iter().map(|(_, r, _)| r.wall.median));
    let (lo, hi) = walls
        .filter(|w| w.is_finite())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
            (lo.min(w), hi.max(w))
        });
    let (left, right, row) = (120.0, WIDTH - 110.0, 44.0);
    let top = 8.0;
    let bottom = top + row * records.len() as f64;
    let scale = Scale::times(lo, hi, left, right);
    let label = if scale.is_log() {
        "runs of each record (wall time, log scale)"
    } else {
        "runs of each record (wall time)"
    };
    let mut svg = Svg::new(WIDTH, bottom + 34.0, "chart runs", label, &[]);
    svg.x_axis(&scale, top, bottom, seconds_label);
    let axis = if scale.is_log() {
        "wall time per run (log scale)"
    } else {
        "wall time per run"
    };
    svg.text(
        ((left + right) / 2.0, bottom + 30.0),
        "middle",
        "axis",
        axis,
    );
    for (i, (name, record, class)) in records.iter().enumerate() {
        let y = top + row * (i as f64 + 0.5);
        svg.text((left - 10.0, y + 4.0), "end", "name", name);
        let counted: Vec<f64> = record
            .samples
            .iter()
            .filter(|s| !s.warmup)
            .map(|s| s.wall)
            .collect();
        if counted.len() >= 2 {
            let q = |p| stats::percentile(&counted, p).unwrap_or(record.wall.median);
            let (q1, q3) = (q(25.0), q(75.0));
            svg.line((scale.at(record.wall.min), y), (scale.at(q1), y), "whisker");
            svg.line((scale.at(q3), y), (scale.at(record.wall.max), y), "whisker");
            svg.rect(
                (scale.at(q1), y - 9.0),
                (scale.at(q3) - scale.at(q1), 18.0),
                &format!("box {class}"),
            );
        }
        let m = scale.at(record.wall.median);
        svg.line((m, y - 12.0), (m, y + 12.0), &format!("median {class}"));
        for (n, sample) in record.samples.iter().enumerate() {
            // Dots of equal times spread up and down a little so each stays visible.
            let jitter = [0.0, -5.0, 5.0, -2.5, 2.5][n % 5];
            let kind = if sample.warmup { "warmup" } else { "run" };
            svg.dot(
                (scale.at(sample.wall), y + jitter),
                3.5,
                &format!("{kind} {class}"),
                &format!("{name} {kind} {}: {}", n + 1, seconds_label(sample.wall)),
            );
        }
        svg.text(
            (right + 10.0, y + 4.0),
            "start",
            "value",
            &format!("median {}", seconds_label(record.wall.median)),
        );
    }
    Some(svg.finish())
}

/// Before against after of every test two records share, on log axes with the diagonal (no
/// change) and the lines of twice as fast and twice as slow. Tests whose time is 0 sit on the
/// axes' low end.
pub fn scatter(c: &Comparison) -> String {
    // A square plot, so that the diagonal runs at 45 degrees.
    let (left, top, side) = (74.0, 10.0, 360.0);
    let (right, bottom) = (left + side, top + side);
    let (lo, hi) = c
        .shared
        .iter()
        .flat_map(|t| [t.before, t.after])
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo, hi)
    } else {
        (1e-3, 1.0)
    };
    let x = Scale::log(lo, hi, left, right);
    let y = Scale::log(lo, hi, bottom, top);
    let mut svg = Svg::new(
        right + 12.0,
        bottom + 46.0,
        "chart scatter",
        &format!(
            "per-test median time, {} against {}, log axes",
            c.after, c.before
        ),
        &[("tests", c.shared.len().to_string())],
    );
    svg.x_axis(&x, top, bottom, seconds_label);
    svg.y_axis(&y, left, right, seconds_label);
    let (a, b) = (x.low(), lo.max(hi) * 1.25);
    for (factor, class) in [(1.0, "diagonal"), (0.5, "guide"), (2.0, "guide")] {
        svg.line(
            (x.at(a), y.at(a * factor)),
            (x.at(b), y.at(b * factor)),
            class,
        );
    }
    svg.text(
        ((left + right) / 2.0, bottom + 32.0),
        "middle",
        "axis",
        &format!("{} (median per test)", c.before),
    );
    svg.vertical_text((14.0, (top + bottom) / 2.0), "axis", c.after);
    for t in &c.shared {
        let kind = if t.after < t.before / 1.1 {
            "faster"
        } else if t.after > t.before * 1.1 {
            "slower"
        } else {
            "same"
        };
        svg.dot(
            (x.at(t.before), y.at(t.after)),
            2.5,
            &format!("pt {kind}"),
            &format!(
                "{}: {} → {}",
                t.id,
                seconds_label(t.before),
                seconds_label(t.after)
            ),
        );
    }
    svg.finish()
}

/// Each run's memory over time, one chart per record with memory samples, on one memory axis
/// so the charts compare; warmup runs dashed.
pub fn memory_charts(report: &RunReport) -> Vec<(String, String)> {
    let records = ordered(report);
    let peak = records
        .iter()
        .flat_map(|(_, r, _)| &r.samples)
        .flat_map(|s| s.memory.iter().map(|p| p[1]))
        .fold(0.0f64, f64::max);
    let (left, right, top, bottom) = (64.0, WIDTH - 16.0, 8.0, 130.0);
    let mut charts = Vec::new();
    for (name, record, class) in records {
        let runs: Vec<(usize, &crate::measure::record::RunSample)> = record
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.memory.is_empty())
            .collect();
        if runs.is_empty() {
            continue;
        }
        let longest = runs
            .iter()
            .flat_map(|(_, s)| s.memory.last().map(|p| p[0]).into_iter().chain([s.wall]))
            .fold(0.0f64, f64::max);
        let x = Scale::linear(0.0, longest, true, left, right);
        let y = Scale::linear(0.0, peak, true, bottom, top);
        let mut svg = Svg::new(
            WIDTH,
            bottom + 34.0,
            "chart memory",
            &format!("memory of {name}'s runs over time"),
            &[],
        );
        svg.x_axis(&x, top, bottom, seconds_label);
        svg.y_axis(&y, left, right, |v| format!("{} MiB", short(v)));
        svg.text(
            ((left + right) / 2.0, bottom + 30.0),
            "middle",
            "axis",
            "time since the run started",
        );
        for (n, sample) in runs {
            let points: Vec<(f64, f64)> = sample
                .memory
                .iter()
                .map(|p| (x.at(p[0]), y.at(p[1])))
                .collect();
            let high = sample.memory.iter().map(|p| p[1]).fold(0.0f64, f64::max);
            let kind = if sample.warmup { "warmup" } else { "run" };
            svg.polyline(
                &points,
                &format!("mem {kind} {class}"),
                &format!("{name} {kind} {}: peak {} MiB", n + 1, short(high)),
            );
        }
        charts.push((name.to_string(), svg.finish()));
    }
    charts
}

/// The log scale every gate interval of `report` is drawn on (1×, no change, always inside);
/// `None` when no gate has an interval.
pub fn interval_scale(report: &RunReport) -> Option<Scale> {
    let all: Vec<&IntervalReport> = report.gates.iter().flat_map(|g| &g.intervals).collect();
    if all.is_empty() {
        return None;
    }
    let values = all
        .iter()
        .flat_map(|i| [i.low, i.high, i.estimate])
        .filter(|v| v.is_finite() && *v > 0.0)
        .chain([1.0]);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    Some(Scale::log(lo, hi, 6.0, 234.0))
}

/// One interval as a small bar: the interval, its estimate, and a mark at 1× (no change).
pub fn interval_bar(interval: &IntervalReport, scale: &Scale) -> String {
    let mut svg = Svg::new(
        240.0,
        30.0,
        "chart interval",
        &format!(
            "{}: {}× ({:.0}% interval {}× to {}×)",
            interval.ratio,
            short(interval.estimate),
            interval.confidence * 100.0,
            short(interval.low),
            short(interval.high)
        ),
        &[],
    );
    let one = scale.at(1.0);
    svg.line((one, 2.0), (one, 20.0), "diagonal");
    svg.text((one, 29.0), "middle", "tick", "1×");
    let (a, b) = (scale.at(interval.low), scale.at(interval.high));
    svg.rect((a, 7.0), ((b - a).max(1.0), 8.0), "ci");
    svg.dot(
        (scale.at(interval.estimate), 11.0),
        4.0,
        "estimate",
        &format!("{}×", short(interval.estimate)),
    );
    svg.finish()
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;
