//! The command line itself: help, version, unknown commands, colour, completions, man pages.

use crate::support::{lines, python, repo_root, Project, Test};

const SUBCOMMANDS: &[&str] = &[
    "validate",
    "graph",
    "schema",
    "apply",
    "rollback",
    "history",
    "status",
    "unlock",
    "report",
    "plans",
    "init",
    "ci",
    "completions",
    "man",
];

#[test]
fn help_lists_every_subcommand() {
    let out = Test::new()
        .arg("--help")
        .verbatim()
        .stdout_snapshot("help")
        .run();
    for sub in SUBCOMMANDS {
        assert!(
            out.stdout.contains(sub),
            "--help lacks {sub}:\n{}",
            out.stdout
        );
    }
}

/// Each subcommand's `--help`, the doc comments of cli.rs as the user reads them.
#[test]
fn every_subcommand_has_reviewed_help() {
    for sub in SUBCOMMANDS {
        Test::new()
            .args([sub, "--help"])
            .verbatim()
            .stdout_snapshot(&format!("help-{sub}"))
            .run();
    }
}

/// `planrun 0.1.0 (3f2c1a9b0 2026-12-02)`: in a git checkout, a commit git knows.
#[test]
fn version_names_the_commit() {
    let out = Test::new()
        .arg("--version")
        .stdout_unchecked("its commit depends on the build")
        .run();
    let prefix = format!("planrun {}", env!("CARGO_PKG_VERSION"));
    let rest = out.stdout.strip_prefix(&prefix).unwrap_or_else(|| {
        panic!("{:?} does not start with {prefix:?}", out.stdout);
    });
    if !repo_root().join(".git").exists() {
        assert_eq!(rest, "\n");
        return;
    }
    let inner = rest
        .strip_prefix(" (")
        .and_then(|r| r.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("no commit in {:?}", out.stdout));
    let (hash, date) = inner.split_once(' ').unwrap();
    assert!(
        hash.len() >= 9 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    assert!(date.len() == 10 && date.as_bytes()[4] == b'-', "{date}");
    let known = std::process::Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["cat-file", "-e", &format!("{hash}^{{commit}}")])
        .status()
        .unwrap();
    assert!(known.success(), "git does not know {hash}");
}

