//! The diffs `--dry-run` prints are exactly the changes apply makes: each printed block, patched
//! onto the file in turn, ends at what apply wrote, and each is the diff planrun itself renders.

use std::collections::BTreeMap;

use planrun::edit::diff::unified;

use super::{apply_edits, fixture, mini};

/// One file diff as printed: its path, its text, and its hunks.
#[derive(Debug)]
struct Block {
    path: String,
    created: bool,
    text: String,
    hunks: Vec<Hunk>,
}

#[derive(Debug)]
struct Hunk {
    /// 1-based first old line (the line after which to insert when `old_len` is 0).
    old_start: usize,
    old_len: usize,
    /// Lines with their sign (' ', '-', '+') and whether a "No newline" marker followed.
    lines: Vec<(char, String, bool)>,
}

/// `"-3,4"` or `"+3"` -> (3, 4) or (3, 1).
fn range(text: &str) -> (usize, usize) {
    let text = &text[1..];
    match text.split_once(',') {
        Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
        None => (text.parse().unwrap(), 1),
    }
}

/// Every diff block in `out`, in order; hunks are read by their line counts.
fn blocks(out: &str) -> Vec<Block> {
    let lines: Vec<&str> = out.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let (from, to) = (lines[i], lines[i + 1]);
        if !(from.starts_with("--- ") && to.starts_with("+++ ")) {
            i += 1;
            continue;
        }
        let path = to
            .strip_prefix("+++ b/")
            .or_else(|| from.strip_prefix("--- a/"))
            .expect("a/ or b/ path")
            .to_string();
        let start = i;
        i += 2;
        let mut hunks = Vec::new();
        while i < lines.len() && lines[i].starts_with("@@ ") {
            let parts: Vec<&str> = lines[i].split(' ').collect();
            let (old_start, old_len) = range(parts[1]);
            let (_, new_len) = range(parts[2]);
            i += 1;
            let (mut old_seen, mut new_seen) = (0, 0);
            let mut body = Vec::new();
            while old_seen < old_len || new_seen < new_len {
                let line = lines[i];
                let sign = line.chars().next().expect("a hunk line");
                match sign {
                    ' ' => (old_seen, new_seen) = (old_seen + 1, new_seen + 1),
                    '-' => old_seen += 1,
                    '+' => new_seen += 1,
                    _ => panic!("bad hunk line {line:?}"),
                }
                let no_newline = lines
                    .get(i + 1)
                    .is_some_and(|l| l.starts_with("\\ No newline"));
                body.push((sign, line[1..].to_string(), no_newline));
                i += if no_newline { 2 } else { 1 };
            }
            hunks.push(Hunk {
                old_start,
                old_len,
                lines: body,
            });
        }
        let mut text = lines[start..i].join("\n");
        text.push('\n');
        found.push(Block {
            path,
            created: from == "--- /dev/null",
            text,
            hunks,
        });
    }
    found
}

/// Applies a block's hunks to `old`, checking every context and removed line against it.
fn patch(old: &str, block: &Block) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next = 0;
    for hunk in &block.hunks {
        let first = if hunk.old_len == 0 {
            hunk.old_start
        } else {
            hunk.old_start - 1
        };
        for line in &old_lines[next..first] {
            out.push_str(line);
        }
        next = first;
        for (sign, body, no_newline) in &hunk.lines {
            let line = if *no_newline {
                body.clone()
            } else {
                format!("{body}\n")
            };
            match sign {
                ' ' | '-' => {
                    assert_eq!(old_lines[next], line, "{}: context differs", block.path);
                    next += 1;
                    if *sign == ' ' {
                        out.push_str(&line);
                    }
                }
                _ => out.push_str(&line),
            }
        }
    }
    for line in &old_lines[next..] {
        out.push_str(line);
    }
    out
}

