//! Records side by side: which record is the reference, how each metric reads, and how another
//! record compares to the reference (`0.09× (10.9× faster)`, `+3`, `+12 pp`).

use std::collections::BTreeMap;

use crate::measure::record::Record;

/// Shown where a metric is missing or a comparison makes no sense.
pub const MISSING: &str = "—";

/// How a metric's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds, shown as `s` or `ms`.
    Seconds,
    /// A whole count.
    Count,
    /// A fraction shown as a percentage.
    Percent,
    /// Megabytes.
    Megabytes,
    /// Already a percentage, 0 to 100 (coverage).
    Pct,
}

/// How a metric of another record compares to the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// A ratio, with how many times faster or slower.
    Time,
    /// A plain ratio.
    Ratio,
    /// A signed difference.
    Delta,
    /// A signed difference in percentage points.
    Points,
}

/// One row of the records table.
#[derive(Debug, Clone, Copy)]
pub struct MetricRow {
    /// The metric path, also the row's label.
    pub path: &'static str,
    /// How its values are written.
    pub unit: Unit,
    /// How records are compared on it.
    pub compare: Compare,
}

const fn row(path: &'static str, unit: Unit, compare: Compare) -> MetricRow {
    MetricRow {
        path,
        unit,
        compare,
    }
}

/// The rows of the records table, in order.
pub const ROWS: &[MetricRow] = &[
    row("wall.median", Unit::Seconds, Compare::Time),
    row("wall.min", Unit::Seconds, Compare::Time),
    row("wall.max", Unit::Seconds, Compare::Time),
    row("tests", Unit::Count, Compare::Delta),
    row("passed", Unit::Count, Compare::Delta),
    row("failed", Unit::Count, Compare::Delta),
    row("errors", Unit::Count, Compare::Delta),
    row("skipped", Unit::Count, Compare::Delta),
    row("runs_green", Unit::Percent, Compare::Points),
    row("flaky", Unit::Count, Compare::Delta),
    row("slowest", Unit::Seconds, Compare::Time),
    row("p95_test", Unit::Seconds, Compare::Time),
    row("rss_peak_mb", Unit::Megabytes, Compare::Ratio),
    row("cpu_util", Unit::Percent, Compare::Ratio),
];

/// Rows shown only when some record has the metric (a suite with `budgets`, `coverage`, or
/// planrun's pytest plugin's memory samples).
pub const OPTIONAL_ROWS: &[MetricRow] = &[
    row("over_budget", Unit::Count, Compare::Delta),
    row("coverage", Unit::Pct, Compare::Delta),
    row("rss_growth_mb", Unit::Megabytes, Compare::Delta),
];

/// Record names in column order, and the reference the others are compared to.
///
/// The reference is the record named `baseline`, else one that came from a saved baseline, else
/// (with exactly two records) one named `before`, else the first by name. With more than two
/// records and no baseline there is no reference, hence no ratio columns.
pub fn columns<'a, R>(
    records: &'a BTreeMap<String, R>,
    baselines_used: &BTreeMap<String, String>,
) -> (Vec<&'a str>, Option<&'a str>) {
    let names: Vec<&str> = records.keys().map(String::as_str).collect();
    let reference = names
        .iter()
        .find(|n| **n == "baseline")
        .or_else(|| names.iter().find(|n| baselines_used.contains_key(**n)))
        .or_else(|| {
            (names.len() == 2)
                .then(|| names.iter().find(|n| **n == "before").or(names.first()))
                .flatten()
        })
        .copied();
    let mut ordered: Vec<&str> = reference.into_iter().collect();
    ordered.extend(names.iter().filter(|n| Some(**n) != reference));
    (ordered, reference)
}

