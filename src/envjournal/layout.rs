//! Where an environment's files are: the directories a snapshot records and the
//! `site-packages` directories whose distributions it reads.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EnvJournalError;
use crate::process::{self, Control, Invocation};

/// The directories of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvLayout {
    /// The environment's root: the venv directory, or the interpreter's prefix.
    pub root: PathBuf,
    /// Directories recorded entry by entry (resolved; none inside another).
    pub roots: Vec<PathBuf>,
    /// The `site-packages` directories (resolved).
    pub site_packages: Vec<PathBuf>,
}

impl EnvLayout {
    /// The layout of a venv: the whole venv directory is recorded.
    pub fn of_venv(venv: &Path) -> Result<EnvLayout, EnvJournalError> {
        let root = canonical(venv)?;
        let mut site_packages = Vec::new();
        for lib in ["lib", "lib64"] {
            let Ok(entries) = fs::read_dir(root.join(lib)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if !name.to_string_lossy().starts_with("python") {
                    continue;
                }
                let site = entry.path().join("site-packages");
                if site.is_dir() {
                    // lib64 is usually a symlink to lib: resolving keeps one copy of each.
                    let site = canonical(&site)?;
                    if !site_packages.contains(&site) {
                        site_packages.push(site);
                    }
                }
            }
        }
        site_packages.sort();
        Ok(EnvLayout {
            roots: vec![root.clone()],
            root,
            site_packages,
        })
    }

    /// The layout of an interpreter outside a venv, from its `sysconfig`: the package and
    /// script directories are recorded (not the whole prefix, which may be `/usr`).
    pub fn of_interpreter(python: &Path) -> Result<EnvLayout, EnvJournalError> {
        const SCRIPT: &str = "import json, sys, sysconfig; p = sysconfig.get_paths(); \
            print(json.dumps([sys.prefix, p['purelib'], p['platlib'], p['scripts']]))";
        // A read-only probe of a few milliseconds, asked from where no apply's control reaches
        // (the journal): not cancelled, and nothing to end if planrun is killed meanwhile.
        let inv = Invocation::new(python).args(["-c", SCRIPT]);
        let out = process::capture(&inv, &Control::default())
            .map_err(|e| EnvJournalError::io(format!("run `{}`", python.display()), e))?;
        if !out.outcome.status.success() {
            return Err(EnvJournalError::Report(format!(
                "`{} -c sysconfig` failed: {}",
                python.display(),
                out.stderr.trim()
            )));
        }
        let paths: Vec<PathBuf> = serde_json::from_str(&out.stdout)
            .map_err(|e| EnvJournalError::Report(format!("sysconfig paths: {e}")))?;
        let Some((prefix, dirs)) = paths.split_first() else {
            return Err(EnvJournalError::Report("sysconfig printed no paths".into()));
        };
        let mut roots: Vec<PathBuf> = Vec::new();
        let mut site_packages: Vec<PathBuf> = Vec::new();
        for (i, dir) in dirs.iter().enumerate().filter(|(_, d)| d.is_dir()) {
            let dir = canonical(dir)?;
            // purelib and platlib come first.
            if i < 2 && !site_packages.contains(&dir) {
                site_packages.push(dir.clone());
            }
            if !roots.contains(&dir) {
                roots.push(dir);
            }
        }
        let nested: Vec<PathBuf> = roots
            .iter()
            .filter(|r| roots.iter().any(|o| o != *r && r.starts_with(o)))
            .cloned()
            .collect();
        roots.retain(|r| !nested.contains(r));
        Ok(EnvLayout {
            root: canonical(prefix)?,
            roots,
            site_packages,
        })
    }

    /// The layout for an interpreter: its venv when it has one, else its `sysconfig` paths.
    pub fn locate(python: &Path, venv: Option<&Path>) -> Result<EnvLayout, EnvJournalError> {
        match venv {
            Some(venv) => EnvLayout::of_venv(venv),
            None => EnvLayout::of_interpreter(python),
        }
    }
}

fn canonical(path: &Path) -> Result<PathBuf, EnvJournalError> {
    fs::canonicalize(path)
        .map_err(|e| EnvJournalError::io(format!("resolve `{}`", path.display()), e))
}
