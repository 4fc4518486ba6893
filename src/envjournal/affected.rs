//! What an install will change, asked of the installer before it runs: the distributions it
//! will remove or replace (whose files must be saved) and the ones it will add.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::distinfo::Dist;
use super::error::EnvJournalError;
use crate::edit::requirements::normalize as normalize_name;
use crate::process::{Control, Invocation};
use crate::pyenv::{self, PythonEnv};

/// The distributions one install changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Affected {
    /// Installed distributions it removes or replaces (normalized names, sorted).
    pub replaced: Vec<String>,
    /// Distributions it installs (`name==version`, sorted).
    pub added: Vec<String>,
}

impl Affected {
    /// The install changes nothing.
    pub fn is_empty(&self) -> bool {
        self.replaced.is_empty() && self.added.is_empty()
    }
}

/// Asks the installer of `env` (uv when it has one, else pip) what installing `packages` would
/// change; `installed` is what is there now.
///
/// `intent`, a file in the run's journal directory, names uv's `.lock` while the dry run may
/// leave it behind, so that the rollback of a run killed meanwhile removes it
/// ([`clear_left_lock`]).
pub fn predict(
    env: &PythonEnv,
    packages: &[String],
    installed: &[Dist],
    control: &Control,
    intent: Option<&Path>,
) -> Result<Affected, EnvJournalError> {
    match &env.uv {
        Some(uv) => {
            // uv creates `.lock` in the venv while it works; a dry run must leave the
            // environment as it found it, or the snapshot taken next would include it.
            let lock = env.venv.as_ref().map(|v| v.join(".lock"));
            let new_lock = lock.as_ref().filter(|l| fs::symlink_metadata(l).is_err());
            let intent = intent.filter(|_| new_lock.is_some());
            if let (Some(intent), Some(lock)) = (intent, new_lock) {
                if let Err(e) = fs::write(intent, lock.as_os_str().as_encoded_bytes()) {
                    tracing::warn!("cannot note uv's lock in `{}`: {e}", intent.display());
                }
            }
            let inv = Invocation::new(uv)
                .args(["pip", "install", "--dry-run", "--python"])
                .arg(&env.python)
                .args(packages);
            let out = pyenv::run_output(&inv, control);
            if let Some(lock) = new_lock {
                let _ = fs::remove_file(lock);
            }
            if let Some(intent) = intent {
                let _ = fs::remove_file(intent);
            }
            Ok(parse_uv(&out?.1))
        }
        None => {
            let inv = Invocation::new(&env.python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--dry-run",
                    "--report",
                    "-",
                    "--quiet",
                ])
                .args(packages);
            let (stdout, _) = pyenv::run_output(&inv, control)?;
            parse_pip_report(&stdout, installed)
        }
    }
}

/// The file in a run's journal directory naming uv's lock while a dry run runs.
pub const LOCK_INTENT: &str = "uv-dry-run-lock";

/// Removes the `.lock` a killed run's uv dry run left in the person's venv (named in the run's
/// [`LOCK_INTENT`]); only an empty regular file called `.lock` is removed. Returns its path.
pub fn clear_left_lock(run_dir: &Path) -> Option<PathBuf> {
    let intent = run_dir.join(LOCK_INTENT);
    let named = fs::read(&intent).ok()?;
    let _ = fs::remove_file(&intent);
    let lock = PathBuf::from(String::from_utf8(named).ok()?);
    let meta = fs::symlink_metadata(&lock).ok()?;
    let is_ours =
        lock.file_name().is_some_and(|n| n == ".lock") && meta.is_file() && meta.len() == 0;
    (is_ours && fs::remove_file(&lock).is_ok()).then_some(lock)
}

/// Reads `uv pip install --dry-run`: ` + name==ver` installs, ` - name==ver` removes,
/// ` ~ name==ver` reinstalls.
pub fn parse_uv(text: &str) -> Affected {
    let (mut replaced, mut added) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        let line = line.trim_start();
        let Some((sign, rest)) = line.split_at_checked(1) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(' ') else {
            continue;
        };
        let spec = rest.split_whitespace().next().unwrap_or("");
        let (name, version) = spec.split_once("==").unwrap_or((spec, ""));
        if name.is_empty() {
            continue;
        }
        let name = normalize_name(name);
        match sign {
            "+" => {
                added.insert(format!("{name}=={version}"));
            }
            "-" => {
                replaced.insert(name);
            }
            "~" => {
                replaced.insert(name.clone());
                added.insert(format!("{name}=={version}"));
            }
            _ => {}
        }
    }
    Affected {
        replaced: replaced.into_iter().collect(),
        added: added.into_iter().collect(),
    }
}

/// Reads pip's `--report` JSON: each `install[].metadata` is installed, replacing an installed
/// distribution of the same name.
pub fn parse_pip_report(json: &str, installed: &[Dist]) -> Result<Affected, EnvJournalError> {
    let report: serde_json::Value = serde_json::from_str(json.trim())
        .map_err(|e| EnvJournalError::Report(format!("pip --report: {e}")))?;
    let items = report
        .get("install")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| EnvJournalError::Report("pip --report has no `install` list".into()))?;
    let (mut replaced, mut added) = (BTreeSet::new(), BTreeSet::new());
    for item in items {
        let field = |key: &str| {
            item.pointer(&format!("/metadata/{key}"))
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| EnvJournalError::Report(format!("pip --report: no metadata {key}")))
        };
        let name = normalize_name(field("name")?);
        added.insert(format!("{name}=={}", field("version")?));
        if installed.iter().any(|d| d.name == name) {
            replaced.insert(name);
        }
    }
    Ok(Affected {
        replaced: replaced.into_iter().collect(),
        added: added.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uv_dry_run_lines() {
        let text = "Using Python 3.11.7 environment at: v1\nResolved 7 packages in 666ms\n\
            Would uninstall 1 package\n + execnet==2.1.2\n - iniconfig==2.0.0\n \
            + iniconfig==2.1.0\n + Demo_Pkg==0.1 (from file:///x)\n ~ six==1.16.0\n";
        let a = parse_uv(text);
        assert_eq!(a.replaced, vec!["iniconfig", "six"]);
        assert_eq!(
            a.added,
            vec![
                "demo-pkg==0.1",
                "execnet==2.1.2",
                "iniconfig==2.1.0",
                "six==1.16.0"
            ]
        );
        assert!(parse_uv("Checked 1 package in 1ms\nWould make no changes\n").is_empty());
    }

    #[test]
    fn pip_report_replaces_installed_names() {
        let json = r#"{"version": "1", "install": [
            {"metadata": {"name": "IniConfig", "version": "2.1.0"}},
            {"metadata": {"name": "six", "version": "1.17.0"}}]}"#;
        let installed = vec![Dist {
            name: "iniconfig".into(),
            version: "2.0.0".into(),
            meta: "/s/iniconfig-2.0.0.dist-info".into(),
            site: "/s".into(),
        }];
        let a = parse_pip_report(json, &installed).unwrap();
        assert_eq!(a.replaced, vec!["iniconfig"]);
        assert_eq!(a.added, vec!["iniconfig==2.1.0", "six==1.17.0"]);
        assert!(parse_pip_report(r#"{"install": []}"#, &installed)
            .unwrap()
            .is_empty());
        assert!(parse_pip_report("not json", &installed).is_err());
    }
}
