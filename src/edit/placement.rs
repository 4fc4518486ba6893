//! Where an install step's `record_in` puts its requirements: where the project declares its
//! test dependencies (the group, extra, Poetry group, requirements file or tox `deps` that holds
//! pytest), and nothing for a requirement it already declares anywhere. Pure: it reads files
//! through a closure and says, in words for the dry run, what it chose and why.

use std::path::Path;

use super::declared::{short, Declared, Place, REQUIREMENT_FILES};
use super::pep508::Requirement;

/// The file and table an install step's requirements are written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A requirements file.
    Requirements,
    /// An array of `pyproject.toml`: `table` is `dependency-groups`,
    /// `project.optional-dependencies` or `tool.uv`, `key` the group, extra or `dev-dependencies`.
    Array {
        /// The dotted table holding the array.
        table: &'static str,
        /// The array's key.
        key: String,
    },
    /// A Poetry group (its legacy `dev-dependencies` table when the project has one).
    Poetry {
        /// The group.
        group: String,
    },
    /// The `deps` of a tox.ini section.
    Tox {
        /// The section, e.g. `testenv`.
        section: String,
    },
}

/// What `record_in` asks for, from the compiled install step.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `"auto"`, a requirements file, or a `pyproject.toml`.
    pub record_in: &'a str,
    /// The group or extra the step names.
    pub group: Option<&'a str>,
    /// Whether the step asks for an extra.
    pub extra: bool,
    /// The requirement strings.
    pub packages: &'a [String],
}

/// The decision: which file, which table, which requirements, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The file to edit, relative to the target.
    pub file: String,
    /// Where in it.
    pub target: Target,
    /// The requirements to record: the step's, less those the project already declares.
    pub packages: Vec<String>,
    /// One line per decision, for the dry run and the step's note.
    pub notes: Vec<String>,
}

/// Decides where `req`'s packages go in the target whose files `read` returns.
pub fn place(req: &Request<'_>, read: &dyn Fn(&str) -> Option<String>) -> Placement {
    let pyproject = Path::new(req.record_in)
        .file_name()
        .is_some_and(|n| n == "pyproject.toml");
    // A `pyproject.toml` in a subdirectory is its own project: its files are read beside it.
    let dir = if pyproject {
        Path::new(req.record_in).parent().unwrap_or(Path::new(""))
    } else {
        Path::new("")
    };
    let at = |rel: &str| dir.join(rel).to_string_lossy().into_owned();
    let local = |rel: &str| read(&at(rel));
    let declared = Declared::scan(&local);
    let mut notes = Vec::new();
    let mut packages = Vec::new();
    for p in req.packages {
        let known = Requirement::parse(p).and_then(|r| declared.describe(&r.key()));
        match known {
            Some(place) => notes.push(format!(
                "{p}: already declared in {place}; not recorded again, no lock file touched"
            )),
            None => packages.push(p.clone()),
        }
    }
    let (place, why) = if req.record_in == "auto" {
        auto(&declared, false)
    } else if pyproject {
        explicit_pyproject(req, &declared, &local)
    } else {
        (
            Place::Requirements(req.record_in.to_string()),
            "named by record_in".to_string(),
        )
    };
    if !packages.is_empty() {
        notes.push(format!("{} -> {place} ({why})", packages.join(" ")));
    }
    let (file, target) = match place {
        Place::Requirements(file) => (file, Target::Requirements),
        Place::Tox(section) => ("tox.ini".to_string(), Target::Tox { section }),
        Place::PoetryGroup(group) => (at("pyproject.toml"), Target::Poetry { group }),
        Place::PoetryLegacyDev => (
            at("pyproject.toml"),
            Target::Poetry {
                group: "dev".into(),
            },
        ),
        Place::Extra(key) => (
            at("pyproject.toml"),
            array("project.optional-dependencies", key),
        ),
        Place::UvDev => (
            at("pyproject.toml"),
            array("tool.uv", "dev-dependencies".into()),
        ),
        Place::Group(key) => (at("pyproject.toml"), array("dependency-groups", key)),
        // Never chosen (`auto` skips them); a new `dev` group is the safe reading.
        Place::Runtime | Place::Lock(_) => (
            at("pyproject.toml"),
            array("dependency-groups", "dev".into()),
        ),
    };
    Placement {
        file,
        target,
        packages,
        notes,
    }
}

fn array(table: &'static str, key: String) -> Target {
    Target::Array { table, key }
}

