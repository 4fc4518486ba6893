//! The shared Python venv every test runs planrun with: built once per requirements file.

use std::ffi::OsString;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{fnv1a, repo_root, target_dir};

/// The shared test venv (`target/test-venv`) with tests/requirements.txt installed.
///
/// Built at most once per test run: a `OnceLock` serialises the threads of this process and
/// an exclusive lock on `target/test-venv.lock` serialises concurrent test processes. It is
/// reused across runs while a stamp file holds the hash of the requirements it was built from.
pub fn tools_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let requirements = repo_root().join("tests/requirements.txt");
        locked_venv(SHARED, &requirements, false)
    })
}

/// The shared venv's name under target/.
const SHARED: &str = "test-venv";

/// `target/<name>` with `requirements` installed, built when missing or when the requirements
/// changed, under an exclusive lock on `target/<name>.lock` (test processes may run at once).
/// Only the tests that need it build it, the first time they ask.
pub fn cached_venv(name: &str, requirements: &Path) -> PathBuf {
    assert_ne!(name, SHARED, "the shared venv is `tools_venv()`");
    // The shared venv first, outside this venv's lock: its uv builds this one.
    tools_venv();
    locked_venv(name, requirements, true)
}

fn locked_venv(name: &str, requirements: &Path, with_uv: bool) -> PathBuf {
    let target = target_dir();
    let venv = target.join(name);
    fs::create_dir_all(&target).expect("create the target directory");
    let lock =
        File::create(target.join(format!("{name}.lock"))).expect("create the venv lock file");
    // flock rather than File::lock: the crate's MSRV predates File::lock, and an flock is
    // released by the kernel when a test process dies holding it.
    // SAFETY: flock only reads the descriptor, which `lock` keeps open until it is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(
        rc,
        0,
        "lock the venv {name}: {}",
        std::io::Error::last_os_error()
    );
    let wanted = format!(
        "{:016x}\n",
        fnv1a(&fs::read(requirements).expect("read the requirements"))
    );
    let stamp = venv.join(".requirements-stamp");
    let fresh = venv.join("bin/python").exists()
        && fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted);
    if !fresh {
        build_venv(&venv, requirements, with_uv);
        // Written last, so an interrupted build is redone by the next run.
        fs::write(&stamp, wanted).expect("write the venv stamp");
    }
    // Dropping the file closes it, which releases the lock.
    drop(lock);
    venv
}

/// Runs `cmd` to its end and panics, with both streams, unless it succeeds.
pub fn run_ok(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Makes `venv` anew with `requirements` installed. The shared venv bootstraps with
/// `python3 -m venv` and pip, which are all a clean machine has; every other venv (Poetry, PDM,
/// Hatch, pytest 8/9, maturin) is made by the shared venv's uv from uv's shared cache: it
/// resolves and downloads in parallel and installs by hard links, where pip took 40-80 s a venv
/// on a loaded 2-core machine. `--seed` gives it pip, as `python3 -m venv` would.
fn build_venv(venv: &Path, requirements: &Path, with_uv: bool) {
    if venv.exists() {
        fs::remove_dir_all(venv).expect("remove the stale test venv");
    }
    if with_uv {
        sh(Command::new(uv())
            .args(["venv", "-q", "--seed", "--python", "python3"])
            .arg(venv));
        sh(Command::new(uv())
            .args(["pip", "install", "-q", "--python"])
            .arg(venv.join("bin/python"))
            .arg("-r")
            .arg(requirements));
        return;
    }
    run_ok(
        Command::new("python3").arg("-m").arg("venv").arg(venv),
        "python3 -m venv",
    );
    run_ok(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements),
        "pip install -r the requirements",
    );
}

/// Poetry, from PyPI, in a venv of its own (`target/poetry-venv`), built once like the shared one.
pub fn poetry() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        cached_venv(
            "poetry-venv",
            &repo_root().join("tests/poetry-requirements.txt"),
        )
    })
    .join("bin/poetry")
}

/// The shared venv's interpreter.
pub fn python() -> PathBuf {
    tools_venv().join("bin/python")
}

/// `PATH` with the shared venv's `bin` first, so children find its `uv`, `pytest` and `python`.
pub fn env_path() -> OsString {
    let bin = tools_venv().join("bin");
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest)))
        .expect("join PATH")
}

/// uv's cache, shared by every test of every run, so packages are downloaded once.
pub fn uv_cache_dir() -> PathBuf {
    target_dir().join("uv-cache")
}

/// The shared venv's uv.
pub fn uv() -> PathBuf {
    tools_venv().join("bin/uv")
}

/// Runs a set-up command with the shared venv first on `PATH` and uv's shared cache; panics
/// with its output when it fails; returns its standard output.
pub fn sh(cmd: &mut Command) -> String {
    let what = format!("{cmd:?}");
    let out = run_ok(
        cmd.env("PATH", env_path())
            .env("UV_CACHE_DIR", uv_cache_dir()),
        &what,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
