//! The integration-test harness: one shared Python venv, temp copies of example repos, and
//! running the real `planrun` binary in them.

// Each test module uses the part of the harness it needs; the rest would warn per module.
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

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

/// The shared test venv (`target/test-venv`) with tests/requirements.txt installed.
///
/// Built at most once per test run: a `OnceLock` serialises the threads of this process and
/// an exclusive lock on `target/test-venv.lock` serialises concurrent test processes. It is
/// reused across runs while a stamp file holds the hash of the requirements it was built from.
pub fn tools_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let target = target_dir();
        let venv = target.join("test-venv");
        fs::create_dir_all(&target).expect("create the target directory");
        let lock = File::create(target.join("test-venv.lock")).expect("create the venv lock file");
        // flock rather than File::lock: the crate's MSRV predates File::lock, and an flock is
        // released by the kernel when a test process dies holding it.
        // SAFETY: flock only reads the descriptor, which `lock` keeps open until it is dropped.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(
            rc,
            0,
            "lock the test venv: {}",
            std::io::Error::last_os_error()
        );
        let requirements = repo_root().join("tests/requirements.txt");
        let wanted = format!(
            "{:016x}\n",
            fnv1a(&fs::read(&requirements).expect("read tests/requirements.txt"))
        );
        let stamp = venv.join(".requirements-stamp");
        let fresh = venv.join("bin/python").exists()
            && fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted);
        if !fresh {
            build_venv(&venv, &requirements);
            // Written last, so an interrupted build is redone by the next run.
            fs::write(&stamp, wanted).expect("write the venv stamp");
        }
        // Dropping the file closes it, which releases the lock.
        drop(lock);
        venv
    })
}

fn build_venv(venv: &Path, requirements: &Path) {
    if venv.exists() {
        fs::remove_dir_all(venv).expect("remove the stale test venv");
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").arg("-m").arg("venv").arg(venv),
        "python3 -m venv target/test-venv",
    );
    run(
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
        "pip install -r tests/requirements.txt",
    );
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

/// What a finished `planrun` printed and how it exited.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; a death by signal `n` is reported as `128 + n`.
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Output {
    /// Converts what `std::process` collected (e.g. from `Child::wait_with_output`).
    pub fn from_std(out: std::process::Output) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let code = out
            .status
            .code()
            .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
        Output {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless `ok` holds; `what` says what was expected.
    pub fn check(&self, ok: bool, what: &str) -> &Self {
        assert!(
            ok,
            "expected {what}, got exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Expects this exit code.
    pub fn expect_code(&self, code: i32) -> &Self {
        self.check(self.code == code, &format!("exit code {code}"))
    }

    /// Expects `needle` in standard output.
    pub fn expect_stdout(&self, needle: &str) -> &Self {
        self.check(
            self.stdout.contains(needle),
            &format!("stdout to contain {needle:?}"),
        )
    }

    /// Expects `needle` in standard error.
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        self.check(
            self.stderr.contains(needle),
            &format!("stderr to contain {needle:?}"),
        )
    }

    /// Both streams, for assertions that search either.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Entries never copied from an example: local environments and planrun's own state.
const NOT_COPIED: &[&str] = &[".venv", ".planrun", "__pycache__", ".pytest_cache"];

/// Entries `hash_tree` ignores: planrun's state and what running Python leaves behind.
const NOT_HASHED: &[&str] = &[".planrun", ".venv", "__pycache__", ".pytest_cache"];

/// A temporary copy of `examples/<name>`, removed when dropped.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Copies `examples/<name>` as committed (see [`Project::from_dir`]) into a temp dir.
    pub fn new(name: &str) -> Project {
        let src = repo_root().join("examples").join(name);
        assert!(src.is_dir(), "no example {}", src.display());
        Project::from_dir(&src)
    }

    /// Copies a directory of this repository into a temp dir, e.g. a fixture target under
    /// tests/fixtures/targets/: its content as committed in git when it is committed, so that
    /// whatever an apply left in the working tree (the README's first command optimizes
    /// examples/persistence-demo in place) never becomes a test's starting point; else the
    /// working tree without its venv, caches or `.planrun`.
    pub fn from_dir(src: &Path) -> Project {
        assert!(src.is_dir(), "no directory {}", src.display());
        let name = src
            .file_name()
            .map_or("dir".into(), |n| n.to_string_lossy());
        let dir = tempfile::Builder::new()
            .prefix(&format!("planrun-{name}-"))
            .tempdir()
            .expect("create a temp dir");
        if !copy_committed(src, dir.path()) {
            copy_tree(src, dir.path());
        }
        Project { dir }
    }

    /// The copy's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the copy.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A file of the copy as text.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Writes a file of the copy, creating its directory.
    pub fn write(&self, rel: impl AsRef<Path>, text: &str) {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent directory");
        }
        let mut f =
            File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(text.as_bytes()).expect("write file");
    }

    /// Every file's mode and content digest (`len:fnv64`), keyed by relative path, ignoring
    /// `.planrun`, `.venv` and Python caches: equal maps mean byte-for-byte equal trees.
    pub fn hash_tree(&self) -> BTreeMap<PathBuf, (u32, String)> {
        let mut out = BTreeMap::new();
        hash_into(self.path(), self.path(), &mut out);
        out
    }

    /// Runs the real `planrun` with `args` in the copy, with the shared venv first on `PATH`,
    /// the shared uv cache and no colour.
    pub fn planrun<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let _shared = shared();
        let out = self.command(args).output().expect("run planrun");
        Output::from_std(out)
    }

    /// The `planrun` command [`Project::planrun`] runs, not yet started: for tests that spawn it
    /// and signal it while it runs.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_planrun"));
        cmd.args(args)
            .current_dir(self.path())
            .env("PATH", env_path())
            .env("UV_CACHE_DIR", uv_cache_dir())
            .env("NO_COLOR", "1");
        cmd
    }
}

