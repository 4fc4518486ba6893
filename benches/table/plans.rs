//! Generated plans and trees: the inputs of the rows that measure planrun on something big.

use std::fmt::Write as _;
use std::path::Path;

use crate::measure::{Ctx, Res};
use crate::support::write;

/// A plan of one phase whose steps are given as TOML bodies (without their header).
pub fn one_phase(steps: impl Iterator<Item = String>) -> String {
    let mut text =
        String::from("name = \"bench\"\ndescription = \"Generated.\"\n\n[[phase]]\nid = \"p\"\n");
    for step in steps {
        let _ = write!(text, "\n  [[phase.step]]\n{step}");
    }
    text
}

/// `n` `run` steps of `command`, each needing the one before it when `chained`.
pub fn runs(n: usize, command: &str, chained: bool) -> String {
    one_phase((0..n).map(|i| {
        let needs = if chained && i > 0 {
            format!("  needs = [\"s{}\"]\n", i - 1)
        } else {
            String::new()
        };
        format!("  id = \"s{i}\"\n{needs}  action = \"run\"\n  command = \"{command}\"\n")
    }))
}

/// `replace` steps turning `= 0` into `= 1` in each of `files`.
pub fn replaces<'a>(files: impl Iterator<Item = &'a str>) -> String {
    one_phase(files.enumerate().map(|(i, path)| {
        format!(
            "  id = \"e{i}\"\n  action = \"replace\"\n  path = \"{path}\"\n  pattern = \"= 0\"\n  replacement = \"= 1\"\n"
        )
    }))
}

/// A plan of `steps` steps in phases of at most 100 chained steps, each phase needing the one
/// before it; each phase ends with a suite whose record its gate reads, as real plans do.
pub fn big(steps: usize) -> String {
    let per = steps.min(100);
    let mut out = String::from(
        "name = \"bench\"\ndescription = \"generated\"\n\n[vars]\npython = \"python3\"\n",
    );
    for p in 0..steps.div_ceil(per) {
        let _ = write!(out, "\n[[phase]]\nid = \"p{p}\"\n");
        if p > 0 {
            let _ = writeln!(out, "needs = [\"p{}\"]", p - 1);
        }
        for s in 0..per {
            let _ = write!(out, "\n  [[phase.step]]\n  id = \"p{p}s{s}\"\n");
            if s > 0 {
                let _ = writeln!(out, "  needs = [\"p{p}s{}\"]", s - 1);
            }
            if s + 1 == per {
                let _ = writeln!(
                    out,
                    "  action = \"suite\"\n  command = \"${{python}} -m pytest\"\n  record = \"r{p}\"\n  runs = 3"
                );
            } else {
                let _ = writeln!(
                    out,
                    "  action = \"run\"\n  command = \"${{python}} -c 'print({s})'\"\n  timeout = \"90s\"\n  changes = [\"out/{s}.txt\"]"
                );
            }
        }
        let _ = writeln!(
            out,
            "\n  [[phase.gate]]\n  check = \"r{p}.failed == 0 and r{p}.wall.median < 10\""
        );
    }
    out
}

/// Fills `root` with `files` small Python files, 1,000 per directory, plus `a.py`, `b.py` and
/// `c.py` (`FLAG = 0`) for a plan to edit, then flushes them so that their writeback does not
/// fall inside a timed rollback.
pub fn tree(root: &Path, files: usize) -> Res<()> {
    for i in 0..files {
        let sub = root.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).ctx(format!("create {}", sub.display()))?;
        }
        let path = sub.join(format!("m{i}.py"));
        std::fs::write(&path, format!("X = {i}\n")).ctx(format!("write {}", path.display()))?;
    }
    for name in ["a", "b", "c"] {
        write(&root.join(format!("{name}.py")), "FLAG = 0\n")?;
    }
    // SAFETY: sync(2) takes no arguments and has no preconditions.
    unsafe { libc::sync() };
    Ok(())
}
