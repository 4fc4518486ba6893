//! Benchmark: load and validate a generated 10,000-step plan (100 phases of 100 chained steps).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The generated plan text: each phase needs the previous one, each step the one before it,
/// the last step of each phase is a suite whose record the phase's gate reads.
fn generate(phases: usize, steps: usize) -> String {
    let mut out = String::from(
        "name = \"bench\"\ndescription = \"generated\"\n\n[vars]\npython = \"python3\"\n",
    );
    for p in 0..phases {
        let _ = write!(out, "\n[[phase]]\nid = \"p{p}\"\n");
        if p > 0 {
            let _ = writeln!(out, "needs = [\"p{}\"]", p - 1);
        }
        for s in 0..steps {
            let _ = write!(out, "\n  [[phase.step]]\n  id = \"p{p}s{s}\"\n");
            if s > 0 {
                let _ = writeln!(out, "  needs = [\"p{p}s{}\"]", s - 1);
            }
            if s + 1 == steps {
                let _ = writeln!(out, "  action = \"suite\"\n  command = \"${{python}} -m pytest\"\n  record = \"r{p}\"\n  runs = 3");
            } else {
                let _ = writeln!(out, "  action = \"run\"\n  command = \"${{python}} -c 'print({s})'\"\n  timeout = \"90s\"\n  changes = [\"out/{s}.txt\"]");
            }
        }
        let _ = writeln!(
            out,
            "\n  [[phase.gate]]\n  check = \"r{p}.failed == 0 and r{p}.wall.median < 10\""
        );
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, generate(100, 100)).expect("write plan");
    let mut times: Vec<Duration> = (0..10)
        .map(|_| {
            let start = Instant::now();
            let loaded = planrun::plan::load(&path).expect("load");
            let valid = planrun::plan::validate(&loaded, &[]).expect("validate");
            assert_eq!(valid.plan.steps().count(), 10_000);
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "validate 10,000 steps: min {:.1} ms, median {:.1} ms (10 iterations)",
        ms(times[0]),
        ms(times[times.len() / 2])
    );
}
