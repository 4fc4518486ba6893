//! Whether this plan, with these inputs, is already applied to the target and still in effect:
//! then an apply has nothing to do (Terraform's "No changes"), or is refused when a person
//! changed what it wrote since.

use crate::error::{Error, Result};
use crate::exec::output::Notice;
use crate::exec::setup::Prepared;
use crate::journal::state::Status;

/// What identifies this apply's inputs: the plan file, every variable, and the stage.
pub fn plan_hash(prep: &Prepared) -> String {
    hash_with(prep, prep.vars.clone())
}

/// [`plan_hash`] as a report carries it off the machine, with secret variables masked (a hash
/// of a secret would let it be guessed) and without where the target, the plan and the Python
/// environment are (each machine's own: the jobs of a CI matrix differ in them and still apply
/// one plan alike). `planrun report merge` checks its parts share it.
pub fn report_plan_hash(prep: &Prepared) -> String {
    let mut vars = prep.shown_vars();
    for own in ["target", "plan_dir", crate::plan::validate::PYTHON] {
        vars.remove(own);
    }
    hash_with(prep, vars)
}

fn hash_with(prep: &Prepared, mut vars: std::collections::BTreeMap<String, String>) -> String {
    let bytes = std::fs::read(&prep.plan_path).unwrap_or_default();
    vars.retain(|name, _| !prep.picked_vars.contains(name));
    if let Some(stage) = prep.plan.current_stage().map(|s| s.id.as_str()) {
        // Not a variable name a plan can declare (`${...}` names are identifiers).
        vars.insert("planrun stage".into(), stage.to_string());
    }
    crate::journal::state::plan_hash(&bytes, &vars)
}

/// The newest run still in effect on the target when it is this same plan with the same inputs,
/// with the paths that changed since it wrote them.
fn in_effect(
    prep: &Prepared,
    plan_hash: &str,
) -> Option<(
    crate::journal::state::RunSummary,
    Vec<crate::journal::outcome::Drift>,
)> {
    use crate::journal::{entry, paths, replay, state};
    let target = &prep.target;
    let run = state::history(target)
        .ok()?
        .into_iter()
        .find(|r| !matches!(r.status, Status::RolledBack | Status::Abandoned))?;
    let dir = paths::run_dir(target, &run.id);
    let record = state::read_record(&dir).ok()?;
    if run.status != Status::Applied || record.plan_hash.is_empty() || record.plan_hash != plan_hash
    {
        return None;
    }
    let drift = entry::read_log(&dir, true)
        .and_then(|entries| replay::drift(target, &dir, &entries))
        .unwrap_or_default();
    Some((run, drift))
}

/// The run that already applied this plan, with these inputs, to the target, when it is still
/// in effect and nothing it wrote has changed since: an apply would do nothing.
pub fn applied_here(prep: &Prepared) -> Option<String> {
    in_effect(prep, &plan_hash(prep))
        .filter(|(_, drift)| drift.is_empty())
        .map(|(run, _)| run.id)
}

/// When the newest run still in effect on the target is this same plan with the same inputs:
/// the notice to say instead of applying (exit 0) if nothing it wrote has changed since
/// (Terraform's "No changes"), or a refusal naming what changed, when something did.
pub fn already_applied(prep: &Prepared, plan_hash: &str) -> Result<Option<Notice>> {
    use crate::journal::paths;
    let target = &prep.target;
    let Some((run, drift)) = in_effect(prep, plan_hash) else {
        return Ok(None);
    };
    if !drift.is_empty() {
        let names: Vec<&str> = drift.iter().map(|d| d.path.as_str()).collect();
        return Err(Error::Message {
            message: format!(
                "plan `{}` is already applied here (run {}, {}), and these files changed since: {}",
                prep.plan.name,
                run.id,
                run.started,
                names.join(", ")
            ),
            hint: Some(format!(
                "`planrun rollback --target {0}` to start from the original (your changes are kept unless you pass --force), or `--reapply` to apply on top",
                target.display()
            )),
        });
    }
    Ok(Some(Notice::AlreadyApplied {
        plan: prep.plan.name.clone(),
        target: target.clone(),
        report: paths::report_json(target, &run.id),
        run_id: run.id,
        started: run.started,
    }))
}
