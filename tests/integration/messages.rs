//! Error messages under faults: the OS error is named, and the hint fits the fault.

use std::path::Path;
use std::process::{Command, Output};

const PLAN: &str = r#"name = "faults"
description = "One harmless step; apply fails before it when the target cannot be written."
[[phase]]
id = "p"
  [[phase.step]]
  id = "s"
  action = "run"
  command = "true"
"#;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `planrun apply` on `target` inside a private mount namespace where `target` is a
/// tmpfs mounted with `options`, after `prepare` (shell) ran in it; `None` when this machine
/// cannot make one (not root, or no `unshare`).
fn apply_on_tmpfs(dir: &Path, options: &str, prepare: &str) -> Option<Output> {
    let target = dir.join("t");
    std::fs::create_dir_all(&target).ok()?;
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, PLAN).ok()?;
    let script = format!(
        "mount -t tmpfs -o {options} tmpfs \"$1\" || exit 99; {prepare} exec \"$2\" apply \"$3\" --target \"$1\""
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(&target)
        .arg(env!("CARGO_BIN_EXE_planrun"))
        .arg(&plan)
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    (out.status.code() != Some(99)).then_some(out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_read_only_target_names_the_os_error_and_does_not_say_wait() {
    let dir = tempfile::tempdir().unwrap();
    let out = if is_root() {
        // root writes through mode 0555, so a read-only mount stands in for it, in a mount
        // namespace of its own that ends with the command.
        match apply_on_tmpfs(dir.path(), "ro,size=64k", "") {
            Some(out) => out,
            None => {
                eprintln!("skipped: running as root without a usable `unshare --mount`");
                return;
            }
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        let target = dir.path().join("t");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_planrun"))
            .arg("apply")
            .arg(dir.path().join("plan.toml"))
            .arg("--target")
            .arg(&target)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        out
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Read-only file system (os error 30)")
            || err.contains("Permission denied (os error 13)"),
        "{err}"
    );
    assert!(!err.contains("wait for the other apply"), "{err}");
    assert!(err.contains("make the target writable"), "{err}");
}

#[test]
fn a_full_disk_names_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    // Only a tmpfs of its own can be filled without filling the machine's disk.
    let fill = "head -c 1048576 /dev/zero > \"$1/fill\" 2>/dev/null;";
    let Some(out) = apply_on_tmpfs(dir.path(), "size=8k", fill) else {
        eprintln!("skipped: a small tmpfs needs root and `unshare --mount`");
        return;
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("No space left on device (os error 28)"),
        "{err}"
    );
    assert!(!err.contains("wait for the other apply"), "{err}");
    assert!(err.contains("free space"), "{err}");
}
