//! Property over the whole plan model: a plan whose every string field is arbitrary Unicode
//! never panics planrun on the way from the file to a dry run (load, validate, render the
//! diagnostics, resolve, prepare against a target, preview); it is accepted or refused.
//!
//! Each field draws either from a small pool of values that pass validation (so that later
//! stages are reached at all) or from arbitrary text: printable Unicode, any `char` at all
//! (control characters included), or pieces of `${...}` placeholders mixed with Unicode.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use toml::{Table, Value};

use crate::exec::{dryrun, setup::Prepared};
use crate::plan;

/// Arbitrary text: what a plan author could type into any string field.
fn text() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        Just("${".to_string()),
        Just("}".to_string()),
        Just("$".to_string()),
        select(vec!["${target}", "${plan_dir}", "${a}", "${runs}", "${é}"]).prop_map(String::from),
        // A header line inside a string: where `load` cuts a plan into phases, it must not.
        Just("\n[[phase]]\nid = 'p'\n".to_string()),
        "\\PC{0,4}",
    ];
    prop_oneof![
        4 => "\\PC{0,12}",
        1 => any::<String>(),
        2 => prop::collection::vec(piece, 0..5).prop_map(|p| p.concat()),
    ]
    .boxed()
}

/// One of `pool` (values that pass validation), or arbitrary text.
fn mixed(pool: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![3 => select(pool).prop_map(String::from), 1 => text()].boxed()
}

fn id() -> BoxedStrategy<String> {
    mixed(&["a", "b", "c", "s", "t"])
}

fn path() -> BoxedStrategy<String> {
    mixed(&[
        "pytest.ini",
        "pyproject.toml",
        "setup.cfg",
        "tox.ini",
        "requirements-dev.txt",
        "sub/é.cfg",
        "new.txt",
    ])
}

fn opt(s: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    prop::option::of(s).boxed()
}

fn list(s: BoxedStrategy<String>, max: usize) -> BoxedStrategy<Vec<String>> {
    prop::collection::vec(s, 0..max).boxed()
}

fn strings(m: Vec<(String, String)>) -> Table {
    m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

fn array(v: Vec<String>) -> Value {
    Value::Array(v.into_iter().map(Value::String).collect())
}

fn map(key: BoxedStrategy<String>) -> BoxedStrategy<Vec<(String, String)>> {
    prop::collection::vec((key, text()), 0..3).boxed()
}

/// A TOML value for a `toml` step's `set`/`append`: text, or a number, a bool, a list of text.
fn toml_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => text().prop_map(Value::String),
        1 => any::<i32>().prop_map(|n| Value::Integer(n.into())),
        1 => any::<bool>().prop_map(Value::Boolean),
        1 => list(text(), 3).prop_map(array),
    ]
    .boxed()
}

/// `runs` or `warmup`: an integer, a `${var}` string, or any text.
fn count() -> BoxedStrategy<Value> {
    prop_oneof![
        (0i64..4).prop_map(Value::Integer),
        mixed(&["${runs}", "2"]).prop_map(Value::String),
    ]
    .boxed()
}

