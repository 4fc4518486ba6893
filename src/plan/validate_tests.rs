//! Unit tests of semantic validation: one per kind of diagnostic, checking line, column and hint.

use super::*;
use crate::plan::compiled;
use crate::plan::load::load_bytes;

const HEAD: &str = "name = 'x'\ndescription = 'd'\n";

/// (message, line, column, help, notes) of one diagnostic.
type Found = (String, usize, usize, String, Vec<String>);

fn check(body: &str, overrides: &[(&str, &str)]) -> Result<ValidPlan, Vec<Found>> {
    check_at(Path::new("dir/p.toml"), body, overrides)
}

/// Like [`check`], for a plan file at `path` (templates are looked up beside it).
fn check_at(path: &Path, body: &str, overrides: &[(&str, &str)]) -> Result<ValidPlan, Vec<Found>> {
    let text = format!("{HEAD}{body}");
    let loaded = load_bytes(path, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    validate(loaded, &overrides).map_err(|e| {
        e.iter()
            .map(|d| {
                let (l, c) = d.line_col().unwrap();
                (
                    d.message.clone(),
                    l,
                    c,
                    d.help.clone().unwrap_or_default(),
                    d.notes.clone(),
                )
            })
            .collect()
    })
}

fn one(body: &str) -> Found {
    let errs = check(body, &[]).map(|_| ()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

fn run(id: &str, extra: &str) -> String {
    format!("[[phase.step]]\nid = '{id}'\naction = 'run'\ncommand = 'true'\n{extra}")
}

fn suite(id: &str, record: &str) -> String {
    format!(
        "[[phase.step]]\nid = '{id}'\naction = 'suite'\ncommand = 'pytest'\nrecord = '{record}'\n"
    )
}

#[test]
fn a_valid_plan_summarises() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}{}[[phase.gate]]\ncheck = 'after.failed == 0'\n",
        run("a", ""),
        suite("s", "after")
    );
    assert_eq!(
        check(&body, &[]).unwrap().summary(),
        "1 phase, 2 steps, 1 gate"
    );
}

#[test]
fn duplicate_step_ids_point_at_the_second_and_note_the_first() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        run("a", ""),
        run("a", "")
    ));
    assert_eq!((e.0.as_str(), e.1, e.2), ("duplicate step id `a`", 10, 6));
    assert_eq!(e.4, ["first defined at line 6"]);
}

#[test]
fn duplicate_phase_ids() {
    let e = one("[[phase]]\nid = 'p'\n[[phase]]\nid = 'p'\n");
    assert_eq!((e.0.as_str(), e.1, e.2), ("duplicate phase id `p`", 6, 6));
    assert_eq!(e.4, ["first defined at line 4"]);
}

#[test]
fn unknown_needs_suggest_a_name() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        run("deps", ""),
        run("b", "needs = ['dep']\n")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2, e.3.as_str()),
        (
            "step `b` needs unknown step `dep`",
            13,
            10,
            "did you mean `deps`?"
        )
    );
    let e = one("[[phase]]\nid = 'base'\n[[phase]]\nid = 'q'\nneeds = ['bse']\n");
    assert_eq!(
        (e.0.as_str(), e.1, e.2, e.3.as_str()),
        (
            "phase `q` needs unknown phase `bse`",
            7,
            10,
            "did you mean `base`?"
        )
    );
}

#[test]
fn a_step_needing_a_phase_is_told_how_to_wait_for_it() {
    let e = one(&format!(
        "[[phase]]\nid = 'base'\n{}",
        run("b", "needs = ['base']\n")
    ));
    assert!(e.3.contains("is a phase"), "{e:?}");
}

#[test]
fn cycles_show_the_whole_path_at_the_first_needs() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}{}{}",
        run("a", "needs = ['b']\n"),
        run("b", "needs = ['c']\n"),
        run("c", "needs = ['a']\n")
    );
    let e = one(&body);
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        ("dependency cycle: a -> b -> c -> a", 9, 10)
    );
    assert_eq!(e.3, "remove one of these `needs` to break the cycle");
}

#[test]
fn cycles_through_phase_needs() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}[[phase]]\nid = 'q'\nneeds = ['p']\n{}",
        run("a", "needs = ['b']\n"),
        run("b", "")
    );
    assert_eq!(one(&body).0, "dependency cycle: a -> b -> phase p -> a");
    let e = one("[[phase]]\nid = 'p'\nneeds = ['q']\n[[phase]]\nid = 'q'\nneeds = ['p']\n");
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        ("dependency cycle: phase p -> phase q -> phase p", 5, 10)
    );
}

