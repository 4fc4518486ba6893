//! Rollout stages: their checks at validation time, and the plan an apply at one stage runs.
//!
//! `--stage ID` runs the phases of every stage up to and including ID, plus the phases no stage
//! names (those run at every stage), with the environment of those stages (a later stage's
//! value wins, a step's own `env` wins over all). A staged phase may need only phases that run
//! whenever it runs: common ones, its own stage's, and earlier stages'.

use std::collections::{BTreeMap, HashMap};

use super::locate::{at, Loc, Seg};
use super::model::Plan;
use super::resolve::Problem;
use crate::criteria;
use crate::metrics;

/// A stage, compiled: its promotion criteria parsed.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The stage id.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// The phases it adds.
    pub phases: Vec<String>,
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// What must hold in its history before the next stage is applied.
    pub promote: Vec<Criterion>,
}

/// A promotion criterion.
#[derive(Debug, Clone)]
pub struct Criterion {
    /// The check as written (interpolated).
    pub check: String,
    /// The check, parsed.
    pub expr: criteria::Expr,
    /// Why it is there.
    pub why: Option<String>,
}

/// Checks the stages of `raw` (as written) and `resolved` (interpolated): identifiers, unique
/// ids, phases that exist and belong to one stage, `needs` that always run first, environment
/// names, and promotion checks that parse and read only `history.*`.
pub fn check(raw: &Plan, resolved: &Plan, records: &[&str], problems: &mut Vec<Problem>) {
    let phase_index: HashMap<&str, usize> = raw
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut stage_ids: HashMap<&str, usize> = HashMap::new();
    // The stage that names each phase; phases no stage names are common.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (k, stage) in raw.stages.iter().enumerate() {
        if let Err(e) = crate::ident::check(&stage.id) {
            problems.push(Problem::new(
                Loc::value(at!["stage", k, "id"]),
                format!(
                    "stage id `{}` is not an identifier: {e}",
                    crate::ident::shown(&stage.id)
                ),
                "use ASCII letters, digits, `_` and `-`, e.g. `ci-partial`",
            ));
        }
        if let Some(&first) = stage_ids.get(stage.id.as_str()) {
            let mut p = Problem::new(
                Loc::value(at!["stage", k, "id"]),
                format!("duplicate stage id `{}`", stage.id),
                "give each stage its own id",
            );
            p.first = Some(Loc::value(at!["stage", first, "id"]));
            problems.push(p);
        } else {
            stage_ids.insert(&stage.id, k);
        }
        for (j, phase) in stage.phases.iter().enumerate() {
            let loc = Loc::value(at!["stage", k, "phases", j]);
            if !phase_index.contains_key(phase.as_str()) {
                let known: Vec<&str> = raw.phases.iter().map(|p| p.id.as_str()).collect();
                problems.push(Problem::new(
                    loc,
                    format!(
                        "stage `{}` names phase `{phase}`, which the plan does not have",
                        stage.id
                    ),
                    super::diag::did_you_mean(phase, known.iter().copied())
                        .unwrap_or_else(|| format!("phases: {}", quoted(&known))),
                ));
            } else if let Some(&other) = owner.get(phase.as_str()) {
                problems.push(Problem::new(
                    loc,
                    format!(
                        "phase `{phase}` is in stage `{}` and stage `{}`",
                        raw.stages[other].id, stage.id
                    ),
                    "a stage runs every earlier stage's phases too: name each phase in the first stage that needs it",
                ));
            } else {
                owner.insert(phase, k);
            }
        }
        for name in stage.env.keys() {
            if name.is_empty() || name.contains(['=', '\0']) {
                problems.push(Problem::new(
                    Loc::key(at!["stage", k, "env", name.as_str()]),
                    format!(
                        "`{}` in stage `{}` is not an environment variable name",
                        crate::ident::shown(name),
                        stage.id
                    ),
                    "name it with letters, digits and `_`, without `=`",
                ));
            }
        }
    }
    // A phase runs whenever its stage or a later one is applied (common ones: always); what
    // it needs must run whenever it does.
    let rank = |phase: &str| owner.get(phase).copied();
    for (p, phase) in raw.phases.iter().enumerate() {
        for (j, need) in phase.needs.iter().enumerate() {
            let (Some(need_rank), true) = (rank(need), phase_index.contains_key(need.as_str()))
            else {
                continue;
            };
            let runs_without = match rank(&phase.id) {
                None => true,
                Some(mine) => need_rank > mine,
            };
            if runs_without {
                let when = match rank(&phase.id) {
                    None => "at every stage".to_string(),
                    Some(mine) => format!("at stage `{}`", raw.stages[mine].id),
                };
                problems.push(Problem::new(
                    Loc::value(at!["phase", p, "needs", j]),
                    format!(
                        "phase `{}` runs {when}, but needs phase `{need}` of the later stage `{}`",
                        phase.id, raw.stages[need_rank].id
                    ),
                    "move the needed phase to the same or an earlier stage, or this phase to its stage",
                ));
            }
        }
    }
    for (k, stage) in resolved.stages.iter().enumerate() {
        for (c, criterion) in stage.promote.iter().enumerate() {
            let path = at!["stage", k, "promote", c, "check"];
            let ctx = format!("in promotion criterion {} of stage `{}`", c + 1, stage.id);
            let expr = match criteria::parse(&criterion.check) {
                Ok(expr) => expr,
                Err(e) => {
                    problems.push(Problem::new(
                        Loc::value(path),
                        format!("invalid check {ctx}: {}", e.message),
                        "write a criteria expression over the history, e.g. `history.green_streak >= 5 and history.fail_rate <= 0.05`",
                    ));
                    continue;
                }
            };
            for m in expr.metric_refs() {
                if m.record != "history" {
                    problems.push(Problem::new(
                        Loc::value(path.clone()),
                        format!(
                            "check {ctx} reads `{}`; promotion reads the stage's run history",
                            m.path
                        ),
                        "write `history.<metric>`, e.g. `history.runs >= 10`, or `history.<record>.<metric>` such as `history.after.wall.median`",
                    ));
                } else if !metrics::history_known(m.metric(), records) {
                    problems.push(unknown_history_metric(path.clone(), m.metric(), &ctx));
                }
            }
        }
    }
}

