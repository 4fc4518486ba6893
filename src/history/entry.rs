//! One apply as the history keeps it: who, when, which stage, on which commit, the key figures
//! of each record, each gate's verdict, and the exit code.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::model::{GateStatus, RunReport, RunStatus};

/// The version of the line format.
pub const FORMAT: u32 = 1;

/// The per-record metrics a history line keeps.
pub use crate::metrics::HISTORY_RECORD as RECORD_METRICS;

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// [`FORMAT`].
    pub v: u32,
    /// The run id (its directory under `.planrun/runs/` on the machine that ran it).
    pub run_id: String,
    /// When the apply finished (RFC 3339, UTC).
    pub time: String,
    /// The plan's `name`.
    pub plan: String,
    /// The stage applied, for a plan with stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The stage was entered with `--force`, without its promotion holding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// The target's git commit, when it is a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// How the run ended (`passed`, `gate_failed`, ...).
    pub status: RunStatus,
    /// The process exit code.
    pub exit_code: u8,
    /// Wall time of the whole apply, in seconds.
    pub duration_s: f64,
    /// Each record's key metrics ([`RECORD_METRICS`]) by record name.
    #[serde(default)]
    pub records: BTreeMap<String, BTreeMap<String, f64>>,
    /// Each gate's verdict.
    #[serde(default)]
    pub gates: Vec<GateVerdict>,
    /// The line's MAC under this user's key (`journal::trust`): a line without a valid one was
    /// not written by planrun on this machine and counts for nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// A gate as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// Its phase.
    pub phase: String,
    /// The check.
    pub check: String,
    /// The verdict.
    pub status: GateStatus,
}

impl Entry {
    /// The line for a finished run's report.
    pub fn of(
        report: &RunReport,
        stage: Option<&str>,
        forced: bool,
        commit: Option<String>,
    ) -> Self {
        let records = report
            .records
            .iter()
            .map(|(name, record)| {
                let metrics = RECORD_METRICS
                    .iter()
                    .filter_map(|m| record.metric(m).map(|v| (m.to_string(), v)))
                    .collect();
                (name.clone(), metrics)
            })
            .collect();
        Entry {
            v: FORMAT,
            run_id: report.run_id.clone(),
            time: report
                .finished
                .clone()
                .unwrap_or_else(crate::timestamp::now),
            plan: report.plan.name.clone(),
            stage: stage.map(str::to_string),
            forced,
            commit,
            status: report.status,
            exit_code: report.exit_code.unwrap_or(crate::exit::STEP_FAILED),
            duration_s: report.duration_s,
            records,
            gates: report
                .gates
                .iter()
                .map(|g| GateVerdict {
                    phase: g.phase.clone(),
                    check: g.check.clone(),
                    status: g.status,
                })
                .collect(),
            mac: None,
        }
    }

    /// Whether the apply ended green (exit 0: every gate held and the change was kept).
    pub fn green(&self) -> bool {
        self.exit_code == crate::exit::OK
    }
}

/// What a history line's MAC is computed over: the line without its MAC, as this planrun
/// writes it (so fields a line carries that this planrun does not read are not signed, and
/// count for nothing).
fn signed_bytes(entry: &Entry) -> Result<Vec<u8>, serde_json::Error> {
    let unsigned = Entry {
        mac: None,
        ..entry.clone()
    };
    serde_json::to_vec(&unsigned)
}

/// The domain that keeps history MACs apart from the journal's.
const MAC_DOMAIN: &str = "history line v1";

impl Entry {
    /// This entry with its MAC under this user's key.
    pub fn signed(mut self) -> std::io::Result<Entry> {
        let bytes = signed_bytes(&self).map_err(std::io::Error::other)?;
        let mac = crate::journal::trust::mac(MAC_DOMAIN, &[&bytes])
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.mac = Some(mac);
        Ok(self)
    }

    /// Whether this line carries a valid MAC under this user's key: written by planrun, for
    /// this user, on this machine (or wherever the key was carried).
    pub fn authentic(&self) -> bool {
        let Some(mac) = &self.mac else {
            return false;
        };
        signed_bytes(self).is_ok_and(|bytes| {
            crate::journal::trust::verify(MAC_DOMAIN, &[&bytes], mac).unwrap_or(false)
        })
    }
}

/// The commit `target` has checked out, read from its `.git` without running git (a target's
/// git config can name programs, and nothing in a target runs as planrun's own).
pub fn git_commit(target: &Path) -> Option<String> {
    let dot_git = target.join(".git");
    let git_dir = if dot_git.is_file() {
        // A worktree or submodule: `gitdir: PATH`.
        let text = read_text(&dot_git)?;
        let dir = text.trim().strip_prefix("gitdir:")?.trim();
        target.join(dir)
    } else {
        dot_git
    };
    let head = read_text(&git_dir.join("HEAD"))?;
    let head = head.trim();
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        return is_hash(head).then(|| head.to_string());
    };
    if !name.starts_with("refs/") || name.split('/').any(|part| part == "..") {
        return None;
    }
    // A worktree keeps its refs in the common directory.
    let common = read_text(&git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for dir in [&git_dir, &common] {
        if let Some(text) = read_text(&dir.join(name)) {
            let hash = text.trim();
            if is_hash(hash) {
                return Some(hash.to_string());
            }
        }
    }
    let packed = read_text(&common.join("packed-refs"))?;
    packed.lines().find_map(|line| {
        let (hash, r) = line.split_once(' ')?;
        (r == name && is_hash(hash)).then(|| hash.to_string())
    })
}

/// A small git file as text, bounded and never through a symlink.
fn read_text(path: &Path) -> Option<String> {
    String::from_utf8(crate::gitstate::read_small(path, 64 << 20)?).ok()
}

fn is_hash(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}
