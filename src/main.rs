use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Colour is decided before clap parses, so its own help and errors follow `--color` too.
    planrun::ui::init_color(planrun::cli::color_from_args(&args));
    let cli = planrun::cli::Cli::parse_from(args);
    planrun::logging::init(cli.verbose);
    let code = planrun::run(cli);
    ExitCode::from(code)
}
