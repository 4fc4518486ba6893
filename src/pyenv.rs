//! A Python environment and its installer: locate it, create a venv, freeze it, install into
//! it, and find the one installer to drive it with (uv when available, else pip if present).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{self, Control, Invocation};

pub mod discover;

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
    pub fn freeze(&self, control: &Control) -> Result<Vec<String>, PyEnvError> {
        let inv = match &self.uv {
            Some(uv) => Invocation::new(uv)
                .args(["pip", "freeze", "--python"])
                .arg(&self.python),
            None => Invocation::new(&self.python).args(["-m", "pip", "freeze", "--all"]),
        };
        Ok(normalize_freeze(&run(&inv, control)?))
    }

    /// Installs requirement specifiers into this environment.
    pub fn install(&self, requirements: &[String], control: &Control) -> Result<(), PyEnvError> {
        self.install_with(requirements, control, &InstallOptions::default())
    }

    /// Installs like [`PythonEnv::install`], with a time limit, a log and extra environment.
    pub fn install_with(
        &self,
        requirements: &[String],
        control: &Control,
        options: &InstallOptions,
    ) -> Result<(), PyEnvError> {
        let inv = self
            .pip_command("install", &[], requirements)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .timeout(options.timeout)
            .log(options.log.clone());
        run_output(&inv, control).map(drop)
    }

    /// Uninstalls packages by name from this environment.
    pub fn uninstall(&self, names: &[String], control: &Control) -> Result<(), PyEnvError> {
        let yes: &[&str] = if self.uv.is_some() { &[] } else { &["-y"] };
        run(&self.pip_command("uninstall", yes, names), control).map(drop)
    }

    fn pip_command(&self, verb: &str, flags: &[&str], args: &[String]) -> Invocation {
        let inv = match &self.uv {
            Some(uv) => Invocation::new(uv)
                .args(["pip", verb, "--python"])
                .arg(&self.python),
            None => Invocation::new(&self.python).args(["-m", "pip", verb]),
        };
        inv.args(flags).args(args)
    }
}

/// How an install runs beyond its [`Control`]; the default has no limit, no log and no extra
/// environment.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Longest time the installer may run.
    pub timeout: Option<Duration>,
    /// A file its output is appended to.
    pub log: Option<PathBuf>,
    /// Extra environment variables for it.
    pub env: Vec<(String, String)>,
}

/// Creates a venv at `dir` from `base_python`, with uv when given, else `python -m venv`.
pub fn create_venv(
    dir: &Path,
    base_python: &Path,
    uv: Option<&Path>,
    control: &Control,
) -> Result<PythonEnv, PyEnvError> {
    let inv = match uv {
        Some(uv) => Invocation::new(uv)
            .args(["venv", "--quiet", "--python"])
            .arg(base_python)
            .arg(dir),
        None => Invocation::new(base_python).args(["-m", "venv"]).arg(dir),
    };
    run(&inv, control)?;
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
    control: &Control,
) -> Result<Installer, PyEnvError> {
    if prefer != Prefer::Pip {
        if let Some(uv) = find_or_provision_uv(venv, base_python, control) {
            return Ok(Installer::Uv(uv));
        }
        if prefer == Prefer::Uv {
            return Err(PyEnvError::NoInstaller {
                python: python.to_path_buf(),
                why: "the plan asks for uv only".into(),
            });
        }
    }
    if has_pip(python, control) {
        return Ok(Installer::Pip);
    }
    Err(PyEnvError::NoInstaller {
        python: python.to_path_buf(),
        why: "the environment has no pip".into(),
    })
}