/// How record `name` compares in wall time with `reference`, as a gate comparing the two would
/// decide it (the paired estimate for interleaved pairs, the drift-widened one in sequence), at
/// this machine's noise floor and the verdicts' confidence: every report says this figure, never
/// a ratio of medians over runs the verdict set aside.
pub fn speed(
    records: &BTreeMap<String, Record>,
    name: &str,
    reference: &str,
) -> Option<crate::measure::pairs::Speed> {
    use crate::measure::interval::{noise_floor, DEFAULT_CONFIDENCE};
    if ran_other_tests(records, name, reference) {
        return None;
    }
    crate::measure::pairs::speed(records, name, reference, noise_floor(), DEFAULT_CONFIDENCE)
}

/// What a summary says instead of a speed for two records that ran other tests.
pub const OTHER_TESTS: &str = "other tests ran: speed not compared";

/// Whether records `a` and `b` both know their tests and did not run the same ones (or one ran
/// none): their times are not compared, as no gate compares them.
pub fn ran_other_tests(records: &BTreeMap<String, Record>, a: &str, b: &str) -> bool {
    let set = |n: &str| records.get(n).and_then(|r| r.test_set.as_ref());
    match (set(a), set(b)) {
        (Some(x), Some(y)) => x.executed.is_empty() || x.executed != y.executed,
        _ => false,
    }
}

/// The records table's `wall.median` ratio of `name` to `reference`: `0.09× (10.9× faster,
/// paired)`, from [`speed`]; the ratio of the medians when a record has no counted run.
pub fn speed_cell(records: &BTreeMap<String, Record>, name: &str, reference: &str) -> String {
    match speed(records, name, reference) {
        Some(s) => {
            let text = time_ratio(s.figure.widened.estimate);
            match text.strip_suffix(')') {
                Some(head) => format!("{head}, {})", s.mode()),
                None => format!("{text} ({})", s.mode()),
            }
        }
        None if ran_other_tests(records, name, reference) => OTHER_TESTS.to_string(),
        None => {
            let metric = |n: &str| records.get(n)?.metric("wall.median");
            ratio_cell(metric(name), metric(reference), Compare::Time)
        }
    }
}

/// A metric's value in `record`, read as gates read it ([`Record::metric`]) and written in its
/// unit; the wall median carries its stddev.
pub fn cell(record: &Record, row: &MetricRow) -> String {
    let Some(v) = record.metric(row.path) else {
        return MISSING.to_string();
    };
    let text = fmt_value(v, row.unit);
    if row.path == "wall.median" {
        if let Some(sd) = record.metric("wall.stddev") {
            // The spread reads in the median's unit, so `34.90 s ± 0.41 s`, not `± 410.0 ms`.
            let spread = if text.ends_with(" ms") {
                format!("{:.1} ms", sd * 1000.0)
            } else {
                format!("{sd:.2} s")
            };
            return format!("{text} ± {spread}");
        }
    }
    text
}

/// How `new` compares to `base` on one metric.
pub fn ratio_cell(new: Option<f64>, base: Option<f64>, compare: Compare) -> String {
    let (Some(new), Some(base)) = (new, base) else {
        return MISSING.to_string();
    };
    if !new.is_finite() || !base.is_finite() {
        return MISSING.to_string();
    }
    match compare {
        Compare::Delta => signed(new - base, ""),
        Compare::Points => signed((new - base) * 100.0, " pp"),
        Compare::Ratio | Compare::Time if base <= 0.0 => MISSING.to_string(),
        Compare::Ratio => format!("{:.2}×", new / base),
        Compare::Time => time_ratio(new / base),
    }
}

fn time_ratio(ratio: f64) -> String {
    let text = format!("{ratio:.2}×");
    if text == "1.00×" {
        format!("{text} (same)")
    } else if ratio > 1.0 {
        // The ratio already says how many times slower; repeating it would only round it.
        format!("{text} (slower)")
    } else if ratio > 0.0 {
        let speedup = 1.0 / ratio;
        let digits = if speedup < 2.0 { 2 } else { 1 };
        format!("{text} ({speedup:.digits$}× faster)")
    } else {
        text
    }
}

