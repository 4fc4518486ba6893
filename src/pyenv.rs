//! A Python environment and its installer: locate it, create a venv, freeze it, install into
//! it, and find the one installer to drive it with (uv when available, else pip if present).

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A failure talking to an interpreter or installer.
#[derive(Debug, thiserror::Error)]
pub enum PyEnvError {
    /// The interpreter does not exist.
    #[error("python interpreter `{0}` does not exist")]
    NoPython(PathBuf),
    /// A command could not be started.
    #[error("failed to start `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed; its output is kept.
    #[error("`{command}` failed ({status})\n{output}")]
    Failed {
        command: String,
        status: String,
        output: String,
    },
    /// Neither uv nor pip can install into this interpreter.
    #[error("no installer for `{}`: uv was not found (UV, PATH, the venv's bin/, planrun's cache) and {why}", python.display())]
    NoInstaller { python: PathBuf, why: String },
}

/// An interpreter, the venv it lives in (if any) and the uv binary to drive it with (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The interpreter, as given (venv interpreters are symlinks; they are not resolved).
    pub python: PathBuf,
    /// The venv directory when `python` is `VENV/bin/python*` next to a `pyvenv.cfg`.
    pub venv: Option<PathBuf>,
    /// The uv binary, when one was found.
    pub uv: Option<PathBuf>,
}

impl PythonEnv {
    /// Describes an existing interpreter, finding its venv and uv.
    pub fn locate(python: &Path) -> Result<PythonEnv, PyEnvError> {
        if !python.exists() {
            return Err(PyEnvError::NoPython(python.to_path_buf()));
        }
        let venv = venv_dir_of(python).filter(|dir| dir.join("pyvenv.cfg").is_file());
        let uv = find_uv(venv.as_deref());
        Ok(PythonEnv {
            python: python.to_path_buf(),
            venv,
            uv,
        })
    }

    /// The environment a venv at `dir` will have once created (nothing is checked or created).
    pub fn for_venv(dir: &Path, uv: Option<PathBuf>) -> PythonEnv {
        PythonEnv {
            python: dir.join("bin").join("python"),
            venv: Some(dir.to_path_buf()),
            uv,
        }
    }

    /// The installed packages, one normalized requirement line each, sorted.
    pub fn freeze(&self) -> Result<Vec<String>, PyEnvError> {
        let out = match &self.uv {
            Some(uv) => run(Command::new(uv)
                .args(["pip", "freeze", "--python"])
                .arg(&self.python))?,
            None => run(Command::new(&self.python).args(["-m", "pip", "freeze", "--all"]))?,
        };
        Ok(normalize_freeze(&out))
    }

    /// Installs requirement specifiers into this environment.
    pub fn install(&self, requirements: &[String]) -> Result<(), PyEnvError> {
        self.pip("install", &[], requirements)
    }

    /// Installs like [`PythonEnv::install`], stopping the installer once `stop` says so.
    pub fn install_until(
        &self,
        requirements: &[String],
        stop: &dyn Fn() -> bool,
    ) -> Result<(), PyEnvError> {
        run_output_until(&mut self.pip_command("install", &[], requirements), stop).map(drop)
    }

    /// Uninstalls packages by name from this environment.
    pub fn uninstall(&self, names: &[String]) -> Result<(), PyEnvError> {
        let yes: &[&str] = if self.uv.is_some() { &[] } else { &["-y"] };
        self.pip("uninstall", yes, names)
    }

    fn pip(&self, verb: &str, flags: &[&str], args: &[String]) -> Result<(), PyEnvError> {
        run(&mut self.pip_command(verb, flags, args)).map(drop)
    }

    fn pip_command(&self, verb: &str, flags: &[&str], args: &[String]) -> Command {
        let mut cmd = match &self.uv {
            Some(uv) => {
                let mut cmd = Command::new(uv);
                cmd.args(["pip", verb, "--python"]).arg(&self.python);
                cmd
            }
            None => {
                let mut cmd = Command::new(&self.python);
                cmd.args(["-m", "pip", verb]);
                cmd
            }
        };
        cmd.args(flags).args(args);
        cmd
    }
}

/// Creates a venv at `dir` from `base_python`, with uv when given, else `python -m venv`.
pub fn create_venv(
    dir: &Path,
    base_python: &Path,
    uv: Option<&Path>,
) -> Result<PythonEnv, PyEnvError> {
    match uv {
        Some(uv) => run(Command::new(uv)
            .args(["venv", "--quiet", "--python"])
            .arg(base_python)
            .arg(dir))?,
        None => run(Command::new(base_python).args(["-m", "venv"]).arg(dir))?,
    };
    Ok(PythonEnv::for_venv(dir, uv.map(Path::to_path_buf)))
}

