//! Safe file-system primitives: confining plan paths to the target, crash-proof writes, and
//! exact snapshots (content, mode, or absence) of single files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The directory inside a target that holds planrun's own state.
pub const STATE_DIR: &str = ".planrun";

/// Why a plan path was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The path is empty or names the target itself.
    #[error("path `{path}` is empty or names the target itself")]
    Empty { path: String },
    /// The path is absolute.
    #[error("path `{path}` is absolute; plan paths are relative to the target")]
    Absolute { path: String },
    /// `..` components climb out of the target.
    #[error("path `{path}` leaves the target through `..`")]
    Escapes { path: String },
    /// An existing component is a symlink that resolves outside the target.
    #[error("path `{path}` leaves the target: `{link}` is a symlink to `{resolves_to}`")]
    SymlinkEscapes {
        path: String,
        link: String,
        resolves_to: PathBuf,
    },
    /// An existing component is a symlink whose destination does not exist.
    #[error("path `{path}` goes through `{link}`, a symlink whose destination does not exist")]
    DanglingSymlink { path: String, link: String },
    /// The path lies inside planrun's own state directory.
    #[error("path `{path}` is inside planrun's state directory `{STATE_DIR}`")]
    StateDir { path: String },
    /// The target or a component could not be inspected.
    #[error("failed to inspect `{path}` while checking `{rel}`")]
    Io {
        rel: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Resolves `rel` inside `target`, refusing anything that would reach outside it.
///
/// Checked lexically first (absolute paths, `..` that climbs out), then on disk: every existing
/// component that is a symlink must resolve inside the target. The returned path has no `.` or
/// `..` components, so the OS resolves exactly what was checked.
pub fn confine(target: &Path, rel: &str) -> Result<PathBuf, ConfineError> {
    let normal = normalize(rel)?;
    if normal.components().next() == Some(Component::Normal(STATE_DIR.as_ref())) {
        return Err(ConfineError::StateDir { path: rel.into() });
    }
    let io_err = |path: &Path, source| ConfineError::Io {
        rel: rel.into(),
        path: path.to_path_buf(),
        source,
    };
    let root = fs::canonicalize(target).map_err(|e| io_err(target, e))?;
    let mut current = target.to_path_buf();
    for component in normal.components() {
        current.push(component);
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            // Nothing below a missing component exists, so nothing there can be a symlink.
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(&current, e)),
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let link = current
            .strip_prefix(target)
            .unwrap_or(&current)
            .display()
            .to_string();
        match fs::canonicalize(&current) {
            Ok(resolved) if resolved.starts_with(&root) => {}
            Ok(resolved) => {
                return Err(ConfineError::SymlinkEscapes {
                    path: rel.into(),
                    link,
                    resolves_to: resolved,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ConfineError::DanglingSymlink {
                    path: rel.into(),
                    link,
                })
            }
            Err(e) => return Err(io_err(&current, e)),
        }
    }
    Ok(target.join(normal))
}

/// Removes `.` and resolves `..` lexically, refusing what is absolute, empty or climbs out.
fn normalize(rel: &str) -> Result<PathBuf, ConfineError> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(rel).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err(ConfineError::Absolute { path: rel.into() })
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(ConfineError::Escapes { path: rel.into() });
                }
            }
            Component::Normal(part) => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(ConfineError::Empty { path: rel.into() });
    }
    Ok(parts.iter().collect())
}

/// The temporary name `write_atomic` uses beside `path`. It is fixed, not random, so that a
/// rollback after a crash mid-write knows exactly which leftover to delete.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.planrun-tmp"))
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a
/// mix: a temporary file in the same directory, fsync, rename over `path`, fsync the directory.
///
/// `mode` sets the permission bits exactly (umask ignored); `None` keeps the mode of the file
/// being replaced, or gives a new file the usual `0o666 & !umask`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    write_via_temp(path, bytes, mode, true)
}

/// Like [`write_atomic`] but without the fsyncs: readers still see the old file or the new one,
/// and a crash of the process keeps whichever was renamed last, but a power loss may lose it.
/// For files rewritten often whose last version is also written durably (reports in progress).
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(path, bytes, None, false)
}

fn write_via_temp(path: &Path, bytes: &[u8], mode: Option<u32>, sync: bool) -> io::Result<()> {
    let mode = match mode {
        Some(mode) => Some(mode),
        None => match fs::metadata(path) {
            Ok(meta) => Some(meta.permissions().mode() & 0o7777),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        },
    };
    let tmp = temp_path(path);
    let result = (|| {
        // A leftover from a crash would keep its own mode through a truncating open.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // Without an explicit mode, the creation mode goes through the umask like any new file.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode.unwrap_or(0o666))
            .open(&tmp)?;
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        if sync {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    if sync {
        fsync_dir(parent_or_dot(path))?;
    }
    Ok(())
}

/// Flushes a directory's entries (creations, renames, removals) to disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The exact state of one path: absent, a regular file with its mode, or a symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileImage {
    /// Nothing exists at the path.
    Absent,
    /// A regular file: its bytes and permission bits.
    File { bytes: Vec<u8>, mode: u32 },
    /// A symbolic link and what it points to.
    Symlink { target: PathBuf },
}

/// What restoring an image did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The path already matched the image.
    Unchanged,
    /// The file (or link) was written back.
    Written,
    /// A file the image says was absent was deleted.
    Deleted,
}

impl FileImage {
    /// Reads the current state of `path` (a directory there is an error).
    pub fn read(path: &Path) -> io::Result<FileImage> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileImage::Absent),
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            Ok(FileImage::Symlink {
                target: fs::read_link(path)?,
            })
        } else if kind.is_file() {
            Ok(FileImage::File {
                bytes: fs::read(path)?,
                mode: meta.permissions().mode() & 0o7777,
            })
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a regular file", path.display()),
            ))
        }
    }

    /// Puts `path` back into this state; does nothing when it already is.
    pub fn restore(&self, path: &Path) -> io::Result<Restored> {
        // A crash inside write_atomic can leave its temporary file behind. Looked for first: on
        // a read-only folder, unlinking even a missing name fails, and a path already as it
        // should be must not fail the rollback.
        let tmp = temp_path(path);
        if fs::symlink_metadata(&tmp).is_ok() {
            fs::remove_file(&tmp)?;
        }
        // A directory standing where the file was is an error: removing it is not ours to decide.
        let current = FileImage::read(path)?;
        if &current == self {
            return Ok(Restored::Unchanged);
        }
        match self {
            FileImage::Absent => {
                fs::remove_file(path)?;
                fsync_dir(parent_or_dot(path))?;
                Ok(Restored::Deleted)
            }
            FileImage::File { bytes, mode } => {
                if matches!(current, FileImage::Symlink { .. }) {
                    fs::remove_file(path)?;
                }
                write_atomic(path, bytes, Some(*mode))?;
                Ok(Restored::Written)
            }
            FileImage::Symlink { target } => {
                if current != FileImage::Absent {
                    fs::remove_file(path)?;
                }
                std::os::unix::fs::symlink(target, path)?;
                fsync_dir(parent_or_dot(path))?;
                Ok(Restored::Written)
            }
        }
    }
}

