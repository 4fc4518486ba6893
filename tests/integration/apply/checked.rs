//! What validate can check is refused before any step runs: names that would become paths
//! outside `.planrun/` (step ids, records, `--save-baseline`), `runs = 0` through `--var`, and a
//! missing template; nothing is created inside or outside the target.

use std::fs;

use super::{mini, plan_in_tempdir, snapshot};
use crate::support::lines;

/// A plan whose first step leaves a mark, so a test sees whether anything ran.
fn plan(step: &str) -> String {
    format!(
        "name = 'checked'\ndescription = 'd'\n[vars]\nruns = '2'\n[[phase]]\nid = 'p'\n\
         [[phase.step]]\nid = 'mark'\naction = 'run'\ncommand = 'touch ran'\n{step}"
    )
}

#[test]
fn an_id_that_climbs_out_is_refused_and_nothing_is_created() {
    let project = mini();
    let before = snapshot(&project);
    let (dir, plan) = plan_in_tempdir(
        &plan(
            "[[phase.step]]\nid = \"../../../../outside/pwned\"\naction = \
             'run'\ncommand = 'echo pwned'\nneeds = ['mark']\n",
        ),
        &[],
    );
    let diagnostic = lines(&[
        "error: step id `../../../../outside/pwned` is not an identifier: \
         it contains `/`",
        "  --> [TMP]/plan.toml:12:6",
        "   |",
        "12 | id = \"../../../../outside/pwned\"",
        "   |      ^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "   = help: use 1 to 100 ASCII letters, digits, `_`, `.` and `-` \
         (not `.` or `..`); step ids name files under `.planrun/`",
        "",
    ]);
    project
        .test()
        .args(["validate", &plan])
        .status(2)
        .stderr(format!(
            "{diagnostic}invalid: [TMP]/plan.toml: 1 problem\n\n"
        ))
        .run();
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(2)
        .stderr(diagnostic.clone())
        .run();
    assert_eq!(snapshot(&project), before);
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
    let parent = project.path().parent().unwrap();
    for root in [project.path(), parent, dir.path()] {
        assert!(!root.join("outside").exists(), "{}", root.display());
    }
}

#[test]
fn a_record_that_climbs_out_is_refused() {
    let project = mini();
    let (_dir, plan) = plan_in_tempdir(
        &plan(
            "[[phase.step]]\nid = 's'\naction = 'suite'\nframework = \
             'command'\ncommand = 'true'\nrecord = '${rec}'\n",
        ),
        &[],
    );
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var", "rec=../../x"])
        .status(2)
        .stderr(lines(&[
            "error: suite record `../../x` in step `s` is not an identifier: \
             it contains `/`",
            "  --> [TMP]/plan.toml:16:10",
            "   |",
            "16 | record = '${rec}'",
            "   |          ^^^^^^^^",
            "   = help: use 1 to 100 ASCII letters, digits, `_`, `.` and `-` \
             (not `.` or `..`); suite records name files under `.planrun/`",
            "",
        ]))
        .run();
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
}

#[test]
fn runs_0_from_the_command_line_is_refused_before_any_step_runs() {
    let project = mini();
    let (_dir, plan) = plan_in_tempdir(
        &plan(
            "[[phase.step]]\nid = 's'\naction = 'suite'\nframework = \
             'command'\ncommand = 'true'\nrecord = 'r'\nruns = \
             '${runs}'\nneeds = ['mark']\n",
        ),
        &[],
    );
    let diagnostic = lines(&[
        "error: `runs` in step `s` must be at least 1, but `${runs}` is `0`",
        "  --> [TMP]/plan.toml:17:8",
        "   |",
        "17 | runs = '${runs}'",
        "   |        ^^^^^^^^^",
        "   = help: give `runs` a whole number of at least 1, e.g. `--var runs=3`",
        "",
    ]);
    project
        .test()
        .args(["validate", &plan, "--var", "runs=0"])
        .status(2)
        .stderr(format!(
            "{diagnostic}invalid: [TMP]/plan.toml: 1 problem\n\n"
        ))
        .run();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var", "runs=0"])
        .status(2)
        .stderr(diagnostic.clone())
        .run();
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--var", "runs=many"])
        .status(2)
        .stderr(lines(&[
            "error: `runs` in step `s` must be a whole number of at least 1, \
             but `${runs}` is `many`",
            "  --> [TMP]/plan.toml:17:8",
            "   |",
            "17 | runs = '${runs}'",
            "   |        ^^^^^^^^^",
            "   = help: give `runs` a whole number of at least 1, e.g. `--var \
             runs=3`",
            "",
        ]))
        .run();
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
}

