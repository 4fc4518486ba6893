//! What a project already declares, and where: its PEP 735 groups (with `include-group`), its
//! extras, its Poetry groups (the legacy `dev-dependencies` too), its requirements files, its tox
//! `deps`, and the packages its lock files resolve, all read without running anything.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, Item};

use super::format::strip_bom;
use super::pep508::Requirement;
use super::requirements::normalize;

/// Files that, in this order, are taken to hold a project's test or development requirements.
pub const REQUIREMENT_FILES: &[&str] = &[
    "requirements-dev.txt",
    "dev-requirements.txt",
    "requirements_dev.txt",
    "requirements/dev.txt",
    "requirements-test.txt",
    "requirements-tests.txt",
    "test-requirements.txt",
    "requirements_test.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "tests/requirements.txt",
];

/// Lock files whose `[[package]]` names are the project's resolved (transitive) requirements.
const LOCK_FILES: &[&str] = &["uv.lock", "poetry.lock", "pdm.lock"];

/// One place a project declares requirements; group and extra names are normalized, as PEP 735
/// and PEP 685 compare them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A PEP 735 group: `[dependency-groups].<name>`.
    Group(String),
    /// uv's legacy `[tool.uv].dev-dependencies`.
    UvDev,
    /// A Poetry group: `[tool.poetry.group.<name>.dependencies]`.
    PoetryGroup(String),
    /// Poetry's legacy `[tool.poetry.dev-dependencies]`.
    PoetryLegacyDev,
    /// An extra: `[project.optional-dependencies].<name>`.
    Extra(String),
    /// A requirements file, by its path in the target.
    Requirements(String),
    /// The `deps` of a tox environment, by its section (`testenv`, `testenv:py`).
    Tox(String),
    /// The project's own runtime dependencies (`[project].dependencies`,
    /// `[tool.poetry.dependencies]`).
    Runtime,
    /// A lock file's resolved packages (transitive requirements included).
    Lock(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Group(g) => write!(f, "[dependency-groups].{g}"),
            Place::UvDev => f.write_str("[tool.uv].dev-dependencies"),
            Place::PoetryGroup(g) => write!(f, "[tool.poetry.group.{g}.dependencies]"),
            Place::PoetryLegacyDev => f.write_str("[tool.poetry.dev-dependencies]"),
            Place::Extra(e) => write!(f, "[project.optional-dependencies].{e}"),
            Place::Requirements(file) => f.write_str(file),
            Place::Tox(section) => write!(f, "tox.ini [{section}] deps"),
            Place::Runtime => f.write_str("the project's own dependencies"),
            Place::Lock(file) => write!(f, "{file} (resolved)"),
        }
    }
}

/// Everything a project declares: for each place, the normalized names it lists directly, and
/// which other places of the same kind it includes (`include-group`, `proj[extra]`, `-r`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Each place in the order found, with the normalized names it lists itself.
    pub places: Vec<(Place, BTreeSet<String>)>,
    /// For a place, the places it includes.
    pub includes: BTreeMap<Place, Vec<Place>>,
    /// Whether `pyproject.toml` has a `[tool.poetry]` table.
    pub is_poetry: bool,
}

impl Declared {
    /// Reads the target's files through `read` (target-relative paths; `None` when absent or
    /// unreadable) and collects what they declare; files that do not parse declare nothing.
    pub fn scan(read: &dyn Fn(&str) -> Option<String>) -> Declared {
        let mut d = Declared::default();
        if let Some(text) = read("pyproject.toml") {
            if let Ok(doc) = strip_bom(&text).parse::<DocumentMut>() {
                d.pyproject(&doc);
            }
        }
        for file in REQUIREMENT_FILES {
            if let Some(text) = read(file) {
                d.requirements(file, &text);
            }
        }
        if let Some(text) = read("tox.ini") {
            d.tox(&text);
        }
        for file in LOCK_FILES {
            if let Some(text) = read(file) {
                let names = lock_names(&text);
                d.places.push((Place::Lock(file.to_string()), names));
            }
        }
        d
    }

    /// The places that list `name` themselves.
    pub fn direct(&self, name: &str) -> Vec<&Place> {
        let key = normalize(name);
        self.places
            .iter()
            .filter(|(_, names)| names.contains(&key))
            .map(|(p, _)| p)
            .collect()
    }

    /// The places that include `place`, directly or through others.
    pub fn included_by(&self, place: &Place) -> Vec<&Place> {
        let mut found: Vec<&Place> = Vec::new();
        let mut todo = vec![place];
        while let Some(p) = todo.pop() {
            for (outer, inner) in &self.includes {
                if inner.contains(p) && !found.contains(&outer) && outer != place {
                    found.push(outer);
                    todo.push(outer);
                }
            }
        }
        found.sort();
        found
    }

