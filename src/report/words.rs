//! How an apply's events read for people: the one place where the executor's data (failures,
//! progress, outcomes, stopped services) becomes sentences, for the terminal sink and the
//! report's step messages alike.

use std::error::Error as _;
use std::time::Duration;

use crate::edit::locks::UvReason;
use crate::exec::events::{Stop, Why};
use crate::exec::failure::Failure;
use crate::exec::outcome::{Detail, Note, Relock};
use crate::exec::rollback::RollbackEvent;
use crate::exec::services::{LeftBehind, ServiceEnd};
use crate::process::service::Ending;

/// Formats a duration as `1.23s` or `2m05s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// A failure as people read it: what failed, `: ` and its cause with the causes under it
/// (`Caused by:`), a red baseline's problems and hint, a refused environment's hint, and the
/// command's last lines quoted.
pub fn failure(failure: &Failure) -> String {
    let mut text = match failure {
        Failure::BaselineRed(refusal) => return refusal.message(),
        Failure::Refused(e) => format!("{e}\n  hint: {}", e.hint()),
        // The transparent ones are another layer's error shown as it is, with its causes.
        Failure::Edit(_)
        | Failure::Environment(_)
        | Failure::UvPin(_)
        | Failure::Baseline(_)
        | Failure::Suite(_) => crate::error::with_causes(failure),
        _ => match failure.source() {
            Some(cause) => format!("{failure}: {}", crate::error::with_causes(cause)),
            None => failure.to_string(),
        },
    };
    let output = failure.output();
    match failure {
        Failure::Suite(_) => {
            for line in output {
                text.push_str(&format!("\n  | {line}"));
            }
        }
        Failure::Command { .. } | Failure::Relock { .. } | Failure::NotReady { .. } => {
            text.push('\n');
            text.push_str(&quoted(output));
        }
        _ => {}
    }
    text
}

