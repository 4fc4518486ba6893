//! Edits through the binary keep a file's BOM, CRLF endings and missing final newline, and
//! rollback gives back the very bytes.

use std::fs;

use crate::support::{lines, repo_root, Project};

const PLAN: &str = r#"name = "formats"
description = "One edit of each text kind on files with BOMs and CRLF endings."
[[phase]]
id = "edit"
  [[phase.step]]
  id = "fast"
  action = "replace"
  path = "app.py"
  pattern = "SLOW = True"
  replacement = "SLOW = False"
  [[phase.step]]
  id = "metadata"
  action = "ini"
  path = "setup.cfg"
  section = "metadata"
  set = { version = "0.2" }
  [[phase.step]]
  id = "black"
  action = "toml"
  path = "pyproject.toml"
  table = "tool.black"
  set = { line-length = 100 }
  [[phase.step]]
  id = "pytest"
  action = "pytest-config"
  addopts_add = ["-p", "no:cacheprovider"]
"#;

const BOM: &str = "\u{feff}";

#[test]
fn crlf_bom_and_final_newline_survive_every_edit_and_rollback() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    // (file, with a BOM, without its final newline)
    let forms = [
        ("app.py", false, true),
        ("setup.cfg", true, false),
        ("pyproject.toml", false, true),
        ("pytest.ini", true, true),
    ];
    let mut before = Vec::new();
    for (file, bom, unterminated) in forms {
        let lf = project.read(file);
        assert!(!lf.contains('\r') && lf.ends_with('\n'), "{file}");
        let mut text = lf.replace('\n', "\r\n");
        if unterminated {
            text.truncate(text.len() - 2);
        }
        if bom {
            text.insert_str(0, BOM);
        }
        project.write(file, &text);
        before.push((file, text));
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    fs::write(&plan, PLAN).unwrap();
    let plan = plan.to_str().unwrap();

    project
        .test()
        .args(["apply", plan, "--target", ".", "--jobs", "1"])
        .stderr(lines(&[
            "planrun apply formats -> [TARGET] (run [RUN])",
            "▶ fast replace",
            "✓ fast [DURATION]",
            "▶ metadata ini",
            "✓ metadata [DURATION]",
            "▶ black toml",
            "✓ black [DURATION]",
            "▶ pytest pytest-config",
            "✓ pytest [DURATION]",
            "applied in [DURATION]: 0/0 gates passed, 4 files changed (+4 -4); exit 0",
            "report: .planrun/runs/[RUN]/report.json",
        ]))
        .run();
    for ((file, bom, unterminated), (_, old)) in forms.iter().zip(&before) {
        let new = project.read(file);
        assert_ne!(&new, old, "{file} was edited");
        assert_eq!(new.starts_with(BOM), *bom, "{file}: BOM");
        assert_eq!(
            new.matches('\n').count(),
            new.matches("\r\n").count(),
            "{file}: every line ends in CRLF: {new:?}"
        );
        assert_eq!(!new.ends_with('\n'), *unterminated, "{file}: final newline");
    }
    assert!(project.read("setup.cfg").contains("version = 0.2\r\n"));
    assert!(project.read("pyproject.toml").contains("line-length = 100"));

    project
        .test()
        .args(["rollback", "--target", "."])
        // Newest first: the steps ran one at a time, so in the reverse of the plan's order.
        .stdout(lines(&[
            "rolled back run [RUN] (plan formats) in [DURATION]",
            "  restored  pytest.ini",
            "  restored  pyproject.toml",
            "  restored  setup.cfg",
            "  restored  app.py",
        ]))
        .run();
    for (file, old) in &before {
        assert_eq!(&project.read(file), old, "{file} restored byte for byte");
    }
}
