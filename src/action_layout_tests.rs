//! Each action lives in its modules: outside the registry (`plan/compiled`'s
//! `for_each_action`, one line per action, from which the `Step` enum and `exec/action`'s map
//! of a compiled step to what it does are written) and the action modules under `plan/action/` and `exec/action/`, no file of `src/`
//! matches a compiled step by its variant (`Step::Suite(..)`, `matches!(s, Step::Run(_))`); code
//! elsewhere asks the step (`action::of(step).schedule()`, `step.suite()`). Adding an action is
//! then its two modules and a line in the registry, not an arm in every file that cares.
//! Files that read the written model (`plan::model::Step`, the plan language's checks) are its
//! own registry of fields and are left out. Test code is left out too.

use std::path::Path;

/// The files that may name a compiled step's variant.
const REGISTRIES: &[&str] = &["plan/compiled.rs", "exec/action.rs"];

/// The directories holding one module per action.
const ACTION_DIRS: &[&str] = &["plan/action/", "exec/action/"];

/// The variants of the compiled `Step` enum, read from the registry of actions that defines
/// it (`for_each_action`).
fn variants(compiled: &str) -> Vec<String> {
    let start = compiled
        .find("macro_rules! for_each_action {")
        .expect("plan/compiled.rs holds the registry `for_each_action`");
    let body = &compiled[start..];
    let body = &body[..body.find("\n}").expect("the registry ends")];
    let variant = regex::Regex::new(r"(?m)^\s+(\w+)\(").unwrap();
    variant
        .captures_iter(body)
        .map(|c| c[1].to_string())
        .collect()
}

/// The code of a source file without its tests and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the file's bare `Step` is the written model's (it imports `model::Step` or is
/// the model itself).
fn reads_the_model(rel: &str, code: &str) -> bool {
    let import = regex::Regex::new(r"model::(?:\{[^}]*\bStep\b[^}]*\}|Step\b)").unwrap();
    rel == "plan/model.rs" || import.is_match(code)
}

/// The places (`file:line: text`) in `code` that match a compiled step by one of `variants`.
fn variant_matches(rel: &str, code: &str, variants: &[String]) -> Vec<String> {
    if reads_the_model(rel, code) {
        return Vec::new();
    }
    let pattern = format!(r"(?:^|[^:\w]|compiled::)Step::(?:{})\b", variants.join("|"));
    let found = regex::Regex::new(&pattern).unwrap();
    code.lines()
        .enumerate()
        .filter(|(_, line)| found.is_match(line))
        .map(|(i, line)| format!("{rel}:{}: {}", i + 1, line.trim()))
        .collect()
}

/// Whether `rel` may name the variants: a registry or an action module.
fn allowed(rel: &str) -> bool {
    REGISTRIES.contains(&rel) || ACTION_DIRS.iter().any(|d| rel.starts_with(d))
}

/// Every non-test source file of `src/`, by its path relative to `src/`.
fn sources(src: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            if path.extension().is_none_or(|e| e != "rs")
                || name.ends_with("_tests")
                || name == "tests"
            {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn compiled_steps_are_matched_by_variant_only_in_the_registries_and_action_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let compiled = std::fs::read_to_string(src.join("plan/compiled.rs")).unwrap();
    let variants = variants(&compiled);
    assert!(variants.len() >= 10, "{variants:?}");
    let outside: Vec<String> = sources(&src)
        .iter()
        .filter(|(rel, _)| !allowed(rel))
        .flat_map(|(rel, text)| variant_matches(rel, &code(text), &variants))
        .collect();
    assert!(
        outside.is_empty(),
        "files that match a compiled step by its variant (ask the step instead: a method of \
         its action in exec/action/ or plan/action/, or an accessor in plan/compiled.rs):\n{}",
        outside.join("\n")
    );
}

#[test]
fn the_check_sees_a_variant_match_and_tells_the_model_from_the_compiled_step() {
    let variants: Vec<String> = variants(
        "macro_rules! for_each_action {\n    ($callback:ident) => {\n        $callback! {\n            /// A.\n            Run(Run),\n            Suite(Suite),\n        }\n    };\n}\nimpl Step {}\n",
    );
    assert_eq!(variants, ["Run", "Suite"]);
    let compiled = "use crate::plan::compiled::Step;\nfn f(s: &Step) -> bool {\n    matches!(s, Step::Suite(_))\n}\n";
    assert_eq!(
        variant_matches("exec/apply.rs", &code(compiled), &variants),
        ["exec/apply.rs:3: matches!(s, Step::Suite(_))"]
    );
    let model = "use super::model::{Plan, Step};\nfn f(s: &Step) { if let Step::Run(r) = s {} }\n";
    assert!(variant_matches("plan/validate.rs", &code(model), &variants).is_empty());
    let qualified = "fn f(s: &model::Step) { if let model::Step::Run(r) = s {} }\n";
    assert!(variant_matches("exec/x.rs", &code(qualified), &variants).is_empty());
    let commented = "// Step::Run(r) is what it was\n#[cfg(test)]\nfn t() { Step::Suite(s); }\n";
    assert!(variant_matches("exec/x.rs", &code(commented), &variants).is_empty());
    assert!(allowed("exec/action/suite.rs") && allowed("plan/compiled.rs"));
    assert!(!allowed("exec/apply.rs") && !allowed("exec/actions.rs"));
}