/// Finds uv: the `UV` environment variable, then `PATH`, then the venv's own `bin/`, then
/// planrun's cache ([`uv_cache_venv`]).
pub fn find_uv(venv: Option<&Path>) -> Option<PathBuf> {
    if let Some(uv) = std::env::var_os("UV").filter(|v| !v.is_empty()) {
        let uv = PathBuf::from(uv);
        if uv.is_file() {
            return Some(uv);
        }
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("uv"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| {
            venv.map(|v| v.join("bin").join("uv"))
                .filter(|p| p.is_file())
        })
        .or_else(|| {
            uv_cache_venv()
                .map(|c| c.join("bin").join("uv"))
                .filter(|p| p.is_file())
        })
}

/// Which installer to use, as a plan asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// uv when found (or provisioned), else pip when the environment has it.
    Auto,
    /// uv only.
    Uv,
    /// pip only.
    Pip,
}

/// The installer that drives one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// `uv pip ... --python PY`.
    Uv(PathBuf),
    /// `PY -m pip ...`.
    Pip,
}

impl Installer {
    /// The uv binary, if this is uv.
    pub fn uv(&self) -> Option<&Path> {
        match self {
            Installer::Uv(uv) => Some(uv),
            Installer::Pip => None,
        }
    }
}

/// The one way to find an installer for `python` (in `venv`): uv from [`find_uv`], else
/// provisioned into planrun's cache from `base_python`, else `python -m pip` if the
/// environment has pip (a venv without pip is normal: uv makes them).
pub fn find_installer(
    python: &Path,
    venv: Option<&Path>,
    prefer: Prefer,
    base_python: &Path,
) -> Result<Installer, PyEnvError> {
    if prefer != Prefer::Pip {
        if let Some(uv) = find_or_provision_uv(venv, base_python) {
            return Ok(Installer::Uv(uv));
        }
        if prefer == Prefer::Uv {
            return Err(PyEnvError::NoInstaller {
                python: python.to_path_buf(),
                why: "the plan asks for uv only".into(),
            });
        }
    }
    if has_pip(python) {
        return Ok(Installer::Pip);
    }
    Err(PyEnvError::NoInstaller {
        python: python.to_path_buf(),
        why: "the environment has no pip".into(),
    })
}

/// Whether `python` can import pip.
pub fn has_pip(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('pip') is None)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where planrun keeps its own uv when the machine has none: `$PLANRUN_CACHE_DIR/uv`, else
/// `$XDG_CACHE_HOME/planrun/uv`, else `~/.cache/planrun/uv`.
pub fn uv_cache_venv() -> Option<PathBuf> {
    let base = std::env::var_os("PLANRUN_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(|d| PathBuf::from(d).join("planrun"))
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache").join("planrun"))
        })?;
    Some(base.join("uv"))
}

/// uv from anywhere [`find_uv`] looks, else installed once with pip into planrun's own cache
/// venv (uv ships as a wheel on PyPI), so later installs are fast. `None` when that fails too:
/// the caller then uses pip.
pub fn find_or_provision_uv(venv: Option<&Path>, base_python: &Path) -> Option<PathBuf> {
    if let Some(uv) = find_uv(venv) {
        return Some(uv);
    }
    provision_uv_in(&uv_cache_venv()?, base_python)
}

/// uv in the venv at `dir`, installed there with pip first when it is missing.
pub fn provision_uv_in(dir: &Path, base_python: &Path) -> Option<PathBuf> {
    let uv = dir.join("bin").join("uv");
    if uv.is_file() {
        return Some(uv);
    }
    let made = run(Command::new(base_python).args(["-m", "venv"]).arg(dir)).and_then(|_| {
        run(Command::new(dir.join("bin").join("python"))
            .args(["-m", "pip", "install", "--quiet", "uv"]))
    });
    match made {
        Ok(_) if uv.is_file() => Some(uv),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("uv is not available, using pip: {e}");
            // A half-made cache venv would be found next time without a uv in it; start over then.
            let _ = std::fs::remove_dir_all(dir);
            None
        }
    }
}

/// The venv directory implied by an interpreter path of the shape `DIR/bin/python*`.
pub fn venv_dir_of(python: &Path) -> Option<PathBuf> {
    let name = python.file_name()?.to_str()?;
    let bin = python.parent()?;
    (name.starts_with("python") && bin.file_name() == Some(OsStr::new("bin")))
        .then(|| bin.parent().map(Path::to_path_buf))
        .flatten()
}

fn run(cmd: &mut Command) -> Result<String, PyEnvError> {
    run_output(cmd).map(|(stdout, _)| stdout)
}

/// Runs an installer command to completion in its own process group, recorded for orphan
/// clean-up (so a rollback after SIGKILL ends it before restoring); returns stdout and stderr.
pub fn run_output(cmd: &mut Command) -> Result<(String, String), PyEnvError> {
    run_output_until(cmd, &|| false)
}

