//! The plans planrun ships: the files of `plans/` built into the binary, so an installed
//! planrun (a wheel has no data files beside it) can list them and write one into a repository.

/// One bundled plan: its name, its text, and the templates it writes (paths relative to the
/// plan file, as its `write` steps name them).
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The plan's file name without `.toml`.
    pub name: &'static str,
    /// The plan file.
    pub text: &'static str,
    /// `(path relative to the plan, content)` of each template it uses.
    pub templates: &'static [(&'static str, &'static str)],
    /// For an example, the demo repository of planrun's `examples/` it is made for (its
    /// feature flag, its conftest); `None` for a plan that fits any pytest repository.
    pub example: Option<&'static str>,
}

/// Every plan in `plans/` (a test checks that none is missing).
pub const PLANS: &[Bundled] = &[
    Bundled {
        name: "persistence-demo",
        text: include_str!("../../plans/persistence-demo.toml"),
        templates: &[(
            "templates/persistence/conftest.py",
            include_str!("../../plans/templates/persistence/conftest.py"),
        )],
        example: Some("persistence-demo"),
    },
    Bundled {
        name: "xdist",
        text: include_str!("../../plans/xdist.toml"),
        templates: &[],
        example: None,
    },
    Bundled {
        name: "xdist-isolation-demo",
        text: include_str!("../../plans/xdist-isolation-demo.toml"),
        templates: &[],
        example: Some("locator-demo"),
    },
    Bundled {
        name: "budgets",
        text: include_str!("../../plans/budgets.toml"),
        templates: &[(
            "templates/budgets/TESTING.md",
            include_str!("../../plans/templates/budgets/TESTING.md"),
        )],
        example: None,
    },
    Bundled {
        name: "budgets-warn",
        text: include_str!("../../plans/budgets-warn.toml"),
        templates: &[(
            "templates/budgets/TESTING.md",
            include_str!("../../plans/templates/budgets/TESTING.md"),
        )],
        example: None,
    },
    Bundled {
        name: "shards",
        text: include_str!("../../plans/shards.toml"),
        templates: &[],
        example: None,
    },
    Bundled {
        name: "backend-demo",
        text: include_str!("../../plans/backend-demo.toml"),
        // The service script is no `write` template, but the plan runs it from beside itself.
        templates: &[
            (
                "templates/backend/conftest.1-session-roles.py",
                include_str!("../../plans/templates/backend/conftest.1-session-roles.py"),
            ),
            (
                "templates/backend/conftest.2-session-schema.py",
                include_str!("../../plans/templates/backend/conftest.2-session-schema.py"),
            ),
            (
                "templates/backend/conftest.3-transaction.py",
                include_str!("../../plans/templates/backend/conftest.3-transaction.py"),
            ),
            (
                "templates/backend/conftest.4-worker-databases.py",
                include_str!("../../plans/templates/backend/conftest.4-worker-databases.py"),
            ),
            (
                "templates/backend/postgres.sh",
                include_str!("../../plans/templates/backend/postgres.sh"),
            ),
        ],
        example: Some("backend-demo"),
    },
    Bundled {
        name: "coverage-sysmon",
        text: include_str!("../../plans/coverage-sysmon.toml"),
        templates: &[],
        example: None,
    },
    Bundled {
        name: "django-reuse-db",
        text: include_str!("../../plans/django-reuse-db.toml"),
        templates: &[],
        example: None,
    },
];

/// The bundled plan called `name`.
pub fn find(name: &str) -> Option<&'static Bundled> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    PLANS.iter().find(|p| p.name == name)
}

impl Bundled {
    /// The plan's `description`, read from its text.
    pub fn description(&self) -> String {
        toml::from_str::<toml::Table>(self.text)
            .ok()
            .and_then(|t| t.get("description")?.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The plan as written into a repository: its `#:schema` line pointing at `schema` and its
    /// `default_target` at `target` (both relative to the plan's directory).
    pub fn for_repository(&self, schema: &str, target: &str) -> String {
        let mut out = String::with_capacity(self.text.len());
        for line in self.text.lines() {
            if line.starts_with("#:schema ") {
                out.push_str(&format!("#:schema {schema}"));
            } else if line.starts_with("default_target = ") {
                out.push_str(&format!("default_target = {}", toml_string(target)));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn files_under(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, base, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }

    /// Adding a plan or a template to plans/ without bundling it fails here.
    #[test]
    fn every_file_of_plans_is_bundled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
        let mut files = Vec::new();
        files_under(&root, &root, &mut files);
        files.sort();
        let mut bundled: Vec<String> = PLANS
            .iter()
            .flat_map(|p| {
                std::iter::once(format!("{}.toml", p.name))
                    .chain(p.templates.iter().map(|(rel, _)| rel.to_string()))
            })
            .collect();
        bundled.sort();
        // Two plans may share a template.
        bundled.dedup();
        assert_eq!(files, bundled);
    }

    #[test]
    fn a_written_plan_points_at_the_repository() {
        let xdist = find("xdist.toml").unwrap();
        assert!(xdist.description().starts_with("Run the suite in parallel"));
        let text = xdist.for_repository("plan.schema.json", "..");
        assert!(text.starts_with("#:schema plan.schema.json\n"), "{text}");
        assert!(text.contains("\ndefault_target = \"..\"\n"), "{text}");
        assert_eq!(text.lines().count(), xdist.text.lines().count());
        assert!(find("nope").is_none());
    }
}
