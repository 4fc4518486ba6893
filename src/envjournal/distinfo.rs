//! Installed distributions read offline from their metadata directories: who is installed, at
//! which version and from where (an offline `pip freeze`), and which files each one owns.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::edit::requirements::normalize as normalize_name;

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// PEP 503-normalized name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its `*.dist-info` or `*.egg-info` directory (or file).
    pub meta: PathBuf,
    /// The `site-packages` directory it is installed in.
    pub site: PathBuf,
}

/// Every distribution installed in `site_packages`, sorted by name.
pub fn installed(site_packages: &[PathBuf]) -> Vec<Dist> {
    let mut out = Vec::new();
    for site in site_packages {
        let Ok(entries) = fs::read_dir(site) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let headers = if name.ends_with(".dist-info") {
                path.join("METADATA")
            } else if name.ends_with(".egg-info") {
                if path.is_dir() {
                    path.join("PKG-INFO")
                } else {
                    path.clone()
                }
            } else {
                continue;
            };
            if let Some((dist_name, version)) = name_version(&headers) {
                out.push(Dist {
                    name: normalize_name(&dist_name),
                    version,
                    meta: path,
                    site: site.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.meta.cmp(&b.meta)));
    out
}

/// `Name:` and `Version:` of a METADATA or PKG-INFO file.
fn name_version(path: &Path) -> Option<(String, String)> {
    let text = fs::read_to_string(path).ok()?;
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim().to_string());
        }
    }
    Some((name?, version?))
}

/// An offline freeze: `name==version`, with ` @ url` for a direct URL and ` (editable)` for an
/// editable install, one line per distribution, sorted.
pub fn freeze(dists: &[Dist]) -> Vec<String> {
    let mut lines: Vec<String> = dists
        .iter()
        .map(|d| {
            let mut line = format!("{}=={}", d.name, d.version);
            if let Some((url, editable)) = direct_url(&d.meta) {
                line.push_str(&format!(" @ {url}"));
                if editable {
                    line.push_str(" (editable)");
                }
            }
            line
        })
        .collect();
    lines.sort();
    lines
}

/// The `url` of `direct_url.json` and whether it says editable.
fn direct_url(meta: &Path) -> Option<(String, bool)> {
    let text = fs::read_to_string(meta.join("direct_url.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = value.get("url")?.as_str()?.to_string();
    let editable = value
        .pointer("/dir_info/editable")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Some((url, editable))
}

/// Every file `dist` owns, absolute and lexically normalized: its `RECORD`, else the names in
/// `installed-files.txt`, else what `top_level.txt` names, plus its metadata directory. `None`
/// when nothing says what it owns (the caller then saves all of `site-packages`).
pub fn owned_files(dist: &Dist) -> Option<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    walk_files(&dist.meta, &mut out);
    if let Ok(text) = fs::read_to_string(dist.meta.join("RECORD")) {
        for rel in record_paths(&text) {
            out.insert(normalize(&dist.site.join(rel)));
        }
        return Some(out);
    }
    if let Ok(text) = fs::read_to_string(dist.meta.join("installed-files.txt")) {
        for rel in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.insert(normalize(&dist.meta.join(rel)));
        }
        return Some(out);
    }
    let text = fs::read_to_string(dist.meta.join("top_level.txt")).ok()?;
    for top in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        walk_files(&dist.site.join(top), &mut out);
        let Ok(entries) = fs::read_dir(&dist.site) else {
            continue;
        };
        // Modules and extensions: `top.py`, `top.cpython-311-x86_64-linux-gnu.so`.
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name
                .strip_prefix(top)
                .is_some_and(|rest| rest.starts_with('.'))
            {
                walk_files(&entry.path(), &mut out);
            }
        }
    }
    Some(out)
}

/// The path column of every row of a `RECORD` file. It is CSV as Python's `csv` module writes
/// it: a path holding a comma, a quote or a line break is quoted, its quotes doubled; the `csv`
/// crate reads all of that. A row that cannot be read is skipped: its file then counts as
/// not owned, and the snapshot saves more, never less, of what it would have held.
fn record_paths(text: &str) -> Vec<String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
        .filter_map(|row| row.get(0).filter(|p| !p.is_empty()).map(str::to_string))
        .collect()
}

/// Every file (or symlink) at or below `path`.
pub fn walk_files(path: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        out.insert(path.to_path_buf());
        return;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        walk_files(&entry.path(), out);
    }
}

/// Resolves `.` and `..` without touching the file system (RECORD's `../../../bin/x`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_and_relative_paths() {
        let record = concat!(
            "six.py,sha256=x,12\r\n",
            "\"a,b.py\",sha256=x,1\n",
            "\n",
            // A path with a comma and a quote, as Python's csv writes it: quoted, quote doubled.
            "\"data/say \"\"hi\"\", then go.txt\",sha256=y,2\n",
            "\"two\nlines.txt\",,\n",
            "pkg/__init__.py,,\n",
        );
        assert_eq!(
            record_paths(record),
            [
                "six.py",
                "a,b.py",
                "data/say \"hi\", then go.txt",
                "two\nlines.txt",
                "pkg/__init__.py"
            ]
        );
        assert_eq!(
            normalize(Path::new("/v/lib/python3.11/site-packages/../../../bin/x")),
            PathBuf::from("/v/bin/x")
        );
    }

    #[test]
    fn freeze_and_ownership_from_metadata_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("lib/python3.11/site-packages");
        let meta = site.join("Demo_Pkg-0.1.dist-info");
        fs::create_dir_all(&meta).unwrap();
        fs::create_dir_all(tmp.path().join("bin")).unwrap();
        fs::write(
            meta.join("METADATA"),
            "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 0.1\n\nbody\n",
        )
        .unwrap();
        fs::write(
            meta.join("RECORD"),
            "demo.pth,,\n../../../bin/demo,,\nDemo_Pkg-0.1.dist-info/RECORD,,\n",
        )
        .unwrap();
        fs::write(
            meta.join("direct_url.json"),
            r#"{"url": "file:///src/demo", "dir_info": {"editable": true}}"#,
        )
        .unwrap();
        let dists = installed(std::slice::from_ref(&site));
        assert_eq!(dists.len(), 1);
        assert_eq!(
            freeze(&dists),
            vec!["demo-pkg==0.1 @ file:///src/demo (editable)"]
        );
        let owned = owned_files(&dists[0]).unwrap();
        assert!(owned.contains(&site.join("demo.pth")));
        assert!(owned.contains(&tmp.path().join("bin/demo")));
        assert!(owned.contains(&meta.join("METADATA")));
        assert!(owned.contains(&meta.join("direct_url.json")));
    }
}
