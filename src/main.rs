use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = planrun::cli::Cli::parse();
    planrun::logging::init(cli.verbose);
    let code = planrun::run(cli);
    ExitCode::from(code)
}