/// The last lines of a command's output, indented and quoted.
fn quoted(lines: &[String]) -> String {
    if lines.is_empty() {
        return "  (no output)".into();
    }
    lines
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `run 2/5 took 1.20s`, `pair 3/10 (BA): ...`: what a running step is doing.
pub fn detail(detail: &Detail) -> String {
    match detail {
        Detail::Run {
            warmup,
            index,
            of,
            took,
            ..
        } => {
            let kind = if *warmup { "warmup" } else { "run" };
            match took {
                Some(took) => format!("{kind} {index}/{of} took {}", fmt_duration(*took)),
                None => format!("{kind} {index}/{of}"),
            }
        }
        Detail::Sequential { reason } => format!("sequential: {reason}"),
        Detail::PairRun { index, record, .. } => format!("pair {index}: `{record}` runs"),
        Detail::Interleaved {
            with,
            seed,
            files,
            env_paths,
            ..
        } => format!(
            "interleaved with `{with}` (seed {seed}; {files} files, {env_paths} environment paths switched)"
        ),
        Detail::Pair {
            index,
            of,
            before_first,
            partner,
            reused,
            record,
            ..
        } => format!(
            "pair {index}/{of} ({}): `{}` {:.2}s{}, `{}` {:.2}s",
            if *before_first { "AB" } else { "BA" },
            partner.0,
            partner.1,
            if *reused {
                " (its last run, just before the changes)"
            } else {
                ""
            },
            record.0,
            record.1
        ),
    }
}

/// `run 2 of 3: 40 passed, 1 failed, about 4s left`, `run 2 of ~3 (at most 10), about 1m05s
/// left`, `pair 5 (at most 10)`: where a suite is, for the terminal's status line. `of` is the
/// most there will be, `expected` the fewest; an adaptive suite past its fewest says only the
/// most. `tests` are the passed and failed tests of the run in progress.
pub fn run_status(
    kind: &str,
    (index, expected, of): (u32, u32, u32),
    tests: Option<(u64, u64)>,
    left: Option<Duration>,
) -> String {
    let mut text = if expected >= of {
        format!("{kind} {index} of {of}")
    } else if index <= expected {
        format!("{kind} {index} of ~{expected} (at most {of})")
    } else {
        format!("{kind} {index} (at most {of})")
    };
    if let Some((passed, failed)) = tests {
        text.push_str(&format!(": {passed} passed, {failed} failed"));
    }
    if let Some(left) = left {
        text.push_str(&format!(", about {} left", eta(left)));
    }
    text
}

/// A time still to wait, to the second: an estimate has no hundredths.
fn eta(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// `installed httpx with uv`, `median 1.20s ± 0.03s, 40 passed, 0 failed`: what a step came to.
pub fn note(note: &Note) -> String {
    match note {
        Note::Install {
            created,
            packages,
            tool,
            changed,
            relock,
        } => {
            let packages = packages.join(" ");
            let mut text = created
                .as_ref()
                .map(|venv| format!("created {venv}; "))
                .unwrap_or_default();
            if *changed {
                text.push_str(&format!("installed {packages} with {tool}"));
            } else {
                text.push_str(&format!(
                    "{packages} already installed ({tool} changes nothing)"
                ));
            }
            for r in relock {
                text.push_str("; ");
                text.push_str(&relocked(r));
            }
            text
        }
        Note::ServiceReady {
            took,
            port,
            exports,
        } => {
            let mut text = format!("ready after {}", fmt_duration(*took));
            if let Some(port) = port {
                text.push_str(&format!(" (port {port})"));
            }
            if !exports.is_empty() {
                text.push_str(&format!(
                    "; gives {} to the steps that need it",
                    exports.join(", ")
                ));
            }
            text
        }
        Note::Suite {
            median,
            stddev,
            tests,
            over_budget,
            coverage,
        } => {
            let mut text = match (stddev, tests) {
                (Some(sd), Some((passed, failed))) => {
                    format!("median {median:.2}s ± {sd:.2}s, {passed} passed, {failed} failed")
                }
                _ => format!("median {median:.2}s"),
            };
            if let Some(n) = over_budget {
                text.push_str(&format!(", {n} over budget"));
            }
            if let Some(c) = coverage {
                text.push_str(&format!(", coverage {c:.1}%"));
            }
            text
        }
        Note::FromBaseline { record, source } => {
            format!("record `{record}` from saved baseline `{source}`")
        }
    }
}

/// `the project pins uv ==0.7.2`, `keeps uv.lock at revision 2`.
fn uv_reason(why: &UvReason) -> String {
    match why {
        UvReason::Pinned { pin } => format!("the project pins uv {pin}"),
        UvReason::KeepsRevision { revision } => format!("keeps uv.lock at revision {revision}"),
    }
}

fn relocked(r: &Relock) -> String {
    match r {
        Relock::WithUv { spec, why } => format!("relocked with uv{spec}: {}", uv_reason(why)),
        Relock::RevisionMoved { old, new } => format!(
            "uv.lock moved from revision {old} to {new}: no uv known to planrun writes revision {old}"
        ),
    }
}

/// `stopped by its stop command in 0.41s`, ...: how a service was stopped.
pub fn service_end(end: &ServiceEnd) -> String {
    let stopped = &end.stopped;
    let took = fmt_duration(Duration::from_secs_f64(stopped.seconds));
    let stop_failed = match stopped.stop_status {
        Some(status) if !status.success() => format!(" (its stop command ended with {status})"),
        _ => String::new(),
    };
    let mut text = match stopped.ending {
        Ending::Exited(status) => format!("had exited by itself ({status}) before it was stopped"),
        Ending::StopCommand => format!("stopped by its stop command in {took}"),
        Ending::Terminated => format!("stopped by SIGTERM in {took}{stop_failed}"),
        Ending::Killed => format!(
            "killed with SIGKILL after {took}: neither its stop command nor SIGTERM ended it{stop_failed}"
        ),
    };
    if let Some((dir, e)) = &end.dir_left {
        text.push_str(&format!("; could not remove `{}`: {e}", dir.display()));
    }
    text
}

/// `service `db` left running by the interrupted run R: stopped by ...`: what `planrun
/// rollback` did about a service a killed run left behind.
pub fn left_behind(left: &LeftBehind, run_id: &str) -> String {
    match left {
        LeftBehind::Stopped(end) => format!(
            "service `{}` left running by the interrupted run {run_id}: {}",
            end.id,
            service_end(end)
        ),
        LeftBehind::Dir {
            id,
            dir,
            error: None,
        } => format!(
            "removed `{}`, the directory of service `{id}`",
            dir.display()
        ),
        LeftBehind::Dir {
            id,
            dir,
            error: Some(e),
        } => format!(
            "could not remove `{}`, the directory of service `{id}`: {e}",
            dir.display()
        ),
    }
}

/// `gate failed: after.wall.median < 0.8 * baseline.wall.median`: why an apply rolls back.
pub fn why(why: &Why) -> String {
    match why {
        Why::Signal => "interrupted by a signal".into(),
        Why::Stopped(Stop::Gate(check)) => format!("gate failed: {check}"),
        Why::Stopped(Stop::Step(id)) => format!("step `{id}` failed"),
        Why::Stopped(Stop::BaselineRed(record)) => format!("baseline `{record}` is red"),
        Why::Stopped(Stop::Inconclusive(check)) => format!("gate inconclusive: {check}"),
        Why::NotMarkedApplied(e) => format!("failed to mark the run applied: {e}"),
    }
}

/// What a rollback did about a killed run's leftovers, as a note; `None` for the replay itself,
/// which each command says in its own way.
pub fn rollback_note(event: &RollbackEvent) -> Option<String> {
    Some(match event {
        RollbackEvent::LeftBehind { run_id, left } => left_behind(left, run_id),
        RollbackEvent::LockCleared { run_id, path } => format!(
            "removed `{}`, which uv left in the environment when the run {run_id} was killed",
            path.display()
        ),
        RollbackEvent::ProcessesEnded { run_id, count } => {
            format!("ended {count} process(es) left running by the interrupted run {run_id}")
        }
        RollbackEvent::Undone(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_note_reads_as_before_with_its_relock() {
        let note = Note::Install {
            created: Some(".venv".into()),
            packages: vec!["httpx".into(), "pytest-xdist".into()],
            tool: "uv",
            changed: true,
            relock: vec![
                Relock::WithUv {
                    spec: "==0.4.0".into(),
                    why: UvReason::Pinned {
                        pin: "==0.4.0".into(),
                    },
                },
                Relock::WithUv {
                    spec: ">=0.6.15,<0.8.4".into(),
                    why: UvReason::KeepsRevision { revision: 2 },
                },
                Relock::RevisionMoved { old: 1, new: 2 },
            ],
        };
        assert_eq!(
            super::note(&note),
            "created .venv; installed httpx pytest-xdist with uv; relocked with uv==0.4.0: the project pins uv ==0.4.0; relocked with uv>=0.6.15,<0.8.4: keeps uv.lock at revision 2; uv.lock moved from revision 1 to 2: no uv known to planrun writes revision 1"
        );
    }

    #[test]
    fn progress_reads_as_a_run_or_a_pair() {
        let run = Detail::Run {
            warmup: true,
            index: 1,
            of: 2,
            expected: 2,
            took: None,
            typical: Some(Duration::from_secs(3)),
            live: Vec::new(),
        };
        assert_eq!(
            (detail(&run), run.milestone()),
            ("warmup 1/2".into(), false)
        );
        let pair = Detail::Pair {
            index: 3,
            of: 10,
            expected: 3,
            before_first: false,
            partner: ("baseline".into(), 2.0),
            reused: false,
            record: ("after".into(), 1.25),
        };
        assert_eq!(
            (detail(&pair), pair.milestone()),
            (
                "pair 3/10 (BA): `baseline` 2.00s, `after` 1.25s".into(),
                true
            )
        );
        let opening = Detail::Pair {
            index: 1,
            of: 10,
            expected: 3,
            before_first: true,
            partner: ("baseline".into(), 20.0),
            reused: true,
            record: ("after".into(), 0.9),
        };
        assert_eq!(
            detail(&opening),
            "pair 1/10 (AB): `baseline` 20.00s (its last run, just before the changes), `after` 0.90s"
        );
    }

    #[test]
    fn a_status_says_the_expected_count_and_the_time_left() {
        let left = Some(Duration::from_millis(4100));
        assert_eq!(
            run_status("run", (2, 3, 3), Some((40, 1)), left),
            "run 2 of 3: 40 passed, 1 failed, about 5s left"
        );
        assert_eq!(
            run_status("run", (2, 3, 10), None, Some(Duration::from_secs(65))),
            "run 2 of ~3 (at most 10), about 1m05s left"
        );
        assert_eq!(
            run_status("pair", (5, 3, 10), None, None),
            "pair 5 (at most 10)"
        );
    }

    #[test]
    fn a_pipe_reads_a_run_as_before_whatever_the_terminal_gets() {
        let run = Detail::Run {
            warmup: false,
            index: 2,
            of: 10,
            expected: 3,
            took: Some(Duration::from_millis(1200)),
            typical: Some(Duration::from_secs(5)),
            live: vec!["/tmp/live.jsonl".into()],
        };
        assert_eq!(
            (detail(&run), run.milestone()),
            ("run 2/10 took 1.20s".into(), true)
        );
        let interleaved = Detail::Interleaved {
            with: "baseline".into(),
            seed: 7,
            files: 2,
            env_paths: 1,
            pairs: (3, 10),
            typical: Some(Duration::from_secs(4)),
        };
        assert_eq!(
            detail(&interleaved),
            "interleaved with `baseline` (seed 7; 2 files, 1 environment paths switched)"
        );
    }
}
