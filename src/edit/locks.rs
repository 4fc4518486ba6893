//! Which lock file follows a changed `pyproject.toml`, and how its own tool relocks it without
//! changes the project did not ask for: uv at the version the project pins (`required-version`)
//! or else one that writes the lock's own revision; `poetry lock` without updating (Poetry 1's
//! `--no-update`, Poetry 2's default); `pdm lock --update-reuse`. Pure: versions come in as text.

use std::path::Path;

use toml_edit::DocumentMut;

use super::format::strip_bom;

/// The tool that owns a lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `uv.lock`.
    Uv,
    /// `poetry.lock`.
    Poetry,
    /// `pdm.lock`.
    Pdm,
}

impl Tool {
    /// The program's name, as found on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Uv => "uv",
            Tool::Poetry => "poetry",
            Tool::Pdm => "pdm",
        }
    }
}

/// A lock file that must follow a `pyproject.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Its tool.
    pub tool: Tool,
    /// The lock file, relative to the target.
    pub file: String,
    /// The `pyproject.toml` it follows, relative to the target.
    pub pyproject: String,
}

/// The lock file beside `pyproject` (uv's, then Poetry's, then PDM's), if there is one.
pub fn following(pyproject: &str, read: &dyn Fn(&str) -> Option<String>) -> Option<Lock> {
    let path = Path::new(pyproject);
    if path.file_name().is_none_or(|n| n != "pyproject.toml") {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    [
        ("uv.lock", Tool::Uv),
        ("poetry.lock", Tool::Poetry),
        ("pdm.lock", Tool::Pdm),
    ]
    .into_iter()
    .map(|(name, tool)| (dir.join(name).to_string_lossy().into_owned(), tool))
    .find(|(file, _)| read(file).is_some())
    .map(|(file, tool)| Lock {
        tool,
        file,
        pyproject: pyproject.to_string(),
    })
}

/// The `revision` a `uv.lock` declares (0 when it has none, as uv before 0.6 wrote them).
pub fn uv_revision(lock: &str) -> u32 {
    strip_bom(lock)
        .parse::<DocumentMut>()
        .ok()
        .and_then(|doc| doc.get("revision")?.as_integer())
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0)
}

/// The uv version the project pins: `required-version` in `uv.toml`, else `[tool.uv]
/// required-version` in `pyproject.toml` beside it (uv reads `uv.toml` first and then ignores
/// `[tool.uv]`), as a specifier (`0.7.2` reads as `==0.7.2`).
pub fn uv_pin(pyproject: &str, uv_toml: Option<&str>) -> Option<String> {
    let from_pyproject = strip_bom(pyproject)
        .parse::<DocumentMut>()
        .ok()
        .and_then(|doc| {
            Some(
                doc.get("tool")?
                    .get("uv")?
                    .get("required-version")?
                    .as_str()?
                    .to_string(),
            )
        });
    let from_uv_toml = || {
        strip_bom(uv_toml?)
            .parse::<DocumentMut>()
            .ok()
            .and_then(|doc| Some(doc.get("required-version")?.as_str()?.to_string()))
    };
    let pin = from_uv_toml().or(from_pyproject)?;
    let pin = pin.trim();
    Some(if pin.starts_with(|c: char| c.is_ascii_digit()) {
        format!("=={pin}")
    } else {
        pin.to_string()
    })
}

/// A numeric `X.Y.Z` version.
pub type Version = [u64; 3];

/// The revisions uv writes, by version: measured by locking one project with each uv from
/// PyPI (0.6.0 introduced `revision = 1`; 0.6.15 wrote 2; 0.8.4 to 0.12.21 wrote 3; 0.12.22 and
/// later, to 0.13.9, write 5). The last range is open: a later revision gets a later row.
const UV_REVISIONS: &[(u32, Version, Option<Version>)] = &[
    (0, [0, 0, 0], Some([0, 6, 0])),
    (1, [0, 6, 0], Some([0, 6, 15])),
    (2, [0, 6, 15], Some([0, 8, 4])),
    (3, [0, 8, 4], Some([0, 12, 22])),
    (5, [0, 12, 22], None),
];

/// The revision a uv of `version` writes, when the table knows it.
pub fn revision_written_by(version: [u64; 3]) -> Option<u32> {
    UV_REVISIONS
        .iter()
        .find(|(_, from, to)| version >= *from && to.is_none_or(|to| version < to))
        .map(|(rev, _, _)| *rev)
}

/// The specifier of the uv versions that write `revision` (`>=0.6.15,<0.8.4`).
pub fn uv_range_for(revision: u32) -> Option<String> {
    let (_, from, to) = UV_REVISIONS.iter().find(|(rev, _, _)| *rev == revision)?;
    let v = |v: &[u64; 3]| format!("{}.{}.{}", v[0], v[1], v[2]);
    Some(match to {
        Some(to) if *from == [0, 0, 0] => format!("<{}", v(to)),
        Some(to) => format!(">={},<{}", v(from), v(to)),
        None => format!(">={}", v(from)),
    })
}

