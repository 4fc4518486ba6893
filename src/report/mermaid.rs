//! Charts for the Markdown summary: a Mermaid `xychart-beta` of the records' median wall times
//! (GitHub renders Mermaid blocks in step summaries natively), and the tests that got slower.

use std::fmt::Write;

use super::charts::ordered;
use super::compare::fmt_seconds;
use super::model::RunReport;
use super::pertest::comparisons;

/// Tests listed per record in "got slower".
pub const SLOWER_LISTED: usize = 10;

/// The chart and the slower tests, as Markdown; empty without records.
pub fn section(report: &RunReport) -> String {
    let mut md = String::new();
    if let Some(chart) = medians_chart(report) {
        md.push_str(&chart);
        md.push('\n');
    }
    md.push_str(&slower_tests(report));
    md
}

/// A bar per record: its median wall time in seconds.
fn medians_chart(report: &RunReport) -> Option<String> {
    let records = ordered(report);
    let medians: Vec<(&str, f64)> = records
        .iter()
        .map(|(name, r, _)| (*name, r.wall.median))
        .filter(|(_, m)| m.is_finite())
        .collect();
    if medians.is_empty() {
        return None;
    }
    let top = medians.iter().map(|(_, m)| *m).fold(0.0f64, f64::max);
    let labels: Vec<String> = medians
        .iter()
        .map(|(n, _)| format!("\"{}\"", label(n)))
        .collect();
    let values: Vec<String> = medians.iter().map(|(_, m)| format!("{m:.3}")).collect();
    let mut md = String::from("```mermaid\nxychart-beta\n");
    let _ = writeln!(md, "    title \"Median wall time per record (s)\"");
    let _ = writeln!(md, "    x-axis [{}]", labels.join(", "));
    let _ = writeln!(md, "    y-axis \"seconds\" 0 --> {}", axis_top(top));
    let _ = writeln!(md, "    bar [{}]", values.join(", "));
    md.push_str("```\n");
    Some(md)
}

/// A record name as a quoted Mermaid label: no quotes or line breaks inside.
fn label(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A round number a little above `top`, where the value axis ends.
fn axis_top(top: f64) -> String {
    if !top.is_finite() || top <= 0.0 {
        return "1".into();
    }
    // Steps of half a power of ten: 18.2 s ends at 25, 34.9 s at 40.
    let step = 10f64.powf((top * 1.1).log10().floor()) / 2.0;
    let end = ((top * 1.1) / step).ceil() * step;
    let text = format!("{end:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// For each record compared with the reference, the tests that lost the most time.
fn slower_tests(report: &RunReport) -> String {
    let mut md = String::new();
    for c in comparisons(report) {
        let lost = c.lost(SLOWER_LISTED);
        let _ = writeln!(md, "### Slower in `{}` than in `{}`\n", c.after, c.before);
        if lost.is_empty() {
            md.push_str("No test got slower.\n\n");
            continue;
        }
        let _ = writeln!(
            md,
            "| test | {} | {} | change |\n|---|---:|---:|---:|",
            c.before, c.after
        );
        for t in lost {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | +{} |",
                t.id.replace('|', "\\|").replace('`', "'"),
                fmt_seconds(t.before),
                fmt_seconds(t.after),
                fmt_seconds(t.delta())
            );
        }
        let slower = c.shared.iter().filter(|t| t.delta() > 0.0).count();
        if slower > SLOWER_LISTED {
            let _ = writeln!(
                md,
                "\nand {} more; report.html lists them all.",
                slower - SLOWER_LISTED
            );
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{rich, sample};
    use super::*;

    #[test]
    fn the_medians_are_a_bar_chart() {
        let md = section(&sample());
        assert_eq!(
            md,
            "```mermaid\nxychart-beta\n    title \"Median wall time per record (s)\"\n    \
             x-axis [\"baseline\", \"after\"]\n    y-axis \"seconds\" 0 --> 40\n    \
             bar [34.900, 3.200]\n```\n\n"
        );
        assert!(section(&RunReport::default()).is_empty());
    }

    #[test]
    fn the_slower_tests_are_listed_slowest_first() {
        let md = section(&rich());
        let table = md
            .split_once("### Slower in `after` than in `baseline`\n\n")
            .unwrap()
            .1;
        assert_eq!(
            table,
            "| test | baseline | after | change |\n|---|---:|---:|---:|\n\
             | `tests/test_3.py::test_case` | 200.0 ms | 600.0 ms | +400.0 ms |\n\n"
        );
    }

    #[test]
    fn labels_and_axes_stay_valid() {
        assert_eq!(label("a\"b\nc"), "a'b c");
        assert_eq!(axis_top(18.21), "25");
        assert_eq!(axis_top(0.81), "0.9");
        assert_eq!(axis_top(0.0), "1");
    }
}