#[test]
fn completions_for_each_shell_name_the_subcommands_and_flags() {
    for (shell, marker) in [
        ("bash", "_planrun() {"),
        ("zsh", "#compdef planrun"),
        ("fish", "complete -c planrun"),
    ] {
        let out = Test::new()
            .args(["completions", shell])
            .stdout_unchecked("a generated script, checked below")
            .run();
        for needle in [marker, "apply", "dry-run", "detailed-exitcode"] {
            assert!(out.stdout.contains(needle), "{shell} lacks {needle}");
        }
    }
    Test::new()
        .args(["completions", "tcsh"])
        .status(2)
        .stderr(lines(&[
            "error: invalid value 'tcsh' for '<SHELL>'",
            "  [possible values: bash, elvish, fish, powershell, zsh]",
            "",
            "  tip: a similar value exists: 'zsh'",
            "",
            "For more information, try '--help'.",
        ]))
        .run();
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = Test::new()
        .arg("man")
        .stdout_unchecked("roff, checked below")
        .run();
    assert!(out.stdout.contains(".TH planrun 1"), "{}", out.stdout);
    for sub in SUBCOMMANDS {
        assert!(out.stdout.contains(sub), "the man page lacks {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    Test::new()
        .args(["man", "--dir"])
        .arg(dir.path())
        .redact(dir.path().display().to_string(), "[DIR]")
        .stderr("wrote man pages to [DIR]\n")
        .run();
    let apply = std::fs::read_to_string(dir.path().join("planrun-apply.1")).unwrap();
    assert!(apply.contains(".TH planrun-apply 1"), "{apply}");
    assert!(apply.contains("dry\\-run"), "{apply}");
}

/// `--color`, `--no-color` and the environment, for planrun's own errors and clap's.
#[test]
fn colour_follows_the_flag_and_the_environment() {
    let coloured = |test: Test<'static>| {
        let out = test
            .status(2)
            .stdout_unchecked("annotations under GitHub Actions, nothing else")
            .stderr_unchecked("checked for escape codes")
            .run();
        assert!(
            !out.stdout.contains("\x1b["),
            "stdout stays plain: {}",
            out.stdout
        );
        out.stderr.contains("\x1b[")
    };
    let clap_error = || Test::new().arg("frobnicate");
    let our_error = || Test::new().args(["validate", "no/such/plan.toml"]);
    // The harness sets NO_COLOR=1.
    assert!(!coloured(clap_error()));
    assert!(!coloured(our_error()));
    assert!(coloured(clap_error().args(["--color", "always"])));
    assert!(coloured(our_error().arg("--color=always")));
    let forced = |var: &str| our_error().env_remove("NO_COLOR").env(var, "1");
    assert!(coloured(forced("FORCE_COLOR")));
    assert!(coloured(forced("CLICOLOR_FORCE")));
    assert!(coloured(
        clap_error().env_remove("NO_COLOR").env("FORCE_COLOR", "1")
    ));
    assert!(!coloured(forced("FORCE_COLOR").arg("--no-color")));
    assert!(!coloured(forced("FORCE_COLOR").args(["--color", "never"])));
    // GitHub Actions renders ANSI in its logs, which are not terminals.
    assert!(coloured(
        forced("GITHUB_ACTIONS").env("GITHUB_ACTIONS", "true")
    ));
}

#[test]
fn init_writes_a_bundled_plan_that_validates() {
    let project = Project::new("pyproject-demo");
    Test::in_project(&project)
        .arg("plans")
        // Nothing in it varies: a placeholder would hide a change of a plan's description.
        .verbatim()
        .stdout_snapshot("plans-list")
        .stderr("note: `planrun init NAME` writes one into a repository\n")
        .run();
    Test::in_project(&project)
        .args(["init", "xdist"])
        .stderr(lines(&[
            "wrote ci/plans/xdist.toml",
            "wrote ci/plans/plan.schema.json",
            "note: next: `planrun apply ci/plans/xdist.toml --dry-run`, then without --dry-run",
        ]))
        .run();
    let plan = project.read("ci/plans/xdist.toml");
    assert!(plan.starts_with("#:schema plan.schema.json\n"), "{plan}");
    assert!(plan.contains("\ndefault_target = \"../..\"\n"), "{plan}");
    Test::in_project(&project)
        .args(["validate", "ci/plans/xdist.toml"])
        .stdout("ci/plans/xdist.toml: ok — 2 phases, 5 steps, 4 gates\n")
        .run();
    Test::in_project(&project)
        .args(["apply", "ci/plans/xdist.toml", "--dry-run"])
        .stdout_contains("plan       xdist (ci/plans/xdist.toml)\ntarget     [TARGET]\n")
        .run();
    Test::in_project(&project)
        .args(["init", "xdist"])
        .status(2)
        .stderr(lines(&[
            "error: refusing to overwrite ci/plans/xdist.toml",
            "  hint: pass --force to overwrite, or --dir to write elsewhere",
        ]))
        .run();
    Test::in_project(&project)
        .args(["init", "persistence-demo", "--dir", "plans"])
        .stderr(lines(&[
            "wrote plans/persistence-demo.toml",
            "wrote plans/templates/persistence/conftest.py",
            "wrote plans/plan.schema.json",
            "warning: `persistence-demo` is an example made for planrun's \
             examples/persistence-demo: it expects that repository's layout and code; `planrun \
             plans` lists the plans that fit any repository",
            "note: next: `planrun apply plans/persistence-demo.toml --dry-run`, then without \
             --dry-run",
        ]))
        .run();
    assert!(project
        .read("plans/persistence-demo.toml")
        .contains("\ndefault_target = \"..\"\n"));
    Test::in_project(&project)
        .args(["init", "xdsit"])
        .status(2)
        .stderr(lines(&[
            "error: no bundled plan is called `xdsit`",
            "  hint: did you mean `xdist`?",
        ]))
        .run();
}

#[test]
fn unknown_subcommand_exits_2() {
    Test::new()
        .arg("frobnicate")
        .status(2)
        .stderr(lines(&[
            "error: unrecognized subcommand 'frobnicate'",
            "",
            "Usage: planrun [OPTIONS] <COMMAND>",
            "",
            "For more information, try '--help'.",
        ]))
        .run();
}

/// The history table and the rollback report are styled spans rendered at the edge: escape
/// codes with `--color always`, none under NO_COLOR (which the harness sets), columns lined up
/// either way.
#[test]
fn history_and_rollback_colour_only_when_asked() {
    let project = Project::from_dir(&repo_root().join("tests/fixtures/targets/mini"));
    let plans = tempfile::tempdir().unwrap();
    let plan = plans.path().join("plan.toml");
    std::fs::write(
        &plan,
        "name = \"edit\"\ndescription = \"One edit.\"\n[[phase]]\nid = \"p\"\n  [[phase.step]]\n  id = \"fast\"\n  action = \"replace\"\n  path = \"app.py\"\n  pattern = \"SLOW = True\"\n  replacement = \"SLOW = False\"\n",
    )
    .unwrap();
    project
        .test()
        .args(["apply", plan.to_str().unwrap(), "--target", "."])
        .stdout_unchecked("the run's summary")
        .stderr_unchecked("progress")
        .run();
    let history = |colour: &[&str]| {
        project
            .test()
            .args(["history", "--target", "."])
            .args(colour)
            .stdout_unchecked("checked below")
            .stderr_unchecked("notes")
            .run()
            .stdout
    };
    let plain = history(&[]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let header = plain.lines().next().unwrap();
    assert!(header.starts_with("RUN "), "{plain}");
    let status_at = header.find("STATUS").unwrap();
    assert_eq!(
        &plain.lines().nth(1).unwrap()[status_at..status_at + 7],
        "applied"
    );
    let coloured = history(&["--color", "always"]);
    assert!(coloured.contains("\x1b[1mRUN\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[32mapplied\x1b[0m"), "{coloured:?}");
    assert_eq!(strip_escapes(&coloured), plain);

    // Coloured, the labels still line up: their padding lies outside the escape codes.
    let out = project
        .test()
        .args(["rollback", "--target", ".", "--color", "always"])
        .stdout_unchecked("checked below")
        .stderr_unchecked("notes")
        .run();
    assert!(
        out.stdout.contains("\x1b[36mrestored\x1b[0m  app.py\n"),
        "{:?}",
        out.stdout
    );
    let plain = strip_escapes(&out.stdout);
    assert!(plain.starts_with("rolled back run "), "{plain}");
    assert!(plain.contains("\n  restored  app.py\n"), "{plain}");
}

/// `text` without its SGR escape codes.
fn strip_escapes(text: &str) -> String {
    regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(text, "")
        .into_owned()
}

/// What setuptools says of a project's packages: `egg_info` runs the same flat-layout discovery
/// as `pip install -e .`, offline and without installing anything.
fn setuptools_discovery(project: &Project) -> std::process::Output {
    let egg_base = tempfile::tempdir().unwrap();
    std::process::Command::new(python())
        .args([
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "egg_info",
            "--egg-base",
        ])
        .arg(egg_base.path())
        .current_dir(project.path())
        .output()
        .unwrap()
}

#[test]
fn init_leaves_a_flat_layout_project_installable() {
    // pyproject-demo is a flat layout (`vaultkey/` beside `tests/`) with no packages listed: a
    // top-level `plans/` would be a second package and its `pip install -e .` would fail.
    let project = Project::new("pyproject-demo");
    let before = setuptools_discovery(&project);
    assert!(before.status.success(), "{before:?}");
    Test::in_project(&project)
        .args(["init", "xdist"])
        .stderr_unchecked("what init wrote")
        .run();
    let after = setuptools_discovery(&project);
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    // The check can fail: the same plan written to a top-level `plans/` breaks the build.
    Test::in_project(&project)
        .args(["init", "xdist", "--dir", "plans"])
        .stderr_unchecked("what init wrote")
        .run();
    let broken = setuptools_discovery(&project);
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("Multiple top-level packages"),
        "{broken:?}"
    );
}

/// `planrun ci gitlab --help`: its options as the user reads them.
#[test]
fn ci_gitlab_help_is_reviewed() {
    Test::new()
        .args(["ci", "gitlab", "--help"])
        .verbatim()
        .stdout_snapshot("help-ci-gitlab")
        .run();
}

/// `--planrun-from` goes into a quoted YAML string and a quoted shell word of the workflow:
/// what would need quoting there is refused, naming it, and nothing is written.
#[test]
fn ci_refuses_a_planrun_from_the_workflow_would_have_to_quote() {
    let project = crate::support::mini();
    project.write("plan.toml", &crate::support::one_phase_plan("p", EDIT_STEP));
    for (system, from, says) in [
        (
            "github",
            "$HOME/planrun.whl",
            "holds '$', which the workflow would have to quote",
        ),
        (
            "gitlab",
            "--index-url=https://x",
            "reads as an option of pipx",
        ),
    ] {
        project
            .test()
            .args(["ci", system, "plan.toml", "--target", ".", "-o", "wf.yml"])
            .arg(format!("--planrun-from={from}"))
            .status(2)
            .stderr_contains(says)
            .stderr_contains("hint: give a wheel's URL or path, or a `git+https://...@TAG` URL")
            .run();
        assert!(!project.join("wf.yml").exists());
    }
}

const EDIT_STEP: &str =
    "  [[phase.step]]\n  id = \"s\"\n  action = \"run\"\n  command = \"true\"\n";
