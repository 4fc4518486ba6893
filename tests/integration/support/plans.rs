//! The small target and the inline plans that many test modules share.

use std::fs;

use super::{repo_root, Project};

/// A temp copy of `tests/fixtures/targets/mini`: a tracked `app.py` with `SLOW = True`.
pub fn mini() -> Project {
    Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"))
}

/// Writes `text` as `plan.toml` in a fresh temp dir outside any target; the dir lives as long
/// as the guard.
pub fn plan_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

/// A plan `name` of one phase `p` made of these `[[phase.step]]` tables.
pub fn one_phase_plan(name: &str, steps: &str) -> String {
    format!(
        "name = \"{name}\"\ndescription = \"A plan of the integration tests.\"\n\
         [[phase]]\nid = \"p\"\n{steps}"
    )
}

/// An edit of a tracked file (`app.py`) and a file a command creates (`out.txt`).
pub const EDIT_PLAN: &str = r#"
name = "edit"
description = "A plan of the integration tests."
[[phase]]
id = "p"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"
  [[phase.step]]
  id = "out"
  action = "run"
  command = "echo made >> out.txt"
  changes = ["out.txt"]
"#;

/// What applying [`EDIT_PLAN`] with `--jobs 1` to a fresh copy of the mini target prints on
/// standard error: one step at a time, in the plan's order.
pub const EDIT_APPLIED: &str = "\
planrun apply edit -> [TARGET] (run [RUN])
▶ fast replace
✓ fast [DURATION]
▶ out run
✓ out [DURATION]
applied in [DURATION]: 0/0 gates passed, 2 files changed (+2 -1); exit 0
report: .planrun/runs/[RUN]/report.json
";
