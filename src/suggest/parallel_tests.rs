use super::*;

fn serial(tests: &[(&str, f64)]) -> Serial {
    Serial {
        wall: 1.0 + tests.iter().map(|t| t.1).sum::<f64>(),
        overhead: 0.8,
        collection: 0.2,
        session_fixtures: 0.0,
        module_fixtures: 0.0,
        noise: 0.0,
        xdist_startup: Vec::new(),
        tests: tests.iter().map(|(f, s)| (f.to_string(), *s)).collect(),
        reports: 0,
        contention: Contention::idle(2),
    }
}

#[test]
fn lpt_packs_the_longest_first() {
    // LPT is not optimal (3+3 against 2+2+2 would be 6), but it is what the bound is for.
    assert_eq!(lpt_makespan(&[3.0, 3.0, 2.0, 2.0, 2.0], 2), 7.0);
    assert_eq!(lpt_makespan(&[1.0, 1.0, 1.0, 1.0], 4), 1.0);
    assert_eq!(lpt_makespan(&[5.0, 1.0, 1.0], 2), 5.0);
    assert_eq!(lpt_makespan(&[], 3), 0.0);
    assert_eq!(lpt_makespan(&[2.0, 2.0], 0), 4.0);
    // Graham's bound: never above 4/3 of the ideal.
    let jobs: Vec<f64> = (1..40).map(|i| f64::from(i % 7) + 0.5).collect();
    for n in 2..6 {
        assert!(lpt_makespan(&jobs, n) <= ideal_makespan(&jobs, n) * 4.0 / 3.0 + 1e-9);
    }
}

#[test]
fn a_suite_of_equal_tests_halves_its_test_time_on_two_workers() {
    let s = serial(&[("a.py", 1.0); 10]);
    let p = predict(&s, 2, Dist::Worksteal);
    // The controller's 0.8 s and the workers' 0.8 s, 0.2 s collection, 0.3 s xdist, 5 s
    // of tests.
    assert!((p.mid - 7.1).abs() < 1e-9, "{p:?}");
    // A measured start-up is averaged with the model (2.1 s), and the interval spans both.
    let measured = Serial {
        xdist_startup: vec![(2, 2.5)],
        ..s.clone()
    };
    let m = predict(&measured, 2, Dist::Worksteal);
    assert!((m.mid - 7.3).abs() < 1e-9, "{m:?}");
    assert!((m.high - (2.5 + 5.0) * TEST_NOISE.1).abs() < 1e-9, "{m:?}");
    let low_model = modelled_startup(&s, 2).0;
    assert!(
        (m.low - (low_model + 5.0) * TEST_NOISE.0).abs() < 1e-9,
        "{m:?}"
    );
    assert!(p.low < p.mid && p.mid < p.high);
    // Two runs that differed by 20% widen the interval on both sides.
    let noisy = predict(
        &Serial {
            noise: 0.2,
            ..s.clone()
        },
        2,
        Dist::Worksteal,
    );
    assert!(noisy.low < p.low && noisy.high > p.high && noisy.mid == p.mid);
    // On a machine with the CPUs for them.
    let wide = Serial {
        contention: Contention::idle(8),
        ..s.clone()
    };
    assert!(predict(&wide, 5, Dist::Worksteal).mid < p.mid);
    // Five workers on two idle CPUs get two fifths of a CPU each, to start and to test.
    let crowded = predict(&s, 5, Dist::Worksteal);
    assert!((crowded.mid - (0.8 + 1.0 * 2.5 + XDIST_SPAWN + 2.0 * 2.5)).abs() < 1e-9);
}

#[test]
fn one_long_test_bounds_the_prediction() {
    let s = Serial {
        contention: Contention::idle(4),
        ..serial(&[("a.py", 12.0), ("b.py", 1.0), ("b.py", 1.0)])
    };
    let p = predict(&s, 4, Dist::Worksteal);
    assert!((p.mid - (1.8 + XDIST_SPAWN + 12.0)).abs() < 1e-9, "{p:?}");
    assert!(skewed(&s.tests));
    assert!(!skewed(&serial(&[("a.py", 1.0); 5]).tests));
}

#[test]
fn start_up_between_and_beyond_measured_counts() {
    let m = [(8, 6.0), (2, 3.0)];
    assert_eq!(startup_at(&m, 2), Some(3.0));
    assert_eq!(startup_at(&m, 4), Some(4.0));
    assert_eq!(startup_at(&m, 10), Some(7.0));
    assert_eq!(startup_at(&[(2, 3.0)], 6), Some(3.0));
    assert_eq!(startup_at(&[], 2), None);
    // A line that falls does not go below the cheapest measurement.
    assert_eq!(startup_at(&[(2, 3.0), (4, 2.0)], 8), Some(2.0));
}

