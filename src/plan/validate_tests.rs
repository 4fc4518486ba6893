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
    validate(&loaded, &overrides).map_err(|e| {
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
    assert_eq!(validate(&loaded, &[]).unwrap_err().len(), 1);
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
    let body = "[vars]\ntoken = 'a'\ndsn = { value = 'postgres://u:pw@db', secret = true }\npython = 'p'\nApi_Key = 'k'\n[[phase]]\nid = 'p'\n";
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
