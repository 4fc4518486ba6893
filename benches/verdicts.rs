//! How often speed verdicts are right on a machine whose speed drifts, interleaved against
//! sequential, and how many runs they take (issue 22's figures): simulated applies whose run
//! times are drawn from lognormal noise on top of a drifting machine (`measure::sim`).
//!
//! Interleaved: pairs of runs, one in each state, one AB and one BA pair per block of two in a
//! random order, the interval from `paired::interval_of_pairs` as the executor has it (the
//! paired estimate knowing each pair's order from three pairs on); one pair at a time until
//! the gate is conclusive or `MAX_RUNS` pairs. Sequential, as the executor measures a plan like
//! `plans/xdist.toml`: the baseline's `BASELINE_RUNS` runs first, then after runs one at a time
//! until `Expr::decide` (the real gate path, drift check included) is conclusive, shows drift
//! (which ends the runs, as `exec::gates::settled` does) or `MAX_RUNS`.
//! Both look at a 99% interval after every run (`interval::DEFAULT_CONFIDENCE`).
//!
//! Targets: with interleaving, in every drift row, a true 1.5x kept by `/ 1.2` in >= 95%, an A/A
//! change failed by `* 1.1` in < 1% and kept by `/ 1.2` in 0%; a 1.3x effect at 3-5% noise
//! decided in at most 4 runs a side.

use planrun::criteria::decide::{Decision, Outcome3};
use planrun::criteria::{parse, Expr};
use planrun::measure::interval::{DEFAULT_CONFIDENCE, DEFAULT_NOISE_FLOOR};
use planrun::measure::paired::{block_order, estimate_with, interval_of_pairs, Order, Pair};
use planrun::measure::sim::{Machine, Rng};
use planrun::measure::stats::median;

const APPLIES: usize = 2000;
/// Runs a side at most (`runs = "auto"`'s default `max`).
const MAX_RUNS: usize = 10;
/// The baseline's runs in sequential mode (`min_runs = 3` in `plans/xdist.toml`).
const BASELINE_RUNS: usize = 3;
/// The typical seconds of one baseline run.
const BASE: f64 = 20.0;

/// A gate `after <= baseline * bound`, as source and as its bound on after/baseline.
#[derive(Clone, Copy)]
struct Gate {
    src: &'static str,
    bound: f64,
}

const FASTER_1_2: Gate = Gate {
    src: "after.wall.median <= baseline.wall.median / 1.2",
    bound: 1.0 / 1.2,
};
const FASTER_1_1: Gate = Gate {
    src: "after.wall.median <= baseline.wall.median / 1.1",
    bound: 1.0 / 1.1,
};
const SLOWER_1_1: Gate = Gate {
    src: "after.wall.median <= baseline.wall.median * 1.1",
    bound: 1.1,
};

/// One row: a machine, the change's true ratio (after/baseline), noise and a gate.
struct Row {
    machine: (&'static str, Machine),
    change: &'static str,
    ratio: f64,
    noise: f64,
    gate: Gate,
}

#[derive(Default)]
struct Tally {
    pass: usize,
    fail: usize,
    inconclusive: usize,
    runs: usize,
    within_4: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome3, runs: usize) {
        match outcome {
            Outcome3::Pass => self.pass += 1,
            Outcome3::Fail => self.fail += 1,
            Outcome3::Inconclusive => self.inconclusive += 1,
        }
        self.runs += runs;
        self.within_4 += usize::from(outcome != Outcome3::Inconclusive && runs <= 4);
    }
}

/// `after/baseline <= bound` on an interval: pass when all of it holds, fail when none does.
fn claim(lo: f64, hi: f64, bound: f64) -> Outcome3 {
    if hi <= bound {
        Outcome3::Pass
    } else if lo > bound {
        Outcome3::Fail
    } else {
        Outcome3::Inconclusive
    }
}