#[test]
fn a_missing_template_is_refused_by_validate() {
    let project = mini();
    let (dir, plan) = plan_in_tempdir(
        &plan(
            "[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = \
             'templates/conftest.py'\npath = 'conftest.py'\n",
        ),
        &[],
    );
    let diagnostic = lines(&[
        "error: template `templates/conftest.py` in step `w` does not \
         exist",
        "  --> [TMP]/plan.toml:14:12",
        "   |",
        "14 | template = 'templates/conftest.py'",
        "   |            ^^^^^^^^^^^^^^^^^^^^^^^",
        "   = help: create `[TMP]/templates/conftest.py`, or fix the \
         path: templates are relative to the plan file",
        "",
    ]);
    let out = project
        .test()
        .args(["validate", &plan])
        .status(2)
        .stderr(format!(
            "{diagnostic}invalid: [TMP]/plan.toml: 1 problem\n\n"
        ))
        .run();
    let missing = dir.path().join("templates/conftest.py");
    assert_eq!(
        out.stderr,
        format!(
            "error: template `templates/conftest.py` in step `w` does not exist\n  \
             --> {plan}:14:12\n   |\n\
             14 | template = 'templates/conftest.py'\n   |            ^^^^^^^^^^^^^^^^^^^^^^^\n   \
             = help: create `{}`, or fix the path: templates are relative to the plan file\n\n\
             invalid: {plan}: 1 problem\n\n",
            missing.display()
        )
    );
    project
        .test()
        .args(["apply", &plan, "--target", "."])
        .status(2)
        .stderr(diagnostic.clone())
        .run();
    assert!(!project.join("ran").exists(), "a step ran");
    fs::create_dir(dir.path().join("templates")).unwrap();
    fs::write(&missing, "# written\n").unwrap();
    project
        .test()
        .args(["validate", &plan])
        .stdout("[TMP]/plan.toml: ok — 1 phase, 2 steps, 0 gates\n")
        .run();
}

#[test]
fn a_save_baseline_name_that_climbs_out_is_refused_at_startup() {
    let project = mini();
    let (_dir, plan) = plan_in_tempdir(
        &plan(
            "[[phase.step]]\nid = 's'\naction = 'suite'\nframework = \
             'command'\ncommand = 'true'\nrecord = 'r'\nbaseline = true\nruns \
             = 1\nwarmup = 0\nneeds = ['mark']\n",
        ),
        &[],
    );
    project
        .test()
        .args([
            "apply",
            &plan,
            "--target",
            ".",
            "--save-baseline",
            "../../x",
        ])
        .status(2)
        .stderr(lines(&[
            "error: --save-baseline: baseline name `../../x` is not a plain \
             name: it contains `/`",
            "  hint: name the baseline with ASCII letters, digits, `_`, `.` \
             and `-`, e.g. `--save-baseline main`; it is saved as \
             .planrun/baselines/NAME.json",
        ]))
        .run();
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
    let parent = project.path().parent().unwrap();
    assert!(!parent.join("x.json").exists());
    project
        .test()
        .args(["apply", &plan, "--target", ".", "--save-baseline", "main"])
        // stderr: concurrent steps' progress lines interleave.
        .apply_progress(
            "checked",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .stderr_contains("records: r [DURATION]")
        .run();
    assert!(project.join(".planrun/baselines/main.json").is_file());
}
