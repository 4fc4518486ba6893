//! planrun's version as `--version` shows it: the crate version, and the commit and date of
//! the checkout it was built from when there was one (build.rs).

/// `0.1.0 (3f2c1a9b0 2026-12-02)`, or `0.1.0` when not built from a git checkout.
pub const VERSION: &str = env!("PLANRUN_VERSION");

#[cfg(test)]
#[path = "../build/git.rs"]
mod git;

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_version_starts_with_the_crate_version() {
        let rest = VERSION.strip_prefix(env!("CARGO_PKG_VERSION")).unwrap();
        assert!(rest.is_empty() || rest.starts_with(" ("), "{VERSION}");
    }

    #[test]
    fn only_the_top_of_a_work_tree_has_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git::commit(dir.path()), None, "not a checkout");
        assert!(git::head_files(dir.path()).is_empty());
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
                .arg(dir.path())
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(dir.path().join("sdist")).unwrap();
        std::fs::write(dir.path().join("sdist/x"), "x").unwrap();
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "x"]);
        let (hash, date) = git::commit(dir.path()).unwrap();
        assert_eq!(hash.len(), 9, "{hash}");
        assert_eq!(date.len(), 10, "{date}");
        assert!(!git::head_files(dir.path()).is_empty());
        // Sources unpacked inside another repository do not take its commit.
        assert_eq!(git::commit(&dir.path().join("sdist")), None);
    }
}
