//! Semantic validation of a loaded plan: unique ids, `needs` that exist, no cycles, paths that
//! stay inside the target, parseable timeouts, known variables, sound gates. Every problem is
//! collected and reported with its place; the result is a `ValidPlan` the executor can resolve.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::diag::{did_you_mean, Diagnostics, Source};
use super::load::{diagnose, LoadedPlan};
use super::locate::{at, Loc, Seg};
use super::model::{Plan, Step};
use super::resolve::{interpolate_plan, Problem};
use crate::graph::{CycleError, Node, PlanGraph};
use crate::styled::count;

/// A plan that passed every check; `resolve` gives the interpolated copy to execute.
#[derive(Debug, Clone)]
pub struct ValidPlan {
    /// The plan as written (not interpolated).
    pub plan: Plan,
    /// The plan file as given.
    pub path: PathBuf,
    /// The absolute directory of the plan file.
    pub dir: PathBuf,
    /// The plan's `[vars]` with the `--var` overrides applied.
    pub vars: BTreeMap<String, String>,
    /// The names of the secret variables, whose values reports and logs mask.
    pub secret_vars: BTreeSet<String>,
    source: Arc<Source>,
    /// The dependency graph, built once here (ids and `needs` are never interpolated).
    graph: PlanGraph,
    /// Each gate's check as validation interpolated and parsed it.
    gates: super::gates::Parsed,
    /// The built-in variables validation interpolated with (stand-ins for what only a target
    /// decides), for compiling without one.
    builtins: BTreeMap<String, String>,
}

impl ValidPlan {
    /// A problem found once the target is known (a path that leaves it through a symlink on
    /// disk), placed at step `i` of phase `p` like every other diagnostic.
    pub fn step_problem(&self, p: usize, i: usize, message: String, help: &str) -> Diagnostics {
        let loc = Loc::value(with(step_path(p, i), at!["id"]));
        diagnose(&self.source, vec![Problem::new(loc, message, help)])
    }

    /// Every variable: user vars plus `builtins` (`target`, `plan_dir`; they win).
    pub fn all_vars(&self, builtins: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = self.vars.clone();
        all.extend(builtins.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    /// The plan with every `${var}` replaced, then compiled (`runs`/`warmup` integers with their
    /// defaults, timeouts durations, gates parsed); `builtins` holds `target` (the absolute
    /// target directory) and `plan_dir`.
    pub fn resolve(&self, builtins: &BTreeMap<String, String>) -> Result<Resolved, Diagnostics> {
        self.resolve_stage(builtins, None)
    }

    /// As [`ValidPlan::resolve`], for the stage `stage` (index into the plan's stages, from
    /// [`super::stages::choose`]): only the phases that stage runs, with its environment.
    pub fn resolve_stage(
        &self,
        builtins: &BTreeMap<String, String>,
        stage: Option<usize>,
    ) -> Result<Resolved, Diagnostics> {
        let out = interpolate_plan(&self.plan, &self.all_vars(builtins));
        if !out.problems.is_empty() {
            return Err(diagnose(&self.source, out.problems));
        }
        let (selected, kept) = match stage {
            Some(k) => super::stages::select(&out.plan, k),
            None => (out.plan.clone(), (0..out.plan.phases.len()).collect()),
        };
        let known = super::compiled::Known {
            graph: self.graph.restrict(&kept),
            gates: kept.iter().map(|&p| self.gates[p].clone()).collect(),
        };
        let compiled = super::compiled::compile(&selected, &out.timeouts, &out.max_times, known);
        let mut plan = compiled.map_err(|mut problems| {
            for p in &mut problems {
                super::stages::unselect(&mut p.loc.path, &kept);
            }
            diagnose(&self.source, problems)
        })?;
        super::baselines::mark(&mut plan.phases, &plan.graph);
        plan.stages = super::stages::compile(&out.plan);
        plan.stage = stage;
        self.place_gates(&mut plan, &kept);
        Ok(Resolved { plan })
    }

    /// The plan compiled with the stand-ins validation used for what only a target decides
    /// (`target`, `plan_dir`, `python`, the services' variables): what `planrun graph` draws,
    /// in the order an apply runs it.
    pub fn compile(&self) -> Result<Resolved, Diagnostics> {
        self.resolve(&self.builtins)
    }

    /// Sets each gate's line in the plan file (one parse for all of them); `kept` maps the
    /// compiled plan's phases to the phases as written (a stage runs some of them).
    fn place_gates(&self, plan: &mut super::compiled::Plan, kept: &[usize]) {
        let locs: Vec<Loc> = plan
            .phases
            .iter()
            .enumerate()
            .flat_map(|(p, phase)| {
                let written = kept.get(p).copied().unwrap_or(p);
                (0..phase.gates.len())
                    .map(move |g| Loc::value(at!["phase", written, "gate", g, "check"]))
            })
            .collect();
        let spans = super::load::spans(&self.source, &locs);
        let gates = plan.phases.iter_mut().flat_map(|p| p.gates.iter_mut());
        for (gate, span) in gates.zip(spans) {
            gate.line = (span != (0..0)).then(|| self.source.line_col(span.start).0);
        }
    }

    /// `3 phases, 7 steps, 3 gates`.
    pub fn summary(&self) -> String {
        let phases = self.plan.phases.len();
        let steps = self.plan.steps().count();
        let gates: usize = self.plan.phases.iter().map(|p| p.gates.len()).sum();
        let mut text = format!(
            "{}, {}, {}",
            count(phases, "phase"),
            count(steps, "step"),
            count(gates, "gate")
        );
        if !self.plan.stages.is_empty() {
            text.push_str(&format!(", {}", count(self.plan.stages.len(), "stage")));
        }
        text
    }
}

/// A plan ready to execute: interpolated and compiled, every value in its final type.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The compiled plan.
    pub plan: super::compiled::Plan,
}

/// The names of the built-in variables.
pub const BUILTINS: [&str; 2] = ["target", "plan_dir"];

pub use super::resolve::PYTHON;

/// The variables validation interpolates with: `vars`, the built-ins, and stand-ins for the
/// services' variables the command line does not fix.
fn with_builtins(
    plan: &Plan,
    vars: &BTreeMap<String, String>,
    target: &Path,
    dir: &Path,
) -> BTreeMap<String, String> {
    let mut all = vars.clone();
    // Discovery needs the target; validation only needs the name to be defined.
    all.entry(PYTHON.into())
        .or_insert_with(|| super::compiled::DEFAULT_PYTHON.into());
    all.insert("target".into(), target.display().to_string());
    all.insert("plan_dir".into(), dir.display().to_string());
    for (name, value) in super::service_vars::placeholders(plan) {
        all.entry(name).or_insert(value);
    }
    all
}

/// A malformed `--var` argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarArgError {
    /// No `=` in the argument.
    #[error("`--var {0}` lacks a value; write `--var {0}=VALUE`")]
    NoValue(String),
    /// The part before `=` is not a variable name.
    #[error("`--var {0}`: `{1}` is not a variable name (letters, digits, `_`, `-` and `.`)")]
    BadName(String, String),
}

