//! Sets `PLANRUN_VERSION` for `--version`: the crate version, plus the commit and its date when
//! built from a git checkout of planrun (`0.1.0 (3f2c1a9b0 2026-12-02)`); the crate version
//! alone when built from an sdist, a wheel's sources or a tarball.
//!
//! Release builds are rebuilt when HEAD moves, so an installed binary names its commit. Debug
//! builds are not: the whole crate would recompile on every commit of a development loop, so a
//! debug binary names the commit of its last clean build.

#[path = "build/git.rs"]
mod git;

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let full = match git::commit(&dir) {
        Some((hash, date)) => format!("{version} ({hash} {date})"),
        None => version,
    };
    println!("cargo:rustc-env=PLANRUN_VERSION={full}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/git.rs");
    if std::env::var("PROFILE").is_ok_and(|p| p == "release") {
        for file in git::head_files(&dir) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
}