/// The place that holds pytest, preferring PEP 735 groups, then Poetry's, then extras, then
/// requirements files, then tox; with `pyproject_only`, only places in `pyproject.toml`.
fn auto(declared: &Declared, pyproject_only: bool) -> (Place, String) {
    let writable = |p: &&Place| {
        let elsewhere = matches!(p, Place::Requirements(_) | Place::Tox(_));
        let never = matches!(p, Place::Runtime | Place::Lock(_));
        !(never || pyproject_only && elsewhere)
    };
    let mut holders: Vec<&Place> = declared
        .direct("pytest")
        .into_iter()
        .filter(writable)
        .collect();
    holders.sort_by_key(|p| rank(p));
    if let Some(chosen) = holders.first() {
        let mut also: Vec<String> = holders[1..].iter().map(|p| short(p)).collect();
        for by in declared.included_by(chosen) {
            let name = short(by);
            if !also.contains(&name) {
                also.push(name);
            }
        }
        let why = if also.is_empty() {
            "holds pytest".to_string()
        } else {
            format!("holds pytest; also found: {}", also.join(", "))
        };
        return ((*chosen).clone(), why);
    }
    let fallback = fallback(declared, pyproject_only);
    (
        fallback.0,
        format!("nothing declares pytest; {}", fallback.1),
    )
}

/// Without a place holding pytest: an existing dev/test requirements file, group, extra or
/// Poetry group, else a new `requirements-dev.txt` (or group `dev` in `pyproject.toml`).
fn fallback(declared: &Declared, pyproject_only: bool) -> (Place, &'static str) {
    if !pyproject_only {
        for file in REQUIREMENT_FILES {
            let place = Place::Requirements(file.to_string());
            if declared.has(&place) {
                return (place, "the project's requirements file");
            }
        }
    }
    let names = ["test", "tests", "testing", "dev"];
    for make in [Place::Group, Place::Extra, Place::PoetryGroup] {
        for name in names {
            let place = make(name.to_string());
            if declared.has(&place) {
                return (place, "the project's dev or test group");
            }
        }
    }
    if declared.has(&Place::PoetryLegacyDev) {
        return (Place::PoetryLegacyDev, "Poetry's development dependencies");
    }
    if declared.has(&Place::UvDev) {
        return (Place::UvDev, "uv's development dependencies");
    }
    if declared.is_poetry {
        return (Place::PoetryGroup("dev".into()), "a new Poetry group");
    }
    if pyproject_only {
        return (Place::Group("dev".into()), "a new dependency group");
    }
    (
        Place::Requirements("requirements-dev.txt".into()),
        "a new requirements file",
    )
}

/// `record_in = "pyproject.toml"`: the step's group (or extra) when it names one, else the
/// place in `pyproject.toml` that holds pytest.
fn explicit_pyproject(
    req: &Request<'_>,
    declared: &Declared,
    read: &dyn Fn(&str) -> Option<String>,
) -> (Place, String) {
    let Some(group) = req.group else {
        if req.extra {
            return (Place::Extra("dev".into()), "named by the step".into());
        }
        return auto(declared, true);
    };
    let text = read("pyproject.toml").unwrap_or_default();
    let poetry = !req.extra
        && super::poetry::is_poetry(&text)
        && !super::toml::has_table(&text, "dependency-groups");
    let key = super::requirements::normalize(group);
    let place = if req.extra {
        Place::Extra(group.to_string())
    } else if poetry
        && !declared.has(&Place::PoetryGroup(key))
        && declared.has(&Place::PoetryLegacyDev)
    {
        Place::PoetryLegacyDev
    } else if poetry {
        Place::PoetryGroup(group.to_string())
    } else {
        Place::Group(group.to_string())
    };
    (place, "named by the step".into())
}

