//! Error messages under faults: the OS error is named, and the hint fits the fault.

use std::path::Path;
use std::process::Command;

use crate::support::lines;
use crate::support::Test;

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

/// The command that runs what follows it inside a private mount namespace where `target` is a
/// tmpfs mounted with `options`, after `prepare` (shell) ran in it; `None` when this machine
/// cannot make one (not root, or no `unshare`).
fn on_tmpfs(target: &Path, options: &str, prepare: &str) -> Option<Vec<String>> {
    std::fs::create_dir_all(target).ok()?;
    let script = format!(
        "t=$1; shift; mount -t tmpfs -o {options} tmpfs \"$t\" || exit 99; {prepare} exec \"$@\""
    );
    let wrapper: Vec<String> = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        .into_iter()
        .map(String::from)
        .chain([script, "sh".into(), target.display().to_string()])
        .collect();
    // The same namespace and mount around `true`: whether the machine can make one at all.
    let probe = Command::new(&wrapper[0])
        .args(&wrapper[1..])
        .arg("true")
        .output()
        .ok()?;
    probe.status.success().then_some(wrapper)
}

/// `planrun apply` of the harmless plan on `target`, the plan in `dir`.
fn apply(dir: &Path, target: &Path) -> Test<'static> {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    Test::new()
        .arg("apply")
        .arg(plan)
        .arg("--target")
        .arg(target)
        .status(2)
}

#[test]
fn a_read_only_target_names_the_os_error_and_does_not_say_wait() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    let out = if is_root() {
        // root writes through mode 0555, so a read-only mount stands in for it, in a mount
        // namespace of its own that ends with the command.
        let Some(wrapper) = on_tmpfs(&target, "ro,size=64k", "") else {
            eprintln!("skipped: running as root without a usable `unshare --mount`");
            return;
        };
        apply(dir.path(), &target)
            .wrapper(wrapper)
            .stderr_contains("Read-only file system (os error 30)")
            .stderr_contains("make the target writable")
            .run()
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = apply(dir.path(), &target)
            .stderr_contains("Permission denied (os error 13)")
            .stderr_contains("make the target writable")
            .run();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        out
    };
    assert!(
        !out.stderr.contains("wait for the other apply"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_full_disk_names_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    // Only a tmpfs of its own can be filled without filling the machine's disk.
    let fill = "head -c 1048576 /dev/zero > \"$t/fill\" 2>/dev/null;";
    let Some(wrapper) = on_tmpfs(&target, "size=8k", fill) else {
        eprintln!("skipped: a small tmpfs needs root and `unshare --mount`");
        return;
    };
    let out = apply(dir.path(), &target)
        .wrapper(wrapper)
        .stderr(lines(&[
            "error: failed to create `[TMP]/t/.planrun`",
            "  Caused by: No space left on device (os error 28)",
            "  hint: free space on the target's file system, then run this again",
        ]))
        .run();
    assert!(
        !out.stderr.contains("wait for the other apply"),
        "{}",
        out.stderr
    );
}