/// The first `X.Y.Z` in a tool's `--version` output (`uv 0.13.9 (...)`, `Poetry (version
/// 2.1.3)`); missing parts are 0.
pub fn parse_version(text: &str) -> Option<[u64; 3]> {
    let word = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'))?;
    let mut out = [0u64; 3];
    for (slot, part) in out.iter_mut().zip(word.split('.')) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        *slot = digits.parse().ok()?;
    }
    Some(out)
}

/// Whether `version` meets a comma-separated specifier of `==`, `!=`, `>=`, `<=`, `>`, `<`
/// and `~=` clauses over numeric versions; a clause it cannot read is not met.
pub fn satisfies(version: [u64; 3], spec: &str) -> bool {
    spec.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .all(|clause| {
            let op_len = clause
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(clause.len());
            let (op, rest) = clause.split_at(op_len);
            let rest = rest.trim();
            // `==8.*` and `!=8.*` compare the given parts only.
            let (rest, wildcard) = match rest.strip_suffix(".*") {
                Some(head) => (head, true),
                None => (rest, false),
            };
            let Some((want, parts)) = spec_version(rest) else {
                return false;
            };
            let prefix_equal = version[..parts.min(3)] == want[..parts.min(3)];
            match op.trim() {
                "==" | "" if wildcard => prefix_equal,
                "!=" if wildcard => !prefix_equal,
                "==" | "" => version == want,
                "!=" => version != want,
                ">=" => version >= want,
                "<=" => version <= want,
                ">" => version > want,
                "<" => version < want,
                "~=" => {
                    let prefix = parts.saturating_sub(1).max(1);
                    version >= want && version[..prefix] == want[..prefix]
                }
                _ => false,
            }
        })
}

/// A specifier's version (`8`, `0.8.4`, `1.2.3.4` read as `1.2.3`) and how many parts it gave;
/// `None` for anything but dot-separated numbers (`8.0rc1`).
fn spec_version(text: &str) -> Option<(Version, usize)> {
    let mut out = [0u64; 3];
    let parts: Vec<&str> = text.split('.').collect();
    for (slot, part) in out.iter_mut().zip(&parts) {
        *slot = part.parse().ok()?;
    }
    Some((out, parts.len()))
}

/// Which uv relocks a `uv.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UvChoice {
    /// The uv planrun found (it meets the pin, or writes the lock's revision).
    Found,
    /// `uv tool run --from "uv<spec>" uv lock`, and why.
    Other {
        /// The specifier given to `--from uv`.
        spec: String,
        /// Why, for the step's note.
        why: UvReason,
    },
}

/// Why another uv than the one found relocks (`report::words` says it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum UvReason {
    /// The project pins uv to this specifier.
    Pinned {
        /// The pin.
        pin: String,
    },
    /// The found uv would rewrite `uv.lock` at another revision than its own.
    KeepsRevision {
        /// The lock's revision.
        revision: u32,
    },
}

/// Chooses the uv that relocks: the project's pin rules; without one, a uv that writes the
/// lock's current revision (the found one when the table says it does or cannot tell).
pub fn choose_uv(found: Option<[u64; 3]>, pin: Option<&str>, revision: u32) -> UvChoice {
    if let Some(pin) = pin {
        if found.is_some_and(|v| satisfies(v, pin)) {
            return UvChoice::Found;
        }
        return UvChoice::Other {
            spec: pin.to_string(),
            why: UvReason::Pinned {
                pin: pin.to_string(),
            },
        };
    }
    let writes = found.and_then(revision_written_by);
    match (writes, uv_range_for(revision)) {
        (Some(w), Some(spec)) if w != revision => UvChoice::Other {
            spec,
            why: UvReason::KeepsRevision { revision },
        },
        _ => UvChoice::Found,
    }
}

/// `poetry lock` that keeps every locked version: Poetry 1 needs `--no-update`, which Poetry 2
/// removed (it no longer updates unless asked with `--regenerate`).
pub fn poetry_lock_args(version: Option<[u64; 3]>) -> &'static [&'static str] {
    match version {
        Some([major, ..]) if major < 2 => &["lock", "--no-update"],
        _ => &["lock"],
    }
}

