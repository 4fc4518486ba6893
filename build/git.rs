//! The commit a build comes from, for `planrun --version`: read by build.rs, tested by the
//! library's tests. Only a directory that is itself the top of a git work tree counts, so an
//! sdist or a source tarball unpacked inside another repository never shows that repository's
//! commit.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `(commit, date)` of HEAD, e.g. `("3f2c1a9b0", "2026-12-02")`, when `dir` is the top of a git
/// work tree and git runs; `None` otherwise.
pub fn commit(dir: &Path) -> Option<(String, String)> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let line = git(dir, &["log", "-1", "--abbrev=9", "--format=%h %cs"])?;
    let (hash, date) = line.split_once(' ')?;
    Some((hash.to_string(), date.to_string()))
}

/// The files whose change means a new HEAD: `HEAD`, the branch it points at, `packed-refs`;
/// those that exist (a missing one would make cargo rerun the script every time).
pub fn head_files(dir: &Path) -> Vec<PathBuf> {
    let (Some(git_dir), Some(common)) = (
        git(dir, &["rev-parse", "--absolute-git-dir"]),
        git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        ),
    ) else {
        return Vec::new();
    };
    let head = Path::new(&git_dir).join("HEAD");
    let mut files = vec![head.clone(), Path::new(&common).join("packed-refs")];
    if let Some(name) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_string()))
    {
        files.push(Path::new(&common).join(name));
    }
    files.retain(|f| f.exists());
    files
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}