/// Like [`run_output`], but once `stop` says so the command's group gets SIGTERM, then SIGKILL
/// after a grace period: it is in its own group, so a Ctrl-C at the terminal does not reach it.
pub fn run_output_until(
    cmd: &mut Command,
    stop: &dyn Fn() -> bool,
) -> Result<(String, String), PyEnvError> {
    use std::io::Read;
    use std::time::{Duration, Instant};
    const GRACE: Duration = Duration::from_secs(3);
    let command = render(cmd);
    tracing::debug!(command, "running installer");
    let spawn_err = |source| PyEnvError::Spawn {
        command: command.clone(),
        source,
    };
    let mut child = cmd
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(spawn_err)?;
    crate::process::orphans::spawned(child.id());
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out_reader = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_reader = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // Never 0: killpg(0) would signal planrun's own group.
    let pgid = libc::pid_t::try_from(child.id()).ok().filter(|p| *p > 0);
    let kill_group = |signal| {
        if let Some(pgid) = pgid {
            // SAFETY: killpg signals the group this function started.
            unsafe { libc::killpg(pgid, signal) };
        }
    };
    let mut stopping: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(spawn_err)? {
            break status;
        }
        if stopping.is_none() && stop() {
            kill_group(libc::SIGTERM);
            stopping = Some(Instant::now());
        }
        if stopping.is_some_and(|t| t.elapsed() > GRACE) {
            kill_group(libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if stopping.is_some() {
        // What is left of the group would hold the pipes open and the readers with them.
        kill_group(libc::SIGKILL);
    }
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(PyEnvError::Failed {
            command,
            status: status.to_string(),
            output: format!("{stdout}{stderr}").trim_end().to_string(),
        });
    }
    Ok((stdout, stderr))
}

fn render(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Canonical freeze lines: comments and blanks dropped, names PEP 503-normalized, sorted.
pub fn normalize_freeze(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(normalize_line)
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

fn normalize_line(line: &str) -> String {
    for sep in ["==", " @ "] {
        if let Some((name, rest)) = line.split_once(sep) {
            if !line.starts_with('-') {
                return format!("{}{sep}{}", normalize_name(name), rest.trim());
            }
        }
    }
    line.to_string()
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn freeze_lines_are_normalized_and_sorted() {
        let text = "# comment\nZope.Interface==5.0\n\nsix==1.16.0\nMy_Pkg @ file:///x/y.whl\n";
        assert_eq!(
            normalize_freeze(text),
            lines(&[
                "my-pkg @ file:///x/y.whl",
                "six==1.16.0",
                "zope-interface==5.0"
            ])
        );
    }

    #[test]
    fn venv_dir_follows_the_bin_python_shape() {
        assert_eq!(
            venv_dir_of(Path::new("t/.venv/bin/python3")),
            Some(PathBuf::from("t/.venv"))
        );
        assert_eq!(venv_dir_of(Path::new("/usr/local/python")), None);
        assert!(matches!(
            PythonEnv::locate(Path::new("/nonexistent/bin/python")),
            Err(PyEnvError::NoPython(_))
        ));
    }

    #[test]
    fn a_venv_without_pip_and_no_uv_has_no_installer() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_pip(&dir.path().join("bin/python")));
        assert!(has_pip(Path::new("python3")));
        assert!(matches!(
            find_installer(
                Path::new("python3"),
                None,
                Prefer::Pip,
                Path::new("python3")
            ),
            Ok(Installer::Pip)
        ));
        let err = find_installer(
            &dir.path().join("bin/python"),
            None,
            Prefer::Pip,
            Path::new("python3"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("has no pip"), "{err}");
    }

    #[test]
    fn a_stopped_installer_is_ended_with_its_group() {
        let started = std::time::Instant::now();
        let err = run_output_until(
            Command::new("sh").args(["-c", "sleep 30 & sleep 30; wait"]),
            &|| started.elapsed() > std::time::Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(matches!(err, PyEnvError::Failed { .. }), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn installers_run_in_their_own_process_group() {
        let (out, _) = run_output(Command::new("sh").args(["-c", "cat /proc/$$/stat"])).unwrap();
        // Field 5 of stat, after the parenthesised command name, is the process group.
        let rest = &out[out.rfind(')').unwrap() + 1..];
        let pgid: u32 = rest.split_whitespace().nth(2).unwrap().parse().unwrap();
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() } as u32;
        assert_ne!(pgid, ours);
    }

    #[test]
    fn failed_command_keeps_its_output() {
        let env = PythonEnv {
            python: PathBuf::from("python3"),
            venv: None,
            uv: None,
        };
        let err = env
            .pip("install", &[], &lines(&["--definitely-not-a-flag"]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--definitely-not-a-flag"), "{msg}");
        assert!(matches!(err, PyEnvError::Failed { .. }));
    }

    #[test]
    fn uv_is_provisioned_once_into_a_cache_venv() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-uv-provision");
        let uv = provision_uv_in(&dir, Path::new("python3")).expect("uv installs from PyPI");
        assert_eq!(uv, dir.join("bin/uv"));
        let out = Command::new(&uv).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("uv "));
        let modified = std::fs::metadata(&uv).unwrap().modified().unwrap();
        assert_eq!(
            provision_uv_in(&dir, Path::new("python3")),
            Some(uv.clone())
        );
        assert_eq!(
            std::fs::metadata(&uv).unwrap().modified().unwrap(),
            modified
        );
    }
}