#[test]
fn paths_must_stay_inside() {
    for (path, why) in [
        ("/etc/x", "is absolute"),
        ("../x", "leaves the target with `..`"),
        ("a/../../x", "leaves the target with `..`"),
    ] {
        let e = one(&format!("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'replace'\npath = '{path}'\npattern = 'a'\nreplacement = 'b'\n"));
        assert_eq!(
            (e.0, e.1, e.2),
            (format!("path `{path}` in step `w` {why}"), 8, 8)
        );
    }
    check("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'ini'\npath = 'a/../setup.cfg'\nsection = 's'\n", &[]).unwrap();
    let e = one(&run("r", "changes = ['ok', '/abs']\n")
        .replace("[[phase.step]]", "[[phase]]\nid = 'p'\n[[phase.step]]"));
    assert_eq!((e.1, e.2), (9, 18));
    check("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'i'\naction = 'install'\npackages = []\nrecord_in = 'auto'\n", &[]).unwrap();
}

#[test]
fn templates_stay_beside_the_plan_and_default_target_is_relative() {
    let e = one("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = '../t'\npath = 'x'\n");
    assert_eq!(
        e.0,
        "template `../t` in step `w` leaves the plan's directory with `..`"
    );
    check("default_target = '../../repo'\n", &[]).unwrap();
    let text = format!("{HEAD}default_target = '/abs'\n");
    let loaded = load_bytes(Path::new("p.toml"), text.as_bytes()).unwrap();
    assert_eq!(validate(loaded, &[]).unwrap_err().len(), 1);
}

#[test]
fn timeouts_must_parse() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        run("a", "timeout = '5 minutes please'\n")
    ));
    assert_eq!((e.1, e.2), (9, 11));
    assert!(
        e.0.starts_with("timeout `5 minutes please` in step `a` is not a duration"),
        "{e:?}"
    );
    check(
        &format!("[[phase]]\nid = 'p'\n{}", run("a", "timeout = '1h 30m'\n")),
        &[],
    )
    .unwrap();
}

#[test]
fn unknown_variables_point_inside_the_string() {
    let body = format!(
        "[vars]\npython = 'py'\n[[phase]]\nid = 'p'\n{}",
        run("a", "undo = 'x ${pyton} y'\n")
    );
    let e = one(&body);
    assert_eq!(
        (e.0.as_str(), e.1, e.2, e.3.as_str()),
        (
            "unknown variable `pyton` in step `a`",
            11,
            11,
            "did you mean `python`?"
        )
    );
}

#[test]
fn overrides_and_builtins_define_variables() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}",
        run("a", "undo = '${flag} ${target} ${plan_dir} $${HOME}'\n")
    );
    assert!(check(&body, &[]).is_err());
    let valid = check(&body, &[("flag", "-x")]).unwrap();
    let builtins: BTreeMap<String, String> = [("target", "/t"), ("plan_dir", "/d")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let plan = valid.resolve(&builtins).unwrap().plan;
    let compiled::Step::Run(r) = &plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(r.undo.as_deref(), Some("-x /t /d ${HOME}"));
}

#[test]
fn runs_must_be_an_integer_after_interpolation() {
    let body = format!(
        "[vars]\nn = 'three'\n[[phase]]\nid = 'p'\n{}runs = '${{n}}'\n",
        suite("s", "r")
    );
    let e = one(&body);
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "`runs` in step `s` must be a whole number of at least 1, but `${n}` is `three`",
            12,
            8
        )
    );
    assert_eq!(
        e.3,
        "give `n` a whole number of at least 1, e.g. `--var n=3`"
    );
    let valid = check(&body, &[("n", "4")]).unwrap();
    let plan = valid.resolve(&BTreeMap::new()).unwrap().plan;
    let compiled::Step::Suite(s) = &plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(s.runs.max(), 4);
}

#[test]
fn duplicate_records() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        suite("a", "r"),
        suite("b", "r")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        ("duplicate suite record `r` in step `b`", 14, 10)
    );
    assert_eq!(e.4, ["first defined at line 9"]);
}

#[test]
fn gate_syntax_errors_point_at_the_column() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}[[phase.gate]]\ncheck = 'r.failed == == 0'\n",
        suite("s", "r")
    ));
    assert_eq!((e.1, e.2), (11, 22));
    assert!(
        e.0.starts_with("invalid check in gate 1 of phase `p`"),
        "{e:?}"
    );
}

#[test]
fn gates_must_read_recorded_records_and_known_metrics() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}[[phase.gate]]\ncheck = 'r.failed == 0'\n",
        suite("s", "after")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "check in gate 1 of phase `p` reads record `r`, which no `suite` step records",
            11,
            10
        )
    );
    assert_eq!(e.3, "records produced by suites: `after`");
    let errs = check(&format!("[[phase]]\nid = 'p'\n{}[[phase.gate]]\ncheck = 'after.wall.medain > 0 and aftr.passed > 0'\n", suite("s", "after")), &[]).map(|_| ()).unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(
        (errs[0].0.as_str(), errs[0].1, errs[0].2, errs[0].3.as_str()),
        (
            "unknown metric `wall.medain` in gate 1 of phase `p`",
            11,
            16,
            "did you mean `wall.median`?"
        )
    );
    assert_eq!(
        (errs[1].2, errs[1].3.as_str()),
        (36, "did you mean `after`?")
    );
}

