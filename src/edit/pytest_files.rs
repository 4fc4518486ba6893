//! Which file pytest reads its configuration from, found with pytest's own rules
//! (`_pytest/config/findpaths.py`) for pytest 8 and pytest 9.

use toml_edit::{DocumentMut, Item};

use super::format;
use super::ini;

/// The kinds of file pytest reads its configuration from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `pytest.toml` (pytest 9): its `[pytest]` table, native TOML values; used even empty.
    PytestToml,
    /// `.pytest.toml` (pytest 9): like `pytest.toml`.
    DotPytestToml,
    /// `pytest.ini`: used even without a `[pytest]` section.
    PytestIni,
    /// `.pytest.ini`: like `pytest.ini`.
    DotPytestIni,
    /// `pyproject.toml` with the native `[tool.pytest]` table (pytest 9): native TOML values.
    PyprojectNative,
    /// `pyproject.toml` with `[tool.pytest.ini_options]`: strings or lists of strings.
    Pyproject,
    /// `tox.ini` with `[pytest]`.
    ToxIni,
    /// `setup.cfg` with `[tool:pytest]`.
    SetupCfg,
}

/// The pytest whose rules decide: the two differ in the files and tables they know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// pytest 8: `pytest.ini`, `.pytest.ini`, `[tool.pytest.ini_options]`, `tox.ini`, `setup.cfg`.
    Pytest8,
    /// pytest 9: pytest 8's files, with `pytest.toml` and `.pytest.toml` first and the native
    /// `[tool.pytest]` table in `pyproject.toml`.
    Pytest9,
}

impl Generation {
    /// The rules of pytest `version` (e.g. `8.4.2`): pytest 8's below 9, else pytest 9's
    /// (an unreadable version gets the newest rules).
    pub fn of_version(version: &str) -> Generation {
        match version
            .split('.')
            .next()
            .and_then(|major| major.trim().parse::<u32>().ok())
        {
            Some(major) if major < 9 => Generation::Pytest8,
            _ => Generation::Pytest9,
        }
    }

    /// The rules a requirement's specifiers (`==8.4.2`, `<9`, `~=8.3`, `>=8`) install under:
    /// pytest 8's when every version they allow is below 9, else the newest.
    pub fn of_specifiers(specifiers: &str) -> Generation {
        let below_nine = specifiers.split(',').map(str::trim).any(|spec| {
            let at = spec
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(spec.len());
            let (op, version) = spec.split_at(at);
            let parts: Vec<Option<u32>> = version.split('.').map(|p| p.parse().ok()).collect();
            let Some(Some(major)) = parts.first().copied() else {
                return false;
            };
            // `<9`, `<9.0`: nothing of 9 is allowed.
            let nine_excluded =
                major < 9 || (major == 9 && parts[1..].iter().all(|p| *p == Some(0)));
            match op.trim() {
                "==" | "===" | "<=" => major < 9,
                "<" => nine_excluded,
                "~=" => major < 9 && parts.len() >= 2,
                _ => false,
            }
        });
        if below_nine {
            Generation::Pytest8
        } else {
            Generation::Pytest9
        }
    }

    /// How the dry run names the rules: "pytest 8" or "pytest 9".
    pub fn name(self) -> &'static str {
        match self {
            Generation::Pytest8 => "pytest 8",
            Generation::Pytest9 => "pytest 9",
        }
    }
}

/// The file names pytest 9 tries in each directory, in its order (pytest 8 skips the first two).
const NAMES: [&str; 7] = [
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
];

