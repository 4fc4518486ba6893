//! The `mark` action's edits, pure: the markers `fast`, `medium` and `slow` as pytest's
//! configuration registers them, the durations file (each test's measured median, meant to be
//! committed), and the hook a `conftest.py` gets to mark every test from that file.
//!
//! The hook is a block between two marker comments, appended to the conftest (or replacing the
//! block an earlier apply wrote). It registers under another name with pluggy's `specname`, so
//! a conftest that already has its own `pytest_collection_modifyitems` keeps it: both run,
//! ours first (`tryfirst`), before `-m` deselects. A test the file does not list gets no marker.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::error::EditError;
use super::format;

/// The first line of the block planrun writes into a conftest.
pub const BEGIN: &str = "# >>> planrun mark";

/// The last line of the block.
pub const END: &str = "# <<< planrun mark <<<";

/// The marker names, fastest first.
pub const NAMES: [&str; 3] = ["fast", "medium", "slow"];

/// What a `mark` step decides, besides the durations.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Below this median (seconds) a test is `fast`.
    pub fast: f64,
    /// Above this median a test is `slow`; in between, `medium`.
    pub slow: f64,
}

impl Thresholds {
    /// The marker a test of `seconds` gets.
    pub fn marker(&self, seconds: f64) -> &'static str {
        if seconds < self.fast {
            NAMES[0]
        } else if seconds > self.slow {
            NAMES[2]
        } else {
            NAMES[1]
        }
    }

    /// The marker lines pytest's configuration registers (`fast: ...`).
    pub fn marker_lines(&self) -> Vec<String> {
        vec![
            format!(
                "fast: measured median under {} s (planrun mark)",
                secs(self.fast)
            ),
            format!(
                "medium: measured median {} s to {} s (planrun mark)",
                secs(self.fast),
                secs(self.slow)
            ),
            format!(
                "slow: measured median over {} s (planrun mark)",
                secs(self.slow)
            ),
        ]
    }
}

/// Seconds as the plan wrote them: `0.1`, `1`, `2.5`.
fn secs(s: f64) -> String {
    format!("{s}")
}

/// The durations file: each test's median seconds (3 decimals), the thresholds, and where
/// they came from; keys sorted, so a new measurement diffs line by line.
pub fn durations_file(
    durations: &BTreeMap<String, f64>,
    thresholds: &Thresholds,
    record: &str,
) -> String {
    let about = format!(
        "Each test's median seconds as planrun measured them (record `{record}`); the planrun block in conftest.py marks a test fast below fast_below, slow above slow_above, medium between. Commit this file; re-run the plan to refresh it."
    );
    let json = |s: &str| serde_json::Value::from(s).to_string();
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"about\": {},", json(&about));
    let _ = writeln!(out, "  \"fast_below\": {},", number(thresholds.fast));
    let _ = writeln!(out, "  \"slow_above\": {},", number(thresholds.slow));
    out.push_str("  \"durations\": {");
    let mut first = true;
    for (id, seconds) in durations {
        out.push_str(if first { "\n" } else { ",\n" });
        first = false;
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        let _ = write!(out, "    {}: {seconds:.3}", json(id));
    }
    out.push_str(if first { "}\n}\n" } else { "\n  }\n}\n" });
    out
}

/// A threshold as a JSON number (`0.1`, `1.0`).
fn number(s: f64) -> String {
    serde_json::Value::from(s).to_string()
}

/// The conftest with the marking hook in it: the earlier block replaced, else appended.
/// `durations` is the durations file relative to the conftest's directory.
pub fn conftest(old: &str, durations: &str, record: &str) -> Result<String, EditError> {
    let block = hook(durations, record);
    format::keeping(old, |plain| {
        let lines: Vec<&str> = plain.split_inclusive('\n').collect();
        let begin = lines.iter().position(|l| l.starts_with(BEGIN));
        let end = begin.and_then(|b| {
            lines[b..]
                .iter()
                .position(|l| l.trim_end() == END)
                .map(|e| b + e)
        });
        Ok(match (begin, end) {
            (Some(b), Some(e)) => {
                let mut out: String = lines[..b].concat();
                out.push_str(&block);
                out.push_str(&lines[e + 1..].concat());
                out
            }
            (Some(b), None) => {
                return Err(EditError::Block {
                    line: b + 1,
                    message: format!(
                        "the planrun mark block opened here never ends with `{END}`; remove it, or restore the file, and apply again"
                    ),
                })
            }
            _ if plain.trim().is_empty() => block,
            _ => {
                let mut out = plain.trim_end_matches('\n').to_string();
                out.push_str("\n\n\n");
                out.push_str(&block);
                out
            }
        })
    })
}

