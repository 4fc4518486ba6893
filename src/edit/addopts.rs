//! pytest `addopts` as options with their values: adding a present option replaces its value in
//! place, removing an option drops its value too, and both are idempotent.

use super::list::ListValue;

/// Short options whose letter takes a value (`-n auto`, `-nauto`, `-p no:cacheprovider`).
const SHORT_WITH_VALUE: &[char] = &['n', 'p', 'k', 'm', 'r', 'W', 'o', 'c'];

/// Long options known to take a value, so `--dist load` is read as one option even in removal.
const LONG_WITH_VALUE: &[&str] = &[
    "--dist",
    "--maxprocesses",
    "--numprocesses",
    "--tx",
    "--tb",
    "--junitxml",
    "--junit-xml",
    "--cov",
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--durations",
    "--durations-min",
    "--reruns",
    "--reruns-delay",
    "--timeout",
    "--maxfail",
    "--import-mode",
    "--basetemp",
    "--rootdir",
    "--ignore",
    "--ignore-glob",
    "--deselect",
    "--log-level",
    "--log-cli-level",
    "--color",
    "--capture",
    "--confcutdir",
    "--override-ini",
    "--randomly-seed",
    "--splits",
    "--group",
];

/// Options that may appear several times with different values (`-p a -p b`): adding one keeps
/// the others, and removing one with a value removes only that pair.
const REPEATABLE: &[&str] = &[
    "-p",
    "-W",
    "-o",
    "--override-ini",
    "--ignore",
    "--ignore-glob",
    "--deselect",
    "--cov",
    "--cov-report",
];

/// Splits like Python's `shlex.split` (which pytest applies to `addopts`), but keeps each word's
/// raw text, quotes included, so rewriting never changes a word that was not edited.
pub fn split_shell(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('"') | None, '\\') => escaped = true,
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            _ => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// One requested option: its name (or a positional word) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opt {
    name: String,
    value: Option<String>,
    /// The words as requested, appended as they are when the option is new.
    words: Vec<String>,
}

fn takes_value(name: &str) -> bool {
    match name.strip_prefix("--") {
        Some(_) => LONG_WITH_VALUE.contains(&name),
        None => short_letter(name).is_some_and(|c| SHORT_WITH_VALUE.contains(&c)),
    }
}

fn short_letter(word: &str) -> Option<char> {
    let rest = word.strip_prefix('-').filter(|r| !r.starts_with('-'))?;
    rest.chars().next()
}

/// `-n4` as (`-n`, `4`) when `-n` takes a value; split after the letter, whatever its width in
/// bytes (`-é…` must not slice through a character).
fn short_with_value(word: &str) -> Option<(&str, &str)> {
    let letter = short_letter(word)?;
    let at = 1 + letter.len_utf8();
    let (flag, value) = (word.get(..at)?, word.get(at..)?);
    (!value.is_empty() && takes_value(flag)).then_some((flag, value))
}

fn is_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// Reads a requested list (`["-n", "auto", "--dist=load", "-x"]`, words may hold spaces) into
/// options. A word after an option is its value unless the option is a known flag.
fn parse_request(request: &[String]) -> Vec<Opt> {
    let words: Vec<String> = request.iter().flat_map(|r| split_shell(r)).collect();
    let mut opts = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let (name, value, used) =
            if let Some((name, value)) = word.split_once('=').filter(|_| word.starts_with("--")) {
                (name.to_string(), Some(value.to_string()), 1)
            } else if let Some((flag, value)) = short_with_value(word) {
                (flag.to_string(), Some(value.to_string()), 1)
            } else if is_option(word)
                && !is_flag(word)
                && words.get(i + 1).is_some_and(|n| !is_option(n))
            {
                (word.clone(), Some(words[i + 1].clone()), 2)
            } else {
                (word.clone(), None, 1)
            };
        opts.push(Opt {
            name,
            value,
            words: words[i..i + used].to_vec(),
        });
        i += used;
    }
    opts
}

