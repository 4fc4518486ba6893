//! planrun: executable, measured, reversible test-optimization plans for Python repositories.

pub mod cli;
pub mod commands;
pub mod criteria;
pub mod edit;
pub mod envjournal;
pub mod error;
pub mod exec;
pub mod exit;
pub mod fsutil;
pub mod gitstate;
pub mod graph;
pub mod history;
pub mod ident;
pub mod journal;
pub mod logging;
pub mod measure;
pub mod metrics;
pub mod ownership;
pub mod plan;
pub mod process;
pub mod pyenv;
pub mod report;
pub mod run;
pub mod secrets;
pub mod sinks;
pub mod styled;
pub mod suggest;
pub mod timestamp;
pub mod ui;
pub mod version;

#[cfg(test)]
mod action_layout_tests;
#[cfg(test)]
mod layout_tests;

/// Runs one parsed command line and returns the process exit code.
pub fn run(cli: cli::Cli) -> u8 {
    if cli.quiet {
        ui::set_quiet();
    }
    match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}
