//! Runs a DAG of tasks on a bounded pool of threads, as nextest's executor and dispatcher: workers
//! run tasks and send events, and one dispatcher (the calling thread) receives every event in
//! order, runs the quick inline tasks itself, and decides what starts next.
//!
//! The workers are started as tasks need them, at most `jobs`, and each runs task after task
//! until the run ends: a chain of quick steps costs one hand-off to a waiting thread per step,
//! not a thread started and ended per step.
//!
//! A task starts once every task it depends on has succeeded; exclusive tasks (timed suites) run
//! alone so their timings are not disturbed; serial tasks (file edits) never overlap each other.
//! The scheduler knows nothing about plans: it takes dependency lists, a worker closure and a
//! [`Dispatch`]. When a task fails, or `stop` is set, no further task starts; running ones
//! finish (their own commands watch the cancel flag), and every task that never ran is reported
//! as skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// One schedulable unit.
#[derive(Debug, Clone, Default)]
pub struct Task {
    /// Indices of the tasks that must succeed first.
    pub deps: Vec<usize>,
    /// Run with nothing else running.
    pub exclusive: bool,
    /// Never run beside another serial task.
    pub serial: bool,
    /// Run on the dispatcher's thread by [`Dispatch::inline`], not by a worker.
    pub inline: bool,
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

/// The dispatcher's side: it owns whatever state the events build up.
pub trait Dispatch<E, I> {
    /// An event a worker sent, in the order it was sent.
    fn event(&mut self, event: E);
    /// Runs an inline task; it sees every event sent before it became ready.
    fn inline(&mut self, task: usize) -> Outcome;
    /// A worker task is about to be handed to a worker; its events come after this.
    fn starting(&mut self, _task: usize) {}
    /// What a worker task is given when it starts, from the state as it is then.
    fn input(&mut self, task: usize) -> I;
    /// No event came for [`IDLE`] while tasks run.
    fn idle(&mut self) {}
}

/// How long the dispatcher waits for an event before it calls [`Dispatch::idle`].
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(50);

enum Msg<E> {
    Event(E),
    /// Task `.0` came to `.1` on worker `.2`, which now waits for another; `.3` is the task's
    /// last event (see [`Emitter::finish`]), handled just before the outcome.
    Finished(usize, Outcome, usize, Option<E>),
}

/// How a worker sends events to the dispatcher.
pub struct Emitter<E> {
    tx: mpsc::Sender<Msg<E>>,
    /// The task's last event, sent with its outcome.
    last: std::sync::Mutex<Option<E>>,
}

impl<E> Emitter<E> {
    /// Sends one event; after the run has ended it is dropped.
    pub fn emit(&self, event: E) {
        let _ = self.tx.send(Msg::Event(event));
    }

    /// Sends the task's last event together with its outcome, after every event emitted
    /// before: one message and one wake of the dispatcher per task end instead of two (the
    /// dispatcher would wake for the event, and often again for the outcome).
    pub fn finish(&self, event: E) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(earlier) = last.replace(event) {
            let _ = self.tx.send(Msg::Event(earlier));
        }
    }