/// Options known to take no value, so a following word stays a separate (positional) word.
fn is_flag(word: &str) -> bool {
    const LONG_FLAGS: &[&str] = &[
        "--strict-markers",
        "--strict-config",
        "--strict",
        "--lf",
        "--ff",
        "--nf",
        "--sw",
        "--exitfirst",
        "--showlocals",
        "--no-header",
        "--no-summary",
        "--verbose",
        "--quiet",
        "--pyargs",
        "--doctest-modules",
        "--last-failed",
        "--failed-first",
        "--new-first",
        "--stepwise",
        "--cov-branch",
        "--looponfail",
        "--runxfail",
    ];
    match word.strip_prefix("--") {
        Some(_) => LONG_FLAGS.contains(&word),
        None => word.len() == 2 && !takes_value(word),
    }
}

/// Where an option occurs in the list: its word, and its value's word when separate.
struct Found {
    at: usize,
    value: Option<String>,
    /// The value is inside the option word (`--dist=load`, `-nauto`).
    attached: bool,
}

fn find_all(list: &ListValue, name: &str, with_value: bool) -> Vec<Found> {
    let texts = list.texts();
    let long = name.starts_with("--");
    let mut found = Vec::new();
    for (at, word) in texts.iter().enumerate() {
        if *word == name {
            let next = texts.get(at + 1).filter(|n| with_value && !is_option(n));
            found.push(Found {
                at,
                value: next.map(|n| n.to_string()),
                attached: false,
            });
        } else if let Some(rest) = word.strip_prefix(name) {
            let attached = if long {
                rest.strip_prefix('=')
            } else {
                Some(rest).filter(|_| with_value && is_option(name))
            };
            if let Some(value) = attached.filter(|v| !v.is_empty() || long) {
                found.push(Found {
                    at,
                    value: Some(value.to_string()),
                    attached: true,
                });
            }
        }
    }
    found
}

/// Removes `remove` then adds `add` (both as a plan writes them) in an `addopts` list.
/// An option both removed and added is only added: removing it first would move it to the end.
pub fn apply(list: &mut ListValue, add: &[String], remove: &[String]) {
    let add = parse_request(add);
    let also_added = |r: &Opt| {
        add.iter().any(|a| {
            a.name == r.name
                && (!REPEATABLE.contains(&r.name.as_str())
                    || r.value.is_none()
                    || a.value == r.value)
        })
    };
    for opt in parse_request(remove).iter().filter(|r| !also_added(r)) {
        remove_opt(list, opt);
    }
    for opt in add {
        add_opt(list, &opt);
    }
}

fn remove_opt(list: &mut ListValue, opt: &Opt) {
    let with_value = opt.value.is_some() || takes_value(&opt.name);
    let only = opt
        .value
        .as_ref()
        .filter(|_| REPEATABLE.contains(&opt.name.as_str()));
    let found = find_all(list, &opt.name, with_value);
    for f in found.iter().rev() {
        if only.is_some_and(|v| f.value.as_ref() != Some(v)) {
            continue;
        }
        let end = if !f.attached && f.value.is_some() {
            f.at + 2
        } else {
            f.at + 1
        };
        list.items.drain(f.at..end);
    }
}