/// One interleaved apply: its outcome and its pairs, in the executor's order (one AB and one
/// BA pair per block of two, `paired::block_order`) and decided as the executor decides
/// (`paired::interval_of_pairs`). With `order_known` false the estimate treats drift within
/// pairs as noise (`paired::estimate`).
fn interleaved(rng: &mut Rng, row: &Row, order_known: bool) -> (Outcome3, usize) {
    let (mut pairs, mut orders) = (Vec::new(), Vec::new());
    let mut k = 0;
    let mut last = None;
    loop {
        let after_first = block_order(pairs.len() as u32, last, &mut || rng.coin());
        last = Some(after_first);
        let mut run = |typical: f64| {
            let t = rng.run(typical * row.machine.1.slowdown(k), row.noise);
            k += 1;
            t
        };
        let (after, baseline) = if after_first {
            let a = run(BASE * row.ratio);
            (a, run(BASE))
        } else {
            let b = run(BASE);
            (run(BASE * row.ratio), b)
        };
        pairs.push(Pair { baseline, after });
        orders.push(if after_first {
            Order::AfterFirst
        } else {
            Order::BaselineFirst
        });
        let (lo, hi) = if order_known {
            let i = interval_of_pairs(&pairs, &orders, DEFAULT_CONFIDENCE, DEFAULT_NOISE_FLOOR)
                .expect("positive run times");
            (i.low, i.high)
        } else {
            let e = estimate_with(&pairs, None, DEFAULT_CONFIDENCE, DEFAULT_NOISE_FLOOR)
                .expect("positive run times");
            (e.lo, e.hi)
        };
        let outcome = claim(lo, hi, row.gate.bound);
        if outcome != Outcome3::Inconclusive || pairs.len() == MAX_RUNS {
            return (outcome, pairs.len());
        }
    }
}

/// Decides `gate` over the two records' samples as the executor does.
fn decide(gate: &Expr, after: &[f64], baseline: &[f64]) -> Decision {
    let side = |record: &str| match record {
        "after" => Some(after),
        "baseline" => Some(baseline),
        _ => None,
    };
    gate.decide(
        &|r, m| (m == "wall.median").then(|| median(side(r)?)).flatten(),
        &|r, m| {
            (m == "wall.median")
                .then(|| side(r).map(<[f64]>::to_vec))
                .flatten()
        },
        DEFAULT_NOISE_FLOOR,
        DEFAULT_CONFIDENCE,
    )
    .expect("the gate reads wall.median only")
}

/// One sequential apply: its outcome and the after side's runs.
fn sequential(rng: &mut Rng, row: &Row, gate: &Expr) -> (Outcome3, usize) {
    let machine = row.machine.1;
    let baseline: Vec<f64> = (0..BASELINE_RUNS)
        .map(|k| rng.run(BASE * machine.slowdown(k), row.noise))
        .collect();
    let mut after = Vec::new();
    loop {
        let k = BASELINE_RUNS + after.len();
        after.push(rng.run(BASE * row.ratio * machine.slowdown(k), row.noise));
        let d = decide(gate, &after, &baseline);
        // As `exec::gates::settled`: drift ends the runs, more of them cannot settle it.
        let drifted = d
            .intervals
            .iter()
            .any(|c| c.drift.is_some_and(|x| x.significant));
        if d.outcome != Outcome3::Inconclusive || drifted || after.len() == MAX_RUNS {
            return (d.outcome, after.len());
        }
    }
}

