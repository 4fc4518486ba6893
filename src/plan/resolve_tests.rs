//! Tests of plan/resolve.rs: interpolation of variables into a plan.

use super::*;

fn plan(step: &str) -> Plan {
    toml::from_str(&format!(
        "name='x'\ndescription='d'\n[[phase]]\nid='p'\n[[phase.step]]\nid='s'\n{step}"
    ))
    .unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Interpolated in two halves, the plan, its problems (in the order of the phases), the
/// failed fields and the timeouts are what one pass gives.
#[test]
fn two_halves_give_what_one_pass_gives() {
    let mut text = String::from("name='x'\ndescription='d'\n");
    for p in 0..7 {
        text += &format!("[[phase]]\nid='p{p}'\n");
        text += &format!("[[phase.step]]\nid='a{p}'\naction='run'\ncommand='${{py}} ${{nope{p}}}'\ntimeout='{p}s'\n");
        text += &format!("[[phase.step]]\nid='b{p}'\naction='suite'\ncommand='${{py}}'\nrecord='r{p}'\nruns='${{n}}'\nmax_time='${{t}}'\n");
        text += &format!("[[phase.gate]]\ncheck='r{p}.failed == ${{g{p}}}'\n");
    }
    let p: Plan = toml::from_str(&text).unwrap();
    let v = vars(&[("py", "python3"), ("n", "3"), ("t", "1m"), ("g2", "0")]);
    let (one, two) = (interpolate_in(&p, &v, false), interpolate_in(&p, &v, true));
    let shown = |out: &Interpolated| {
        let problems: Vec<_> = (out.problems.iter())
            .map(|p| (p.diag.message.clone(), p.loc.clone()))
            .collect();
        let mut failed: Vec<String> = out.failed.iter().map(|f| format!("{f:?}")).collect();
        failed.sort();
        let plan = serde_json::to_value(&out.plan).unwrap();
        (
            problems,
            failed,
            out.timeouts.clone(),
            out.max_times.clone(),
            plan,
        )
    };
    assert_eq!(
        one.problems.len(),
        14,
        "7 unknown `nope`s, 6 unknown gate variables and a timeout of 0s"
    );
    assert_eq!(shown(&one), shown(&two));
}

#[test]
fn every_string_field_is_interpolated_and_ints_resolved() {
    let p = plan(
        "action='suite'\ncommand='${py} -m pytest'\nrecord='r'\nruns='${n}'\nenv={A='${n}'}\n",
    );
    let out = interpolate_plan(&p, &vars(&[("py", "python3"), ("n", "5")]));
    assert!(out.problems.is_empty());
    let Step::Suite(s) = &out.plan.phases[0].steps[0] else {
        panic!()
    };
    assert_eq!(s.command, "python3 -m pytest");
    assert_eq!(s.runs, Some(IntOrVar::Int(5)));
    assert_eq!(s.env["A"], "5");
}

#[test]
fn unknown_variables_and_non_integers_are_problems() {
    let p = plan("action='suite'\ncommand='${pi} x'\nrecord='r'\nruns='${n}'\nwarmup='${m}'\n");
    let out = interpolate_plan(&p, &vars(&[("py", "python3"), ("n", "many")]));
    let msgs: Vec<String> = out
        .problems
        .iter()
        .map(|p| p.diag.message.clone())
        .collect();
    assert_eq!(
        msgs,
        [
            "unknown variable `pi` in step `s`",
            "unknown variable `m` in step `s`",
            "`runs` in step `s` must be a whole number of at least 1, but `${n}` is `many`",
        ]
    );
    assert_eq!(
        out.problems[0].diag.help.as_deref(),
        Some("did you mean `py`?")
    );
    assert_eq!(
        out.problems[0].loc,
        Loc::in_string(
            crate::plan::locate::at!["phase", 0, "step", 0, "command"],
            0..5
        )
    );
}
