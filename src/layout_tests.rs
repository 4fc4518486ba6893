//! The layout holds: no file of `src/` depends, through a chain of `crate::`/`super::` paths,
//! on a file that depends back on it; no top-level module (`plan`, `graph`, ...) depends on one
//! that depends back on it; the process layer depends on nothing else of planrun; and the pure
//! layers return styled spans instead of printing through `ui`.
//! Test code (`#[cfg(test)]` and below, `*_tests.rs`, `tests.rs`) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every non-test source file of `src/`, by module path (`exec/apply` is `["exec", "apply"]`).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = parts.last().cloned().unwrap_or_default();
            if last.ends_with("_tests") || last == "tests" {
                continue;
            }
            if matches!(last.as_str(), "mod" | "lib" | "main") {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The module paths a source text names, through `use` trees and inline paths.
fn references(text: &str, me: &Module) -> Vec<Module> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let uses = regex::Regex::new(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);").unwrap();
    for cap in uses.captures_iter(&code) {
        expand(
            "",
            &cap[1].split_whitespace().collect::<String>(),
            &mut paths,
        );
    }
    let inline = regex::Regex::new(r"\b(?:crate|super)(?:::\w+)+").unwrap();
    paths.extend(inline.find_iter(&code).map(|m| m.as_str().to_string()));
    paths
        .iter()
        .filter_map(|p| {
            let parts: Vec<&str> = p.split("::").collect();
            let mut base: Module = match parts.first() {
                Some(&"crate") => Vec::new(),
                // `super` of `a/b.rs` and of `a/b/mod.rs` (both module `a::b`) is `a`.
                Some(&"super") => me[..me.len().saturating_sub(1)].to_vec(),
                _ => return None,
            };
            let mut rest = &parts[1..];
            while rest.first() == Some(&"super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(
                rest.iter()
                    .filter(|s| !matches!(**s, "self" | "*" | ""))
                    .map(|s| s.to_string()),
            );
            Some(base)
        })
        .collect()
}

/// Expands a `use` tree such as `crate::a::{b, c::{d, e}}` into its paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let close = tree.rfind('}');
    let Some(open) = tree
        .find('{')
        .filter(|open| close.is_some_and(|c| c > *open))
    else {
        out.push(format!("{prefix}{tree}"));
        return;
    };
    let head = &tree[..open];
    let body = &tree[open + 1..close.unwrap_or(tree.len())];
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{head}"), &body[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < body.len() {
        expand(&format!("{prefix}{head}"), &body[start..], out);
    }
}

/// The file-level dependency graph: module -> modules it names (longest existing prefix).
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges = BTreeMap::new();
    for (module, path) in &mods {
        let text = std::fs::read_to_string(path).unwrap();
        let mut deps = BTreeSet::new();
        for r in references(&text, module) {
            let found = (1..=r.len())
                .rev()
                .map(|n| r[..n].to_vec())
                .find(|prefix| mods.contains_key(prefix));
            if let Some(dep) = found.filter(|d| d != module && !d.is_empty()) {
                deps.insert(dep);
            }
        }
        edges.insert(module.clone(), deps);
    }
    edges
}

/// The groups of two or more files that reach each other.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            for d in edges.get(&m).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Module, BTreeSet<Module>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, r) in &reachable {
        if !r.contains(*m) {
            continue;
        }
        let group: Vec<String> = reachable
            .iter()
            .filter(|(o, ro)| r.contains(**o) && ro.contains(*m))
            .map(|(o, _)| o.join("/"))
            .collect();
        groups.insert(group);
    }
    groups.into_iter().collect()
}

#[test]
fn no_file_level_import_cycles() {
    let found = cycles(&graph());
    assert!(
        found.is_empty(),
        "files that depend on each other (move what they share down into one of them):\n{}",
        found
            .iter()
            .map(|g| format!("  {}", g.join(" <-> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle_and_reads_use_trees() {
    let mut paths = Vec::new();
    expand("", "crate::a::{b,c::{d,e}}", &mut paths);
    assert_eq!(paths, ["crate::a::b", "crate::a::c::d", "crate::a::c::e"]);
    let m = |s: &str| -> Module { s.split('/').map(str::to_string).collect() };
    let edges = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("a")])),
        (m("c"), BTreeSet::from([m("a")])),
    ]);
    assert_eq!(cycles(&edges), [vec!["a".to_string(), "b".to_string()]]);
}

#[test]
fn the_process_layer_depends_on_nothing_else() {
    let edges = graph();
    let outside: Vec<String> = edges
        .iter()
        .filter(|(m, _)| m.first().is_some_and(|f| f == "process"))
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| d.first().is_none_or(|f| f != "process"))
                .map(move |d| format!("{} -> {}", m.join("/"), d.join("/")))
        })
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
}

