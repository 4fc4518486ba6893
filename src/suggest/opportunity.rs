//! What one opportunity is: its kind, the known shape of an expensive fixture, the predicted
//! saving with its interval, and the evidence and steps that go with it.

use serde::Serialize;

use super::parallel::Prediction;

/// A function-scoped fixture is a candidate from this share of the wall time on.
pub const FIXTURE_SHARE: f64 = 0.10;

/// What kind of change an opportunity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Run the tests on several pytest-xdist workers.
    ParallelWorkers,
    /// Build a function-scoped fixture once per session.
    FixtureScope,
    /// Collect and import less.
    Collection,
    /// Measure coverage with a cheaper core.
    Coverage,
    /// Mark tests by their durations and run the fast ones while developing (the full suite is
    /// unchanged: ranked after the changes that make it faster).
    Markers,
}

/// A known shape of an expensive fixture, which a seed plan's pattern fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Connects to a SQLite database file it creates per test (seed 000).
    SqliteFile,
    /// Connects to PostgreSQL per test (seed 002, 004).
    Postgres,
    /// pytest-django's test database (`--reuse-db`, `--nomigrations`).
    Django,
    /// Creates a SQLAlchemy engine per test (seed 001's session engine).
    SqlalchemyEngine,
}

/// Seconds saved: the pessimistic end, the estimate, the optimistic end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Saving {
    /// The pessimistic end (may be negative: slower).
    pub low: f64,
    /// The estimate.
    pub mid: f64,
    /// The optimistic end.
    pub high: f64,
}

impl Saving {
    /// The saving with no end above `most` seconds.
    pub fn capped(self, most: f64) -> Saving {
        Saving {
            low: self.low.min(most),
            mid: self.mid.min(most),
            high: self.high.min(most),
        }
    }

    /// The speed-up the pessimistic end stands for, against `wall`.
    pub fn speedup_low(&self, wall: f64) -> f64 {
        wall / (wall - self.low).max(1e-9)
    }

    /// The speed-up of the estimate.
    pub fn speedup_mid(&self, wall: f64) -> f64 {
        wall / (wall - self.mid).max(1e-9)
    }
}

/// One thing to try.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opportunity {
    /// Its kind.
    pub kind: Kind,
    /// One line: what to change.
    pub title: String,
    /// What was measured that points at it.
    pub evidence: Vec<String>,
    /// The predicted saving in seconds.
    pub saving: Saving,
    /// The plan steps that would try it.
    pub steps: Vec<String>,
    /// The fixture's name, for a fixture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// The fixture's share of the wall time, for a fixture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// The fixture's known shape, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
    /// The prediction it stands on, for parallel workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<Prediction>,
}
