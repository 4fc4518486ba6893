//! Unit tests of the loader: one per kind of structural diagnostic, plus the no-panic properties.

use super::*;

const HEAD: &str = "name = 'x'\ndescription = 'd'\n";

fn errors(text: &str) -> Vec<(String, usize, usize, Option<String>)> {
    let err = load_bytes(Path::new("p.toml"), text.as_bytes()).unwrap_err();
    err.iter()
        .map(|d| {
            let (l, c) = d.line_col().unwrap_or((0, 0));
            (d.message.clone(), l, c, d.help.clone())
        })
        .collect()
}

#[test]
fn a_good_plan_loads() {
    let text = format!(
        "{HEAD}[[phase]]\nid = 'p'\n[[phase.step]]\nid = 's'\naction = 'run'\ncommand = 'true'\n"
    );
    let plan = load_bytes(Path::new("dir/p.toml"), text.as_bytes()).unwrap();
    assert_eq!(plan.plan.phases[0].steps[0].id(), "s");
    assert!(plan.dir.is_absolute() && plan.dir.ends_with("dir"));
}

#[test]
fn unknown_step_key_points_at_the_key_with_a_suggestion() {
    let text = format!("{HEAD}[[phase]]\nid = 'p'\n[[phase.step]]\nid = 'measure'\naction = 'run'\ncommand = 'true'\nneed = ['deps']\n");
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "unknown field `need` in step `measure`");
    assert_eq!((e[0].1, e[0].2), (9, 1));
    assert_eq!(e[0].3.as_deref(), Some("did you mean `needs`?"));
}

#[test]
fn unknown_keys_everywhere_are_all_reported() {
    let text = "nam = 'x'\ndescription = 'd'\n[[phase]]\nid = 'p'\ntitel = 't'\n[[phase.gate]]\ncheck = 'a'\nwhy_ = 'w'\n";
    let e = errors(text);
    let msgs: Vec<&str> = e.iter().map(|e| e.0.as_str()).collect();
    assert!(
        msgs.contains(&"unknown field `nam` at the top level"),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"unknown field `titel` in phase `p`"),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"unknown field `why_` in gate 1 of phase `p`"),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"missing field `name` at the top level"),
        "{msgs:?}"
    );
    let titel = e.iter().find(|e| e.0.contains("titel")).unwrap();
    assert_eq!(
        (titel.1, titel.2, titel.3.as_deref()),
        (5, 1, Some("did you mean `title`?"))
    );
}

#[test]
fn unknown_action_gets_a_suggestion() {
    let text = format!("{HEAD}[[phase]]\nid = 'p'\n[[phase.step]]\nid = 's'\naction = 'suit'\n");
    let e = errors(&text);
    assert_eq!(e[0].0, "unknown action `suit` in step `s`");
    assert_eq!((e[0].1, e[0].2), (7, 10));
    assert_eq!(e[0].3.as_deref(), Some("did you mean `suite`?"));
}

#[test]
fn missing_fields_point_at_the_table_header() {
    let text = format!("{HEAD}[[phase]]\nid = 'p'\n[[phase.step]]\nid = 's'\naction = 'suite'\ncommand = 'pytest'\n");
    let e = errors(&text);
    assert_eq!(e[0].0, "missing field `record` in step `s`");
    assert_eq!((e[0].1, e[0].2), (5, 1));
    assert!(
        e[0].3.as_deref().unwrap().starts_with("add `record = ...`"),
        "{e:?}"
    );
}

#[test]
fn missing_action_lists_the_actions() {
    let text = format!("{HEAD}[[phase]]\nid = 'p'\n[[phase.step]]\nid = 's'\n");
    let e = errors(&text);
    assert_eq!(e[0].0, "missing field `action` in step `s`");
    assert!(e[0].3.as_deref().unwrap().contains("`pytest-config`"));
}

#[test]
fn a_var_table_is_checked_key_by_key() {
    let text = format!(
        "{HEAD}[vars]\ntoken = {{ value = 'x', secret = true }}\npw = {{ value = 'y', secert = true }}\nn = {{ secret = true }}\n"
    );
    let e = errors(&text);
    assert_eq!(
        e,
        [
            (
                "unknown field `secert` in `pw` in `vars` at the top level".to_string(),
                5,
                21,
                Some("did you mean `secret`?".to_string())
            ),
            (
                "missing field `value` in `n` in `vars` at the top level".to_string(),
                6,
                5,
                Some("add `value = ...` (the value)".to_string())
            ),
        ]
    );
    let ok = format!("{HEAD}[vars]\ntoken = {{ value = 'x', secret = true }}\npython = 'p'\n");
    let plan = load_bytes(Path::new("p.toml"), ok.as_bytes()).unwrap().plan;
    assert!(plan.vars["token"].marked_secret());
    assert_eq!(plan.vars["token"].value(), "x");
    assert!(!plan.vars["python"].marked_secret());
}