fn pct(n: usize) -> String {
    let p = 100.0 * n as f64 / APPLIES as f64;
    if p == 0.0 || p == 100.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn cells(t: &Tally) -> String {
    format!(
        "{} | {} | {} | {:.1}",
        pct(t.pass),
        pct(t.inconclusive),
        pct(t.fail),
        t.runs as f64 / APPLIES as f64
    )
}

fn short(gate: Gate) -> String {
    gate.src
        .replace("after.wall.median", "after")
        .replace("baseline.wall.median", "baseline")
}

fn machines() -> [(&'static str, Machine); 5] {
    [
        ("steady", Machine::Steady),
        ("5% slower per run", Machine::Ramp(0.05)),
        ("8% slower per run", Machine::Ramp(0.08)),
        ("15% slower per run", Machine::Ramp(0.15)),
        (
            "2x slower from the 4th run",
            Machine::Step {
                at: BASELINE_RUNS,
                factor: 2.0,
            },
        ),
    ]
}

fn drift_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for machine in machines() {
        for (change, ratio, gate) in [
            ("1.5x faster", 1.0 / 1.5, FASTER_1_2),
            ("A/A", 1.0, SLOWER_1_1),
            ("A/A", 1.0, FASTER_1_2),
        ] {
            rows.push(Row {
                machine,
                change,
                ratio,
                noise: 0.05,
                gate,
            });
        }
    }
    rows.push(Row {
        machine: ("steady", Machine::Steady),
        change: "exactly 1.2x",
        ratio: 1.0 / 1.2,
        noise: 0.05,
        gate: FASTER_1_2,
    });
    rows
}

fn fewest_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for noise in [0.03, 0.04, 0.05] {
        for gate in [FASTER_1_1, FASTER_1_2] {
            rows.push(Row {
                machine: ("steady", Machine::Steady),
                change: "1.3x faster",
                ratio: 1.0 / 1.3,
                noise,
                gate,
            });
        }
    }
    rows
}

fn main() {
    println!(
        "{APPLIES} simulated applies per row, 5% noise per run unless said, {}% interval at each \
         look, noise allowance {DEFAULT_NOISE_FLOOR} at the start; interleaved: 1 to {MAX_RUNS} \
         pairs, one AB and one BA per block of two; sequential: {BASELINE_RUNS} baseline \
         runs, then 1 to {MAX_RUNS} after runs. Runs are per side (after side for sequential).",
        DEFAULT_CONFIDENCE * 100.0
    );
    println!();
    println!(
        "| machine | change (gate) | interleaved pass | inconclusive | fail | runs | \
         order unknown: pass | fail | sequential pass | inconclusive | fail | runs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, row) in drift_rows().iter().enumerate() {
        let (inter, blind, seq) = simulate(row, 0x5EED_2200 + i as u64);
        println!(
            "| {} | {} (`{}`) | {} | {} | {} | {} |",
            row.machine.0,
            row.change,
            short(row.gate),
            cells(&inter),
            pct(blind.pass),
            pct(blind.fail),
            cells(&seq)
        );
    }
    println!();
    println!("Fewest runs: a 1.3x effect on a steady machine");
    println!();
    println!(
        "| noise | gate | interleaved pass | inconclusive | fail | runs | decided in <= 4 | \
         order unknown: runs | decided in <= 4 | \
         sequential pass | inconclusive | fail | runs | decided in <= 4 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, row) in fewest_rows().iter().enumerate() {
        let (inter, blind, seq) = simulate(row, 0x5EED_1300 + i as u64);
        println!(
            "| {:.0}% | `{}` | {} | {} | {:.1} | {} | {} | {} |",
            row.noise * 100.0,
            short(row.gate),
            cells(&inter),
            pct(inter.within_4),
            blind.runs as f64 / APPLIES as f64,
            pct(blind.within_4),
            cells(&seq),
            pct(seq.within_4)
        );
    }
}

/// The row's tallies: interleaved (order known), interleaved (order unknown), sequential.
fn simulate(row: &Row, seed: u64) -> (Tally, Tally, Tally) {
    let gate = parse(row.gate.src).expect("a valid gate");
    let (mut inter, mut blind, mut seq) = (Tally::default(), Tally::default(), Tally::default());
    let mut rng = Rng(seed);
    for _ in 0..APPLIES {
        let (o, n) = interleaved(&mut rng, row, true);
        inter.add(o, n);
        let (o, n) = interleaved(&mut rng, row, false);
        blind.add(o, n);
        let (o, n) = sequential(&mut rng, row, &gate);
        seq.add(o, n);
    }
    (inter, blind, seq)
}
