//! `--dry-run`: every command and every file diff in execution order, touching nothing.
//!
//! File changes are computed by the same [`edits::compute`] that apply uses, reading through an
//! overlay of the changes previewed so far, so a later edit of the same file shows its real diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::edit::diff;
use crate::exec::edits::{self, FileChange};
use crate::exec::setup::Prepared;
use crate::graph::Node;
use crate::plan::compiled::Step;
use crate::ui::{self, count, Style};

/// What a dry run would do, rendered for the terminal, plus its counts.
#[derive(Debug, Default)]
pub struct Preview {
    /// The rendered preview.
    pub text: String,
    /// Distinct files that would change.
    pub files: usize,
    /// Packages that would be installed.
    pub packages: usize,
    /// Commands that would run (`run` steps and their undo commands are counted once).
    pub commands: usize,
    /// Timed suites that would run.
    pub suites: usize,
    /// Services that would be started.
    pub services: usize,
}

/// Builds the preview of a prepared apply.
pub fn preview(prep: &Prepared, color: bool) -> Result<Preview, edits::EditStepError> {
    let mut out = Preview::default();
    let mut overlay: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut changed = std::collections::BTreeSet::new();
    let mut earlier_command: Option<String> = None;
    // Venvs an earlier install step of this preview creates: later installs into them do not.
    let mut new_venvs = std::collections::BTreeSet::new();
    let mut text = String::new();
    let head = |s: &str| ui::paint(color, Style::Bold, s);
    let dim = |s: &str| ui::paint(color, Style::Dim, s);

    for node in &prep.plan.order {
        let (phase, index) = match node {
            Node::Step { phase, index } => (*phase, *index),
            Node::Gates { phase } => {
                for gate in &prep.plan.phases[*phase].gates {
                    let _ = writeln!(text, "{} {}", head("gate"), gate.check);
                }
                continue;
            }
        };
        let step = &prep.plan.phases[phase].steps[index];
        let _ = writeln!(
            text,
            "{} {} {}",
            head("step"),
            step.id(),
            dim(&format!("({})", step.action()))
        );
        match step {
            Step::Run(s) => {
                out.commands += 1;
                let _ = writeln!(text, "  $ {}", s.command);
                if let Some(undo) = &s.undo {
                    let _ = writeln!(text, "  {} {undo}", dim("undo on rollback: $"));
                }
                earlier_command = Some(s.id.clone());
            }
            Step::Install(s) => {
                out.packages += s.packages.len();
                let python = s.python.as_str();
                let exists = prep.resolve_python(python).is_some_and(|p| p.exists());
                let create = if exists || !new_venvs.insert(python.to_string()) {
                    ""
                } else {
                    " (creates the venv)"
                };
                let _ = writeln!(
                    text,
                    "  install into {python}{create}: {}",
                    s.packages.join(" ")
                );
                // An install changes the environment, not the files edits read; its own
                // requirements edit is previewed below like any other.
            }
            Step::Suite(s) => {
                out.suites += 1;
                let _ = writeln!(
                    text,
                    "  $ {}  {}",
                    s.command,
                    dim(&format!(
                        "(timed: {} warmup + {} -> record `{}`; {})",
                        s.warmup,
                        s.runs,
                        s.record,
                        match s.process.timeout {
                            Some(t) => format!("timeout {}", humantime::format_duration(t)),
                            None => format!(
                                "timeout auto: {}x the slowest run so far + {}s",
                                crate::measure::suite::AUTO_TIMEOUT_FACTOR,
                                crate::measure::suite::AUTO_TIMEOUT_MARGIN.as_secs()
                            ),
                        }
                    ))
                );
            }
            Step::Service(s) => {
                out.services += 1;
                let _ = writeln!(
                    text,
                    "  $ {}  {}",
                    s.command,
                    dim("(service: runs until the apply ends)")
                );
                if let Some(ready) = &s.ready {
                    let _ = writeln!(
                        text,
                        "  {} {ready}  {}",
                        dim("ready when: $"),
                        dim(&format!(
                            "(tried every {}ms, up to {})",
                            crate::process::service::READY_INTERVAL.as_millis(),
                            humantime::format_duration(s.ready_timeout)
                        ))
                    );
                }
                if let Some(stop) = &s.stop {
                    let _ = writeln!(text, "  {} {stop}", dim("stopped by: $"));
                }
                for (name, value) in &s.export {
                    let _ = writeln!(
                        text,
                        "  {} {name}={value}",
                        dim("gives the steps that need it:")
                    );
                }
            }
            _ => {}
        }
        let read = |rel: &str| -> Result<Option<String>, String> {
            match overlay.get(rel) {
                Some(content) => Ok(content.clone()),
                None => prep.read(rel),
            }
        };
        let changes: Vec<FileChange> =
            edits::compute(step, &read, &prep.plan_dir, &|t| prep.expand(t))?;
        for c in changes {
            if c.is_noop() {
                let _ = writeln!(
                    text,
                    "  {} {}",
                    c.rel,
                    dim("(already as planned, unchanged)")
                );
                continue;
            }
            if let Some(cmd) = &earlier_command {
                let _ = writeln!(
                    text,
                    "  {}",
                    ui::paint(
                        color,
                        Style::Yellow,
                        &format!("note: shown against today's content; step `{cmd}` runs first and may change `{}`", c.rel)
                    )
                );
            }
            text.push_str(&diff::unified(
                &c.rel,
                c.old.as_deref(),
                Some(&c.new),
                color,
            ));
            changed.insert(c.rel.clone());
            let lock = Path::new(&c.rel).with_file_name("uv.lock");
            if matches!(step, Step::Install(_))
                && c.rel.ends_with("pyproject.toml")
                && matches!(prep.read(&lock.to_string_lossy()), Ok(Some(_)))
            {
                let _ = writeln!(
                    text,
                    "  $ uv lock  {}",
                    dim(&format!("({} follows {})", lock.display(), c.rel))
                );
            }
            overlay.insert(c.rel.clone(), Some(c.new));
        }
    }
    out.files = changed.len();
    // Plans without services keep the summary they always had.
    let services = match out.services {
        0 => String::new(),
        n => format!(", {}", count(n, "service")),
    };
    let _ = writeln!(
        text,
        "\n{}",
        head(&format!(
            "{} changed, {} to install, {}, {}{services}",
            count(out.files, "file"),
            count(out.packages, "package"),
            count(out.commands, "command"),
            count(out.suites, "timed suite"),
        ))
    );
    // Commands, diffs and undo lines show secret values masked; apply runs them unmasked.
    out.text = prep.secrets.mask(&text).into_owned();
    Ok(out)
}