#[test]
fn wrong_types_name_what_was_expected() {
    let text = format!("{HEAD}[vars]\nn = 3\n[[phase]]\nid = 'p'\nneeds = 'q'\n[[phase.step]]\nid = 's'\naction = 'suite'\ncommand = 'c'\nrecord = 'r'\nruns = [1]\nwarmup = -1\n");
    let e = errors(&text);
    let msgs: Vec<&str> = e.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "`n` in `vars` at the top level must be a string or a table, found an integer",
            "`needs` in phase `p` must be an array of strings, found a string",
            "`runs` in step `s` must be a non-negative integer or a string, found an array",
            "`warmup` in step `s` must be a non-negative integer or a string, found an integer",
        ]
    );
    assert_eq!((e[2].1, e[2].2), (13, 8));
}

#[test]
fn enum_values_are_checked() {
    let text =
        format!("{HEAD}[[phase]]\nid = 'p'\n[[phase.gate]]\ncheck = 'x'\non_fail = 'wran'\n");
    let e = errors(&text);
    assert_eq!(
        e[0].0,
        "unknown value `wran` for `on_fail` in gate 1 of phase `p`"
    );
    assert_eq!(e[0].3.as_deref(), Some("did you mean `warn`?"));
}

#[test]
fn syntax_errors_have_a_place() {
    let e = errors("name = 'x'\ndescription = \n[[phase]\n");
    assert!(e[0].0.starts_with("invalid TOML"), "{e:?}");
    assert_eq!(e.iter().map(|e| e.1).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn invalid_utf8_is_a_diagnostic() {
    let err = load_bytes(Path::new("p.toml"), b"name = '\xff'\n").unwrap_err();
    let d = err.iter().next().unwrap();
    assert_eq!(d.message, "the plan is not valid UTF-8");
    assert_eq!(d.line_col(), Some((1, 9)));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep = "[".repeat(100_000);
    let deep_inline = format!("a = {}", "[".repeat(100_000));
    let deep_tables = format!("a = {}", "{b = ".repeat(50_000));
    let huge_array = format!("{HEAD}vars = {{a = [{}]}}\n", "1,".repeat(500_000));
    let big = "# comment line\n".repeat(700_000);
    let dotted = format!("{} = 1\n", vec!["a"; 50_000].join("."));
    for text in [
        "",
        "\0\0\0",
        deep.as_str(),
        &deep_inline,
        &deep_tables,
        &huge_array,
        &big,
        &dotted,
    ] {
        let _ = load_bytes(Path::new("p.toml"), text.as_bytes())
            .map(|_| ())
            .map_err(|e| crate::ui::render(&e.styled(), true));
    }
    let binary: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    assert!(load_bytes(Path::new("p.toml"), &binary).is_err());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn tomlish() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            Just("[[phase]]\n".to_string()),
            Just("[[phase.step]]\n".to_string()),
            Just("[[phase.gate]]\n".to_string()),
            Just("[vars]\n".to_string()),
            "(name|description|id|action|needs|command|record|runs|check|need|path|[a-z]{1,4}) = "
                .prop_map(String::from),
            "'[a-z${}. ]{0,8}'\n".prop_map(String::from),
            "\\PC{0,8}".prop_map(|s| format!("{:?}\n", s)),
            any::<String>().prop_map(|s| format!("'{s}'\n")),
            "\"[a-z\\\\${}]{0,8}\"\n".prop_map(String::from),
            "\\[('[a-z]{0,3}',?){0,3}\\]\n".prop_map(String::from),
            "(-?[0-9]{1,12}|true|1.5|\\{\\}|\\[)\n".prop_map(String::from),
            "(run|suite|write|install)\n".prop_map(|a| format!("'{a}'\n")),
        ];
        proptest::collection::vec(atom, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = load_bytes(Path::new("p.toml"), &bytes).map_err(|e| e.styled().text());
        }

        #[test]
        fn tomlish_text_never_panics(text in tomlish()) {
            if let Err(e) = load_bytes(Path::new("p.toml"), text.as_bytes()) {
                let rendered = e.styled().text();
                prop_assert!(rendered.contains("error:"));
                prop_assert!(e.iter().all(|d| d.help.is_some()), "{}", rendered);
            }
        }
    }
}
