//! The profiling plugin's account of a run (JSON lines, one process or many xdist workers
//! appending) read into a [`Profile`]; lines that are not the plugin's are skipped.

use std::collections::BTreeMap;

use super::profile::{
    CoverageUse, DjangoUse, FixtureTiming, Profile, Sched, SharedFile, SqliteUse, TestTiming,
};

/// Reads the plugin's JSON lines; lines that are not the plugin's are skipped.
pub fn parse(text: &str) -> Profile {
    let mut p = Profile {
        cores: 1,
        ..Profile::default()
    };
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["xdist"].as_bool() == Some(true) {
            p.already_parallel = true;
        } else if let Some([major, minor]) = v["python"].as_array().map(Vec::as_slice) {
            p.python = major
                .as_u64()
                .zip(minor.as_u64())
                .map(|(a, b)| (a as u32, b as u32));
        } else if v["coverage"].is_object() {
            let c = &v["coverage"];
            p.coverage = Some(CoverageUse {
                tracer: c["tracer"].as_str().unwrap_or_default().to_string(),
                config_file: c["config_file"].as_str().map(str::to_string),
                branch: c["branch"].as_bool().unwrap_or(false),
                pytest_cov: c["pytest_cov"].as_bool().unwrap_or(false),
            });
        } else if v["django"].is_object() {
            let d = &v["django"];
            p.django = Some(DjangoUse {
                reuse_db: d["reuse_db"].as_bool().unwrap_or(false),
                nomigrations: d["nomigrations"].as_bool().unwrap_or(false),
            });
        } else if v["django_db"].is_object() {
            p.django_db = Some(super::django::database(&v["django_db"]));
        } else if let Some(seconds) = v["collection"].as_f64() {
            p.collection += seconds;
            p.collected += v["tests"].as_u64().unwrap_or(0);
        } else if v["sched"].is_object() {
            let f = |k: &str| v["sched"][k].as_f64().unwrap_or(0.0).max(0.0);
            p.sched = Some(Sched {
                cpu: f("cpu"),
                wait: f("wait"),
                elapsed: f("elapsed"),
            });
        } else if let (Some(id), Some(when)) = (v["test"].as_str(), v["when"].as_str()) {
            p.reports += 1;
            let i = *index.entry(id.to_string()).or_insert_with(|| {
                p.tests.push(TestTiming {
                    id: id.to_string(),
                    outcome: "passed".into(),
                    ..TestTiming::default()
                });
                p.tests.len() - 1
            });
            let t = &mut p.tests[i];
            let seconds = v["seconds"].as_f64().unwrap_or(0.0).max(0.0);
            if let Some(cpu) = v["cpu"].as_f64() {
                *t.cpu.get_or_insert(0.0) += cpu.max(0.0);
            }
            match when {
                "setup" => t.setup += seconds,
                "call" => t.call += seconds,
                _ => t.teardown += seconds,
            }
            match v["outcome"].as_str() {
                Some("failed") => t.outcome = "failed".into(),
                Some("skipped") if t.outcome == "passed" => t.outcome = "skipped".into(),
                _ => {}
            }
        } else if let Some(list) = v["fixtures"].as_array() {
            for f in list {
                merge_fixture(&mut p.fixtures, f);
                if let (Some(name), Some("function"), Some(cpu)) =
                    (f["name"].as_str(), f["scope"].as_str(), f["cpu"].as_f64())
                {
                    *p.fixture_cpu.entry(name.to_string()).or_default() += cpu.max(0.0);
                }
            }
        } else if let Some(list) = v["sqlite"].as_array() {
            p.sqlite.extend(list.iter().map(|s| SqliteUse {
                path: s["path"].as_str().unwrap_or_default().to_string(),
                tests: strings(&s["tests"]),
                fixtures: strings(&s["fixtures"]),
            }));
            add_counts(&mut p.tmp_created, &v["tmp_created"]);
            for (id, seconds) in v["session_setup"].as_object().into_iter().flatten() {
                if let Some(t) = p.tests.iter_mut().find(|t| &t.id == id) {
                    t.session_setup += seconds.as_f64().unwrap_or(0.0).max(0.0);
                }
            }
            add_counts(&mut p.postgres, &v["postgres"]);
            add_counts(&mut p.sqlalchemy, &v["sqlalchemy"]);
        } else if let Some(list) = v["shared_files"].as_array() {
            p.shared_files.extend(list.iter().map(|s| SharedFile {
                path: s["path"].as_str().unwrap_or_default().to_string(),
                writers: strings(&s["writers"]),
                tests: strings(&s["tests"]),
            }));
        }
    }
    p
}

