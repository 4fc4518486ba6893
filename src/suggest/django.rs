//! pytest-django's test database: created (and migrated) by the session fixture
//! `django_db_setup` on every run unless `--reuse-db` keeps it, and built by running every
//! migration unless `--nomigrations` builds it from the models. Each option is suggested only
//! where it can work: `--reuse-db` not for a test database in memory (SQLite's default, which
//! no run can keep), `--nomigrations` not when the repository's migrations insert rows (data
//! migrations), which a database built from the models lacks.

use serde_json::Value;

use super::opportunity::{Kind, Opportunity, Saving, Shape, FIXTURE_SHARE};
use super::profile::{DjangoDatabase, Profile};

/// The session fixture that creates the test database.
pub const SETUP: &str = "django_db_setup";

/// The share of the database's set-up the options save: the pessimistic end, the estimate,
/// the optimistic end. A reused database still has its migrations checked and Django's
/// post-migrate signal run (content types, permissions); one built from the models still has
/// its tables created. On the Django demo `--reuse-db` took the set-up from 4.7 s to 0.3-1.0 s,
/// `--nomigrations` (with the demo's data migrations, which broke tests) to 1.4 s.
pub const SAVES: (f64, f64, f64) = (0.5, 0.8, 0.95);

/// The plugin's `django_db` record.
pub fn database(v: &Value) -> DjangoDatabase {
    DjangoDatabase {
        in_memory: v["databases"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["memory"].as_bool() == Some(true)),
        data_migrations: v["data_migrations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect(),
    }
}

/// Which of the two options the run lacked and would help, and why each other lacking one
/// would not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The options to add, in addopts order.
    pub add: Vec<&'static str>,
    /// Options the run lacked that are left out, each with its reason.
    pub left_out: Vec<String>,
}

/// The options for a run under pytest-django; `None` without pytest-django.
pub fn options(profile: &Profile) -> Option<Options> {
    let django = profile.django?;
    let db = profile.django_db.as_ref();
    let mut o = Options::default();
    if !django.reuse_db {
        if db.is_some_and(|d| d.in_memory) {
            o.left_out.push(
                "--reuse-db: the test database lives in memory (SQLite's default test database), which no run can keep; give it a file (`DATABASES[alias][\"TEST\"][\"NAME\"]`) to make it reusable".into(),
            );
        } else {
            o.add.push("--reuse-db");
        }
    }
    if !django.nomigrations {
        match db.map(|d| d.data_migrations.as_slice()) {
            Some(data) if !data.is_empty() => o.left_out.push(format!(
                "--nomigrations: {} of the repository's migrations insert or change rows ({}), which a database built from the models would lack",
                data.len(),
                names(data)
            )),
            _ => o.add.push("--nomigrations"),
        }
    }
    Some(o)
}

/// At most three names, then how many more.
fn names(all: &[String]) -> String {
    let mut text = all.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > 3 {
        text.push_str(&format!(" and {} more", all.len() - 3));
    }
    text
}

/// The database's set-up in the run: how many times, and its seconds.
fn setup(profile: &Profile) -> (u64, f64) {
    profile
        .fixtures
        .iter()
        .filter(|f| f.name == SETUP)
        .fold((0, 0.0), |(n, s), f| (n + f.count, s + f.seconds))
}

/// The opportunity, when pytest-django ran the suite without an option that would help and its
/// database's set-up is a large share of the run.
pub fn reuse_db(profile: &Profile) -> Option<Opportunity> {
    let options = options(profile)?;
    let wall = profile.wall.max(1e-9);
    let (count, seconds) = setup(profile);
    if count == 0 || seconds / wall < FIXTURE_SHARE || options.add.is_empty() {
        return None;
    }
    let reuse = options.add.contains(&"--reuse-db");
    let nomigrations = options.add.contains(&"--nomigrations");
    let noise = profile.noise();
    let mut evidence = vec![
        format!(
            "`{SETUP}` (session scope, pytest-django) was set up {count} time(s): {seconds:.2} s, {:.0}% of the run, creating and migrating the test database",
            100.0 * seconds / wall
        ),
        format!("the run had no {}", options.add.join(" and no ")),
    ];
    evidence.extend(options.left_out.iter().map(|why| format!("left out {why}")));
    let mut steps = vec![
        format!("pytest-config: addopts += {}", options.add.join(" ")),
        if reuse {
            "suite: one whole run to create the database, then measure again".into()
        } else {
            "suite: measure again".into()
        },
    ];
    if nomigrations {
        steps.push(
            "keep a CI job with --create-db and the migrations (--nomigrations hides a broken one)"
                .into(),
        );
    }
    if reuse {
        steps.push("run once with --create-db after changing a migration that already ran (or switching to a branch with other migrations): a kept database gets new migrations, not changed ones".into());
    }
    Some(Opportunity {
        kind: Kind::FixtureScope,
        title: match (reuse, nomigrations) {
            (true, true) => "keep pytest-django's test database between runs and build it from the models (--reuse-db --nomigrations)".into(),
            (true, false) => "keep pytest-django's test database between runs (--reuse-db)".into(),
            _ => "build pytest-django's test database from the models, not its migrations (--nomigrations)".into(),
        },
        evidence,
        saving: Saving {
            low: seconds * SAVES.0 * (1.0 - noise).max(0.0),
            mid: seconds * SAVES.1,
            high: seconds * SAVES.2 * (1.0 + noise),
        },
        steps,
        fixture: Some(SETUP.into()),
        share: Some(seconds / wall),
        shape: Some(Shape::Django),
        workers: None,
    })
}