/// The fields every action has, then the action's own.
fn step() -> BoxedStrategy<Table> {
    let common = (
        id(),
        list(id(), 3),
        opt(mixed(&["1s", "90s", "5m", "1h 2m"])),
        map(mixed(&["PYTHONHASHSEED", "X"])),
    );
    let action = prop_oneof![
        (text(), opt(text()), list(path(), 3)).prop_map(|(command, undo, changes)| {
            let mut t = Table::new();
            t.insert("action".into(), "run".into());
            t.insert("command".into(), command.into());
            if let Some(undo) = undo {
                t.insert("undo".into(), undo.into());
            }
            t.insert("changes".into(), array(changes));
            t
        }),
        (
            list(mixed(&["six==1.16.0", "pytest-xdist>=3.5", "a[b]==1"]), 3),
            opt(mixed(&[".venv/bin/python", "${python}", "env/bin/python"])),
            opt(text()),
            select(vec!["auto", "uv", "pip"]),
            opt(mixed(&["auto", "requirements-dev.txt", "pyproject.toml"])),
            opt(mixed(&["dev", "test"])),
            any::<bool>(),
        )
            .prop_map(
                |(packages, python, base, installer, record_in, group, extra)| {
                    let mut t = Table::new();
                    t.insert("action".into(), "install".into());
                    t.insert("packages".into(), array(packages));
                    for (k, v) in [
                        ("python", python),
                        ("base_python", base),
                        ("record_in", record_in),
                        ("group", group),
                    ] {
                        if let Some(v) = v {
                            t.insert(k.into(), v.into());
                        }
                    }
                    t.insert("installer".into(), installer.into());
                    t.insert("extra".into(), extra.into());
                    t
                }
            ),
        (mixed(&["t.txt"]), path(), opt(mixed(&["0644", "0755"]))).prop_map(
            |(template, path, mode)| {
                let mut t = Table::new();
                t.insert("action".into(), "write".into());
                t.insert("template".into(), template.into());
                t.insert("path".into(), path.into());
                if let Some(mode) = mode {
                    t.insert("mode".into(), mode.into());
                }
                t
            }
        ),
        (
            path(),
            mixed(&["-q", "addopts", "é"]),
            text(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(path, pattern, replacement, regex, first_only)| {
                let mut t = Table::new();
                t.insert("action".into(), "replace".into());
                t.insert("path".into(), path.into());
                t.insert("pattern".into(), pattern.into());
                t.insert("replacement".into(), replacement.into());
                t.insert("regex".into(), regex.into());
                t.insert("first_only".into(), first_only.into());
                t
            }),
        (
            path(),
            mixed(&["pytest", "tool:pytest", "metadata"]),
            map(mixed(&["addopts", "version"])),
            list(mixed(&["addopts", "x"]), 3),
            prop::collection::vec((mixed(&["addopts", "markers"]), list(text(), 3)), 0..3),
            prop::collection::vec((mixed(&["addopts"]), list(text(), 3)), 0..2),
        )
            .prop_map(|(path, section, set, unset, append, remove)| {
                let mut t = Table::new();
                t.insert("action".into(), "ini".into());
                t.insert("path".into(), path.into());
                t.insert("section".into(), section.into());
                t.insert("set".into(), Value::Table(strings(set)));
                t.insert("unset".into(), array(unset));
                let lists = |m: Vec<(String, Vec<String>)>| {
                    Value::Table(m.into_iter().map(|(k, v)| (k, array(v))).collect())
                };
                t.insert("append".into(), lists(append));
                t.insert("remove".into(), lists(remove));
                t
            }),
        (
            path(),
            mixed(&["tool.pytest.ini_options", "tool.black", "project"]),
            prop::collection::vec((mixed(&["addopts", "line-length"]), toml_value()), 0..3),
            list(mixed(&["addopts"]), 2),
            prop::collection::vec(
                (
                    mixed(&["markers", "testpaths"]),
                    prop::collection::vec(toml_value(), 0..3)
                ),
                0..2
            ),
            prop::collection::vec(
                (
                    mixed(&["markers"]),
                    prop::collection::vec(toml_value(), 0..3)
                ),
                0..2
            ),
        )
            .prop_map(|(path, table, set, unset, append, remove)| {
                let mut t = Table::new();
                t.insert("action".into(), "toml".into());
                t.insert("path".into(), path.into());
                t.insert("table".into(), table.into());
                t.insert("set".into(), Value::Table(set.into_iter().collect()));
                t.insert("unset".into(), array(unset));
                let lists = |m: Vec<(String, Vec<Value>)>| {
                    Value::Table(m.into_iter().map(|(k, v)| (k, Value::Array(v))).collect())
                };
                t.insert("append".into(), lists(append));
                t.insert("remove".into(), lists(remove));
                t
            }),
        (
            list(
                mixed(&["-n auto", "--dist worksteal", "-p no:cacheprovider", "-é"]),
                3
            ),
            list(mixed(&["-n", "-q", "-é"]), 3),
            map(mixed(&["testpaths", "xfail_strict"])),
            list(mixed(&["slow: takes long", "db"]), 3),
        )
            .prop_map(|(add, remove, set, markers)| {
                let mut t = Table::new();
                t.insert("action".into(), "pytest-config".into());
                t.insert("addopts_add".into(), array(add));
                t.insert("addopts_remove".into(), array(remove));
                t.insert("set".into(), Value::Table(strings(set)));
                t.insert("markers_add".into(), array(markers));
                t
            }),
        (
            text(),
            mixed(&["baseline", "after"]),
            prop::option::of(count()),
            prop::option::of(count()),
            select(vec!["pytest", "command"]),
            any::<bool>(),
        )
            .prop_map(|(command, record, runs, warmup, framework, baseline)| {
                let mut t = Table::new();
                t.insert("action".into(), "suite".into());
                t.insert("command".into(), command.into());
                t.insert("record".into(), record.into());
                for (k, v) in [("runs", runs), ("warmup", warmup)] {
                    if let Some(v) = v {
                        t.insert(k.into(), v);
                    }
                }
                t.insert("framework".into(), framework.into());
                t.insert("baseline".into(), baseline.into());
                t
            }),
    ];
    (common, action)
        .prop_map(|((id, needs, timeout, env), mut t)| {
            t.insert("id".into(), id.into());
            t.insert("needs".into(), array(needs));
            if let Some(timeout) = timeout {
                t.insert("timeout".into(), timeout.into());
            }
            t.insert("env".into(), Value::Table(strings(env)));
            t
        })
        .boxed()
}

/// A gate nested or chained thousands deep (parentheses, `not`, unary `-`, a long sum), which
/// must be refused with an error rather than overflow the stack.
fn deep_check() -> BoxedStrategy<String> {
    let kinds = select(vec!["paren", "not", "neg", "chain", "unclosed"]);
    (kinds, 0usize..6000)
        .prop_map(|(kind, n)| match kind {
            "paren" => format!("{}after.failed == 0{}", "(".repeat(n), ")".repeat(n)),
            "not" => format!("{}after.failed == 0", "not ".repeat(n)),
            "neg" => format!("{}after.failed < 1", "-".repeat(n)),
            "chain" => format!("after.failed{} == 0", " + 1".repeat(n)),
            _ => format!("{}after.failed == 0", "(".repeat(n)),
        })
        .boxed()
}

fn gate() -> BoxedStrategy<Table> {
    let check = prop_oneof![
        3 => mixed(&[
            "baseline.tests >= 0",
            "after.wall.median <= baseline.wall.median * 0.9",
            "after.failed == 0 and after.passed == baseline.passed",
            "after.é > 1",
        ]),
        1 => deep_check(),
    ];
    (check, opt(text()), select(vec!["rollback", "warn"]))
        .prop_map(|(check, why, on_fail)| {
            let mut t = Table::new();
            t.insert("check".into(), check.into());
            if let Some(why) = why {
                t.insert("why".into(), why.into());
            }
            t.insert("on_fail".into(), on_fail.into());
            t
        })
        .boxed()
}

fn phase() -> BoxedStrategy<Table> {
    (
        mixed(&["p", "q"]),
        opt(text()),
        list(mixed(&["p", "q"]), 2),
        prop::collection::vec(step(), 0..4),
        prop::collection::vec(gate(), 0..2),
    )
        .prop_map(|(id, title, needs, steps, gates)| {
            let mut t = Table::new();
            t.insert("id".into(), id.into());
            if let Some(title) = title {
                t.insert("title".into(), title.into());
            }
            t.insert("needs".into(), array(needs));
            let tables = |v: Vec<Table>| Value::Array(v.into_iter().map(Value::Table).collect());
            t.insert("step".into(), tables(steps));
            t.insert("gate".into(), tables(gates));
            t
        })
        .boxed()
}

/// A `[vars]` entry: plain text, or the table form, secret or not.
fn var_def() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => text().prop_map(Value::String),
        1 => (text(), any::<bool>()).prop_map(|(value, secret)| {
            let mut t = Table::new();
            t.insert("value".into(), value.into());
            t.insert("secret".into(), secret.into());
            Value::Table(t)
        }),
    ]
    .boxed()
}

