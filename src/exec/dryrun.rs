//! `--dry-run`, as `terraform plan`: a header (plan, target, installer, phases), then each phase
//! with its steps in execution order (every command, every file diff) and its gates with their
//! whys, and a closing count; touching nothing. `--json` gives the same as data, shaped like
//! `report.json` (its `steps` and `gates`, none run yet) plus what each step would do.
//!
//! File changes are computed by the same [`edits::compute`] that apply uses, reading through an
//! overlay of the changes previewed so far, so a later edit of the same file shows its real diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::edit::diff;
use crate::exec::edits::{self, FileChange};
use crate::exec::setup::Prepared;
use crate::graph::Node;
use crate::measure::record::Record;
use crate::plan::compiled::Step;
use crate::plan::model::Installer;
use crate::report::model::RunReport;
use crate::ui::{self, count, Style};

/// What a dry run would do, rendered for the terminal, plus its counts and data.
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
    /// Files a step edits that already hold what it would write.
    pub already: Vec<String>,
    /// What each step would do, in execution order.
    pub steps: Vec<PlannedStep>,
    /// Services that would be started.
    pub services: usize,
}

impl Preview {
    /// Whether applying would change the target: a file, a package or a command.
    pub fn pending(&self) -> bool {
        self.files + self.packages + self.commands > 0
    }

    /// Whether every file the plan edits already holds its change (and nothing else would run
    /// that changes the target): the plan's change seems to be in the target already.
    pub fn already_in_target(&self) -> bool {
        !self.already.is_empty() && self.files == 0 && self.commands == 0
    }
}

/// What one step would do.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlannedStep {
    /// The step id.
    pub id: String,
    /// Commands it would run (for a suite, the command it times), secrets masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// A `run` step's undo command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    /// Packages it would install.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Files it would write, with their diff (none when a file already holds the change).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PlannedFile>,
}

/// One file a step would write.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlannedFile {
    /// Target-relative path.
    pub path: String,
    /// The unified diff; empty when the file already holds the change.
    pub diff: String,
    /// Whether the file already holds the change.
    pub unchanged: bool,
}

/// `--dry-run --json`: the report an apply would start from (steps pending, gates not
/// evaluated) and what each step would do.
#[derive(Debug, Serialize)]
pub struct DryRunReport<'a> {
    /// The report, as report.json has it before the first step.
    #[serde(flatten)]
    pub report: &'a RunReport,
    /// Always true: nothing ran.
    pub dry_run: bool,
    /// What each step would do.
    pub planned: &'a [PlannedStep],
    /// Whether applying would change the target (`--detailed-exitcode` exits 2).
    pub changes_pending: bool,
    /// Files that already hold the change their step makes.
    pub already_in_target: &'a [String],
}

