//! Measuring a suite in interleaved pairs with the record measured before the changes it
//! follows: the journal switches the target between the two states, each pair runs one suite in
//! each state back to back in a random order (AB or BA, seeded), and both records grow by a run
//! per pair until the gates that compare them are settled. Where a step between the two
//! records cannot be switched exactly, the suite is measured on its own, as before, and the
//! record says `sequential` and why.
//!
//! Warmup: the suite's `warmup` runs are taken once, in the after state, before the first pair
//! (the earlier record had its own). A switch rewrites only the paths the changes touched and
//! leaves bytecode and pytest caches alone, so what a warmup warms survives it; and both runs of
//! every pair follow a switch alike, so what a switch costs the next run cancels in the ratio.
//!
//! The first pair's `A`: the earlier record's last run, when it ended at most [`REUSE_GAP_SHARE`]
//! of its wall time before the first pair starts (only switchable steps and the warmup between),
//! rather than a fresh run of it in the before state right after it was measured.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::exec::context::{Partner, StepContext};
use crate::exec::events::{Event, NewRecord, StepError};
use crate::exec::gates;
use crate::exec::outcome::Detail;
use crate::exec::setup::Prepared;
use crate::journal::switch::{State, Switcher};
use crate::measure::record::{Comparison, PairSlot, Record, RunResult, INTERLEAVED, SEQUENTIAL};
use crate::measure::stats::{self, Summary};
use crate::measure::suite::{self, SuiteSpec};
use crate::plan::compiled::Suite;

/// How long after the earlier record's last run ended the first pair may start and still take
/// that run as its `A`, as a share of the run's own wall time: a fresh pair's two runs start one
/// run apart, so a gap of a tenth of it widens the span that drift acts on by at most a tenth.
pub const REUSE_GAP_SHARE: f64 = 0.10;

/// The environment variable that fixes the seed of the pairs' order (a decimal u64), so an
/// apply can be repeated run for run.
pub const SEED_ENV: &str = "PLANRUN_SEED";

/// Why the steps `since` a record cannot be switched across, naming the first that cannot.
///
/// An `install` is not among them: into an environment that existed at the earlier record
/// (made by the plan before it, or not), the journal's snapshot switches it; a venv created
/// between the two records the journal itself refuses to switch across.
pub fn unswitchable(prep: &Prepared, since: &[String]) -> Option<String> {
    since.iter().find_map(|id| {
        if prep.unswitchable.contains(id) {
            return Some(format!("step `{id}` is marked `switchable = false`"));
        }
        let (_, step) = prep.plan.steps().find(|(_, s)| s.id() == id)?;
        crate::exec::action::of(step).unswitchable()
    })
}

/// How a suite with a partner was measured.
#[derive(Debug)]
pub enum Measured {
    /// In pairs: its record, and the partner's grown by its runs in the pairs.
    Interleaved(Box<Record>, NewRecord),
    /// Not yet: it is to be measured on its own, as before; its record takes this comparison
    /// (which says why).
    Sequential(Comparison),
}

/// Measures suite `s` (spec `spec`) beside its partner in interleaved pairs when the changes
/// since allow; else says why not.
pub fn measure(
    ctx: &StepContext<'_>,
    s: &Suite,
    spec: &SuiteSpec,
    partner: &Partner,
    partner_spec: &SuiteSpec,
) -> Result<Measured, StepError> {
    let reason = match partner.mark {
        None => Some(format!(
            "record `{}` was not measured in this apply",
            partner.record
        )),
        Some(_) => unswitchable(ctx.prep, &partner.since),
    };
    let switcher = match (reason, partner.mark) {
        (Some(reason), _) => Err(reason),
        (None, None) => Err(String::new()),
        (None, Some(mark)) => ctx
            .journal
            .switcher(mark)
            .map_err(|e| switch_failed("prepare switching the target", e))?,
    };
    match switcher {
        Ok(sw) => interleaved(ctx, s, (spec, partner_spec), partner, sw),
        Err(reason) => Ok(sequential(ctx, s, partner, reason)),
    }
}

