//! Markers and budgets from the duration distribution: when a few medium and slow tests take
//! most of the time, marking the tests fast, medium or slow (the budgets plan's tiers, from the
//! seeds' unit < 0.1 s and integration < 2 s) gives a fast profile that runs the fast ones only.

use super::opportunity::{Kind, Opportunity, Saving};
use super::profile::Profile;

/// A test under this many seconds is fast (the budgets plan's `fast`).
pub const FAST: f64 = 0.1;
/// From this many seconds on a test is slow (the budgets plan's `slow`).
pub const SLOW: f64 = 1.0;

/// The tiers are named when the medium and slow tests are at most this share of the tests...
pub const FEW: f64 = 0.5;
/// ...and take at least this share of the tests' time.
pub const MOST: f64 = 0.5;

/// One profiled run's times put a test near a threshold in either tier when the apply measures
/// its median: the interval counts the tests this factor either side.
const MARGIN: f64 = 1.5;

/// How many tests are in each tier, and their seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tiers {
    /// Fast tests (under [`FAST`]) and their seconds.
    pub fast: (usize, f64),
    /// Medium tests.
    pub medium: (usize, f64),
    /// Slow tests (from [`SLOW`] on).
    pub slow: (usize, f64),
}

/// The tiers of `profile`'s tests with the thresholds scaled by `scale` (1: the plan's). A
/// test's time leaves out the session fixtures set up in its setup (pytest-django's database):
/// the fast profile sets them up too, in whichever test comes first.
pub fn tiers(profile: &Profile, scale: f64) -> Tiers {
    let mut t = Tiers::default();
    for test in &profile.tests {
        let s = (test.total() - test.session_setup).max(0.0);
        let tier = if s < FAST * scale {
            &mut t.fast
        } else if s < SLOW * scale {
            &mut t.medium
        } else {
            &mut t.slow
        };
        tier.0 += 1;
        tier.1 += s;
    }
    t
}

/// The markers opportunity, when a few tests take most of the time.
pub fn markers(profile: &Profile) -> Option<Opportunity> {
    let n = profile.tests.len();
    if n < 10 {
        return None;
    }
    let t = tiers(profile, 1.0);
    let (heavy, heavy_seconds) = (t.medium.0 + t.slow.0, t.medium.1 + t.slow.1);
    let test_seconds = profile.test_seconds().max(1e-9);
    if t.fast.0 == 0 || heavy as f64 > FEW * n as f64 || heavy_seconds < MOST * test_seconds {
        return None;
    }
    // The fast profile still starts pytest and collects every test; it runs the fast ones.
    let skipped = |scale: f64| {
        let t = tiers(profile, scale);
        t.medium.1 + t.slow.1
    };
    let noise = 1.0 - profile.noise();
    let saving = Saving {
        low: skipped(MARGIN) * noise.max(0.0),
        mid: heavy_seconds,
        high: skipped(1.0 / MARGIN) * (1.0 + profile.noise()),
    };
    Some(Opportunity {
        kind: Kind::Markers,
        title: format!(
            "mark the tests fast, medium or slow and run the {} fast ones while developing (pytest -m 'not medium and not slow')",
            t.fast.0
        ),
        evidence: vec![
            format!(
                "{} of {n} tests take {heavy_seconds:.2} s, {:.0}% of the tests' time: {} medium ({FAST} s to {SLOW} s, {:.2} s) and {} slow (over {SLOW} s, {:.2} s)",
                heavy,
                100.0 * heavy_seconds / test_seconds,
                t.medium.0,
                t.medium.1,
                t.slow.0,
                t.slow.1
            ),
            format!(
                "the other {} tests take {:.2} s: the fast profile would run in about {:.2} s instead of {:.2} s (the full suite is unchanged)",
                t.fast.0,
                t.fast.1,
                profile.wall - heavy_seconds,
                profile.wall
            ),
        ],
        saving,
        steps: vec![
            format!("mark: fast under {FAST} s, slow from {SLOW} s, from the baseline's medians; durations in .test-durations.json"),
            "write: TESTING.md with the run profiles (fast, default, full)".into(),
            "suite: the fast profile; gates: the full suite as green, the fast profile within the prediction, budgets as warnings".into(),
        ],
        fixture: None,
        share: Some(heavy_seconds / profile.wall.max(1e-9)),
        shape: None,
        workers: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::profile::TestTiming;

    /// The first of 20 fast database tests sets up pytest-django's database (4 s, a session
    /// fixture): it is no slow test, and there are no markers to gain, since the fast profile
    /// would build the database too.
    #[test]
    fn a_session_fixture_does_not_make_its_first_test_slow() {
        let mut tests: Vec<TestTiming> = (0..20)
            .map(|i| TestTiming {
                id: format!("tests/test_db.py::t{i}"),
                setup: 0.005,
                call: 0.01,
                outcome: "passed".into(),
                ..TestTiming::default()
            })
            .collect();
        tests[0].setup += 4.0;
        tests[0].session_setup = 4.0;
        let p = Profile {
            wall: 6.0,
            tests,
            ..Profile::default()
        };
        assert_eq!(tiers(&p, 1.0).slow, (0, 0.0));
        assert_eq!(tiers(&p, 1.0).fast.0, 20);
        assert!(markers(&p).is_none());
        // The same time in the test's own setup is a slow test.
        let mut own = p.clone();
        own.tests[0].session_setup = 0.0;
        assert_eq!(tiers(&own, 1.0).slow.0, 1);
    }
}
