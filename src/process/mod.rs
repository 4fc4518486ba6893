//! Running OS processes: spawning in a process group, timeouts, cancellation, signals, orphans,
//! process-tree RSS and `/proc`; it imports nothing else from planrun.

pub mod caplog;
pub mod capture;
pub mod child;
pub mod control;
pub mod orphans;
mod pidwait;
pub mod proctree;
pub mod redact;
pub mod rss;
pub mod scope;
pub mod service;
pub mod shell;
pub mod signals;
pub mod spawn;
#[cfg(test)]
pub(crate) mod testing;

pub use caplog::tail;
pub use capture::{capture, Captured, Invocation};
pub use child::{Outcome, Status, DEFAULT_GRACE};
pub use control::{Cancel, Control};
pub use orphans::Groups;
pub use scope::Scope;
pub use service::Service;
pub use spawn::{run, CommandSpec};

#[cfg(test)]
mod tests {
    /// Every source file of this module, by name.
    const SOURCES: [(&str, &str); 17] = [
        ("caplog.rs", include_str!("caplog.rs")),
        ("capture.rs", include_str!("capture.rs")),
        ("child.rs", include_str!("child.rs")),
        ("control.rs", include_str!("control.rs")),
        ("mod.rs", include_str!("mod.rs")),
        ("orphans.rs", include_str!("orphans.rs")),
        ("pidwait.rs", include_str!("pidwait.rs")),
        ("proctree.rs", include_str!("proctree.rs")),
        ("redact.rs", include_str!("redact.rs")),
        ("rss.rs", include_str!("rss.rs")),
        ("scope.rs", include_str!("scope.rs")),
        ("scope_tests.rs", include_str!("scope_tests.rs")),
        ("service.rs", include_str!("service.rs")),
        ("shell.rs", include_str!("shell.rs")),
        ("signals.rs", include_str!("signals.rs")),
        ("spawn.rs", include_str!("spawn.rs")),
        ("testing.rs", include_str!("testing.rs")),
    ];

    #[test]
    fn the_process_layer_imports_nothing_else_from_planrun() {
        // Spelled in pieces so that this file does not name the paths it looks for.
        let root = ["crate", "::"].concat();
        let outside = ["super", "::super"].concat();
        let mut found = Vec::new();
        for (file, text) in SOURCES {
            for (n, line) in text.lines().enumerate() {
                let escapes = line
                    .match_indices(&root)
                    .any(|(i, _)| !line[i + root.len()..].starts_with("process"));
                if escapes || line.contains(&outside) {
                    found.push(format!("src/process/{file}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "outside planrun's process layer:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn every_source_file_is_checked() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/process");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".rs"))
            .collect();
        on_disk.sort();
        let checked: Vec<&str> = SOURCES.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, checked);
    }
}
