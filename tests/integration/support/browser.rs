//! Headless Chromium for the HTML report's tests and its benchmark: find (or, as root, install)
//! Debian's `chromium`, render a page to a PNG or dump its DOM, and read the console errors it
//! logged. Only the standard library, so `benches/report.rs` includes this file as it is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Names the browser goes by, in the order they are tried.
const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The flags every run gets: headless as root, nothing fetched or synced in the background,
/// console messages logged on stderr.
const FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
];

/// A Chromium binary.
#[derive(Debug, Clone)]
pub struct Browser {
    bin: PathBuf,
}

/// What one browser run left.
#[derive(Debug)]
pub struct Visit {
    /// What it wrote on stdout (the DOM, for `--dump-dom`).
    pub stdout: String,
    /// Its log, console messages included.
    pub stderr: String,
    /// Wall time from start to exit.
    pub elapsed: Duration,
}

impl Browser {
    /// The browser on `PATH` (or `PLANRUN_CHROMIUM`); when there is none and this runs as
    /// root with apt, `apt-get install -y chromium` first. `Err` says why there is none.
    pub fn find() -> Result<Browser, String> {
        if let Some(found) = Self::on_path() {
            return Ok(found);
        }
        install()?;
        Self::on_path().ok_or_else(|| "chromium was installed but is not on PATH".to_string())
    }

    fn on_path() -> Option<Browser> {
        if let Some(bin) = std::env::var_os("PLANRUN_CHROMIUM") {
            return Some(Browser { bin: bin.into() });
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| NAMES.map(|n| dir.join(n)))
            .find(|p| p.is_file())
            .map(|bin| Browser { bin })
    }

    /// Renders `page` in a `width` x `height` window to the PNG `png`.
    pub fn screenshot(
        &self,
        page: &Path,
        png: &Path,
        (width, height): (u32, u32),
    ) -> Result<Visit, String> {
        self.visit(
            page,
            &[
                format!("--window-size={width},{height}"),
                format!("--screenshot={}", png.display()),
            ],
        )
    }

    /// Loads `page` and returns its DOM after the load event.
    pub fn dump_dom(&self, page: &Path) -> Result<Visit, String> {
        self.visit(page, &["--dump-dom".to_string()])
    }

    fn visit(&self, page: &Path, extra: &[String]) -> Result<Visit, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
        let page = std::path::absolute(page).map_err(|e| format!("{}: {e}", page.display()))?;
        let started = Instant::now();
        let out = Command::new(&self.bin)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let elapsed = started.elapsed();
        let visit = Visit {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        };
        if !out.status.success() {
            return Err(format!(
                "{} exited with {}:\n{}",
                self.bin.display(),
                out.status,
                visit.stderr
            ));
        }
        Ok(visit)
    }
}

/// The console messages in a browser log. Uncaught exceptions, `console.*` calls, refused
/// loads and content-security-policy violations all reach the console, which
/// `--enable-logging=stderr` writes as `...:CONSOLE:<line>] "message", source: ...` lines, every
/// level alike: a page without script should have none at all.
pub fn console_messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

/// `apt-get install -y chromium`, as root only; `Err` when it cannot be installed here.
fn install() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        return Err("chromium is not installed and installing it needs root".into());
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    let first = apt(&["install", "-y", "-q", "chromium"])?;
    if first.status.success() {
        return Ok(());
    }
    // The package lists may be missing or stale.
    apt(&["update", "-q"])?;
    let again = apt(&["install", "-y", "-q", "chromium"])?;
    if again.status.success() {
        Ok(())
    } else {
        Err(format!(
            "apt-get install chromium failed:\n{}",
            String::from_utf8_lossy(&again.stderr)
        ))
    }
}