/// The hook block itself.
fn hook(durations: &str, record: &str) -> String {
    let path = serde_json::Value::from(durations).to_string();
    format!(
        r#"{BEGIN}: generated from record `{record}`; `planrun rollback` removes it >>>
import pytest as _planrun_pytest


@_planrun_pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
def pytest_planrun_mark(items):
    """Marks each test fast, medium or slow by its measured median (the durations file)."""
    import json
    import pathlib

    path = pathlib.Path(__file__).parent / {path}
    data = json.loads(path.read_text(encoding="utf-8"))
    fast, slow, durations = data["fast_below"], data["slow_above"], data["durations"]
    for item in items:
        seconds = durations.get(item.nodeid)
        if seconds is None:
            continue
        name = "fast" if seconds < fast else "slow" if seconds > slow else "medium"
        item.add_marker(getattr(_planrun_pytest.mark, name))
{END}
"#
    )
}

/// `file` relative to the directory of `from` (both relative to the same root, without `..`):
/// `tests/conftest.py` and `.test-durations.json` give `../.test-durations.json`.
pub fn relative_to_dir_of(from: &str, file: &str) -> String {
    let parts = |p: &str| -> Vec<String> {
        Path::new(p)
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let mut dir = parts(from);
    dir.pop();
    let file = parts(file);
    let common = dir.iter().zip(&file).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..dir.len() {
        rel.push("..");
    }
    for part in &file[common..] {
        rel.push(part);
    }
    rel.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds {
            fast: 0.1,
            slow: 1.0,
        }
    }

    #[test]
    fn thresholds_split_fast_medium_slow() {
        assert_eq!(t().marker(0.05), "fast");
        assert_eq!(t().marker(0.1), "medium");
        assert_eq!(t().marker(1.0), "medium");
        assert_eq!(t().marker(2.5), "slow");
        assert_eq!(
            t().marker_lines()[1],
            "medium: measured median 0.1 s to 1 s (planrun mark)"
        );
    }

    #[test]
    fn the_durations_file_is_sorted_json() {
        let d = BTreeMap::from([
            ("tests/b.py::t[\"x\"]".to_string(), 0.2504),
            ("tests/a.py::t".to_string(), 0.01),
        ]);
        let text = durations_file(&d, &t(), "baseline");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["durations"]["tests/b.py::t[\"x\"]"], 0.25);
        assert_eq!(parsed["fast_below"], 0.1);
        assert_eq!(parsed["slow_above"], 1.0);
        assert!(text.find("tests/a.py").unwrap() < text.find("tests/b.py").unwrap());
        let empty = durations_file(&BTreeMap::new(), &t(), "b");
        assert!(serde_json::from_str::<serde_json::Value>(&empty).is_ok());
    }

    /// Appended once after what the conftest has; applied again, the block is replaced, so the
    /// edit settles; CRLF and the user's own hook are kept.
    #[test]
    fn the_hook_is_appended_then_replaced_in_place() {
        let user = "def pytest_collection_modifyitems(items):\r\n    pass\r\n";
        let once = conftest(user, "../.test-durations.json", "baseline").unwrap();
        assert!(once.starts_with(user));
        assert!(once.contains("\r\n@_planrun_pytest.hookimpl(tryfirst=True, specname=\"pytest_collection_modifyitems\")\r\n"));
        assert!(once.contains("pathlib.Path(__file__).parent / \"../.test-durations.json\""));
        assert_eq!(
            conftest(&once, "../.test-durations.json", "baseline").unwrap(),
            once
        );
        let moved = conftest(&once, "d.json", "after").unwrap();
        assert_eq!(moved.matches(BEGIN).count(), 1);
        assert!(moved.contains("/ \"d.json\"") && moved.contains("record `after`"));
        assert!(conftest("", "d.json", "b").unwrap().starts_with(BEGIN));
        let broken = format!("{BEGIN}: x >>>\nimport os\n");
        assert!(conftest(&broken, "d.json", "b").is_err());
    }

    #[test]
    fn paths_relative_to_the_conftest() {
        assert_eq!(
            relative_to_dir_of("tests/conftest.py", ".test-durations.json"),
            "../.test-durations.json"
        );
        assert_eq!(
            relative_to_dir_of("tests/conftest.py", "tests/durations.json"),
            "durations.json"
        );
        assert_eq!(
            relative_to_dir_of("conftest.py", "tests/unit/d.json"),
            "tests/unit/d.json"
        );
        assert_eq!(
            relative_to_dir_of("a/b/conftest.py", "a/c/d.json"),
            "../c/d.json"
        );
    }
}
