//! Which journals planrun may act on: only those this user wrote on this machine.
//!
//! A journal tells rollback what to write, delete, run and kill, and it lives inside the
//! target, where anyone who ships the repository can put one. So every run's `meta.json` and
//! every record of its log carry a MAC (keyed BLAKE3) under a key that never lives in a
//! target: 32 random bytes in planrun's own state directory (`$PLANRUN_STATE_DIR`, else
//! `$XDG_STATE_HOME/planrun`, else `~/.local/state/planrun`), readable by this user only. A
//! journal copied from another user, another machine or a repository fails the check and is
//! reported, never replayed. `$PLANRUN_KEY` (64 hex digits) gives the key instead, for CI
//! jobs that share one history between runners.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::OnceLock;

use super::error::JournalError;

/// Length of the key in bytes.
const KEY_LEN: usize = 32;

/// The variable that gives the key itself (hex), instead of the file: for CI, as a secret.
pub const KEY_VAR: &str = "PLANRUN_KEY";

/// The directory holding planrun's per-user state (the key).
pub fn user_state_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var("PLANRUN_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("planrun")))
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state/planrun")))
}

/// This user's key, created on first use.
fn key() -> Result<&'static [u8; KEY_LEN], JournalError> {
    static KEY: OnceLock<[u8; KEY_LEN]> = OnceLock::new();
    if let Some(key) = KEY.get() {
        return Ok(key);
    }
    let key = load_or_create()?;
    Ok(KEY.get_or_init(|| key))
}

fn load_or_create() -> Result<[u8; KEY_LEN], JournalError> {
    // CI runners start without planrun's state: a key given as a secret lets the history a
    // cache carries between them be authenticated, and a fork's job (no secrets) cannot sign.
    if let Some(given) = std::env::var_os(KEY_VAR).filter(|v| !v.is_empty()) {
        return given
            .to_str()
            .and_then(unhex)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                JournalError::io(
                    format!("read ${KEY_VAR}"),
                    io::Error::other(format!(
                        "it must be {} hex digits, e.g. from `openssl rand -hex {KEY_LEN}`",
                        KEY_LEN * 2
                    )),
                )
            });
    }
    let dir = user_state_dir().ok_or_else(|| {
        JournalError::io(
            "find planrun's state directory",
            io::Error::other("set HOME, XDG_STATE_HOME or PLANRUN_STATE_DIR"),
        )
    })?;
    load_or_create_in(&dir)
}

/// The key in `dir`, made there if there is none yet.
fn load_or_create_in(dir: &std::path::Path) -> Result<[u8; KEY_LEN], JournalError> {
    let path = dir.join("key");
    let ctx = |what: &str| format!("{what} `{}`", path.display());
    // The key exists after the first use: read, not made again (a new key written and synced
    // under a private name, then thrown away, was one `fsync` per run).
    match fs::symlink_metadata(&path) {
        Ok(meta) => return existing(&path, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(JournalError::io(ctx("inspect"), e)),
    }
    fs::create_dir_all(dir)
        .map_err(|e| JournalError::io(format!("create `{}`", dir.display()), e))?;
    let mut fresh = [0u8; KEY_LEN];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut fresh))
        .map_err(|e| JournalError::io("read /dev/urandom", e))?;
    // Written under a private name and linked into place, so a concurrent first use never
    // reads a half-written key: whoever links first wins, the others read theirs.
    static MAKING: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = MAKING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("key.{}.{n}.tmp", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&fresh).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(JournalError::io(ctx("create"), e));
    }
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => return Ok(fresh),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(JournalError::io(ctx("create"), e)),
    }
    let meta = fs::symlink_metadata(&path).map_err(|e| JournalError::io(ctx("inspect"), e))?;
    existing(&path, &meta)
}

/// The key in `path`, whose metadata is `meta`, once it is known to be this user's alone.
fn existing(path: &std::path::Path, meta: &fs::Metadata) -> Result<[u8; KEY_LEN], JournalError> {
    let ctx = |what: &str| format!("{what} `{}`", path.display());
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_file() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(JournalError::io(
            ctx("trust"),
            io::Error::other(
                "it must be a regular file owned by you and readable by you only (chmod 600)",
            ),
        ));
    }
    let bytes = fs::read(path).map_err(|e| JournalError::io(ctx("read"), e))?;
    bytes.try_into().map_err(|_| {
        JournalError::io(
            ctx("read"),
            io::Error::other(format!("it must hold exactly {KEY_LEN} bytes")),
        )
    })
}