/// The dry run's words for relocking `lock`, from the files as they are.
pub fn describe(lock: &Lock, read: &dyn Fn(&str) -> Option<String>) -> String {
    let follows = format!("{} follows {}", lock.file, lock.pyproject);
    match lock.tool {
        Tool::Uv => {
            let dir = Path::new(&lock.pyproject).parent().unwrap_or(Path::new(""));
            let uv_toml = read(&dir.join("uv.toml").to_string_lossy());
            let pin = uv_pin(
                &read(&lock.pyproject).unwrap_or_default(),
                uv_toml.as_deref(),
            );
            let revision = read(&lock.file).map_or(0, |t| uv_revision(&t));
            match pin {
                Some(pin) => format!("uv lock  ({follows}; with uv {pin}, as the project pins)"),
                None => format!("uv lock  ({follows}; keeps revision {revision})"),
            }
        }
        Tool::Poetry => format!("poetry lock  ({follows}; no version updated)"),
        Tool::Pdm => format!("pdm lock --update-reuse  ({follows})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_beside_a_pyproject_is_found() {
        let read = |rel: &str| (rel == "api/poetry.lock").then(String::new);
        let lock = following("api/pyproject.toml", &read).unwrap();
        assert_eq!(
            (lock.tool, lock.file.as_str()),
            (Tool::Poetry, "api/poetry.lock")
        );
        assert_eq!(following("requirements-dev.txt", &read), None);
        assert_eq!(following("pyproject.toml", &read), None);
    }

    #[test]
    fn revisions_and_pins_are_read() {
        assert_eq!(uv_revision("version = 1\nrevision = 2\n"), 2);
        assert_eq!(uv_revision("version = 1\n"), 0);
        assert_eq!(
            uv_pin("[tool.uv]\nrequired-version = \"0.7.2\"\n", None).as_deref(),
            Some("==0.7.2")
        );
        assert_eq!(
            uv_pin("", Some("required-version = \">=0.8\"\n")).as_deref(),
            Some(">=0.8")
        );
        assert_eq!(uv_pin("[project]\n", None), None);
        assert_eq!(
            uv_pin(
                "[tool.uv]\nrequired-version = \"0.7.2\"\n",
                Some("required-version = \">=0.8\"\n")
            )
            .as_deref(),
            Some(">=0.8"),
            "uv.toml wins, as uv reads it"
        );
    }

    #[test]
    fn versions_and_specifiers_compare_numerically() {
        assert_eq!(
            parse_version("uv 0.13.9 (abc 2026-01-01)"),
            Some([0, 13, 9])
        );
        assert_eq!(parse_version("Poetry (version 1.8.5)"), Some([1, 8, 5]));
        assert!(satisfies([0, 8, 10], ">=0.8.4,<0.12.22"));
        assert!(!satisfies([0, 12, 22], ">=0.8.4,<0.12.22"));
        assert!(satisfies([0, 7, 2], "==0.7.2") && !satisfies([0, 7, 3], "==0.7.2"));
        assert!(satisfies([0, 7, 9], "~=0.7.2") && !satisfies([0, 8, 0], "~=0.7.2"));
        assert!(!satisfies([1, 0, 0], "===x"));
        // One-part versions and wildcards, as requirements write them.
        assert!(satisfies([8, 4, 2], ">=8") && !satisfies([8, 4, 2], ">=9"));
        assert!(satisfies([8, 4, 2], "<9") && !satisfies([9, 0, 0], "<9"));
        assert!(satisfies([8, 4, 2], "==8.*") && !satisfies([9, 0, 0], "==8.*"));
        assert!(satisfies([9, 0, 0], "!=8.*") && !satisfies([8, 1, 0], "!=8.*"));
        assert!(!satisfies([8, 0, 0], ">=8.0rc1"));
    }

    #[test]
    fn the_uv_that_keeps_the_lock_is_chosen() {
        assert_eq!(choose_uv(Some([0, 13, 9]), None, 5), UvChoice::Found);
        assert_eq!(
            choose_uv(Some([0, 13, 9]), None, 2),
            UvChoice::Other {
                spec: ">=0.6.15,<0.8.4".into(),
                why: UvReason::KeepsRevision { revision: 2 }
            }
        );
        assert_eq!(uv_range_for(0).as_deref(), Some("<0.6.0"));
        // A revision no uv in the table writes: the found uv, and the note says what moved.
        assert_eq!(choose_uv(Some([0, 13, 9]), None, 4), UvChoice::Found);
        assert_eq!(
            choose_uv(Some([0, 7, 2]), Some("==0.7.2"), 5),
            UvChoice::Found
        );
        assert!(
            matches!(choose_uv(Some([0, 13, 9]), Some("==0.7.2"), 2), UvChoice::Other { spec, .. } if spec == "==0.7.2")
        );
        assert_eq!(poetry_lock_args(Some([1, 8, 5])), ["lock", "--no-update"]);
        assert_eq!(poetry_lock_args(Some([2, 1, 3])), ["lock"]);
    }
}