/// The comparison of a suite measured on its own, saying why.
fn sequential(ctx: &StepContext<'_>, s: &Suite, partner: &Partner, reason: String) -> Measured {
    tracing::info!(record = %s.record, %reason, "measured in sequence");
    ctx.emit.emit(Event::StepDetail {
        id: s.id.clone(),
        detail: Detail::Sequential {
            reason: reason.clone(),
        },
    });
    Measured::Sequential(Comparison {
        with: partner.record.clone(),
        mode: SEQUENTIAL.into(),
        reason: Some(reason),
        seed: None,
        pairs: 0,
        switch_ms: None,
        speed: None,
    })
}

fn switch_failed(what: &'static str, e: crate::journal::error::JournalError) -> StepError {
    let source = Box::new(e);
    crate::exec::failure::Failure::Switch { what, source }.into()
}

/// The pairs' order: one AB and one BA pair per block of two, which comes first drawn by
/// splitmix64, seeded from [`SEED_ENV`] or the clock (see `measure::paired::block_order`).
struct Order {
    state: u64,
    pairs: u32,
    last: Option<bool>,
}

impl Order {
    fn seed() -> u64 {
        std::env::var(SEED_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
            })
    }

    fn new(seed: u64) -> Order {
        Order {
            state: seed,
            pairs: 0,
            last: None,
        }
    }

    fn coin(&mut self) -> bool {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) & 1 == 0
    }

    /// Whether the next pair runs the before state first.
    fn before_first(&mut self) -> bool {
        let (index, last) = (self.pairs, self.last);
        let after_first = crate::measure::paired::block_order(index, last, &mut || self.coin());
        self.pairs += 1;
        self.last = Some(after_first);
        !after_first
    }
}

/// The pairs: both suites, one in each state, back to back, until the gates are settled.
fn interleaved(
    ctx: &StepContext<'_>,
    s: &Suite,
    (spec, base_spec): (&SuiteSpec, &SuiteSpec),
    partner: &Partner,
    mut sw: Switcher<'_>,
) -> Result<Measured, StepError> {
    let seed = Order::seed();
    let (files, env_paths) = sw.size();
    tracing::info!(record = %s.record, with = %partner.record, seed, files, env_paths, "interleaving");
    let detail = |detail: Detail| {
        let id = s.id.clone();
        ctx.emit.emit(Event::StepDetail { id, detail })
    };
    let min_pairs = spec.runs.max(1);
    let typical = Some(partner.measured.wall.median * 2.0)
        .filter(|t| t.is_finite() && *t > 0.0)
        .map(Duration::from_secs_f64);
    detail(Detail::Interleaved {
        with: partner.record.clone(),
        seed,
        files,
        env_paths,
        pairs: (min_pairs, spec.max_runs.unwrap_or(spec.runs).max(min_pairs)),
        typical,
    });
    let result = run_pairs(ctx, s, spec, base_spec, partner, &mut sw, seed, &detail);
    // Whatever happened, the target is left as the changes left it.
    let finished = sw
        .finish()
        .map_err(|e| switch_failed("switch the target back", e));
    let (record, grown) = result?;
    finished?;
    Ok(Measured::Interleaved(
        Box::new(record),
        NewRecord {
            name: partner.record.clone(),
            record: Box::new(grown),
            source: None,
        },
    ))
}

