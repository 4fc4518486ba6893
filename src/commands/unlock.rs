//! `planrun unlock`: clear a lock whose apply is gone.

use crate::cli::UnlockArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::lock::{self, LockError};
use crate::ui;

/// Runs `planrun unlock`.
pub fn run(args: &UnlockArgs) -> Result<u8> {
    let target = &args.target;
    match lock::unlock(target, args.force) {
        Ok(Some(info)) => {
            ui::out(&format!(
                "removed the lock of `{}` (pid {} on {}, started {})",
                info.command, info.pid, info.host, info.started
            ));
            Ok(exit::OK)
        }
        Ok(None) => {
            ui::note(&format!("`{}` is not locked", target.display()));
            Ok(exit::OK)
        }
        // Exit 6 like any command that meets a held lock: CI tells "locked" from "invalid".
        Err(e @ LockError::Held { .. }) => Err(Error::Lock {
            source: Box::new(e),
            hint: Some(
                "that process is still running; stop it first, or pass --force if it is not planrun's"
                    .into(),
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::lock::Lock;

    #[test]
    fn refuses_a_live_lock_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = UnlockArgs {
            target: dir.path().to_path_buf(),
            force: false,
        };
        assert_eq!(run(&args).unwrap(), exit::OK);
        let held = Lock::acquire(dir.path(), "apply").unwrap();
        assert_eq!(run(&args).unwrap_err().code(), exit::LOCKED);
        assert!(lock::lock_path(dir.path()).exists());
        args.force = true;
        assert_eq!(run(&args).unwrap(), exit::OK);
        assert!(!lock::lock_path(dir.path()).exists());
        drop(held);
    }

    #[test]
    fn a_lock_from_another_host_needs_force_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let info = lock::LockInfo {
            pid: std::process::id(),
            host: format!("not-{}", lock::host_name()),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        let path = lock::lock_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
        let mut args = UnlockArgs {
            target: dir.path().to_path_buf(),
            force: false,
        };
        let refused = run(&args).unwrap_err();
        assert_eq!(refused.code(), exit::LOCKED);
        assert!(refused
            .hint()
            .unwrap()
            .contains("`planrun unlock --force` clears it"));
        // What the hint says works.
        args.force = true;
        assert_eq!(run(&args).unwrap(), exit::OK);
        assert!(!path.exists());
    }
}
