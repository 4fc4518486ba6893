//! Unit tests of semantic validation: one per kind of diagnostic, checking line, column and hint.

use super::*;
use crate::plan::load::load_bytes;

const HEAD: &str = "name = 'x'\ndescription = 'd'\n";

/// (message, line, column, help, notes) of one diagnostic.
type Found = (String, usize, usize, String, Vec<String>);

fn check(body: &str, overrides: &[(&str, &str)]) -> Result<ValidPlan, Vec<Found>> {
    let text = format!("{HEAD}{body}");
    let loaded =
        load_bytes(Path::new("dir/p.toml"), text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
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
    let plan = valid.resolve(&builtins).unwrap();
    let Step::Run(r) = &plan.phases[0].steps[0] else {
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
            "`runs` in step `s` must be a whole number, but it is `three`",
            12,
            8
        )
    );
    let valid = check(&body, &[("n", "4")]).unwrap();
    let plan = valid.resolve(&BTreeMap::new()).unwrap();
    let Step::Suite(s) = &plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(s.runs, Some(crate::plan::model::IntOrVar::Int(4)));
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
    let e = one("[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'w'\naction = 'write'\ntemplate = 't'\npath = 'a'\nmode = '999'\n");
    assert_eq!(e.0, "mode `999` in step `w` is not an octal permission");
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