/// Builds the preview of a prepared apply; `known` holds the records known before anything runs
/// (the saved baseline `--baseline` names, under its suite's record name).
pub fn preview(
    prep: &Prepared,
    color: bool,
    known: &BTreeMap<String, Record>,
) -> Result<Preview, edits::EditStepError> {
    let mut out = Preview::default();
    let mut overlay: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut changed = std::collections::BTreeSet::new();
    let mut earlier_command: Option<String> = None;
    // Venvs an earlier install step of this preview creates: later installs into them do not.
    let mut new_venvs = std::collections::BTreeSet::new();
    let mut text = header(prep, color);
    let head = |s: &str| ui::paint(color, Style::Bold, s);
    let dim = |s: &str| ui::paint(color, Style::Dim, s);
    let note = |s: &str| ui::paint(color, Style::Yellow, &format!("note: {s}"));
    let mut current_phase: Option<usize> = None;
    let mut gates = 0;

    for node in &prep.plan.order {
        let phase_index = match node {
            Node::Step { phase, .. } | Node::Gates { phase } => *phase,
        };
        let phase = &prep.plan.phases[phase_index];
        if current_phase != Some(phase_index)
            && !matches!(node, Node::Gates { .. } if phase.gates.is_empty())
        {
            current_phase = Some(phase_index);
            let mut line = format!("\n{} {}", head("phase"), phase.id);
            if let Some(title) = &phase.title {
                let _ = write!(line, "  {title}");
            }
            if !phase.needs.is_empty() {
                let _ = write!(
                    line,
                    "  {}",
                    dim(&format!("(after {})", phase.needs.join(", ")))
                );
            }
            let _ = writeln!(text, "{line}");
        }
        let index = match node {
            Node::Step { index, .. } => *index,
            Node::Gates { .. } => {
                for gate in &phase.gates {
                    gates += 1;
                    let _ = writeln!(text, "  {} {}", head("gate"), gate.check);
                    if let Some(why) = &gate.why {
                        let _ = writeln!(text, "    {}", dim(&format!("why: {why}")));
                    }
                }
                continue;
            }
        };
        let step = &phase.steps[index];
        let mut planned = PlannedStep {
            id: step.id().to_string(),
            ..PlannedStep::default()
        };
        let _ = writeln!(
            text,
            "  {} {} {}",
            head("step"),
            step.id(),
            dim(&format!("({})", step.action()))
        );
        match step {
            Step::Run(s) => {
                out.commands += 1;
                let _ = writeln!(text, "    $ {}", s.command);
                planned.commands.push(s.command.clone());
                if let Some(undo) = &s.undo {
                    let _ = writeln!(text, "    {} {undo}", dim("undo on rollback: $"));
                    planned.undo = Some(undo.clone());
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
                    "    install into {python}{create}: {}",
                    s.packages.join(" ")
                );
                planned.packages.clone_from(&s.packages);
                let read = |rel: &str| -> Result<Option<String>, String> {
                    match overlay.get(rel) {
                        Some(content) => Ok(content.clone()),
                        None => prep.read(rel),
                    }
                };
                for note in edits::placement(s, &read)
                    .map(|p| p.notes)
                    .unwrap_or_default()
                {
                    let _ = writeln!(text, "    {} {note}", dim("record:"));
                }
                if let Some((why, _)) = crate::exec::relock::refusal(prep, s) {
                    let refused = format!("apply will refuse: {why}");
                    let _ = writeln!(text, "    {}", ui::paint(color, Style::Yellow, &refused));
                }
                // An install changes the environment, not the files edits read; its own
                // requirements edit is previewed below like any other.
            }
            Step::Suite(s) => {
                out.suites += 1;
                planned.commands.push(s.command.clone());
                let _ = writeln!(
                    text,
                    "    $ {}  {}",
                    s.command,
                    dim(&format!(
                        "(timed: {} + {} -> record `{}`; {}{})",
                        match s.warmup_collect {
                            true => "a `--collect-only` warmup".to_string(),
                            false => format!("{} warmup", s.warmup),
                        },
                        s.runs,
                        s.record,
                        match s.process.timeout {
                            Some(t) => format!("timeout {}", humantime::format_duration(t)),
                            None => format!(
                                "timeout auto: {}x the slowest run so far + {}s",
                                crate::measure::suite::AUTO_TIMEOUT_FACTOR,
                                crate::measure::suite::AUTO_TIMEOUT_MARGIN.as_secs()
                            ),
                        },
                        suite_extras(s)
                    ))
                );
                if !s.budgets.is_empty() {
                    let derived = crate::measure::budget::derived(&s.budgets, &prep.target);
                    let _ = writeln!(
                        text,
                        "    {}",
                        dim(&format!("budgets here: {}", derived.join("; ")))
                    );
                }
                if s.baseline && known.contains_key(&s.record) {
                    let _ = writeln!(
                        text,
                        "  {}",
                        dim(&format!(
                            "(not run: record `{}` comes from the saved baseline)",
                            s.record
                        ))
                    );
                }
            }
            Step::Service(s) => {
                out.services += 1;
                planned.commands.extend(
                    [Some(&s.command), s.ready.as_ref(), s.stop.as_ref()]
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
                let _ = writeln!(
                    text,
                    "    $ {}  {}",
                    s.command,
                    dim("(service: runs until the apply ends)")
                );
                if let Some(ready) = &s.ready {
                    let _ = writeln!(
                        text,
                        "    {} {ready}  {}",
                        dim("ready when: $"),
                        dim(&format!(
                            "(tried every {}ms, up to {})",
                            crate::process::service::READY_INTERVAL.as_millis(),
                            humantime::format_duration(s.ready_timeout)
                        ))
                    );
                }
                if let Some(stop) = &s.stop {
                    let _ = writeln!(text, "    {} {stop}", dim("stopped by: $"));
                }
                for (name, value) in &s.export {
                    let _ = writeln!(
                        text,
                        "    {} {name}={value}",
                        dim("gives the steps that need it:")
                    );
                }
            }
            Step::Mark(s) => match known.get(&s.from) {
                Some(record) => {
                    let _ = writeln!(
                        text,
                        "  marks {} tests from the saved baseline's record `{}`",
                        record.durations.len(),
                        s.from
                    );
                }
                None => {
                    let _ = writeln!(
                        text,
                        "  {}",
                        note(&format!(
                            "`{}` depends on record `{}`, measured earlier in this run: its content is known only then (`--baseline NAME` shows it from a saved record)",
                            s.durations, s.from
                        ))
                    );
                    changed.insert(s.durations.clone());
                }
            },
            _ => {}
        }
        let read = |rel: &str| -> Result<Option<String>, String> {
            match overlay.get(rel) {
                Some(content) => Ok(content.clone()),
                None => prep.read(rel),
            }
        };
        let mut pytest = crate::edit::pytest_config::Generation::Pytest9;
        if matches!(step, Step::PytestConfig(_) | Step::Mark(_)) {
            let (generation, why) = prep.pytest_rules();
            pytest = generation;
            let found =
                crate::edit::pytest_config::locate_for(&|rel| read(rel).ok().flatten(), generation);
            let what = match found.exists {
                true => format!(
                    "pytest reads {} ({}'s rules: {why})",
                    found.kind.describe(),
                    generation.name()
                ),
                false => format!(
                    "no file holds pytest's configuration ({}'s rules: {why}): creates pytest.ini",
                    generation.name()
                ),
            };
            let _ = writeln!(text, "    {}", dim(&what));
        }
        let changes: Vec<FileChange> = edits::compute(
            step,
            &read,
            &prep.plan_dir,
            &|t| prep.expand(t),
            known,
            &|| pytest,
        )?;
        for c in changes {
            if c.is_noop() {
                let _ = writeln!(
                    text,
                    "    {} {}",
                    c.rel,
                    dim("(already as planned, unchanged)")
                );
                if !out.already.contains(&c.rel) {
                    out.already.push(c.rel.clone());
                }
                planned.files.push(PlannedFile {
                    path: c.rel.clone(),
                    diff: String::new(),
                    unchanged: true,
                });
                continue;
            }
            if let Some(cmd) = &earlier_command {
                let _ = writeln!(
                    text,
                    "    {}",
                    ui::paint(
                        color,
                        Style::Yellow,
                        &format!("note: shown against today's content; step `{cmd}` runs first and may change `{}`", c.rel)
                    )
                );
            }
            text.push_str(&ui::render(
                &diff::unified_styled(&c.rel, c.old.as_deref(), Some(&c.new)),
                color,
            ));
            planned.files.push(PlannedFile {
                path: c.rel.clone(),
                diff: diff::unified(&c.rel, c.old.as_deref(), Some(&c.new)),
                unchanged: false,
            });
            changed.insert(c.rel.clone());
            if matches!(step, Step::Install(_)) {
                let lookup = |rel: &str| match overlay.get(rel) {
                    Some(content) => content.clone(),
                    None => prep.read(rel).ok().flatten(),
                };
                if let Some(lock) = crate::edit::locks::following(&c.rel, &lookup) {
                    let line = crate::edit::locks::describe(&lock, &lookup);
                    let (command, why) = line.split_once("  ").unwrap_or((&line, ""));
                    let _ = writeln!(text, "    $ {command}  {}", dim(why));
                    planned.commands.push(command.to_string());
                }
            }
            overlay.insert(c.rel.clone(), Some(c.new));
        }
        out.steps.push(planned);
    }
    out.files = changed.len();
    out.already.retain(|f| !changed.contains(f));
    // Plans without services keep the summary they always had.
    let services = match out.services {
        0 => String::new(),
        n => format!(", {}", count(n, "service")),
    };
    let _ = writeln!(
        text,
        "\n{}",
        head(&format!(
            "plan: {} to change, {} to install, {}, {}{services}, {}",
            count(out.files, "file"),
            count(out.packages, "package"),
            count(out.commands, "command"),
            count(out.suites, "timed suite"),
            count(gates, "gate"),
        ))
    );
    // Commands, diffs and undo lines show secret values masked; apply runs them unmasked.
    out.text = prep.secrets.mask(&text).into_owned();
    for step in &mut out.steps {
        for c in step.commands.iter_mut().chain(step.undo.iter_mut()) {
            *c = prep.secrets.mask(c).into_owned();
        }
        for f in &mut step.files {
            f.diff = prep.secrets.mask(&f.diff).into_owned();
        }
    }
    Ok(out)
}

/// What a suite measures beyond its times, for its dry-run line: `; budgets tests/unit 0.1 s;
/// coverage`.
fn suite_extras(s: &crate::plan::compiled::Suite) -> String {
    let mut out = String::new();
    if !s.budgets.is_empty() {
        let budgets: Vec<String> = s
            .budgets
            .iter()
            .map(|b| format!("{} {} s", b.key, b.seconds))
            .collect();
        out.push_str(&format!("; budgets {}", budgets.join(", ")));
    }
    match &s.coverage {
        Some(sources) if sources.is_empty() => out.push_str("; coverage (pytest-cov)"),
        Some(sources) => out.push_str(&format!(
            "; coverage of {} (pytest-cov)",
            sources.join(", ")
        )),
        None => {}
    }
    out
}

/// `plan`, `target`, `installer` and `phases`, one line each.
fn header(prep: &Prepared, color: bool) -> String {
    let key = |s: &str| ui::paint(color, Style::Bold, &format!("{s:<10}"));
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} {} ({})",
        key("plan"),
        prep.plan.name,
        prep.plan_path.display()
    );
    let _ = writeln!(text, "{} {}", key("target"), prep.target.display());
    if let Some(env) = environment(prep) {
        let _ = writeln!(text, "{} {env}", key("env"));
    }
    if let Some(installer) = installer(prep) {
        let _ = writeln!(text, "{} {installer}", key("installer"));
    }
    let phases: Vec<&str> = prep.plan.phases.iter().map(|p| p.id.as_str()).collect();
    let _ = writeln!(text, "{} {}", key("phases"), phases.join(", "));
    text
}

