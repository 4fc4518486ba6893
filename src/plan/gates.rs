//! Gate checks at validation time: each `check` parses (the column is pointed at inside the
//! file) and reads only records some `suite` step produces and metrics a record has.

use super::diag::did_you_mean;
use super::locate::{at, Loc};
use super::model::Plan;
use super::resolve::Problem;
use crate::criteria;

/// Each gate's check text and its parse, by phase and gate (`None`: not parsed).
pub type Parsed = Vec<Vec<Option<(String, criteria::Expr)>>>;

#[cfg(test)]
thread_local! {
    /// How many gate checks this thread parsed: each is parsed once per load.
    pub static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Parses one gate's check (every gate parse of the plan layer goes through here).
pub fn parse(check: &str) -> Result<criteria::Expr, criteria::ParseError> {
    #[cfg(test)]
    PARSES.with(|n| n.set(n.get() + 1));
    criteria::parse(check)
}

/// Checks every gate of `resolved` (the interpolated plan); `raw` is the plan as written, so
/// offsets inside an unchanged `check` can point at the exact column. Returns each check
/// parsed, for the checks after this one and for compiling.
pub fn check(
    raw: &Plan,
    resolved: &Plan,
    failed: &super::resolve::Failed,
    records: &[&str],
    ready: &dyn Fn(usize, &str) -> bool,
    problems: &mut Vec<Problem>,
) -> Parsed {
    let mut parsed: Parsed = resolved
        .phases
        .iter()
        .map(|p| vec![None; p.gates.len()])
        .collect();
    for (p, phase) in resolved.phases.iter().enumerate() {
        for (g, gate) in phase.gates.iter().enumerate() {
            let path = at!["phase", p, "gate", g, "check"];
            if failed.contains(&path) {
                continue;
            }
            let unchanged = raw.phases[p].gates[g].check == gate.check;
            let place = |offset: usize, len: usize| {
                if unchanged {
                    let end = (offset + len).min(gate.check.len());
                    Loc::in_string(path.clone(), offset.min(end)..end)
                } else {
                    Loc::value(path.clone())
                }
            };
            let ctx = format!("in gate {} of phase `{}`", g + 1, phase.id);
            let expr = match parse(&gate.check) {
                Ok(expr) => parsed[p][g].insert((gate.check.clone(), expr)).1.clone(),
                Err(e) => {
                    problems.push(Problem::new(
                        place(e.offset, 1),
                        format!("invalid check {ctx}: {}", e.message),
                        "write a criteria expression such as `after.wall.median <= baseline.wall.median * 0.8`",
                    ));
                    continue;
                }
            };
            for m in expr.metric_refs() {
                if m.record == "history" {
                    problems.push(Problem::new(
                        place(m.offset, m.record.len()),
                        format!(
                            "check {ctx} reads `{}`; a gate reads this run's records",
                            m.path
                        ),
                        "criteria over the run history belong in a stage's `promote` list (`[[stage.promote]]`)",
                    ));
                } else if !records.contains(&m.record.as_str()) {
                    let help =
                        did_you_mean(&m.record, records.iter().copied()).unwrap_or_else(|| {
                            if records.is_empty() {
                                format!("add a `suite` step with `record = \"{}\"`", m.record)
                            } else {
                                format!(
                                    "records produced by suites: {}",
                                    quoted(records.iter().copied())
                                )
                            }
                        });
                    problems.push(Problem::new(
                        place(m.offset, m.record.len()),
                        format!(
                            "check {ctx} reads record `{}`, which no `suite` step records",
                            m.record
                        ),
                        help,
                    ));
                } else if !ready(p, &m.record) {
                    problems.push(Problem::new(
                        place(m.offset, m.record.len()),
                        format!(
                            "check {ctx} reads record `{}`, but the suite that records it does not run before this gate",
                            m.record
                        ),
                        "move the gate to a phase that `needs` the suite's phase, or add the suite step to this phase",
                    ));
                } else if !criteria::KNOWN_METRICS.contains(&m.metric()) {
                    let help = did_you_mean(m.metric(), criteria::KNOWN_METRICS.iter().copied())
                        .unwrap_or_else(|| {
                            format!(
                                "known metrics: {}",
                                quoted(criteria::KNOWN_METRICS.iter().copied())
                            )
                        });
                    problems.push(Problem::new(
                        place(m.offset + m.record.len() + 1, m.metric().len()),
                        format!("unknown metric `{}` {ctx}", m.metric()),
                        help,
                    ));
                }
            }
        }
    }
    parsed
}

fn quoted<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
