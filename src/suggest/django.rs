//! pytest-django's test database: created (and migrated) by the session fixture
//! `django_db_setup` on every run unless `--reuse-db` keeps it, and built by running every
//! migration unless `--nomigrations` builds it from the models.

use super::opportunity::{Kind, Opportunity, Saving, Shape, FIXTURE_SHARE};
use super::profile::Profile;

/// The session fixture that creates the test database.
pub const SETUP: &str = "django_db_setup";

/// The share of the database's set-up the two options save: the pessimistic end, the estimate,
/// the optimistic end. A reused database still has its migrations checked (or its tables
/// synced), and every test's transaction stays.
pub const SAVES: (f64, f64, f64) = (0.5, 0.8, 0.95);

/// The opportunity, when pytest-django ran the suite without both options and its database's
/// set-up is a large share of the run.
pub fn reuse_db(profile: &Profile) -> Option<Opportunity> {
    let django = profile.django?;
    if django.reuse_db && django.nomigrations {
        return None;
    }
    let wall = profile.wall.max(1e-9);
    let (count, seconds) = profile
        .fixtures
        .iter()
        .filter(|f| f.name == SETUP)
        .fold((0, 0.0), |(n, s), f| (n + f.count, s + f.seconds));
    if count == 0 || seconds / wall < FIXTURE_SHARE {
        return None;
    }
    let missing: Vec<&str> = [
        (!django.reuse_db).then_some("--reuse-db"),
        (!django.nomigrations).then_some("--nomigrations"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let noise = profile.noise();
    Some(Opportunity {
        kind: Kind::FixtureScope,
        title: format!(
            "keep pytest-django's test database between runs and build it from the models ({})",
            missing.join(" ")
        ),
        evidence: vec![
            format!(
                "`{SETUP}` (session scope, pytest-django) was set up {count} time(s): {seconds:.2} s, {:.0}% of the run, creating and migrating the test database",
                100.0 * seconds / wall
            ),
            format!("the run had no {}", missing.join(" and no ")),
        ],
        saving: Saving {
            low: seconds * SAVES.0 * (1.0 - noise).max(0.0),
            mid: seconds * SAVES.1,
            high: seconds * SAVES.2 * (1.0 + noise),
        },
        steps: vec![
            format!("pytest-config: addopts += {}", missing.join(" ")),
            "suite: one whole run to create the database, then measure again".into(),
            "keep a CI job with --create-db and the migrations (--nomigrations hides a broken one)"
                .into(),
        ],
        fixture: Some(SETUP.into()),
        share: Some(seconds / wall),
        shape: Some(Shape::Django),
        workers: None,
    })
}