    fn take_last(&self) -> Option<E> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Runs `tasks` with at most `jobs` workers at once, in index order among the ready ones:
/// `exec(i, input, emitter)` on a worker for each task (its input from [`Dispatch::input`]),
/// [`Dispatch::inline`] for inline ones; returns every task's outcome.
pub fn run<E, I, F>(
    tasks: &[Task],
    jobs: usize,
    stop: &AtomicBool,
    exec: F,
    dispatch: &mut dyn Dispatch<E, I>,
) -> Vec<Outcome>
where
    E: Send,
    I: Send,
    F: Fn(usize, I, &Emitter<E>) -> Outcome + Sync,
{
    let jobs = jobs.max(1);
    let mut outcome: Vec<Option<Outcome>> = vec![None; tasks.len()];
    let mut started = vec![false; tasks.len()];
    let mut running = 0usize;
    let mut exclusive_running = false;
    let mut serial_running = false;
    let mut failed = false;
    let (tx, rx) = mpsc::channel::<Msg<E>>();
    // Each worker's queue of tasks, and the workers waiting for one.
    let mut workers: Vec<mpsc::Sender<(usize, I)>> = Vec::new();
    let mut idle: Vec<usize> = Vec::new();

    std::thread::scope(|scope| loop {
        let mut progressed = true;
        while progressed && !failed && !stop.load(Ordering::SeqCst) {
            progressed = false;
            for i in 0..tasks.len() {
                let ready = !started[i]
                    && tasks[i]
                        .deps
                        .iter()
                        .all(|&d| outcome.get(d).copied().flatten() == Some(Outcome::Done));
                if !ready {
                    continue;
                }
                if tasks[i].inline {
                    started[i] = true;
                    let result = dispatch.inline(i);
                    failed |= result != Outcome::Done;
                    outcome[i] = Some(result);
                    progressed = true;
                    break;
                }
                if running >= jobs || exclusive_running {
                    continue;
                }
                if tasks[i].exclusive && running > 0 {
                    // Wait for the pool to drain; keep later tasks back too, so the suite is
                    // not starved by a steady stream of small steps.
                    break;
                }
                if tasks[i].serial && serial_running {
                    continue;
                }
                started[i] = true;
                running += 1;
                exclusive_running = tasks[i].exclusive;
                serial_running |= tasks[i].serial;
                dispatch.starting(i);
                let input = dispatch.input(i);
                let worker = idle.pop().unwrap_or_else(|| {
                    let (queue, assigned) = mpsc::channel::<(usize, I)>();
                    let emitter = Emitter {
                        tx: tx.clone(),
                        last: std::sync::Mutex::new(None),
                    };
                    let (exec, me) = (&exec, workers.len());
                    scope.spawn(move || {
                        // Ends when the dispatcher drops the queue's sender: the run is over.
                        while let Ok((i, input)) = assigned.recv() {
                            let result = exec(i, input, &emitter);
                            let last = emitter.take_last();
                            let _ = emitter.tx.send(Msg::Finished(i, result, me, last));
                        }
                    });
                    workers.push(queue);
                    me
                });
                // A worker lives as long as its queue's sender, which this thread holds.
                let _ = workers[worker].send((i, input));
            }
        }
        if running == 0 {
            // The workers' queues close, so each ends once it is waiting again.
            workers.clear();
            break;
        }
        match rx.recv_timeout(IDLE) {
            Ok(Msg::Event(event)) => dispatch.event(event),
            Err(mpsc::RecvTimeoutError::Timeout) => dispatch.idle(),
            Ok(Msg::Finished(i, result, worker, last)) => {
                if let Some(event) = last {
                    dispatch.event(event);
                }
                idle.push(worker);
                running -= 1;
                exclusive_running &= !tasks[i].exclusive;
                serial_running &= !tasks[i].serial;
                failed |= result != Outcome::Done;
                outcome[i] = Some(result);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                workers.clear();
                break;
            }
        }
    });
    // Events sent by the last workers after their task's outcome was counted.
    while let Ok(msg) = rx.try_recv() {
        match msg {
            Msg::Event(event) | Msg::Finished(_, _, _, Some(event)) => dispatch.event(event),
            Msg::Finished(_, _, _, None) => {}
        }
    }

    outcome
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Skipped))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Barrier, Mutex};
    use std::time::Duration;

    fn task(deps: &[usize]) -> Task {
        Task {
            deps: deps.to_vec(),
            ..Task::default()
        }
    }

    /// Collects events; inline tasks record the events they saw.
    #[derive(Default)]
    struct Collect {
        events: Vec<usize>,
        inline_saw: Vec<(usize, Vec<usize>)>,
    }

    impl Dispatch<usize, usize> for Collect {
        fn event(&mut self, event: usize) {
            self.events.push(event);
        }
        fn inline(&mut self, task: usize) -> Outcome {
            self.inline_saw.push((task, self.events.clone()));
            Outcome::Done
        }
        fn input(&mut self, _: usize) -> usize {
            self.events.len()
        }
    }

    fn run_plain(
        tasks: &[Task],
        jobs: usize,
        stop: &AtomicBool,
        exec: impl Fn(usize) -> Outcome + Sync,
    ) -> Vec<Outcome> {
        run(
            tasks,
            jobs,
            stop,
            |i, _, _: &Emitter<usize>| exec(i),
            &mut Collect::default(),
        )
    }

    #[test]
    fn respects_dependencies() {
        let tasks = vec![task(&[]), task(&[0]), task(&[0]), task(&[1, 2])];
        let log = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let out = run_plain(&tasks, 4, &stop, |i| {
            log.lock().unwrap().push(i);
            Outcome::Done
        });
        assert!(out.iter().all(|o| *o == Outcome::Done));
        let log = log.into_inner().unwrap();
        let pos = |i| log.iter().position(|&x| x == i).unwrap();
        assert!(pos(0) < pos(1) && pos(0) < pos(2));
        assert!(pos(1) < pos(3) && pos(2) < pos(3));
    }

    /// Bounded by a barrier, not by sleeps: each wave of three passes only when three run at
    /// once, and the counter shows no fourth ever joins them.
    #[test]
    fn runs_independent_tasks_in_parallel_up_to_jobs() {
        let tasks = vec![task(&[]); 6];
        let live = Mutex::new((0usize, 0usize));
        let barrier = Barrier::new(3);
        let stop = AtomicBool::new(false);
        run_plain(&tasks, 3, &stop, |_| {
            {
                let mut l = live.lock().unwrap();
                l.0 += 1;
                l.1 = l.1.max(l.0);
            }
            barrier.wait();
            live.lock().unwrap().0 -= 1;
            Outcome::Done
        });
        assert_eq!(live.lock().unwrap().1, 3);
    }

    /// A task's last event comes with its outcome, after the events it emitted before, and
    /// before the next task is given its input; a second `finish` sends the first in order.
    #[test]
    fn a_tasks_last_event_comes_with_its_end_and_in_order() {
        let stop = AtomicBool::new(false);
        let chain: Vec<Task> = (0..3usize)
            .map(|i| task(&i.checked_sub(1).into_iter().collect::<Vec<_>>()))
            .collect();
        let inputs = Mutex::new(Vec::new());
        let mut collect = Collect::default();
        let exec = |i: usize, seen: usize, emit: &Emitter<usize>| {
            inputs.lock().unwrap().push(seen);
            emit.emit(i * 10);
            if i == 1 {
                emit.finish(i * 10 + 1);
                emit.finish(i * 10 + 2);
            } else {
                emit.finish(i * 10 + 2);
            }
            Outcome::Done
        };
        let out = run(&chain, 1, &stop, exec, &mut collect);
        assert!(out.iter().all(|o| *o == Outcome::Done));
        assert_eq!(collect.events, [0, 2, 10, 11, 12, 20, 22]);
        assert_eq!(inputs.into_inner().unwrap(), [0, 2, 5]);
    }

    /// A chain runs on one thread, and no more threads than jobs are ever started: a worker
    /// waits for the next task instead of ending with its own.
    #[test]
    fn workers_are_reused_and_never_more_than_jobs() {
        let stop = AtomicBool::new(false);
        let chain: Vec<Task> = (0..20usize)
            .map(|i| task(&i.checked_sub(1).into_iter().collect::<Vec<_>>()))
            .collect();
        let threads = Mutex::new(Vec::new());
        run_plain(&chain, 1, &stop, |_| {
            threads.lock().unwrap().push(std::thread::current().id());
            Outcome::Done
        });
        let mut seen = threads.into_inner().unwrap();
        assert_eq!(seen.len(), 20);
        seen.dedup();
        assert_eq!(seen.len(), 1, "{seen:?}");

        let threads = Mutex::new(std::collections::BTreeSet::new());
        run_plain(&vec![task(&[]); 30], 3, &stop, |_| {
            threads
                .lock()
                .unwrap()
                .insert(format!("{:?}", std::thread::current().id()));
            std::thread::sleep(Duration::from_millis(1));
            Outcome::Done
        });
        let used = threads.into_inner().unwrap().len();
        assert!((1..=3).contains(&used), "{used} threads");
    }

    #[test]
    fn exclusive_task_runs_alone() {
        let mut tasks = vec![task(&[]); 5];
        tasks[2].exclusive = true;
        let live = Mutex::new(0usize);
        let overlap = AtomicBool::new(false);
        let stop = AtomicBool::new(false);
        run_plain(&tasks, 4, &stop, |i| {
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
    fn serial_tasks_never_overlap_but_others_run_beside_them() {
        let mut tasks = vec![task(&[]); 4];
        tasks[0].serial = true;
        tasks[1].serial = true;
        let serial_live = Mutex::new(0usize);
        let overlap = AtomicBool::new(false);
        // Task 2 waits until a serial task is running, so it proves they run side by side.
        let beside = Barrier::new(2);
        let stop = AtomicBool::new(false);
        run_plain(&tasks, 4, &stop, |i| {
            if i < 2 {
                let n = {
                    let mut l = serial_live.lock().unwrap();
                    *l += 1;
                    *l
                };
                if n > 1 {
                    overlap.store(true, Ordering::SeqCst);
                }
                if i == 0 {
                    beside.wait();
                }
                std::thread::sleep(Duration::from_millis(20));
                *serial_live.lock().unwrap() -= 1;
            } else if i == 2 {
                beside.wait();
            }
            Outcome::Done
        });
        assert!(!overlap.load(Ordering::SeqCst));
    }

    #[test]
    fn events_reach_the_dispatcher_in_order_before_inline_dependants() {
        let mut tasks = vec![task(&[]), task(&[0]), task(&[0, 1])];
        tasks[2].inline = true;
        let stop = AtomicBool::new(false);
        let mut collect = Collect::default();
        let inputs = Mutex::new(Vec::new());
        let out = run(
            &tasks,
            2,
            &stop,
            |i, seen: usize, emit: &Emitter<usize>| {
                inputs.lock().unwrap().push((i, seen));
                emit.emit(i * 10);
                emit.emit(i * 10 + 1);
                Outcome::Done
            },
            &mut collect,
        );
        assert!(out.iter().all(|o| *o == Outcome::Done));
        // Task 1 starts after task 0's events: its input is taken from the state then.
        assert_eq!(inputs.into_inner().unwrap(), [(0, 0), (1, 2)]);
        assert_eq!(collect.events, [0, 1, 10, 11]);
        assert_eq!(collect.inline_saw, [(2, vec![0, 1, 10, 11])]);
    }

    #[test]
    fn failure_stops_new_work_and_skips_dependants() {
        let tasks = vec![task(&[]), task(&[0]), task(&[1])];
        let stop = AtomicBool::new(false);
        let out = run_plain(&tasks, 1, &stop, |i| {
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
        let out = run_plain(&tasks, 1, &stop, |i| {
            if i == 0 {
                stop.store(true, Ordering::SeqCst);
            }
            Outcome::Done
        });
        assert_eq!(out, vec![Outcome::Done, Outcome::Skipped, Outcome::Skipped]);
    }
}