/// Loads this user's key (or `$PLANRUN_KEY`), to report a missing or malformed one up front.
pub fn key_ready() -> Result<(), JournalError> {
    key().map(drop)
}

/// The MAC of `parts` for `domain` (which keeps MACs of different things apart), in hex.
pub fn mac(domain: &str, parts: &[&[u8]]) -> Result<String, JournalError> {
    let mut hasher = blake3::Hasher::new_keyed(key()?);
    hasher.update(domain.as_bytes());
    for part in parts {
        // Length-prefixed, so the boundaries between parts are part of what is signed.
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Whether `given` is the MAC of `parts` for `domain` (compared in constant time).
pub fn verify(domain: &str, parts: &[&[u8]], given: &str) -> Result<bool, JournalError> {
    Ok(same(&mac(domain, parts)?, given))
}

/// Whether two MACs are equal, compared in constant time.
pub fn same(wanted: &str, given: &str) -> bool {
    wanted.len() == given.len()
        && wanted
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The prefix of a text [`seal`]ed for the journal.
const SEALED: &str = "sealed:v1:";

/// Encrypts `text` under this user's key, for journal fields that may carry secrets (an undo
/// command with a token in it): the journal sits in the target, the key never does. The
/// keystream is BLAKE3's keyed XOF over a random nonce; integrity comes from the record's MAC.
pub fn seal(text: &str) -> Result<String, JournalError> {
    let mut nonce = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|e| JournalError::io("read /dev/urandom", e))?;
    let bytes = xor(key()?, &nonce, text.as_bytes());
    Ok(format!("{SEALED}{}:{}", hex(&nonce), hex(&bytes)))
}

/// The text [`seal`] encrypted; text that is not sealed is returned as it is.
pub fn open(text: &str) -> Result<String, JournalError> {
    let Some(rest) = text.strip_prefix(SEALED) else {
        return Ok(text.to_string());
    };
    let bad = || JournalError::io("open a sealed journal field", io::Error::other("malformed"));
    let (nonce, body) = rest.split_once(':').ok_or_else(bad)?;
    let (nonce, body) = (unhex(nonce).ok_or_else(bad)?, unhex(body).ok_or_else(bad)?);
    String::from_utf8(xor(key()?, &nonce, &body)).map_err(|_| bad())
}

fn xor(key: &[u8; KEY_LEN], nonce: &[u8], data: &[u8]) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(b"planrun sealed field v1");
    hasher.update(nonce);
    let mut stream = vec![0u8; data.len()];
    hasher.finalize_xof().fill(&mut stream);
    data.iter().zip(stream).map(|(d, k)| d ^ k).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (text.len() % 2 == 0)
        .then(|| {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

/// The BLAKE3 of some bytes, in hex: how after-images name content.
pub fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second use reads the key: nothing is written in the state directory (a new key was
    /// made and synced under a private name, then thrown away, on every run).
    #[test]
    fn an_existing_key_is_read_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = load_or_create_in(&state).unwrap();
        let before = fs::metadata(&state).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(load_or_create_in(&state).unwrap(), first);
        let after = fs::metadata(&state).unwrap().modified().unwrap();
        assert_eq!(before, after, "the state directory was written to");
        let names: Vec<_> = fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["key"]);
    }

    #[test]
    fn sealed_fields_round_trip_and_hide_their_text() {
        let sealed = seal("curl -H 'token: hunter2' x").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            seal("curl -H 'token: hunter2' x").unwrap(),
            "fresh nonce"
        );
        assert_eq!(open(&sealed).unwrap(), "curl -H 'token: hunter2' x");
        assert_eq!(open("plain").unwrap(), "plain");
        assert!(open("sealed:v1:zz:00").is_err());
    }

    #[test]
    fn macs_depend_on_domain_parts_and_boundaries() {
        let a = mac("meta", &[b"ab", b"c"]).unwrap();
        assert_eq!(a.len(), 64);
        assert!(verify("meta", &[b"ab", b"c"], &a).unwrap());
        assert!(!verify("log", &[b"ab", b"c"], &a).unwrap());
        assert!(!verify("meta", &[b"a", b"bc"], &a).unwrap());
        assert!(!verify("meta", &[b"ab", b"c"], &a[..63]).unwrap());
    }
}