/// Lower is preferred: the kind of place, then test-like names before others.
fn rank(place: &Place) -> (u8, u8, String) {
    let (kind, name) = match place {
        Place::Group(n) => (0, n.as_str()),
        Place::UvDev => (1, "dev"),
        Place::PoetryGroup(n) => (2, n.as_str()),
        Place::PoetryLegacyDev => (2, "dev"),
        Place::Extra(n) => (3, n.as_str()),
        Place::Requirements(f) => (4, f.as_str()),
        Place::Tox(s) => (5, s.as_str()),
        Place::Runtime | Place::Lock(_) => (9, ""),
    };
    let order = ["test", "tests", "testing", "dev"];
    let pos = order.iter().position(|o| *o == name).unwrap_or(order.len());
    (kind, pos as u8, name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |rel| list.iter().find(|(p, _)| *p == rel).map(|(_, t)| t.clone())
    }

    fn auto_of(list: Vec<(&'static str, String)>, packages: &[&str]) -> Placement {
        let packages: Vec<String> = packages.iter().map(|s| s.to_string()).collect();
        let req = Request {
            record_in: "auto",
            group: None,
            extra: false,
            packages: &packages,
        };
        place(&req, &files(list))
    }

    #[test]
    fn the_group_holding_pytest_wins_and_others_are_named() {
        let py = "[dependency-groups]\ndev = [{include-group = \"tests\"}, \"ruff\"]\ntests = [\"pytest>=8\"]\n";
        let p = auto_of(vec![("pyproject.toml", py.into())], &["pytest-xdist>=3.5"]);
        assert_eq!(p.file, "pyproject.toml");
        assert_eq!(p.target, array("dependency-groups", "tests".into()));
        assert_eq!(
            p.notes,
            ["pytest-xdist>=3.5 -> [dependency-groups].tests (holds pytest; also found: dev)"]
        );
    }

    #[test]
    fn poetry_groups_extras_requirements_and_tox_each_hold_pytest() {
        let cases: Vec<(&str, String, Target, &str)> = vec![
            (
                "pyproject.toml",
                "[tool.poetry]\nname='x'\n[tool.poetry.group.dev.dependencies]\nruff='*'\n[tool.poetry.group.test.dependencies]\npytest='^8'\n".into(),
                Target::Poetry { group: "test".into() },
                "pyproject.toml",
            ),
            (
                "pyproject.toml",
                "[tool.poetry]\nname='x'\n[tool.poetry.dev-dependencies]\npytest='^8'\n".into(),
                Target::Poetry { group: "dev".into() },
                "pyproject.toml",
            ),
            (
                "pyproject.toml",
                "[project]\nname='x'\n[project.optional-dependencies]\ntesting=['pytest']\n".into(),
                array("project.optional-dependencies", "testing".into()),
                "pyproject.toml",
            ),
            ("requirements/test.txt", "pytest\n".into(), Target::Requirements, "requirements/test.txt"),
            (
                "tox.ini",
                "[testenv]\ndeps =\n    pytest\ncommands = pytest\n".into(),
                Target::Tox { section: "testenv".into() },
                "tox.ini",
            ),
        ];
        for (file, text, target, edited) in cases {
            let p = auto_of(
                vec![
                    (file, text.clone()),
                    ("requirements-dev.txt", "black\n".into()),
                ],
                &["pytest-xdist"],
            );
            assert_eq!((p.target, p.file.as_str()), (target, edited), "{text}");
        }
    }

    #[test]
    fn declared_requirements_are_not_recorded_again() {
        let py = "[project]\nname='attrs'\n[dependency-groups]\ntests = [\"pytest\", \"Pytest_Xdist[psutil]\"]\ndev = [{include-group = \"tests\"}]\n";
        let lock = "version = 1\n[[package]]\nname = \"execnet\"\n";
        let p = auto_of(
            vec![("pyproject.toml", py.into()), ("uv.lock", lock.into())],
            &["pytest-xdist>=3.5", "execnet", "pytest-randomly"],
        );
        assert_eq!(p.packages, ["pytest-randomly"]);
        assert_eq!(
            p.notes,
            [
                "pytest-xdist>=3.5: already declared in [dependency-groups].tests (included by dev); not recorded again, no lock file touched",
                "execnet: already declared in uv.lock (resolved); not recorded again, no lock file touched",
                "pytest-randomly -> [dependency-groups].tests (holds pytest; also found: dev)",
            ]
        );
    }

    #[test]
    fn without_pytest_anywhere_the_old_rules_apply() {
        let p = auto_of(vec![], &["pytest"]);
        assert_eq!(
            (p.file.as_str(), p.target),
            ("requirements-dev.txt", Target::Requirements)
        );
        assert_eq!(
            p.notes,
            ["pytest -> requirements-dev.txt (nothing declares pytest; a new requirements file)"]
        );
        let p = auto_of(
            vec![("pyproject.toml", "[tool.poetry]\nname = 'x'\n".into())],
            &["pytest"],
        );
        assert_eq!(
            p.target,
            Target::Poetry {
                group: "dev".into()
            }
        );
    }

    #[test]
    fn an_explicit_pyproject_takes_the_steps_group_or_the_holder_of_pytest() {
        let py = "[tool.poetry]\nname='x'\n[tool.poetry.dev-dependencies]\npytest='^8'\n";
        let packages = vec!["pytest-xdist".to_string()];
        let read = files(vec![("sub/pyproject.toml", py.into())]);
        for group in [None, Some("dev")] {
            let req = Request {
                record_in: "sub/pyproject.toml",
                group,
                extra: false,
                packages: &packages,
            };
            let p = place(&req, &read);
            assert_eq!(p.file, "sub/pyproject.toml");
            assert_eq!(
                p.target,
                Target::Poetry {
                    group: "dev".into()
                }
            );
        }
        let req = Request {
            record_in: "sub/pyproject.toml",
            group: Some("docs"),
            extra: true,
            packages: &packages,
        };
        assert_eq!(
            place(&req, &read).target,
            array("project.optional-dependencies", "docs".into())
        );
    }
}