#[test]
fn gates_read_only_records_measured_before_them() {
    // Phase `early` gates on `after`, which only the later phase `late` measures.
    let body = format!(
        "[[phase]]\nid = 'early'\n{}[[phase.gate]]\ncheck = 'after.failed == 0'\n[[phase]]\nid = 'late'\nneeds = ['early']\n{}",
        suite("s", "before"),
        suite("t", "after")
    );
    let e = one(&body);
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "check in gate 1 of phase `early` reads record `after`, but the suite that records it does not run before this gate",
            11,
            10
        )
    );
    // The same gate in the later phase is fine: the suite runs before it.
    let body = format!(
        "[[phase]]\nid = 'early'\n{}[[phase]]\nid = 'late'\nneeds = ['early']\n{}[[phase.gate]]\ncheck = 'after.failed == 0 and before.failed == 0'\n",
        suite("s", "before"),
        suite("t", "after")
    );
    assert!(check(&body, &[]).is_ok());
}

#[test]
fn regex_and_mode_are_checked() {
    let e = one("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'r'\naction = 'replace'\npath = 'a'\npattern = '('\nreplacement = ''\nregex = true\n");
    assert!(
        e.0.starts_with("pattern in step `r` is not a valid regular expression"),
        "{e:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t"), "x").unwrap();
    let errs = check_at(
        &dir.path().join("p.toml"),
        "[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = 't'\npath = 'a'\nmode = '999'\n",
        &[],
    )
    .map(|_| ())
    .unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].0,
        "mode `999` in step `w` is not an octal permission"
    );
}

#[test]
fn every_problem_is_collected() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}{}",
        run("a", "needs = ['x', 'y']\ntimeout = 'z'\n"),
        run("a", "")
    );
    assert_eq!(check(&body, &[]).map(|_| ()).unwrap_err().len(), 4);
}

#[test]
fn var_args() {
    assert_eq!(
        parse_var_arg("a=b=c").unwrap(),
        ("a".to_string(), "b=c".to_string())
    );
    assert_eq!(parse_var_arg("a"), Err(VarArgError::NoValue("a".into())));
    assert!(matches!(
        parse_var_arg("1=x"),
        Err(VarArgError::BadName(..))
    ));
}

#[test]
fn builtin_names_cannot_be_redefined() {
    let e = one("[vars]\ntarget = 'x'\n");
    assert_eq!((e.1, e.2), (4, 1));
}

/// The one diagnostic of a plan whose single step has id `id` (written as a TOML basic string).
fn bad_step_id(id: &str) -> Found {
    one(&format!(
        "[[phase]]\nid = 'p'\n[[phase.step]]\nid = \"{id}\"\naction = 'run'\ncommand = 'true'\n"
    ))
}

const IDENT_HELP: &str = "use 1 to 100 ASCII letters, digits, `_`, `.` and `-` (not `.` or `..`); step ids name files under `.planrun/`";

#[test]
fn step_ids_are_identifiers() {
    for (written, message) in [
        ("", "step id `` is not an identifier: it is empty"),
        (
            "x\\ny",
            "step id `x\\ny` is not an identifier: it contains the control character `\\n`",
        ),
        (
            "a\\u0000b",
            "step id `a\\0b` is not an identifier: it contains the control character `\\0`",
        ),
        (
            "../../../../outside/pwned",
            "step id `../../../../outside/pwned` is not an identifier: it contains `/`",
        ),
        ("..", "step id `..` is not an identifier: `..` names a directory"),
        (
            "caf\u{e9}",
            "step id `caf\u{e9}` is not an identifier: it contains `\u{e9}`, which is not allowed",
        ),
        (
            "cafe\u{301}",
            "step id `cafe\u{301}` is not an identifier: it contains `\u{301}`, which is not allowed",
        ),
        (
            "a b",
            "step id `a b` is not an identifier: it contains ` `, which is not allowed",
        ),
    ] {
        let e = bad_step_id(written);
        assert_eq!((e.0.as_str(), e.1, e.2), (message, 6, 6), "{written:?}");
        assert_eq!(e.3, IDENT_HELP);
    }
    let long = "a".repeat(101);
    assert_eq!(
        bad_step_id(&long).0,
        format!("step id `{long}` is not an identifier: it is longer than 100 characters")
    );
    assert!(check(
        "[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'a-b_c.1'\naction = 'run'\ncommand = 'true'\n",
        &[]
    )
    .is_ok());
}

