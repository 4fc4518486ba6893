//! The command line itself: help, version, unknown commands.

use crate::support::lines;
use crate::support::Test;

#[test]
fn help_lists_every_subcommand() {
    let out = Test::new()
        .arg("--help")
        .verbatim()
        .stdout_snapshot("help")
        .run();
    for sub in [
        "validate", "graph", "schema", "apply", "rollback", "history", "unlock", "report",
    ] {
        assert!(
            out.stdout.contains(sub),
            "--help lacks {sub}:\n{}",
            out.stdout
        );
    }
}

/// Each subcommand's `--help`, the doc comments of cli.rs as the user reads them.
#[test]
fn every_subcommand_has_reviewed_help() {
    for sub in [
        "validate", "graph", "schema", "apply", "rollback", "history", "status", "unlock", "report",
    ] {
        Test::new()
            .args([sub, "--help"])
            .verbatim()
            .stdout_snapshot(&format!("help-{sub}"))
            .run();
    }
}

#[test]
fn version_prints_the_crate_version() {
    Test::new()
        .arg("--version")
        .stdout(format!("planrun {}\n", env!("CARGO_PKG_VERSION")))
        .run();
}

#[test]
fn unknown_subcommand_exits_2() {
    Test::new()
        .arg("frobnicate")
        .status(2)
        .stderr(lines(&[
            "error: unrecognized subcommand 'frobnicate'",
            "",
            "Usage: planrun [OPTIONS] <COMMAND>",
            "",
            "For more information, try '--help'.",
        ]))
        .run();
}
