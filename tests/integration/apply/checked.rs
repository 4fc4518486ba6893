//! What validate can check is refused before any step runs: names that would become paths
//! outside `.planrun/` (step ids, records, `--save-baseline`), `runs = 0` through `--var`, and a
//! missing template; nothing is created inside or outside the target.

use std::fs;

use super::{mini, plan_in_tempdir, snapshot};

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
        &plan("[[phase.step]]\nid = \"../../../../outside/pwned\"\naction = 'run'\ncommand = 'echo pwned'\nneeds = ['mark']\n"),
        &[],
    );
    let out = project.planrun(["validate", &plan]);
    out.expect_code(2).expect_stderr(
        "error: step id `../../../../outside/pwned` is not an identifier: it contains `/`",
    );
    let out = project.planrun(["apply", &plan, "--target", "."]);
    out.expect_code(2)
        .expect_stderr("is not an identifier")
        .expect_stderr("= help: use 1 to 100 ASCII letters, digits, `_`, `.` and `-`");
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
        &plan("[[phase.step]]\nid = 's'\naction = 'suite'\nframework = 'command'\ncommand = 'true'\nrecord = '${rec}'\n"),
        &[],
    );
    let out = project.planrun(["apply", &plan, "--target", ".", "--var", "rec=../../x"]);
    out.expect_code(2).expect_stderr(
        "error: suite record `../../x` in step `s` is not an identifier: it contains `/`",
    );
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
}

#[test]
fn runs_0_from_the_command_line_is_refused_before_any_step_runs() {
    let project = mini();
    let (_dir, plan) = plan_in_tempdir(
        &plan("[[phase.step]]\nid = 's'\naction = 'suite'\nframework = 'command'\ncommand = 'true'\nrecord = 'r'\nruns = '${runs}'\nneeds = ['mark']\n"),
        &[],
    );
    let out = project.planrun(["validate", &plan, "--var", "runs=0"]);
    out.expect_code(2)
        .expect_stderr("error: `runs` in step `s` must be at least 1, but `${runs}` is `0`")
        .expect_stderr("= help: give `runs` a whole number of at least 1, e.g. `--var runs=3`");
    let out = project.planrun(["apply", &plan, "--target", ".", "--var", "runs=0"]);
    out.expect_code(2)
        .expect_stderr("must be at least 1, but `${runs}` is `0`");
    let out = project.planrun(["apply", &plan, "--target", ".", "--var", "runs=many"]);
    out.expect_code(2).expect_stderr(
        "error: `runs` in step `s` must be a whole number of at least 1, but `${runs}` is `many`",
    );
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
}

#[test]
fn a_missing_template_is_refused_by_validate() {
    let project = mini();
    let (dir, plan) = plan_in_tempdir(
        &plan("[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = 'templates/conftest.py'\npath = 'conftest.py'\n"),
        &[],
    );
    let out = project.planrun(["validate", &plan]);
    out.expect_code(2);
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
    let out = project.planrun(["apply", &plan, "--target", "."]);
    out.expect_code(2).expect_stderr("does not exist");
    assert!(!project.join("ran").exists(), "a step ran");
    fs::create_dir(dir.path().join("templates")).unwrap();
    fs::write(&missing, "# written\n").unwrap();
    project.planrun(["validate", &plan]).expect_code(0);
}

#[test]
fn a_save_baseline_name_that_climbs_out_is_refused_at_startup() {
    let project = mini();
    let (_dir, plan) = plan_in_tempdir(
        &plan("[[phase.step]]\nid = 's'\naction = 'suite'\nframework = 'command'\ncommand = 'true'\nrecord = 'r'\nbaseline = true\nruns = 1\nwarmup = 0\nneeds = ['mark']\n"),
        &[],
    );
    let out = project.planrun([
        "apply",
        &plan,
        "--target",
        ".",
        "--save-baseline",
        "../../x",
    ]);
    out.expect_code(2)
        .expect_stderr(
            "error: --save-baseline: baseline name `../../x` is not a plain name: it contains `/`",
        )
        .expect_stderr("hint: name the baseline with ASCII letters, digits");
    assert!(!project.join("ran").exists(), "a step ran");
    assert!(!project.join(".planrun").exists(), "a run started");
    let parent = project.path().parent().unwrap();
    assert!(!parent.join("x.json").exists());
    let out = project.planrun(["apply", &plan, "--target", ".", "--save-baseline", "main"]);
    out.expect_code(0);
    assert!(project.join(".planrun/baselines/main.json").is_file());
}