#[test]
fn phase_ids_and_records_are_identifiers() {
    let e = one("[[phase]]\nid = 'a/b'\n");
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        ("phase id `a/b` is not an identifier: it contains `/`", 4, 6)
    );
    assert!(
        e.3.ends_with("phase ids name files under `.planrun/`"),
        "{e:?}"
    );
    let e = one(&format!("[[phase]]\nid = 'p'\n{}", suite("s", "../up")));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "suite record `../up` in step `s` is not an identifier: it contains `/`",
            9,
            10
        )
    );
    // A record given through a variable is checked after interpolation.
    let body = format!(
        "[vars]\nr = 'ok'\n[[phase]]\nid = 'p'\n{}",
        suite("s", "${r}")
    );
    assert!(check(&body, &[]).is_ok());
    let errs = check(&body, &[("r", "../../x")]).map(|_| ()).unwrap_err();
    assert_eq!(
        errs[0].0,
        "suite record `../../x` in step `s` is not an identifier: it contains `/`"
    );
}

#[test]
fn runs_and_warmup_are_checked_where_they_are_given() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}runs = 0\n",
        suite("s", "r")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2, e.3.as_str()),
        (
            "`runs` in step `s` must be at least 1, but it is `0`",
            10,
            8,
            "write a whole number of at least 1, e.g. `runs = 3`"
        )
    );
    let body = format!(
        "[vars]\nruns = '3'\nw = '1'\n[[phase]]\nid = 'p'\n{}runs = '${{runs}}'\nwarmup = '${{w}}'\n",
        suite("s", "r")
    );
    let valid = check(&body, &[]).unwrap();
    let plan = valid.resolve(&BTreeMap::new()).unwrap().plan;
    let compiled::Step::Suite(s) = &plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!((s.runs.max(), s.warmup), (3, 1));
    let errs = check(&body, &[("runs", "0"), ("w", "-1")])
        .map(|_| ())
        .unwrap_err();
    let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.0.as_str(), e.3.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                "`runs` in step `s` must be at least 1, but `${runs}` is `0`",
                "give `runs` a whole number of at least 1, e.g. `--var runs=3`"
            ),
            (
                "`warmup` in step `s` must be a whole number (0 or more), but `${w}` is `-1`",
                "give `w` a whole number (0 or more), e.g. `--var w=1`"
            ),
        ]
    );
}

/// `warmup = "collect"`, written or through a variable, is one collection pass of a pytest
/// suite; a `framework = "command"` suite has no collection, and is told to give a number.
#[test]
fn a_collect_warmup_is_for_pytest_suites() {
    let body = format!(
        "[vars]\nw = '1'\n[[phase]]\nid = 'p'\n{}warmup = '${{w}}'\n",
        suite("s", "r")
    );
    for (w, collect) in [("collect", true), ("2", false)] {
        let plan = check(&body, &[("w", w)])
            .unwrap()
            .resolve(&BTreeMap::new())
            .unwrap()
            .plan;
        let compiled::Step::Suite(s) = &plan.phases[0].steps[0] else {
            panic!()
        };
        assert_eq!(
            (s.warmup_collect, s.warmup),
            (collect, if collect { 1 } else { 2 })
        );
    }
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}framework = 'command'\nwarmup = 'collect'\n",
        suite("s", "r")
    ));
    assert_eq!(
        (e.0.as_str(), e.3.as_str()),
        (
            "`warmup = \"collect\"` in step `s` needs a pytest suite: it warms up with pytest's collection, and `framework = \"command\"` has none",
            "write a number of warmup runs, e.g. `warmup = 1`"
        )
    );
}

#[test]
fn defaults_and_timeouts_are_resolved_once() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}timeout = '1m 30s'\n{}",
        suite("s", "r"),
        run("a", "")
    );
    let resolved = check(&body, &[])
        .unwrap()
        .resolve(&BTreeMap::new())
        .unwrap();
    let compiled::Step::Suite(s) = &resolved.plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(
        (s.runs.max(), s.warmup),
        (
            crate::plan::model::DEFAULT_RUNS,
            crate::plan::model::DEFAULT_WARMUP
        )
    );
    assert_eq!(s.process.timeout, Some(std::time::Duration::from_secs(90)));
    let compiled::Step::Run(a) = &resolved.plan.phases[0].steps[1] else {
        panic!()
    };
    assert_eq!(a.process.timeout, None);
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        run("a", "timeout = 'soon'\n")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "timeout `soon` in step `a` is not a duration: expected number at 0",
            9,
            11
        )
    );
}

