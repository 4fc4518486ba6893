//! A pytest run's live account of itself (the `planrun_live` plugin, `live_plugin.py`): the tests
//! it collected and each test's outcome as it ended, read back when the run had to be stopped,
//! so a hang says which tests had not finished and what the others came to.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use super::junit::Counts;

/// The plugin's module name, as `-p` loads it.
pub const PLUGIN: &str = "planrun_live";

/// The plugin's source, written next to the run's junit file.
const SOURCE: &str = include_str!("live_plugin.py");

/// The file a run's plugin appends to, in the run's own junit directory.
pub const FILE: &str = "live.jsonl";

/// Writes the plugin into `dir` and points the run's environment at it: `PYTHONPATH` gets `dir`
/// in front of what it was (the step's own value, else planrun's), and `PLANRUN_LIVE` names
/// `file`, which the plugin appends to.
pub fn prepare(dir: &Path, file: &Path, env: &mut Vec<(String, String)>) -> io::Result<()> {
    std::fs::write(dir.join(format!("{PLUGIN}.py")), SOURCE)?;
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
    Ok(())
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

/// Everything the plugin said about one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    /// What the run had done (for a run that had to be stopped).
    pub progress: Progress,
    /// The collected test ids (pytest's node ids), in collection order, each once.
    pub collected: Vec<String>,
    /// Each collected test's marker names (tests without markers have no entry).
    pub markers: BTreeMap<String, BTreeSet<String>>,
    /// The largest growth of any test process's resident memory, in KiB, from before its
    /// first test to after any later one; `None` when no process sampled itself.
    pub rss_growth_kb: Option<u64>,
    /// In one shard of a sharded run: the tests the shards were chosen from, each once.
    pub sharded_from: Vec<String>,
}

/// Reads the progress at `file`; lines that are not the plugin's (a torn last line) are skipped.
pub fn read(file: &Path) -> Progress {
    read_account(file).progress
}

/// Reads the whole account at `file` (empty when there is none).
pub fn read_account(file: &Path) -> Account {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    parse(&text)
}

fn parse(text: &str) -> Account {
    let mut collected: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut sharded_from = BTreeSet::new();
    let mut ended = BTreeSet::new();
    let mut counts = Counts::default();
    let mut markers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // pid -> (resident KiB before its first test, the most after one).
    let mut rss: BTreeMap<u64, (Option<u64>, Option<u64>)> = BTreeMap::new();
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
        if let Some(ids) = value["shard_of"].as_array() {
            sharded_from.extend(ids.iter().filter_map(|v| v.as_str()).map(str::to_string));
            continue;
        }
        if let Some(marked) = value["markers"].as_object() {
            for (id, names) in marked {
                let names = names.as_array().into_iter().flatten();
                markers
                    .entry(id.clone())
                    .or_default()
                    .extend(names.filter_map(|n| n.as_str()).map(str::to_string));
            }
            continue;
        }
        if let (Some(kb), Some(pid)) = (value["rss_kb"].as_u64(), value["pid"].as_u64()) {
            let entry = rss.entry(pid).or_default();
            if value["start"].as_bool() == Some(true) {
                entry.0 = Some(entry.0.map_or(kb, |k| k.min(kb)));
            } else {
                entry.1 = Some(entry.1.map_or(kb, |k| k.max(kb)));
            }
            continue;
        }
        count_outcome(&value, &mut ended, &mut counts);
    }
    counts.tests = seen.len().max(ended.len()) as u64;
    let rss_growth_kb = rss
        .values()
        .filter_map(|(start, most)| Some(most.unwrap_or((*start)?).saturating_sub((*start)?)))
        .max();
    Account {
        progress: Progress {
            collected: seen.len() as u64,
            counts,
            unfinished: collected
                .iter()
                .filter(|id| !ended.contains(*id))
                .cloned()
                .collect(),
        },
        collected,
        markers,
        rss_growth_kb,
        sharded_from: sharded_from.into_iter().collect(),
    }
}

/// Counts the test outcome `value` says, if it says one: a test once, but a teardown that
/// failed after it too.
fn count_outcome(value: &serde_json::Value, ended: &mut BTreeSet<String>, counts: &mut Counts) {
    let (Some(id), Some(when), Some(outcome)) = (
        value["id"].as_str(),
        value["when"].as_str(),
        value["outcome"].as_str(),
    ) else {
        return;
    };
    if !ended.insert(id.to_string()) && when != "teardown" {
        return;
    }
    match (when, outcome) {
        ("call", "passed") => counts.passed += 1,
        ("call", "failed") => counts.failed += 1,
        (_, "skipped") => counts.skipped += 1,
        _ => counts.errors += 1,
    }
}

/// The outcomes of a run still going, read on from where the last read stopped (a line the
/// plugin is still writing waits for the next read).
#[derive(Debug, Clone, Default)]
pub struct Follow {
    offset: u64,
    ended: BTreeSet<String>,
    /// The tests that ended so far.
    pub counts: Counts,
}

