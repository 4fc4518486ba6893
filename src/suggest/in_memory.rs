//! What moving a per-test SQLite file database into memory, built once per session and copied
//! per test (the persistence demo's pattern), saves, from the CPU the profile saw. Pure.
//!
//! On a file, every commit waits for the disk (`synchronous = FULL`: an fsync each), in the
//! fixture's migrations and equally in the test bodies and in the fixtures that insert rows;
//! in memory none of them waits. What stays is CPU: the tests' own, one build of the template,
//! and a page copy per test. So the tests that used the fixture keep the CPU time they
//! wanted (their CPU seconds over the share of a CPU the process got while it wanted one: on
//! a busy machine that share is small, and the CPU-bound rest costs its wait for a CPU again)
//! less the repeated builds' CPU; everything else they spent, waiting, is saved. Counting
//! only the fixture's own builds, as the model for other fixtures does, left the bodies'
//! and the other fixtures' durable commits and one file build in the prediction: it predicted
//! 3.8x to 4.8x where `planrun apply` measured 8.8x to 16.4x.

use std::collections::BTreeSet;

use super::opportunity::Saving;
use super::profile::{FixtureTiming, Profile};

/// Built once per session, the template still costs a page copy per test: the estimate saves
/// this share of the repeated builds' CPU (on the persistence demo a copy took 4.5 ms of CPU
/// beside 430 ms for a build: about 1%; 2% leaves room for larger databases).
pub const KEPT_BUILDS_CPU: f64 = 0.98;

/// The pessimistic end saves half of what the estimate counts: half the waits and half the
/// repeated builds' CPU.
pub const KEPT_LOW: f64 = 0.5;

/// The figures the saving comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The saving.
    pub saving: Saving,
    /// Seconds the tests that used the fixture took.
    pub wall: f64,
    /// Seconds of those they wanted a CPU (their CPU over the share of one they got).
    pub wanted: f64,
    /// Seconds the fixture's builds wanted a CPU.
    pub builds: f64,
}

impl Estimate {
    /// One line of evidence: where the saving comes from.
    pub fn evidence(&self) -> String {
        format!(
            "the tests that used it took {:.2} s and wanted a CPU for {:.2} s of them ({:.2} s of it in the fixture's builds); in memory their {:.2} s of waiting on the database file goes, and all but one build's CPU",
            self.wall,
            self.wanted,
            self.builds,
            (self.wall - self.wanted).max(0.0)
        )
    }
}

/// The saving of fixture `f` moved into memory, for the tests `users` (every test when
/// `None`); `None` when the profile lacks the CPU of one of those tests or of the fixture
/// (a plugin without CPU figures), and the caller keeps its wall-time model.
pub fn estimate(
    profile: &Profile,
    f: &FixtureTiming,
    users: Option<&BTreeSet<String>>,
) -> Option<Estimate> {
    if f.count == 0 {
        return None;
    }
    let share = profile.sched.and_then(|s| s.share()).unwrap_or(1.0);
    let (mut wall, mut wanted) = (0.0, 0.0);
    for t in profile
        .tests
        .iter()
        .filter(|t| users.is_none_or(|u| u.contains(&t.id)))
    {
        wall += t.total();
        wanted += t.cpu? / share;
    }
    let wanted = f64::min(wanted, wall);
    let builds = f.seconds.min(profile.fixture_cpu.get(&f.name)? / share);
    let one = builds / f.count as f64;
    let repeated = builds - one;
    // What the tests waited for, beyond the CPU they wanted: the disk, mostly.
    let waits = (wall - wanted).max(0.0);
    let noise = profile.noise();
    let mid = waits + repeated * KEPT_BUILDS_CPU;
    Some(Estimate {
        saving: Saving {
            low: (waits + repeated) * KEPT_LOW * (1.0 - noise).max(0.0),
            mid,
            high: (wall - one).max(mid) * (1.0 + noise),
        },
        wall,
        wanted,
        builds,
    })
}

#[cfg(test)]
#[path = "in_memory_tests.rs"]
mod tests;