impl ConfigKind {
    /// The file name, relative to the target.
    pub fn path(self) -> &'static str {
        match self {
            ConfigKind::PytestToml => "pytest.toml",
            ConfigKind::DotPytestToml => ".pytest.toml",
            ConfigKind::PytestIni => "pytest.ini",
            ConfigKind::DotPytestIni => ".pytest.ini",
            ConfigKind::PyprojectNative | ConfigKind::Pyproject => "pyproject.toml",
            ConfigKind::ToxIni => "tox.ini",
            ConfigKind::SetupCfg => "setup.cfg",
        }
    }

    /// The INI section pytest reads (`None` for the TOML forms).
    pub fn section(self) -> Option<&'static str> {
        match self {
            ConfigKind::PytestIni | ConfigKind::DotPytestIni | ConfigKind::ToxIni => Some("pytest"),
            ConfigKind::SetupCfg => Some("tool:pytest"),
            _ => None,
        }
    }

    /// The TOML table pytest reads (`None` for the INI forms).
    pub fn table(self) -> Option<&'static str> {
        match self {
            ConfigKind::PytestToml | ConfigKind::DotPytestToml => Some("pytest"),
            ConfigKind::PyprojectNative => Some("tool.pytest"),
            ConfigKind::Pyproject => Some("tool.pytest.ini_options"),
            _ => None,
        }
    }

    /// Whether pytest reads the values as native TOML (a list for `addopts`, a boolean for
    /// `strict`) rather than as INI strings.
    pub fn is_native(self) -> bool {
        matches!(
            self,
            ConfigKind::PytestToml | ConfigKind::DotPytestToml | ConfigKind::PyprojectNative
        )
    }

    /// How the dry run names the form, e.g. "pyproject.toml [tool.pytest]".
    pub fn describe(self) -> String {
        match (self.section(), self.table()) {
            (Some(s), _) => format!("{} [{s}]", self.path()),
            (_, Some(t)) => format!("{} [{t}]", self.path()),
            _ => self.path().to_string(),
        }
    }
}

/// The configuration file to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Target-relative file name.
    pub path: &'static str,
    /// Its format and section.
    pub kind: ConfigKind,
    /// False when no file qualified and `pytest.ini` is to be created.
    pub exists: bool,
}

/// Finds the file pytest 9 would read in the target's top directory; `read` gives a file's
/// content by target-relative name (`None` when missing). pytest 9's rules are pytest 8's with
/// forms pytest 8 ignores put first, so a project that holds one of them is a pytest 9 project.
pub fn locate(read: &dyn Fn(&str) -> Option<String>) -> Located {
    locate_for(read, Generation::Pytest9)
}

/// Finds the file `generation` would read: the first name of pytest's list that holds pytest
/// configuration, as pytest's `locate_config` does. When none does, `pytest.ini` is to be
/// created (a `pyproject.toml` without pytest's tables is pytest's rootdir marker only, and a
/// new `pytest.ini` beside it is what pytest then reads).
pub fn locate_for(read: &dyn Fn(&str) -> Option<String>, generation: Generation) -> Located {
    let names = match generation {
        Generation::Pytest8 => &NAMES[2..],
        Generation::Pytest9 => &NAMES[..],
    };
    for name in names {
        let Some(text) = read(name) else {
            continue;
        };
        if let Some(kind) = qualifies(name, &text, generation) {
            return Located {
                path: kind.path(),
                kind,
                exists: true,
            };
        }
    }
    Located {
        path: ConfigKind::PytestIni.path(),
        kind: ConfigKind::PytestIni,
        exists: false,
    }
}

/// The form `name` holds when pytest would take its configuration from it.
fn qualifies(name: &str, text: &str, generation: Generation) -> Option<ConfigKind> {
    match name {
        "pytest.toml" => Some(ConfigKind::PytestToml),
        ".pytest.toml" => Some(ConfigKind::DotPytestToml),
        "pytest.ini" => Some(ConfigKind::PytestIni),
        ".pytest.ini" => Some(ConfigKind::DotPytestIni),
        "pyproject.toml" => pyproject_form(text, generation),
        "tox.ini" => ini::has_section(text, "pytest")
            .unwrap_or(false)
            .then_some(ConfigKind::ToxIni),
        "setup.cfg" => ini::has_section(text, "tool:pytest")
            .unwrap_or(false)
            .then_some(ConfigKind::SetupCfg),
        _ => None,
    }
}