#[test]
fn a_template_must_exist_beside_the_plan_and_use_known_vars() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.toml");
    let write = |template: &str| {
        format!("[vars]\npy = 'python3'\n[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = '{template}'\npath = 'out.py'\n")
    };
    let errs = check_at(&plan, &write("templates/conftest.py"), &[])
        .map(|_| ())
        .unwrap_err();
    let missing = dir.path().join("templates/conftest.py");
    assert_eq!(
        errs,
        [(
            "template `templates/conftest.py` in step `w` does not exist".to_string(),
            10,
            12,
            format!(
                "create `{}`, or fix the path: templates are relative to the plan file",
                missing.display()
            ),
            Vec::new()
        )]
    );
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(&missing, "# ${py}\n").unwrap();
    assert!(check_at(&plan, &write("templates/conftest.py"), &[]).is_ok());
    std::fs::write(&missing, "# ${pi}\n").unwrap();
    let errs = check_at(&plan, &write("templates/conftest.py"), &[])
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        (errs[0].0.as_str(), errs[0].3.as_str()),
        (
            "template `templates/conftest.py` in step `w`: unknown variable `pi`",
            "did you mean `py`?"
        )
    );
    let errs = check_at(&plan, &write("templates"), &[])
        .map(|_| ())
        .unwrap_err();
    assert!(
        errs[0]
            .0
            .starts_with("template `templates` in step `w` is a directory"),
        "{errs:?}"
    );
}

#[test]
fn secret_vars_are_marked_named_or_overridden() {
    let body = "[vars]\ntoken = 'a'\ndsn = { value = 'postgres://u:pw@db', secret = true }\npython = 'p'\nApi_Key = 'k'\nurl = '${db_password}'\n[[phase]]\nid = 'p'\n";
    let valid = check(body, &[("db_password", "hunter2"), ("python", "py3")]).unwrap();
    let secret: Vec<&str> = valid.secret_vars.iter().map(String::as_str).collect();
    assert_eq!(secret, ["Api_Key", "db_password", "dsn", "token"]);
    assert_eq!(valid.vars["dsn"], "postgres://u:pw@db");
    assert_eq!(valid.vars["python"], "py3");
}

#[test]
fn nul_characters_and_bad_environment_names_are_refused() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        run("a", "undo = \"x\\u0000y\"\n")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        ("a value in step `a` contains a NUL character", 9, 8)
    );
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        run("a", "env = { \"A=B\" = '1' }\n")
    ));
    assert_eq!(
        (e.0.as_str(), e.1, e.2),
        (
            "`A=B` in step `a` is not an environment variable name",
            9,
            9
        )
    );
}

fn mark(extra: &str) -> String {
    format!("[[phase.step]]\nid = 'm'\naction = 'mark'\nfrom = 'base'\n{extra}")
}

/// A mark step reads a record some suite measures before it, names a conftest.py, and has
/// `0 < fast <= slow`; one that does all that validates.
#[test]
fn mark_steps_read_an_earlier_record() {
    let ok = format!(
        "[[phase]]\nid = 'p'\n{}{}",
        suite("s", "base"),
        mark("needs = ['s']\n")
    );
    assert!(check(&ok, &[]).is_ok());
    let unknown = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        suite("s", "bass"),
        mark("")
    ));
    assert_eq!(
        unknown.0,
        "step `m` marks tests from record `base`, which no `suite` step records"
    );
    assert_eq!(unknown.3, "did you mean `bass`?");
    let unordered = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        suite("s", "base"),
        mark("")
    ));
    assert_eq!(
        (unordered.0.as_str(), unordered.1),
        (
            "step `m` marks tests from record `base`, but the suite that records it does not run before this step",
            13
        )
    );
    let errs = check(
        &format!(
            "[[phase]]\nid = 'p'\n{}{}",
            suite("s", "base"),
            mark("needs = ['s']\nfast = 2.0\nslow = 1.0\nconftest = 'tests/helpers.py'\n")
        ),
        &[],
    )
    .unwrap_err();
    let messages: Vec<&str> = errs.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`fast` (2 s) in step `m` is more than `slow` (1 s)",
            "`conftest` in step `m` must name a file called `conftest.py`, not `tests/helpers.py`",
        ]
    );
    let leaves = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        suite("s", "base"),
        mark("needs = ['s']\ndurations = '../d.json'\n")
    ));
    assert!(leaves.0.contains("leaves the target"), "{leaves:?}");
}

