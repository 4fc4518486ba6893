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

/// Makes the reserve in `run_dir`, its blocks really allocated (zeros written, synced).
pub fn make(run_dir: &Path) -> io::Result<()> {
    let path = run_dir.join(FILE);
    let made = fs::File::create(&path).and_then(|mut f| {
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

    #[test]
    fn full_disks_and_quotas_are_told_from_other_errors() {
        assert!(is_full(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_full(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(!is_full(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