/// pytest 9 reads `[tool.pytest]` when it holds anything besides `ini_options`, else
/// `[tool.pytest.ini_options]` when present (even empty); pytest 8 only the latter.
fn pyproject_form(text: &str, generation: Generation) -> Option<ConfigKind> {
    let doc: DocumentMut = format::strip_bom(text).parse().ok()?;
    let tool_pytest = doc.get("tool")?.as_table_like()?.get("pytest")?;
    let tool_pytest = tool_pytest.as_table_like()?;
    let native = tool_pytest
        .iter()
        .any(|(key, item)| key != "ini_options" && !matches!(item, Item::None));
    if native && generation == Generation::Pytest9 {
        return Some(ConfigKind::PyprojectNative);
    }
    tool_pytest
        .contains_key("ini_options")
        .then_some(ConfigKind::Pyproject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_version_chooses_the_rules() {
        assert_eq!(Generation::of_version("8.4.2"), Generation::Pytest8);
        assert_eq!(Generation::of_version("7.0.0rc1"), Generation::Pytest8);
        assert_eq!(Generation::of_version("9.0.0"), Generation::Pytest9);
        assert_eq!(Generation::of_version("10.1"), Generation::Pytest9);
        assert_eq!(Generation::of_version("dev"), Generation::Pytest9);
    }

    #[test]
    fn a_pin_below_nine_chooses_pytest_8s_rules() {
        for spec in [
            "==8.4.2", "<9", "<9.0", ">=8,<9", "~=8.3", "<=8.4", "== 8.*",
        ] {
            assert_eq!(
                Generation::of_specifiers(spec),
                Generation::Pytest8,
                "{spec}"
            );
        }
        for spec in ["", ">=8", "==9.0.0", "<9.1", "~=8", "<10", ">=7,!=8.0"] {
            assert_eq!(
                Generation::of_specifiers(spec),
                Generation::Pytest9,
                "{spec}"
            );
        }
    }

    fn files(list: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            list.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.to_string())
        }
    }

    #[test]
    fn locate_follows_pytests_order() {
        let all = files(&[
            ("setup.cfg", "[tool:pytest]\n"),
            ("tox.ini", "[pytest]\n"),
            ("pyproject.toml", "[tool.pytest.ini_options]\n"),
            ("pytest.ini", "# no section at all\n"),
        ]);
        assert_eq!(
            locate(&all),
            Located {
                path: "pytest.ini",
                kind: ConfigKind::PytestIni,
                exists: true
            }
        );
        let cfgs = files(&[
            ("setup.cfg", "[tool:pytest]\n"),
            ("tox.ini", "[tox]\n"),
            ("pyproject.toml", "[project]\n"),
        ]);
        assert_eq!(locate(&cfgs).kind, ConfigKind::SetupCfg);
        let tox = files(&[("setup.cfg", "[tool:pytest]\n"), ("tox.ini", "[pytest]\n")]);
        assert_eq!(locate(&tox).kind, ConfigKind::ToxIni);
        assert_eq!(locate(&files(&[(".pytest.ini", "")])).path, ".pytest.ini");
        let none = locate(&files(&[
            ("pyproject.toml", "[tool.black]\n"),
            ("setup.cfg", "[metadata]\n"),
        ]));
        assert_eq!(
            none,
            Located {
                path: "pytest.ini",
                kind: ConfigKind::PytestIni,
                exists: false
            }
        );
    }

    #[test]
    fn pytest_9_forms_come_first_and_pytest_8_ignores_them() {
        let both = files(&[
            ("pytest.ini", "[pytest]\n"),
            ("pytest.toml", "# empty: still pytest's file\n"),
        ]);
        assert_eq!(locate(&both).kind, ConfigKind::PytestToml);
        assert_eq!(
            locate_for(&both, Generation::Pytest8).kind,
            ConfigKind::PytestIni
        );
        let dot = files(&[(".pytest.toml", "[pytest]\n"), ("tox.ini", "[pytest]\n")]);
        assert_eq!(locate(&dot).path, ".pytest.toml");
        assert_eq!(
            locate_for(&dot, Generation::Pytest8).kind,
            ConfigKind::ToxIni
        );
    }

    #[test]
    fn pyproject_native_table_is_read_by_pytest_9_only() {
        let native = files(&[
            ("pyproject.toml", "[tool.pytest]\nstrict = true\n"),
            ("tox.ini", "[pytest]\n"),
        ]);
        let found = locate(&native);
        assert_eq!(found.kind, ConfigKind::PyprojectNative);
        assert_eq!(found.kind.describe(), "pyproject.toml [tool.pytest]");
        assert_eq!(
            locate_for(&native, Generation::Pytest8).kind,
            ConfigKind::ToxIni
        );
        // Dotted keys under [tool] are the same table.
        let dotted = files(&[("pyproject.toml", "[tool]\npytest.addopts = [\"-q\"]\n")]);
        assert_eq!(locate(&dotted).kind, ConfigKind::PyprojectNative);
        // An empty [tool.pytest] is not configuration; ini_options inside it still is.
        let empty = files(&[("pyproject.toml", "[tool.pytest]\n")]);
        assert!(!locate(&empty).exists);
        let ini = files(&[(
            "pyproject.toml",
            "[tool.pytest]\n[tool.pytest.ini_options]\n",
        )]);
        assert_eq!(locate(&ini).kind, ConfigKind::Pyproject);
        assert_eq!(
            locate_for(&ini, Generation::Pytest8).kind,
            ConfigKind::Pyproject
        );
    }
}
