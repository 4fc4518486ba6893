//! The process table as read from `/proc`: who descends from whom, and how much memory each holds.
//!
//! Only `/proc/<pid>/stat` is read, and only here: one small file gives the parent, the process
//! group, the session, the state, the start time and the resident set, so a whole scan costs one
//! read per process. `/proc/<pid>/task/*/children`
//! would be cheaper but is missing on kernels built without `CONFIG_PROC_CHILDREN` (and in some
//! VMs), so it is not relied on.

use std::collections::HashMap;
use std::fs;
use std::io::Read;

/// What one `/proc/<pid>/stat` line says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    /// The process id.
    pub pid: u32,
    /// The parent's process id.
    pub ppid: u32,
    /// The process group id.
    pub pgrp: i32,
    /// The session id.
    pub session: i32,
    /// The state letter (`R`, `S`, `D`, `Z`, ...).
    pub state: char,
    /// Start time in clock ticks since boot: with the pid, it names one process for good.
    pub start: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl ProcInfo {
    /// A zombie has exited and holds no memory; it only waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/<pid>/stat`; `None` when it does not have the expected shape.
pub fn parse_stat(text: &str) -> Option<ProcInfo> {
    let pid = text.split_once(' ')?.0.parse().ok()?;
    // The command name is in parentheses and may itself contain spaces and parentheses, so the
    // fields start after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    // Fields 3 to 6 of the line (state, ppid, pgrp, session), then starttime is field 22 and
    // rss field 24.
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    let start = fields.nth(15)?.parse().ok()?;
    let rss_pages = fields.nth(1)?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgrp,
        session,
        state,
        start,
        rss_pages,
    })
}

/// Reads one process's stat into `buf` (reused to avoid an allocation per read).
pub fn read(pid: u32, buf: &mut String) -> Option<ProcInfo> {
    buf.clear();
    let mut bytes = std::mem::take(buf).into_bytes();
    // The line ends with a newline, and `/proc` gives it whole to one read with room for it.
    let read = read_proc(&format!("/proc/{pid}/stat"), &mut bytes, Some(b'\n'));
    *buf = String::from_utf8(bytes).ok()?;
    read.ok()?;
    parse_stat(buf)
}

/// Reads a `/proc` file into `buf` (cleared first) in as few calls as it takes: until the end,
/// or until the text read so far ends with `last` (a file known to end so, read whole).
///
/// `read_to_string` first asks the file's size and position (two calls that a `/proc` file,
/// whose size is 0, answers uselessly) and then reads once more to see the end: three of the
/// six calls it took per file, on every command's start and in every scan of `/proc`.
pub fn read_proc(path: &str, buf: &mut Vec<u8>, last: Option<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut file = fs::File::open(path)?;
    let mut chunk = [0u8; 1024];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if last.is_some() && buf.last() == last.as_ref() {
            return Ok(());
        }
    }
}

/// The pids of every process in `/proc`; listing costs a few syscalls, unlike reading each one.
pub fn pids() -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process currently visible in `/proc`; processes that vanish mid-scan are skipped.
pub fn scan() -> Vec<ProcInfo> {
    let mut buf = String::with_capacity(512);
    pids()
        .into_iter()
        .filter_map(|pid| read(pid, &mut buf))
        .collect()
}

/// The pids of `root` and all its descendants in `table` (root first); empty when root is absent.
pub fn descendants(table: &[ProcInfo], root: u32) -> Vec<u32> {
    if !table.iter().any(|p| p.pid == root) {
        return Vec::new();
    }
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        if let Some(kids) = children.get(&tree[i]) {
            // A pid cannot be its own ancestor, but a racy scan could in theory show a loop.
            tree.extend(kids.iter().filter(|k| **k != root));
        }
        i += 1;
    }
    tree
}

/// Whether any live (non-zombie) process is in process group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    // Asked after every command; usually its group is empty once the leader is reaped, and the
    // kernel says so without the scan of all of /proc (a few ms on a busy machine). Only a group
    // that still has members (zombies count here) needs the scan to tell them apart.
    // SAFETY: signal 0 only checks for existence and permission; nothing is delivered.
    if pgid > 0 && unsafe { libc::killpg(pgid, 0) } != 0 {
        let gone = std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            return false;
        }
    }
    scan().iter().any(|p| p.pgrp == pgid && !p.is_zombie())
}

/// The kernel page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 only for unknown names.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pid: u32, ppid: u32) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgrp: 1,
            session: 1,
            state: 'S',
            start: 1,
            rss_pages: 1,
        }
    }

    #[test]
    fn parses_a_stat_line_with_a_tricky_name() {
        let line = "7177 (we (i) rd) R 7173 7170 4776 0 -1 4194304 97 0 0 0 0 0 0 0 20 0 1 0 \
                    39349 3133440 365 18446744073709551615 94086363779072 0";
        let p = parse_stat(line).unwrap();
        assert_eq!(
            p,
            ProcInfo {
                pid: 7177,
                ppid: 7173,
                pgrp: 7170,
                session: 4776,
                state: 'R',
                start: 39349,
                rss_pages: 365
            }
        );
    }

    #[test]
    fn group_session_and_start_are_fields_5_6_and_22() {
        let stat = "42 (a b) c) S 1 42 40 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_stat(stat).map(|p| (p.pgrp, p.session, p.start)),
            Some((42, 40, 987654))
        );
        assert_eq!(parse_stat("42 (x) S 1"), None);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("12 (x) R 1 2"), None);
    }

    /// A file longer than one read's room is read whole, and a stat line up to its newline.
    #[test]
    fn proc_files_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long");
        let text: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
        fs::write(&path, &text).unwrap();
        let mut buf = b"stale".to_vec();
        read_proc(path.to_str().unwrap(), &mut buf, None).unwrap();
        assert_eq!(buf, text);
        let me = std::process::id();
        read_proc(&format!("/proc/{me}/stat"), &mut buf, Some(b'\n')).unwrap();
        assert!(buf.ends_with(b"\n") && buf.starts_with(format!("{me} (").as_bytes()));
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let p = read(me, &mut String::new()).unwrap();
        assert_eq!(p.pid, me);
        assert!(p.rss_pages > 0);
        assert!(scan().iter().any(|p| p.pid == me));
    }

    #[test]
    fn descendants_walk_the_whole_tree_and_nothing_else() {
        let table = [
            info(1, 0),
            info(10, 1),
            info(11, 10),
            info(12, 10),
            info(13, 12),
            info(20, 1),
        ];
        let mut tree = descendants(&table, 10);
        tree.sort_unstable();
        assert_eq!(tree, vec![10, 11, 12, 13]);
        assert!(descendants(&table, 99).is_empty());
    }

    #[test]
    fn a_group_is_alive_while_a_member_runs_and_not_once_reaped() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = i32::try_from(child.id()).unwrap();
        assert!(group_alive(pgid));
        child.kill().unwrap();
        // Killed but not reaped: the group still exists for the kernel, as a zombie only.
        while read(child.id(), &mut String::new()).is_some_and(|p| !p.is_zombie()) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!group_alive(pgid));
        child.wait().unwrap();
        assert!(!group_alive(pgid));
    }

    #[test]
    fn zombies_are_not_alive() {
        let mut p = info(1, 0);
        assert!(!p.is_zombie());
        p.state = 'Z';
        assert!(p.is_zombie());
    }
}