/// Whether `python` can import pip.
pub fn has_pip(python: &Path, control: &Control) -> bool {
    let inv = Invocation::new(python).args([
        "-c",
        "import importlib.util, sys; sys.exit(importlib.util.find_spec('pip') is None)",
    ]);
    process::capture(&inv, control).is_ok_and(|out| out.outcome.status.success())
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
pub fn find_or_provision_uv(
    venv: Option<&Path>,
    base_python: &Path,
    control: &Control,
) -> Option<PathBuf> {
    if let Some(uv) = find_uv(venv) {
        return Some(uv);
    }
    provision_uv_in(&uv_cache_venv()?, base_python, control)
}

/// uv in the venv at `dir`, installed there with pip first when it is missing.
pub fn provision_uv_in(dir: &Path, base_python: &Path, control: &Control) -> Option<PathBuf> {
    let uv = dir.join("bin").join("uv");
    if uv.is_file() {
        return Some(uv);
    }
    let venv = Invocation::new(base_python).args(["-m", "venv"]).arg(dir);
    let pip = Invocation::new(dir.join("bin").join("python"))
        .args(["-m", "pip", "install", "--quiet", "uv"]);
    let made = run(&venv, control).and_then(|_| run(&pip, control));
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

/// A uv at a version `spec` allows (`==0.7.2`, `>=0.6.15,<0.8.4`), installed once per spec into
/// planrun's cache beside its own uv: by `uv` when given (run from the cache, outside any
/// project, so no project's pin stops it), else by `base_python`'s venv and pip. Made under a
/// temporary name and renamed into place, so a half-made one is never found.
pub fn provision_uv_matching(
    spec: &str,
    uv: Option<&Path>,
    base_python: &Path,
    control: &Control,
) -> Result<PathBuf, PyEnvError> {
    let no_cache = || PyEnvError::NoInstaller {
        python: base_python.to_path_buf(),
        why: "planrun has no cache directory (set PLANRUN_CACHE_DIR or HOME)".into(),
    };
    let cache = uv_cache_venv().ok_or_else(no_cache)?;
    let parent = cache.parent().ok_or_else(no_cache)?.to_path_buf();
    let digest = blake3::hash(spec.as_bytes()).to_hex();
    let dir = parent.join(format!("uv-pin-{}", &digest[..16]));
    let binary = dir.join("bin").join("uv");
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&parent).map_err(|source| PyEnvError::Spawn {
        command: format!("mkdir {}", parent.display()),
        source,
    })?;
    let tmp = parent.join(format!(
        "uv-pin-{}.tmp{}",
        &digest[..16],
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let requirement = format!("uv{spec}");
    let steps = match uv {
        Some(uv) => [
            Invocation::new(uv)
                .args(["venv", "--quiet", "--python"])
                .arg(base_python)
                .arg(&tmp),
            Invocation::new(uv)
                .args(["pip", "install", "--quiet", "--python"])
                .arg(tmp.join("bin").join("python"))
                .arg(&requirement),
        ],
        None => [
            Invocation::new(base_python).args(["-m", "venv"]).arg(&tmp),
            Invocation::new(tmp.join("bin").join("python"))
                .args(["-m", "pip", "install", "--quiet"])
                .arg(&requirement),
        ],
    };
    for step in steps {
        if let Err(e) = run(&step.cwd(&parent), control) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    }
    // The uv binary is native code: it runs from the venv's final name as well.
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another planrun made it first; theirs is as good.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(PyEnvError::NoInstaller {
            python: base_python.to_path_buf(),
            why: format!("installing {requirement} left no uv in {}", dir.display()),
        })
    }
}

/// The version of distribution `dist` installed where `python` imports from; `None` when it is
/// not installed or the interpreter cannot say. The interpreter runs isolated (`-I`: no
/// `PYTHON*` variables, no user site, not the current directory on `sys.path`), so nothing in
/// the target is imported in place of the standard library.
pub fn installed_version(python: &Path, dist: &str) -> Option<String> {
    const SCRIPT: &str = "import sys\nfrom importlib import metadata\ntry:\n    \
        print(metadata.version(sys.argv[1]))\nexcept metadata.PackageNotFoundError:\n    pass\n";
    let inv = Invocation::new(python)
        .args(["-I", "-c", SCRIPT, dist])
        .timeout(Some(Duration::from_secs(30)));
    let out = process::capture(&inv, &Control::default()).ok()?;
    if !out.outcome.status.success() {
        tracing::debug!(python = %python.display(), stderr = %out.stderr.trim(), "version probe failed");
        return None;
    }
    let version = out.stdout.trim();
    (!version.is_empty()).then(|| version.to_string())
}

/// The venv directory implied by an interpreter path of the shape `DIR/bin/python*`.
pub fn venv_dir_of(python: &Path) -> Option<PathBuf> {
    let name = python.file_name()?.to_str()?;
    let bin = python.parent()?;
    (name.starts_with("python") && bin.file_name() == Some(OsStr::new("bin")))
        .then(|| bin.parent().map(Path::to_path_buf))
        .flatten()
}

fn run(inv: &Invocation, control: &Control) -> Result<String, PyEnvError> {
    run_output(inv, control).map(|(stdout, _)| stdout)
}

/// Runs an installer command to completion through the process layer (its own process group,
/// recorded in `control` for orphan clean-up, ended on cancel or timeout); returns stdout and
/// stderr, or the output of a command that failed.
pub fn run_output(inv: &Invocation, control: &Control) -> Result<(String, String), PyEnvError> {
    let inv = inv.clone().envs([
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        ("PIP_NO_INPUT", "1"),
    ]);
    tracing::debug!(command = %inv, "running installer");
    let out = process::capture(&inv, control).map_err(|source| PyEnvError::Spawn {
        command: inv.to_string(),
        source,
    })?;
    if !out.outcome.status.success() {
        return Err(PyEnvError::Failed {
            command: inv.to_string(),
            status: out.outcome.status.to_string(),
            output: format!("{}{}", out.stdout, out.stderr)
                .trim_end()
                .to_string(),
        });
    }
    Ok((out.stdout, out.stderr))
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
                return format!(
                    "{}{sep}{}",
                    crate::edit::requirements::normalize(name),
                    rest.trim()
                );
            }
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::testing::wait_for;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    use std::time::{Duration, Instant};

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
        let control = Control::default();
        assert!(!has_pip(&dir.path().join("bin/python"), &control));
        assert!(has_pip(Path::new("python3"), &control));
        assert!(matches!(
            find_installer(
                Path::new("python3"),
                None,
                Prefer::Pip,
                Path::new("python3"),
                &control
            ),
            Ok(Installer::Pip)
        ));
        let err = find_installer(
            &dir.path().join("bin/python"),
            None,
            Prefer::Pip,
            Path::new("python3"),
            &control,
        )
        .unwrap_err();
        assert!(err.to_string().contains("has no pip"), "{err}");
    }

    #[test]
    fn a_cancelled_installer_is_ended_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let script = format!("sleep 30 & touch {}; sleep 30; wait", started.display());
        let control = Control::default();
        let cancel = control.cancel.clone();
        let t = Instant::now();
        let watcher = std::thread::spawn(move || {
            assert!(wait_for(|| started.exists()));
            cancel.cancel();
        });
        let err = run_output(&Invocation::new("sh").args(["-c", &script]), &control).unwrap_err();
        watcher.join().unwrap();
        assert!(matches!(err, PyEnvError::Failed { .. }), "{err}");
        assert!(err.to_string().contains("(cancelled)"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn an_install_gets_its_timeout_log_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("install.log");
        // A stand-in `python` that shows what it was given, then outlives its timeout.
        let python = dir.path().join("python");
        std::fs::write(&python, "#!/bin/sh\necho \"$GREETING $*\"\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = PythonEnv {
            python,
            venv: None,
            uv: None,
        };
        let options = InstallOptions {
            // Long beside the moment the script needs to print, even on a loaded machine.
            timeout: Some(Duration::from_secs(1)),
            log: Some(log.clone()),
            env: vec![("GREETING".into(), "hello".into())],
        };
        let err = env
            .install_with(&lines(&["six"]), &Control::default(), &options)
            .unwrap_err();
        assert!(err.to_string().contains("(timed out)"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "hello -m pip install six\n"
        );
    }

    #[test]
    fn installers_run_in_their_own_process_group() {
        let inv = Invocation::new("sh").args(["-c", "cat /proc/$$/stat"]);
        let (out, _) = run_output(&inv, &Control::default()).unwrap();
        let pgid = crate::process::proctree::parse_stat(&out).unwrap().pgrp;
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() };
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
            .install(&lines(&["--definitely-not-a-flag"]), &Control::default())
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--definitely-not-a-flag"), "{msg}");
        assert!(matches!(err, PyEnvError::Failed { .. }));
    }

    #[test]
    fn uv_is_provisioned_once_into_a_cache_venv() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-uv-provision");
        let control = Control::default();
        let uv =
            provision_uv_in(&dir, Path::new("python3"), &control).expect("uv installs from PyPI");
        assert_eq!(uv, dir.join("bin/uv"));
        let out = Command::new(&uv).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("uv "));
        let modified = std::fs::metadata(&uv).unwrap().modified().unwrap();
        assert_eq!(
            provision_uv_in(&dir, Path::new("python3"), &control),
            Some(uv.clone())
        );
        assert_eq!(
            std::fs::metadata(&uv).unwrap().modified().unwrap(),
            modified
        );
    }
}
