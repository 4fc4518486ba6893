//! One apply per target: `.planrun/lock`, created atomically, naming its pid, host and start.
//!
//! This is one of planrun's two locks, on purpose; the other is the `flock` around a history
//! append (`crate::history::file`). This one is held for a whole apply, must fail at once and
//! say who holds it (pid, host, command), must be seen from another host on a shared file
//! system (where `flock` may be local only), and must outlive a killed apply as evidence:
//! `rollback` breaks it only once its process is gone, and `unlock` clears it. A `flock` gives
//! none of that; it vanishes with its process. The history append needs the opposite: a wait
//! of microseconds for another appender, never a stale file to clear.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::JournalError;
use super::paths;
use crate::fsutil;

/// Where the lock lives; re-exported here, where its users look for it.
pub use super::paths::lock_path;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The holding process.
    pub pid: u32,
    /// The host it runs on.
    pub host: String,
    /// When it took the lock (RFC 3339, UTC).
    pub started: String,
    /// What it is doing, e.g. `apply plans/xdist.toml`.
    pub command: String,
}

/// Why a lock could not be taken or cleared.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error("`{}` is locked by `{}` (pid {} on {}, started {})", target.display(), info.command, info.pid, info.host, info.started)]
    Held { target: PathBuf, info: LockInfo },
    /// The lock was taken on another host, where planrun cannot tell whether its process runs
    /// (a shared file system, or a lock that came with the repository).
    #[error("`{}` is locked by `{}` (pid {} on {}, started {}), another host: planrun cannot tell from here whether that process still runs", target.display(), info.command, info.pid, info.host, info.started)]
    Foreign { target: PathBuf, info: LockInfo },
    /// The lock's process is gone.
    #[error("stale lock on `{}`: pid {} on {} (started {}) is gone; `planrun unlock --target {}` clears it", target.display(), info.pid, info.host, info.started, target.display())]
    Stale { target: PathBuf, info: LockInfo },
    /// The lock file cannot be parsed.
    #[error("lock file `{}` is unreadable; `planrun unlock --force --target {}` removes it", path.display(), target.display())]
    Unreadable { path: PathBuf, target: PathBuf },
    /// The state directory could not be prepared.
    #[error(transparent)]
    State(Box<JournalError>),
    /// A file-system failure.
    #[error("failed to {context}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl LockError {
    /// What to do about it, when the message does not say already. Only a held lock is worth
    /// waiting for; a target planrun cannot write to needs the person, not time.
    pub fn hint(&self) -> Option<&'static str> {
        let source =
            match self {
                LockError::Held { .. } => {
                    return Some(
                        "wait for the other apply, or run `planrun unlock` if its process is gone",
                    )
                }
                LockError::Foreign { .. } => return Some(
                    "if no planrun runs on that host (the lock came with the repository, or the \
                     machine is gone), `planrun unlock --force` clears it",
                ),
                LockError::Stale { .. } | LockError::Unreadable { .. } => return None,
                LockError::Io { source, .. } => source,
                LockError::State(e) => match e.as_ref() {
                    JournalError::Io { source, .. } => source,
                    _ => return None,
                },
            };
        match source.kind() {
            io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => Some(
                "planrun keeps its lock and journal in `.planrun/` inside the target; make the target writable",
            ),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                Some("free space on the target's file system, then run this again")
            }
            _ => None,
        }
    }
}

/// A held lock; dropping it removes the lock file.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    info: LockInfo,
}

