//! The harness and the repository's own files: every plan in plans/ parses, a project copy is
//! its example as committed, and the shared venv has the tools the plans use.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::{env_path, fnv1a, hash_into, python, repo_root, Project};

/// Every plan in plans/ deserializes into the plan model, names the schema on its first line,
/// uses only variables it declares (or the builtins, its services' among them), and every
/// `write` template it names exists.
#[test]
fn every_plan_parses() {
    use planrun::plan::model::{Plan, Step};
    let mut seen = 0;
    for entry in fs::read_dir(repo_root().join("plans")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ../schemas/plan.schema.json"),
            "{}",
            path.display()
        );
        let plan: Plan =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let services: Vec<String> = planrun::plan::service_vars::of(&plan)
            .into_iter()
            .flat_map(|v| [v.port, v.dir])
            .collect();
        for name in text
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(n, _)| n))
        {
            let builtin =
                ["target", "plan_dir"].contains(&name) || services.iter().any(|s| s == name);
            assert!(
                builtin || plan.vars.contains_key(name),
                "{}: unknown var ${{{name}}}",
                path.display()
            );
        }
        for (_, step) in plan.steps() {
            if let Step::Write(w) = step {
                let template = path.parent().unwrap().join(&w.template);
                assert!(
                    template.is_file(),
                    "{}: missing template {}",
                    path.display(),
                    w.template
                );
            }
        }
        seen += 1;
    }
    assert!(
        seen >= 2,
        "expected persistence-demo.toml and xdist.toml, saw {seen} plans"
    );
}

/// A copy has every file of its example as committed, with the same bytes, and nothing else
/// (whatever an apply left in the working tree); a one-byte change shows in the tree hash.
#[test]
fn project_copy_matches_its_example_byte_for_byte() {
    let project = Project::new("persistence-demo");
    let listed = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["ls-files", "examples/persistence-demo"])
        .output()
        .expect("run git");
    let before = project.hash_tree();
    if listed.status.success() && !listed.stdout.is_empty() {
        for rel in String::from_utf8_lossy(&listed.stdout).lines() {
            let rel = Path::new(rel)
                .strip_prefix("examples/persistence-demo")
                .unwrap();
            let shown = Command::new("git")
                .arg("-C")
                .arg(repo_root())
                .arg("show")
                .arg(format!("HEAD:examples/persistence-demo/{}", rel.display()))
                .output()
                .expect("run git show");
            assert_eq!(
                before.get(rel).map(|(_, digest)| digest.clone()),
                Some(format!(
                    "{}:{:016x}",
                    shown.stdout.len(),
                    fnv1a(&shown.stdout)
                )),
                "{}",
                rel.display()
            );
        }
        assert_eq!(
            before.len(),
            String::from_utf8_lossy(&listed.stdout).lines().count()
        );
    } else {
        let mut source = BTreeMap::new();
        let src = repo_root().join("examples/persistence-demo");
        hash_into(&src, &src, &mut source);
        assert_eq!(before, source);
    }
    assert!(before.contains_key(Path::new("tests/conftest.py")));
    project.write(
        "tests/conftest.py",
        &(project.read("tests/conftest.py") + " "),
    );
    assert_ne!(project.hash_tree(), before);
}

/// The shared venv has what the plans install and check with, and `uv` is found on `PATH`.
#[test]
fn shared_venv_has_the_test_tools() {
    let out = Command::new(python())
        .args([
            "-c",
            "import pytest, xdist, pytest_reverse; print(pytest.__version__)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uv = Command::new("uv")
        .arg("--version")
        .env("PATH", env_path())
        .output()
        .unwrap();
    assert!(uv.status.success() && String::from_utf8_lossy(&uv.stdout).starts_with("uv "));
}