#[allow(clippy::too_many_arguments)]
fn run_pairs(
    ctx: &StepContext<'_>,
    s: &Suite,
    spec: &SuiteSpec,
    base_spec: &SuiteSpec,
    partner: &Partner,
    sw: &mut Switcher<'_>,
    seed: u64,
    detail: &dyn Fn(Detail),
) -> Result<(Record, Record), StepError> {
    let min_pairs = spec.runs.max(1);
    let max_pairs = spec.max_runs.unwrap_or(spec.runs).max(min_pairs);
    let mut order = Order::new(seed);
    let mut earlier = partner.measured.clone();
    let mut after_runs: Vec<RunResult> = Vec::new();
    let mut base_runs: Vec<RunResult> = Vec::new();
    let mut switches: Vec<f64> = Vec::new();
    // The earlier record's own runs are numbered on from where it stopped.
    let base_offset = u32::try_from(partner.measured.samples.len()).unwrap_or(0);
    let run_err = |e| crate::exec::steplog::suite_failed(ctx, e);
    let switch_err = |e: crate::journal::error::JournalError| {
        switch_failed("switch the target between states", e)
    };
    sw.switch(State::After).map_err(switch_err)?;
    for i in 1..=spec.warmup {
        let warmup = |took, live: &[PathBuf]| Detail::Run {
            warmup: true,
            index: i,
            of: spec.warmup,
            expected: spec.warmup,
            took,
            typical: None,
            live: live.to_vec(),
        };
        let begun = &mut |live: &[PathBuf]| detail(warmup(None, live));
        let run = suite::run_single(spec, ctx.control, true, i, begun).map_err(run_err)?;
        detail(warmup(Some(Duration::from_secs_f64(run.sample.wall)), &[]));
        after_runs.push(run);
    }
    // The earlier record's last run, measured just before the changes, is the first pair's A
    // when nothing but switchable steps and this warmup came between: the pair is then AB.
    let reused = reusable(partner);
    if let Some(at) = reused {
        earlier.samples[at].pair = Some(PairSlot {
            index: 1,
            first: true,
        });
        order.pairs = 1;
        order.last = Some(false);
    }
    let started = Instant::now();
    let mut comparison = Comparison {
        with: partner.record.clone(),
        mode: INTERLEAVED.into(),
        reason: None,
        seed: Some(seed),
        pairs: 0,
        switch_ms: None,
        speed: None,
    };
    let records = |after_runs: &[RunResult], base_runs: &[RunResult], c: &Comparison| {
        let mut after = suite::build_record(spec, after_runs, false)?;
        after.comparison = Some(c.clone());
        Some((after, grow(&earlier, base_spec, base_runs)))
    };
    let mut timed_out = false;
    for i in 1..=max_pairs {
        let reuse = (i == 1).then_some(reused).flatten();
        let first = if reuse.is_some() || order.before_first() {
            State::Before
        } else {
            State::After
        };
        let mut walls = [0.0; 2];
        for (position, state) in [first, other(first)].into_iter().enumerate() {
            if let Some(at) = reuse.filter(|_| state == State::Before) {
                walls[0] = earlier.samples[at].wall;
                continue;
            }
            let took = sw.switch(state).map_err(switch_err)?.took;
            if took > Duration::ZERO {
                switches.push(took.as_secs_f64() * 1000.0);
            }
            let (run_spec, index, record) = match state {
                State::Before => (base_spec, base_offset + i, &partner.record),
                State::After => (spec, i, &s.record),
            };
            // On a terminal the run's tests are counted as they end, as an ordinary run's are.
            let begun = &mut |live: &[PathBuf]| {
                detail(Detail::PairRun {
                    index: i,
                    record: record.clone(),
                    live: live.to_vec(),
                })
            };
            let mut run =
                suite::run_single(run_spec, ctx.control, false, index, begun).map_err(run_err)?;
            run.sample.pair = Some(PairSlot {
                index: i,
                first: position == 0,
            });
            timed_out |= run.sample.status == crate::process::Status::TimedOut;
            walls[usize::from(state == State::After)] = run.sample.wall;
            match state {
                State::Before => base_runs.push(run),
                State::After => after_runs.push(run),
            }
        }
        comparison.pairs = i;
        detail(Detail::Pair {
            index: i,
            of: max_pairs,
            expected: min_pairs,
            before_first: first == State::Before,
            partner: (partner.record.clone(), walls[0]),
            reused: reuse.is_some(),
            record: (s.record.clone(), walls[1]),
        });
        // A run that hung is a result: no more pairs, and the gates decide.
        if timed_out || i == max_pairs {
            break;
        }
        if i < min_pairs {
            continue;
        }
        if spec
            .max_time
            .is_some_and(|limit| started.elapsed() >= limit)
        {
            tracing::info!(record = %s.record, pairs = i, "max_time reached");
            break;
        }
        if spec.max_runs.is_some() {
            if let Some((after, grown)) = records(&after_runs, &base_runs, &comparison) {
                let mut all = ctx.records.clone();
                all.insert(partner.record.clone(), grown);
                if gates::settled(&ctx.prep.plan, &s.record, &after, &all) {
                    tracing::info!(record = %s.record, pairs = i, "enough pairs for the gates");
                    break;
                }
            }
        }
    }
    comparison.switch_ms = stats::median(&switches);
    records(&after_runs, &base_runs, &comparison)
        .ok_or_else(|| crate::exec::failure::Failure::NoPairs.into())
}