impl Lock {
    /// Takes the lock of `target` for `command`, or says who holds it.
    pub fn acquire(target: &Path, command: &str) -> Result<Lock, LockError> {
        let io_err = |context: String| move |source| LockError::Io { context, source };
        paths::ensure_state_dir(target).map_err(|e| LockError::State(Box::new(e)))?;
        let path = lock_path(target);
        let info = LockInfo {
            pid: std::process::id(),
            host: host_name(),
            started: crate::timestamp::now(),
            command: command.to_string(),
        };
        // Written whole under a private name, then hard-linked into place: the link is atomic
        // and fails when a lock exists, like O_EXCL, but no one ever sees a half-written lock.
        let tmp = path.with_file_name(format!("lock.{}.tmp", info.pid));
        let json = serde_json::to_vec(&info).map_err(|e| LockError::Io {
            context: "encode the lock".into(),
            source: io::Error::other(e),
        })?;
        // Its bytes are synced before the link makes them the lock; the private name itself
        // need not survive a crash (it is removed at once), so it is written in place, not
        // renamed into place with a sync of the directory of its own.
        write_synced(&tmp, &json).map_err(io_err(format!("write `{}`", tmp.display())))?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                fsutil::fsync_dir(fsutil::parent_or_dot(&path))
                    .map_err(io_err(format!("sync `{}`", path.display())))?;
                Ok(Lock { path, info })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(holder_error(target)?),
            Err(e) => Err(io_err(format!("create `{}`", path.display()))(e)),
        }
    }

    /// Takes the lock, first clearing a stale one; returns the stale holder it cleared.
    /// For `planrun rollback`, which must work after an apply was killed.
    pub fn acquire_breaking_stale(
        target: &Path,
        command: &str,
    ) -> Result<(Lock, Option<LockInfo>), LockError> {
        match Lock::acquire(target, command) {
            Ok(lock) => Ok((lock, None)),
            Err(LockError::Stale { info, .. }) => {
                remove_lock(target)?;
                Ok((Lock::acquire(target, command)?, Some(info)))
            }
            Err(e) => Err(e),
        }
    }

    /// Who holds this lock (this process).
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Only our own lock: `unlock --force` may have handed it to someone else meanwhile.
        let ours = fsutil::read_nofollow(&self.path, super::paths::MAX_SMALL)
            .ok()
            .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            .is_some_and(|held| held == self.info);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to a new file `path` (one left by an earlier process of the same pid is
/// replaced) and syncs them.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

/// The current lock holder, if any.
pub fn read_lock(target: &Path) -> Result<Option<LockInfo>, LockError> {
    let path = lock_path(target);
    match fsutil::read_nofollow(&path, super::paths::MAX_SMALL) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| LockError::Unreadable {
                path,
                target: target.to_path_buf(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LockError::Io {
            context: format!("read `{}`", path.display()),
            source: e,
        }),
    }
}

/// Whether the holder's process is still running (a holder on another host counts as alive:
/// there is no way to tell from here).
pub fn holder_alive(info: &LockInfo) -> bool {
    info.host != host_name() || pid_alive(info.pid)
}

/// The error describing the current holder: held, or stale.
fn holder_error(target: &Path) -> Result<LockError, LockError> {
    let target = target.to_path_buf();
    match read_lock(&target)? {
        Some(info) if info.host != host_name() => Ok(LockError::Foreign { target, info }),
        Some(info) if holder_alive(&info) => Ok(LockError::Held { target, info }),
        Some(info) => Ok(LockError::Stale { target, info }),
        // Released between our attempt and the read: report it as held by nobody alive.
        None => Err(LockError::Io {
            context: format!("take the lock of `{}`", target.display()),
            source: io::Error::other("the lock changed hands; try again"),
        }),
    }
}

fn remove_lock(target: &Path) -> Result<(), LockError> {
    let path = lock_path(target);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LockError::Io {
            context: format!("remove `{}`", path.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Clears the lock of `target` when its holder is gone (or always, with `force`); returns the
/// holder it cleared, `None` when there was no lock.
pub fn unlock(target: &Path, force: bool) -> Result<Option<LockInfo>, LockError> {
    let info = match read_lock(target) {
        Ok(Some(info)) => Some(info),
        Ok(None) => return Ok(None),
        Err(LockError::Unreadable { .. }) if force => None,
        Err(e) => return Err(e),
    };
    if let Some(info) = info.as_ref().filter(|_| !force) {
        if info.host != host_name() {
            return Err(LockError::Foreign {
                target: target.to_path_buf(),
                info: info.clone(),
            });
        }
        if holder_alive(info) {
            return Err(LockError::Held {
                target: target.to_path_buf(),
                info: info.clone(),
            });
        }
    }
    remove_lock(target)?;
    Ok(info.or_else(|| {
        Some(LockInfo {
            pid: 0,
            host: String::new(),
            started: String::new(),
            command: "(unreadable lock)".into(),
        })
    }))
}

/// Whether a process with this pid exists on this host.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    let exists = rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A zombie has died: it only waits for its parent (or init) to reap it.
    exists && !is_zombie(pid)
}

fn is_zombie(pid: libc::pid_t) -> bool {
    u32::try_from(pid)
        .ok()
        .and_then(|pid| crate::process::proctree::read(pid, &mut String::new()))
        .is_some_and(|p| p.is_zombie())
}

/// This machine's host name.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn second_acquire_names_the_holder_and_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path(), "apply x.toml").unwrap();
        let err = Lock::acquire(dir.path(), "apply y.toml").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LockError::Held { .. }));
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("apply x.toml"), "{msg}");
        assert!(matches!(
            unlock(dir.path(), false),
            Err(LockError::Held { .. })
        ));
        drop(lock);
        assert!(!lock_path(dir.path()).exists());
        assert!(Lock::acquire(dir.path(), "apply y.toml").is_ok());
    }

    /// The private file the lock is written under before it is linked into place: one left
    /// by a killed process of the same pid is replaced, and none is left behind.
    #[test]
    fn a_leftover_private_file_is_replaced_and_none_is_left() {
        let dir = tempfile::tempdir().unwrap();
        crate::journal::paths::ensure_state_dir(dir.path()).unwrap();
        let lock = lock_path(dir.path());
        let tmp = lock.with_file_name(format!("lock.{}.tmp", std::process::id()));
        fs::write(&tmp, "half a lo").unwrap();
        let held = Lock::acquire(dir.path(), "apply x.toml").unwrap();
        assert_eq!(read_lock(dir.path()).unwrap().as_ref(), Some(held.info()));
        assert!(!tmp.exists());
    }

    #[test]
    fn dead_holder_is_stale_and_unlock_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        paths::ensure_state_dir(dir.path()).unwrap();
        let info = LockInfo {
            pid: dead_pid(),
            host: host_name(),
            started: "2026-11-21T14:05:01Z".into(),
            command: "apply x.toml".into(),
        };
        fs::write(lock_path(dir.path()), serde_json::to_vec(&info).unwrap()).unwrap();
        let err = Lock::acquire(dir.path(), "apply").unwrap_err();
        assert!(matches!(err, LockError::Stale { .. }));
        assert!(err.to_string().contains("planrun unlock"), "{err}");
        assert_eq!(unlock(dir.path(), false).unwrap(), Some(info));
        assert_eq!(unlock(dir.path(), false).unwrap(), None);
    }

    #[test]
    fn rollback_breaks_a_stale_lock_but_not_a_live_one() {
        let dir = tempfile::tempdir().unwrap();
        paths::ensure_state_dir(dir.path()).unwrap();
        let stale = LockInfo {
            pid: dead_pid(),
            host: host_name(),
            started: "x".into(),
            command: "apply".into(),
        };
        fs::write(lock_path(dir.path()), serde_json::to_vec(&stale).unwrap()).unwrap();
        let (lock, cleared) = Lock::acquire_breaking_stale(dir.path(), "rollback").unwrap();
        assert_eq!(cleared, Some(stale));
        assert!(matches!(
            Lock::acquire_breaking_stale(dir.path(), "rollback"),
            Err(LockError::Held { .. })
        ));
        drop(lock);
    }

    #[test]
    fn unreadable_lock_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        paths::ensure_state_dir(dir.path()).unwrap();
        fs::write(lock_path(dir.path()), "{not json").unwrap();
        assert!(matches!(
            unlock(dir.path(), false),
            Err(LockError::Unreadable { .. })
        ));
        assert!(unlock(dir.path(), true).unwrap().is_some());
        assert!(!lock_path(dir.path()).exists());
    }

    fn io_failure(errno: i32) -> LockError {
        LockError::State(Box::new(JournalError::io(
            "create `t/.planrun`",
            io::Error::from_raw_os_error(errno),
        )))
    }

    #[test]
    fn only_a_held_lock_hints_at_waiting() {
        let read_only = io_failure(libc::EROFS);
        let text = crate::error::with_causes(&read_only);
        assert!(
            text.contains("Read-only file system (os error 30)"),
            "{text}"
        );
        let hint = read_only.hint().unwrap();
        assert!(!hint.contains("wait"), "{hint}");
        assert!(hint.contains("writable"), "{hint}");
        let full = LockError::Io {
            context: "write `t/.planrun/lock.1.tmp`".into(),
            source: io::Error::from_raw_os_error(libc::ENOSPC),
        };
        let text = crate::error::with_causes(&full);
        assert!(
            text.contains("No space left on device (os error 28)"),
            "{text}"
        );
        assert!(full.hint().unwrap().contains("free space"));
        let held = LockError::Held {
            target: "t".into(),
            info: LockInfo {
                pid: 1,
                host: host_name(),
                started: "x".into(),
                command: "apply".into(),
            },
        };
        assert!(held.hint().unwrap().starts_with("wait for the other apply"));
        assert_eq!(io_failure(libc::EIO).hint(), None);
    }

    #[test]
    fn a_read_only_target_names_the_os_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        let result = Lock::acquire(dir.path(), "apply");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // root writes through mode 0555 (CAP_DAC_OVERRIDE), so the directory is not
            // read-only for this process; the synthetic EROFS/ENOSPC cases above cover the
            // message and hint instead.
            return;
        }
        let e = result.unwrap_err();
        let text = crate::error::with_causes(&e);
        assert!(text.contains("Permission denied (os error 13)"), "{text}");
        assert!(!e.hint().unwrap_or_default().contains("wait"));
    }
}