    /// Where `name` is already declared, said as the dry run says it (`[dependency-groups].tests
    /// (included by dev)`); `None` when nowhere. Declarations come before lock files.
    pub fn describe(&self, name: &str) -> Option<String> {
        let places = self.direct(name);
        let place = places
            .iter()
            .find(|p| !matches!(p, Place::Lock(_)))
            .or_else(|| places.first())?;
        let by: Vec<String> = self.included_by(place).iter().map(|p| short(p)).collect();
        Some(if by.is_empty() {
            place.to_string()
        } else {
            format!("{place} (included by {})", by.join(", "))
        })
    }

    /// Whether the project has this place at all.
    pub fn has(&self, place: &Place) -> bool {
        self.places.iter().any(|(p, _)| p == place)
    }

    fn pyproject(&mut self, doc: &DocumentMut) {
        let own = doc
            .get("project")
            .and_then(|p| p.get("name"))
            .and_then(Item::as_str)
            .map(normalize);
        if let Some(deps) = doc.get("project").and_then(|p| p.get("dependencies")) {
            self.array(Place::Runtime, deps, own.as_deref(), Place::Extra);
        }
        let extras = doc
            .get("project")
            .and_then(|p| p.get("optional-dependencies"))
            .and_then(Item::as_table_like);
        for (name, item) in extras.into_iter().flat_map(|t| t.iter()) {
            self.array(
                Place::Extra(normalize(name)),
                item,
                own.as_deref(),
                Place::Extra,
            );
        }
        let groups = doc.get("dependency-groups").and_then(Item::as_table_like);
        for (name, item) in groups.into_iter().flat_map(|t| t.iter()) {
            self.array(Place::Group(normalize(name)), item, None, Place::Extra);
        }
        if let Some(dev) = doc
            .get("tool")
            .and_then(|t| t.get("uv"))
            .and_then(|u| u.get("dev-dependencies"))
        {
            self.array(Place::UvDev, dev, None, Place::Extra);
        }
        let Some(poetry) = doc.get("tool").and_then(|t| t.get("poetry")) else {
            return;
        };
        self.is_poetry = true;
        let keys = |item: Option<&Item>| -> BTreeSet<String> {
            item.and_then(Item::as_table_like)
                .into_iter()
                .flat_map(|t| t.iter().map(|(k, _)| normalize(k)))
                .filter(|k| k != "python")
                .collect()
        };
        if let Some(main) = poetry.get("dependencies") {
            self.merge(Place::Runtime, keys(Some(main)));
        }
        if poetry.get("dev-dependencies").is_some() {
            self.merge(Place::PoetryLegacyDev, keys(poetry.get("dev-dependencies")));
        }
        let groups = poetry.get("group").and_then(Item::as_table_like);
        for (name, group) in groups.into_iter().flat_map(|t| t.iter()) {
            let place = Place::PoetryGroup(normalize(name));
            self.merge(place.clone(), keys(group.get("dependencies")));
            let inc = group.get("include-groups").and_then(Item::as_array);
            for inner in inc
                .into_iter()
                .flat_map(|a| a.iter())
                .filter_map(|v| v.as_str())
            {
                self.include(place.clone(), Place::PoetryGroup(normalize(inner)));
            }
        }
    }

    /// The strings of a PEP 508 array; `{include-group = "x"}` tables and `own[extra]` entries
    /// become includes (`Place::Group` and `extra` places).
    fn array(&mut self, place: Place, item: &Item, own: Option<&str>, extra: fn(String) -> Place) {
        let mut names = BTreeSet::new();
        let values = item.as_array().into_iter().flat_map(|a| a.iter());
        for value in values {
            if let Some(group) = value
                .as_inline_table()
                .and_then(|t| t.get("include-group"))
                .and_then(|g| g.as_str())
            {
                self.include(place.clone(), Place::Group(normalize(group)));
            } else if let Some(req) = value.as_str().and_then(Requirement::parse) {
                if own == Some(req.key().as_str()) {
                    for e in &req.extras {
                        self.include(place.clone(), extra(normalize(e)));
                    }
                } else {
                    names.insert(req.key());
                }
            }
        }
        self.merge(place, names);
    }

    fn requirements(&mut self, file: &str, text: &str) {
        let mut names = BTreeSet::new();
        let dir = std::path::Path::new(file)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if let Some(inc) = line
                .strip_prefix("-r")
                .or_else(|| line.strip_prefix("--requirement"))
            {
                let inc = inc.trim_start_matches('=').trim();
                let path = dir.join(inc).to_string_lossy().into_owned();
                self.include(
                    Place::Requirements(file.to_string()),
                    Place::Requirements(path),
                );
            } else if let Some(req) = Requirement::parse(line) {
                names.insert(req.key());
            }
        }
        self.merge(Place::Requirements(file.to_string()), names);
    }

    fn tox(&mut self, text: &str) {
        for (section, deps) in tox_deps(text) {
            let mut names = BTreeSet::new();
            for line in deps.lines().map(str::trim) {
                if let Some(inc) = line.strip_prefix("-r") {
                    let path = inc.trim().trim_start_matches("{toxinidir}/").to_string();
                    self.include(Place::Tox(section.clone()), Place::Requirements(path));
                } else if let Some(req) = Requirement::parse(line) {
                    names.insert(req.key());
                }
            }
            self.merge(Place::Tox(section), names);
        }
    }

    fn merge(&mut self, place: Place, names: BTreeSet<String>) {
        match self.places.iter_mut().find(|(p, _)| *p == place) {
            Some((_, have)) => have.extend(names),
            None => self.places.push((place, names)),
        }
    }

    fn include(&mut self, outer: Place, inner: Place) {
        let list = self.includes.entry(outer).or_default();
        if !list.contains(&inner) {
            list.push(inner);
        }
    }
}