#[test]
fn expensive_module_fixtures_choose_loadfile() {
    let mut s = serial(&[("a.py", 1.0), ("a.py", 1.0), ("b.py", 1.0), ("b.py", 1.0)]);
    s.module_fixtures = 4.0;
    let best = best_dist(&s, 2);
    assert_eq!(best.dist, Dist::Loadfile, "{best:?}");
    s.module_fixtures = 0.0;
    assert_ne!(best_dist(&s, 2).dist, Dist::Loadfile);
    let all = predictions(&s, 4);
    assert_eq!(all.iter().map(|p| p.workers).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(predictions(&s, 1).len(), 1);
}

#[test]
fn a_busy_machine_leaves_workers_less_to_share() {
    let c = Contention {
        cores: 2,
        share: 0.25,
        busy: 1.0,
    };
    // A process that got a quarter of a CPU on 2 CPUs waited behind 7 others.
    assert!((c.others() - 7.0).abs() < 1e-9);
    // Two workers then get 2/9 of a CPU each, not a quarter: each test is 9/8 as long.
    assert!((c.share_of(2.0) - 2.0 / 9.0).abs() < 1e-9);
    assert!((c.slowdown(c.share_of(2.0)) - 9.0 / 8.0).abs() < 1e-9);
    // Tests that sleep half the time are slowed on their CPU half only.
    let sleepy = Contention { busy: 0.5, ..c };
    assert!((sleepy.slowdown(2.0 / 9.0) - (0.5 * 9.0 / 8.0 + 0.5)).abs() < 1e-9);
    // A process that hardly waited says nothing of other processes.
    assert_eq!(Contention::idle(4).others(), 0.0);
    assert_eq!(Contention { share: 0.97, ..c }.others(), 0.0);
    assert_eq!(Contention::idle(2).share_of(2.0), 1.0);
    assert!((Contention::idle(2).share_of(3.0) - 2.0 / 3.0).abs() < 1e-9);

    let quiet = serial(&[("a.py", 1.0); 10]);
    let busy = Serial {
        contention: c,
        ..quiet.clone()
    };
    let (q, b) = (
        predict(&quiet, 2, Dist::Worksteal),
        predict(&busy, 2, Dist::Worksteal),
    );
    // 5 s of tests a worker become 5.625 s, and the workers' 1 s of start-up and
    // collection 1.125 s.
    assert!((b.mid - q.mid - 0.75).abs() < 1e-9, "{q:?} {b:?}");
}

#[test]
fn every_report_costs_the_workers_and_the_controller() {
    // 1,000 tests of a millisecond, three reports each, on an idle 2-CPU machine.
    let mut s = serial(&[("a.py", 0.001); 1000]);
    assert!((phase_of(&s, 1.0) - 0.5).abs() < 1e-9);
    s.reports = 3000;
    let p = predict(&s, 2, Dist::Worksteal);
    // Without the controller each worker's 500 tests take 500 x (1 ms + 3 reports).
    let alone = 500.0 * (0.001 + 3.0 * WORKER_PER_REPORT);
    // The controller's 0.51 s of CPU keeps it runnable that share of the phase, and the
    // two workers and it share the 2 CPUs.
    let controller = 3000.0 * CONTROLLER_PER_REPORT;
    let share = 2.0 / (2.0 + controller / alone);
    let phase = 500.0 * (0.001 / share + 3.0 * WORKER_PER_REPORT / share);
    assert!((phase_of(&s, 1.0) - phase).abs() < 1e-9, "{p:?}");
    // The model's start-up no longer counts the serial run's reporting between its tests
    // (0.51 s of its 0.8 s overhead): the controller does it during the tests.
    let (_, start, _) = modelled_startup(&s, 2);
    assert!(
        (start - (0.29 + 0.49 + XDIST_SPAWN)).abs() < 1e-9,
        "{start}"
    );
    assert!((p.mid - start - phase).abs() < 1e-9, "{p:?}");
    assert!(p.low < p.mid && p.mid < p.high, "{p:?}");
    // The interval takes the per-report costs from three quarters to one and a half.
    let cheap = phase_of(&s, PER_REPORT_RANGE.0);
    let dear = phase_of(&s, PER_REPORT_RANGE.1);
    assert!(cheap < phase && phase < dear, "{cheap} {phase} {dear}");
}

fn phase_of(s: &Serial, cost: f64) -> f64 {
    phase(s, 2, Dist::Worksteal, cost).lpt
}

#[test]
fn the_controller_bounds_a_suite_of_tiny_tests_on_a_busy_machine() {
    // 10,000 reports of empty tests: the controller's 1.7 s of CPU at a fifth of a CPU
    // is longer than the workers' share of the tests.
    let mut s = serial(&[("a.py", 0.0001); 3000]);
    s.reports = 10_000;
    s.contention = Contention {
        cores: 2,
        share: 0.2,
        busy: 1.0,
    };
    s.xdist_startup = vec![(2, 3.0)];
    let p = phase(&s, 2, Dist::Worksteal, 1.0);
    assert!(p.controller > p.lpt, "{p:?}");
    assert!((p.controller - 10_000.0 * CONTROLLER_PER_REPORT / p.share).abs() < 1e-9);
    // The start-up (the measured one and the model's), then the controller's time: far above
    // the serial run's 1.3 s.
    let whole = predict(&s, 2, Dist::Worksteal);
    let start = (3.0 + modelled_startup(&s, 2).1) / 2.0;
    assert!((whole.mid - start - p.controller).abs() < 1e-9, "{whole:?}");
    assert!(whole.mid > 2.0 * s.wall, "{whole:?}");
}
