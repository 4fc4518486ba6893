//! Tests of the report's charts: scales chosen from the data, marks where the data puts them.

use super::super::fixture::{record, rich};
use super::super::pertest::Comparison;
use super::*;
use crate::measure::stats::Summary;

/// The value of attribute `name` in the first element of `svg` that has it after `from`.
fn attr(svg: &str, from: &str, name: &str) -> f64 {
    let at = svg
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in {svg}"));
    let key = format!(" {name}=\"");
    let start = svg[at..].find(&key).unwrap() + at + key.len();
    let end = svg[start..].find('"').unwrap() + start;
    svg[start..end].parse().unwrap()
}

/// The centre of the dot whose tooltip starts with `title`.
fn dot(svg: &str, title: &str) -> (f64, f64) {
    let at = svg.find(&format!("<title>{title}")).unwrap();
    let circle = &svg[svg[..at].rfind("<circle").unwrap()..];
    (attr(circle, "<circle", "cx"), attr(circle, "<circle", "cy"))
}

fn walls(report: &mut RunReport, name: &str, median: f64) {
    let r = report.records.get_mut(name).unwrap();
    r.wall = Summary {
        min: median,
        median,
        mean: median,
        max: median,
        stddev: None,
    };
    for s in &mut r.samples {
        s.wall = median;
    }
}

#[test]
fn close_times_share_a_linear_axis_from_zero() {
    let mut report = rich();
    walls(&mut report, "after", 20.0);
    let svg = runs_chart(&report).unwrap();
    assert!(
        svg.contains("aria-label=\"runs of each record (wall time)\""),
        "{svg}"
    );
    assert!(svg.contains(">0 s</text>"), "{svg}");
    assert!(runs_chart(&RunReport::default()).is_none());
}

#[test]
fn the_scatter_puts_each_test_at_its_before_and_after() {
    let before = Record {
        durations: [("a", 0.1), ("b", 1.0), ("zero", 0.0)]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
        ..record()
    };
    let after = Record {
        durations: [("a", 0.1), ("b", 0.1), ("zero", 0.0)]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
        ..record()
    };
    let c = Comparison::of("baseline", &before, "after", &after);
    let svg = scatter(&c);
    // `a` did not change: it sits on the diagonal, as far right as it is up from the bottom.
    let (ax, ay) = dot(&svg, "a:");
    assert!(
        ((ax - 74.0) - (370.0 - ay)).abs() < 0.2,
        "a at ({ax}, {ay})"
    );
    // `b` got ten times faster: as high as `a`, further right.
    let (bx, by) = dot(&svg, "b:");
    assert!(
        bx > ax + 100.0 && (by - ay).abs() < 0.2,
        "b at ({bx}, {by})"
    );
    // A test timed at 0 s sits at the axes' low end, not off the chart.
    let (zx, zy) = dot(&svg, "zero:");
    assert!(
        (zx - 74.0).abs() < 0.2 && (zy - 370.0).abs() < 0.2,
        "zero at ({zx}, {zy})"
    );
    assert!(svg.contains("data-tests=\"3\""));
}

#[test]
fn memory_charts_share_one_memory_axis() {
    let report = rich();
    let charts = memory_charts(&report);
    assert_eq!(charts.len(), 2);
    assert_eq!(charts[0].0, "baseline");
    // The MiB labels are the same on both: one axis for every record.
    let ticks = |svg: &str| svg.matches(" MiB</text>").count();
    assert_eq!(ticks(&charts[0].1), ticks(&charts[1].1));
    assert!(charts[0].1.contains(">400 MiB</text>"), "{}", charts[0].1);
}

#[test]
fn intervals_share_a_scale_with_one_marked() {
    let report = rich();
    let scale = interval_scale(&report).unwrap();
    let bar = interval_bar(&report.gates[1].intervals[0], &scale);
    assert!(bar.contains(">1×</text>"));
    let estimate = attr(&bar, "<circle class=\"estimate\"", "cx");
    let one = attr(&bar, "<line class=\"diagonal\"", "x1");
    assert!(estimate < one, "faster sits left of 1×");
    assert!(interval_scale(&super::super::fixture::sample()).is_none());
}
