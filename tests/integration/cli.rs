//! The command line itself: help, version, unknown commands.

use std::process::Command;

fn planrun() -> Command {
    Command::new(env!("CARGO_BIN_EXE_planrun"))
}

#[test]
fn help_lists_every_subcommand() {
    let out = planrun().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "validate", "graph", "schema", "apply", "rollback", "history", "unlock", "report",
    ] {
        assert!(text.contains(sub), "--help lacks {sub}:\n{text}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let out = planrun().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("planrun {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_subcommand_exits_2() {
    let out = planrun().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
