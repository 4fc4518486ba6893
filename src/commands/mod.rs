//! One module per subcommand; this file only routes.

mod apply;
pub mod ci;
mod graph;
mod history;
mod init;
mod manual;
mod merge;
mod report;
mod rollback;
mod schema;
mod shard;
mod status;
mod suggest;
mod unlock;
mod validate;

use crate::cli::Command;
use crate::error::Result;

/// Runs a subcommand and returns its exit code.
pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Validate(args) => validate::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Schema => schema::run(),
        Command::Apply(args) => apply::run(&args),
        Command::Rollback(args) => rollback::run(&args),
        Command::History(args) => history::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Unlock(args) => unlock::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Plans => init::list(),
        Command::Init(args) => init::run(&args),
        Command::Ci(args) => ci::run(&args),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
        Command::Suggest(args) => suggest::run(&args),
    }
}