/// Opens `path` for reading without following a symlink at its last component (`ELOOP` then),
/// and without blocking on a FIFO planted there.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Reads a regular file of at most `max` bytes without following a symlink at `path`: for
/// planrun's own files under `.planrun/`, where a repository may have planted anything.
pub fn read_nofollow(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let refused = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let file = open_nofollow(path).map_err(|e| {
        if is_symlink_refusal(&e) {
            refused("it is a symlink, and planrun does not follow one among its own files".into())
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused("it is not a regular file".into()));
    }
    if meta.len() > max {
        return Err(refused(format!(
            "it holds {} bytes, more than the {max} planrun reads",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut io::Read::take(file, max), &mut bytes)?;
    Ok(bytes)
}

/// Whether an open error means a symlink was refused at the last component.
pub fn is_symlink_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/a.txt"), "a").unwrap();
        dir
    }

    #[test]
    fn confine_accepts_plain_and_new_paths() {
        let dir = tree();
        let t = dir.path();
        assert_eq!(confine(t, "sub/a.txt").unwrap(), t.join("sub/a.txt"));
        assert_eq!(confine(t, "./new/x/../y.txt").unwrap(), t.join("new/y.txt"));
    }

    #[test]
    fn confine_refuses_absolute_dotdot_and_empty() {
        let dir = tree();
        let t = dir.path();
        assert!(matches!(
            confine(t, "/etc/passwd"),
            Err(ConfineError::Absolute { .. })
        ));
        let err = confine(t, "sub/../../x").unwrap_err();
        assert!(matches!(err, ConfineError::Escapes { .. }));
        assert!(err.to_string().contains("sub/../../x"));
        assert!(matches!(
            confine(t, "sub/.."),
            Err(ConfineError::Empty { .. })
        ));
        assert!(matches!(
            confine(t, ".planrun/lock"),
            Err(ConfineError::StateDir { .. })
        ));
    }

    #[test]
    fn confine_refuses_symlinks_that_leave() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        let t = dir.path();
        symlink(outside.path(), t.join("out")).unwrap();
        symlink(t.join("sub"), t.join("in")).unwrap();
        symlink(t.join("nowhere"), t.join("dangling")).unwrap();
        let err = confine(t, "out/x.txt").unwrap_err();
        assert!(matches!(err, ConfineError::SymlinkEscapes { .. }), "{err}");
        assert!(err.to_string().contains("`out` is a symlink to"));
        assert_eq!(confine(t, "in/a.txt").unwrap(), t.join("in/a.txt"));
        assert!(matches!(
            confine(t, "dangling"),
            Err(ConfineError::DanglingSymlink { .. })
        ));
    }

    #[test]
    fn write_atomic_sets_or_keeps_mode_and_leaves_no_temp() {
        let dir = tree();
        let p = dir.path().join("sub/a.txt");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o751)).unwrap();
        write_atomic(&p, b"new", None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o751
        );
        write_atomic(&p, b"x", Some(0o600)).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert!(!temp_path(&p).exists());
    }

    #[test]
    fn image_round_trips_file_absence_and_symlink() {
        let dir = tree();
        let p = dir.path().join("sub/a.txt");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let before = FileImage::read(&p).unwrap();
        assert_eq!(before.restore(&p).unwrap(), Restored::Unchanged);
        fs::write(&p, "changed").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
        fs::write(temp_path(&p), "half").unwrap();
        assert_eq!(before.restore(&p).unwrap(), Restored::Written);
        assert_eq!(FileImage::read(&p).unwrap(), before);
        assert!(!temp_path(&p).exists());

        let q = dir.path().join("new.txt");
        let absent = FileImage::read(&q).unwrap();
        assert_eq!(absent, FileImage::Absent);
        fs::write(&q, "created").unwrap();
        assert_eq!(absent.restore(&q).unwrap(), Restored::Deleted);
        assert!(!q.exists());

        let l = dir.path().join("link");
        symlink("sub/a.txt", &l).unwrap();
        let link = FileImage::read(&l).unwrap();
        write_atomic(&l, b"replaced", None).unwrap();
        assert_eq!(link.restore(&l).unwrap(), Restored::Written);
        assert_eq!(fs::read_link(&l).unwrap(), PathBuf::from("sub/a.txt"));
    }
}
