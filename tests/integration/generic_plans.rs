//! The bundled plans that fit any repository, on repositories that are not planrun's demos:
//! budgets derived from the layout that is there (and never vacuous), xdist on a pytest 9
//! project configured in `[tool.pytest]`; and no internal vocabulary in what users read.

use std::fs;
use std::path::Path;

use crate::support::{plan, repo_root, Project};

/// A small library with a flat `tests/` (no unit/integration split): one quick test and one
/// that takes 2.2 s, over the 2 s every test is held to.
fn flat_project(pytest_table: &str) -> Project {
    let empty = tempfile::tempdir().expect("temp dir");
    let project = Project::from_dir(empty.path());
    project.write(
        "pyproject.toml",
        &format!("[project]\nname = \"flat\"\nversion = \"0.1\"\n\n{pytest_table}"),
    );
    project.write("flat.py", "def add(a, b):\n    return a + b\n");
    project.write(
        "tests/test_flat.py",
        "import time\n\nfrom flat import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_settles():\n    time.sleep(2.2)\n    assert add(2, 2) == 4\n",
    );
    project
}

#[test]
fn the_budgets_plan_derives_its_budgets_on_a_flat_tests_directory() {
    let project = flat_project("[tool.pytest.ini_options]\npythonpath = [\".\"]\n");
    project
        .test()
        .arg("apply")
        .arg(plan("budgets.toml"))
        .args(["--target", ".", "--dry-run"])
        .stdout_contains(
            "    budgets here: * [DURATION] -> every test no other budget covers; **/integration [DURATION] -> nothing in this repository; **/unit [DURATION] -> nothing in this repository\n",
        )
        .stderr_unchecked("the dry run's notes")
        .run();

    let before = project.hash_tree();
    let out = project
        .test()
        .arg("apply")
        .arg(plan("budgets.toml"))
        .args(["--target", ".", "--var", "runs=1", "--var", "warmup=0"])
        .status(1)
        .stderr_contains("gate after.over_budget 1 == 0 ... FAIL")
        .stderr_contains(
            "\n    over budget in `after`: tests/test_flat.py::test_settles [DURATION] > [DURATION] (*), [DURATION] over\n",
        )
        .stdout_unchecked("the rollback's lines")
        .run();
    assert!(
        !out.stderr.contains("match no test"),
        "the derived budgets cover the tests: {}",
        out.stderr
    );
    assert_eq!(project.hash_tree(), before, "rolled back byte for byte");
}

/// A budget naming a directory the suite does not have is said to cover nothing, instead of
/// letting `over_budget == 0` pass over tests it never looked at.
#[test]
fn budgets_that_match_no_test_warn_instead_of_passing_vacuously() {
    let project = flat_project("[tool.pytest.ini_options]\npythonpath = [\".\"]\n");
    project.write(
        "plan.toml",
        r#"name = "demo-budgets"
description = "The demo's budget paths on a repository laid out otherwise."
[vars]
python = "python3"
[[phase]]
id = "measure"
  [[phase.step]]
  id = "suite"
  action = "suite"
  command = "${python} -m pytest -k test_add"
  record = "suite"
  budgets = { "tests/unit" = 0.1, "tests/integration" = 2.0 }
  [[phase.gate]]
  check = "suite.over_budget == 0"
"#,
    );
    project
        .test()
        .args(["apply", "plan.toml", "--target", ".", "--var"])
        .arg(format!("python={}", crate::support::python().display()))
        .stderr_contains(
            "  warning: the budgets (tests/integration, tests/unit) match no test of the 1 measured, so `over_budget` is 0 whatever the tests take; name the directories that hold the tests, or add `\"*\" = SECONDS` for every test\n",
        )
        .stdout_unchecked("the summary")
        .run();
}

/// The xdist plan on a pytest 9 project configured in `[tool.pytest]` with `strict = true`:
/// the options go into that table as a TOML list, no `pytest.ini` appears, the suite keeps
/// its tests, and rollback gives the bytes back.
#[test]
fn the_xdist_plan_fits_a_pytest_9_project_that_is_not_a_demo() {
    let table = "[tool.pytest]\nstrict = true\npythonpath = [\".\"]\ntestpaths = [\"tests\"]\n";
    let project = flat_project(table);
    let before = project.hash_tree();
    project
        .test()
        .arg("apply")
        .arg(plan("xdist.toml"))
        .args(["--target", ".", "--dry-run"])
        .stdout_contains("  step addopts (pytest-config)\n    pytest reads pyproject.toml [tool.pytest] (pytest 9's rules: no pytest installed yet, so the newest)\n--- a/pyproject.toml\n")
        .run();
    project
        .test()
        .arg("apply")
        .arg(plan("xdist.toml"))
        .args(["--target", ".", "--var", "runs=3", "--var", "warmup=0"])
        // The speed gate's verdict depends on the machine; what matters here is what the
        // plan edited and that every test still ran.
        .args(["--var", "min_speedup=0.01"])
        .stderr_contains("gate after.tests 2 == baseline.tests 2 ... pass")
        .stdout_unchecked("the summary")
        .run();
    let pyproject = project.read("pyproject.toml");
    assert!(
        pyproject.contains("[tool.pytest]\nstrict = true\npythonpath = [\".\"]\ntestpaths = [\"tests\"]\naddopts = [\"-n\", \"auto\", \"--dist\", \"worksteal\", \"--maxprocesses\", \"4\"]\n"),
        "{pyproject}"
    );
    assert!(
        !project.join("pytest.ini").exists(),
        "no pytest.ini beside [tool.pytest]"
    );
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback's lines")
        .run();
    let after = project.hash_tree();
    let edited: Vec<_> = before
        .iter()
        .filter(|(path, hash)| after.get(*path) != Some(hash))
        .collect();
    assert!(edited.is_empty(), "rolled back byte for byte: {edited:?}");
}