#[test]
fn dry_run_diffs_are_exactly_what_apply_changes() {
    let project = mini();
    let plan = fixture("edits.toml");
    let before: BTreeMap<_, _> = project
        .hash_tree()
        .keys()
        .map(|rel| (rel.clone(), project.read(rel)))
        .collect();
    let dry = project
        .test()
        .args(["apply", &plan, "--target", ".", "--dry-run"])
        // stdout: measured numbers vary.
        .stdout_contains("step conftest (write)")
        .stdout_contains("--- /dev/null")
        .stdout_contains("+++ b/tests/conftest.py")
        .stdout_contains("@@ -0,0 +1,5 @@")
        .stdout_contains("+\"\"\"Written by planrun for the mini target.\"\"\"")
        .stdout_contains("+import sys")
        .stdout_contains("+import os")
        .stdout_contains("+")
        .stdout_contains("+sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))")
        .stdout_contains("step fast (replace)")
        .stdout_contains("--- a/app.py")
        .stdout_contains("+++ b/app.py")
        .stdout_contains("@@ -1,6 +1,6 @@")
        .stdout_contains(" \"\"\"A tiny module for planrun's own tests.\"\"\"")
        .stdout_contains("-SLOW = True")
        .stdout_contains("+SLOW = False")
        .stdout_contains(" def add(a, b):")
        .stdout_contains("step metadata (ini)")
        .stdout_contains("--- a/setup.cfg")
        .stdout_contains("+++ b/setup.cfg")
        .stdout_contains("@@ -1,7 +1,7 @@")
        .stdout_contains(" [metadata]")
        .stdout_contains(" # The distribution name.")
        .stdout_contains(" name = mini-app")
        .stdout_contains(" [flake8]")
        .stdout_contains(" max-line-length = 100")
        .stdout_contains("step black (toml)")
        .stdout_contains("--- a/pyproject.toml")
        .stdout_contains("+++ b/pyproject.toml")
        .stdout_contains("@@ -3,4 +3,4 @@")
        .stdout_contains(" [tool.black]")
        .stdout_contains("-line-length = 88")
        .stdout_contains("+line-length = 100")
        .stdout_contains("step pytest (pytest-config)")
        .stdout_contains("--- a/pytest.ini")
        .stdout_contains("+++ b/pytest.ini")
        .stdout_contains("@@ -1,4 +1,6 @@")
        .stdout_contains(" # pytest configuration of the mini target.")
        .stdout_contains(" [pytest]")
        .stdout_contains("-addopts = -q")
        .stdout_contains("+addopts = -q -p no:cacheprovider")
        .stdout_contains(" testpaths = tests")
        .stdout_contains("+markers =")
        .stdout_contains("+    slow: takes more than a second")
        .stdout_contains("step pytest-again (pytest-config)")
        .stdout_contains("-addopts = -q -p no:cacheprovider")
        .stdout_contains("+addopts = -q -p no:cacheprovider -p no:randomly")
        .stdout_contains(" markers =")
        .stdout_contains("     slow: takes more than a second")
        .stdout_contains(
            "plan: 5 files to change, 0 packages to install, 0 commands, 0 timed suites, ",
        )
        .run();
    apply_edits(&project);
    let after: BTreeMap<_, _> = project
        .hash_tree()
        .keys()
        .map(|rel| (rel.clone(), project.read(rel)))
        .collect();

    let printed = blocks(&dry.stdout);
    let mut current: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for block in &printed {
        let state = current
            .entry(block.path.clone())
            .or_insert_with(|| before.get(std::path::Path::new(&block.path)).cloned());
        assert_eq!(block.created, state.is_none(), "{}", block.text);
        let old = state.clone();
        let new = patch(old.as_deref().unwrap_or(""), block);
        // The block is the very diff planrun renders for that step's change.
        assert_eq!(block.text, unified(&block.path, old.as_deref(), Some(&new)));
        *state = Some(new);
        *per_file.entry(block.path.clone()).or_default() += 1;
    }

    // Every changed file has blocks, and they end exactly where apply ended; no other file does.
    let changed: Vec<String> = after
        .iter()
        .filter(|(rel, text)| before.get(*rel) != Some(*text))
        .map(|(rel, _)| rel.display().to_string())
        .collect();
    assert_eq!(
        changed,
        per_file.keys().cloned().collect::<Vec<_>>(),
        "{}",
        dry.stdout
    );
    assert_eq!(before.len() + 1, after.len(), "only conftest.py is new");
    for rel in &changed {
        let path = std::path::Path::new(rel);
        assert_eq!(current[rel].as_deref(), after.get(path).map(String::as_str));
        if per_file[rel] == 1 {
            // A file edited once shows the whole change as one block, byte for byte.
            let whole = unified(
                rel,
                before.get(path).map(String::as_str),
                Some(&after[path]),
            );
            assert!(dry.stdout.contains(&whole), "{rel}:\n{whole}");
        }
    }
    assert_eq!(per_file.get("pytest.ini"), Some(&2), "{}", dry.stdout);
    assert_eq!(printed.len(), 6);
}