impl Follow {
    /// Reads what `file` gained since the last call; a file not there yet reads as nothing.
    pub fn read_on(&mut self, file: &Path) {
        use std::io::{Read, Seek, SeekFrom};
        let mut buf = Vec::new();
        let read = std::fs::File::open(file).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.offset))?;
            f.read_to_end(&mut buf)
        });
        if read.is_err() {
            return;
        }
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        self.offset += end as u64 + 1;
        for line in String::from_utf8_lossy(&buf[..end]).lines() {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
                count_outcome(&value, &mut self.ended, &mut self.counts);
            }
        }
    }
}

/// The id pytest's JUnit XML gives a test with node id `nodeid`, as [`super::junit`] joins it
/// (`classname::name`): pytest writes the path part dotted without `.py`, the classes joined
/// by dots, and the test name (parameters included) as the name.
pub fn junit_id(nodeid: &str) -> String {
    let (path, params) = match nodeid.find('[') {
        Some(i) => nodeid.split_at(i),
        None => (nodeid, ""),
    };
    let mut names: Vec<String> = path.split("::").map(str::to_string).collect();
    if let Some(first) = names.first_mut() {
        let dotted = first.replace('/', ".");
        *first = dotted
            .strip_suffix(".py")
            .map_or(dotted.clone(), str::to_string);
    }
    if let Some(last) = names.last_mut() {
        last.push_str(params);
    }
    match names.split_last() {
        Some((name, classes)) if !classes.is_empty() => format!("{}::{name}", classes.join(".")),
        Some((name, _)) => name.clone(),
        None => String::new(),
    }
}

/// The node id of every JUnit id the collected tests stand for (the first node id wins where
/// two would read alike).
pub fn nodeids_by_junit_id(collected: &[String]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for id in collected {
        map.entry(junit_id(id)).or_insert_with(|| id.clone());
    }
    map
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
        let p = parse(text).progress;
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

    /// Markers merge over the processes that collected; each process grows from before its
    /// first test, and the xdist controller (no samples) counts for nothing.
    #[test]
    fn markers_and_the_largest_growth_of_one_process() {
        let text = concat!(
            r#"{"collected": ["t.py::a", "t.py::b"]}"#,
            "\n",
            r#"{"markers": {"t.py::a": ["slow"], "t.py::b": ["parametrize"]}}"#,
            "\n",
            r#"{"markers": {"t.py::a": ["db"]}}"#,
            "\n",
            r#"{"rss_kb": 30000, "pid": 7, "start": true}"#,
            "\n",
            r#"{"rss_kb": 30500, "pid": 7, "start": false}"#,
            "\n",
            r#"{"rss_kb": 30200, "pid": 7, "start": false}"#,
            "\n",
            r#"{"rss_kb": 40000, "pid": 8, "start": true}"#,
            "\n",
            r#"{"rss_kb": 52000, "pid": 8, "start": false}"#,
            "\n",
            r#"{"rss_kb": 90000, "pid": 9, "start": false}"#,
            "\n",
        );
        let a = parse(text);
        assert_eq!(a.collected, ["t.py::a", "t.py::b"]);
        let names: Vec<&str> = a.markers["t.py::a"].iter().map(String::as_str).collect();
        assert_eq!(names, ["db", "slow"]);
        assert_eq!(a.rss_growth_kb, Some(12000));
        assert_eq!(parse("").rss_growth_kb, None);
    }

    #[test]
    fn junit_ids_follow_pytest_mangling() {
        for (nodeid, junit) in [
            (
                "tests/unit/test_x.py::TestY::test_z[c::d]",
                "tests.unit.test_x.TestY::test_z[c::d]",
            ),
            ("test_top.py::test_a", "test_top::test_a"),
            (
                "tests/t.py::A::B::test_n[1-a/b]",
                "tests.t.A.B::test_n[1-a/b]",
            ),
        ] {
            assert_eq!(junit_id(nodeid), junit);
        }
        let map = nodeids_by_junit_id(&["tests/t.py::test_a".to_string()]);
        assert_eq!(map["tests.t::test_a"], "tests/t.py::test_a");
    }

    #[test]
    fn pythonpath_gets_the_plugin_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("PYTHONPATH".to_string(), "/src".to_string())];
        let file = dir.path().join(FILE);
        prepare(dir.path(), &file, &mut env).unwrap();
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

    #[test]
    fn a_follow_counts_what_the_file_gained_and_waits_for_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("live.jsonl");
        let mut follow = Follow::default();
        follow.read_on(&file);
        assert_eq!(follow.counts, Counts::default());
        let a = r#"{"id": "t.py::a", "when": "call", "outcome": "passed"}"#;
        let b = r#"{"id": "t.py::b", "when": "call", "outcome": "failed"}"#;
        std::fs::write(&file, format!("{a}\n{}", &b[..10])).unwrap();
        follow.read_on(&file);
        assert_eq!((follow.counts.passed, follow.counts.failed), (1, 0));
        std::fs::write(&file, format!("{a}\n{b}\n")).unwrap();
        follow.read_on(&file);
        follow.read_on(&file);
        assert_eq!((follow.counts.passed, follow.counts.failed), (1, 1));
    }
}