/// The environment the plan runs in and why (see [`crate::pyenv::discover`]), when it installs
/// into it or a command runs its interpreter; a missing one says whether an install creates it.
fn environment(prep: &Prepared) -> Option<String> {
    let python = prep.env.python.as_str();
    let uses = prep.plan.steps().any(|(_, s)| match s {
        Step::Install(_) => true,
        Step::Suite(s) => s.command.contains(python),
        Step::Run(r) => r.command.contains(python),
        _ => false,
    });
    if !uses {
        return None;
    }
    let mut text = prep.env.describe(&prep.target);
    let exists = prep
        .resolve_python(&prep.env.python)
        .is_some_and(|p| p.exists());
    if !exists {
        let creates = prep.plan.steps().find_map(|(_, s)| match s {
            Step::Install(i) if i.python == prep.env.python => Some(i.id.as_str()),
            _ => None,
        });
        text.pop();
        match creates {
            Some(id) => {
                let _ = write!(text, "; step `{id}` creates the venv)");
            }
            None => text.push_str("; no install step creates it)"),
        }
    }
    Some(text)
}

/// Which installer the plan's install steps would use, found as apply finds it (but nothing is
/// provisioned); `None` without install steps.
fn installer(prep: &Prepared) -> Option<String> {
    let installs: Vec<_> = prep
        .plan
        .steps()
        .filter_map(|(_, s)| match s {
            Step::Install(i) => Some(i),
            _ => None,
        })
        .collect();
    let first = installs.first()?;
    if installs.iter().all(|i| i.installer == Installer::Pip) {
        return Some("pip (the plan asks for it)".into());
    }
    let venv = prep
        .resolve_python(&first.python)
        .and_then(|p| crate::pyenv::venv_dir_of(&p));
    Some(match crate::pyenv::find_uv(venv.as_deref()) {
        Some(uv) => crate::exec::uvpin::describe(prep, &uv)
            .unwrap_or_else(|| format!("uv ({})", uv.display())),
        None => match crate::pyenv::uv_cache_venv() {
            Some(cache) => format!(
                "uv, installed once into {} on first use (pip if that fails)",
                cache.display()
            ),
            None => "pip (no uv found)".into(),
        },
    })
}
