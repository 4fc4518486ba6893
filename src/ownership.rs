//! Who a file planrun writes in a target belongs to, and which inode it is: a rewritten file
//! keeps its owner, group, mode and hard links; a new one takes the owner of its directory.
//!
//! The rule, for every file planrun writes or restores in a target (apply's edits, rollback's
//! restores, an environment's files):
//!
//! - a file that exists keeps its owner and group (root applying to a user's checkout leaves
//!   the user's files the user's);
//! - a file that has other hard links is rewritten in place, so every name still shares one
//!   inode. That write is not atomic, but the journal holds the before-image already, so a crash
//!   mid-write is rolled back like any other;
//! - a file or directory planrun creates, or restores without a recorded owner, is given the
//!   owner and group of the directory it is made in, when planrun runs as root (only root may
//!   give a file away); otherwise it is the running user's, as any new file is.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::fsutil::{self, FileImage, Restored};

/// A file's owner and group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

impl Owner {
    fn of(meta: &fs::Metadata) -> Owner {
        Owner {
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

/// Whether planrun may give files away (it runs as root).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The owner of the directory `path` is (or would be) made in.
fn dir_owner(path: &Path) -> Option<Owner> {
    fs::metadata(fsutil::parent_or_dot(path))
        .ok()
        .map(|m| Owner::of(&m))
}

/// The owner a file written at `path` must have: its own if it is a file now, else its
/// directory's.
pub fn owner_for(path: &Path) -> Option<Owner> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Some(Owner::of(&meta)),
        _ => dir_owner(path),
    }
}

/// Gives `path` (not followed if a symlink) to `owner` when planrun runs as root and it is not
/// already theirs; the set-id bits that `chown` clears are put back.
pub fn give(path: &Path, owner: Option<Owner>) -> io::Result<()> {
    let Some(owner) = owner.filter(|_| is_root()) else {
        return Ok(());
    };
    let meta = fs::symlink_metadata(path)?;
    if Owner::of(&meta) == owner {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid))?;
    let mode = meta.permissions().mode();
    if !meta.file_type().is_symlink() && mode & 0o6000 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` as [`fsutil::write_atomic`] does, keeping the owner, group and hard
/// links of the file it replaces, or giving a new file its directory's owner (see the module
/// doc). `mode` as in `write_atomic`.
pub fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = meta.as_ref().filter(|m| m.is_file() && m.nlink() > 1) {
        // Another name of the same inode, made by the directory's own owner: rewriting it in
        // place changes nothing that owner could not change. A link to someone else's file
        // is replaced by a file of its own instead, as an atomic write always did.
        if dir_owner(path).is_some_and(|o| o.uid == meta.uid()) {
            return write_in_place(path, bytes, mode);
        }
    }
    let owner = meta
        .as_ref()
        .filter(|m| m.is_file())
        .map(Owner::of)
        .or_else(|| dir_owner(path));
    fsutil::write_atomic(path, bytes, mode)?;
    give(path, owner)
}

/// Truncates and rewrites the inode `path` names, never following a symlink.
fn write_in_place(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(bytes)?;
    if let Some(mode) = mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.sync_all()
}

/// Puts `path` back into `image` as [`FileImage::restore`] does, keeping owners and hard links
/// by the rule of this module: a file's bytes are written by [`write`], a symlink made anew is
/// given its directory's owner.
pub fn restore(image: &FileImage, path: &Path) -> io::Result<Restored> {
    let FileImage::File { bytes, mode } = image else {
        let restored = image.restore(path)?;
        if restored == Restored::Written {
            give(path, dir_owner(path))?;
        }
        return Ok(restored);
    };
    let tmp = fsutil::temp_path(path);
    if fs::symlink_metadata(&tmp).is_ok() {
        fs::remove_file(&tmp)?;
    }
    let current = FileImage::read(path)?;
    if &current == image {
        return Ok(Restored::Unchanged);
    }
    if matches!(current, FileImage::Symlink { .. }) {
        fs::remove_file(path)?;
    }
    write(path, bytes, Some(*mode))?;
    Ok(Restored::Written)
}

/// `fs::create_dir_all`, each directory it makes given its parent's owner (see the module doc).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => give(dir, dir_owner(dir)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory owned by uid/gid 1000, as a person's checkout is.
    fn users_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(1000), Some(1000)).unwrap();
        dir
    }

    #[test]
    fn a_rewritten_file_keeps_its_owner_mode_and_hard_links() {
        if !is_root() {
            // Only root can make a file someone else's, which is what is checked here.
            return;
        }
        let dir = users_dir();
        let (a, b) = (dir.path().join("a.py"), dir.path().join("b.py"));
        fs::write(&a, "old").unwrap();
        std::os::unix::fs::chown(&a, Some(1000), Some(1000)).unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
        fs::hard_link(&a, &b).unwrap();
        let ino = fs::metadata(&a).unwrap().ino();
        write(&a, b"new", None).unwrap();
        let meta = fs::metadata(&a).unwrap();
        assert_eq!(
            (meta.ino(), meta.nlink(), meta.uid(), meta.gid()),
            (ino, 2, 1000, 1000)
        );
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(fs::read_to_string(&b).unwrap(), "new");
        // A single-link file is replaced atomically, and still keeps its owner.
        fs::remove_file(&b).unwrap();
        write(&a, b"newer", Some(0o600)).unwrap();
        let meta = fs::metadata(&a).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    }

    #[test]
    fn new_files_and_directories_take_their_directorys_owner() {
        if !is_root() {
            return;
        }
        let dir = users_dir();
        let deep = dir.path().join("x/y");
        create_dir_all(&deep).unwrap();
        write(&deep.join("new.txt"), b"n", None).unwrap();
        for p in [dir.path().join("x"), deep.clone(), deep.join("new.txt")] {
            let meta = fs::metadata(&p).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (1000, 1000), "{}", p.display());
        }
    }

    #[test]
    fn a_hard_link_to_a_file_of_another_owner_is_replaced_not_written_through() {
        if !is_root() {
            return;
        }
        let dir = users_dir();
        let outside = tempfile::tempdir().unwrap();
        let theirs = outside.path().join("theirs");
        fs::write(&theirs, "keep").unwrap();
        let link = dir.path().join("link");
        fs::hard_link(&theirs, &link).unwrap();
        write(&link, b"mine", None).unwrap();
        assert_eq!(fs::read_to_string(&theirs).unwrap(), "keep");
        assert_eq!(fs::read_to_string(&link).unwrap(), "mine");
    }

    #[test]
    fn a_restore_keeps_links_and_a_restored_symlink_is_the_directorys() {
        if !is_root() {
            return;
        }
        let dir = users_dir();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "planrun's").unwrap();
        std::os::unix::fs::chown(&a, Some(1000), Some(1000)).unwrap();
        fs::hard_link(&a, &b).unwrap();
        let image = FileImage::File {
            bytes: b"before".to_vec(),
            mode: 0o644,
        };
        assert_eq!(restore(&image, &a).unwrap(), Restored::Written);
        assert_eq!(restore(&image, &a).unwrap(), Restored::Unchanged);
        assert_eq!(fs::read_to_string(&b).unwrap(), "before");
        assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
        let link = dir.path().join("link");
        let image = FileImage::Symlink { target: "a".into() };
        assert_eq!(restore(&image, &link).unwrap(), Restored::Written);
        assert_eq!(fs::symlink_metadata(&link).unwrap().uid(), 1000);
    }

    #[test]
    fn setid_bits_survive_the_change_of_owner() {
        if !is_root() {
            return;
        }
        let dir = users_dir();
        let p = dir.path().join("tool");
        write(&p, b"#!/bin/sh\n", Some(0o4755)).unwrap();
        let meta = fs::metadata(&p).unwrap();
        assert_eq!(meta.uid(), 1000);
        assert_eq!(meta.permissions().mode() & 0o7777, 0o4755);
    }
}
