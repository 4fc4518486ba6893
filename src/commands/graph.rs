//! `planrun graph`: print a valid plan's step graph as DOT or Mermaid.

use crate::cli::{GraphArgs, GraphFormat};
use crate::error::{Error, Result};
use crate::graph::PlanGraph;
use crate::{exit, plan, ui};

/// Runs `planrun graph`.
pub fn run(args: &GraphArgs) -> Result<u8> {
    let valid = plan::load(&args.plan).and_then(|loaded| plan::validate(&loaded, &[]));
    let valid = valid?;
    let graph = PlanGraph::build(&valid.plan).map_err(|e| Error::invalid(e.to_string(), None))?;
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(&valid.plan),
        GraphFormat::Mermaid => graph.to_mermaid(&valid.plan),
    };
    ui::out(text.trim_end());
    Ok(exit::OK)
}
