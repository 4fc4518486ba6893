//! What the rows run with: the release binary, the repository's files, the test venv the
//! integration tests build (the same code, so both share one venv), and the peers' tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::{self, Ctx, Res};

// The integration tests' venv builder, compiled here as it is there: it builds
// target/test-venv from tests/requirements.txt once, stamped with the file's hash, and takes
// nothing from the machine's global site-packages.
#[path = "../../tests/integration/support/venv.rs"]
#[allow(dead_code)]
pub mod venv;

/// The repository's root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory, found from the release binary so that `CARGO_TARGET_DIR` is
/// honoured.
pub fn target_dir() -> PathBuf {
    planrun_bin()
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| repo_root().join("target"), Path::to_path_buf)
}

/// 64-bit FNV-1a, which the venv builder stamps the requirements with.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The planrun binary cargo built for this bench (the release profile).
pub fn planrun_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_planrun"))
}

/// Whether a variable of the bench's own environment would put planrun in another mode or
/// change what it costs: CI mode, log levels and planrun's own knobs, another uv.
fn scrubbed(key: &str) -> bool {
    key == "CI"
        || key == "RUST_LOG"
        || key == "UV"
        || key.starts_with("GITHUB_")
        || key.starts_with("PLANRUN_")
}

/// `planrun <args>` as the tests run it: the test venv first on `PATH` (its `uv`, `python`),
/// uv's shared cache, no colour.
pub fn planrun(args: &[&str]) -> Command {
    let mut cmd = Command::new(planrun_bin());
    cmd.args(args)
        .env("PATH", venv::env_path())
        .env("UV_CACHE_DIR", venv::uv_cache_dir())
        .env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(scrubbed) {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The test venv's interpreter.
pub fn python() -> PathBuf {
    venv::python()
}

/// The first `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `just`: on `PATH`, else the one a previous run installed under target/bench-tools, else
/// installed there now from PyPI's `rust-just` (a wheel that ships the binary) with the test
/// venv's pip.
pub fn just() -> Res<PathBuf> {
    if let Some(just) = which("just") {
        return Ok(just);
    }
    let dir = target_dir().join("bench-tools");
    let just = dir.join("bin/just");
    if just.is_file() {
        return Ok(just);
    }
    measure::run(
        Command::new(python())
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&dir)
            .arg("rust-just"),
    )
    .map_err(|e| format!("`pip install rust-just` failed: {}", first_line(&e)))?;
    if just.is_file() {
        Ok(just)
    } else {
        Err(format!("rust-just installed no {}", just.display()))
    }
}

/// A tool's `--version` line, to name it in the table.
pub fn version(tool: &Path) -> Res<String> {
    let out = Command::new(tool)
        .arg("--version")
        .output()
        .ctx(format!("run {} --version", tool.display()))?;
    Ok(first_line(&String::from_utf8_lossy(&out.stdout)).to_string())
}

pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Copies the tree at `from` to `to`, leaving out what a run leaves behind (venvs, journals,
/// caches).
pub fn copy_tree(from: &Path, to: &Path) -> Res<()> {
    const SKIP: &[&str] = &[".venv", ".planrun", "__pycache__", ".pytest_cache"];
    std::fs::create_dir_all(to).ctx(format!("create {}", to.display()))?;
    for entry in std::fs::read_dir(from).ctx(format!("read {}", from.display()))? {
        let entry = entry.ctx(format!("read {}", from.display()))?;
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().ctx("file type")?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).ctx(format!("copy {}", src.display()))?;
        }
    }
    Ok(())
}

/// A fresh temporary directory.
pub fn tempdir() -> Res<tempfile::TempDir> {
    tempfile::tempdir().ctx("create a temporary directory")
}

/// Writes `text` to `path`, creating its parent.
pub fn write(path: &Path, text: impl AsRef<[u8]>) -> Res<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).ctx(format!("create {}", parent.display()))?;
    }
    std::fs::write(path, text).ctx(format!("write {}", path.display()))
}
