//! The integration-test harness: one shared Python venv, temp copies of example repos, and one
//! builder that runs the real `planrun` binary and checks its exit code and exact output.

// Each test module, and each of the two test binaries (tests/integration, tests/e2e), uses the
// part of the harness it needs; the rest would warn per binary.
#![allow(dead_code, unused_imports)]

pub mod browser;
mod exclusive;
mod load;
mod normalize;
mod plans;
mod project;
mod run;
mod venv;

use std::path::{Path, PathBuf};

pub use exclusive::{busy, exclusive};
pub use load::busy_loops;
pub use normalize::Normalizer;
pub use plans::{mini, one_phase_plan, plan_file, EDIT_APPLIED, EDIT_PLAN};
pub use project::{digest_tree, hash_into, Project};
pub use run::{lines, Output, Test};
pub use venv::{cached_venv, env_path, poetry, python, run_ok, sh, tools_venv, uv, uv_cache_dir};

/// The repository root (where Cargo.toml, examples/ and plans/ are).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory for this build, found from the binary under test so that
/// `CARGO_TARGET_DIR` is honoured.
pub fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_planrun"));
    bin.parent()
        .and_then(Path::parent)
        .map_or_else(|| repo_root().join("target"), Path::to_path_buf)
}

/// A plan file of this repository, e.g. `plan("xdist.toml")`.
pub fn plan(name: &str) -> PathBuf {
    repo_root().join("plans").join(name)
}

/// 64-bit FNV-1a: std has no cryptographic hash, and these digests only compare files a test
/// wrote or copied, where an accidental collision is not a concern.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The directory of the only run on `project` (a test that expects exactly one apply there).
pub fn only_run(project: &Project) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(project.join(".planrun/runs"))
        .expect("a runs directory")
        .map(|e| e.expect("a run").path())
        .collect();
    assert_eq!(runs.len(), 1, "expected one run, got {runs:?}");
    runs.into_iter().next().unwrap()
}

/// The `report.json` of the newest run in `project` (run ids sort by time).
pub fn newest_report(project: &Project) -> serde_json::Value {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(project.join(".planrun/runs"))
        .expect("read .planrun/runs")
        .map(|e| e.expect("a run directory").path())
        .filter(|p| p.join("report.json").exists())
        .collect();
    dirs.sort();
    let newest = dirs
        .last()
        .expect("a run with a report")
        .join("report.json");
    let text = std::fs::read_to_string(&newest).expect("read report.json");
    serde_json::from_str(&text).expect("parse report.json")
}
