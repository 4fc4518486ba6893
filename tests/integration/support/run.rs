//! The one way a test runs `planrun`: a builder naming where it runs, its arguments, environment
//! and input, and what must come out of it: the exit code and both streams, exact unless the
//! call says why they cannot be (as `just`'s `tests/test.rs`).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::exclusive::shared;
use super::{env_path, repo_root, target_dir, uv_cache_dir, Normalizer, Project};

/// Variables of the test process that would change planrun's output or verdicts; a test that
/// wants one sets it with [`Test::env`].
const SCRUBBED: &[&str] = &[
    "CI",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "RUST_LOG",
    "PLANRUN_LOG_MAX",
    "UV",
    // The environment planrun runs in is discovered from these: each test says its own.
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "POETRY_VIRTUALENVS_IN_PROJECT",
    "POETRY_VIRTUALENVS_PATH",
];

/// What a stream must be.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly this text, after normalisation.
    Exact(String),
    /// Each of these pieces, normalised like the output; for output that genuinely varies.
    Contains(Vec<String>),
    /// Not compared, for this reason: the test checks the output itself, e.g. per exit code.
    Unchecked(String),
    /// The insta snapshot of this name, in tests/integration/snapshots/; for long output.
    Snapshot(String),
}

impl Expect {
    fn contains(&mut self, needle: &str) {
        match self {
            Expect::Contains(needles) => needles.push(needle.to_string()),
            Expect::Exact(_) | Expect::Snapshot(_) | Expect::Unchecked(_) => {
                *self = Expect::Contains(vec![needle.to_string()]);
            }
        }
    }

    /// The reason `text` does not meet this expectation, if it does not.
    fn mismatch(&self, name: &str, text: &str, norm: &Normalizer) -> Option<String> {
        match self {
            Expect::Exact(want) if want != text => {
                let diff = similar::TextDiff::from_lines(want.as_str(), text);
                Some(format!(
                    "{name} differs (- expected, + actual):\n{}",
                    diff.unified_diff().context_radius(3)
                ))
            }
            Expect::Exact(_) => None,
            Expect::Contains(needles) => needles
                .iter()
                .map(|n| norm.apply(n))
                .find(|n| !text.contains(n.as_str()))
                .map(|n| format!("{name} lacks {n:?}")),
            // Compared by `snapshot`, once the exit code is known to be right.
            Expect::Snapshot(_) | Expect::Unchecked(_) => None,
        }
    }
}

/// One run of the real `planrun`, built up, then started by [`Test::run`] or [`Test::spawn`].
///
/// By default it runs in the repository root with exit code 0 and nothing on either stream
/// expected; the shared venv is first on `PATH`, uv uses the shared cache, colour is off and the
/// CI variables of the test process are removed.
#[must_use]
#[derive(Clone)]
pub struct Test<'a> {
    project: Option<&'a Project>,
    dir: PathBuf,
    wrapper: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    status: Vec<i32>,
    stdout: Expect,
    stderr: Expect,
    normalizer: Normalizer,
    verbatim: bool,
}

impl Default for Test<'static> {
    fn default() -> Self {
        Test::new()
    }
}

impl Test<'static> {
    /// A run in the repository root, where relative paths like `tests/fixtures/...` resolve.
    pub fn new() -> Test<'static> {
        let mut normalizer = Normalizer::default();
        normalizer.redact(repo_root().display().to_string(), "[REPO]");
        // The build directory shows as the repository's own `target/` wherever it is
        // (`CARGO_TARGET_DIR` may put it outside the repository); the longer literal wins.
        normalizer.redact(target_dir().display().to_string(), "[REPO]/target");
        Test {
            project: None,
            dir: repo_root().to_path_buf(),
            wrapper: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            status: vec![0],
            stdout: Expect::Exact(String::new()),
            stderr: Expect::Exact(String::new()),
            normalizer,
            verbatim: false,
        }
    }
}

