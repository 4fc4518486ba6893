//! `planrun completions SHELL` and `planrun man`: generated from the same clap types as `--help`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{Error, Result};

/// Prints the completion script of `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "planrun", &mut script);
    write_stdout(&script)
}

/// Prints planrun.1 on stdout, or writes it and one page per subcommand into `--dir`.
pub fn man(args: &ManArgs) -> Result<u8> {
    let command = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| {
                Error::io(
                    format!("failed to write man pages to `{}`", dir.display()),
                    e,
                )
            })?;
        crate::ui::status(&format!("wrote man pages to {}", dir.display()));
        return Ok(crate::exit::OK);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| Error::io("failed to render the man page", e))?;
    write_stdout(&page)
}

/// Generated text goes to stdout as it is: no masking, no colour to strip.
fn write_stdout(bytes: &[u8]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(crate::exit::OK),
        // A closed pipe (`planrun man | head`) is not an error of planrun's.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::OK),
        Err(e) => Err(Error::io("failed to write to stdout", e)),
    }
}
