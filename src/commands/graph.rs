//! `planrun graph`: print a valid plan's step graph as DOT or Mermaid, drawn from the compiled
//! plan (the graph and order an apply runs).

use crate::cli::{GraphArgs, GraphFormat};
use crate::error::Result;
use crate::graph::{Labels, Node};
use crate::plan::compiled::Plan;
use crate::{exit, plan, ui};

/// Runs `planrun graph`.
pub fn run(args: &GraphArgs) -> Result<u8> {
    let valid = plan::load(&args.plan).and_then(|loaded| plan::validate(loaded, &[]))?;
    let compiled = valid.compile()?.plan;
    let text = draw(&compiled, args.format);
    ui::out(text.trim_end());
    Ok(exit::OK)
}

/// The compiled plan's graph in `format`.
pub fn draw(plan: &Plan, format: GraphFormat) -> String {
    let cluster = |p: usize| {
        let phase = &plan.phases[p];
        match &phase.title {
            Some(title) => format!("{}: {title}", phase.id),
            None => phase.id.clone(),
        }
    };
    let node = |node: Node| match node {
        Node::Step { phase, index } => {
            let step = &plan.phases[phase].steps[index];
            format!("{}\n{}", step.id(), step.action())
        }
        Node::Gates { phase } => match plan.phases[phase].gates.len() {
            0 => format!("{} done", plan.phases[phase].id),
            1 => "1 gate".to_string(),
            n => format!("{n} gates"),
        },
    };
    let labels = Labels {
        phases: plan.phases.len(),
        cluster: &cluster,
        node: &node,
    };
    match format {
        GraphFormat::Dot => plan.graph.to_dot(&labels),
        GraphFormat::Mermaid => plan.graph.to_mermaid(&labels),
    }
}
