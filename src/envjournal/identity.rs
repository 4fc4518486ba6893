//! Which environment a journal entry is about: its resolved directory, that directory's inode,
//! its `pyvenv.cfg` and its interpreter, so rollback never restores a different environment.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EnvJournalError;

/// The identity of one Python environment at the time it was journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvIdentity {
    /// The environment's root as given (absolute, not resolved): where rollback looks.
    pub path: PathBuf,
    /// The root with every symlink resolved.
    pub root: PathBuf,
    /// Device of the root directory.
    pub dev: u64,
    /// Inode of the root directory: a venv deleted and made again at the same path differs.
    pub ino: u64,
    /// blake3 of `pyvenv.cfg` (hex), when the root is a venv.
    pub pyvenv_cfg: Option<String>,
    /// The interpreter as given (absolute, not resolved).
    pub python: PathBuf,
    /// The interpreter with every symlink resolved.
    pub interpreter: PathBuf,
}

impl EnvIdentity {
    /// Reads the identity of the environment rooted at `root` whose interpreter is `python`.
    pub fn of(root: &Path, python: &Path) -> Result<EnvIdentity, EnvJournalError> {
        let path = absolute(root)?;
        let python = absolute(python)?;
        let resolve = |p: &Path| {
            fs::canonicalize(p)
                .map_err(|e| EnvJournalError::io(format!("resolve `{}`", p.display()), e))
        };
        let root = resolve(&path)?;
        let meta = fs::metadata(&root)
            .map_err(|e| EnvJournalError::io(format!("stat `{}`", root.display()), e))?;
        let cfg = root.join("pyvenv.cfg");
        let pyvenv_cfg = match fs::read(&cfg) {
            Ok(bytes) => Some(blake3::hash(&bytes).to_hex().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(EnvJournalError::io(format!("read `{}`", cfg.display()), e)),
        };
        let interpreter = resolve(&python)?;
        Ok(EnvIdentity {
            path,
            root,
            dev: meta.dev(),
            ino: meta.ino(),
            pyvenv_cfg,
            python,
            interpreter,
        })
    }

    /// Checks that the environment at the recorded path is still this one.
    pub fn check(&self) -> Result<(), EnvJournalError> {
        let mismatch = |found: PathBuf, what: &str| EnvJournalError::Identity {
            given: self.path.clone(),
            recorded: self.root.clone(),
            found,
            what: what.to_string(),
        };
        let now = match EnvIdentity::of(&self.path, &self.python) {
            Ok(now) => now,
            Err(e) => return Err(mismatch(self.path.clone(), &error_text(&e))),
        };
        if now.root != self.root {
            return Err(mismatch(now.root, "it resolves to another directory"));
        }
        if (now.dev, now.ino) != (self.dev, self.ino) {
            return Err(mismatch(
                now.root,
                "the directory was deleted and made again",
            ));
        }
        if now.pyvenv_cfg != self.pyvenv_cfg {
            return Err(mismatch(now.root, "its pyvenv.cfg changed"));
        }
        if now.interpreter != self.interpreter {
            return Err(mismatch(
                now.interpreter,
                &format!(
                    "its interpreter resolves elsewhere (recorded `{}`)",
                    self.interpreter.display()
                ),
            ));
        }
        Ok(())
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EnvJournalError> {
    std::path::absolute(path)
        .map_err(|e| EnvJournalError::io(format!("resolve `{}`", path.display()), e))
}

fn error_text(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_venv(dir: &Path, cfg: &str) -> PathBuf {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("pyvenv.cfg"), cfg).unwrap();
        fs::write(dir.join("bin/python3"), "").unwrap();
        std::os::unix::fs::symlink("python3", dir.join("bin/python")).unwrap();
        dir.join("bin/python")
    }

    #[test]
    fn the_same_env_passes_and_a_repointed_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join(".venv");
        let python = fake_venv(&venv, "home = /usr/bin\n");
        let id = EnvIdentity::of(&venv, &python).unwrap();
        assert_eq!(
            id.interpreter,
            fs::canonicalize(venv.join("bin/python3")).unwrap()
        );
        id.check().unwrap();

        let other = tmp.path().join("other");
        fake_venv(&other, "home = /usr/bin\n");
        fs::rename(&venv, tmp.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&other, &venv).unwrap();
        let err = id.check().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EnvJournalError::Identity { .. }));
        assert!(text.contains(".venv") && text.contains("other"), "{text}");
    }

    #[test]
    fn a_recreated_or_reconfigured_venv_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("v");
        let python = fake_venv(&venv, "a\n");
        let id = EnvIdentity::of(&venv, &python).unwrap();
        fs::write(venv.join("pyvenv.cfg"), "b\n").unwrap();
        assert!(id.check().unwrap_err().to_string().contains("pyvenv.cfg"));
        // Kept aside rather than deleted, so the new directory cannot reuse its inode.
        fs::rename(&venv, tmp.path().join("v.old")).unwrap();
        fake_venv(&venv, "a\n");
        assert!(id.check().unwrap_err().to_string().contains("made again"));
    }
}
