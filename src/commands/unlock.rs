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
        Err(e @ LockError::Held { .. }) => Err(Error::invalid(
            e.to_string(),
            Some("that process is still running; stop it first, or pass --force if it is not planrun's"),
        )),
        Err(e) => Err(Error::invalid(e.to_string(), None)),
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
        assert!(run(&args).is_err());
        assert!(lock::lock_path(dir.path()).exists());
        args.force = true;
        assert_eq!(run(&args).unwrap(), exit::OK);
        assert!(!lock::lock_path(dir.path()).exists());
        drop(held);
    }
}