/// Budget keys parse (a path or a marker expression, positive seconds); `over_budget` and
/// `coverage` are read only of suites that measure them; `coverage_source` needs `coverage`.
#[test]
fn budgets_and_coverage_are_checked_before_anything_runs() {
    let bad_key = one(&format!(
        "[[phase]]\nid = 'p'\n{}budgets = {{ 'slow and' = 1.0 }}\n",
        suite("s", "r")
    ));
    assert!(
        bad_key.0.starts_with("budget `slow and` is neither a path"),
        "{bad_key:?}"
    );
    assert_eq!(bad_key.1, 10);
    let zero = one(&format!(
        "[[phase]]\nid = 'p'\n{}budgets = {{ 'tests/unit' = 0 }}\n",
        suite("s", "r")
    ));
    assert_eq!(
        zero.0,
        "budget `tests/unit` must be a positive number of seconds, not 0 in step `s`"
    );
    let unread = check(
        &format!(
            "[[phase]]\nid = 'p'\n{}[[phase.gate]]\ncheck = 'r.over_budget == 0 and r.coverage > 80'\n",
            suite("s", "r")
        ),
        &[],
    )
    .unwrap_err();
    let messages: Vec<&str> = unread.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        messages,
        [
            "check in gate 1 of phase `p` reads `r.over_budget`, but suite `s` has no `budgets`, so it never has a value",
            "check in gate 1 of phase `p` reads `r.coverage`, but suite `s` does not set `coverage = true`, so it never has a value",
        ]
    );
    let measured = format!(
        "[[phase]]\nid = 'p'\n{}budgets = {{ 'tests/unit' = 0.1, 'slow' = 5 }}\ncoverage = true\ncoverage_source = ['shop']\n[[phase.gate]]\ncheck = 'r.over_budget == 0 and r.coverage > 80'\n",
        suite("s", "r")
    );
    assert!(check(&measured, &[]).is_ok());
    let source_alone = one(&format!(
        "[[phase]]\nid = 'p'\n{}coverage_source = ['shop']\n",
        suite("s", "r")
    ));
    assert_eq!(
        source_alone.0,
        "`coverage_source` in step `s` is given, but `coverage` is not true"
    );
    let command = one(&format!(
        "[[phase]]\nid = 'p'\n{}framework = 'command'\ncoverage = true\n",
        suite("s", "r")
    ));
    assert!(
        command
            .0
            .starts_with("`coverage` in step `s` needs pytest's"),
        "{command:?}"
    );
}

/// Stages: each mistake is placed on its line with a hint.
mod stages {
    use super::*;

    fn plan(stages: &str) -> String {
        format!(
            "[[phase]]\nid = 'common'\n{}\n[[phase]]\nid = 'dev'\nneeds = ['common']\n{}\n[[phase]]\nid = 'wide'\nneeds = ['dev']\n{}\n{stages}",
            suite("base", "baseline"),
            run("edit", ""),
            run("more", "")
        )
    }

    #[test]
    fn a_valid_plan_selects_its_stage_phases_and_env() {
        let text = plan(
            "[[stage]]\nid = 'dev'\nphases = ['dev']\nenv = { FLAG = '${flag}' }\n[[stage.promote]]\ncheck = 'history.green_streak >= 3'\n[[stage]]\nid = 'ci'\nphases = ['wide']\nenv = { FLAG = 'wide', X = '1' }\n",
        );
        let valid = check(&format!("[vars]\nflag = 'on'\n{text}"), &[]).unwrap();
        assert_eq!(valid.summary(), "3 phases, 3 steps, 0 gates, 2 stages");
        let builtins = BTreeMap::new();
        let dev = valid.resolve_stage(&builtins, Some(0)).unwrap().plan;
        let ids: Vec<&str> = dev.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["common", "dev"]);
        let env = |plan: &compiled::Plan, phase: usize| match &plan.phases[phase].steps[0] {
            compiled::Step::Run(r) => r.process.env.clone(),
            compiled::Step::Suite(s) => s.process.env.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(env(&dev, 1).get("FLAG").map(String::as_str), Some("on"));
        assert_eq!(dev.current_stage().unwrap().id, "dev");
        assert!(dev.previous_stage().is_none());
        let ci = valid.resolve_stage(&builtins, Some(1)).unwrap().plan;
        assert_eq!(ci.phases.len(), 3);
        assert_eq!(env(&ci, 1).get("FLAG").map(String::as_str), Some("wide"));
        assert_eq!(env(&ci, 0).get("X").map(String::as_str), Some("1"));
        assert_eq!(
            ci.previous_stage().unwrap().promote[0].check,
            "history.green_streak >= 3"
        );
    }

    #[test]
    fn an_unknown_phase_is_named_with_a_suggestion() {
        let (msg, line, _, help, _) = one(&plan("[[stage]]\nid = 'dev'\nphases = ['deev']\n"));
        assert_eq!(
            msg,
            "stage `dev` names phase `deev`, which the plan does not have"
        );
        assert_eq!(help, "did you mean `dev`?");
        assert_eq!(line, 29);
    }

    #[test]
    fn a_phase_in_two_stages_is_refused() {
        let (msg, ..) = one(&plan(
            "[[stage]]\nid = 'a'\nphases = ['dev']\n[[stage]]\nid = 'b'\nphases = ['dev', 'wide']\n",
        ));
        assert_eq!(msg, "phase `dev` is in stage `a` and stage `b`");
    }