/// Words of planrun's own making that mean nothing to a user: the sources its plans were
/// written from.
const INTERNAL: &[&str] = &[
    "seed 0",
    "seeds 0",
    "shared/seeds",
    "shared/",
    "adr-0",
    "(its dod)",
];

fn text_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name == "target" {
            continue;
        }
        if path.is_dir() {
            text_files(&path, out);
        } else if fs::read_to_string(&path).is_ok() {
            out.push(path);
        }
    }
}

/// Everything a user reads (the README, the bundled plans and templates, the demos, the
/// schema, `--help` and `planrun plans`) is free of internal vocabulary.
#[test]
fn user_facing_text_names_no_internal_source() {
    let mut files = vec![repo_root().join("README.md")];
    for dir in ["plans", "examples", "schemas"] {
        text_files(&repo_root().join(dir), &mut files);
    }
    let mut texts: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.display().to_string(), fs::read_to_string(f).unwrap()))
        .collect();
    for args in [
        &["--help"][..],
        &["apply", "--help"],
        &["plans"],
        &["init", "--help"],
    ] {
        let out = crate::support::Test::new()
            .args(args)
            .stdout_unchecked("read below")
            .stderr_unchecked("read below")
            .run();
        texts.push((format!("planrun {}", args.join(" ")), out.all()));
    }
    let found: Vec<String> = texts
        .iter()
        .flat_map(|(name, text)| {
            let lower = text.to_lowercase();
            INTERNAL
                .iter()
                .filter(move |w| lower.contains(*w))
                .map(move |w| format!("{name}: `{w}`"))
        })
        .collect();
    assert!(found.is_empty(), "internal vocabulary: {found:#?}");
}

/// A budget pattern that reaches into a file (`::`) is refused before anything runs, with the
/// plan's file, line and column and how to write a budget.
#[test]
fn a_budget_pattern_into_a_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(
        &plan,
        "name = \"v\"\ndescription = \"a pattern with a test id\"\n[[phase]]\nid = \"m\"\n  [[phase.step]]\n  id = \"s\"\n  action = \"suite\"\n  command = \"python -m pytest\"\n  record = \"s\"\n  budgets = { \"tests/*.py::test_a\" = 1.0, \"**/unit\" = 0.1 }\n",
    )
    .unwrap();
    crate::support::Test::new()
        .arg("validate")
        .arg(&plan)
        .redact(dir.path().display().to_string(), "[DIR]")
        .status(2)
        .stderr_contains("error: budget `tests/*.py::test_a` is a path pattern with `::`; a pattern matches files and directories, so name the test without `*` in step `s`\n  --> [DIR]/plan.toml:10:15\n")
        .stderr_contains("a path pattern such as `\"**/unit\" = 0.1`, `\"*\" = 2` for every other test")
        .run();
}

/// budgets-warn on a repository whose tests live in `test/` (not `tests/`): every test is
/// marked through the top conftest, the markers select in the project's own pytest, and the
/// kept changes roll back byte for byte.
#[test]
fn the_budgets_warn_plan_marks_the_tests_of_a_test_directory() {
    let empty = tempfile::tempdir().expect("temp dir");
    let project = Project::from_dir(empty.path());
    project.write(
        "pyproject.toml",
        "[project]\nname = \"lib\"\nversion = \"0.1\"\n\n[tool.pytest.ini_options]\npythonpath = [\".\"]\n",
    );
    // Enough code, all of it run, for the plan's 80% coverage gate to hold beside what
    // pytest-cov counts of the hooks.
    let lib: String = (0..200)
        .map(|i| format!("def f{i}(x):\n    return x + {i}\n\n\n"))
        .collect();
    project.write(
        "lib.py",
        &format!("{lib}def double(x):\n    return 2 * x\n"),
    );
    project.write(
        "test/test_lib.py",
        "import lib\nfrom lib import double\n\n\ndef test_double():\n    assert double(2) == 4\n    assert [getattr(lib, f\"f{i}\")(0) for i in range(200)] == list(range(200))\n\n\ndef test_zero():\n    assert double(0) == 0\n",
    );
    let before = project.hash_tree();
    project
        .test()
        .arg("apply")
        .arg(plan("budgets-warn.toml"))
        .args(["--target", ".", "--var", "runs=1", "--var", "warmup=0"])
        .stderr_contains("gate after.over_budget 0 == 0 ... pass")
        .stdout_unchecked("the summary")
        .run();
    assert!(project
        .read("conftest.py")
        .contains("# <<< planrun mark <<<"));
    assert!(
        !project.join("tests").exists(),
        "no tests/ made beside test/"
    );
    let fast = crate::support::run_ok(
        std::process::Command::new(project.join(".venv/bin/python"))
            .args([
                "-m",
                "pytest",
                "--co",
                "-q",
                "-m",
                "fast",
                "-p",
                "no:cacheprovider",
            ])
            .current_dir(project.path()),
        "pytest -m fast",
    );
    let listed = String::from_utf8_lossy(&fast.stdout);
    assert!(
        listed.contains("test/test_lib.py::test_double\ntest/test_lib.py::test_zero\n"),
        "{listed}"
    );
    project
        .test()
        .args(["rollback", "--target", "."])
        .stdout_unchecked("the rollback's lines")
        .run();
    assert_eq!(project.hash_tree(), before, "rolled back byte for byte");
}
