//! `planrun validate`: load and check each plan, print a summary line or every problem.

use crate::cli::ValidateArgs;
use crate::error::{Error, Result};
use crate::{exit, plan, ui};

/// Parses every `--var key=value`; a malformed one is a usage error.
pub fn overrides(vars: &[String]) -> Result<Vec<(String, String)>> {
    vars.iter()
        .map(|v| plan::parse_var_arg(v).map_err(|e| Error::invalid(e.to_string(), None)))
        .collect()
}

/// Runs `planrun validate`.
pub fn run(args: &ValidateArgs) -> Result<u8> {
    let overrides = overrides(&args.vars)?;
    let color = ui::stderr_color();
    let mut code = exit::OK;
    for path in &args.plans {
        match plan::load(path).and_then(|loaded| plan::validate(&loaded, &overrides)) {
            Ok(valid) => ui::out(&format!("{}: ok — {}", path.display(), valid.summary())),
            Err(diagnostics) => {
                ui::err(&diagnostics.render(color));
                let n = diagnostics.len();
                let noun = if n == 1 { "problem" } else { "problems" };
                ui::err(&format!(
                    "{} {}: {n} {noun}\n",
                    ui::paint(color, ui::Style::BoldRed, "invalid:"),
                    path.display()
                ));
                code = exit::INVALID;
            }
        }
    }
    Ok(code)
}