/// Extracts `src` as committed at HEAD into `dst`; false when it is not in a git work tree
/// or not committed (a new fixture still being written), and nothing was extracted.
fn copy_committed(src: &Path, dst: &Path) -> bool {
    let Ok(rel) = src.strip_prefix(repo_root()) else {
        return false;
    };
    let Some(rel_text) = rel.to_str().filter(|r| !r.is_empty()) else {
        return false;
    };
    let archive = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["archive", "--format=tar", "HEAD", "--", rel_text])
        .output();
    let Some(archive) = archive
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())
    else {
        return false;
    };
    let mut tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dst)
        .arg(format!("--strip-components={}", rel.components().count()))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run tar");
    tar.stdin
        .take()
        .expect("tar's stdin")
        .write_all(&archive.stdout)
        .expect("feed tar");
    assert!(tar.wait().expect("wait for tar").success(), "tar failed");
    fs::read_dir(dst).is_ok_and(|mut d| d.next().is_some())
}

fn copy_tree(src: &Path, dst: &Path) {
    for entry in fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.expect("read directory entry");
        let name = entry.file_name();
        if NOT_COPIED.iter().any(|n| name == *n) {
            continue;
        }
        let (from, to) = (entry.path(), dst.join(&name));
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            fs::create_dir(&to).expect("create directory");
            copy_tree(&from, &to);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from).expect("read link"), &to)
                .expect("copy symlink");
        } else {
            // fs::copy keeps the permission bits, which hash_tree compares.
            fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
    }
}

fn hash_into(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u32, String)>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("read directory entry");
        if NOT_HASHED.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).expect("stat");
        let rel = path
            .strip_prefix(root)
            .expect("path under root")
            .to_path_buf();
        if meta.is_dir() {
            hash_into(root, &path, out);
        } else {
            let bytes = if meta.file_type().is_symlink() {
                fs::read_link(&path)
                    .expect("read link")
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(&path).expect("read file")
            };
            out.insert(
                rel,
                (
                    meta.permissions().mode(),
                    format!("{}:{:016x}", bytes.len(), fnv1a(&bytes)),
                ),
            );
        }
    }
}