/// A place's name in a list of others (`dev`, not `[dependency-groups].dev`).
pub fn short(place: &Place) -> String {
    match place {
        Place::Group(n) | Place::PoetryGroup(n) | Place::Extra(n) => n.clone(),
        other => other.to_string(),
    }
}

/// The `[[package]]` names of a uv, Poetry or PDM lock file.
fn lock_names(text: &str) -> BTreeSet<String> {
    let Ok(doc) = strip_bom(text).parse::<DocumentMut>() else {
        return BTreeSet::new();
    };
    doc.get("package")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|t| t.get("name").and_then(Item::as_str))
        .map(normalize)
        .collect()
}

/// The `deps` value of every `[testenv]`/`[testenv:x]` section of a tox.ini, continuation lines
/// joined by newlines.
pub fn tox_deps(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut section = String::new();
    let mut in_deps = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            in_deps = false;
            continue;
        }
        let is_env = section == "testenv" || section.starts_with("testenv:");
        let continued = line.starts_with([' ', '\t']) && !trimmed.is_empty();
        if in_deps && continued {
            if let Some((_, deps)) = out.last_mut() {
                deps.push('\n');
                deps.push_str(trimmed);
            }
            continue;
        }
        in_deps = false;
        if let Some((key, value)) = trimmed.split_once('=') {
            if is_env && key.trim() == "deps" && !line.starts_with([' ', '\t']) {
                in_deps = true;
                out.push((section.clone(), value.trim().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |rel| {
            list.iter()
                .find(|(p, _)| *p == rel)
                .map(|(_, t)| t.to_string())
        }
    }

    const ATTRS: &str = r#"[project]
name = "attrs"
dependencies = []
[project.optional-dependencies]
tests = ["attrs[cov]", "hypothesis"]
cov = ["coverage[toml]>=5.3"]
[dependency-groups]
tests = ["pytest>=8", "Pytest_Xdist[psutil]"]
dev = [{ include-group = "tests" }, "pre-commit"]
"#;

    #[test]
    fn groups_extras_and_includes_are_found() {
        let d = Declared::scan(&files(&[("pyproject.toml", ATTRS)]));
        assert_eq!(d.direct("pytest-xdist"), [&Place::Group("tests".into())]);
        assert_eq!(
            d.describe("pytest_xdist").as_deref(),
            Some("[dependency-groups].tests (included by dev)")
        );
        assert_eq!(
            d.describe("coverage").as_deref(),
            Some("[project.optional-dependencies].cov (included by tests)")
        );
        assert_eq!(d.describe("pytest-randomly"), None);
    }

    #[test]
    fn poetry_requirements_tox_and_locks_are_found() {
        let d = Declared::scan(&files(&[
            (
                "pyproject.toml",
                "[tool.poetry.dependencies]\npython = \"^3.9\"\nrich = \"*\"\n[tool.poetry.dev-dependencies]\npytest = \"^8\"\n[tool.poetry.group.lint.dependencies]\nruff = \"*\"\n",
            ),
            ("requirements/test.txt", "-r base.txt\npytest>=8  # runner\n"),
            ("tox.ini", "[tox]\nenvlist = py\n[testenv]\ndeps =\n    pytest-cov\n    -r requirements/test.txt\ncommands = pytest\n"),
            ("uv.lock", "version = 1\n[[package]]\nname = \"execnet\"\nversion = \"2.1\"\n"),
        ]));
        assert_eq!(
            d.direct("pytest"),
            [
                &Place::PoetryLegacyDev,
                &Place::Requirements("requirements/test.txt".into())
            ]
        );
        assert_eq!(d.direct("python"), Vec::<&Place>::new());
        assert_eq!(d.direct("ruff"), [&Place::PoetryGroup("lint".into())]);
        assert_eq!(d.direct("pytest-cov"), [&Place::Tox("testenv".into())]);
        assert_eq!(d.describe("execnet").as_deref(), Some("uv.lock (resolved)"));
        assert_eq!(
            d.included_by(&Place::Requirements("requirements/test.txt".into())),
            [&Place::Tox("testenv".into())]
        );
    }

    #[test]
    fn broken_files_declare_nothing() {
        let d = Declared::scan(&files(&[
            ("pyproject.toml", "[project\n"),
            ("uv.lock", "x = \n"),
        ]));
        assert_eq!(d.describe("pytest"), None);
    }
}
