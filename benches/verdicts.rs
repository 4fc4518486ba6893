//! How often gates decided on confidence intervals are right, and how many runs they take:
//! simulated applies whose run times are drawn from lognormal distributions, decided by
//! `Expr::decide` and run adaptively with `interval::next_run` (issue 17's figures).
//!
//! Each apply starts at 1+1 runs and adds one run at a time, to the side `next_run` picks, until
//! the gate is conclusive or both sides have `MAX_RUNS`. Run times are simulated, not run: a run
//! of a suite whose typical time is `m` with relative noise `σ` takes `m · exp(σ · z)`, `z`
//! standard normal. Three policies are compared: a 95% interval at every look, 99% at every look
//! (`interval::DEFAULT_CONFIDENCE`), and the per-look confidence that splits 5% over all the
//! looks the budget allows (Bonferroni).
//!
//! Targets: A/A with `* 1.05` under 1% fail; A/A with `/ 1.2` 0% pass; a true 1.5x at least 95%
//! pass within 10 runs a side; 20x decided at 1+1; a ratio at the bound mostly inconclusive.

use planrun::criteria::decide::{Decision, Outcome3};
use planrun::criteria::{parse, Expr};
use planrun::measure::interval::{
    confidence_per_look, next_run, Side, DEFAULT_CONFIDENCE, DEFAULT_NOISE_FLOOR,
};
use planrun::measure::stats::median;

const APPLIES: usize = 2000;
const MAX_RUNS: usize = 10;
const MIN_RUNS: usize = 1;

/// A small fixed-seed generator (splitmix64), so the figures are the same on every run.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal, by Box–Muller.
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One simulated suite: its typical run time and relative noise.
#[derive(Clone, Copy)]
struct Suite {
    median: f64,
    noise: f64,
}

impl Suite {
    fn run(self, rng: &mut Rng) -> f64 {
        self.median * (self.noise * rng.normal()).exp()
    }
}

struct Scenario {
    name: &'static str,
    gate: &'static str,
    after: Suite,
    baseline: Suite,
    floor: f64,
}

#[derive(Default)]
struct Tally {
    pass: usize,
    fail: usize,
    inconclusive: usize,
    runs_after: usize,
    runs_baseline: usize,
    one_each: usize,
    /// Simulated seconds of all runs, over those of one run of each side at its typical time.
    time_units: f64,
}

/// Decides `gate` over the two sides' samples as the executor would: `wall.median` and its
/// samples per record.
fn decide(gate: &Expr, after: &[f64], baseline: &[f64], floor: f64, confidence: f64) -> Decision {
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
        floor,
        confidence,
    )
    .expect("the gate reads wall.median only")
}

/// One adaptive apply: its outcome and the runs each side took.
fn apply(rng: &mut Rng, s: &Scenario, gate: &Expr, confidence: f64) -> (Outcome3, usize, usize) {
    let mut after: Vec<f64> = (0..MIN_RUNS).map(|_| s.after.run(rng)).collect();
    let mut baseline: Vec<f64> = (0..MIN_RUNS).map(|_| s.baseline.run(rng)).collect();
    loop {
        let d = decide(gate, &after, &baseline, s.floor, confidence);
        if d.outcome != Outcome3::Inconclusive {
            return (d.outcome, after.len(), baseline.len());
        }
        let costs = (median(&after).unwrap(), median(&baseline).unwrap());
        match next_run(&after, &baseline, s.floor, costs, MAX_RUNS) {
            Some(Side::Num) => after.push(s.after.run(rng)),
            Some(Side::Den) => baseline.push(s.baseline.run(rng)),
            None => return (d.outcome, after.len(), baseline.len()),
        }
    }
}