/// Every plan in plans/ deserializes into the plan model, names the schema on its first line,
/// uses only variables it declares (or the builtins), and every `write` template it names exists.
#[test]
fn every_plan_parses() {
    use planrun::plan::model::{Plan, Step};
    let mut seen = 0;
    for entry in fs::read_dir(repo_root().join("plans")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ../schemas/plan.schema.json"),
            "{}",
            path.display()
        );
        let plan: Plan =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for name in text
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(n, _)| n))
        {
            let builtin = ["target", "plan_dir"].contains(&name);
            assert!(
                builtin || plan.vars.contains_key(name),
                "{}: unknown var ${{{name}}}",
                path.display()
            );
        }
        for (_, step) in plan.steps() {
            if let Step::Write(w) = step {
                let template = path.parent().unwrap().join(&w.template);
                assert!(
                    template.is_file(),
                    "{}: missing template {}",
                    path.display(),
                    w.template
                );
            }
        }
        seen += 1;
    }
    assert!(
        seen >= 2,
        "expected persistence.toml and xdist.toml, saw {seen} plans"
    );
}

/// A copy has every file of its example as committed, with the same bytes, and nothing else
/// (whatever an apply left in the working tree); a one-byte change shows in the tree hash.
#[test]
fn project_copy_matches_its_example_byte_for_byte() {
    let project = Project::new("persistence-demo");
    let listed = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["ls-files", "examples/persistence-demo"])
        .output()
        .expect("run git");
    let before = project.hash_tree();
    if listed.status.success() && !listed.stdout.is_empty() {
        for rel in String::from_utf8_lossy(&listed.stdout).lines() {
            let rel = Path::new(rel)
                .strip_prefix("examples/persistence-demo")
                .unwrap();
            let shown = Command::new("git")
                .arg("-C")
                .arg(repo_root())
                .arg("show")
                .arg(format!("HEAD:examples/persistence-demo/{}", rel.display()))
                .output()
                .expect("run git show");
            assert_eq!(
                before.get(rel).map(|(_, digest)| digest.clone()),
                Some(format!(
                    "{}:{:016x}",
                    shown.stdout.len(),
                    fnv1a(&shown.stdout)
                )),
                "{}",
                rel.display()
            );
        }
        assert_eq!(
            before.len(),
            String::from_utf8_lossy(&listed.stdout).lines().count()
        );
    } else {
        let mut source = BTreeMap::new();
        let src = repo_root().join("examples/persistence-demo");
        hash_into(&src, &src, &mut source);
        assert_eq!(before, source);
    }
    assert!(before.contains_key(Path::new("tests/conftest.py")));
    project.write(
        "tests/conftest.py",
        &(project.read("tests/conftest.py") + " "),
    );
    assert_ne!(project.hash_tree(), before);
}

/// The shared venv has what the plans install and check with, and `uv` is found on `PATH`.
#[test]
fn shared_venv_has_the_test_tools() {
    let out = Command::new(python())
        .args([
            "-c",
            "import pytest, xdist, pytest_reverse; print(pytest.__version__)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uv = Command::new("uv")
        .arg("--version")
        .env("PATH", env_path())
        .output()
        .unwrap();
    assert!(uv.status.success() && String::from_utf8_lossy(&uv.stdout).starts_with("uv "));
}

impl Project {
    /// Copies `tests/fixtures/<rel>` (a fixture target) into a temp dir, like [`Project::new`].
    pub fn fixture(rel: &str) -> Project {
        Project::from_dir(&repo_root().join("tests/fixtures").join(rel))
    }
}

/// Tests that time real suites take this lock exclusively; every `planrun` run through
/// [`Project::planrun`] takes it shared. cargo runs tests on parallel threads, and with two cores
/// a neighbour's commands would end up in a measurement.
static ISOLATION: RwLock<()> = RwLock::new(());

thread_local! {
    static EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
}

/// Holds the whole test binary to this test until dropped.
pub struct Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>);

/// Waits until no other test runs `planrun`, then keeps them waiting while the guard lives.
pub fn exclusive() -> Exclusive {
    let guard = ISOLATION.write().unwrap_or_else(PoisonError::into_inner);
    EXCLUSIVE.with(|e| e.set(true));
    Exclusive(guard)
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        EXCLUSIVE.with(|e| e.set(false));
    }
}

/// A shared hold for one `planrun` run; none inside a test that already holds it exclusively.
fn shared() -> Option<RwLockReadGuard<'static, ()>> {
    if EXCLUSIVE.with(Cell::get) {
        None
    } else {
        Some(ISOLATION.read().unwrap_or_else(PoisonError::into_inner))
    }
}