fn add_opt(list: &mut ListValue, opt: &Opt) {
    let Some(value) = &opt.value else {
        if find_all(list, &opt.name, false).is_empty() {
            list.push_group(opt.words.clone());
        }
        return;
    };
    let found = find_all(list, &opt.name, true);
    if REPEATABLE.contains(&opt.name.as_str()) {
        if !found.iter().any(|f| f.value.as_ref() == Some(value)) {
            list.push_group(opt.words.clone());
        }
        return;
    }
    if found.is_empty() {
        list.push_group(opt.words.clone());
    }
    for f in found.iter().rev() {
        match (f.attached, &f.value) {
            (true, _) => {
                let eq = if opt.name.starts_with("--") { "=" } else { "" };
                list.items[f.at].text = format!("{}{eq}{value}", opt.name);
            }
            (false, Some(_)) => list.items[f.at + 1].text = value.clone(),
            (false, None) => list.insert_after(f.at, value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(addopts: &str, add: &[&str], remove: &[&str]) -> String {
        let mut list = ListValue::from_lines(vec![Some(split_shell(addopts))]);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        apply(&mut list, &s(add), &s(remove));
        list.texts().join(" ")
    }

    #[test]
    fn shell_words_keep_their_quotes() {
        assert_eq!(
            split_shell(r#"-k "not slow" -m 'a or b' x\ y"#),
            [r#"-k"#, r#""not slow""#, "-m", "'a or b'", r"x\ y"]
        );
    }

    #[test]
    fn adding_a_present_option_replaces_its_value_in_place() {
        assert_eq!(run("-ra -n 4 -q", &["-n", "auto"], &[]), "-ra -n auto -q");
        assert_eq!(
            run("-nauto --dist=load", &["-n 8", "--dist", "worksteal"], &[]),
            "-n8 --dist=worksteal"
        );
        assert_eq!(
            run("--maxprocesses=2", &["--maxprocesses=4"], &[]),
            "--maxprocesses=4"
        );
        assert_eq!(
            run("-q", &["-n", "auto", "--dist", "worksteal"], &[]),
            "-q -n auto --dist worksteal"
        );
        assert_eq!(run("-n -q", &["-n", "auto"], &[]), "-n auto -q");
    }

    #[test]
    fn flags_and_repeatable_options_are_kept_once() {
        assert_eq!(run("-q -x", &["-x", "-q"], &[]), "-q -x");
        assert_eq!(
            run("-p no:cacheprovider", &["-p", "xdist"], &[]),
            "-p no:cacheprovider -p xdist"
        );
        assert_eq!(
            run("-p no:cacheprovider", &["-p no:cacheprovider"], &[]),
            "-p no:cacheprovider"
        );
        assert_eq!(run("-v", &["-v", "tests"], &[]), "-v tests");
    }

    #[test]
    fn removing_drops_the_option_and_its_value() {
        assert_eq!(
            run("-ra -n 4 --dist=load -q", &[], &["-n", "--dist"]),
            "-ra -q"
        );
        assert_eq!(run("-nauto -q", &[], &["-n"]), "-q");
        assert_eq!(run("-p a -p b -p c", &[], &["-p b"]), "-p a -p c");
        assert_eq!(run("-p a -p b", &[], &["-p"]), "");
        assert_eq!(run("-ra -x", &[], &["-r"]), "-x");
    }

    #[test]
    fn a_short_option_with_a_wide_letter_is_not_sliced_through() {
        assert_eq!(run("-q", &["-é"], &[]), "-q -é");
        assert_eq!(run("-éx", &["-n4"], &["-é"]), "-éx -n4");
    }

    proptest! {
        /// Any text at all, in the ini value and in the plan's lists, never panics.
        #[test]
        fn arbitrary_unicode_never_panics(
            addopts in "\\PC{0,40}",
            add in prop::collection::vec("\\PC{0,12}", 0..4),
            remove in prop::collection::vec("\\PC{0,12}", 0..3),
        ) {
            let add: Vec<&str> = add.iter().map(String::as_str).collect();
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            run(&addopts, &add, &remove);
        }

        #[test]
        fn applying_twice_equals_applying_once(
            addopts in prop::collection::vec(prop_oneof![Just("-n"), Just("4"), Just("-nauto"), Just("--dist=load"), Just("--dist"), Just("-q"), Just("-p"), Just("x"), Just("-x")], 0..8),
            add in prop::collection::vec(prop_oneof![Just("-n auto"), Just("--dist worksteal"), Just("-q"), Just("-p y"), Just("--dist=load"), Just("-x")], 0..4),
            remove in prop::collection::vec(prop_oneof![Just("-n"), Just("--dist"), Just("-p y"), Just("-q")], 0..3),
        ) {
            let add: Vec<&str> = add.to_vec();
            let once = run(&addopts.join(" "), &add, &remove);
            prop_assert_eq!(run(&once, &add, &remove), once);
        }
    }
}