/// Module-level cycles allowed to exist (none: the fold and the sinks moved out of the
/// executor); the test fails on any other, and on one of these once it is gone (so the list
/// cannot go stale).
const KNOWN_MODULE_CYCLES: &[&[&str]] = &[];

/// The graph of top-level modules (`exec/apply` counts as `exec`); edges inside one are dropped.
fn top_level(edges: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, deps) in edges.iter().filter(|(m, _)| !m.is_empty()) {
        let top = from[..1].to_vec();
        let targets = out.entry(top.clone()).or_default();
        targets.extend(deps.iter().map(|d| d[..1].to_vec()).filter(|d| *d != top));
    }
    out
}

#[test]
fn no_module_level_import_cycles() {
    let found = cycles(&top_level(&graph()));
    let known: Vec<Vec<String>> = KNOWN_MODULE_CYCLES
        .iter()
        .map(|c| c.iter().map(|m| m.to_string()).collect())
        .collect();
    let new: Vec<&Vec<String>> = found.iter().filter(|c| !known.contains(c)).collect();
    assert!(
        new.is_empty(),
        "modules that depend on each other (move what they share down, or into a leaf module):\n{}",
        new.iter()
            .map(|g| format!("  {}", g.join(" <-> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let gone: Vec<&Vec<String>> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        gone.is_empty(),
        "no longer a cycle, remove it from KNOWN_MODULE_CYCLES: {gone:?}"
    );
}

#[test]
fn the_module_checker_finds_a_cycle_through_submodules() {
    let m = |s: &str| -> Module { s.split('/').map(str::to_string).collect() };
    // plan/compiled -> graph -> plan/model: a module-level cycle no file-level check sees.
    let edges = BTreeMap::from([
        (m("plan/compiled"), BTreeSet::from([m("graph")])),
        (m("plan/model"), BTreeSet::new()),
        (m("graph"), BTreeSet::from([m("plan/model")])),
        (
            m("exec/apply"),
            BTreeSet::from([m("plan/model"), m("exec/run")]),
        ),
        (m("exec/run"), BTreeSet::new()),
    ]);
    assert!(cycles(&edges).is_empty());
    assert_eq!(
        cycles(&top_level(&edges)),
        [vec!["graph".to_string(), "plan".to_string()]]
    );
}

/// The layers that compute without printing: they return data (errors, styled spans) and
/// leave every byte a person reads to `ui` and the sinks.
const PURE_LAYERS: &[&str] = &[
    "edit",
    "journal",
    "measure",
    "plan",
    "criteria",
    "graph",
    "envjournal",
    "process",
];

/// Pure-layer files that still import `ui` and are being changed elsewhere: `plan/diag`
/// belongs to the plan pipeline work (issue 25), which makes it return styled spans.
const KNOWN_UI_IMPORTS: &[&str] = &[];

/// The files of the pure layers that name `ui`.
fn ui_importers(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let ui: Module = vec!["ui".to_string()];
    edges
        .iter()
        .filter(|(m, _)| m.first().is_some_and(|f| PURE_LAYERS.contains(&f.as_str())))
        .filter(|(_, deps)| deps.contains(&ui))
        .map(|(m, _)| m.join("/"))
        .collect()
}

#[test]
fn pure_layers_do_not_import_ui() {
    let found = ui_importers(&graph());
    let new: Vec<&String> = found
        .iter()
        .filter(|m| !KNOWN_UI_IMPORTS.contains(&m.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "pure layers print through ui (return `crate::styled::Styled` or an error instead): {new:?}"
    );
    let gone: Vec<&&str> = KNOWN_UI_IMPORTS
        .iter()
        .filter(|k| !found.iter().any(|f| f == *k))
        .collect();
    assert!(gone.is_empty(), "remove from KNOWN_UI_IMPORTS: {gone:?}");
}

#[test]
fn the_ui_check_sees_a_pure_layer_naming_ui() {
    let m = |s: &str| -> Module { s.split('/').map(str::to_string).collect() };
    let code = "use crate::ui::{paint, Style};\nfn f() { crate::ui::warn(\"x\"); }\n";
    let refs = references(code, &m("edit/diff"));
    assert!(refs.contains(&m("ui/paint")), "{refs:?}");
    let edges = BTreeMap::from([
        (m("edit/diff"), BTreeSet::from([m("ui")])),
        (m("commands/history"), BTreeSet::from([m("ui")])),
        (m("journal/render"), BTreeSet::from([m("styled")])),
    ]);
    assert_eq!(ui_importers(&edges), ["edit/diff"]);
}

/// The files of `exec` that write for people: none. The dry-run preview is data that
/// `sinks::preview` renders; the sinks, the progress display and the notices live in `sinks/`.
/// Every file of the executor emits events and returns values; it names neither `ui` nor
/// `Error::report`.
const EXEC_WRITERS: &[&str] = &[];

#[test]
fn the_executor_prints_only_through_its_sinks() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ui: Module = vec!["ui".to_string()];
    let mut printing = Vec::new();
    for (module, deps) in graph() {
        let name = module.join("/");
        if module.first().is_none_or(|f| f != "exec") || EXEC_WRITERS.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(modules(&src)[&module].clone()).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        if deps.contains(&ui) || code.contains(".report()") {
            printing.push(name);
        }
    }
    assert!(
        printing.is_empty(),
        "executor files that print (emit an event for a sink to show instead): {printing:?}"
    );
}

/// The executor emits events and domain values and hands them to one `exec::output::Output`:
/// it names neither the report (which folds its events) nor the sinks (which show them).
#[test]
fn the_executor_names_neither_the_report_nor_the_sinks() {
    let found: Vec<String> = (graph().into_iter())
        .filter(|(m, _)| m.first().is_some_and(|f| f == "exec"))
        .flat_map(|(m, deps)| {
            deps.into_iter()
                .filter(|d| d.first().is_some_and(|f| f == "report" || f == "sinks"))
                .map(move |d| format!("{} -> {}", m.join("/"), d.join("/")))
        })
        .collect();
    assert!(
        found.is_empty(),
        "the executor names the report or the sinks (emit an event or a domain value from `run/` instead): {found:?}"
    );
}

/// The types `report/model.rs` defines.
fn report_model_types() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report/model.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let decl = regex::Regex::new(r"(?m)^pub (?:struct|enum) (\w+)").unwrap();
    decl.captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect()
}

/// Whether `code` builds one of `types`: a struct literal (`GateReport {`, not a return type
/// `-> GateReport {` nor an `impl`) or a `::default()`.
fn builds_report_types(code: &str, types: &[String]) -> bool {
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let names = types.join("|");
    let built = regex::Regex::new(&format!(
        r"(->\s*|impl\s+|for\s+)?\b({names})(\s*\{{|::default\(\))"
    ))
    .unwrap();
    let found = built.captures_iter(code).any(|c| c.get(1).is_none());
    found
}

/// The report model is built from events only in `report/`: the executor emits events and
/// domain values (`run/`), the sinks read the report `report/` folds; any other file that writes
/// a `RunReport`, `GateReport`, ... literal is building the report itself.
#[test]
fn only_report_builds_the_report_model() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let types = report_model_types();
    assert!(types.iter().any(|t| t == "RunReport"), "{types:?}");
    let found: Vec<String> = (modules(&src).into_iter())
        .filter(|(module, _)| module.first().is_none_or(|f| f != "report"))
        .filter(|(_, path)| builds_report_types(&std::fs::read_to_string(path).unwrap(), &types))
        .map(|(module, _)| module.join("/"))
        .collect();
    assert!(
        found.is_empty(),
        "files outside report/ that build report model types (emit an event or a domain value and let report/ fold it): {found:?}"
    );
}

#[test]
fn the_report_model_check_tells_a_literal_from_a_type() {
    let types = vec!["GateReport".to_string(), "RunStatus".to_string()];
    let built = "fn f() -> Vec<u8> { let g = GateReport { check: x, ..GateReport::default() }; }";
    assert!(builds_report_types(built, &types));
    assert!(builds_report_types("let s = RunStatus::default();", &types));
    let read = "fn f(g: &GateReport) -> GateReport {\n    g.clone()\n}\nimpl GateReport {}\n";
    assert!(!builds_report_types(read, &types));
    let status = "if s == RunStatus::Passed { return; }";
    assert!(!builds_report_types(status, &types));
    let test_only = "fn f() {}\n#[cfg(test)]\nmod tests { fn g() { GateReport { } } }";
    assert!(!builds_report_types(test_only, &types));
}

/// The files whose types are the run's events and domain values.
const EVENT_FILES: &[&str] = &[
    "exec/events.rs",
    "exec/outcome.rs",
    "run/change.rs",
    "run/end.rs",
    "run/stage.rs",
    "run/verdict.rs",
];

/// String fields of event and domain types that hold names, ids, paths, commands, captured
/// output or what the plan's author wrote (`why`, `check`), never sentences planrun wrote.
const IDENTIFIER_FIELDS: &[&str] = &[
    "StepOutput.changed",
    "StepOutput.log",
    "NewRecord.name",
    "NewRecord.source",
    "Event::StepStarted.id",
    "Event::StepDetail.id",
    "Event::StepFinished.id",
    "Event::GatesDecided.phase",
    "Event::Skipped.ids",
    "RunEvent::Started.run_id",
    "Detail::Interleaved.with",
    "Detail::PairRun.record",
    "Detail::Pair.partner",
    "Detail::Pair.record",
    "Note::Install.created",
    "Note::Install.packages",
    "Note::ServiceReady.port",
    "Note::ServiceReady.exports",
    "Note::FromBaseline.record",
    "Note::FromBaseline.source",
    "Relock::WithUv.spec",
    "FileChange.path",
    "FileChange.diff",
    "StageReport.id",
    "CriterionVerdict.check",
    "CriterionVerdict.why",
    "Promotion.stage",
    "Verdict.phase",
    "Verdict.check",
    "Verdict.why",
    "NoSpeed::RanNoTest.record",
    "NoSpeed::DifferentTests.sides",
    "CollectCause::Error.id",
    "CollectCause::Error.summary",
    "Interval.ratio",
    "Interval.num_record",
    "Interval.num_metric",
    "Interval.den_record",
    "Detail::OverBudget.record",
    "Detail::Coverage.record",
    "Detail::Coverage.least",
    "NamedTest.id",
    "NamedTest.record",
];

/// Prose fields that remain, each with why: the text is made below the executor and persisted
/// in records or the history as text. The list may only shrink.
const KNOWN_PROSE: &[&str] = &[
    // The reason a suite was not interleaved: `interleave` keeps it in the record's comparison.
    "Detail::Sequential.reason",
    // A promotion criterion's line, stored in the stage's history and report as text.
    "CriterionVerdict.explanation",
];

/// Every field of type `String`, `Option<String>`, `Vec<String>` or a tuple or array starting
/// with `String`, as `Type.field` or `Enum::Variant.field`, in non-test code of `text`.
fn string_fields(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let item = regex::Regex::new(r"^pub (?:struct|enum) (\w+)").unwrap();
    let variant = regex::Regex::new(r"^    (\w+) \{$").unwrap();
    let field =
        regex::Regex::new(r"^\s+(?:pub )?(\w+): (?:Option<|Vec<)?(?:\(|\[\()?String\b").unwrap();
    let (mut ty, mut var) = (String::new(), None::<String>);
    let mut out = Vec::new();
    for line in code.lines() {
        if let Some(c) = item.captures(line) {
            (ty, var) = (c[1].to_string(), None);
        } else if let Some(c) = variant.captures(line) {
            var = Some(c[1].to_string());
        } else if let Some(c) = field.captures(line) {
            out.push(match &var {
                Some(v) => format!("{ty}::{v}.{}", &c[1]),
                None => format!("{ty}.{}", &c[1]),
            });
        }
    }
    out
}

/// Events and domain values carry data; the words are `report/`'s and the sinks'. A new
/// `String` field must be an identifier-like one (add it to [`IDENTIFIER_FIELDS`]) or become
/// structured data.
#[test]
fn events_carry_no_prose() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut prose = Vec::new();
    let mut seen = Vec::new();
    for file in EVENT_FILES {
        for f in string_fields(&std::fs::read_to_string(src.join(file)).unwrap()) {
            if !IDENTIFIER_FIELDS.contains(&f.as_str()) && !KNOWN_PROSE.contains(&f.as_str()) {
                prose.push(format!("{file}: {f}"));
            }
            seen.push(f);
        }
    }
    assert!(
        prose.is_empty(),
        "event or domain fields that may carry prose (make them data, or list an identifier in IDENTIFIER_FIELDS): {prose:?}"
    );
    let gone: Vec<&&str> = KNOWN_PROSE
        .iter()
        .filter(|k| !seen.iter().any(|s| s == *k))
        .collect();
    assert!(gone.is_empty(), "take these off KNOWN_PROSE: {gone:?}");
}

#[test]
fn the_prose_check_names_fields_by_type_and_variant() {
    let code = "pub struct Out {\n    pub said: Vec<String>,\n    pub n: u32,\n}\npub enum E {\n    A {\n        text: Option<String>,\n        pair: (String, f64),\n    },\n}\n#[cfg(test)]\nmod tests { pub struct T { pub x: String } }\n";
    assert_eq!(string_fields(code), ["Out.said", "E::A.text", "E::A.pair"]);
}