/// Adds one process's account of a fixture to the totals (xdist workers each send their own).
fn merge_fixture(all: &mut Vec<FixtureTiming>, f: &serde_json::Value) {
    let name = f["name"].as_str().unwrap_or_default();
    let scope = f["scope"].as_str().unwrap_or("function");
    let defined_in = f["where"].as_str().unwrap_or_default();
    let (count, seconds) = (
        f["count"].as_u64().unwrap_or(0),
        f["seconds"].as_f64().unwrap_or(0.0).max(0.0),
    );
    match all
        .iter_mut()
        .find(|x| x.name == name && x.scope == scope && x.defined_in == defined_in)
    {
        Some(x) => {
            x.count += count;
            x.seconds += seconds;
        }
        None => all.push(FixtureTiming {
            name: name.to_string(),
            scope: scope.to_string(),
            defined_in: defined_in.to_string(),
            count,
            seconds,
        }),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn add_counts(into: &mut BTreeMap<String, u64>, v: &serde_json::Value) {
    for (k, n) in v.as_object().into_iter().flatten() {
        *into.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_fixtures_add_up_over_processes() {
        let text = concat!(
            r#"{"xdist": true}"#,
            "\n",
            r#"{"collection": 0.5, "tests": 2}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "setup", "seconds": 0.3, "outcome": "passed", "cpu": 0.1}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "call", "seconds": 0.1, "outcome": "failed", "cpu": 0.05}"#,
            "\n",
            r#"{"test": "t.py::a", "when": "teardown", "seconds": 0.05, "outcome": "passed"}"#,
            "\n",
            r#"{"fixtures": [{"name": "db", "scope": "function", "where": "tests", "count": 2, "seconds": 0.5, "cpu": 0.2}]}"#,
            "\n",
            r#"{"fixtures": [{"name": "db", "scope": "function", "where": "tests", "count": 1, "seconds": 0.25, "cpu": 0.1}, {"name": "s", "scope": "session", "where": "", "count": 1, "seconds": 1.0, "cpu": 1.0}]}"#,
            "\n",
            r#"{"sqlite": [{"path": "/x.db", "tests": ["t.py::a"], "fixtures": ["db"]}], "tmp_created": {"t.py::a": 1}, "session_setup": {"t.py::a": 0.2}, "postgres": {}, "sqlalchemy": {"engine": 2}}"#,
            "\n",
            r#"{"sqlite": [], "tmp_created": {}, "session_setup": {}, "postgres": {}, "sqlalchemy": {"engine": 1}}"#,
            "\n",
            r#"{"python": [3, 12]}"#,
            "\n",
            r#"{"coverage": {"tracer": "CTracer", "config_file": "/r/pyproject.toml", "pytest_cov": true}}"#,
            "\n",
            r#"{"django": {"reuse_db": true, "nomigrations": false}}"#,
            "\n",
            r#"{"sched": {"cpu": 1.0, "wait": 3.0, "elapsed": 5.0}}"#,
            "\n",
            r#"{"shared_files": [{"path": "/r/c.json", "writers": ["t.py::a"], "tests": ["t.py::a", "t.py::b"]}]}"#,
            "\n",
            r#"{"test": "t.py::b", "wh"#,
        );
        let p = parse(text);
        assert_eq!(p.collected, 2);
        assert!(p.already_parallel);
        assert_eq!(p.tests.len(), 1);
        // Three reports of one test (the fourth line is cut short).
        assert_eq!(p.reports, 3);
        let sched = p.sched.unwrap();
        assert_eq!((sched.share(), sched.busy()), (Some(0.25), Some(0.8)));
        let a = &p.tests[0];
        assert!((a.total() - 0.45).abs() < 1e-9);
        assert_eq!((a.outcome.as_str(), a.file()), ("failed", "t.py"));
        // The CPU of the phases that said it; of the function-scoped fixtures by name.
        assert!((a.cpu.unwrap() - 0.15).abs() < 1e-9);
        assert!((p.fixture_cpu["db"] - 0.3).abs() < 1e-9);
        assert!(!p.fixture_cpu.contains_key("s"));
        assert_eq!(p.fixtures.len(), 2);
        assert_eq!(p.fixtures[0].count, 3);
        assert!((p.fixtures[0].seconds - 0.75).abs() < 1e-9);
        assert_eq!(p.sqlite[0].fixtures, ["db"]);
        assert_eq!(p.tmp_created["t.py::a"], 1);
        assert!((p.tests[0].session_setup - 0.2).abs() < 1e-9);
        assert_eq!(p.shared_files[0].tests.len(), 2);
        assert_eq!(p.sqlalchemy["engine"], 3);
        assert_eq!(p.python, Some((3, 12)));
        let cov = p.coverage.as_ref().unwrap();
        assert_eq!(
            (
                cov.tracer.as_str(),
                cov.config_file.as_deref(),
                cov.pytest_cov
            ),
            ("CTracer", Some("/r/pyproject.toml"), true)
        );
        assert_eq!(
            p.django,
            Some(DjangoUse {
                reuse_db: true,
                nomigrations: false
            })
        );
    }
}