fn signed(diff: f64, suffix: &str) -> String {
    let rounded = if diff.fract() == 0.0 {
        format!("{:.0}", diff.abs())
    } else {
        format!("{:.1}", diff.abs())
    };
    match rounded.as_str() {
        "0" | "0.0" => "=".to_string(),
        _ if diff > 0.0 => format!("+{rounded}{suffix}"),
        _ => format!("-{rounded}{suffix}"),
    }
}

/// A value written in its unit.
pub fn fmt_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Seconds => fmt_seconds(v),
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.1}"),
        Unit::Percent => format!("{:.0}%", v * 100.0),
        Unit::Megabytes => format!("{v:.1} MB"),
        Unit::Pct => format!("{v:.2}%"),
    }
}

/// Seconds as `34.90 s`, or `420.0 ms` below one second.
pub fn fmt_seconds(v: f64) -> String {
    if v == 0.0 || v.abs() >= 1.0 || !v.is_finite() {
        format!("{v:.2} s")
    } else {
        format!("{:.1} ms", v * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::record;
    use super::*;
    use crate::measure::stats::Summary;
    use crate::plan::model::Framework;

    fn names(list: &[&str]) -> BTreeMap<String, ()> {
        list.iter().map(|n| (n.to_string(), ())).collect()
    }

    fn wall(median: f64, stddev: f64, min: f64) -> Summary {
        Summary {
            min,
            median,
            mean: median,
            max: median,
            stddev: Some(stddev),
        }
    }

    #[test]
    fn baseline_comes_first_and_is_the_reference() {
        let records = names(&["after", "baseline", "cache"]);
        let (cols, reference) = columns(&records, &BTreeMap::new());
        assert_eq!(cols, ["baseline", "after", "cache"]);
        assert_eq!(reference, Some("baseline"));
    }

    #[test]
    fn two_records_without_baseline_prefer_before() {
        let records = names(&["after", "before"]);
        assert_eq!(columns(&records, &BTreeMap::new()).0, ["before", "after"]);
        let records = names(&["fast", "slow"]);
        assert_eq!(columns(&records, &BTreeMap::new()).1, Some("fast"));
    }

    #[test]
    fn a_saved_baseline_is_the_reference() {
        let records = names(&["a", "main", "z"]);
        let used = BTreeMap::from([("main".to_string(), "main.json".to_string())]);
        assert_eq!(
            columns(&records, &used),
            (vec!["main", "a", "z"], Some("main"))
        );
    }

    #[test]
    fn three_records_without_baseline_have_no_reference() {
        let records = names(&["a", "b", "c"]);
        assert_eq!(
            columns(&records, &BTreeMap::new()),
            (vec!["a", "b", "c"], None)
        );
        assert_eq!(columns(&names(&["a"]), &BTreeMap::new()).1, None);
    }

    #[test]
    fn time_ratios_say_faster_or_slower() {
        let time = |n, b| ratio_cell(Some(n), Some(b), Compare::Time);
        assert_eq!(time(3.2, 34.9), "0.09× (10.9× faster)");
        assert_eq!(time(5.0, 2.0), "2.50× (slower)");
        assert_eq!(time(0.95, 1.0), "0.95× (1.05× faster)");
        assert_eq!(time(2.0, 2.001), "1.00× (same)");
        assert_eq!(time(0.0, 2.0), "0.00×");
        assert_eq!(time(1.0, 0.0), MISSING);
    }

    #[test]
    fn other_comparisons() {
        assert_eq!(ratio_cell(Some(117.0), Some(118.0), Compare::Delta), "-1");
        assert_eq!(ratio_cell(Some(120.0), Some(118.0), Compare::Delta), "+2");
        assert_eq!(ratio_cell(Some(5.0), Some(5.0), Compare::Delta), "=");
        assert_eq!(
            ratio_cell(Some(2.0 / 3.0), Some(1.0), Compare::Points),
            "-33.3 pp"
        );
        assert_eq!(
            ratio_cell(Some(420.5), Some(180.0), Compare::Ratio),
            "2.34×"
        );
        assert_eq!(ratio_cell(None, Some(1.0), Compare::Ratio), MISSING);
        assert_eq!(
            ratio_cell(Some(f64::NAN), Some(1.0), Compare::Delta),
            MISSING
        );
    }

    #[test]
    fn cells_use_units_and_show_missing() {
        let rec = Record {
            wall: wall(34.9, 0.41, 0.25),
            runs_green: 0.6666,
            rss_peak_mb: Some(180.0),
            flaky: vec!["a".into()],
            ..record()
        };
        let get = |path| *ROWS.iter().find(|r| r.path == path).unwrap();
        assert_eq!(cell(&rec, &get("wall.median")), "34.90 s ± 0.41 s");
        assert_eq!(cell(&rec, &get("wall.min")), "250.0 ms");
        let quick = Record {
            wall: wall(0.5, 0.02, 0.5),
            ..record()
        };
        assert_eq!(cell(&quick, &get("wall.median")), "500.0 ms ± 20.0 ms");
        assert_eq!(cell(&rec, &get("runs_green")), "67%");
        assert_eq!(cell(&rec, &get("rss_peak_mb")), "180.0 MB");
        assert_eq!(cell(&rec, &get("flaky")), "1");
        // A command's record has no test metrics: no count, not a zero.
        let rec = Record {
            framework: Framework::Command,
            ..rec
        };
        assert_eq!(cell(&rec, &get("tests")), MISSING);
    }

    #[test]
    fn a_command_record_reads_the_same_in_gates_and_in_the_report() {
        use crate::measure::record::{RunResult, RunSample};
        use crate::process::Status;
        let run = |wall: f64| RunResult {
            sample: RunSample {
                promoted: false,
                warmup: false,
                wall,
                cpu_user: wall / 2.0,
                cpu_system: 0.0,
                rss_peak_mb: None,
                status: Status::Exited(0),
                exit_code: 0,
                counts: None,
                log: "check.log".into(),
                memory: Vec::new(),
                pair: None,
            },
            tests: Vec::new(),
            warnings: Vec::new(),
            extras: Default::default(),
        };
        // What a `framework = "command"` suite step records: times, no test counts.
        let runs = vec![run(2.0), run(4.0), run(3.0)];
        let record = Record::from_runs("make check", Framework::Command, runs, 2).unwrap();
        let records = BTreeMap::from([("check".to_string(), record)]);
        // The lookup gates evaluate with, over the run's records.
        let gate = |name: &str, path: &str| records.get(name)?.metric(path);
        let report = super::super::model::RunReport {
            records: records.clone(),
            ..Default::default()
        };
        // The report as `planrun report` reads it back from report.json.
        let json = super::super::json::to_json(&report);
        let shown = &super::super::json::from_json(&json).unwrap().records["check"];
        for path in crate::metrics::METRICS {
            assert_eq!(shown.metric(path), gate("check", path), "{path}");
        }
        let get = |path| *ROWS.iter().find(|r| r.path == path).unwrap();
        for path in ["passed", "failed", "tests", "flaky"] {
            assert_eq!(gate("check", path), None, "{path}");
            assert_eq!(cell(shown, &get(path)), MISSING, "{path}");
        }
        // report.json still holds the zero counts, as it always did; no reader takes them
        // for a measurement.
        let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(raw["records"]["check"]["failed"], 0);
        let failed = crate::criteria::parse("check.failed == 0").unwrap();
        assert!(failed.evaluate(&gate).is_err());
        assert_eq!(gate("check", "wall.median"), Some(3.0));
        assert_eq!(cell(shown, &get("wall.median")), "3.00 s ± 1.00 s");
    }
}