    #[test]
    fn a_phase_may_not_need_a_later_stage() {
        let (msg, _, _, help, _) = one(&plan(
            "[[stage]]\nid = 'a'\nphases = ['wide']\n[[stage]]\nid = 'b'\nphases = ['dev']\n",
        ));
        assert_eq!(
            msg,
            "phase `wide` runs at stage `a`, but needs phase `dev` of the later stage `b`"
        );
        assert!(help.starts_with("move the needed phase"), "{help}");
        let (msg, ..) = one(&plan("[[stage]]\nid = 'a'\nphases = ['common']\n"));
        assert_eq!(
            msg,
            "phase `dev` runs at every stage, but needs phase `common` of the later stage `a`"
        );
    }

    #[test]
    fn promotion_reads_only_known_history_metrics() {
        let (msg, _, _, help, _) = one(&plan(
            "[[stage]]\nid = 'a'\nphases = ['dev', 'wide']\n[[stage.promote]]\ncheck = 'baseline.runs >= 3'\n",
        ));
        assert_eq!(
            msg,
            "check in promotion criterion 1 of stage `a` reads `baseline.runs`; promotion reads the stage's run history"
        );
        assert!(help.contains("history.runs >= 10"), "{help}");
        let (msg, _, _, help, _) = one(&plan(
            "[[stage]]\nid = 'a'\nphases = ['dev', 'wide']\n[[stage.promote]]\ncheck = 'history.green_streek >= 3'\n",
        ));
        assert_eq!(
            msg,
            "unknown history metric `history.green_streek` in promotion criterion 1 of stage `a`"
        );
        assert_eq!(help, "did you mean `green_streak`?");
        check(
            &plan("[[stage]]\nid = 'a'\nphases = ['dev', 'wide']\n[[stage.promote]]\ncheck = 'history.baseline.wall.median <= 3'\n"),
            &[],
        )
        .unwrap();
    }

    #[test]
    fn gates_do_not_read_history_and_no_record_is_called_history() {
        let (msg, _, _, help, _) = one(&format!(
            "[[phase]]\nid = 'p'\n{}\n[[phase.gate]]\ncheck = 'history.runs >= 1'\n",
            suite("s", "after")
        ));
        assert_eq!(
            msg,
            "check in gate 1 of phase `p` reads `history.runs`; a gate reads this run's records"
        );
        assert!(help.contains("[[stage.promote]]"), "{help}");
        let (msg, ..) = one(&format!("[[phase]]\nid = 'p'\n{}", suite("s", "history")));
        assert_eq!(msg, "suite record `history` in step `s` is reserved");
    }

    #[test]
    fn bad_stage_ids_and_env_names() {
        let errs = check(
            &plan("[[stage]]\nid = 'a b'\nphases = ['dev']\nenv = { 'A=B' = '1' }\n[[stage]]\nid = 'a b'\n"),
            &[],
        )
        .map(|_| ())
        .unwrap_err();
        let msgs: Vec<&str> = errs.iter().map(|e| e.0.as_str()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("stage id `a b` is not an identifier")),
            "{msgs:?}"
        );
        assert!(msgs.contains(&"duplicate stage id `a b`"), "{msgs:?}");
        assert!(
            msgs.contains(&"`A=B` in stage `a b` is not an environment variable name"),
            "{msgs:?}"
        );
    }
}

fn service(id: &str, extra: &str) -> String {
    format!(
        "[[phase.step]]\nid = '{id}'\naction = 'service'\ncommand = 'serve ${{service.{id}.port}}'\n{extra}"
    )
}

/// The resolved plan of `body`, with the values setup would pick for its services' variables.
fn resolved_with_services(body: &str) -> compiled::Plan {
    let valid = check(body, &[]).unwrap();
    let builtins = crate::exec::services::pick(&valid.plan, &valid.vars).unwrap();
    valid.resolve(&builtins).unwrap().plan
}

#[test]
fn services_define_their_port_and_dir_variables() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}{}",
        service("db", "ready = 'probe ${service.db.dir}'\n"),
        run("a", "needs = ['db']\nundo = 'use ${service.db.port}'\n")
    );
    let plan = resolved_with_services(&body);
    let compiled::Step::Run(a) = &plan.phases[0].steps[1] else {
        panic!()
    };
    let port: u16 = a.undo.as_deref().unwrap()["use ".len()..].parse().unwrap();
    assert_ne!(port, 0);
    let compiled::Step::Service(db) = &plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(db.command, format!("serve {port}"));
    assert!(
        db.ready
            .as_deref()
            .unwrap()
            .contains("/planrun-service-db-"),
        "{db:?}"
    );
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}{}",
        service("db", ""),
        run("a", "undo = '${service.bd.port}'\n")
    ));
    assert_eq!(
        (e.0.as_str(), e.3.as_str()),
        (
            "unknown variable `service.bd.port` in step `a`",
            "did you mean `service.db.port`?"
        )
    );
}

