//! Real projects' suites for `planrun suggest`: small pure-Python projects whose PyPI sdists
//! ship their tests and run them with nothing but pytest, fetched once from PyPI (the file's
//! sha256 checked against the one pinned here) and kept unpacked under
//! `target/suggest-sdists/`, like the shared venv. Shared by tests/e2e/suggest.rs and the
//! bench's suggest rows.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One project: its PyPI name, version, sdist file and that file's sha256.
#[derive(Debug, Clone, Copy)]
pub struct Sdist {
    /// The name on PyPI.
    pub name: &'static str,
    /// The version.
    pub version: &'static str,
    /// The sdist's file name.
    pub file: &'static str,
    /// Its sha256.
    pub sha256: &'static str,
}

/// The projects, the longest suite first: more-itertools (670 tests and 12,000 subtests, about
/// 30 s on a busy 2-core machine), pyflakes (730 tests), sqlparse (464), toolz (180).
pub const REAL: &[Sdist] = &[
    Sdist {
        name: "more-itertools",
        version: "10.7.0",
        file: "more_itertools-10.7.0.tar.gz",
        sha256: "9fddd5403be01a94b204faadcff459ec3568cf110265d3c54323e1e866ad29d3",
    },
    Sdist {
        name: "pyflakes",
        version: "3.2.0",
        file: "pyflakes-3.2.0.tar.gz",
        sha256: "1c61603ff154621fb2a9172037d84dca3500def8c8b630657d1701f026f8af3f",
    },
    Sdist {
        name: "sqlparse",
        version: "0.5.3",
        file: "sqlparse-0.5.3.tar.gz",
        sha256: "09f67787f56a0b16ecdbde1bfc7f5d9c3371ca683cfeaa8e6ff60b4807ec9272",
    },
    Sdist {
        name: "toolz",
        version: "1.0.0",
        file: "toolz-1.0.0.tar.gz",
        sha256: "2c86e3d9a04798ac556793bced838816296a2f085017664e4995cb40a1047a02",
    },
];

/// Finds the file on PyPI's simple index, downloads it, checks its sha256 and unpacks it (the
/// `data` filter: no links out, no absolute paths) into a temp directory beside `dest`, which
/// it then renames to `dest`: an interrupted fetch leaves no half-unpacked project.
const FETCH: &str = r##"
import hashlib, html.parser, os, shutil, sys, tarfile, tempfile, urllib.parse, urllib.request
name, file, sha256, dest = sys.argv[1:5]
index = f"https://pypi.org/simple/{name}/"
class Links(html.parser.HTMLParser):
    found = None
    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") or ""
        if tag == "a" and urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1] == file:
            self.found = urllib.parse.urljoin(index, href)
links = Links()
links.feed(urllib.request.urlopen(index, timeout=120).read().decode())
if links.found is None:
    sys.exit(f"{file} is not on {index}")
data = urllib.request.urlopen(links.found.split("#")[0], timeout=300).read()
got = hashlib.sha256(data).hexdigest()
if got != sha256:
    sys.exit(f"{file}: sha256 {got}, expected {sha256}")
parent = os.path.dirname(dest)
os.makedirs(parent, exist_ok=True)
tmp = tempfile.mkdtemp(dir=parent, prefix=".unpack-")
archive = os.path.join(tmp, file)
with open(archive, "wb") as out:
    out.write(data)
with tarfile.open(archive) as tar:
    tar.extractall(tmp, filter="data")
os.remove(archive)
(top,) = os.listdir(tmp)
try:
    os.rename(os.path.join(tmp, top), dest)
except OSError:
    if not os.path.isdir(dest):
        raise
shutil.rmtree(tmp)
"##;

/// The unpacked project under `<target>/suggest-sdists/`, fetched with `python` the first
/// time; panics with the fetch's output when it fails.
pub fn fetch(sdist: &Sdist, target: &Path, python: &Path) -> PathBuf {
    let dest = target
        .join("suggest-sdists")
        .join(format!("{}-{}", sdist.name, sdist.version));
    if dest.is_dir() {
        return dest;
    }
    let out = Command::new(python)
        .args(["-c", FETCH, sdist.name, sdist.file, sdist.sha256])
        .arg(&dest)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        out.status.success() && dest.is_dir(),
        "fetching {} from PyPI failed ({})\n{}",
        sdist.file,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dest
}
