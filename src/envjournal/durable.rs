//! Making changed paths durable with the fewest syncs: a few are synced one by one (each file,
//! then each parent directory once), many with one `syncfs` of their file system.

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::EnvJournalError;
use crate::fsutil;

/// Fewer paths than this are synced one by one; more, with one `syncfs`.
const ONE_BY_ONE_MAX: usize = 48;

/// Makes `written` (files created or replaced) and `removed` (paths deleted) durable; `anchor`
/// is any directory on the same file system.
pub fn sync(
    anchor: &Path,
    written: &[PathBuf],
    removed: &[PathBuf],
) -> Result<(), EnvJournalError> {
    let io = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| EnvJournalError::io(context, e)
    };
    if written.is_empty() && removed.is_empty() {
        return Ok(());
    }
    if written.len() + removed.len() > ONE_BY_ONE_MAX {
        let handle = fs::File::open(anchor).map_err(io("open", anchor))?;
        // SAFETY: syncfs only reads the descriptor, which `handle` keeps open.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io("sync the file system of", anchor)(
                std::io::Error::last_os_error(),
            ));
        }
        return Ok(());
    }
    let mut parents = BTreeSet::new();
    for path in written {
        let is_file = fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
        if is_file {
            fs::File::open(path)
                .and_then(|f| f.sync_data())
                .map_err(io("sync", path))?;
        }
        parents.insert(fsutil::parent_or_dot(path).to_path_buf());
    }
    for path in removed {
        parents.insert(fsutil::parent_or_dot(path).to_path_buf());
    }
    for dir in parents {
        fsutil::fsync_dir(&dir).map_err(io("sync", &dir))?;
    }
    Ok(())
}