#[test]
fn a_fixed_service_port_is_not_picked() {
    let body = format!("[[phase]]\nid = 'p'\n{}", service("db", ""));
    let valid = check(&body, &[("service.db.port", "5432")]).unwrap();
    let picked = crate::exec::services::pick(&valid.plan, &valid.vars).unwrap();
    assert!(!picked.contains_key("service.db.port"), "{picked:?}");
    assert!(picked.contains_key("service.db.dir"));
    let plan = valid.resolve(&picked).unwrap().plan;
    assert!(
        matches!(&plan.phases[0].steps[0], compiled::Step::Service(s) if s.command == "serve 5432")
    );
}

#[test]
fn a_service_ready_timeout_must_parse_and_defaults_to_a_minute() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        service("db", "ready_timeout = 'soon'\n")
    ));
    assert_eq!((e.1, e.2), (9, 17));
    assert!(
        e.0.starts_with("ready_timeout `soon` in step `db` is not a duration"),
        "{e:?}"
    );
    assert!(e.3.contains("`90s`"), "{e:?}");
    let timeouts = |extra: &str| {
        let plan =
            resolved_with_services(&format!("[[phase]]\nid = 'p'\n{}", service("db", extra)));
        match &plan.phases[0].steps[0] {
            compiled::Step::Service(s) => (s.ready_timeout, s.process.timeout),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        timeouts("ready_timeout = '2m'\n"),
        (std::time::Duration::from_secs(120), None)
    );
    assert_eq!(timeouts("").0, crate::plan::model::DEFAULT_READY_TIMEOUT);
}

#[test]
fn exported_names_must_be_environment_variable_names() {
    let e = one(&format!(
        "[[phase]]\nid = 'p'\n{}",
        service("db", "export = { 'A=B' = '1' }\n")
    ));
    assert!(
        e.0.contains("`A=B` in step `db` is not an environment variable name"),
        "{e:?}"
    );
}

#[test]
fn known_failures_are_checked_with_their_place() {
    let body = format!(
        "[[phase]]\nid = 'p'\n{}known_failures = ['tests/t.py::a', '*']\n",
        suite("s", "baseline")
    );
    let (message, line, column, help, _) = one(&body);
    assert_eq!(message, "known failure 2 in step `s` matches every test");
    assert_eq!((line, column), (10, 36));
    assert!(help.contains("--accept-baseline-failures"), "{help}");
    let command = format!(
        "[[phase]]\nid = 'p'\n{}framework = 'command'\nknown_failures = ['t::a']\n",
        suite("s", "baseline")
    );
    let (message, line, ..) = one(&command);
    assert_eq!(message, "`known_failures` in step `s` needs pytest's per-test results, but the suite has `framework = \"command\"`");
    assert_eq!(line, 11);
    let fine = format!(
        "[[phase]]\nid = 'p'\n{}known_failures = ['tests/t.py::a[1]', 'tests/legacy/*']\n",
        suite("s", "baseline")
    );
    let valid = check(&fine, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let plan = valid.resolve(&BTreeMap::new()).unwrap().plan;
    let compiled::Step::Suite(s) = &plan.phases[0].steps[0] else {
        panic!("a suite")
    };
    assert_eq!(s.known_failures, ["tests/t.py::a[1]", "tests/legacy/*"]);
    // A plan that edits nothing only measures: its suite is no baseline to refuse.
    assert!(!s.checked_baseline);
}

#[test]
fn a_var_the_plan_neither_declares_nor_uses_is_refused_with_a_suggestion() {
    let body = format!(
        "[vars]\nrunner = 'x'\n[[phase]]\nid = 'p'\n{}",
        run("a", "undo = '${runner} ${flag}'\n")
    );
    // `python` is always settable (it picks the environment), and so are the built-ins.
    for ok in [
        ("python", "/v/bin/python"),
        ("runner", "y"),
        ("target", "t"),
    ] {
        check(&body, &[ok, ("flag", "1")]).unwrap();
    }
    let errors = check(&body, &[("pyhton", "/v/bin/python"), ("flag", "1")]).unwrap_err();
    assert_eq!(
        (errors[0].0.as_str(), errors[0].1, errors[0].3.as_str()),
        (
            "`--var pyhton`: the plan declares no variable `pyhton`",
            3,
            "did you mean `python`?"
        )
    );
    let errors = check(&body, &[("zzz", "1"), ("flag", "1")]).unwrap_err();
    assert_eq!(errors[0].3, "the plan declares: runner");
}
