//! Which files of a target have uncommitted changes, read from the git index without running
//! git: a target's `.git/config` can name programs (`core.fsmonitor`, clean filters, hooks,
//! aliases, diff drivers) that any `git status` would run, and nothing in a target runs as
//! planrun's own.
//!
//! Why not `git -c ...` with the config neutralised: filters are named by `.gitattributes`
//! and defined under names the repository chooses, so no fixed list of `-c` overrides can turn
//! them all off, and a new git may add another hook point. Why not a git library: reading the
//! index is all this needs, and the crates that do it bring dozens of dependencies.
//!
//! A file counts as changed when its content (or a symlink's target) differs from the blob the
//! index holds for it. Changes staged but not committed are not seen (that needs the object
//! database); clean filters and line-ending conversion are not applied, so a file git would
//! call clean may be reported: this only informs, it never decides.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest index read; a larger one is not read at all (nothing is reported).
const MAX_INDEX: u64 = 256 << 20;

/// Which of `rels` (paths relative to `target`, or absolute inside it) have uncommitted
/// changes in git. Empty when `target` is not inside a git work tree or its index cannot be
/// read: a dirty tree is allowed, this only informs.
pub fn uncommitted(target: &Path, rels: &[String]) -> Vec<String> {
    if rels.is_empty() {
        return Vec::new();
    }
    let Some(repo) = Repo::find(target) else {
        return Vec::new();
    };
    let Some(index) = repo.index() else {
        return Vec::new();
    };
    rels.iter()
        .filter(|rel| {
            let abs = target.join(rel);
            let Some(inside) = repo.relative(&abs) else {
                return false;
            };
            index
                .iter()
                .find(|e| e.path == inside.as_bytes())
                .is_some_and(|e| e.differs(&abs, repo.sha256))
        })
        .cloned()
        .collect()
}

/// A work tree and its git directory.
struct Repo {
    /// The top of the work tree (absolute).
    top: PathBuf,
    /// Its git directory (where `index` is).
    git_dir: PathBuf,
    /// The repository uses SHA-256 object names.
    sha256: bool,
}

impl Repo {
    /// The work tree holding `target` (itself or a parent), if any.
    fn find(target: &Path) -> Option<Repo> {
        let start = std::path::absolute(target).ok()?;
        for top in start.ancestors() {
            let dot_git = top.join(".git");
            let Ok(meta) = fs::symlink_metadata(&dot_git) else {
                continue;
            };
            let git_dir = if meta.is_file() {
                // A worktree or submodule: `gitdir: PATH`.
                let text = read_small(&dot_git, 4096)?;
                let text = String::from_utf8(text).ok()?;
                top.join(text.trim().strip_prefix("gitdir:")?.trim())
            } else {
                dot_git
            };
            let common = read_small(&git_dir.join("commondir"), 4096)
                .and_then(|c| String::from_utf8(c).ok())
                .map_or_else(|| git_dir.clone(), |c| git_dir.join(c.trim()));
            let sha256 = read_small(&common.join("config"), 1 << 20)
                .map(|c| object_format_is_sha256(&String::from_utf8_lossy(&c)))
                .unwrap_or(false);
            return Some(Repo {
                top: top.to_path_buf(),
                git_dir,
                sha256,
            });
        }
        None
    }

    /// `abs` relative to the top of the work tree, `/`-separated as the index keeps it.
    fn relative(&self, abs: &Path) -> Option<String> {
        let abs = std::path::absolute(abs).ok()?;
        let rel = abs.strip_prefix(&self.top).ok()?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        Some(parts?.join("/"))
    }

    /// The index's entries at stage 0; `None` when it is missing, too large or malformed.
    fn index(&self) -> Option<Vec<IndexEntry>> {
        let bytes = read_small(&self.git_dir.join("index"), MAX_INDEX)?;
        parse_index(&bytes, if self.sha256 { 32 } else { 20 })
    }
}