impl<'a> Test<'a> {
    /// A run in `project`'s copy, whose path the output shows as `[TARGET]`.
    pub fn in_project(project: &'a Project) -> Test<'a> {
        let mut test = Test::new().current_dir(project.path());
        test.normalizer
            .redact(project.path().display().to_string(), "[TARGET]");
        Test {
            project: Some(project),
            ..test
        }
    }

    /// Runs in `dir` instead.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable of the run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        ));
        self
    }

    /// Sets each of these environment variables.
    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// Removes an environment variable from the run.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_os_string(), None));
        self
    }

    /// What planrun reads on standard input (none by default).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs planrun as the last arguments of this command, e.g. `unshare ... sh -c SCRIPT sh`.
    pub fn wrapper<I, S>(mut self, command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.wrapper = command
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        self
    }

    /// The exit code planrun must end with (0 by default); death by signal `n` is `128 + n`.
    pub fn status(mut self, code: i32) -> Self {
        self.status = vec![code];
        self
    }

    /// Any of these exit codes, instead of one: only where the outcome genuinely depends on the
    /// host (a speed gate on a loaded machine), with the reason said at the call.
    pub fn status_in(mut self, codes: &[i32]) -> Self {
        self.status = codes.to_vec();
        self
    }

    /// Standard output must be exactly `text` once normalised.
    pub fn stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout = Expect::Exact(text.into());
        self
    }

    /// Standard error must be exactly `text` once normalised.
    pub fn stderr(mut self, text: impl Into<String>) -> Self {
        self.stderr = Expect::Exact(text.into());
        self
    }

    /// Standard output must match the reviewed snapshot `name` (tests/integration/snapshots/).
    pub fn stdout_snapshot(mut self, name: &str) -> Self {
        self.stdout = Expect::Snapshot(name.to_string());
        self
    }

    /// Standard error must match the reviewed snapshot `name` (tests/integration/snapshots/).
    pub fn stderr_snapshot(mut self, name: &str) -> Self {
        self.stderr = Expect::Snapshot(name.to_string());
        self
    }

    /// Standard output must contain `needle`, instead of being exact: only for output that
    /// genuinely varies, with the reason said at the call.
    pub fn stdout_contains(mut self, needle: impl AsRef<str>) -> Self {
        self.stdout.contains(needle.as_ref());
        self
    }

    /// Standard error must contain `needle`, instead of being exact: only for output that
    /// genuinely varies, with the reason said at the call.
    pub fn stderr_contains(mut self, needle: impl AsRef<str>) -> Self {
        self.stderr.contains(needle.as_ref());
        self
    }

    /// Standard error of an apply whose steps ran at once, so that their progress lines
    /// interleave: it opens with the header naming `plan` and ends with `summary` and the
    /// report's path; what lies between is left to `stderr_contains` calls.
    pub fn apply_progress(self, plan: &str, summary: &str) -> Self {
        self.stderr_contains(format!("planrun apply {plan} -> [TARGET] (run [RUN])\n"))
            .stderr_contains(format!(
                "\n{summary}\nreport: .planrun/runs/[RUN]/report.json\n"
            ))
    }

    /// Leaves standard output to the test, which checks it itself (say how in `why`), e.g. when
    /// what it must be depends on which of several exit codes planrun ended with.
    pub fn stdout_unchecked(mut self, why: &str) -> Self {
        self.stdout = Expect::Unchecked(why.to_string());
        self
    }

    /// Leaves standard error to the test, which checks it itself (say how in `why`).
    pub fn stderr_unchecked(mut self, why: &str) -> Self {
        self.stderr = Expect::Unchecked(why.to_string());
        self
    }

    /// Compares the output as printed, not normalised: for output with nothing that varies
    /// (the schema, `--help`), where a placeholder would hide a real change.
    pub fn verbatim(mut self) -> Self {
        self.verbatim = true;
        self
    }

    /// Shows `value` as `placeholder` in the output compared, e.g. a pid the test knows.
    pub fn redact(mut self, value: impl AsRef<str>, placeholder: &str) -> Self {
        self.normalizer.redact(value, placeholder);
        self
    }

    /// Runs planrun to its end and checks its exit code and output.
    #[track_caller]
    pub fn run(self) -> Output {
        let _shared = shared();
        let child = self.command().spawn().expect("start planrun");
        Running { child, test: self }.wait()
    }

    /// Starts planrun and returns at once, for a test that acts while it runs; [`Running::wait`]
    /// checks the exit code and output.
    pub fn spawn(self) -> Running<'a> {
        let child = self.command().spawn().expect("start planrun");
        Running { child, test: self }
    }

    fn command(&self) -> Command {
        let bin = env!("CARGO_BIN_EXE_planrun");
        let mut cmd = match self.wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(bin);
                cmd
            }
            None => Command::new(bin),
        };
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .env("PATH", env_path())
            .env("UV_CACHE_DIR", uv_cache_dir())
            // What planrun caches for itself (a uv a project pins) stays under target/.
            .env("PLANRUN_CACHE_DIR", target_dir().join("planrun-cache"))
            .env("NO_COLOR", "1")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in SCRUBBED {
            cmd.env_remove(key);
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// Panics, showing both streams, unless `out` is what this test expects.
    #[track_caller]
    fn check(&self, out: Output) -> Output {
        let (stdout, stderr) = if self.verbatim {
            (out.stdout.clone(), out.stderr.clone())
        } else {
            (
                self.normalizer.apply(&out.stdout),
                self.normalizer.apply(&out.stderr),
            )
        };
        if std::env::var_os("PLANRUN_TEST_SHOW").is_some() {
            // For writing an exact expectation: `PLANRUN_TEST_SHOW=1 cargo test NAME --
            // --nocapture` prints what each run printed, as the comparison sees it.
            eprintln!(
                "=== {} (exit {})\n--- stdout\n{stdout}--- stderr\n{stderr}===",
                self.command_line(),
                out.code
            );
        }
        let problems: Vec<String> = [
            (!self.status.contains(&out.code))
                .then(|| format!("exit code {} instead of {:?}", out.code, self.status)),
            self.stdout.mismatch("stdout", &stdout, &self.normalizer),
            self.stderr.mismatch("stderr", &stderr, &self.normalizer),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            panic!(
                "{}\n{}\n--- stdout (normalised)\n{stdout}\n--- stderr (normalised)\n{stderr}",
                self.command_line(),
                problems.join("\n")
            );
        }
        for (expect, text) in [(&self.stdout, &stdout), (&self.stderr, &stderr)] {
            if let Expect::Snapshot(name) = expect {
                self.snapshot(name, text);
            }
        }
        out
    }

    /// Compares `text` with the committed snapshot `name`, the command line as its description.
    fn snapshot(&self, name: &str, text: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(self.normalizer.apply(&self.command_line()));
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    /// The arguments as one line, for messages.
    fn command_line(&self) -> String {
        std::iter::once("planrun".into())
            .chain(self.args.iter().map(|a| a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A `planrun` started by [`Test::spawn`].
pub struct Running<'a> {
    child: Child,
    test: Test<'a>,
}

impl Running<'_> {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to it.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill only sends a signal to the planrun this test started.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll planrun").is_none()
    }

    /// Feeds standard input, waits for the end, and checks the exit code and output.
    #[track_caller]
    pub fn wait(mut self) -> Output {
        if let Some(input) = &self.test.stdin {
            let mut stdin = self.child.stdin.take().expect("planrun's stdin");
            // planrun may exit without reading it all.
            let _ = stdin.write_all(input);
        }
        let out = self.child.wait_with_output().expect("wait for planrun");
        self.test.check(Output::from_std(out))
    }
}

/// What a finished `planrun` printed and how it exited, as it printed it (not normalised).
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
    fn from_std(out: std::process::Output) -> Output {
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

    /// Both streams, for assertions that search either.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The text of these lines, each ending in a newline: an expected output, one line per item.
pub fn lines(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}
