//! Runs a DAG of tasks on a bounded pool of threads: a task starts once every task it depends on
//! has succeeded; exclusive tasks (timed suites) run alone so their timings are not disturbed.
//!
//! The scheduler knows nothing about plans: it takes dependency lists and a closure. When a task
//! fails, or `stop` is set, no further task starts; running ones finish (their own commands watch
//! the cancel flag), and every task that never ran is reported as skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// One schedulable unit.
#[derive(Debug, Clone, Default)]
pub struct Task {
    /// Indices of the tasks that must succeed first.
    pub deps: Vec<usize>,
    /// Run with nothing else running.
    pub exclusive: bool,
}

/// What running a task came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded; dependants may start.
    Done,
    /// It failed; nothing new starts.
    Failed,
    /// It never ran (a dependency failed, or the run stopped first).
    Skipped,
}

/// Runs `tasks` with at most `jobs` at once, in index order among the ready ones, calling
/// `exec(i)` for each; returns every task's outcome.
pub fn run<F>(tasks: &[Task], jobs: usize, stop: &AtomicBool, exec: F) -> Vec<Outcome>
where
    F: Fn(usize) -> Outcome + Sync,
{
    let jobs = jobs.max(1);
    let mut outcome: Vec<Option<Outcome>> = vec![None; tasks.len()];
    let mut started = vec![false; tasks.len()];
    let mut running = 0usize;
    let mut exclusive_running = false;
    let mut failed = false;
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();

    std::thread::scope(|scope| loop {
        if !failed && !stop.load(Ordering::SeqCst) && !exclusive_running {
            for i in 0..tasks.len() {
                if running >= jobs || exclusive_running {
                    break;
                }
                let ready = !started[i]
                    && tasks[i]
                        .deps
                        .iter()
                        .all(|&d| outcome.get(d).copied().flatten() == Some(Outcome::Done));
                if !ready {
                    continue;
                }
                if tasks[i].exclusive && running > 0 {
                    // Wait for the pool to drain; keep later tasks back too, so the suite is
                    // not starved by a steady stream of small steps.
                    break;
                }
                started[i] = true;
                running += 1;
                exclusive_running = tasks[i].exclusive;
                let tx = tx.clone();
                let exec = &exec;
                scope.spawn(move || {
                    let result = exec(i);
                    let _ = tx.send((i, result));
                });
            }
        }
        if running == 0 {
            break;
        }
        let Ok((i, result)) = rx.recv() else { break };
        running -= 1;
        if tasks[i].exclusive {
            exclusive_running = false;
        }
        if result != Outcome::Done {
            failed = true;
        }
        outcome[i] = Some(result);
    });

    outcome
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Skipped))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    fn task(deps: &[usize]) -> Task {
        Task {
            deps: deps.to_vec(),
            exclusive: false,
        }
    }

    #[test]
    fn respects_dependencies() {
        let tasks = vec![task(&[]), task(&[0]), task(&[0]), task(&[1, 2])];
        let log = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let out = run(&tasks, 4, &stop, |i| {
            log.lock().unwrap().push(i);
            Outcome::Done
        });
        assert!(out.iter().all(|o| *o == Outcome::Done));
        let log = log.into_inner().unwrap();
        let pos = |i| log.iter().position(|&x| x == i).unwrap();
        assert!(pos(0) < pos(1) && pos(0) < pos(2));
        assert!(pos(1) < pos(3) && pos(2) < pos(3));
    }

    #[test]
    fn runs_independent_tasks_in_parallel_up_to_jobs() {
        let tasks = vec![task(&[]); 6];
        let live = Mutex::new((0usize, 0usize));
        let stop = AtomicBool::new(false);
        run(&tasks, 3, &stop, |_| {
            {
                let mut l = live.lock().unwrap();
                l.0 += 1;
                l.1 = l.1.max(l.0);
            }
            std::thread::sleep(Duration::from_millis(100));
            live.lock().unwrap().0 -= 1;
            Outcome::Done
        });
        assert_eq!(live.lock().unwrap().1, 3);
    }

    #[test]
    fn exclusive_task_runs_alone() {
        let mut tasks = vec![task(&[]); 5];
        tasks[2].exclusive = true;
        let live = Mutex::new(0usize);
        let overlap = AtomicBool::new(false);
        let stop = AtomicBool::new(false);
        run(&tasks, 4, &stop, |i| {
            *live.lock().unwrap() += 1;
            std::thread::sleep(Duration::from_millis(30));
            if i == 2 && *live.lock().unwrap() != 1 {
                overlap.store(true, Ordering::SeqCst);
            }
            *live.lock().unwrap() -= 1;
            Outcome::Done
        });
        assert!(!overlap.load(Ordering::SeqCst));
    }

    #[test]
    fn failure_stops_new_work_and_skips_dependants() {
        let tasks = vec![task(&[]), task(&[0]), task(&[1])];
        let stop = AtomicBool::new(false);
        let out = run(&tasks, 1, &stop, |i| {
            if i == 1 {
                Outcome::Failed
            } else {
                Outcome::Done
            }
        });
        assert_eq!(out, vec![Outcome::Done, Outcome::Failed, Outcome::Skipped]);
    }

    #[test]
    fn stop_flag_prevents_further_starts() {
        let tasks = vec![task(&[]), task(&[0]), task(&[1])];
        let stop = AtomicBool::new(false);
        let out = run(&tasks, 1, &stop, |i| {
            if i == 0 {
                stop.store(true, Ordering::SeqCst);
            }
            Outcome::Done
        });
        assert_eq!(out, vec![Outcome::Done, Outcome::Skipped, Outcome::Skipped]);
    }
}
