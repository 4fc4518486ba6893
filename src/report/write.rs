//! Writing a run's reports to disk: every file replaced atomically, and copied on for CI.

use std::fs;
use std::io;
use std::path::Path;

use super::html::to_html;
use super::json::to_json;
use super::junit::to_junit;
use super::markdown::to_markdown;
use super::model::RunReport;
use crate::journal::paths::{JUNIT_XML, REPORT_FILES, REPORT_HTML, REPORT_JSON, SUMMARY_MD};

/// Writes `contents` to `path` through a temporary file in the same directory, fsynced and then
/// renamed over `path`, so readers see the old file or the new one and never a partial one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    crate::fsutil::write_atomic(path, contents, None)
}

/// Writes `report.json` into `run_dir` atomically: a crash at any moment leaves either the old
/// file or the new one, never a torn one.
pub fn write_report_json(run_dir: &Path, report: &RunReport) -> io::Result<()> {
    write_atomic(&run_dir.join(REPORT_JSON), to_json(report).as_bytes())
}

/// Writes `report.json`, `junit.xml`, `summary.md` and `report.html` into `run_dir`, each
/// atomically.
pub fn write_all(run_dir: &Path, report: &RunReport) -> io::Result<()> {
    write_report_json(run_dir, report)?;
    write_atomic(&run_dir.join(JUNIT_XML), to_junit(report).as_bytes())?;
    write_atomic(&run_dir.join(SUMMARY_MD), to_markdown(report).as_bytes())?;
    write_atomic(&run_dir.join(REPORT_HTML), to_html(report).as_bytes())
}

/// Copies the report files of `run_dir` that exist into `dest_dir` (created when missing), and
/// the step logs into `dest_dir/logs/`, for `--report-dir`; each copy is written atomically.
/// Only regular files are copied: a link in the logs directory is not followed.
pub fn copy_to(run_dir: &Path, dest_dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dest_dir)?;
    for name in REPORT_FILES {
        match fs::read(run_dir.join(name)) {
            Ok(bytes) => write_atomic(&dest_dir.join(name), &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let logs = crate::journal::paths::logs_dir(run_dir);
    let entries = match fs::read_dir(&logs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let dest_logs = crate::journal::paths::logs_dir(dest_dir);
    fs::create_dir_all(&dest_logs)?;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let bytes = fs::read(entry.path())?;
            write_atomic(&dest_logs.join(entry.file_name()), &bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::sample;
    use super::super::json::from_json;
    use super::*;

    #[test]
    fn write_all_writes_the_four_files() {
        let dir = tempfile::tempdir().unwrap();
        let report = sample();
        write_all(dir.path(), &report).unwrap();
        let json = fs::read_to_string(dir.path().join(REPORT_JSON)).unwrap();
        assert_eq!(from_json(&json).unwrap(), report);
        let xml = fs::read_to_string(dir.path().join(JUNIT_XML)).unwrap();
        assert_eq!(xml, to_junit(&report));
        let md = fs::read_to_string(dir.path().join(SUMMARY_MD)).unwrap();
        assert_eq!(md, to_markdown(&report));
        let html = fs::read_to_string(dir.path().join(REPORT_HTML)).unwrap();
        assert_eq!(html, to_html(&report));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn write_atomic_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one, longer").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn write_atomic_fails_in_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("no/such/f"), b"x").is_err());
    }

    #[test]
    fn copy_to_creates_the_destination_and_skips_missing_files() {
        let run = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let dest = dest.path().join("artifacts/planrun");
        write_report_json(run.path(), &sample()).unwrap();
        copy_to(run.path(), &dest).unwrap();
        assert_eq!(
            fs::read(dest.join(REPORT_JSON)).unwrap(),
            fs::read(run.path().join(REPORT_JSON)).unwrap()
        );
        assert!(!dest.join(JUNIT_XML).exists());
        assert!(!dest.join("logs").exists(), "no logs, no directory");
    }

    #[test]
    fn copy_to_takes_the_step_logs_but_no_links() {
        let run = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let logs = run.path().join("logs");
        fs::create_dir(&logs).unwrap();
        fs::write(logs.join("measure-run-1.log"), "1 failed").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", logs.join("evil.log")).unwrap();
        copy_to(run.path(), dest.path()).unwrap();
        let copied = dest.path().join("logs");
        assert_eq!(
            fs::read_to_string(copied.join("measure-run-1.log")).unwrap(),
            "1 failed"
        );
        assert!(!copied.join("evil.log").exists());
    }

    #[test]
    fn write_report_json_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = sample();
        write_report_json(dir.path(), &report).unwrap();
        report.steps.truncate(1);
        write_report_json(dir.path(), &report).unwrap();
        let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert_eq!(from_json(&text).unwrap(), report);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["report.json"], "no temp file left behind");
    }
}
