//! A Python environment as a package set: locate it, create a venv, freeze it, change it, and
//! put a frozen set back exactly (uv when available, else pip).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    /// After a restore the package set still differs from the one wanted.
    #[error("after restoring, `{python}` still differs from its recorded packages: {diff}")]
    Mismatch { python: PathBuf, diff: String },
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

    /// Uninstalls packages by name from this environment.
    pub fn uninstall(&self, names: &[String]) -> Result<(), PyEnvError> {
        let yes: &[&str] = if self.uv.is_some() { &[] } else { &["-y"] };
        self.pip("uninstall", yes, names)
    }

    /// Brings the environment back to a frozen package set: removes packages that are new,
    /// reinstalls what changed or vanished exactly as recorded, then checks the result.
    pub fn restore(&self, before: &[String]) -> Result<EnvChanges, PyEnvError> {
        let now = self.freeze()?;
        let changes = plan_restore(before, &now);
        if !changes.uninstalled.is_empty() {
            self.uninstall(&changes.uninstalled)?;
        }
        if !changes.reinstalled.is_empty() {
            // The recorded set is complete, so dependencies are already in it.
            self.pip("install", &["--no-deps"], &changes.reinstalled)?;
        }
        let after = self.freeze()?;
        if after != normalize_freeze(&before.join("\n")) {
            return Err(PyEnvError::Mismatch {
                python: self.python.clone(),
                diff: describe_diff(before, &after),
            });
        }
        Ok(changes)
    }

    fn pip(&self, verb: &str, flags: &[&str], args: &[String]) -> Result<(), PyEnvError> {
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
        run(&mut cmd).map(drop)
    }
}

/// What a restore changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnvChanges {
    /// Package names removed because they were not there before.
    pub uninstalled: Vec<String>,
    /// Requirement lines installed again as recorded.
    pub reinstalled: Vec<String>,
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

/// Finds uv: the `UV` environment variable, then `PATH`, then the venv's own `bin/`.
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
    on_path.or_else(|| {
        venv.map(|v| v.join("bin").join("uv"))
            .filter(|p| p.is_file())
    })
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
    let command = render(cmd);
    let out = cmd
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .output()
        .map_err(|source| PyEnvError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(PyEnvError::Failed {
            command,
            status: out.status.to_string(),
            output: output.trim_end().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// The package a freeze line is about: its name, the `#egg=` of an editable line, or the line.
fn key_of(line: &str) -> String {
    if line.starts_with('-') {
        if let Some((_, egg)) = line.split_once("#egg=") {
            return normalize_name(egg.split('&').next().unwrap_or(egg));
        }
        return line.to_string();
    }
    for sep in ["==", " @ "] {
        if let Some((name, _)) = line.split_once(sep) {
            return normalize_name(name);
        }
    }
    line.to_string()
}

/// Which packages to remove and which lines to install to go from `now` back to `before`.
pub fn plan_restore(before: &[String], now: &[String]) -> EnvChanges {
    let index = |lines: &[String]| -> BTreeMap<String, String> {
        normalize_freeze(&lines.join("\n"))
            .into_iter()
            .map(|l| (key_of(&l), l))
            .collect()
    };
    let (before, now) = (index(before), index(now));
    let uninstalled = now
        .keys()
        .filter(|k| !before.contains_key(*k) && !k.starts_with('-'))
        .cloned()
        .collect();
    let reinstalled = before
        .iter()
        .filter(|(k, line)| now.get(*k) != Some(line))
        .map(|(_, line)| line.clone())
        .collect();
    EnvChanges {
        uninstalled,
        reinstalled,
    }
}

fn describe_diff(before: &[String], after: &[String]) -> String {
    let before = normalize_freeze(&before.join("\n"));
    let missing: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    let extra: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    format!("missing {missing:?}, unexpected {extra:?}")
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
    fn restore_plan_removes_new_and_reinstalls_changed() {
        let before = lines(&[
            "iniconfig==2.0.0",
            "pip==23.2.1",
            "-e git+https://h/r#egg=Demo",
        ]);
        let now = lines(&["pip==24.0", "six==1.16.0", "pytest==8.0.0"]);
        let plan = plan_restore(&before, &now);
        assert_eq!(plan.uninstalled, lines(&["pytest", "six"]));
        assert_eq!(
            plan.reinstalled,
            lines(&[
                "-e git+https://h/r#egg=Demo",
                "iniconfig==2.0.0",
                "pip==23.2.1"
            ])
        );
        assert_eq!(plan_restore(&now, &now), EnvChanges::default());
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

    /// One real venv: install two tiny packages, change them, and restore the recorded set.
    #[test]
    fn real_venv_restore_round_trips_freeze() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join(".venv");
        let uv = find_uv(None);
        let env = create_venv(&venv, Path::new("python3"), uv.as_deref()).unwrap();
        assert_eq!(
            PythonEnv::locate(&env.python).unwrap().venv,
            Some(venv.clone())
        );
        env.install(&lines(&["iniconfig==2.0.0"])).unwrap();
        let before = env.freeze().unwrap();
        assert!(
            before.contains(&"iniconfig==2.0.0".to_string()),
            "{before:?}"
        );
        env.install(&lines(&["six==1.16.0"])).unwrap();
        env.uninstall(&lines(&["iniconfig"])).unwrap();
        assert_ne!(env.freeze().unwrap(), before);
        let changes = env.restore(&before).unwrap();
        assert_eq!(changes.uninstalled, lines(&["six"]));
        assert_eq!(changes.reinstalled, lines(&["iniconfig==2.0.0"]));
        assert_eq!(env.freeze().unwrap(), before);
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