/// Where in the earlier record's samples its last counted run is, when it can be the first
/// pair's `A`: measured in this apply, in no pair yet, not cut short by a timeout, and ended at
/// most [`REUSE_GAP_SHARE`] of its wall time ago.
fn reusable(partner: &Partner) -> Option<usize> {
    let gap = partner.ended?.elapsed().as_secs_f64();
    let (at, last) = (partner.measured.samples.iter().enumerate()).rfind(|(_, x)| !x.warmup)?;
    let fits = last.pair.is_none()
        && last.status != crate::process::Status::TimedOut
        && reuse_fits(gap, last.wall);
    tracing::debug!(record = %partner.record, gap, wall = last.wall, fits, "reuse of the last run");
    fits.then_some(at)
}

/// Whether a run of `wall` seconds that ended `gap` seconds ago may open the pairs.
fn reuse_fits(gap: f64, wall: f64) -> bool {
    gap.is_finite() && wall.is_finite() && gap <= REUSE_GAP_SHARE * wall
}

fn other(state: State) -> State {
    match state {
        State::Before => State::After,
        State::After => State::Before,
    }
}

/// `earlier` with the runs `more` added: its times over every counted run, its counts as
/// pessimistic as over one suite's runs (the worst of both).
fn grow(earlier: &Record, spec: &SuiteSpec, more: &[RunResult]) -> Record {
    let Some(fresh) = suite::build_record(spec, more, false) else {
        return earlier.clone();
    };
    let mut r = earlier.clone();
    r.samples.extend(fresh.samples);
    let counted: Vec<&crate::measure::record::RunSample> =
        r.samples.iter().filter(|x| !x.warmup).collect();
    let walls: Vec<f64> = counted.iter().map(|x| x.wall).collect();
    let cpu: Vec<f64> = counted.iter().map(|x| x.cpu_user + x.cpu_system).collect();
    if let Some(wall) = Summary::of(&walls) {
        r.wall = wall;
    }
    r.cpu_seconds = stats::median(&cpu).unwrap_or(r.cpu_seconds);
    r.runs = u32::try_from(counted.len()).unwrap_or(u32::MAX);
    let green = counted.iter().filter(|x| x.green()).count();
    r.runs_green = green as f64 / counted.len().max(1) as f64;
    r.passed = r.passed.min(fresh.passed);
    r.failed = r.failed.max(fresh.failed);
    r.skipped = r.skipped.max(fresh.skipped);
    r.errors = r.errors.max(fresh.errors);
    r.tests = r.tests.max(fresh.tests);
    for f in fresh.flaky {
        if !r.flaky.contains(&f) {
            r.flaky.push(f);
        }
    }
    r.flaky.sort();
    for w in fresh.warnings {
        if !r.warnings.contains(&w) {
            r.warnings.push(w);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run ending a tenth of its length before the first pair starts opens the pairs; a
    /// longer gap, or one that cannot be measured, takes a fresh pair.
    #[test]
    fn the_last_run_opens_the_pairs_only_when_it_ended_just_before() {
        assert!(reuse_fits(0.05, 20.0));
        assert!(reuse_fits(2.0, 20.0));
        assert!(!reuse_fits(2.01, 20.0));
        assert!(!reuse_fits(0.2, 1.0));
        assert!(!reuse_fits(f64::NAN, 20.0));
        assert!(!reuse_fits(0.0, f64::INFINITY));
    }
}
