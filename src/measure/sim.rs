//! Simulated run times for the statistics' tests and the verdict benchmark: a small seeded
//! generator (splitmix64) and a machine whose speed drifts, so figures repeat on every run.

/// A fixed-seed generator (splitmix64): the same seed gives the same numbers everywhere.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// Standard normal, by Box–Muller.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// A run of typical time `median` with relative noise `noise`: `median · exp(noise · z)`.
    pub fn run(&mut self, median: f64, noise: f64) -> f64 {
        median * (noise * self.normal()).exp()
    }
}

/// How the machine's speed changes over the runs of one apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Machine {
    /// The same speed throughout.
    Steady,
    /// Each run takes `1 + rate` times as long as the one before (0.08: 8% slower per run).
    Ramp(f64),
    /// Runs from the `at`-th on (0-based) take `factor` times as long.
    Step { at: usize, factor: f64 },
}

impl Machine {
    /// How much longer than at the start the `k`-th run of the apply (0-based) takes.
    pub fn slowdown(self, k: usize) -> f64 {
        match self {
            Machine::Steady => 1.0,
            Machine::Ramp(rate) => (1.0 + rate).powf(k as f64),
            Machine::Step { at, factor } => {
                if k >= at {
                    factor
                } else {
                    1.0
                }
            }
        }
    }
}