/// Whether a git config text sets `extensions.objectFormat = sha256`.
fn object_format_is_sha256(config: &str) -> bool {
    let mut in_extensions = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_extensions = line.to_ascii_lowercase().starts_with("[extensions]");
            continue;
        }
        if in_extensions {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim().eq_ignore_ascii_case("objectformat")
                    && value.trim().eq_ignore_ascii_case("sha256")
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Reads a regular file of at most `max` bytes, never through a symlink at its last component;
/// `None` otherwise (a `.git/HEAD` planted as a link to `/dev/zero` reads as nothing).
pub(crate) fn read_small(path: &Path, max: u64) -> Option<Vec<u8>> {
    let file = crate::fsutil::open_nofollow(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > max {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// One tracked path as the index holds it.
#[derive(Debug, PartialEq)]
struct IndexEntry {
    /// Its path from the top of the work tree, `/`-separated.
    path: Vec<u8>,
    /// Its mode (`0o100644`, `0o100755`, `0o120000`, `0o160000` for a submodule).
    mode: u32,
    /// The blob's object name.
    hash: Vec<u8>,
    /// Its size as of the last `git add` (the low 32 bits).
    size: u32,
    /// `assume-unchanged` or `skip-worktree`: git does not look at the file.
    ignored: bool,
}

impl IndexEntry {
    /// Whether the file at `abs` differs from this entry's blob.
    fn differs(&self, abs: &Path, sha256: bool) -> bool {
        if self.ignored || self.mode == 0o160000 || sha256 {
            // Submodules are not files; SHA-256 blobs are not hashed here (no such hasher).
            return false;
        }
        let content = match fs::symlink_metadata(abs) {
            Err(_) => return true,
            Ok(meta) if meta.file_type().is_symlink() => {
                if self.mode != 0o120000 {
                    return true;
                }
                match fs::read_link(abs) {
                    Ok(t) => std::os::unix::ffi::OsStrExt::as_bytes(t.as_os_str()).to_vec(),
                    Err(_) => return true,
                }
            }
            Ok(meta) if meta.is_file() => {
                if self.mode == 0o120000 || meta.len() as u32 != self.size {
                    return true;
                }
                match crate::fsutil::open_nofollow(abs).and_then(|f| {
                    let mut bytes = Vec::new();
                    f.take(meta.len()).read_to_end(&mut bytes).map(|_| bytes)
                }) {
                    Ok(bytes) => bytes,
                    Err(_) => return true,
                }
            }
            Ok(_) => return true,
        };
        self.hash != blob_sha1(&content)
    }
}

/// git's object name of a blob with this content.
fn blob_sha1(content: &[u8]) -> [u8; 20] {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hasher.digest().bytes()
}

/// The stage-0 entries of an index file (versions 2, 3 and 4); `None` when it is malformed or
/// split (its entries partly in another file).
fn parse_index(bytes: &[u8], hash_len: usize) -> Option<Vec<IndexEntry>> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    if bytes.get(..4)? != b"DIRC" {
        return None;
    }
    let version = u32_at(4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32_at(8)? as usize;
    let mut at = 12;
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = at;
        let mode = u32_at(start + 24)?;
        let size = u32_at(start + 36)?;
        at = start + 40;
        let hash = bytes.get(at..at + hash_len)?.to_vec();
        at += hash_len;
        let flags = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?);
        at += 2;
        let mut ignored = flags & 0x8000 != 0;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            let extended = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?);
            ignored |= extended & 0x4000 != 0;
            at += 2;
        }
        let stage = (flags >> 12) & 0x3;
        let path = if version == 4 {
            let (strip, used) = varint(bytes.get(at..)?)?;
            at += used;
            let end = at + bytes.get(at..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            let mut path = previous[..keep].to_vec();
            path.extend_from_slice(&bytes[at..end]);
            at = end + 1;
            path
        } else {
            let end = at + bytes.get(at..)?.iter().position(|b| *b == 0)?;
            let path = bytes[at..end].to_vec();
            // Entries are padded with NULs to a multiple of eight bytes.
            let len = end - start;
            at = start + (len + 8) / 8 * 8;
            path
        };
        previous.clone_from(&path);
        if stage == 0 && mode != 0o040000 {
            entries.push(IndexEntry {
                path,
                mode,
                hash,
                size,
                ignored,
            });
        }
    }
    // A split index keeps most entries in a shared file: this one alone is not the truth.
    let mut ext = at;
    while ext + 8 <= bytes.len().saturating_sub(hash_len) {
        if bytes.get(ext..ext + 4)? == b"link" {
            return None;
        }
        ext += 8 + u32_at(ext + 4)? as usize;
    }
    Some(entries)
}

/// The index v4 variable-length integer at the start of `bytes`, and how many bytes it used.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut used = 0;
    let mut byte = *bytes.first()?;
    let mut value = usize::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        used += 1;
        byte = *bytes.get(used)?;
        value = value
            .checked_add(1)?
            .checked_mul(128)?
            .checked_add(usize::from(byte & 0x7f))?;
    }
    Some((value, used + 1))
}

#[cfg(test)]
#[path = "gitstate_tests.rs"]
mod tests;