fn simulate(s: &Scenario, confidence: f64, seed: u64) -> Tally {
    let gate = parse(s.gate).expect("a valid gate");
    let mut rng = Rng(seed);
    let mut t = Tally::default();
    for _ in 0..APPLIES {
        let (outcome, a, b) = apply(&mut rng, s, &gate, confidence);
        match outcome {
            Outcome3::Pass => t.pass += 1,
            Outcome3::Fail => t.fail += 1,
            Outcome3::Inconclusive => t.inconclusive += 1,
        }
        t.runs_after += a;
        t.runs_baseline += b;
        t.one_each += usize::from(a == 1 && b == 1);
        t.time_units += (a as f64 * s.after.median + b as f64 * s.baseline.median)
            / (s.after.median + s.baseline.median);
    }
    t
}

fn pct(n: usize) -> String {
    format!("{:.2}%", 100.0 * n as f64 / APPLIES as f64)
}

fn main() {
    let base = Suite {
        median: 20.0,
        noise: 0.05,
    };
    let faster = |ratio: f64, noise: f64| Suite {
        median: base.median / ratio,
        noise,
    };
    let floor = DEFAULT_NOISE_FLOOR;
    let scenarios = [
        Scenario {
            name: "A/A, 5% noise",
            gate: "after.wall.median <= baseline.wall.median * 1.05",
            after: base,
            baseline: base,
            floor,
        },
        Scenario {
            name: "A/A, 5% noise",
            gate: "after.wall.median <= baseline.wall.median / 1.2",
            after: base,
            baseline: base,
            floor,
        },
        Scenario {
            name: "A/A, 10% noise, 5% floor",
            gate: "after.wall.median <= baseline.wall.median * 1.05",
            after: faster(1.0, 0.10),
            baseline: Suite {
                noise: 0.10,
                ..base
            },
            floor,
        },
        Scenario {
            name: "1.5x faster, 5% noise",
            gate: "after.wall.median <= baseline.wall.median / 1.2",
            after: faster(1.5, 0.05),
            baseline: base,
            floor,
        },
        Scenario {
            name: "1.24x faster, 5% noise",
            gate: "after.wall.median <= baseline.wall.median / 1.2",
            after: faster(1.24, 0.05),
            baseline: base,
            floor,
        },
        Scenario {
            name: "20x faster, 5% noise",
            gate: "after.wall.median <= baseline.wall.median * 0.43",
            after: faster(20.0, 0.05),
            baseline: base,
            floor,
        },
        Scenario {
            name: "borderline: exactly 1.2x",
            gate: "after.wall.median <= baseline.wall.median / 1.2",
            after: faster(1.2, 0.05),
            baseline: base,
            floor,
        },
        Scenario {
            name: "borderline: exactly 1.05x slower",
            gate: "after.wall.median <= baseline.wall.median * 1.05",
            after: faster(1.0 / 1.05, 0.05),
            baseline: base,
            floor,
        },
    ];
    let looks = 2 * (MAX_RUNS - MIN_RUNS) as u32 + 1;
    let policies = [
        ("95% each look", 0.95),
        ("99% each look (default)", DEFAULT_CONFIDENCE),
        ("Bonferroni", confidence_per_look(0.95, looks)),
    ];
    println!(
        "{APPLIES} simulated applies per row, 1+1 runs to start, at most {MAX_RUNS}+{MAX_RUNS}, \
         noise floor {floor}; Bonferroni = {:.4} per look over {looks} looks",
        policies[2].1
    );
    println!();
    println!(
        "| scenario | gate | policy | pass | inconclusive | fail | mean runs after+baseline | time / (1+1) | decided at 1+1 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, s) in scenarios.iter().enumerate() {
        for (name, confidence) in policies {
            let t = simulate(s, confidence, 0x5EED_0000 + i as u64);
            let gate = s
                .gate
                .replace("after.wall.median", "after")
                .replace("baseline.wall.median", "baseline");
            println!(
                "| {} | `{gate}` | {name} | {} | {} | {} | {:.2}+{:.2} | {:.2} | {} |",
                s.name,
                pct(t.pass),
                pct(t.inconclusive),
                pct(t.fail),
                t.runs_after as f64 / APPLIES as f64,
                t.runs_baseline as f64 / APPLIES as f64,
                t.time_units / APPLIES as f64,
                pct(t.one_each),
            );
        }
    }
}
