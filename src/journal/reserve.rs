//! Room kept for the journal on a disk that fills up: a file made when a run begins and given
//! back the moment a record does not fit, so that what planrun wrote is still recorded (never
//! mistaken for a person's edit) and its rollback can finish.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::error::JournalError;
use super::state::{self, RunRecord, Status};

/// The file's name in a run's journal directory.
pub const FILE: &str = "reserve";

/// Its size: room for the small records a failing step and its rollback still write (after
/// states without their bytes, done markers, the run's status).
pub const SIZE: usize = 64 * 1024;

/// Makes the reserve in `run_dir`, its blocks really allocated: by `fallocate`, which takes
/// them from the file system at once (a full disk says so here), or, where the file system
/// cannot, by zeros written and synced.
///
/// The allocated file is not synced: the room it keeps is for this process, which frees it
/// when a record does not fit, and the file system counts the blocks as taken from the
/// `fallocate` on. Its name is made durable with the run directory's (by `meta.json`). A
/// power loss before the file system writes the allocation back can leave it short, which
/// only means that a rollback after that crash on a disk also full has less room; the journal's
/// own records are synced as before. (The sync was one of the `fsync`s of every apply.)
pub fn make(run_dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let path = run_dir.join(FILE);
    let made = fs::File::create(&path).and_then(|mut f| {
        let len = libc::off_t::try_from(SIZE).unwrap_or(libc::off_t::MAX);
        // SAFETY: fallocate on an open descriptor only allocates blocks for that file.
        if unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, len) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if is_full(&e) {
            return Err(e);
        }
        f.write_all(&[0u8; SIZE])?;
        f.sync_all()
    });
    if made.is_err() {
        let _ = fs::remove_file(&path);
    }
    made
}

/// Gives the reserve back to the file system; whether there was one to give.
pub fn release(run_dir: &Path) -> bool {
    let released = fs::remove_file(run_dir.join(FILE)).is_ok();
    if released {
        tracing::warn!("the disk is full: planrun used the room it kept for its journal");
    }
    released
}

/// Writes a run's `meta.json`, using the reserve if the disk is full (the status is the last
/// thing a failed step's rollback writes); a run that is over (rolled back or abandoned) no
/// longer needs its reserve.
pub fn write_status(run_dir: &Path, record: &RunRecord) -> Result<(), JournalError> {
    match state::write_record(run_dir, record) {
        Err(JournalError::Io { source, .. }) if is_full(&source) && release(run_dir) => {
            state::write_record(run_dir, record)?;
        }
        other => other?,
    }
    if matches!(record.status, Status::RolledBack | Status::Abandoned) {
        let _ = fs::remove_file(run_dir.join(FILE));
    }
    Ok(())
}

/// Whether `e` says the file system (or the user's quota) is full.
pub fn is_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_is_made_whole_and_given_back_once() {
        let dir = tempfile::tempdir().unwrap();
        make(dir.path()).unwrap();
        assert_eq!(
            fs::metadata(dir.path().join(FILE)).unwrap().len(),
            SIZE as u64
        );
        assert!(release(dir.path()));
        assert!(!release(dir.path()));
    }

    /// The blocks are taken from the file system, not only the length set: a sparse file
    /// would keep no room.
    #[test]
    fn the_reserve_holds_real_blocks() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        make(dir.path()).unwrap();
        let meta = fs::metadata(dir.path().join(FILE)).unwrap();
        assert!(
            meta.blocks() * 512 >= SIZE as u64,
            "{} blocks",
            meta.blocks()
        );
    }

    #[test]
    fn full_disks_and_quotas_are_told_from_other_errors() {
        assert!(is_full(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_full(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(!is_full(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