/// The problem for a `history.<metric>` no window answers.
pub fn unknown_history_metric(path: Vec<Seg>, metric: &str, ctx: &str) -> Problem {
    let help =
        super::diag::did_you_mean(metric, metrics::HISTORY.iter().copied()).unwrap_or_else(|| {
            format!(
            "history metrics: {}, or `<record>.<metric>` with a record of this plan and one of {}",
            quoted(metrics::HISTORY),
            quoted(metrics::HISTORY_RECORD)
        )
        });
    Problem::new(
        Loc::value(path),
        format!("unknown history metric `history.{metric}` {ctx}"),
        help,
    )
}

/// The stages of an interpolated plan, compiled. Call after [`check`] passed.
pub fn compile(plan: &Plan) -> Vec<Stage> {
    plan.stages
        .iter()
        .map(|s| Stage {
            id: s.id.clone(),
            title: s.title.clone(),
            phases: s.phases.clone(),
            env: s.env.clone(),
            promote: s
                .promote
                .iter()
                .filter_map(|c| {
                    Some(Criterion {
                        check: c.check.clone(),
                        expr: criteria::parse(&c.check).ok()?,
                        why: c.why.clone(),
                    })
                })
                .collect(),
        })
        .collect()
}

/// Which stage an apply runs: `wanted`, or the first stage of a plan that has any.
/// The error is a message and a hint.
pub fn choose(plan: &Plan, wanted: Option<&str>) -> Result<Option<usize>, (String, String)> {
    let ids = || {
        plan.stages
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
    };
    match wanted {
        None if plan.stages.is_empty() => Ok(None),
        None => Ok(Some(0)),
        Some(id) if plan.stages.is_empty() => Err((
            format!("--stage {id} given, but plan `{}` has no stages", plan.name),
            "drop --stage, or declare `[[stage]]` entries in the plan".into(),
        )),
        Some(id) => plan
            .stages
            .iter()
            .position(|s| s.id == id)
            .map(Some)
            .ok_or_else(|| {
                let known = ids();
                (
                    format!("plan `{}` has no stage `{id}`", plan.name),
                    super::diag::did_you_mean(id, known.iter().copied())
                        .unwrap_or_else(|| format!("its stages, in order: {}", quoted(&known))),
                )
            }),
    }
}

/// The plan an apply at stage `k` runs: the phases of stages `..=k` and the common ones, in
/// file order, each process step with the stages' environment under its own. Returns the
/// plan and, for each of its phases, the phase's index in `plan` (for diagnostics).
pub fn select(plan: &Plan, k: usize) -> (Plan, Vec<usize>) {
    let staged: HashMap<&str, usize> = plan
        .stages
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.phases.iter().map(move |p| (p.as_str(), i)))
        .collect();
    let mut env = BTreeMap::new();
    for stage in &plan.stages[..=k] {
        env.extend(stage.env.iter().map(|(a, b)| (a.clone(), b.clone())));
    }
    let mut out = plan.clone();
    let mut kept = Vec::new();
    out.phases.clear();
    for (i, phase) in plan.phases.iter().enumerate() {
        if staged.get(phase.id.as_str()).is_some_and(|&s| s > k) {
            continue;
        }
        let mut phase = phase.clone();
        for step in &mut phase.steps {
            if let Some(own) = step.env_mut() {
                for (name, value) in &env {
                    own.entry(name.clone()).or_insert_with(|| value.clone());
                }
            }
        }
        out.phases.push(phase);
        kept.push(i);
    }
    (out, kept)
}

/// A diagnostic path into a selected plan, mapped back to the plan as written.
pub fn unselect(path: &mut [Seg], kept: &[usize]) {
    if let [Seg::Key(first), Seg::Index(p), ..] = path {
        if first == "phase" {
            if let Some(&orig) = kept.get(*p) {
                *p = orig;
            }
        }
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