/// Splits a `--var key=value` argument.
pub fn parse_var_arg(arg: &str) -> Result<(String, String), VarArgError> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| VarArgError::NoValue(arg.to_string()))?;
    if !super::interp::is_var_name(key) {
        return Err(VarArgError::BadName(arg.to_string(), key.to_string()));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Checks everything about a loaded plan that its structure alone does not say; the valid plan
/// takes the loaded one over (a big plan is not copied).
pub fn validate(
    loaded: LoadedPlan,
    overrides: &[(String, String)],
) -> Result<ValidPlan, Diagnostics> {
    let plan = &loaded.plan;
    let mut vars = plan.var_values();
    vars.extend(overrides.iter().cloned());
    let secret_vars = secret_vars(plan, overrides);
    let target = loaded
        .dir
        .join(plan.default_target.as_deref().unwrap_or("."));
    let all = with_builtins(plan, &vars, &target, &loaded.dir);
    let mut problems = Vec::new();
    // A big plan is interpolated on a thread of its own while this one checks its ids and
    // builds its graph; its problems still come after those checks'.
    let (graph, out) = beside(
        plan.steps().count() >= BESIDE_MIN,
        || interpolate_plan(plan, &all),
        || {
            check_var_names(plan, &mut problems);
            check_overrides(plan, &loaded.dir, overrides, &mut problems);
            check_ids_and_needs(plan, &mut problems);
            check_env_names(plan, &mut problems);
            let graph = PlanGraph::build(plan);
            if let Err(cycles) = &graph {
                check_cycles(plan, cycles, &mut problems);
            }
            if let Some(t) = &plan.default_target {
                if Path::new(t).is_absolute() || t.is_empty() {
                    problems.push(Problem::new(
                    Loc::value(at!["default_target"]),
                    format!("`default_target` must be a path relative to the plan file, not `{t}`"),
                    "write it relative to this file, e.g. `../my-repo`, or pass `--target` instead",
                ));
                }
            }
            graph
        },
    );
    problems.extend(out.problems);
    let gates = check_resolved(
        &Checked {
            raw: plan,
            plan: &out.plan,
            graph: graph.as_ref().ok(),
            failed: &out.failed,
        },
        &loaded.dir,
        &all,
        &mut problems,
    );
    let graph = match graph {
        Ok(graph) if problems.is_empty() => graph,
        _ => return Err(diagnose(&loaded.source, problems)),
    };
    // What `with_builtins` added to `vars` or set over them.
    let builtins = all
        .iter()
        .filter(|(name, _)| !vars.contains_key(*name) || BUILTINS.contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(ValidPlan {
        graph,
        gates,
        builtins,
        plan: loaded.plan,
        path: loaded.path,
        dir: loaded.dir,
        vars,
        secret_vars,
        source: loaded.source,
    })
}

/// Plans of at least this many steps are interpolated beside the other checks: below it,
/// starting a thread costs more than it saves.
const BESIDE_MIN: usize = 1000;

/// `(here(), there())`, `there` on another thread when `apart` holds and there is a core for it.
fn beside<A: Send, B>(
    apart: bool,
    there: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (B, A) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !apart || cores < 2 {
        let b = here();
        return (b, there());
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(there);
        let b = here();
        match other.join() {
            Ok(a) => (b, a),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The names of the secret variables: marked `secret = true` in `[vars]`, or named like a secret
/// (see [`crate::secrets::is_secret_name`]), in `[vars]` or on the command line.
fn secret_vars(plan: &Plan, overrides: &[(String, String)]) -> BTreeSet<String> {
    let marked = plan
        .vars
        .iter()
        .filter(|(name, def)| def.marked_secret() || crate::secrets::is_secret_name(name))
        .map(|(name, _)| name.clone());
    let named = overrides
        .iter()
        .map(|(name, _)| name)
        .filter(|name| crate::secrets::is_secret_name(name))
        .cloned();
    marked.chain(named).collect()
}

/// "step id `x` is not an identifier: it contains `/`", with what identifiers may contain.
fn not_ident(loc: Loc, what: &str, name: &str, ctx: &str, e: crate::ident::IdentError) -> Problem {
    let ctx = if ctx.is_empty() {
        String::new()
    } else {
        format!(" {ctx}")
    };
    Problem::new(
        loc,
        format!(
            "{what} `{}`{ctx} is not an identifier: {e}",
            crate::ident::shown(name)
        ),
        format!(
            "use 1 to {} {}; {what}s name files under `.planrun/`",
            crate::ident::MAX_LEN,
            crate::ident::ALLOWED
        ),
    )
}

/// A `write` step's template must be a readable UTF-8 file beside the plan whose `${vars}` are
/// all defined, so a missing or broken template is found before any step runs.
fn check_template(
    plan_dir: &Path,
    vars: &BTreeMap<String, String>,
    template: &str,
    loc: Vec<Seg>,
    ctx: &str,
    problems: &mut Vec<Problem>,
) {
    let path = plan_dir.join(template);
    let problem = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((
            format!("template `{template}` {ctx} does not exist"),
            format!(
                "create `{}`, or fix the path: templates are relative to the plan file",
                path.display()
            ),
        )),
        Err(_) if path.is_dir() => Some((
            format!("template `{template}` {ctx} is a directory"),
            "name a file, e.g. `templates/conftest.py`".to_string(),
        )),
        Err(e) => Some((
            format!("template `{template}` {ctx} cannot be read: {e}"),
            "check the file's permissions".to_string(),
        )),
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(_) => Some((
                format!("template `{template}` {ctx} is not UTF-8 text"),
                "save the template as UTF-8".to_string(),
            )),
            Ok(text) => super::interp::interpolate(&text, vars).err().map(|e| {
                let help = match &e {
                    super::InterpError::Unknown { name, .. } => {
                        did_you_mean(name, vars.keys().map(String::as_str)).unwrap_or_else(|| {
                            format!("define it in `[vars]` or pass `--var {name}=...`")
                        })
                    }
                    _ => "write `$${` in the template for a literal `${`".to_string(),
                };
                (format!("template `{template}` {ctx}: {e}"), help)
            }),
        },
    };
    if let Some((message, help)) = problem {
        problems.push(Problem::new(Loc::value(loc), message, help));
    }
}

fn check_var_names(plan: &Plan, problems: &mut Vec<Problem>) {
    for name in plan.vars.keys() {
        if !super::interp::is_var_name(name) {
            problems.push(Problem::new(
                Loc::key(at!["vars", name.as_str()]),
                format!("`{name}` is not a valid variable name"),
                "use letters, digits, `_`, `-` and `.`, starting with a letter or `_`",
            ));
        } else if BUILTINS.contains(&name.as_str()) {
            problems.push(Problem::new(
                Loc::key(at!["vars", name.as_str()]),
                format!("`{name}` is a built-in variable and cannot be set in `[vars]`"),
                "rename the variable; `${target}` and `${plan_dir}` are always defined",
            ));
        }
    }
}

/// A `--var` must name a variable the plan declares in `[vars]` or refers to as `${name}`, a
/// service's variable, `python` or a built-in: a misspelt one would otherwise be dropped
/// without a word while the plan runs with its default.
fn check_overrides(
    plan: &Plan,
    dir: &Path,
    overrides: &[(String, String)],
    problems: &mut Vec<Problem>,
) {
    if overrides.is_empty() {
        return;
    }
    let services = super::service_vars::placeholders(plan);
    let used = super::resolve::referenced(plan, dir);
    let known: Vec<&str> = plan
        .vars
        .keys()
        .map(String::as_str)
        .chain(used.iter().map(String::as_str))
        .chain(services.keys().map(String::as_str))
        .chain([PYTHON])
        .chain(BUILTINS)
        .collect();
    for (name, _) in overrides {
        if known.contains(&name.as_str()) {
            continue;
        }
        let help = did_you_mean(name, known.iter().copied()).unwrap_or_else(|| {
            if plan.vars.is_empty() {
                "this plan declares no variables".to_string()
            } else {
                format!(
                    "the plan declares: {}",
                    plan.vars.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        });
        let message = format!("`--var {name}`: the plan declares no variable `{name}`");
        let loc = if plan.vars.is_empty() {
            Loc::key(at!["name"])
        } else {
            Loc::key(at!["vars"])
        };
        problems.push(Problem::new(loc, message, help));
    }
}

fn step_path(p: usize, i: usize) -> Vec<Seg> {
    at!["phase", p, "step", i]
}

fn with(mut path: Vec<Seg>, more: Vec<Seg>) -> Vec<Seg> {
    path.extend(more);
    path
}

fn duplicate(loc: Loc, first: Loc, message: String, help: &str) -> Problem {
    let mut problem = Problem::new(loc, message, help);
    problem.first = Some(first);
    problem
}

fn check_ids_and_needs(plan: &Plan, problems: &mut Vec<Problem>) {
    // FNV, not SipHash: every id and every `needs` of a big plan is hashed here.
    let mut phases: fnv::FnvHashMap<&str, usize> = fnv::FnvHashMap::default();
    for (p, phase) in plan.phases.iter().enumerate() {
        if let Err(e) = crate::ident::check(&phase.id) {
            problems.push(not_ident(
                Loc::value(at!["phase", p, "id"]),
                "phase id",
                &phase.id,
                "",
                e,
            ));
        }
        if let Some(&first) = phases.get(phase.id.as_str()) {
            problems.push(duplicate(
                Loc::value(at!["phase", p, "id"]),
                Loc::value(at!["phase", first, "id"]),
                format!("duplicate phase id `{}`", phase.id),
                "give each phase its own id",
            ));
        } else {
            phases.insert(&phase.id, p);
        }
    }
    let mut steps: fnv::FnvHashMap<&str, (usize, usize)> = fnv::FnvHashMap::default();
    for (p, i, step) in indexed_steps(plan) {
        if let Err(e) = crate::ident::check(step.id()) {
            problems.push(not_ident(
                Loc::value(with(step_path(p, i), at!["id"])),
                "step id",
                step.id(),
                "",
                e,
            ));
        }
        if let Some(&(fp, fi)) = steps.get(step.id()) {
            problems.push(duplicate(
                Loc::value(with(step_path(p, i), at!["id"])),
                Loc::value(with(step_path(fp, fi), at!["id"])),
                format!("duplicate step id `{}`", step.id()),
                "step ids are unique across the whole plan; rename one",
            ));
        } else {
            steps.insert(step.id(), (p, i));
        }
    }
    for (p, phase) in plan.phases.iter().enumerate() {
        for (n, need) in phase.needs.iter().enumerate() {
            if !phases.contains_key(need.as_str()) {
                let help = if steps.contains_key(need.as_str()) {
                    format!("`{need}` is a step; a phase's `needs` names phases (put it on a step instead)")
                } else {
                    did_you_mean(need, phases.keys().copied())
                        .unwrap_or_else(|| "name a phase defined in this plan".to_string())
                };
                let loc = Loc::value(at!["phase", p, "needs", n]);
                problems.push(Problem::new(
                    loc,
                    format!("phase `{}` needs unknown phase `{need}`", phase.id),
                    help,
                ));
            }
        }
    }
    for (p, i, step) in indexed_steps(plan) {
        for (n, need) in step.needs().iter().enumerate() {
            if !steps.contains_key(need.as_str()) {
                let help = if phases.contains_key(need.as_str()) {
                    format!("`{need}` is a phase; to wait for a whole phase, put `needs = [\"{need}\"]` on this step's phase")
                } else {
                    did_you_mean(need, steps.keys().copied())
                        .unwrap_or_else(|| "name a step defined in this plan".to_string())
                };
                let loc = Loc::value(with(step_path(p, i), at!["needs", n]));
                problems.push(Problem::new(
                    loc,
                    format!("step `{}` needs unknown step `{need}`", step.id()),
                    help,
                ));
            }
        }
    }
}

/// Environment variable names a process can be given (also a service's `export`s): not empty,
/// without `=` or NUL.
fn check_env_names(plan: &Plan, problems: &mut Vec<Problem>) {
    for (p, i, step) in indexed_steps(plan) {
        let exported = match step {
            Step::Service(s) => Some(&s.export),
            _ => None,
        };
        let named = [("env", step.env()), ("export", exported)];
        for (key, name) in named.into_iter().flat_map(|(key, map)| {
            map.into_iter()
                .flat_map(|m| m.keys())
                .map(move |n| (key, n))
        }) {
            if name.is_empty() || name.contains(['=', '\0']) {
                problems.push(Problem::new(
                    Loc::key(with(step_path(p, i), at![key, name.as_str()])),
                    format!(
                        "`{}` in step `{}` is not an environment variable name",
                        crate::ident::shown(name),
                        step.id()
                    ),
                    "name it with letters, digits and `_`, without `=`",
                ));
            }
        }
    }
}

fn indexed_steps(plan: &Plan) -> impl Iterator<Item = (usize, usize, &Step)> {
    plan.phases
        .iter()
        .enumerate()
        .flat_map(|(p, phase)| phase.steps.iter().enumerate().map(move |(i, s)| (p, i, s)))
}

/// One problem per cycle, at the first `needs` entry on it.
fn check_cycles(plan: &Plan, err: &CycleError, problems: &mut Vec<Problem>) {
    for (cycle, text) in err.cycles.iter().zip(err.describe(plan)) {
        let loc = cycle
            .windows(2)
            .find_map(|w| need_entry(plan, w[0], w[1]))
            .unwrap_or_else(|| Loc::value(Vec::new()));
        let message = if cycle.len() == 2 {
            format!("`{}` needs itself", cycle[0].name(plan))
        } else {
            format!("dependency cycle: {text}")
        };
        problems.push(Problem::new(
            loc,
            message,
            "remove one of these `needs` to break the cycle",
        ));
    }
}

/// The `needs` entry that makes `from` wait for `to`, when one is written in the plan.
fn need_entry(plan: &Plan, from: Node, to: Node) -> Option<Loc> {
    let phase_need = |p: usize, q: usize| {
        let target = &plan.phases[q].id;
        let n = plan.phases[p].needs.iter().position(|x| x == target)?;
        Some(Loc::value(at!["phase", p, "needs", n]))
    };
    match (from, to) {
        (
            Node::Step { phase, index },
            Node::Step {
                phase: tp,
                index: ti,
            },
        ) => {
            let target = plan.phases[tp].steps[ti].id();
            let n = plan.phases[phase].steps[index]
                .needs()
                .iter()
                .position(|x| x == target)?;
            Some(Loc::value(with(step_path(phase, index), at!["needs", n])))
        }
        (Node::Step { phase, .. }, Node::Gates { phase: q }) => phase_need(phase, q),
        (Node::Gates { phase }, Node::Gates { phase: q }) => phase_need(phase, q),
        (Node::Gates { .. }, Node::Step { .. }) => None,
    }
}

/// Where a path must stay.
#[derive(Clone, Copy)]
enum Base {
    Target,
    PlanDir,
}

/// Why a path is refused, lexically: absolute, empty, or leaving its base with `..`.
fn confinement(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    let mut depth = 0usize;
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Some("is absolute"),
            Component::ParentDir if depth == 0 => return Some("leaves"),
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    None
}

fn check_path(
    path: &str,
    base: Base,
    loc: Loc,
    what: &str,
    ctx: &str,
    problems: &mut Vec<Problem>,
) {
    let Some(why) = confinement(path) else {
        return;
    };
    let (base_name, help) = match base {
        Base::Target => (
            "the target",
            "write it relative to the target repository, without leaving it",
        ),
        Base::PlanDir => (
            "the plan's directory",
            "keep templates beside the plan, e.g. `templates/conftest.py`",
        ),
    };
    let message = match why {
        "leaves" => format!("{what} `{path}` {ctx} leaves {base_name} with `..`"),
        why => format!("{what} `{path}` {ctx} {why}"),
    };
    problems.push(Problem::new(loc, message, help));
}

/// What the checks of interpolated values read: the plan as written and interpolated, its
/// graph (`None` when it has a cycle, reported on its own), and the fields that failed to
/// interpolate (reported already).
struct Checked<'a> {
    raw: &'a Plan,
    plan: &'a Plan,
    graph: Option<&'a PlanGraph>,
    failed: &'a super::resolve::Failed,
}

/// Checks that need interpolated values: paths, templates, modes, regexes, records, gates.
/// Returns the gates as parsed.
fn check_resolved(
    checked: &Checked<'_>,
    plan_dir: &Path,
    vars: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> super::gates::Parsed {
    let Checked {
        raw,
        plan,
        graph,
        failed,
    } = *checked;
    let mut records: HashMap<&str, Vec<Seg>> = HashMap::new();
    for (p, i, step) in indexed_steps(plan) {
        let base = step_path(p, i);
        let field = |rel: Vec<Seg>| {
            let path = with(base.clone(), rel);
            (!failed.contains(&path)).then_some(path)
        };
        let ctx = format!("in step `{}`", step.id());
        let mut paths = step.paths();
        for (rel, path) in paths.drain(..) {
            if let Some(loc) = field(rel) {
                check_path(path, Base::Target, Loc::value(loc), "path", &ctx, problems);
            }
        }
        match step {
            Step::Write(s) => {
                if let Some(loc) = field(at!["template"]) {
                    let before = problems.len();
                    check_path(
                        &s.template,
                        Base::PlanDir,
                        Loc::value(loc.clone()),
                        "template",
                        &ctx,
                        problems,
                    );
                    if problems.len() == before {
                        check_template(plan_dir, vars, &s.template, loc, &ctx, problems);
                    }
                }
                if let Some((mode, loc)) = s.mode.as_deref().zip(field(at!["mode"])) {
                    if u32::from_str_radix(mode, 8).map_or(true, |m| m > 0o7777) {
                        problems.push(Problem::new(
                            Loc::value(loc),
                            format!("mode `{mode}` {ctx} is not an octal permission"),
                            "write it as an octal string such as `\"0644\"` or `\"0755\"`",
                        ));
                    }
                }
            }
            Step::Replace(s) if s.regex => {
                if let Some(loc) = field(at!["pattern"]) {
                    if let Err(e) = regex::Regex::new(&s.pattern) {
                        let first = e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .trim()
                            .to_string();
                        problems.push(Problem::new(
                            Loc::value(loc),
                            format!(
                                "pattern {ctx} is not a valid regular expression: {}",
                                first.trim_start_matches("error: ")
                            ),
                            "fix the pattern, or set `regex = false` to match it literally",
                        ));
                    }
                }
            }
            Step::Suite(s) => {
                check_suite_extras(s, &base, &ctx, problems);
                let loc = with(base.clone(), at!["record"]);
                if failed.contains(&loc) {
                    continue;
                }
                if let Err(e) = crate::ident::check(&s.record) {
                    problems.push(not_ident(
                        Loc::value(loc),
                        "suite record",
                        &s.record,
                        &ctx,
                        e,
                    ));
                } else if s.record == "history" {
                    problems.push(Problem::new(
                        Loc::value(loc),
                        format!("suite record `history` {ctx} is reserved"),
                        "`history.*` names the stage's run history in criteria; call the record something else, e.g. `after`",
                    ));
                } else if let Some(first) = records.get(s.record.as_str()) {
                    problems.push(duplicate(
                        Loc::value(loc),
                        Loc::value(first.clone()),
                        format!("duplicate suite record `{}` {ctx}", s.record),
                        "give each suite its own `record` name; gates refer to records by name",
                    ));
                } else {
                    records.insert(&s.record, loc);
                }
            }
            _ => {}
        }
    }
    let before = graph.map(|g| records_before_gates(plan, g));
    check_marks(plan, graph, failed, &records, problems);
    let gates = super::gates::check(
        raw,
        plan,
        failed,
        &records.keys().copied().collect::<Vec<_>>(),
        &|phase, record| before.as_ref().is_none_or(|b| b[phase].contains(record)),
        problems,
    );
    check_measured_metrics(plan, &gates, problems);
    super::stages::check(
        raw,
        plan,
        &records.keys().copied().collect::<Vec<_>>(),
        problems,
    );
    gates
}

/// A suite's budgets parse and its coverage options fit: both need pytest, and
/// `coverage_source` needs `coverage = true`.
fn check_suite_extras(
    s: &super::model::SuiteStep,
    base: &[Seg],
    ctx: &str,
    problems: &mut Vec<Problem>,
) {
    for (key, &seconds) in &s.budgets {
        if let Err(e) = crate::measure::budget::Budget::parse(key, seconds) {
            problems.push(Problem::new(
                Loc::key(with(base.to_vec(), at!["budgets", key.as_str()])),
                format!("{e} {ctx}"),
                crate::measure::budget::HELP,
            ));
        }
    }
    for (i, entry) in s.known_failures.iter().enumerate() {
        if let Err((why, hint)) = crate::plan::baselines::check_pattern(entry) {
            problems.push(Problem::new(
                Loc::value(with(base.to_vec(), at!["known_failures", i])),
                format!("known failure {} {ctx} {why}", i + 1),
                hint,
            ));
        }
    }
    if let Err(p) = super::shards::compile(s, Loc::value(with(base.to_vec(), at!["shards"]))) {
        problems.push(*p);
    }
    let command = s.framework == super::model::Framework::Command;
    if command
        && matches!(&s.warmup, Some(super::model::IntOrVar::Var(v)) if v.trim() == super::model::COLLECT)
    {
        problems.push(super::compiled::collect_needs_pytest(
            Loc::value(with(base.to_vec(), at!["warmup"])),
            ctx,
        ));
    }
    for (field, used) in [
        ("budgets", !s.budgets.is_empty()),
        ("coverage", s.coverage),
        ("known_failures", !s.known_failures.is_empty()),
    ] {
        if command && used {
            problems.push(Problem::new(
                Loc::key(with(base.to_vec(), at![field])),
                format!("`{field}` {ctx} needs pytest's per-test results, but the suite has `framework = \"command\"`"),
                format!("remove `{field}`, or run the suite as pytest (the default framework)"),
            ));
        }
    }
    if !s.coverage && !s.coverage_source.is_empty() {
        problems.push(Problem::new(
            Loc::key(with(base.to_vec(), at!["coverage_source"])),
            format!("`coverage_source` {ctx} is given, but `coverage` is not true"),
            "add `coverage = true`, or remove `coverage_source`",
        ));
    }
}

/// Each `mark` step reads a record some suite measures before it, names a `conftest.py`, and
/// has thresholds that make sense (`0 < fast <= slow`).
fn check_marks(
    plan: &Plan,
    graph: Option<&PlanGraph>,
    failed: &super::resolve::Failed,
    records: &HashMap<&str, Vec<Seg>>,
    problems: &mut Vec<Problem>,
) {
    let before = graph.map(|g| ancestor_records(plan, g));
    for (p, i, step) in indexed_steps(plan) {
        let Step::Mark(s) = step else { continue };
        let base = step_path(p, i);
        let ctx = format!("in step `{}`", s.id);
        let from = with(base.clone(), at!["from"]);
        if !failed.contains(&from) {
            if !records.contains_key(s.from.as_str()) {
                let help = did_you_mean(&s.from, records.keys().copied()).unwrap_or_else(|| {
                    format!(
                        "add a `suite` step with `record = \"{}\"` before this step",
                        s.from
                    )
                });
                problems.push(Problem::new(
                    Loc::value(from),
                    format!(
                        "step `{}` marks tests from record `{}`, which no `suite` step records",
                        s.id, s.from
                    ),
                    help,
                ));
            } else if before
                .as_ref()
                .is_some_and(|b| !b.get(&(p, i)).is_some_and(|r| r.contains(&s.from)))
            {
                problems.push(Problem::new(
                    Loc::value(from),
                    format!(
                        "step `{}` marks tests from record `{}`, but the suite that records it does not run before this step",
                        s.id, s.from
                    ),
                    "add that suite's step to this step's `needs`, or put this step in a phase that `needs` the suite's phase",
                ));
            }
        }
        if let Some(conftest) = &s.conftest {
            let loc = with(base.clone(), at!["conftest"]);
            if !failed.contains(&loc)
                && Path::new(conftest)
                    .file_name()
                    .is_none_or(|n| n != "conftest.py")
            {
                problems.push(Problem::new(
                    Loc::value(loc),
                    format!("`conftest` {ctx} must name a file called `conftest.py`, not `{conftest}`"),
                    "pytest loads hooks only from files named `conftest.py`, e.g. `tests/conftest.py`",
                ));
            }
        }
        let fast = s.fast.unwrap_or(crate::plan::compiled::DEFAULT_MARK_FAST);
        let slow = s.slow.unwrap_or(crate::plan::compiled::DEFAULT_MARK_SLOW);
        for (key, value) in [("fast", fast), ("slow", slow)] {
            if !(value.is_finite() && value > 0.0) {
                problems.push(Problem::new(
                    Loc::value(with(base.clone(), at![key])),
                    format!("`{key}` {ctx} must be a positive number of seconds, not {value}"),
                    "e.g. `fast = 0.1` and `slow = 1.0`",
                ));
            }
        }
        if fast > slow {
            problems.push(Problem::new(
                Loc::value(with(base.clone(), at!["fast"])),
                format!("`fast` ({fast} s) {ctx} is more than `slow` ({slow} s)"),
                "a test is fast below `fast` and slow above `slow`: make `fast` at most `slow`",
            ));
        }
    }
}

/// A gate may read `over_budget` only of a suite with `budgets`, and `coverage` only of one
/// with `coverage = true`: otherwise the metric would never have a value. Reads the gates as
/// [`super::gates::check`] parsed them (those it could not parse are reported there).
fn check_measured_metrics(plan: &Plan, gates: &super::gates::Parsed, problems: &mut Vec<Problem>) {
    let suites: HashMap<&str, &super::model::SuiteStep> = plan
        .steps()
        .filter_map(|(_, s)| match s {
            Step::Suite(s) => Some((s.record.as_str(), s)),
            _ => None,
        })
        .collect();
    for (p, phase) in plan.phases.iter().enumerate() {
        for g in 0..phase.gates.len() {
            let path = at!["phase", p, "gate", g, "check"];
            let parsed = gates.get(p).and_then(|phase| phase.get(g));
            let Some((_, expr)) = parsed.and_then(Option::as_ref) else {
                continue;
            };
            let mut named = BTreeSet::new();
            for m in expr.metric_refs() {
                let Some(suite) = suites.get(m.record.as_str()) else {
                    continue;
                };
                let missing = match m.metric() {
                    "over_budget" if suite.budgets.is_empty() => Some((
                        "has no `budgets`",
                        "give the suite `budgets = { \"tests/unit\" = 0.1 }` (seconds per test)",
                    )),
                    "coverage" if !suite.coverage => Some((
                        "does not set `coverage = true`",
                        "add `coverage = true` to the suite (pytest-cov must be installed)",
                    )),
                    _ => None,
                };
                if let Some((why, help)) = missing {
                    if named.insert((m.record.clone(), m.metric().to_string())) {
                        problems.push(Problem::new(
                            Loc::value(path.clone()),
                            format!(
                                "check in gate {} of phase `{}` reads `{}.{}`, but suite `{}` {why}, so it never has a value",
                                g + 1,
                                phase.id,
                                m.record,
                                m.metric(),
                                suite.id
                            ),
                            help,
                        ));
                    }
                }
            }
        }
    }
}

/// For each `mark` step, the records of the suites that run before it (its ancestors).
fn ancestor_records(plan: &Plan, graph: &PlanGraph) -> HashMap<(usize, usize), BTreeSet<String>> {
    let mut out = HashMap::new();
    for (p, i, step) in indexed_steps(plan) {
        if !matches!(step, Step::Mark(_)) {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut stack = graph.deps(Node::Step { phase: p, index: i });
        let mut found = BTreeSet::new();
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            if let Node::Step { phase, index } = node {
                if let Some(Step::Suite(suite)) = plan.phases[phase].steps.get(index) {
                    found.insert(suite.record.clone());
                }
            }
            stack.extend(graph.deps(node));
        }
        out.insert((p, i), found);
    }
    out
}

/// For each phase, the records of the suites that have finished by the time its gates are
/// checked (its own suites and those it depends on); `None` when the graph has a cycle, which
/// is reported on its own. One pass in topological order with a bit per record keeps this linear
/// in the size of the graph.
fn records_before_gates<'p>(plan: &'p Plan, graph: &PlanGraph) -> Vec<BTreeSet<&'p str>> {
    let mut names: Vec<&str> = Vec::new();
    for (_, step) in plan.steps() {
        if let Step::Suite(s) = step {
            if !names.contains(&s.record.as_str()) {
                names.push(&s.record);
            }
        }
    }
    let words = names.len().div_ceil(64).max(1);
    let order = graph.order();
    let index: fnv::FnvHashMap<Node, usize> =
        order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut masks = vec![0u64; order.len() * words];
    let mut before = vec![std::collections::BTreeSet::new(); plan.phases.len()];
    for (i, node) in order.iter().enumerate() {
        for dep in graph.deps(*node) {
            let Some(&d) = index.get(&dep) else { continue };
            for w in 0..words {
                masks[i * words + w] |= masks[d * words + w];
            }
        }
        match *node {
            Node::Step { phase, index } => {
                if let Some(Step::Suite(s)) = plan.phases[phase].steps.get(index) {
                    if let Some(bit) = names.iter().position(|n| *n == s.record) {
                        masks[i * words + bit / 64] |= 1 << (bit % 64);
                    }
                }
            }
            Node::Gates { phase } => {
                before[phase] = names
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| masks[i * words + bit / 64] & (1 << (bit % 64)) != 0)
                    .map(|(_, n)| *n)
                    .collect();
            }
        }
    }
    before
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