/// A note when the database's set-up is a large share of the run but neither option can help.
/// None when the run had `--reuse-db`: its database may have been created by that very run.
pub fn note(profile: &Profile) -> Option<String> {
    if profile.django?.reuse_db {
        return None;
    }
    let options = options(profile)?;
    let (count, seconds) = setup(profile);
    let share = seconds / profile.wall.max(1e-9);
    if count == 0 || share < FIXTURE_SHARE || !options.add.is_empty() || options.left_out.is_empty()
    {
        return None;
    }
    Some(format!(
        "pytest-django's test database takes {seconds:.2} s ({:.0}% of the run) to create, and neither of its options applies: {}",
        100.0 * share,
        options.left_out.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::profile::{DjangoUse, FixtureTiming};

    /// A run of 10 s whose database took 4 s, with pytest-django's `options`.
    fn profile(reuse_db: bool, nomigrations: bool, db: Option<DjangoDatabase>) -> Profile {
        Profile {
            wall: 10.0,
            django: Some(DjangoUse {
                reuse_db,
                nomigrations,
            }),
            django_db: db,
            fixtures: vec![FixtureTiming {
                name: SETUP.into(),
                scope: "session".into(),
                defined_in: String::new(),
                count: 1,
                seconds: 4.0,
            }],
            ..Profile::default()
        }
    }

    fn db(in_memory: bool, data: &[&str]) -> Option<DjangoDatabase> {
        Some(DjangoDatabase {
            in_memory,
            data_migrations: data.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn the_plugins_record_is_read() {
        let v: Value = serde_json::from_str(
            r#"{"databases": [{"alias": "default", "vendor": "sqlite", "memory": false}, {"alias": "other", "vendor": "sqlite", "memory": true}], "data_migrations": ["shop.0004_seed"]}"#,
        )
        .unwrap();
        assert_eq!(database(&v), db(true, &["shop.0004_seed"]).unwrap());
        assert_eq!(database(&serde_json::json!({})), DjangoDatabase::default());
    }

    /// Without what the run left to see (an older plugin), both options, as before.
    #[test]
    fn both_options_when_nothing_rules_one_out() {
        let o = reuse_db(&profile(false, false, db(false, &[]))).unwrap();
        assert_eq!(
            o.steps[0],
            "pytest-config: addopts += --reuse-db --nomigrations"
        );
        assert_eq!(
            options(&profile(false, false, None)).unwrap().add,
            ["--reuse-db", "--nomigrations"]
        );
    }

    /// The Django demo's case: data migrations seed rows its tests read, so only --reuse-db.
    #[test]
    fn data_migrations_leave_out_nomigrations() {
        let p = profile(
            false,
            false,
            db(false, &["shop.0004_seed_currencies", "shop.0008_backfill"]),
        );
        let o = reuse_db(&p).unwrap();
        assert_eq!(
            o.title,
            "keep pytest-django's test database between runs (--reuse-db)"
        );
        assert_eq!(o.steps[0], "pytest-config: addopts += --reuse-db");
        assert!(
            !o.steps.iter().any(|s| s.contains("--nomigrations")),
            "{:?}",
            o.steps
        );
        assert!(o.evidence.contains(&"left out --nomigrations: 2 of the repository's migrations insert or change rows (shop.0004_seed_currencies, shop.0008_backfill), which a database built from the models would lack".to_string()), "{:?}", o.evidence);
        assert_eq!(note(&p), None);
    }

    /// SQLite's default test database in memory: --reuse-db cannot keep it.
    #[test]
    fn a_database_in_memory_leaves_out_reuse_db() {
        let o = reuse_db(&profile(false, false, db(true, &[]))).unwrap();
        assert_eq!(
            o.steps[..2],
            [
                "pytest-config: addopts += --nomigrations",
                "suite: measure again"
            ]
        );
        assert!(o
            .evidence
            .iter()
            .any(|e| e.starts_with("left out --reuse-db: the test database lives in memory")));
    }

    /// In memory and with data migrations: no option applies, and a note says why.
    #[test]
    fn neither_option_applies_and_a_note_says_so() {
        let p = profile(false, false, db(true, &["a.0002_rows"]));
        assert!(reuse_db(&p).is_none());
        let text = note(&p).unwrap();
        assert!(text.starts_with("pytest-django's test database takes 4.00 s (40% of the run) to create, and neither of its options applies: --reuse-db: "), "{text}");
        assert!(text.contains("; --nomigrations: 1 of the repository's migrations insert or change rows (a.0002_rows)"), "{text}");
        // Already reused and left with migrations: nothing lacking that would help, no note.
        assert_eq!(
            note(&profile(true, false, db(false, &["a.0002_rows"]))),
            None
        );
    }

    #[test]
    fn more_than_three_data_migrations_are_counted() {
        let all: Vec<String> = (1..=5).map(|i| format!("a.000{i}")).collect();
        assert_eq!(names(&all), "a.0001, a.0002, a.0003 and 2 more");
    }
}
