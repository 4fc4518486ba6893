//! A pytest run's live account of itself (the `planrun_live` plugin, `live_plugin.py`): the tests
//! it collected and each test's outcome as it ended, read back when the run had to be stopped,
//! so a hang says which tests had not finished and what the others came to.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use super::junit::Counts;

/// The plugin's module name, as `-p` loads it.
pub const PLUGIN: &str = "planrun_live";

/// The plugin's source, written next to the run's junit file.
const SOURCE: &str = include_str!("live_plugin.py");

/// Writes the plugin into `dir` and points the run's environment at it: `PYTHONPATH` gets `dir`
/// in front of what it was (the step's own value, else planrun's), and `PLANRUN_LIVE` names the
/// file the plugin appends to, which is returned.
pub fn prepare(dir: &Path, env: &mut Vec<(String, String)>) -> io::Result<PathBuf> {
    std::fs::write(dir.join(format!("{PLUGIN}.py")), SOURCE)?;
    let file = dir.join("live.jsonl");
    let before = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PYTHONPATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PYTHONPATH").ok())
        .filter(|v| !v.is_empty());
    let path = match before {
        Some(rest) => format!("{}:{rest}", dir.display()),
        None => dir.display().to_string(),
    };
    env.retain(|(k, _)| k != "PYTHONPATH");
    env.push(("PYTHONPATH".into(), path));
    env.push(("PLANRUN_LIVE".into(), file.display().to_string()));
    Ok(file)
}

/// What a stopped run had done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// How many distinct tests it collected.
    pub collected: u64,
    /// The counts of the tests that had ended.
    pub counts: Counts,
    /// The collected tests that had not ended, in collection order.
    pub unfinished: Vec<String>,
}

/// Reads the account at `file`; lines that are not the plugin's (a torn last line) are skipped.
pub fn read(file: &Path) -> Progress {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    parse(&text)
}

fn parse(text: &str) -> Progress {
    let mut collected: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ended = BTreeSet::new();
    let mut counts = Counts::default();
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(ids) = value["collected"].as_array() {
            for id in ids.iter().filter_map(|v| v.as_str()) {
                if seen.insert(id.to_string()) {
                    collected.push(id.to_string());
                }
            }
            continue;
        }
        let (Some(id), Some(when), Some(outcome)) = (
            value["id"].as_str(),
            value["when"].as_str(),
            value["outcome"].as_str(),
        ) else {
            continue;
        };
        if !ended.insert(id.to_string()) && when != "teardown" {
            continue;
        }
        match (when, outcome) {
            ("call", "passed") => counts.passed += 1,
            ("call", "failed") => counts.failed += 1,
            (_, "skipped") => counts.skipped += 1,
            _ => counts.errors += 1,
        }
    }
    counts.tests = seen.len().max(ended.len()) as u64;
    Progress {
        collected: seen.len() as u64,
        counts,
        unfinished: collected
            .into_iter()
            .filter(|id| !ended.contains(id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_gives_counts_and_the_tests_that_had_not_ended() {
        let text = concat!(
            r#"{"collected": ["t.py::a", "t.py::b", "t.py::c", "t.py::d"]}"#,
            "\n",
            r#"{"collected": ["t.py::a", "t.py::b", "t.py::c", "t.py::d"]}"#,
            "\n",
            r#"{"id": "t.py::a", "when": "call", "outcome": "passed"}"#,
            "\n",
            r#"{"id": "t.py::b", "when": "setup", "outcome": "skipped"}"#,
            "\n",
            r#"{"id": "t.py::c", "when": "call", "outcome": "failed"}"#,
            "\n",
            r#"{"id": "t.py::d", "wh"#,
        );
        let p = parse(text);
        assert_eq!(p.collected, 4);
        assert_eq!(
            (
                p.counts.passed,
                p.counts.skipped,
                p.counts.failed,
                p.counts.errors,
                p.counts.tests
            ),
            (1, 1, 1, 0, 4)
        );
        assert_eq!(p.unfinished, ["t.py::d"]);
        assert_eq!(
            read(Path::new("/nonexistent/live.jsonl")),
            Progress::default()
        );
    }

    #[test]
    fn pythonpath_gets_the_plugin_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("PYTHONPATH".to_string(), "/src".to_string())];
        let file = prepare(dir.path(), &mut env).unwrap();
        assert!(dir.path().join("planrun_live.py").exists());
        assert_eq!(
            env,
            [
                (
                    "PYTHONPATH".to_string(),
                    format!("{}:/src", dir.path().display())
                ),
                ("PLANRUN_LIVE".to_string(), file.display().to_string()),
            ]
        );
    }
}