/// A whole plan as TOML text.
fn plan_text() -> BoxedStrategy<String> {
    (
        text(),
        text(),
        opt(text()),
        prop::collection::vec(
            (mixed(&["a", "runs", "python", "api_key"]), var_def()),
            0..4,
        ),
        prop::collection::vec(phase(), 0..3),
    )
        .prop_filter_map(
            "TOML cannot say it",
            |(name, description, target, vars, phases)| {
                let mut t = Table::new();
                t.insert("name".into(), name.into());
                t.insert("description".into(), description.into());
                if let Some(target) = target {
                    t.insert("default_target".into(), target.into());
                }
                t.insert("vars".into(), Value::Table(vars.into_iter().collect()));
                t.insert(
                    "phase".into(),
                    Value::Array(phases.into_iter().map(Value::Table).collect()),
                );
                toml::to_string(&t).ok()
            },
        )
        .boxed()
}

/// A target with each pytest configuration file, and a plan directory with a template.
struct Ground {
    target: tempfile::TempDir,
    plans: tempfile::TempDir,
}

impl Ground {
    fn new() -> Ground {
        let target = tempfile::tempdir().unwrap();
        let files = [
            ("pytest.ini", "[pytest]\naddopts = -q -p no:cacheprovider\n"),
            (
                "pyproject.toml",
                "[project]\nname = \"demo\"\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n",
            ),
            (
                "setup.cfg",
                "[metadata]\nname = demo\n\n[tool:pytest]\naddopts = -x\n",
            ),
            ("tox.ini", "[tox]\nenvlist = py3\n"),
            ("requirements-dev.txt", "pytest>=8\n"),
            ("sub/é.cfg", "[pytest]\n"),
        ];
        for (rel, text) in files {
            let path = target.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let plans = tempfile::tempdir().unwrap();
        std::fs::write(plans.path().join("t.txt"), "x = '${a}' # é\n").unwrap();
        Ground { target, plans }
    }

    /// Takes the plan from the file to a dry-run preview, as `validate` and `apply --dry-run`
    /// do; every error is rendered, as they would be.
    fn run(&self, text: &str, overrides: &[(String, String)]) {
        let path = self.plans.path().join("plan.toml");
        std::fs::write(&path, text).unwrap();
        let valid = match plan::load(&path).and_then(|l| plan::validate(l, overrides)) {
            Ok(valid) => valid,
            Err(d) => {
                d.styled().text();
                crate::ui::render(&d.styled(), true);
                return;
            }
        };
        valid.summary();
        let target = self.target.path().canonicalize().unwrap();
        let builtins = BTreeMap::from([
            ("target".to_string(), target.display().to_string()),
            (
                "plan_dir".to_string(),
                self.plans.path().display().to_string(),
            ),
        ]);
        if let Err(d) = valid.resolve(&builtins) {
            d.styled().text();
            return;
        }
        // Validated and resolved: what is left to refuse (paths that leave the target) is
        // printed by `Prepared::new` itself.
        if let Ok(prep) = Prepared::new(&path, Some(&target), overrides) {
            if let Ok(preview) = dryrun::preview(&prep, &Default::default()) {
                let _ = crate::sinks::preview::text(&preview, true, &prep.secrets);
            }
        }
        // Prepared::new makes its secrets the process's; other tests must not see them.
        crate::secrets::install(&crate::secrets::Secrets::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_unicode_in_any_field_never_panics(
        text in plan_text(),
        overrides in prop::collection::vec((mixed(&["a", "runs", "python"]), text()), 0..3),
    ) {
        thread_local! {
            static GROUND: Ground = Ground::new();
        }
        GROUND.with(|g| g.run(&text, &overrides));
    }
}

/// The generator reaches the dry run: most fields from the pools give a plan that previews.
#[test]
fn the_pools_alone_make_a_plan_that_previews() {
    let ground = Ground::new();
    let text = "name = 'é'\ndescription = 'ü'\n[vars]\na = '1'\n[[phase]]\nid = 'p'\n\
                [[phase.step]]\nid = 'a'\naction = 'pytest-config'\naddopts_add = ['-é']\n\
                [[phase.step]]\nid = 'b'\naction = 'write'\ntemplate = 't.txt'\npath = 'sub/é.cfg'\n";
    let path = ground.plans.path().join("plan.toml");
    std::fs::write(&path, text).unwrap();
    let prep = Prepared::new(&path, Some(ground.target.path()), &[]).unwrap();
    let preview = dryrun::preview(&prep, &Default::default()).unwrap();
    assert_eq!(preview.files, 2, "{:?}", preview.blocks);
}

/// Any value a plan author could put under a key: the kinds TOML has, in and out of range.
fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => text().prop_map(Value::String),
        1 => select(vec!["run", "suite", "5s", "auto", "${runs}", "2"]).prop_map(|s| Value::String(s.into())),
        2 => prop_oneof![Just(-1i64), Just(0), Just(3), Just(1 << 33), any::<i64>()].prop_map(Value::Integer),
        1 => any::<bool>().prop_map(Value::Boolean),
        1 => prop_oneof![Just(0.5f64), Just(-2.0), Just(1e300)].prop_map(Value::Float),
        1 => list(text(), 3).prop_map(array),
        1 => map(id()).prop_map(|m| Value::Table(strings(m))),
        1 => Just(Value::Array(vec![Value::Integer(1), Value::Boolean(true)])),
    ]
    .boxed()
}

/// The table under `key`, or the first of the array of tables there.
fn first_table<'t>(t: &'t mut Table, key: &str) -> Option<&'t mut Table> {
    match t.get_mut(key)? {
        Value::Array(items) => items.first_mut()?.as_table_mut(),
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// A generated plan with one key set to any value in one of its tables (the top, `[vars]`, the
/// first phase, its first step or gate): unknown keys, wrong types, out-of-range numbers.
fn mutated_plan() -> BoxedStrategy<String> {
    let keys = &[
        "name", "id", "needs", "action", "command", "timeout", "runs", "warmup", "env", "check",
        "record", "path", "mode", "phase", "step", "gate", "vars", "on_fail", "secret", "value",
        "unknown", "é",
    ];
    (plan_text(), 0usize..5, select(keys.to_vec()), any_value())
        .prop_filter_map("a plan that parses back", |(text, at, key, value)| {
            let mut plan: Table = toml::from_str(&text).ok()?;
            let table: &mut Table = match at {
                0 => &mut plan,
                1 => plan
                    .entry("vars")
                    .or_insert(Value::Table(Table::new()))
                    .as_table_mut()?,
                2 => first_table(&mut plan, "phase")?,
                3 => first_table(first_table(&mut plan, "phase")?, "step")?,
                _ => first_table(first_table(&mut plan, "phase")?, "gate")?,
            };
            table.insert(key.to_string(), value);
            toml::to_string(&plan).ok()
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// `load` deserializes first and runs the strict pass only when serde refuses: that is
    /// sound only if a plan serde takes is one the strict pass takes too, as the same model.
    #[test]
    fn serde_first_accepts_exactly_what_the_strict_pass_accepts(text in mutated_plan()) {
        let source = plan::diag::Source::new("plan.toml", text.clone());
        let fast = super::load::parse(&source);
        let strict = super::load::parse_strictly(&source);
        let json = |p: &plan::model::Plan| serde_json::to_value(p).unwrap();
        match (&fast, &strict) {
            (Ok(a), Ok(b)) => prop_assert_eq!(json(a), json(b)),
            (Err(a), Err(b)) => prop_assert_eq!(a.styled(), b.styled()),
            _ => prop_assert!(false, "fast {} strict {} for\n{}", fast.is_ok(), strict.is_ok(), text),
        }
    }
}
